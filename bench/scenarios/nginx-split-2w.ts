// Reference for --workers 2: nginx with two worker processes, the same split_clients 90/10 block.
import { nginxPath, startNginx } from '../lib/nginx.js';
import { shareNote } from '../lib/requests.js';
import type { Scenario } from '../lib/types.js';
import { splitHttpBlock } from './nginx-split.js';

export const nginxSplit2w: Scenario = {
  name: 'nginx-split-2w',
  title: 'nginx, 2 workers, split_clients 90/10 on x-session-id',
  reference: 'nginx-split-2w',
  unavailable: () => (nginxPath() ? undefined : 'nginx is not installed (apt-get install nginx)'),
  async start(env) {
    const { champion = 0, challenger = 0 } = env.upstreams.ports;
    const nginx = await startNginx(env.tmpDir, 2, (port) => splitHttpBlock(port, champion, challenger));
    return {
      url: nginx.url,
      request: env.splitRequest,
      pid: nginx.proc.pid,
      check: async () => shareNote(await env.upstreams.takeCounts(), ['champion', 'challenger'], 'challenger'),
      close: () => nginx.close(),
    };
  },
};
