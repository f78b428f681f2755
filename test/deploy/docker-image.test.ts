import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { parse } from 'yaml';
import { workflowBundleVariable } from '../../worker/prebuilt-bundle.js';
import { execForm, imageRuntime, parseCopy, parseDockerfile, type Stage } from './dockerfile.js';
import { root } from './tools.js';

const { stages } = parseDockerfile(join(root, 'Dockerfile'));
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  assert.ok(found, `the Dockerfile has a stage named ${name}`);
  return found;
};
const runtime = stages.at(-1)!;
const instructions = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).map((i) => i.args);
const last = (s: Stage, op: string) => instructions(s, op).at(-1);
const runs = (s: Stage) => instructions(s, 'RUN').join('\n');
const copies = (s: Stage) => instructions(s, 'COPY').map(parseCopy);
/** `ENV A=1 B=2` lines of a stage, as one map. */
const envOf = (s: Stage): Record<string, string> =>
  Object.fromEntries(
    instructions(s, 'ENV').flatMap((args) => [...args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!] as const)),
  );
/** A stage's WORKDIR, inherited from the stage it is built on. */
const workdir = (s: Stage): string => {
  const parent = stages.find((p) => p.name === s.from);
  return last(s, 'WORKDIR') ?? (parent ? workdir(parent) : '/');
};

/** Whether .dockerignore keeps `path` (or a folder above it) out of the build context. */
function ignored(path: string): boolean {
  const patterns = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  assert.ok(
    patterns.every((p) => !p.startsWith('!')),
    'this reader does not handle exceptions (!); the checks below would be wrong',
  );
  const regexes = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .replace(/[.+^$()|[\]\\]/g, '\\$&')
          .replace(/\*\*\//g, '(.*/)?')
          .replace(/\*/g, '[^/]*')}$`,
      ),
  );
  const parts = path.replace(/\/$/, '').split('/');
  return parts.some((_, i) => regexes.some((r) => r.test(parts.slice(0, i + 1).join('/'))));
}

/**
 * The packages the shipped code (tsconfig.build.json's folders) loads at run time: every import, export-from
 * and dynamic import() that survives compilation, by package name, with the files that load it.
 */
function runtimePackages(): Map<string, string[]> {
  const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  const packages = new Map<string, string[]>();
  const add = (specifier: string, file: string) => {
    if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) return;
    const name = specifier
      .split('/')
      .slice(0, specifier.startsWith('@') ? 2 : 1)
      .join('/');
    packages.set(name, [...(packages.get(name) ?? []), relative(root, file)]);
  };
  for (const folder of tsconfig.include) {
    for (const entry of readdirSync(join(root, folder), { recursive: true }) as string[]) {
      if (!entry.endsWith('.ts')) continue;
      const file = join(root, folder, entry);
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
      const visit = (node: ts.Node): void => {
        if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
          const clause = node.importClause;
          const typeOnly =
            clause?.isTypeOnly ||
            (clause !== undefined &&
              !clause.name &&
              clause.namedBindings !== undefined &&
              ts.isNamedImports(clause.namedBindings) &&
              clause.namedBindings.elements.length > 0 &&
              clause.namedBindings.elements.every((e) => e.isTypeOnly));
          if (!typeOnly) add(node.moduleSpecifier.text, file);
        } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
          if (!node.isTypeOnly) add(node.moduleSpecifier.text, file);
        } else if (
          ts.isCallExpression(node) &&
          node.expression.kind === ts.SyntaxKind.ImportKeyword &&
          node.arguments[0] &&
          ts.isStringLiteral(node.arguments[0])
        ) {
          add(node.arguments[0].text, file);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }
  return packages;
}

describe('Dockerfile: a multi-stage Node 24 image running the compiled service as a non-root user', () => {
  it('builds every stage on node:24-slim (or on an earlier stage)', () => {
    const names = new Set<string>();
    for (const s of stages) {
      assert.ok(s.from === 'node:24-slim' || names.has(s.from), `stage ${s.name} is FROM ${s.from}`);
      if (s.name) names.add(s.name);
    }
    assert.ok(stages.length >= 3, 'dependencies, build and runtime are separate stages');
  });

  it('ends with the runtime stage, whose entrypoint is the compiled `tnth` command and default command `worker`', () => {
    assert.equal(runtime.name, 'runtime', 'the last stage is what a plain `docker build` makes');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { tnth: string } };
    assert.deepEqual(execForm(last(runtime, 'ENTRYPOINT') ?? ''), ['node', pkg.bin.tnth]);
    assert.deepEqual(execForm(last(runtime, 'CMD') ?? ''), ['worker']);
    assert.deepEqual(pkg.bin.tnth, 'dist/bin/tnth.js');
  });

  it('tells the benchmarks how it starts Node: no node flags, NODE_ENV=production', () => {
    // bench/image-runtime.ts runs the measured processes so; a flag added here is measured there.
    assert.deepEqual(imageRuntime(), { nodeFlags: [], env: { NODE_ENV: 'production' } });
  });

  it('runs as a non-root user, by number, the one the Helm chart declares', () => {
    const user = last(runtime, 'USER');
    assert.ok(user, 'the runtime stage sets USER');
    const [uid, gid] = user.split(':');
    assert.match(uid!, /^\d+$/, 'numeric, so Kubernetes runAsNonRoot can verify it');
    assert.notEqual(Number(uid), 0);
    const values = parse(readFileSync(join(root, 'deploy/helm/tnth/values.yaml'), 'utf8')) as {
      podSecurityContext: { runAsUser: number; runAsGroup: number };
    };
    assert.equal(values.podSecurityContext.runAsUser, Number(uid));
    if (gid !== undefined) assert.equal(values.podSecurityContext.runAsGroup, Number(gid));
  });

  it('ships production dependencies only: node_modules from `npm ci --omit=dev`, then dist/ and package.json', () => {
    const copied = copies(runtime);
    assert.ok(
      copied.every((c) => c.from !== undefined),
      'the runtime stage copies nothing from the build context: no sources, no host node_modules',
    );
    const modules = copied.filter((c) => c.sources.some((s) => s.includes('node_modules')));
    assert.equal(modules.length, 1, 'node_modules is copied once');
    const prod = stage(modules[0]!.from!);
    assert.match(runs(prod), /npm ci\b.*--omit=dev/, `stage ${prod.name} installs without dev dependencies`);
    assert.doesNotMatch(runs(prod), /npm (install|i)\b/);
    const fromBuild = copied.filter((c) => c.from === 'build').flatMap((c) => c.sources);
    assert.deepEqual(fromBuild.sort(), ['/app/dist', '/app/package.json']);
    assert.equal(instructions(runtime, 'RUN').length, 0, 'nothing is installed or built in the runtime stage');
  });

  it('has in its production dependencies every package the shipped code loads', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const loaded = runtimePackages();
    assert.ok(loaded.has('@temporalio/worker'), 'the scan sees the imports');
    const missing = [...loaded]
      .filter(([name]) => !(name in pkg.dependencies))
      .map(([n, files]) => `${n} (${files[0]})`);
    assert.deepEqual(missing, [], 'loaded at run time but not installed by `npm ci --omit=dev`');
  });

  it('compiles with tsc -p tsconfig.build.json, not through npm run build, from every folder that build compiles', () => {
    const build = stage('build');
    assert.match(runs(build), /tsc -p tsconfig\.build\.json/);
    assert.doesNotMatch(runs(build), /npm run/, 'npm run goes through dev/run.sh, which installs the dev tools');
    const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    const sources = stages
      .slice(0, stages.indexOf(build) + 1)
      .flatMap((s) => copies(s).filter((c) => c.from === undefined))
      .flatMap((c) => c.sources);
    for (const folder of tsconfig.include) assert.ok(sources.includes(folder), `the build stage copies ${folder}/`);
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'])
      assert.ok(sources.includes(file), `the build stages copy ${file}`);
  });

  it('prebuilds the workflow bundle and points the worker at it with WORKFLOW_BUNDLE_PATH', () => {
    const bundled = /node dist\/bin\/bundle-workflows\.js (\S+)/.exec(runs(stage('build')));
    assert.ok(bundled, 'the build stage runs bin/bundle-workflows');
    assert.equal(workflowBundleVariable, 'WORKFLOW_BUNDLE_PATH');
    assert.equal(envOf(runtime)[workflowBundleVariable], `${workdir(stage('build'))}/${bundled[1]}`);
    assert.ok(bundled[1]!.startsWith('dist/'), 'the bundle is written into dist/, which the runtime stage copies');
    assert.equal(workdir(runtime), workdir(stage('build')));
  });

  it('keeps the compose demo in its own stage, out of the runtime image', () => {
    const demo = stage('demo');
    assert.ok(stages.indexOf(demo) < stages.length - 1);
    assert.ok(copies(demo).some((c) => c.sources.includes('dev/compose/demo.ts')));
    assert.ok(!copies(runtime).some((c) => c.from === 'demo'));
  });

  it('copies only files that exist and that .dockerignore lets through, and ignores the host node_modules', () => {
    assert.ok(ignored('node_modules/typescript/package.json'));
    assert.ok(ignored('.stack/env') && ignored('dist/bin/tnth.js'));
    for (const file of ['Dockerfile', 'dev/compose/aws-emulator.Dockerfile']) {
      for (const s of parseDockerfile(join(root, file)).stages) {
        for (const copy of copies(s).filter((c) => c.from === undefined)) {
          for (const source of copy.sources) {
            assert.ok(existsSync(join(root, source)), `${file}: COPY ${source} exists`);
            assert.ok(!ignored(source), `${file}: COPY ${source} is not excluded by .dockerignore`);
          }
        }
      }
    }
  });
});

describe('dev/compose/aws-emulator.Dockerfile: the stack AWS emulator in a container', () => {
  const emulator = parseDockerfile(join(root, 'dev/compose/aws-emulator.Dockerfile')).stages.at(-1)!;

  it('installs the stack pinned requirements and serves on every interface of the container', () => {
    assert.match(runs(emulator), /pip install .*-r requirements\.txt/);
    assert.ok(copies(emulator).some((c) => c.sources.includes('dev/requirements.txt')));
    const entrypoint = execForm(last(emulator, 'ENTRYPOINT') ?? '') ?? [];
    assert.deepEqual(entrypoint.slice(entrypoint.indexOf('--host'), entrypoint.indexOf('--host') + 2), [
      '--host',
      '0.0.0.0',
    ]);
    assert.notEqual(last(emulator, 'USER') ?? 'root', 'root');
  });
});
