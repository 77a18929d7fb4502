// `node --import tsx bench/grpc.ts [--rounds N] [--requests N] [--connections C] [--streams M]`: gRPC
// ModelInfer calls (h2load over h2c, M concurrent streams per connection) at a fast gRPC upstream
// directly, through abproxy's HTTP/2 listener (one process; calls routed by model name to the
// variants' grpcTarget, 90/10 at random as h2load sends no per-call key), and through nginx
// `grpc_pass` with `split_clients` when nginx is installed. Prints calls/s, mean and max latency, CPU
// microseconds per call of the proxy's process tree, RSS, and the ratios: medians of interleaved rounds.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { frameMessage } from '../src/grpc/framing.js';
import { MODEL_INFER, oipType } from '../src/grpc/oip-schema.js';
import { buildCli, REPO_ROOT, startAbproxyProcess } from './lib/abproxy.js';
import { nginxPath, nginxVersion, startNginx } from './lib/nginx.js';
import { findCommand, freePort, startListening } from './lib/processes.js';
import { cpuMicros, rssBytes } from './lib/procstat.js';
import { median } from './lib/report.js';

const run = promisify(execFile);
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, requests: { type: 'string', default: '40000' }, connections: { type: 'string', default: '16' }, streams: { type: 'string', default: '8' } } });
const rounds = Number(values.rounds);

const h2load = findCommand('h2load');
if (!h2load) {
  console.error('bench/grpc.ts needs h2load: apt-get install nghttp2-client');
  process.exit(1);
}

interface Row {
  callsPerSec: number;
  meanMs: number;
  maxMs: number;
  failed: number;
  cpuUsPerCall: number;
  rssMb: number;
}

interface Target {
  name: string;
  url: string;
  pid: number | undefined;
  close(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'abproxy-bench-grpc-'));
const bodyFile = join(dir, 'model-infer.bin');
const REQUEST = oipType('ModelInferRequest');
const features = Array.from({ length: 29 }, (_, i) => Math.sin(i + 1));
writeFileSync(bodyFile, frameMessage(REQUEST.encode(REQUEST.fromObject({ model_name: 'fraud', inputs: [{ name: 'transaction', datatype: 'FP32', shape: [1, 29], contents: { fp32_contents: features } }] })).finish()));

/** Seconds from an h2load duration such as 812us, 1.23ms or 2.01s. */
function ms(value: string): number {
  const amount = Number.parseFloat(value);
  if (value.endsWith('us')) return amount / 1000;
  if (value.endsWith('ms')) return amount;
  return amount * 1000;
}

async function load(url: string, requests: number): Promise<Omit<Row, 'cpuUsPerCall' | 'rssMb'> & { done: number }> {
  const { stdout } = await run(h2load as string, ['-n', String(requests), '-c', values.connections, '-m', values.streams, '-d', bodyFile, '-H', 'content-type: application/grpc', '-H', 'te: trailers', `${url}${MODEL_INFER}`], { maxBuffer: 1 << 24 });
  const rate = /finished in \S+, ([\d.]+) req\/s/.exec(stdout);
  const counts = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(stdout);
  const times = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(stdout);
  if (!rate || !counts || !times) throw new Error(`h2load output not understood:\n${stdout}`);
  return { callsPerSec: Number(rate[1]), done: Number(counts[1]), failed: Number(counts[3]), meanMs: ms(times[3] ?? ''), maxMs: ms(times[2] ?? '') };
}

async function measure(target: Target): Promise<Row> {
  await load(target.url, Math.floor(Number(values.requests) / 4)); // warm-up
  const before = target.pid === undefined ? 0 : cpuMicros(target.pid);
  const result = await load(target.url, Number(values.requests));
  const cpu = target.pid === undefined ? 0 : cpuMicros(target.pid) - before;
  return { ...result, cpuUsPerCall: target.pid === undefined ? 0 : cpu / result.done, rssMb: target.pid === undefined ? 0 : rssBytes(target.pid) / 1024 / 1024 };
}

const champion = await freePort();
const challenger = await freePort();
const upstream = await startListening(process.execPath, ['--import', 'tsx', 'bench/servers/grpc-upstream.ts', `champion=${champion}`, `challenger=${challenger}`], REPO_ROOT, [champion, challenger]);
const cliPath = buildCli();

const starters: (() => Promise<Target>)[] = [
  () => Promise.resolve({ name: 'direct', url: `http://127.0.0.1:${champion}`, pid: upstream.pid, close: () => Promise.resolve() }),
  async () => {
    const h2Port = await freePort();
    const variants = [
      { name: 'champion', target: `http://127.0.0.1:${champion}`, weight: 90 },
      { name: 'challenger', target: `http://127.0.0.1:${challenger}`, weight: 10 },
    ];
    const proxy = await startAbproxyProcess(cliPath, mkdtempSync(join(dir, 'abproxy-')), { http2: { listen: `127.0.0.1:${h2Port}` }, routes: [{ name: 'fraud', match: { pathPrefix: '/v2/models/fraud' }, variants }] });
    return { name: 'abproxy-grpc', url: `http://127.0.0.1:${h2Port}`, pid: proxy.proc.pid, close: () => proxy.close() };
  },
];
if (nginxPath()) {
  starters.push(async () => {
    const nginx = await startNginx(mkdtempSync(join(dir, 'nginx-')), 1, (port) => `
  upstream champion { server 127.0.0.1:${champion}; keepalive 64; }
  upstream challenger { server 127.0.0.1:${challenger}; keepalive 64; }
  split_clients "$request_id" $variant { 90% champion; * challenger; }
  server {
    listen 127.0.0.1:${port} http2;
    keepalive_requests 1000000; # the default 1000 sends GOAWAY mid-run, which h2load counts as failed calls
    location / { grpc_pass grpc://$variant; }
  }`);
    return { name: 'nginx-grpc', url: nginx.url, pid: nginx.proc.pid, close: () => nginx.close() };
  });
}

const results = new Map<string, Row[]>();
for (let round = 0; round < rounds; round++) {
  for (const start of starters) {
    const target = await start();
    try {
      const row = await measure(target);
      results.set(target.name, [...(results.get(target.name) ?? []), row]);
    } finally {
      await target.close();
    }
  }
}
await upstream.stop();

const medianOf = (rows: Row[], key: keyof Row) => median(rows.map((r) => r[key]));
const direct = medianOf(results.get('direct') ?? [], 'callsPerSec');
const nginx = results.get('nginx-grpc');
console.log(`gRPC ModelInfer, h2load -c ${values.connections} -m ${values.streams} -n ${values.requests}, ${rounds} rounds (medians); nginx: ${nginxVersion() ?? 'not installed'}`);
console.log('| target | calls/s | mean ms | max ms | failed | CPU µs/call | RSS MB | vs direct | vs nginx-grpc |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [name, rows] of results) {
  const rate = medianOf(rows, 'callsPerSec');
  const vsNginx = nginx && name !== 'nginx-grpc' ? `${(median(rows.map((r, i) => r.callsPerSec / (nginx[i]?.callsPerSec ?? NaN)))).toFixed(2)}x` : '-';
  console.log(
    `| ${name} | ${rate.toFixed(0)} | ${medianOf(rows, 'meanMs').toFixed(2)} | ${medianOf(rows, 'maxMs').toFixed(1)} | ${rows.reduce((s, r) => s + r.failed, 0)} | ${medianOf(rows, 'cpuUsPerCall').toFixed(0)} | ${medianOf(rows, 'rssMb').toFixed(0)} | ${name === 'direct' ? '-' : `${(rate / direct).toFixed(2)}x`} | ${vsNginx} |`,
  );
}
