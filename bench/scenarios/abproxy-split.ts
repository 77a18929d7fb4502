// abproxy, one process from the built CLI, a sticky 90/10 split on x-session-id: issue 2's speed
// acceptance (>= 0.4x nginx-split, <= 80 us CPU per request, < 0.25 ms added p50 at one connection).
import { startAbproxyProcess } from '../lib/abproxy.js';
import { KEY_HEADER, SPLIT_PATH_PREFIX, splitCheck } from '../lib/requests.js';
import type { BenchEnv, Scenario } from '../lib/types.js';

/** The route every abproxy split scenario uses, so rows differ only in what the scenario adds. */
export function splitRoute(env: BenchEnv) {
  return {
    name: 'fraud',
    match: { pathPrefix: SPLIT_PATH_PREFIX },
    sticky: [{ header: KEY_HEADER }],
    variants: [
      { name: 'champion', target: env.upstreams.urls.champion ?? '', weight: 90 },
      { name: 'challenger', target: env.upstreams.urls.challenger ?? '', weight: 10 },
    ],
  };
}

export const abproxySplit: Scenario = {
  name: 'abproxy-split',
  title: 'abproxy, 1 process, sticky 90/10 split on x-session-id',
  goals: [
    { metric: 'vsReference', min: 0.4 },
    { metric: 'cpuUsPerReq', max: 80 },
    { metric: 'addedP50Ms', max: 0.25 },
  ],
  async start(env) {
    const proxy = await startAbproxyProcess(env.cliPath, env.tmpDir, { routes: [splitRoute(env)] });
    return {
      url: proxy.url,
      request: env.splitRequest,
      pid: proxy.proc.pid,
      check: () => splitCheck(env.upstreams, ['champion', 'challenger'], 'challenger'),
      close: () => proxy.close(),
    };
  },
};
