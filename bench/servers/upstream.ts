// The benchmark's fast upstream: minimal node:http servers, one per name given on the command line,
// in their own process so they never share the measured proxy's core. Counts requests and connections per
// server and reports them over IPC; answers every request with the same small JSON body. Never logs per request.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

const BODY = Buffer.from(JSON.stringify({ model_name: 'fraud', id: '1', outputs: [{ name: 'score', shape: [1, 1], datatype: 'FP32', data: [0.0015] }] }));
const names = process.argv.slice(2);
const counts = new Map<string, number>(names.map((name) => [name, 0]));
/** New TCP connections per server: a pooled keep-alive client opens few. */
const connections = new Map<string, number>(names.map((name) => [name, 0]));
const ports: Record<string, number> = {};

for (const name of names) {
  const server = createServer({ keepAliveTimeout: 120_000 }, (req: IncomingMessage, res: ServerResponse) => {
    counts.set(name, (counts.get(name) ?? 0) + 1);
    req.on('error', () => undefined);
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
      res.end(BODY);
    });
    req.resume();
  });
  server.on('connection', () => connections.set(name, (connections.get(name) ?? 0) + 1));
  server.on('clientError', (_error, socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  ports[name] = (server.address() as AddressInfo).port;
}

process.on('message', (message: unknown) => {
  if (message === 'counts') {
    process.send?.({ counts: Object.fromEntries(counts), connections: Object.fromEntries(connections) });
    for (const name of names) {
      counts.set(name, 0);
      connections.set(name, 0);
    }
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ports });
