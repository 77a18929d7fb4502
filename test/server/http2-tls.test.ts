// The HTTP/2 listener over TLS (`http2.tls`, ALPN h2): a real gRPC client with the test CA calls through
// it, the upstream sees x-forwarded-proto https; HTTP/1.1 over TLS is served on the same port; a
// certificate that cannot be read or parsed stops the start with the file's name; a new pair renamed
// over the files serves new connections without a restart, and a pair that does not load leaves the
// one in use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, readFileSync, renameSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startAbproxy } from '../../src/server/lifecycle.js';
import { grpcClient, modelInfer, startGrpcUpstream } from '../helpers/grpc-upstream.js';
import { startProxy, writeConfig } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

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

test('HTTP/1.1 over TLS on the same port (ALPN http/1.1, or none) is proxied with https as the forwarded protocol; a client offering neither h2 nor http/1.1 is refused', async (t) => {
  const upstream = await startUpstream();
  const proxy = await startProxy({ http2: { listen: '127.0.0.1:0', tls }, routes: [route(upstream.url)] });
  t.after(async () => {
    await proxy.close();
    await upstream.close();
  });
  const port = proxy.proxy.http2Plane?.address.port ?? 0;
  const ca = readFileSync(tls.certFile);
  for (const ALPNProtocols of [['http/1.1'], undefined]) {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, ...(ALPNProtocols ? { ALPNProtocols } : {}) });
    await once(socket, 'secureConnect');
    assert.equal(socket.alpnProtocol, ALPNProtocols ? 'http/1.1' : false);
    socket.write('GET /v2/models/fraud/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    let text = '';
    for await (const chunk of socket) text += String(chunk);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/, String(ALPNProtocols));
    assert.match(text, /\r\nx-abproxy-variant: champion\r\n/i);
    assert.equal(upstream.received.at(-1)?.headers['x-forwarded-proto'], 'https');
  }
  const refused = tlsConnect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['spdy/3'] });
  const [error] = (await once(refused, 'error')) as [Error & { code?: string }];
  assert.match(error.code ?? error.message, /NO_APPLICATION_PROTOCOL/);
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

test('a new certificate and key renamed over the files serve new connections without a restart; a pair that does not load leaves the one in use', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-tls-rotate-'));
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  copyFileSync(tls.certFile, files.certFile);
  copyFileSync(tls.keyFile, files.keyFile);
  /** Written as a Secret update lands: a new file renamed into place. */
  const replace = (path: string, from: string) => {
    copyFileSync(from, `${path}.new`);
    renameSync(`${path}.new`, path);
  };
  const logged: string[] = [];
  const upstream = await startGrpcUpstream('champion');
  const configPath = writeConfig({ http2: { listen: '127.0.0.1:0', tls: files }, routes: [route(`http://${upstream.address}`)] }, dir);
  const proxy = await startAbproxy({ configPath, logger: pino({ level: 'info' }, { write: (line: string) => logged.push(line) }) });
  const port = proxy.http2Plane?.address.port ?? 0;
  const secondCert = join(TLS, 'cert-2.pem');
  const client = grpcClient(`localhost:${port}`, grpc.credentials.createSsl(readFileSync(secondCert)));
  t.after(async () => {
    client.close();
    await proxy.close(2_000);
    await upstream.close();
  });
  /** The certificate a new TLS connection is given. */
  const served = () =>
    new Promise<string>((resolvePeer, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false }, () => {
        resolvePeer(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
        socket.destroy();
      });
      socket.on('error', reject);
    });
  const first = new X509Certificate(readFileSync(tls.certFile)).fingerprint256;
  const second = new X509Certificate(readFileSync(secondCert)).fingerprint256;
  assert.equal(await served(), first);

  replace(files.keyFile, join(TLS, 'key-2.pem'));
  replace(files.certFile, secondCert);
  await waitFor(async () => (await served()) === second, 'new connections to get the new certificate', 10_000);
  const { response } = await modelInfer(client, { model_name: 'fraud', id: 'rotated' });
  assert.equal(response.model_name, 'champion', 'a client trusting only the new certificate calls through');
  assert.ok(logged.some((line) => line.includes('new certificate loaded') && line.includes(second)), 'the rotation is logged with its fingerprint');

  replace(files.keyFile, tls.keyFile); // the first key: it does not match the second certificate
  await waitFor(() => logged.some((line) => line.includes('do not load')), 'the mismatched pair to be refused', 10_000);
  assert.equal(await served(), second, 'the pair in use stays');
  assert.equal((await modelInfer(client, { model_name: 'fraud', id: 'still' })).response.model_name, 'champion');
});
