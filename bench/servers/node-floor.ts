// The benchmark's Node floor: the least a Node.js proxy can do for a sticky 90/10 split, node:http in front
// of undici Pool.dispatch with a raw handler (the leanest client the runtime offers), and nothing else: the
// key hashed to a variant, hop-by-hop fields dropped (abproxy's own stripHopByHop), the answer streamed
// back. No routing table, metrics, request ids, x-forwarded-* or error answers. Its row shows what any
// Node proxy pays on this machine, so abproxy's CPU per request reads against it in the same run.
// Given a shadow URL it also sends every request's copy there over a keep-alive pool and reads the answer
// away (no comparison, no log): the floor of a split plus a 100% shadow. Given a worker count above 1, that
// many node:cluster workers share the port.
// Usage: node-floor PORT CHAMPION CHALLENGER [SHADOW [WORKERS]].
import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { stripHopByHop } from '../../src/http/hop-by-hop.js';
import { murmur3 } from '../../src/routing/hash.js';

const [port = '0', championUrl = '', challengerUrl = '', shadowUrl = '', workers = '1'] = process.argv.slice(2);
/** undici sets Host from the pool's origin. */
const HOST: ReadonlySet<string> = new Set(['host']);

/** A shadow copy's answer: read and let go. */
const dropAnswer: Dispatcher.DispatchHandler = {
  onConnect: () => undefined,
  onError: () => undefined,
  onHeaders: () => true,
  onData: () => true,
  onComplete: () => undefined,
};

function relay(res: ServerResponse): Dispatcher.DispatchHandler {
  return {
    onConnect: () => undefined,
    onError: () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    },
    onHeaders: (status, raw) => {
      res.writeHead(status, stripHopByHop(raw.map((field) => field.toString('latin1'))));
      return true;
    },
    onData: (chunk) => {
      res.write(chunk);
      return true;
    },
    onComplete: () => res.end(),
  };
}

function serve(): void {
  const champion = new Pool(championUrl, { connections: 128 });
  const challenger = new Pool(challengerUrl, { connections: 128 });
  const shadow = shadowUrl ? new Pool(shadowUrl, { connections: 128 }) : undefined;

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const key = req.headers['x-session-id'];
    const pool = typeof key === 'string' && murmur3(key) % 100 < 10 ? challenger : champion;
    const request = { path: req.url ?? '/', method: req.method ?? 'GET', headers: stripHopByHop(req.rawHeaders, HOST), body };
    pool.dispatch(request, relay(res));
    shadow?.dispatch(request, dropAnswer);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(req, res, Buffer.concat(chunks)));
  });
  server.listen(Number(port), '127.0.0.1');
}

if (cluster.isPrimary && Number(workers) > 1) {
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  serve();
  process.on('SIGTERM', () => process.exit(0));
}
