// The benchmark's contracts: a Scenario starts something to measure and hands back a Target; the
// harness drives the same bounded load at every target and measures it. Scenarios never drive load.
import type { Upstreams } from './upstream.js';

/** What every request of a load run looks like. */
export interface LoadRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** When set, each request carries this header with a distinct value (a sticky key per request). */
  keyHeader?: string;
}

export interface Target {
  /** http://127.0.0.1:PORT */
  url: string;
  request: LoadRequest;
  /** Root process whose CPU and RSS are accounted (descendants included: nginx workers, cluster workers). */
  pid: number;
  /** After a run: a short note checking what the target did (e.g. the realized split). */
  check?(): Promise<string>;
  close(): Promise<void>;
}

export interface BenchEnv {
  /** Fast upstreams shared by every scenario of the run (their own process). */
  upstreams: Upstreams;
  /** A fresh temporary directory for this scenario's files. */
  tmpDir: string;
  /** Path of the built CLI entry (dist/cli/main.js), built once per run. */
  cliPath: string;
  /** The request every split scenario sends, so their rows compare like with like. */
  splitRequest: LoadRequest;
}

export interface Scenario {
  /** Short unique id, used by filters (`npm run bench -- split`) and as a ratio reference. */
  name: string;
  /** One-line description for the table's legend. */
  title: string;
  /** A reason this scenario cannot run on this machine (tool missing), or undefined. */
  unavailable?(): string | undefined;
  start(env: BenchEnv): Promise<Target>;
  /** Name of the scenario this one is judged against (its ratio column); defaults to nginx-split. */
  reference?: string;
  /** Acceptance targets, checked on the medians and printed under the table. */
  goals?: readonly Goal[];
}

/** A derived figure of a table row that a goal can bound. */
export type GoalMetric = 'reqPerSec' | 'vsReference' | 'vsDirect' | 'cpuUsPerReq' | 'p99Ms' | 'addedP50Ms' | 'rssMb';

export interface Goal {
  metric: GoalMetric;
  min?: number;
  max?: number;
}

/** One measured run of one scenario. */
export interface Measurement {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests that failed (socket errors, timeouts, non-2xx/3xx). */
  errors: number;
  cpuUsPerReq: number;
  /** CPU the upstream process (every backend server) spent per request of the target, e.g. on new connections. */
  upstreamCpuUsPerReq: number;
  rssMb: number;
  /** p50 with a single connection (latency, not throughput). */
  p50OneConnMs: number;
  note: string;
}
