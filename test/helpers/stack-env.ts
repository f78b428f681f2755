import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const stackEnvFile = resolve(import.meta.dirname, '../../.stack/env');

/** Reads `.stack/env` (KEY=VALUE lines) into process.env; variables already set win. */
/** The CLUSTER_NAME of every tnth the tests run, unless a test names another. */
export const testCluster = 'test';

export function loadStackEnv(file = stackEnvFile): void {
  process.env.CLUSTER_NAME ??= testCluster;
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: start the local stack with \`npm run stack -- up\``);
  }
  for (const [key, value] of Object.entries(parseEnvFile(readFileSync(file, 'utf8')))) {
    process.env[key] ??= value;
  }
}

export function parseEnvFile(text: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) entries[match[1]!] = unquote(match[2]!);
  }
  return entries;
}

function unquote(value: string): string {
  return value.startsWith("'") && value.endsWith("'") ? value.slice(1, -1).replaceAll("'\\''", "'") : value;
}

/** The value of a stack variable, or an error that says how to get it. */
export function stackVar(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: is the local stack up (\`npm run stack -- up\`)?`);
  return value;
}
