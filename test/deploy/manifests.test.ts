// The Dockerfile and the Kubernetes manifests against the code: they parse, and the image, ports, probe paths,
// config path and CLI flags they use are the ones abproxy actually has (the probes are requested for real).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { parseAddress } from '../../src/config/address.js';
import { parseTarget } from '../../src/config/target.js';
import { startProxy } from '../helpers/proxy.js';
import { startAbproxy } from '../../src/server/lifecycle.js';
import { startUpstream } from '../helpers/upstream.js';

const K8S = 'deploy/kubernetes';
type Labels = Record<string, string>;
interface Probe { httpGet: { path: string; port: string } }
interface Container {
  image: string;
  args: string[];
  env: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: Probe;
  livenessProbe: Probe;
  startupProbe: Probe;
  lifecycle: { preStop: { exec: { command: string[] } } };
  resources: { requests: { cpu?: string; memory?: string } };
  securityContext: { readOnlyRootFilesystem?: boolean };
  volumeMounts: { name: string; mountPath: string; subPath?: string }[];
}
interface Deployment {
  spec: {
    selector: { matchLabels: Labels };
    template: {
      metadata: { labels: Labels; annotations: Labels };
      spec: { terminationGracePeriodSeconds: number; containers: Container[]; volumes: { name: string; configMap?: { name: string } }[] };
    };
  };
}
interface Service { spec: { selector: Labels; ports: { targetPort: string }[] } }
interface Pdb { spec: { selector: { matchLabels: Labels } } }
interface Monitor { spec: { endpoints: { port: string; path: string }[] } }
interface Kustomization { resources: string[]; configMapGenerator: { name: string; files: string[] }[]; generatorOptions: { disableNameSuffixHash: boolean } }
interface Doc { kind: string }

function manifests(): Doc[] {
  return readdirSync(K8S)
    .filter((file) => file.endsWith('.yaml') && file !== 'abproxy.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((doc) => {
        assert.deepEqual(doc.errors, [], `${file} parses as YAML`);
        return doc.toJS() as Doc;
      }),
    );
}

const docs = manifests();
function byKind<T>(kind: string): T {
  const found = docs.find((doc) => doc.kind === kind);
  assert.ok(found, `a ${kind} manifest exists`);
  return found as T;
}
const deployment = byKind<Deployment>('Deployment');
const pod = deployment.spec.template;
const container = pod.spec.containers[0]!;
const config = parseConfigText(readFileSync(join(K8S, 'abproxy.yaml'), 'utf8'), 'abproxy.yaml', { ABPROXY_ADMIN_TOKEN: 'test-token' });
const listenPort = parseAddress(config.listen).address!.port;
const adminPort = parseAddress(config.admin).address!.port;
const grpcPort = parseAddress(config.http2!.listen).address!.port;
const containerPort = (name: string): number => container.ports.find((p) => p.name === name)?.containerPort ?? 0;

/** Dockerfile instructions with line continuations joined. */
const dockerfile = readFileSync('Dockerfile', 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((line) => line.trim() && !line.trim().startsWith('#'))
  .map((line) => {
    const [instruction = '', ...rest] = line.trim().split(/\s+/);
    return { instruction: instruction.toUpperCase(), args: rest.join(' ') };
  });
const instructions = (name: string) => dockerfile.filter((d) => d.instruction === name).map((d) => d.args);
const execForm = (name: string): string[] => JSON.parse(instructions(name).at(-1) ?? '[]') as string[];

test('the container config is valid and listens where the manifests and the image say', () => {
  assert.equal(containerPort('http'), listenPort);
  assert.equal(containerPort('admin'), adminPort);
  assert.equal(containerPort('grpc'), grpcPort);
  assert.deepEqual(instructions('EXPOSE').join(' ').split(/\s+/).map(Number).sort(), [listenPort, grpcPort, adminPort].sort());
  assert.equal(pod.metadata.annotations['prometheus.io/port'], String(adminPort));
  assert.equal(parseAddress(config.listen).address!.host, '0.0.0.0', 'reachable from the Service');
  assert.equal(container.env.find((e) => e.name === 'ABPROXY_ADMIN_TOKEN')?.valueFrom?.secretKeyRef?.key, 'token', 'the admin token comes from a Secret');
});

test('the image name matches the package version and the README build command', () => {
  const { name, version } = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string };
  assert.equal(container.image, `${name}:${version}`);
  assert.ok(readFileSync('README.md', 'utf8').includes(`docker build -t ${name}:${version} .`), 'README builds the same tag');
});

test('probe and scrape paths are answered by the real admin server', async (t) => {
  const upstream = await startUpstream();
  const proxy = await startProxy({ routes: [{ name: 'r', match: { pathPrefix: '/' }, variants: [{ name: 'a', target: upstream.url, weight: 1 }] }] });
  t.after(async () => {
    await proxy.close();
    await upstream.close();
  });
  for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
    assert.equal(probe.httpGet.port, 'admin');
    const res = await fetch(`${proxy.adminUrl}${probe.httpGet.path}`);
    assert.equal(res.status, 200, `${probe.httpGet.path} answers 200`);
    await res.arrayBuffer();
  }
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  const scrape = await fetch(`${proxy.adminUrl}${pod.metadata.annotations['prometheus.io/path']}`);
  assert.match(await scrape.text(), /^# HELP abproxy_requests_total/m);
  const healthcheck = instructions('HEALTHCHECK').join(' ');
  assert.ok(healthcheck.includes(`http://127.0.0.1:${adminPort}/readyz`), 'the image HEALTHCHECK asks /readyz on the admin port');
});

test('the config path, ConfigMap mount and CLI flags agree with the code', () => {
  const args = container.args;
  const image = [...execForm('ENTRYPOINT'), ...execForm('CMD')];
  const configPath = args[args.indexOf('-c') + 1]!;
  assert.equal(image[image.indexOf('-c') + 1], configPath, 'the image default and the Deployment read the same path');
  const mount = container.volumeMounts.find((m) => m.mountPath === dirname(configPath));
  assert.ok(mount, 'the config directory is mounted');
  assert.equal(mount.subPath, undefined, 'a subPath mount would never see the ..data swap');
  const volume = pod.spec.volumes.find((v) => v.name === mount.name);
  const kustomization = byKind<Kustomization>('Kustomization');
  const generator = kustomization.configMapGenerator[0]!;
  assert.equal(volume?.configMap?.name, generator.name);
  assert.deepEqual(generator.files, [basename(configPath)]);
  assert.equal(kustomization.generatorOptions.disableNameSuffixHash, true, 'a stable name keeps hot reload instead of a rollout');
  for (const resource of kustomization.resources) assert.ok(existsSync(join(K8S, resource)), resource);
  assert.ok(instructions('COPY').includes(`deploy/kubernetes/abproxy.yaml ${configPath}`), 'the image ships the same file as its default');
  const help = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--help'], { encoding: 'utf8' });
  for (const flag of [...args, ...image].filter((arg) => arg.startsWith('-'))) assert.ok(help.includes(flag), `serve accepts ${flag}`);
  assert.equal(args[0], 'serve');
  assert.ok(image.includes('serve'));
  const drainMs = Number(args[args.indexOf('--drain-ms') + 1]);
  const preStopSeconds = Number(container.lifecycle.preStop.exec.command.at(-1));
  assert.ok(pod.spec.terminationGracePeriodSeconds > preStopSeconds + drainMs / 1000, 'the drain fits in the grace period');
});

test('models in the container config are shipped in the image', () => {
  assert.ok(instructions('COPY').includes('models ./models'));
  assert.equal(instructions('WORKDIR').at(-1), '/app');
  for (const [name, model] of Object.entries(config.models)) {
    assert.ok(model.path.startsWith('/app/models/'), `${name} is read from the image`);
    assert.ok(existsSync(model.path.replace('/app/', '')), `${model.path} exists in the repository`);
  }
  for (const route of config.routes) {
    for (const variant of route.variants) assert.equal(parseTarget(variant.target).target?.kind, 'model', 'self-contained: no upstream to deploy');
  }
});

test('the container config serves its demo models (image paths mapped to the repository)', async (t) => {
  const text = readFileSync(join(K8S, 'abproxy.yaml'), 'utf8')
    .replaceAll('/app/models/', `${resolve('models')}/`)
    .replace('/app/data/', `${mkdtempSync(join(tmpdir(), 'abproxy-data-'))}/`)
    .replace(/^listen: .*$/m, 'listen: 127.0.0.1:0')
    .replace(/^http2: .*$/m, 'http2: { listen: 127.0.0.1:0 }')
    .replace(/^admin: .*$/m, 'admin: 127.0.0.1:0');
  const configPath = join(mkdtempSync(join(tmpdir(), 'abproxy-container-')), 'abproxy.yaml');
  writeFileSync(configPath, text);
  const proxy = await startAbproxy({ configPath, env: { ABPROXY_ADMIN_TOKEN: 'test-token' }, logger: pino({ level: 'silent' }) });
  t.after(() => proxy.close(2_000));
  const ready = await fetch(`http://127.0.0.1:${proxy.admin.address.port}/readyz`);
  assert.equal(ready.status, 200);
  const route = config.routes[0]!;
  const res = await fetch(`http://127.0.0.1:${proxy.dataPlane.address.port}${route.match.pathPrefix}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-session-id': 'user-42' },
    body: JSON.stringify({ inputs: [{ name: 'transaction', shape: [1, 29], datatype: 'FP32', data: Array.from({ length: 29 }, (_, i) => (i % 7) / 10) }] }),
  });
  const body = (await res.json()) as { outputs?: { data: number[] }[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.ok(route.variants.some((v) => v.name === res.headers.get('x-abproxy-variant')));
  const score = body.outputs?.[0]?.data[0];
  assert.ok(typeof score === 'number' && score >= 0 && score <= 1, `a probability: ${String(score)}`);
});

test('the image: official Node LTS slim, production dependencies only, non-root, SIGTERM', () => {
  for (const from of instructions('ARG').filter((a) => a.startsWith('NODE_IMAGE='))) assert.match(from, /^NODE_IMAGE=node:(20|22|24)-[a-z]+-slim$/);
  assert.ok(instructions('RUN').some((r) => r.includes('npm ci --omit=dev')));
  assert.match(readFileSync('.npmrc', 'utf8'), /^onnxruntime-node-install=skip$/m);
  assert.ok(instructions('COPY').some((c) => c.includes('.npmrc')), 'npm ci sees .npmrc');
  const user = instructions('USER').at(-1);
  assert.ok(user && user !== 'root' && user !== '0', 'runs as a non-root user');
  assert.deepEqual(instructions('STOPSIGNAL'), ['SIGTERM']);
  for (const copy of instructions('COPY').filter((c) => !c.startsWith('--from'))) {
    for (const source of copy.split(/\s+/).slice(0, -1)) assert.ok(existsSync(source), `COPY source ${source} exists`);
  }
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.ok(container.volumeMounts.some((m) => config.shadowLog.path.startsWith(`${m.mountPath}/`)), 'the shadow log is on a writable volume');
});

test('Service, PodDisruptionBudget and ServiceMonitor select the Deployment and its named ports', () => {
  const labels = pod.metadata.labels;
  const selects = (selector: Labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  const service = byKind<Service>('Service');
  assert.ok(selects(service.spec.selector));
  for (const port of service.spec.ports) assert.ok(containerPort(port.targetPort), `Service targets named port ${port.targetPort}`);
  assert.ok(selects(byKind<Pdb>('PodDisruptionBudget').spec.selector.matchLabels));
  assert.deepEqual(deployment.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'abproxy' });
  const endpoint = byKind<Monitor>('ServiceMonitor').spec.endpoints[0];
  assert.equal(endpoint?.port, 'admin');
  assert.equal(endpoint.path, pod.metadata.annotations['prometheus.io/path']);
  assert.ok(container.resources.requests.cpu && container.resources.requests.memory, 'resource requests are set');
});
