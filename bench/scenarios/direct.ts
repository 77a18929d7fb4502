// Baseline: the fast upstream with no proxy in front (its own process's CPU is what is accounted).
import type { Scenario } from '../lib/types.js';

export const direct: Scenario = {
  name: 'direct',
  title: 'upstream direct (node:http, own process), no proxy',
  start(env) {
    return Promise.resolve({
      url: env.upstreams.urls.champion ?? '',
      request: env.splitRequest,
      pid: env.upstreams.pid,
      close: () => Promise.resolve(),
    });
  },
};
