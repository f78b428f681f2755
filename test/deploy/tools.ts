// The tools that check what deploy/ and docker-compose.yml hand to users, on a machine with no Docker
// engine and no cluster: Docker Compose and Helm, built once into the tools cache by
// dev/compose/install-tools.sh (minutes the first time, a stamp check after).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** A first build compiles Compose and Helm from source on two cores. */
export const installTimeoutMs = 20 * 60_000;

let tools: Promise<{ compose: string; helm: string }> | undefined;

export function deployTools(): Promise<{ compose: string; helm: string }> {
  tools ??= run('bash', ['dev/compose/install-tools.sh'], { cwd: root, maxBuffer: 16 << 20 }).then(({ stdout }) => {
    const paths = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((line) => line.split('=', 2) as [string, string]),
    );
    if (!paths['docker-compose'] || !paths.helm) throw new Error(`install-tools.sh printed no paths:\n${stdout}`);
    return { compose: paths['docker-compose'], helm: paths.helm };
  });
  return tools;
}

/** Runs a tool; resolves with its stdout, or rejects with its stderr in the message. */
export async function runTool(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd: options.cwd ?? root, env: options.env, maxBuffer: 64 << 20 });
    return stdout;
  } catch (error) {
    const failure = error as Error & { stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${failure.stderr || failure.message}`, { cause: error });
  }
}

const onPath = (name: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, name)));

/**
 * `docker compose ARGS` through the docker client with the built Compose as its plugin when the client
 * is installed, else the same binary standalone (`docker-compose ARGS`, the same code).
 */
export async function dockerCompose(args: string[]): Promise<string> {
  const { compose } = await deployTools();
  if (!onPath('docker')) return runTool(compose, args);
  const dockerConfig = mkdtempSync(join(tmpdir(), 'tnth-docker-config-'));
  try {
    mkdirSync(join(dockerConfig, 'cli-plugins'));
    symlinkSync(compose, join(dockerConfig, 'cli-plugins', 'docker-compose'));
    return await runTool('docker', ['compose', ...args], { env: { ...process.env, DOCKER_CONFIG: dockerConfig } });
  } finally {
    rmSync(dockerConfig, { recursive: true, force: true });
  }
}
