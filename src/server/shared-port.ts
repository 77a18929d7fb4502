// One port for HTTP/2 and HTTP/1.1, as Envoy's codec_type AUTO and nginx's `http2 on` serve them, the
// HTTP/1.1 connections handed to the data plane's server. Cleartext: a new connection is read until its
// first bytes match HTTP/2's client preface or differ from it, then handed over with those bytes put
// back (one that ends, or sends too little to tell within the timeout, is closed). TLS: ALPN picks h2
// when the client offers it, else http/1.1 (or no ALPN at all); a client offering neither is refused.
import type { Server as HttpServer } from 'node:http';
import type { Http2SecureServer, Http2Server, SecureServerOptions } from 'node:http2';
import type { Socket } from 'node:net';

/** RFC 9113 §3.4: every HTTP/2 connection starts with these 24 octets. */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Makes the cleartext `http2` server hand connections that do not start with the preface to `http1`.
 * `timeoutMs`: how long a new connection may take to tell (read as it connects, so a reload applies to the next one).
 */
export function serveHttp1OnCleartext(http2: Http2Server, http1: HttpServer, timeoutMs: () => number): void {
  const http2Connection = http2.listeners('connection')[0] as ((socket: Socket) => void) | undefined;
  if (!http2Connection) throw new Error('node:http2 server has no connection listener to hand HTTP/2 connections to');
  http2.removeListener('connection', http2Connection);
  http2.on('connection', (socket: Socket) => {
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), timeoutMs());
    socket.once('close', () => clearTimeout(timer));
    const fail = () => socket.destroy();
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const protocol = protocolOf(head);
      if (protocol === undefined) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('end', fail);
      socket.pause();
      socket.unshift(head);
      if (protocol === 'h2') http2Connection.call(http2, socket);
      else http1.emit('connection', socket);
      process.nextTick(() => socket.resume());
    };
    socket.on('data', onData);
    socket.on('error', fail);
    socket.once('end', fail);
  });
}

/** 'h2' once `head` holds the whole preface, 'http/1.1' once it differs from it, undefined while a prefix. */
function protocolOf(head: Buffer): 'h2' | 'http/1.1' | undefined {
  const length = Math.min(head.length, PREFACE.length);
  if (head.compare(PREFACE, 0, length, 0, length) !== 0) return 'http/1.1';
  return length === PREFACE.length ? 'h2' : undefined;
}

/** TLS server options that negotiate h2 or http/1.1 (node's http2 offers only h2 unless it serves HTTP/1.1 itself). */
export const ALPN_H2_OR_HTTP1: Pick<SecureServerOptions, 'ALPNCallback'> = {
  ALPNCallback: ({ protocols }) => (protocols.includes('h2') ? 'h2' : protocols.includes('http/1.1') ? 'http/1.1' : undefined),
};

/** Hands the TLS connections that did not negotiate h2 (node's 'unknownProtocol') to `http1`. */
export function serveHttp1OnTls(http2: Http2SecureServer, http1: HttpServer): void {
  http2.on('unknownProtocol', (socket: Socket) => http1.emit('connection', socket));
}
