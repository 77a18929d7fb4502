// Reference for abproxy-split's CPU per request: the bare Node forwarder of bench/servers/node-floor.ts
// (node:http + undici Pool.dispatch, sticky 90/10, nothing else) on the same upstreams and load.
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../lib/abproxy.js';
import { freePort, startListening } from '../lib/processes.js';
import { splitCheck } from '../lib/requests.js';
import type { Scenario } from '../lib/types.js';

const SCRIPT = fileURLToPath(new URL('../servers/node-floor.ts', import.meta.url));

export const nodeFloor: Scenario = {
  name: 'node-floor',
  title: 'bare Node forwarder (node:http + undici Pool.dispatch), sticky 90/10, no routing, metrics, ids or forwarded headers',
  async start(env) {
    const port = await freePort();
    const { champion = '', challenger = '' } = env.upstreams.urls;
    const proc = await startListening(process.execPath, ['--import', 'tsx', SCRIPT, String(port), champion, challenger], REPO_ROOT, [port]);
    return {
      url: `http://127.0.0.1:${port}`,
      request: env.splitRequest,
      pid: proc.pid,
      check: () => splitCheck(env.upstreams, ['champion', 'challenger'], 'challenger'),
      close: () => proc.stop(),
    };
  },
};
