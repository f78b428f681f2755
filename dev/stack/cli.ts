// `npm run stack -- up | down | status`: the local stack that development, tests and the
// `npm run dev` service run against. Every server listens on loopback; state lives in `.stack/`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StackContext } from './component.js';
import { components } from './components.js';
import { ensureRunning, isAlive, logFile, readPid, stop } from './processes.js';

const root = resolve(import.meta.dirname, '../..');
const ctx: StackContext = {
  root,
  stackDir: join(root, '.stack'),
  cacheDir: process.env.TNTH_CACHE ?? join(process.env.HOME ?? '/tmp', '.cache/tnth'),
  log: (message) => console.error(message),
};

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]*$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

async function up(): Promise<void> {
  mkdirSync(ctx.stackDir, { recursive: true });
  const env: Record<string, string> = {};
  for (const component of components) {
    await component.prepare?.(ctx);
    for (const proc of component.processes(ctx)) {
      const started = await ensureRunning(proc, ctx);
      const where = Object.entries(proc.endpoints)
        .map(([kind, endpoint]) => `${kind} ${endpoint}`)
        .join(', ');
      console.log(`${proc.name.padEnd(16)} ${started ? 'started' : 'running'}  ${where}`);
    }
    await component.afterReady?.(ctx);
    Object.assign(env, component.env(ctx));
  }
  const lines = Object.entries(env).map(([key, value]) => `${key}=${shellQuote(value)}`);
  writeFileSync(join(ctx.stackDir, 'env'), `${lines.join('\n')}\n`);
  console.log(`environment: ${join(ctx.stackDir, 'env')} (source it: set -a; . .stack/env; set +a)`);
}

async function down(): Promise<void> {
  // Reverse start order: dependants (kwok, the apiserver) stop before what they depend on.
  for (const component of [...components].reverse()) {
    for (const proc of [...component.processes(ctx)].reverse()) {
      const stopped = await stop(proc.name, ctx);
      console.log(`${proc.name.padEnd(16)} ${stopped ? 'stopped' : 'not running'}`);
    }
  }
}

function status(): boolean {
  let allRunning = true;
  for (const component of components) {
    for (const proc of component.processes(ctx)) {
      const record = readPid(ctx, proc.name);
      const running = record !== undefined && isAlive(record);
      allRunning &&= running;
      const where = Object.entries(proc.endpoints)
        .map(([kind, endpoint]) => `${kind} ${endpoint}`)
        .join(', ');
      console.log(
        `${proc.name.padEnd(16)} ${running ? `running (pid ${record?.pid})` : 'stopped'}  ${where}  log ${logFile(ctx, proc.name)}`,
      );
    }
  }
  return allRunning;
}

const command = process.argv[2];
try {
  switch (command) {
    case 'up':
      await up();
      break;
    case 'down':
      await down();
      break;
    case 'status':
      process.exitCode = status() ? 0 : 3;
      break;
    default:
      console.error(`usage: npm run stack -- up | down | status (got ${command ?? 'nothing'})`);
      process.exitCode = 2;
  }
} catch (error) {
  console.error(`stack ${command}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
