// Replays the 159 aws/http-desync-guardian vectors (test/fixtures/http-desync-vectors) as raw bytes
// through the real proxy. Every Severe vector is answered 400 with a close and never forwarded; the
// other tiers are scored and summarised, and whatever is forwarded carries no ambiguous framing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { mapLimit } from '../helpers/client.js';
import { isFramingLookalike, isToken } from '../../src/http/request-head.js';

interface Vector {
  name: string;
  uri: string;
  method: string;
  version: string;
  headers: { name: string; value: string }[] | null;
  expected: { tier: 'Compliant' | 'Acceptable' | 'Ambiguous' | 'Severe'; reason: string };
}
interface Observed {
  file: string;
  name: string;
  status: number | null;
}

const DIR = fileURLToPath(new URL('../fixtures/http-desync-vectors/', import.meta.url));
const VECTORS = readdirSync(`${DIR}json`)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((file) => (JSON.parse(readFileSync(`${DIR}json/${file}`, 'utf8')) as Vector[]).map((vector, index) => ({ file, index, vector })));
const NODE_OBSERVED = JSON.parse(readFileSync(`${DIR}observed/node-20-http-server-direct.json`, 'utf8')) as Observed[];
const ID_HEADER = 'x-desync-vector';
// Vectors that declare a body the test never sends wait this long; all are replayed at once, so the file takes about this long.
const WAIT_MS = 6_000;

/** What the upstream saw, keyed by the vector id the test adds to each request. */
const forwarded = new Map<string, string[]>();
const upstream = createServer((req, res) => {
  const id = req.headers[ID_HEADER];
  if (typeof id === 'string') forwarded.set(id, req.rawHeaders);
  req.on('error', () => undefined);
  req.resume();
  req.on('end', () => res.end('ok'));
});
let proxy: TestProxy;

before(async () => {
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  proxy = await startProxy({ routes: [{ name: 'all', match: { pathPrefix: '/' }, variants: [{ name: 'v', target, weight: 1 }] }] });
});

after(async () => {
  await proxy.close();
  upstream.closeAllConnections();
  upstream.close();
});

/** The vector's bytes, with Host (unless it has one) and an id header added after the request line. */
function wireBytes(vector: Vector, id: string): Buffer {
  const line = `${vector.method} ${vector.uri}${vector.version ? ` ${vector.version}` : ''}\r\n`;
  const hasHost = (vector.headers ?? []).some((h) => h.name.toLowerCase() === 'host');
  const added = `${hasHost ? '' : 'Host: 127.0.0.1\r\n'}${ID_HEADER}: ${id}\r\n`;
  const headers = (vector.headers ?? []).map((h) => `${h.name}: ${h.value}\r\n`).join('');
  return latin1OrUtf8(`${line}${added}${headers}\r\n`);
}

/** Characters up to U+00FF as single latin1 bytes (control and obs-text bytes), anything above as UTF-8. */
function latin1OrUtf8(text: string): Buffer {
  const parts: Buffer[] = [];
  for (const char of text) parts.push(Buffer.from(char, char.charCodeAt(0) > 0xff ? 'utf8' : 'latin1'));
  return Buffer.concat(parts);
}

interface Outcome {
  status: number | null;
  closed: boolean;
  code: string | undefined;
}

function replay(bytes: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(proxy.port, '127.0.0.1');
    let text = '';
    let closed = false;
    const timer = setTimeout(() => socket.destroy(), WAIT_MS);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('end', () => (closed = true));
    socket.on('close', () => {
      clearTimeout(timer);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: status ? Number(status[1]) : null, closed, code: /"code":"([A-Z_]+)"/.exec(text)?.[1] });
    });
    socket.write(bytes);
  });
}

test('desync vectors: Severe -> 400 + close, never forwarded; other tiers scored', async () => {
  assert.equal(VECTORS.length, 159, 'all vectors loaded');
  const outcomes = await mapLimit(VECTORS, VECTORS.length, ({ vector }, i) => replay(wireBytes(vector, String(i))));
  const summary = new Map<string, Map<string, number>>();
  const severeFailures: string[] = [];
  const differsFromNode: string[] = [];
  const forwardedOdd: string[] = [];
  VECTORS.forEach(({ file, vector }, i) => {
    const outcome = outcomes[i] as Outcome;
    const sent = forwarded.get(String(i));
    const label = sent ? `forwarded ${outcome.status ?? 'timeout'}` : outcome.status === null ? 'timeout' : String(outcome.status);
    const tier = summary.get(vector.expected.tier) ?? new Map<string, number>();
    tier.set(label, (tier.get(label) ?? 0) + 1);
    summary.set(vector.expected.tier, tier);
    if (vector.expected.tier === 'Severe' && (outcome.status !== 400 || !outcome.closed || sent || outcome.code !== 'ABPROXY_BAD_REQUEST')) {
      severeFailures.push(`${file} "${vector.name}": status ${outcome.status}, closed ${outcome.closed}, forwarded ${Boolean(sent)}`);
    }
    if (sent && vector.expected.tier !== 'Compliant') forwardedOdd.push(`${vector.expected.tier} ${file} "${vector.name}"`);
    if (sent) {
      // Whatever reaches the upstream is framed exactly as the proxy framed it: no name a backend
      // could read as a second Content-Length or Transfer-Encoding.
      for (let h = 0; h < sent.length; h += 2) {
        const name = sent[h] ?? '';
        assert.ok(isToken(name) && !isFramingLookalike(name.toLowerCase()), `${file} "${vector.name}" forwarded header ${JSON.stringify(name)}`);
      }
    }
    const node = NODE_OBSERVED.find((o) => o.file === file && o.name === vector.name);
    if (node && node.status !== outcome.status) differsFromNode.push(`${vector.expected.tier} ${file} "${vector.name}": node ${node.status ?? 'timeout'}, abproxy ${outcome.status ?? 'timeout'}`);
  });
  const lines = [...summary].map(([tier, counts]) => `  ${tier.padEnd(10)} ${[...counts].map(([label, n]) => `${label} x${n}`).join(', ')}`);
  console.log(`desync vectors (tier -> outcome):\n${lines.join('\n')}\nforwarded although not Compliant:\n  ${forwardedOdd.join('\n  ')}\ndiffers from a bare node 20 server (${differsFromNode.length}):\n  ${differsFromNode.join('\n  ')}`);
  assert.deepEqual(severeFailures, []);
});
