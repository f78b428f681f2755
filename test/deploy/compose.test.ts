import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { loadConfig } from '../../common/config.js';
import { searchAttributeNames } from '../../common/search-attributes.js';
import { loadStarterConfig } from '../../starter/config.js';
import { parseEnvFile, stackEnvFile } from '../helpers/stack-env.js';
import { parseDockerfile } from './dockerfile.js';
import { unknownVariables } from './service-env.js';
import { dockerCompose, installTimeoutMs, root } from './tools.js';

/** CLUSTER_NAME, which every process needs. */
const cluster = { CLUSTER_NAME: 'prod-a' };

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  command?: string[];
  environment?: Record<string, string | null>;
  ports?: { host_ip?: string; target: number; published?: string }[];
  volumes?: { type: string; source?: string; target: string; read_only?: boolean }[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
}

const composeFile = join(root, 'docker-compose.yml');
const seconds = (duration: string) => {
  const match = /^(\d+)s$/.exec(duration);
  assert.ok(match, `a duration in seconds: ${duration}`);
  return Number(match[1]);
};

describe('docker-compose.yml: the local stack, the service and a demo, checked by `docker compose config`', function () {
  this.timeout(installTimeoutMs);
  let services: Record<string, ComposeService>;
  const env = (name: string) => services[name]!.environment as Record<string, string>;

  before(async () => {
    const project = JSON.parse(await dockerCompose(['-f', composeFile, 'config', '--format', 'json'])) as {
      services: Record<string, ComposeService>;
    };
    services = project.services;
  });

  it('passes `docker compose config`, which rejects a file Compose would refuse', async () => {
    await dockerCompose(['-f', composeFile, 'config', '--quiet']);
    const dir = mkdtempSync(join(tmpdir(), 'tnth-compose-'));
    try {
      const broken = join(dir, 'docker-compose.yml');
      writeFileSync(broken, readFileSync(composeFile, 'utf8').replace('depends_on:', 'depend_on:'));
      await assert.rejects(dockerCompose(['-f', broken, 'config', '--quiet']), /depend_on/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the stack services (Temporal, AWS emulator, Kubernetes), the worker, the starter and the demo', () => {
    assert.deepEqual(Object.keys(services).sort(), ['aws', 'demo', 'kubernetes', 'starter', 'temporal', 'worker']);
  });

  it('starts the Temporal dev server with the Web UI and the search attributes as Keyword', () => {
    const command = services.temporal!.command!;
    assert.deepEqual(command.slice(0, 2), ['server', 'start-dev']);
    assert.equal(command[command.indexOf('--ip') + 1], '0.0.0.0', 'reachable from the other containers');
    const attributes = command.flatMap((arg, i) => (command[i - 1] === '--search-attribute' ? [arg] : []));
    assert.deepEqual(attributes.sort(), searchAttributeNames.map((name) => `${name}=Keyword`).sort());
    assert.ok(
      services.temporal!.ports!.some((p) => p.target === 8233),
      'the Web UI is published',
    );
  });

  it('gives worker, starter and demo the variables of .stack/env, pointing at the compose services', () => {
    // SERVICE_KUBECONFIG is the stack's second identity and TEMPORAL_UI_URL is for people: no process reads them.
    const stackVariables = Object.keys(parseEnvFile(readFileSync(stackEnvFile, 'utf8'))).filter(
      (name) => !['SERVICE_KUBECONFIG', 'TEMPORAL_UI_URL'].includes(name),
    );
    for (const name of ['worker', 'starter', 'demo']) {
      const vars = env(name);
      for (const variable of [...stackVariables, 'QUEUE_URL']) assert.ok(vars[variable], `${name} has ${variable}`);
      const [host, port] = vars.TEMPORAL_ADDRESS!.split(':');
      assert.equal(host, 'temporal');
      assert.ok(services.temporal!.ports!.some((p) => p.target === Number(port)));
      const aws = new URL(vars.AWS_ENDPOINT_URL!);
      assert.equal(aws.hostname, 'aws');
      assert.ok(services.aws!.ports!.some((p) => p.target === Number(aws.port)));
      assert.equal(new URL(vars.QUEUE_URL!).origin, aws.origin, 'the queue is on the emulator, as moto names it');
      const kubeconfig = services[name]!.volumes!.find((v) => v.target === vars.KUBECONFIG);
      assert.ok(kubeconfig?.type === 'bind' && existsSync(kubeconfig.source!), `${name} mounts its KUBECONFIG`);
      const server = new URL(
        (parse(readFileSync(kubeconfig.source!, 'utf8')) as { clusters: { cluster: { server: string } }[] })
          .clusters[0]!.cluster.server,
      );
      assert.equal(server.hostname, 'kubernetes');
      assert.ok(services.kubernetes!.ports!.some((p) => p.target === Number(server.port)));
    }
  });

  it('configures worker and starter with values the service accepts, and no variable it does not read', () => {
    assert.doesNotThrow(() => loadConfig(env('worker')));
    assert.doesNotThrow(() => loadStarterConfig(env('starter')));
    assert.deepEqual(unknownVariables(env('worker')), []);
    assert.deepEqual(unknownVariables(env('starter')), []);
    const demoReads = new Set(
      [
        ...readFileSync(join(root, 'dev/compose/demo.ts'), 'utf8').matchAll(/process\.env\.(\w+)|required\('(\w+)'\)/g),
      ].map((m) => m[1] ?? m[2]!),
    );
    assert.deepEqual(
      unknownVariables(env('demo')).filter((name) => !demoReads.has(name)),
      [],
      'the demo reads every variable it is given',
    );
  });

  it('starts each service once what it needs is healthy: the starter once the demo made the queue', () => {
    const needs = Object.fromEntries(
      Object.entries(services).map(([name, s]) => [name, Object.keys(s.depends_on ?? {}).sort()]),
    );
    assert.deepEqual(needs, {
      temporal: [],
      aws: [],
      kubernetes: [],
      worker: ['aws', 'kubernetes', 'temporal'],
      starter: ['aws', 'demo', 'temporal'],
      demo: ['aws', 'kubernetes', 'temporal'],
    });
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        assert.equal(condition, 'service_healthy', `${name} waits for ${dependency} to be healthy`);
        assert.ok(services[dependency]!.healthcheck?.test.length, `${dependency} has a healthcheck`);
      }
    }
    const demoHealthy = services.demo!.healthcheck!.test.join(' ');
    assert.ok(demoHealthy.includes(env('demo').DEMO_READY_FILE!), 'the demo is healthy once it wrote its ready file');
  });

  it('builds worker and starter from the Dockerfile runtime stage, the demo from its demo stage', () => {
    for (const [name, service] of Object.entries(services)) {
      if (!service.build) continue;
      const dockerfile = join(service.build.context, service.build.dockerfile ?? 'Dockerfile');
      assert.ok(existsSync(dockerfile), `${name}: ${dockerfile} exists`);
      const stages = parseDockerfile(dockerfile).stages.map((s) => s.name);
      if (service.build.target)
        assert.ok(stages.includes(service.build.target), `${name}: stage ${service.build.target}`);
    }
    assert.equal(services.worker!.build!.target, 'runtime');
    assert.equal(services.starter!.build!.target, 'runtime');
    assert.equal(services.demo!.build!.target, 'demo');
    assert.deepEqual(services.worker!.command, ['worker']);
    assert.deepEqual(services.starter!.command, ['starter']);
  });

  it('mounts only files that exist, read-only', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        assert.equal(volume.type, 'bind', `${name}: ${volume.target}`);
        assert.ok(existsSync(volume.source!), `${name}: ${volume.source} exists`);
        assert.equal(volume.read_only, true, `${name}: ${volume.target} is read-only`);
      }
    }
  });

  it('publishes ports on loopback only', () => {
    for (const [name, service] of Object.entries(services))
      for (const port of service.ports ?? []) assert.equal(port.host_ip, '127.0.0.1', `${name}: ${port.target}`);
  });

  it('lets worker and starter stop within their shutdown grace period before Docker kills them', () => {
    for (const name of ['worker', 'starter']) {
      const grace = Number(env(name).SHUTDOWN_GRACE_PERIOD ?? loadConfig(cluster).SHUTDOWN_GRACE_PERIOD);
      assert.ok(seconds(services[name]!.stop_grace_period ?? '10s') > grace, `${name} stop_grace_period`);
    }
  });
});

describe('dev/compose/kubeconfig.yaml: how the compose services reach the plain-HTTP Kubernetes API', () => {
  let server: Server;
  let url: string;

  before(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url?.startsWith('/api/v1/nodes') ? 200 : 404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'n' } }] }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('is accepted by @kubernetes/client-node, which refuses http:// unless told to skip TLS', async () => {
    const text = readFileSync(join(root, 'dev/compose/kubeconfig.yaml'), 'utf8');
    const config = new KubeConfig();
    config.loadFromString(text.replace('http://kubernetes:8080', url));
    const nodes = await config.makeApiClient(CoreV1Api).listNode();
    assert.deepEqual(
      nodes.items.map((n) => n.metadata?.name),
      ['n'],
    );
    const strict = new KubeConfig();
    strict.loadFromString(text.replace('http://kubernetes:8080', url).replace(/insecure-skip-tls-verify: true/, ''));
    await assert.rejects(strict.makeApiClient(CoreV1Api).listNode(), /HTTP protocol is not allowed/);
  });
});
