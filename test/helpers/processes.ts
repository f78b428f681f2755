import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

export interface TnthProcess {
  child: ChildProcess;
  /** Everything it wrote, stdout and stderr interleaved. */
  output(): string;
  /** JSON log lines it wrote (pino), parsed. */
  logs(): Record<string, unknown>[];
  /** SIGTERM, then the exit code (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * The workflow bundle dev/test.sh builds once for the whole suite (TNTH_TEST_WORKFLOW_BUNDLE), as the
 * Docker image builds one: without it every worker process and test process would run webpack at its
 * start, a few CPU-seconds each, most of them in the suite's first minutes, when its slowest tests
 * start their terminations. Unset when a test runs alone.
 */
export function suiteWorkflowBundle(): string | undefined {
  return process.env.TNTH_TEST_WORKFLOW_BUNDLE || undefined;
}

/**
 * Runs `tnth <subcommand>` from source as a child process, as a user would run the service. A worker
 * gets the suite's workflow bundle unless `env` names WORKFLOW_BUNDLE_PATH itself (empty: it bundles
 * from source at start, as `npm run dev` does).
 */
export function startTnth(subcommand: string, env: Record<string, string>, args: string[] = []): TnthProcess {
  const suiteBundle = suiteWorkflowBundle();
  const bundle =
    subcommand === 'worker' && suiteBundle && !('WORKFLOW_BUNDLE_PATH' in env)
      ? { WORKFLOW_BUNDLE_PATH: suiteBundle }
      : {};
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/tnth.ts', subcommand, ...args], {
    cwd: root,
    env: { ...process.env, ...bundle, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    child,
    output: () => output,
    logs: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    exited,
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
