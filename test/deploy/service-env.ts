// Which environment variables the service reads: those common/config.ts validates, and those the AWS SDK
// and the Kubernetes client read themselves. Deployment files that set anything else set it for nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './tools.js';

/** The keys of the configuration schema in common/config.ts (`const schema = z.object({ ... })`). */
export function configVariables(): Set<string> {
  const source = readFileSync(join(root, 'common/config.ts'), 'utf8');
  const start = source.indexOf('const schema = z.object({');
  const end = source.indexOf('\n});', start);
  if (start < 0 || end < 0) throw new Error('common/config.ts: no `const schema = z.object({ ... })` to read');
  const names = [...source.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
  if (names.length < 20) throw new Error(`common/config.ts: found only ${names.length} variables`);
  return new Set(names);
}

/** Read by the AWS SDK (credentials, endpoint, region) and by @kubernetes/client-node. */
export const clientVariables = new Set([
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'AWS_PROFILE',
  'KUBECONFIG',
]);

export function unknownVariables(env: Record<string, unknown>): string[] {
  const known = configVariables();
  return Object.keys(env).filter((name) => !known.has(name) && !clientVariables.has(name));
}
