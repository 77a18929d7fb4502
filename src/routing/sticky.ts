// Sticky-key extraction: the first source of a route's list that yields a non-empty value wins.
// Header, cookie and query sources read only the request head (non-ASCII header bytes read as the UTF-8
// they are); body sources read a parsed JSON body handed in by the caller. Pure: never reads a stream.
import type { IncomingHttpHeaders } from 'node:http';
import type { StickySource } from '../config/schema.js';

export function needsBody(sources: readonly StickySource[]): boolean {
  return sources.some((source) => 'body' in source);
}

export interface KeyInput {
  headers: IncomingHttpHeaders;
  /** The raw query string without "?", or "" */
  query: string;
  /** The parsed JSON body, when the route has a body source and the body parsed; else undefined */
  json?: unknown;
}

/** Why a lookup of the empty key answers nothing: extractKey passes over empty values, so such requests are unkeyed. */
export const EMPTY_KEY = 'an empty key is no key: the data plane assigns such requests at random (abproxy_unkeyed_requests_total)';

export function extractKey(sources: readonly StickySource[], input: KeyInput): string | undefined {
  for (const source of sources) {
    const value =
      'header' in source ? headerValue(input.headers[source.header])
      : 'cookie' in source ? cookieValue(input.headers.cookie, source.cookie)
      : 'query' in source ? queryValue(input.query, source.query)
      : scalarAt(input.json, source.body);
    if (value) return value;
  }
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return asWritten(Array.isArray(value) ? value[0] : value);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A header or cookie value as the client wrote it. Node reads header bytes as latin1, but a non-ASCII key is
 * UTF-8 on the wire, as in a body, a query or `abproxy assign`: read so, it hashes to the same slot there.
 * Bytes that are not UTF-8 stay as node read them.
 */
function asWritten(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) <= 0x7f) continue;
    try {
      return utf8.decode(Buffer.from(value, 'latin1'));
    } catch {
      return value;
    }
  }
  return value;
}

/** RFC 6265 §5.4 cookie-string: pairs separated by ";", first occurrence of a name wins. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) {
      const raw = pair.slice(eq + 1).trim();
      return asWritten(raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
    }
  }
  return undefined;
}

function queryValue(query: string, name: string): string | undefined {
  if (!query) return undefined;
  return new URLSearchParams(query).get(name) ?? undefined;
}

/** A string or finite number at a dotted path; numeric parts index arrays. */
export function scalarAt(json: unknown, path: string): string | undefined {
  let node: unknown = json;
  for (const part of path.split('.')) {
    if (Array.isArray(node) && /^\d+$/.test(part)) node = node[Number(part)];
    else if (node !== null && typeof node === 'object' && !Array.isArray(node)) node = (node as Record<string, unknown>)[part];
    else return undefined;
  }
  if (typeof node === 'string') return node;
  if (typeof node === 'number' && Number.isFinite(node)) return String(node);
  return undefined;
}
