// The optional HTTP/2 listener (cleartext with prior knowledge, as gRPC clients speak to Triton and
// KServe; or TLS with ALPN h2 when http2.tls is set, its certificate rotated without a restart), which
// also serves HTTP/1.1 on its port:
// node:http2 with bounded streams and header lists (node's own bounds set so that a list over
// maxHeaderBytes is answered 431/414, not reset unanswered; fixed at start; the streams node still resets
// are counted, h2-unseen-streams.ts), idle sessions closed after limits.keepAliveTimeoutMs (as configured
// when each opens), and a drain that sends GOAWAY, lets open streams finish up to the grace period, then
// cuts what is left. Each connection's socket is tracked (h2-transports.ts) for the send timeout.
import { once } from 'node:events';
import { createSecureServer, createServer, type Http2SecureServer, type Http2Server, type SecureServerOptions, type ServerHttp2Session } from 'node:http2';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigWatcher } from '../config/watch.js';
import type { Config, Limits } from '../config/schema.js';
import { FIELD_OVERHEAD_BYTES } from '../http/h2-header-list.js';
import type { Logger } from '../log/logger.js';
import { trackTransport } from './h2-transports.js';
import { countUnseenStreams } from './h2-unseen-streams.js';
import { createStreamHandler } from './http2-handler.js';
import { ALPN_H2_OR_HTTP1, serveHttp1OnCleartext, serveHttp1OnTls } from './shared-port.js';
import type { DataPlaneDeps } from './request-handler.js';
import { readPair, rotateCertificates, type CertificateFiles, type CertificatePair } from './tls-rotation.js';

export interface Http2Plane {
  server: Http2Server | Http2SecureServer;
  address: AddressInfo;
  /** Stops accepting, sends GOAWAY to every session, lets open streams finish (up to graceMs), then closes them. */
  drain(graceMs: number): Promise<void>;
}

/**
 * `limits`: the config's at start, for the header-list bounds a restart changes (node takes them at creation);
 * the timeouts are read from the live generation as each connection or session starts.
 * `rotation`: watch the TLS certificate and key files and load new ones (logged there); undefined: read them once.
 * `http1`: the HTTP/1.1 data plane, which serves the connections that do not speak HTTP/2 (shared-port.ts).
 */
export async function startHttp2Plane(deps: DataPlaneDeps, limits: Limits, options: NonNullable<Config['http2']>, host: string, port: number, rotation: { logger: Logger } | undefined, http1: HttpServer): Promise<Http2Plane> {
  const serverOptions: SecureServerOptions = {
    settings: { maxConcurrentStreams: options.maxConcurrentStreams, maxHeaderListSize: nodeHeaderListBytes(limits.maxHeaderBytes) },
    maxHeaderListPairs: nodeHeaderListPairs(limits.maxHeaderBytes),
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
  };
  let server: Http2Server | Http2SecureServer;
  let watcher: ConfigWatcher | undefined;
  if (options.tls) {
    const pair = readPair(options.tls); // at start, a file that cannot be read stops the start, naming it
    const secure = secureServer(serverOptions, options.tls, pair);
    serveHttp1OnTls(secure, http1);
    watcher = rotation && rotateCertificates(secure, options.tls, pair, rotation.logger);
    secure.on('secureConnection', trackTransport);
    server = secure;
  } else {
    server = createServer(serverOptions);
    serveHttp1OnCleartext(server, http1, () => deps.holder.current.config.limits.headersTimeoutMs);
    server.on('connection', trackTransport);
  }
  server.on('stream', createStreamHandler(deps, limits.maxHeaderBytes));
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
    countUnseenStreams(session);
    // Idle: no frame in either direction for the keep-alive timeout. GOAWAY, but open streams may finish.
    session.setTimeout(deps.holder.current.config.limits.keepAliveTimeoutMs, () => session.close());
  });
  server.listen({ host, port });
  await once(server, 'listening');
  const address = server.address() as AddressInfo;

  async function drain(graceMs: number): Promise<void> {
    deps.state.draining = true;
    watcher?.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of sessions) session.close();
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([closed, deadline]);
    for (const session of sessions) session.destroy();
    await closed;
  }

  return { server, address, drain };
}

/**
 * SETTINGS_MAX_HEADER_LIST_SIZE. node advertises it and, only once the client has acknowledged the
 * SETTINGS, resets a stream whose header list is over it with RST_STREAM ENHANCE_YOUR_CALM, unanswered and
 * unreported (counted from stream ids, h2-unseen-streams.ts); a request sent with the connection preface,
 * before that, is delivered over it. Twice maxHeaderBytes, so a list over maxHeaderBytes reaches the stream
 * handler, which answers it 431 or 414 and counts it (http/h2-header-list.ts) however early in the session
 * it came; node resets only one over twice the limit.
 */
function nodeHeaderListBytes(maxHeaderBytes: number): number {
  return 2 * maxHeaderBytes;
}

/**
 * node's bound on fields per header list (128 by default, pseudo-header fields included; it resets a
 * stream over it with ENHANCE_YOUR_CALM, acknowledged or not): as many as fit in the list's size, so it
 * never resets a request within the byte limit. The smallest field counts 33 octets, a one-octet name and
 * RFC 9113 §6.5.2's 32.
 */
function nodeHeaderListPairs(maxHeaderBytes: number): number {
  return Math.floor(nodeHeaderListBytes(maxHeaderBytes) / (1 + FIELD_OVERHEAD_BYTES));
}

/** The TLS server with the pair: one that does not parse stops the start, naming the files. */
function secureServer(serverOptions: SecureServerOptions, tls: CertificateFiles, pair: CertificatePair): Http2SecureServer {
  try {
    return createSecureServer({ ...serverOptions, ...pair, ...ALPN_H2_OR_HTTP1, allowHTTP1: false });
  } catch (error) {
    throw new Error(`http2.tls: ${tls.certFile} and ${tls.keyFile} are not a usable PEM certificate and key: ${(error as Error).message}`, { cause: error });
  }
}
