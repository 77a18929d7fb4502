// Reference: nginx, one worker, split_clients 90/10 on the same sticky header, keep-alive upstreams,
// setting the same forwarding headers abproxy sets.
import { startNginx, nginxPath } from '../lib/nginx.js';
import { KEY_HEADER, splitCheck } from '../lib/requests.js';
import type { Scenario } from '../lib/types.js';

/** The http-block for a 90/10 split_clients proxy to champion/challenger, with keep-alive pools. */
export function splitHttpBlock(port: number, champion: number, challenger: number, extraLocation = ''): string {
  const variable = `$http_${KEY_HEADER.replace(/-/g, '_')}`;
  return `  upstream champion { server 127.0.0.1:${champion}; keepalive 128; }
  upstream challenger { server 127.0.0.1:${challenger}; keepalive 128; }
  split_clients "${variable}" $variant { 90% champion; * challenger; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://$variant;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-Id $request_id;
      add_header x-abproxy-variant $variant;
      add_header x-request-id $request_id;
${extraLocation}    }
  }`;
}

export const nginxSplit: Scenario = {
  name: 'nginx-split',
  title: 'nginx, 1 worker, split_clients 90/10 on x-session-id',
  reference: 'nginx-split',
  unavailable: () => (nginxPath() ? undefined : 'nginx is not installed (apt-get install nginx)'),
  async start(env) {
    const { champion = 0, challenger = 0 } = env.upstreams.ports;
    const nginx = await startNginx(env.tmpDir, 1, (port) => splitHttpBlock(port, champion, challenger));
    return {
      url: nginx.url,
      request: env.splitRequest,
      pid: nginx.proc.pid,
      check: () => splitCheck(env.upstreams, ['champion', 'challenger'], 'challenger'),
      close: () => nginx.close(),
    };
  },
};
