// Benchmarks measure the processes production runs: Node started as the service's image starts it.
import { spawn } from 'node:child_process';
import { imageRuntime } from '../test/deploy/dockerfile.js';

/** Set in a benchmark process that already runs as the image does. */
const asImage = 'TNTH_BENCH_AS_IMAGE';

/**
 * Runs this benchmark again in a Node started as the image starts it (BENCH_NODE_FLAGS, when set,
 * instead of the image's flags), and exits with its code; returns in the process that already does.
 */
export async function relaunchAsImage(): Promise<void> {
  if (process.env[asImage]) return;
  const { nodeFlags, env } = imageRuntime();
  const flags = process.env.BENCH_NODE_FLAGS === undefined ? nodeFlags : process.env.BENCH_NODE_FLAGS.split(' ');
  const child = spawn(process.execPath, [...flags.filter(Boolean), ...process.execArgv, ...process.argv.slice(1)], {
    env: { ...env, ...process.env, [asImage]: '1' },
    stdio: 'inherit',
  });
  // A benchmark stopped with Ctrl-C or a kill stops its run, not only this process.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
    child.once('error', fail);
    child.once('exit', (c, s) => done([c, s]));
  });
  if (signal) process.kill(process.pid, signal);
  process.exit(code ?? 1);
}
