// Upstream answers judged by their head: a 304 or 204 that carries Content-Length (a 304 may, RFC 9110
// §8.6) is relayed complete at its head to HTTP/1.1 and HTTP/2 clients and counted ok as a shadow's
// answer; a response head over maxHeaderBytes is a 502 that says so, and passes once the limit is raised.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type IncomingHttpHeaders } from 'node:http2';
import type { ConfigInput } from '../../src/config/schema.js';
import { requestsTotal, shadowRequestsTotal, upstreamErrorsTotal } from '../../src/metrics/registry.js';
import { parseResponse } from '../helpers/conversation.js';
import { metricValue } from '../helpers/metric-value.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';
import { startRawUpstream, type RawUpstream } from '../helpers/raw-upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const ETAG = '"v42"';
const BIG_HEADER = 'x'.repeat(20_000);
let bodiless: RawUpstream;
let bigHead: RawUpstream;
let proxy: TestProxy;
let roomy: TestProxy;

/** Answers every request on a connection: .../not-modified and .../no-content with a Content-Length and no body, anything else 200 "fresh". */
function answer(path: string): string {
  if (path.endsWith('/not-modified')) return `HTTP/1.1 304 Not Modified\r\netag: ${ETAG}\r\ncontent-length: 1234\r\n\r\n`;
  if (path.endsWith('/no-content')) return 'HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n';
  return 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfresh';
}

before(async () => {
  bodiless = await startRawUpstream((socket, head) => {
    socket.write(answer(head.split(' ')[1] ?? ''));
    let pending = head.slice(head.indexOf('\r\n\r\n') + 4);
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        socket.write(answer(pending.split(' ')[1] ?? ''));
        pending = pending.slice(end + 4);
      }
    });
  });
  bigHead = await startRawUpstream((socket) => socket.end(`HTTP/1.1 200 OK\r\nx-big: ${BIG_HEADER}\r\ncontent-length: 2\r\n\r\nok`));
  const route = (name: string, target: string, shadows: NonNullable<ConfigInput['routes'][number]['shadows']> = []) => ({ name, match: { pathPrefix: `/${name}` }, variants: [{ name: 'only', target, weight: 1 }], shadows });
  proxy = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    limits: { upstreamTimeoutMs: 2_000 },
    routes: [route('cache', bodiless.url), route('h2cache', bodiless.url), route('shadowed', bodiless.url, [{ name: 'copy', target: bodiless.url, timeoutMs: 2_000 }]), route('big', bigHead.url)],
  });
  roomy = await startProxy({ limits: { maxHeaderBytes: 65_536 }, routes: [route('big', bigHead.url)] });
});

after(async () => {
  await Promise.all([proxy.close(), roomy.close()]);
  await Promise.all([bodiless.close(), bigHead.close()]);
});

/** Sends `paths` as GETs on one keep-alive connection, one after the other, and returns every answer. */
async function onOneConnection(paths: string[]): Promise<ReturnType<typeof parseResponse>[]> {
  const raw = await rawRequest(
    proxy.port,
    paths.map((path, i) => `GET ${path} HTTP/1.1\r\nHost: a\r\nIf-None-Match: ${ETAG}\r\n${i === paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`).join(''),
    5_000,
  );
  const answers: ReturnType<typeof parseResponse>[] = [];
  for (let rest = raw.text; rest.length > 0; ) {
    const reply = parseResponse(rest);
    answers.push(reply);
    const length = reply.status === 304 || reply.status === 204 ? 0 : Number(reply.headers.get('content-length'));
    rest = rest.slice(rest.indexOf('\r\n\r\n') + 4 + length);
  }
  return answers;
}

test('HTTP/1.1: a 304 and a 204 with Content-Length are relayed complete at their head, and the connection carries on', async () => {
  const answers = await onOneConnection(['/cache/not-modified', '/cache/no-content', '/cache/fresh']);
  assert.deepEqual(
    answers.map((a) => a.status),
    [304, 204, 200],
  );
  const [notModified, , fresh] = answers;
  assert.equal(notModified?.headers.get('etag'), ETAG);
  assert.equal(notModified?.headers.get('content-length'), '1234', "the 304's Content-Length is the representation's, relayed as sent");
  assert.equal(notModified?.headers.get('x-abproxy-variant'), 'only');
  assert.equal(fresh?.body, 'fresh');
});

test('HTTP/2: a 304 with Content-Length ends its stream at the head, counted a 304 and no upstream error', async () => {
  const session = connect(`http://127.0.0.1:${proxy.proxy.http2Plane?.address.port}`);
  try {
    const stream = session.request({ ':path': '/h2cache/not-modified', 'if-none-match': ETAG });
    const [headers, body] = await new Promise<[IncomingHttpHeaders, string]>((resolve, reject) => {
      let head: IncomingHttpHeaders = {};
      let text = '';
      stream.on('response', (h) => (head = h));
      stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
      stream.on('end', () => resolve([head, text]));
      stream.on('error', reject);
    });
    assert.equal(headers[':status'], 304);
    assert.equal(headers.etag, ETAG);
    assert.equal(body, '');
    assert.equal(await metricValue(requestsTotal, { route: 'h2cache', variant: 'only', code: '304' }), 1);
    const errors = (await upstreamErrorsTotal.get()).values.filter((v) => v.labels.route === 'h2cache' && v.value > 0);
    assert.deepEqual(errors, []);
  } finally {
    session.close();
  }
});

test("a shadow's 304 and 204 answers are counted ok, not as errors", async () => {
  const count = async (outcome: string) => (await metricValue(shadowRequestsTotal, { route: 'shadowed', shadow: 'copy', outcome })) || 0;
  const answers = await onOneConnection(['/shadowed/not-modified', '/shadowed/no-content']);
  assert.deepEqual(
    answers.map((a) => a.status),
    [304, 204],
  );
  await waitFor(async () => (await count('ok')) + (await count('error')) === 2, 'both shadow copies answered', 5_000);
  assert.equal(await count('ok'), 2);
});

test('a response head over maxHeaderBytes is a 502 that names the limit; a higher limit lets it through', async () => {
  const raw = await rawRequest(proxy.port, 'GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 5_000);
  const reply = parseResponse(raw.text);
  assert.equal(reply.status, 502, raw.text.slice(0, 300));
  assert.deepEqual(JSON.parse(reply.body), { error: 'upstream response head is over maxHeaderBytes', code: 'ABPROXY_UPSTREAM_INVALID' });
  const through = parseResponse((await rawRequest(roomy.port, 'GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 5_000)).text);
  assert.equal(through.status, 200);
  assert.equal(through.headers.get('x-big'), BIG_HEADER);
  assert.equal(through.body, 'ok');
});
