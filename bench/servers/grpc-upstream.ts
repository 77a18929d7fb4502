// Fast gRPC upstreams for bench/grpc.ts, in their own process: `grpc-upstream.ts NAME=PORT ...` listens
// for h2c on each port and answers every call with one ModelInferResponse (the fraud score, model_name
// NAME) and grpc-status 0, the way a model server answers ModelInfer, with nothing else to do.
import { once } from 'node:events';
import { constants, createServer } from 'node:http2';
import { frameMessage } from '../../src/grpc/framing.js';
import { oipType } from '../../src/grpc/oip-schema.js';

const RESPONSE = oipType('ModelInferResponse');

for (const spec of process.argv.slice(2)) {
  const [name = '', port = ''] = spec.split('=');
  const score = Buffer.alloc(4);
  score.writeFloatLE(0.0015);
  const answer = frameMessage(RESPONSE.encode(RESPONSE.fromObject({ model_name: name, outputs: [{ name: 'fraud_probability', datatype: 'FP32', shape: [1, 1] }], raw_output_contents: [score] })).finish());
  const server = createServer();
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.resume();
    stream.once('end', () => {
      stream.respond({ [constants.HTTP2_HEADER_STATUS]: 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(answer);
    });
  });
  server.on('sessionError', () => undefined);
  server.listen(Number(port), '127.0.0.1');
  await once(server, 'listening');
}
process.on('SIGTERM', () => process.exit(0));
