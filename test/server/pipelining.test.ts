// HTTP/1.1 pipelining (RFC 9112 §9.3.2): requests a client sends back to back on one connection are
// answered in the order they were sent, each with its own variant and body, even when the upstreams
// finish them in the opposite order. Raw bytes, since clients rarely pipeline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';

const REQUESTS = 6;

/** An upstream that answers request n after (REQUESTS - n) * 40 ms: the last one sent finishes first. */
function reversing(name: string): Promise<TestUpstream> {
  return startUpstream((req, res, body) => {
    const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n'));
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ served: name, n, body: body.toString() }));
    }, (REQUESTS - n) * 40);
  });
}

/** Splits back-to-back HTTP/1.1 responses that each carry a Content-Length. */
function splitResponses(text: string): { status: number; headers: Map<string, string>; body: string }[] {
  const out = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    assert.ok(end > 0, `a response head in ${JSON.stringify(rest.slice(0, 200))}`);
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const length = Number(headers.get('content-length'));
    assert.ok(Number.isInteger(length), `a Content-Length in ${statusLine}`);
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

test('pipelined requests are answered in the order sent, each from its own variant, though the upstreams finish them in reverse', async (t) => {
  const a = await reversing('a');
  const b = await reversing('b');
  const proxy = await startProxy({
    routes: [{ name: 'piped', match: { pathPrefix: '/piped' }, sticky: [{ header: 'x-session-id' }], variants: [{ name: 'a', target: a.url, weight: 1 }, { name: 'b', target: b.url, weight: 1 }] }],
  });
  t.after(async () => {
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  });

  let bytes = '';
  for (let n = 0; n < REQUESTS - 1; n++) {
    const body = `{"inputs":[],"n":${n}}`;
    const framing = n === 2 ? `Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` : `Content-Length: ${body.length}\r\n\r\n${body}`;
    bytes += `POST /piped/infer?n=${n} HTTP/1.1\r\nHost: a\r\nX-Session-Id: user-${n}\r\nContent-Type: application/json\r\n${framing}`;
  }
  bytes += `GET /piped/infer?n=${REQUESTS - 1} HTTP/1.1\r\nHost: a\r\nX-Session-Id: user-${REQUESTS - 1}\r\nConnection: close\r\n\r\n`;
  const res = await rawRequest(proxy.port, bytes, 10_000);
  assert.ok(res.closed, 'the proxy closed after the last request asked it to');

  const responses = splitResponses(res.text);
  assert.equal(responses.length, REQUESTS);
  responses.forEach((response, n) => {
    assert.equal(response.status, 200, `response ${n}`);
    const answer = JSON.parse(response.body) as { served: string; n: number; body: string };
    assert.equal(answer.n, n, 'answers come back in request order');
    assert.equal(answer.served, response.headers.get('x-abproxy-variant'), `response ${n} is tagged with the variant that served it`);
    assert.equal(answer.body, n === REQUESTS - 1 ? '' : `{"inputs":[],"n":${n}}`, `request ${n} reached its upstream with its own body`);
  });
  assert.equal(a.received.length + b.received.length, REQUESTS, 'each request was forwarded once');
  assert.ok(a.received.length > 0 && b.received.length > 0, 'both variants served part of the pipeline');
});
