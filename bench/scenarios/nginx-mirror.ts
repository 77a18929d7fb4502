// Reference for abproxy's split + 100% shadow: nginx split_clients 90/10 plus `mirror` of every request
// (with its body) to the shadow upstream, with one and with two worker processes.
import { nginxPath, startNginx } from '../lib/nginx.js';
import { mirrorCheck } from '../lib/requests.js';
import type { Scenario } from '../lib/types.js';
import { splitHttpBlock } from './nginx-split.js';

/** split_clients plus a mirror subrequest to an internal location that proxies to the shadow upstream. */
function mirrorHttpBlock(port: number, champion: number, challenger: number, shadow: number): string {
  const mirror = `      mirror /_mirror;
      mirror_request_body on;
      location = /_mirror {
        internal;
        proxy_pass http://shadow$request_uri;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header x-abproxy-shadow fraud/candidate;
      }
`;
  return `  upstream shadow { server 127.0.0.1:${shadow}; keepalive 128; }\n${splitHttpBlock(port, champion, challenger, mirror)}`;
}

function nginxMirror(workers: number): Scenario {
  const name = workers === 1 ? 'nginx-mirror' : `nginx-mirror-${workers}w`;
  return {
    name,
    title: `nginx, ${workers} worker${workers > 1 ? 's' : ''}, split_clients 90/10 + mirror of every request to a shadow`,
    reference: name,
    unavailable: () => (nginxPath() ? undefined : 'nginx is not installed (apt-get install nginx)'),
    async start(env) {
      const { champion = 0, challenger = 0, shadow = 0 } = env.upstreams.ports;
      const nginx = await startNginx(env.tmpDir, workers, (port) => mirrorHttpBlock(port, champion, challenger, shadow));
      return {
        url: nginx.url,
        request: env.splitRequest,
        pid: nginx.proc.pid,
        check: () => mirrorCheck(env.upstreams),
        close: () => nginx.close(),
      };
    },
  };
}

export const nginxMirror1w = nginxMirror(1);
export const nginxMirror2w = nginxMirror(2);
