// `node --import tsx bench/shadow-latency.ts [--rounds N] [--requests N] [--connections C]`: the shadow
// latency acceptance. One abproxy process (the built CLI) serves a sticky 90/10 split twice: a route with
// no shadow and a route whose shadow sleeps 2 s on every request. Each round sends the same bounded load
// (500 requests over 10 keep-alive connections by default) to both, and the medians of p50/p99 are compared.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { buildCli, startAbproxyProcess } from './lib/abproxy.js';
import { KEY_HEADER, splitRequest } from './lib/requests.js';
import { startUpstreams } from './lib/upstream.js';

const SHADOW_DELAY_MS = 2_000;
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, requests: { type: 'string', default: '500' }, connections: { type: 'string', default: '10' } } });
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const connections = Number(values.connections);

interface Run {
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

/** `requests` POSTs over `connections` keep-alive connections, each with its own sticky key; latencies in ms. */
async function drive(url: string, path: string, count: number, keyPrefix: string): Promise<Run> {
  const pool = new Pool(url, { connections });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const startedAt = performance.now();
      try {
        const res = await pool.request({ path, method: 'POST', headers: { ...splitRequest.headers, [KEY_HEADER]: `${keyPrefix}-${i}` }, body: splitRequest.body ?? null });
        await res.body.text();
        if (res.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - startedAt);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? NaN;
  return { p50: at(50), p99: at(99), max: latencies.at(-1) ?? NaN, errors };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function main(): Promise<void> {
  console.log('building the CLI (npm run build) ...');
  const cliPath = buildCli();
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-bench-shadow-'));
  const upstreams = await startUpstreams(['champion', 'challenger']);
  const shadow = createServer((req, res) => {
    req.resume();
    const timer = setTimeout(() => res.end('{"outputs":[]}'), SHADOW_DELAY_MS);
    res.on('close', () => clearTimeout(timer));
  });
  shadow.listen(0, '127.0.0.1');
  await once(shadow, 'listening');
  const shadowUrl = `http://127.0.0.1:${(shadow.address() as AddressInfo).port}`;
  const route = (name: string, prefix: string) => ({
    name,
    match: { pathPrefix: prefix },
    sticky: [{ header: KEY_HEADER }],
    variants: [
      { name: 'champion', target: upstreams.urls.champion ?? '', weight: 90 },
      { name: 'challenger', target: upstreams.urls.challenger ?? '', weight: 10 },
    ],
  });
  const proxy = await startAbproxyProcess(cliPath, dir, {
    shadowLog: { path: join(dir, 'shadow.jsonl') },
    routes: [route('off', '/off'), { ...route('on', '/on'), shadows: [{ name: 'sleeper', target: shadowUrl, timeoutMs: 5_000 }] }],
  });
  try {
    await drive(proxy.url, '/off/infer', 300, 'warm');
    await drive(proxy.url, '/on/infer', 300, 'warm');
    await delay(SHADOW_DELAY_MS + 500);
    const off: Run[] = [];
    const on: Run[] = [];
    for (let round = 1; round <= rounds; round++) {
      off.push(await drive(proxy.url, '/off/infer', requests, `off-${round}`));
      on.push(await drive(proxy.url, '/on/infer', requests, `on-${round}`));
      const [a, b] = [off.at(-1) as Run, on.at(-1) as Run];
      console.log(`round ${round}: shadows off p50 ${a.p50.toFixed(2)} p99 ${a.p99.toFixed(2)} max ${a.max.toFixed(2)} ms, ${a.errors} errors | 2 s shadow p50 ${b.p50.toFixed(2)} p99 ${b.p99.toFixed(2)} max ${b.max.toFixed(2)} ms, ${b.errors} errors`);
      await delay(SHADOW_DELAY_MS + 500); // let the copies of this round finish before the next shadows-off run
    }
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    const outcomes = [...metrics.matchAll(/^abproxy_shadow_requests_total\{[^}]*route="on"[^}]*outcome="(\w+)"[^}]*\} (\d+)/gm)].map(([, o, n]) => `${o} ${n}`);
    const p99Off = median(off.map((r) => r.p99));
    const p99On = median(on.map((r) => r.p99));
    const errors = on.reduce((sum, r) => sum + r.errors, 0);
    console.log(`\n${requests} requests x ${connections} connections, ${rounds} rounds (medians):`);
    console.log(`  shadows off: p50 ${median(off.map((r) => r.p50)).toFixed(2)} ms, p99 ${p99Off.toFixed(2)} ms`);
    console.log(`  2 s shadow : p50 ${median(on.map((r) => r.p50)).toFixed(2)} ms, p99 ${p99On.toFixed(2)} ms, primary errors ${errors}`);
    console.log(`  shadow copies: ${outcomes.join(', ')}`);
    const ok = p99On - p99Off <= 20 && errors === 0;
    console.log(`  goal p99 at most 20 ms above shadows off, zero primary errors: ${ok ? 'met' : 'NOT met'} (difference ${(p99On - p99Off).toFixed(2)} ms)`);
  } finally {
    await proxy.close();
    await upstreams.close();
    shadow.closeAllConnections();
    shadow.close();
  }
}

await main();
