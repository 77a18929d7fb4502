// The HTTP/2 listener over TLS (`http2.tls`, ALPN h2): a real gRPC client with the test CA calls through
// it, the upstream sees x-forwarded-proto https; a certificate that cannot be read or parsed stops the
// start with the file's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startAbproxy } from '../../src/server/lifecycle.js';
import { grpcClient, modelInfer, startGrpcUpstream } from '../helpers/grpc-upstream.js';
import { startProxy, writeConfig } from '../helpers/proxy.js';

const TLS = resolve('test/fixtures/tls');
const tls = { certFile: join(TLS, 'cert.pem'), keyFile: join(TLS, 'key.pem') };
const route = (target: string) => ({ name: 'fraud', match: { pathPrefix: '/v2/models/fraud' }, variants: [{ name: 'champion', target, weight: 1 }] });

test('gRPC calls over TLS reach the variant, which sees https as the forwarded protocol', async (t) => {
  const upstream = await startGrpcUpstream('champion');
  const proxy = await startProxy({ http2: { listen: '127.0.0.1:0', tls }, routes: [route(`http://${upstream.address}`)] });
  const client = grpcClient(`localhost:${proxy.proxy.http2Plane?.address.port}`, grpc.credentials.createSsl(readFileSync(tls.certFile)));
  t.after(async () => {
    client.close();
    await proxy.close();
    await upstream.close();
  });
  const { response, headers } = await modelInfer(client, { model_name: 'fraud', id: 'tls' });
  assert.equal(response.model_name, 'champion');
  assert.deepEqual(headers.get('x-abproxy-variant'), ['champion']);
  assert.deepEqual(upstream.calls.at(-1)?.metadata.get('x-forwarded-proto'), ['https']);
});

test('a certificate that cannot be read or parsed stops the start, naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-tls-'));
  const garbage = join(dir, 'cert.pem');
  writeFileSync(garbage, 'not a certificate');
  for (const [bad, expected] of [
    [{ ...tls, certFile: join(dir, 'missing.pem') }, /http2\.tls\.certFile: cannot read .*missing\.pem/],
    [{ ...tls, certFile: garbage }, /http2\.tls: .*cert\.pem and .*key\.pem are not a usable PEM certificate and key/],
  ] as const) {
    const configPath = writeConfig({ http2: { listen: '127.0.0.1:0', tls: bad }, routes: [route('http://127.0.0.1:9')] }, mkdtempSync(join(dir, 'c-')));
    await assert.rejects(startAbproxy({ configPath, logger: pino({ level: 'silent' }), watch: false }), expected);
  }
});
