// The CLI's side of the admin API: GET a JSON document with a timeout, plain-text tables, and the one
// write path (weight changes, with the bearer token from --token or ABPROXY_ADMIN_TOKEN). Never retries a write.

export const DEFAULT_ADMIN = 'http://127.0.0.1:9901';
export const ADMIN_FLAG = '--admin <url>';
export const ADMIN_HELP = 'admin address of the running proxy';

export class AdminRequestError extends Error {}

/** A request that got no answer, said with its cause (fetch's own message is only "fetch failed"). */
function unreachable(admin: string, error: unknown, timeoutMs: number): AdminRequestError {
  const { name, message, cause } = error as Error & { cause?: { code?: string; message?: string } };
  const why = name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : cause?.code === 'ECONNREFUSED' ? 'connection refused (is abproxy running, with this admin address?)' : (cause?.message ?? message);
  return new AdminRequestError(`cannot reach the admin API at ${admin}: ${why}`);
}

/** `path` under the admin address; an address that is not an http(s) URL is said as the flag it came from. */
function adminUrl(admin: string, path: string): URL {
  const base = URL.canParse(admin) ? new URL(admin.endsWith('/') ? admin : `${admin}/`) : undefined;
  if (base?.protocol !== 'http:' && base?.protocol !== 'https:') throw new AdminRequestError(`--admin ${JSON.stringify(admin)} is not an http(s) URL such as ${DEFAULT_ADMIN}`);
  return new URL(path, base);
}

export async function getJson<T>(admin: string, path: string, timeoutMs = 10_000): Promise<T> {
  const url = adminUrl(admin, path);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw unreachable(admin, error, timeoutMs);
  }
  const body = await res.text();
  if (!res.ok) {
    let message = body;
    try {
      message = (JSON.parse(body) as { error?: string }).error ?? body;
    } catch {
      // not JSON: keep the text
    }
    throw new AdminRequestError(`${url.pathname}: ${res.status} ${message}`);
  }
  return JSON.parse(body) as T;
}

export interface AdminTarget {
  admin: string;
  token?: string;
}

/** Sends one request with the bearer token and returns the JSON answer; non-2xx throws with the server's message and problems. */
export async function adminRequest<T>(target: AdminTarget, method: 'GET' | 'PUT', path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  const token = target.token ?? process.env.ABPROXY_ADMIN_TOKEN;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const url = adminUrl(target.admin, path);
  let response: Response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw unreachable(target.admin, error, timeoutMs);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AdminRequestError(`${method} ${url.href}: ${response.status} ${text.slice(0, 200)}`);
  }
  if (!response.ok) {
    const { error, problems } = json as { error?: string; problems?: string[] };
    throw new AdminRequestError(`${method} ${url.href}: ${response.status} ${error ?? text}${problems?.length ? `\n  ${problems.join('\n  ')}` : ''}`);
  }
  return json as T;
}

/** Left-aligned first column, right-aligned others, two spaces apart. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function percent(value: number | null, digits = 1): string {
  return value === null ? '-' : `${(value * 100).toFixed(digits)}%`;
}

export function fixed(value: number | null, digits: number): string {
  return value === null ? '-' : value.toFixed(digits);
}
