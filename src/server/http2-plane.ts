// The optional HTTP/2 listener (cleartext with prior knowledge, as gRPC clients speak to Triton and
// KServe; or TLS with ALPN h2 when http2.tls is set): node:http2 with bounded streams and header lists,
// idle sessions closed after limits.keepAliveTimeoutMs, and a drain that sends GOAWAY, lets open
// streams finish up to the grace period, then cuts what is left.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createSecureServer, createServer, type Http2SecureServer, type Http2Server, type SecureServerOptions, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Config, Limits } from '../config/schema.js';
import { createStreamHandler } from './http2-handler.js';
import type { DataPlaneDeps } from './request-handler.js';

export interface Http2Plane {
  server: Http2Server | Http2SecureServer;
  address: AddressInfo;
  /** Stops accepting, sends GOAWAY to every session, lets open streams finish (up to graceMs), then closes them. */
  drain(graceMs: number): Promise<void>;
}

export async function startHttp2Plane(deps: DataPlaneDeps, limits: Limits, options: NonNullable<Config['http2']>, host: string, port: number): Promise<Http2Plane> {
  const serverOptions: SecureServerOptions = {
    settings: { maxConcurrentStreams: options.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
  };
  const server = options.tls ? secureServer(serverOptions, options.tls) : createServer(serverOptions);
  server.on('stream', createStreamHandler(deps));
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
    // Idle: no frame in either direction for the keep-alive timeout. GOAWAY, but open streams may finish.
    session.setTimeout(limits.keepAliveTimeoutMs, () => session.close());
  });
  server.listen({ host, port });
  await once(server, 'listening');
  const address = server.address() as AddressInfo;

  async function drain(graceMs: number): Promise<void> {
    deps.state.draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of sessions) session.close();
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([closed, deadline]);
    for (const session of sessions) session.destroy();
    await closed;
  }

  return { server, address, drain };
}

/** The TLS server, its certificate (chain) and key read once at start: a file that cannot be read or parsed stops the start, naming it. */
function secureServer(serverOptions: SecureServerOptions, tls: { certFile: string; keyFile: string }): Http2SecureServer {
  const read = (field: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`http2.tls.${field}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  const pair = { cert: read('certFile', tls.certFile), key: read('keyFile', tls.keyFile) };
  try {
    return createSecureServer({ ...serverOptions, ...pair, allowHTTP1: false });
  } catch (error) {
    throw new Error(`http2.tls: ${tls.certFile} and ${tls.keyFile} are not a usable PEM certificate and key: ${(error as Error).message}`, { cause: error });
  }
}
