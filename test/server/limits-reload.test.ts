// The listeners' limits across a reload of the config file: keepAliveTimeoutMs, headersTimeoutMs and
// requestTimeoutMs apply to the live HTTP/1.1 server and to the HTTP/2 port (were: the values the process
// started with, kept with no word); a changed maxHeaderBytes is logged as applying after a restart, and the
// bound the process started with stays for request heads over both protocols and for upstream answers.
// Generous margins: each wait is well below the old value and far above the new one; the lower bounds
// only tell a timeout from a close at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as connectHttp2, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { ConfigInput } from '../../src/config/schema.js';
import { startAbproxy, type Abproxy } from '../../src/server/lifecycle.js';
import { converse, json, parseResponse, type Conversation } from '../helpers/conversation.js';
import { http2PortOf, replaceConfig, writeConfig } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

/** How long a test waits for the new keep-alive timeout (300 ms): shorter than the old one (5 000). */
const IDLE_WITHIN_MS = 4_000;
/** How long a test waits for the new head and request timeouts (500, 1 000 ms) plus node's check interval (1 s): shorter than the old ones (20 000, 60 000). */
const TIMEOUT_WITHIN_MS = 8_000;
/** One header's value in a request head and in the upstream's answer to /big: over 4 096 bytes, within 65 536 (and, as an HTTP/2 header list, within the 8 192 node itself resets over). */
const BIG_HEADER_BYTES = 6_000;

type Limits = NonNullable<ConfigInput['limits']>;

interface LimitsProxy {
  proxy: Abproxy;
  upstream: TestUpstream;
  /** The HTTP/1.1 data plane's port. */
  port: number;
  /** The HTTP/2 listener's URL (it serves HTTP/1.1 too). */
  h2Url: string;
  /** Every log line so far, parsed. */
  logged: Record<string, unknown>[];
  /** Rewrites the config file with `limits` and waits for the proxy's watcher to apply it. */
  reload(limits: Limits): Promise<void>;
  close(): Promise<void>;
}

/** A proxy with an HTTP/2 listener, started from a config file with `limits`, in front of an upstream that answers /big with an oversized head. */
async function startLimitsProxy(limits: Limits): Promise<LimitsProxy> {
  const upstream = await startUpstream((req, res) => (req.url === '/big' ? res.setHeader('x-big', 'b'.repeat(BIG_HEADER_BYTES)).end('big') : res.end('ok')));
  const config = {
    http2: { listen: '127.0.0.1:0' },
    routes: [{ name: 'all', match: { pathPrefix: '/' }, variants: [{ name: 'only', target: upstream.url, weight: 1 }] }],
  };
  const configPath = writeConfig({ ...config, limits });
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
  const proxy = await startAbproxy({ configPath, logger: pino({ level: 'info' }, sink) });
  const h2Port = http2PortOf(proxy);
  return {
    proxy,
    upstream,
    port: proxy.dataPlane.address.port,
    h2Url: `http://127.0.0.1:${h2Port}`,
    get logged() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    async reload(next) {
      const generation = proxy.holder.current.generation;
      replaceConfig(configPath, { ...config, limits: next });
      await waitFor(() => proxy.holder.current.generation === generation + 1, 'the file watcher to apply the new limits');
    },
    async close() {
      await proxy.close(2_000);
      await upstream.close();
    },
  };
}

/** Milliseconds until the server closes `talk`; fails after `withinMs`. */
async function closedAfter(talk: Conversation, withinMs: number): Promise<number> {
  const started = performance.now();
  await talk.waitClosed(withinMs);
  return performance.now() - started;
}

function openSession(url: string): ClientHttp2Session {
  const session = connectHttp2(url);
  session.on('error', () => undefined); // a session error shows as the failure of the request on it
  return session;
}

/** One request on `session`: the answer's status and body. */
async function send(session: ClientHttp2Session, headers: OutgoingHttpHeaders): Promise<{ status: number | undefined; body: string }> {
  const stream = session.request({ ':path': '/', ...headers });
  let status: number | undefined;
  let body = '';
  stream.on('response', (head: IncomingHttpHeaders) => (status = Number(head[':status'])));
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  stream.on('error', () => undefined);
  await once(stream, 'close');
  return { status, body };
}

test('a reload lowers keepAliveTimeoutMs (5000 -> 300): an idle HTTP/1.1 connection and a new idle HTTP/2 session are closed after the new value', async () => {
  const setup = await startLimitsProxy({ keepAliveTimeoutMs: 5_000 });
  let session: ClientHttp2Session | undefined;
  const talk = await converse(setup.port);
  try {
    await setup.reload({ keepAliveTimeoutMs: 300 });
    talk.write('GET /idle HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await talk.waitFor(/\r\n\r\nok$/);
    assert.equal(parseResponse(talk.text).headers.get('connection'), 'keep-alive', talk.text);
    const idleMs = await closedAfter(talk, IDLE_WITHIN_MS);
    assert.ok(idleMs >= 150, `closed ${idleMs} ms after the answer: at once, not by keepAliveTimeoutMs`);

    session = openSession(setup.h2Url);
    assert.deepEqual(await send(session, {}), { status: 200, body: 'ok' });
    const started = performance.now();
    await once(session, 'goaway', { signal: AbortSignal.timeout(IDLE_WITHIN_MS) }).catch(() => assert.fail(`the idle session got no GOAWAY within ${IDLE_WITHIN_MS} ms`));
    assert.ok(performance.now() - started >= 150, 'GOAWAY at once, not by keepAliveTimeoutMs');
  } finally {
    talk.destroy();
    session?.destroy();
    await setup.close();
  }
});

test('a reload lowers headersTimeoutMs (20000 -> 500) and requestTimeoutMs (60000 -> 1000): a partial head and a stalled body are answered 408, an undecided connection on the shared port is closed', async () => {
  const setup = await startLimitsProxy({ headersTimeoutMs: 20_000, requestTimeoutMs: 60_000 });
  const [head, body] = await Promise.all([converse(setup.port), converse(setup.port)]);
  let undecided: Conversation | undefined;
  try {
    await setup.reload({ headersTimeoutMs: 500, requestTimeoutMs: 1_000 });
    head.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    body.write('POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly ten b');
    const [headMs, bodyMs] = await Promise.all([closedAfter(head, TIMEOUT_WITHIN_MS), closedAfter(body, TIMEOUT_WITHIN_MS)]);
    for (const [what, talk, ms, timeoutMs] of [['partial head', head, headMs, 500], ['stalled body', body, bodyMs, 1_000]] as const) {
      const answer = parseResponse(talk.text);
      assert.equal(answer.status, 408, `${what}: ${talk.text}`);
      assert.equal(json(answer.body).code, 'ABPROXY_REQUEST_TIMEOUT', what);
      assert.ok(ms >= timeoutMs / 2, `${what}: answered after ${ms} ms, not by the timeout`);
    }
    assert.equal(setup.upstream.received.length, 0, 'nothing reached the upstream');

    // The HTTP/2 port reads a connection's first bytes for up to headersTimeoutMs to tell HTTP/2 from HTTP/1.1.
    undecided = await converse(Number(new URL(setup.h2Url).port));
    undecided.write('PRI * HTTP/2.0\r\n');
    const undecidedMs = await closedAfter(undecided, TIMEOUT_WITHIN_MS);
    assert.ok(undecidedMs >= 250, `closed after ${undecidedMs} ms, not by the timeout`);
    assert.equal(undecided.text, '');
  } finally {
    for (const talk of [head, body, undecided]) talk?.destroy();
    await setup.close();
  }
});

test('a reload that raises maxHeaderBytes (4096 -> 65536) is logged as applying after a restart; 4096 stays for request heads over both protocols and for upstream answers', async () => {
  const setup = await startLimitsProxy({ maxHeaderBytes: 4_096 });
  const bigRequest = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(BIG_HEADER_BYTES)}\r\n\r\n`;
  const session = openSession(setup.h2Url);
  try {
    assert.equal((await rawRequest(setup.port, 'GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).status, 502, 'an upstream head over the bound before the reload');
    await setup.reload({ maxHeaderBytes: 65_536 });
    const warning = setup.logged.find((entry) => entry.field === 'limits.maxHeaderBytes');
    assert.ok(warning, `no warning names limits.maxHeaderBytes:\n${JSON.stringify(setup.logged, null, 1)}`);
    assert.equal(warning.level, 40, 'logged as a warning');
    assert.equal(warning.bound, 4_096);
    assert.equal(warning.configured, 65_536);
    assert.match(String(warning.msg), /applies after a restart/);

    assert.equal((await rawRequest(setup.port, bigRequest)).status, 431, 'an HTTP/1.1 request head');
    assert.equal((await send(session, { 'x-big': 'a'.repeat(BIG_HEADER_BYTES) })).status, 431, 'an HTTP/2 header list');
    const upstreamAnswer = await rawRequest(setup.port, 'GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.equal(upstreamAnswer.status, 502, `an upstream's answer head: ${upstreamAnswer.text.slice(0, 300)}`);
    assert.equal((await rawRequest(setup.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).status, 200, 'the reloaded proxy serves');
  } finally {
    session.destroy();
    await setup.close();
  }
});
