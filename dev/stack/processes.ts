import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StackContext, StackProcess } from './component.js';

interface PidRecord {
  pid: number;
  command: string;
  startedAt: string;
}

const pidFile = (ctx: StackContext, name: string) => join(ctx.stackDir, 'pids', `${name}.json`);
export const logFile = (ctx: StackContext, name: string) => join(ctx.stackDir, 'logs', `${name}.log`);

export function readPid(ctx: StackContext, name: string): PidRecord | undefined {
  const file = pidFile(ctx, name);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
}

/** True when the recorded pid still runs the recorded command (not a recycled pid). */
export function isAlive(record: PidRecord): boolean {
  try {
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
    return cmdline.includes(basename(record.command));
  } catch {
    return false;
  }
}

export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitReady(proc: StackProcess, record: PidRecord, ctx: StackContext): Promise<void> {
  const deadline = Date.now() + (proc.readyTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (!isAlive(record)) {
      throw new Error(`${proc.name} exited during start; see ${logFile(ctx, proc.name)}`);
    }
    if (await proc.isReady().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(
    `${proc.name} was not ready within ${proc.readyTimeoutMs ?? 60_000} ms; see ${logFile(ctx, proc.name)}`,
  );
}

/** Starts the process unless a ready instance from an earlier `up` runs; returns whether it started one. */
export async function ensureRunning(proc: StackProcess, ctx: StackContext): Promise<boolean> {
  const existing = readPid(ctx, proc.name);
  if (existing && isAlive(existing)) {
    await waitReady(proc, existing, ctx);
    return false;
  }
  for (const port of proc.ports) {
    if (await portInUse(port)) {
      throw new Error(`port ${port} for ${proc.name} is taken by a process this stack did not start`);
    }
  }
  mkdirSync(join(ctx.stackDir, 'pids'), { recursive: true });
  mkdirSync(join(ctx.stackDir, 'logs'), { recursive: true });
  const out = openSync(logFile(ctx, proc.name), 'a');
  const child = spawn(proc.command, proc.args, {
    cwd: ctx.root,
    env: { ...process.env, ...proc.env },
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${proc.name} (${proc.command})`);
  child.unref();
  const record: PidRecord = { pid: child.pid, command: proc.command, startedAt: new Date().toISOString() };
  writeFileSync(pidFile(ctx, proc.name), JSON.stringify(record));
  await waitReady(proc, record, ctx);
  return true;
}

/** Stops the process group this stack started for `name`; SIGKILL after the grace period. */
export async function stop(name: string, ctx: StackContext, graceMs = 10_000): Promise<boolean> {
  const record = readPid(ctx, name);
  if (!record) return false;
  let stopped = false;
  if (isAlive(record)) {
    signalGroup(record.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(record) && Date.now() < deadline) await sleep(100);
    if (isAlive(record)) signalGroup(record.pid, 'SIGKILL');
    while (isAlive(record)) await sleep(50);
    stopped = true;
  }
  rmSync(pidFile(ctx, name), { force: true });
  return stopped;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}
