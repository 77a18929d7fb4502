// References for abproxy's CPU per request: the bare Node forwarder of bench/servers/node-floor.ts
// (node:http + undici Pool.dispatch, sticky 90/10, nothing else) on the same upstreams and load; and the
// same forwarder sending every request's copy to the shadow upstream (answer read away, never compared or
// logged), in one process and in two cluster workers, beside abproxy's shadow rows.
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../lib/abproxy.js';
import { freePort, startListening } from '../lib/processes.js';
import { mirrorCheck, splitCheck } from '../lib/requests.js';
import type { BenchEnv, Scenario, Target } from '../lib/types.js';

const SCRIPT = fileURLToPath(new URL('../servers/node-floor.ts', import.meta.url));

async function startFloor(env: BenchEnv, extraArgs: readonly string[]): Promise<Target> {
  const port = await freePort();
  const { champion = '', challenger = '' } = env.upstreams.urls;
  const proc = await startListening(process.execPath, ['--import', 'tsx', SCRIPT, String(port), champion, challenger, ...extraArgs], REPO_ROOT, [port]);
  return { url: `http://127.0.0.1:${port}`, request: env.splitRequest, pid: proc.pid, close: () => proc.stop() };
}

export const nodeFloor: Scenario = {
  name: 'node-floor',
  title: 'bare Node forwarder (node:http + undici Pool.dispatch), sticky 90/10, no routing, metrics, ids or forwarded headers',
  async start(env) {
    const target = await startFloor(env, []);
    return { ...target, check: () => splitCheck(env.upstreams, ['champion', 'challenger'], 'challenger') };
  },
};

function nodeFloorShadow(workers: number): Scenario {
  const suffix = workers === 1 ? '' : `-${workers}w`;
  return {
    name: `node-floor-shadow${suffix}`,
    title: `bare Node forwarder${workers === 1 ? '' : ` in ${workers} cluster workers`} plus a copy of every request to the shadow (answer read away: no comparison, no log)`,
    reference: `nginx-mirror${suffix}`,
    async start(env) {
      const target = await startFloor(env, [env.upstreams.urls.shadow ?? '', String(workers)]);
      return { ...target, check: () => mirrorCheck(env.upstreams) };
    },
  };
}

export const nodeFloorShadow1w = nodeFloorShadow(1);
export const nodeFloorShadow2w = nodeFloorShadow(2);
