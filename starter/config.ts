import { z } from 'zod';
import { defaultTaskQueue } from '../common/names.js';

// The starter's settings, from the environment only. NTH's names where NTH has the setting, Temporal's and
// the AWS SDK's own otherwise. Kept apart so the shared configuration module can take it in whole.

const boolean = z.enum(['true', 'false']).transform((value) => value === 'true');
const port = z.coerce.number().int().min(1).max(65535);

export const starterEnv = z.object({
  QUEUE_URL: z.url({ protocol: /^https?$/ }),
  /** Read by the AWS SDK itself; validated here so a typo fails at start, not on the first call. */
  AWS_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as us-east-1')
    .optional(),
  /** Read by the AWS SDK itself (the local stack's emulator, a VPC endpoint). */
  AWS_ENDPOINT_URL: z.url().optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/, 'host:port')
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(defaultTaskQueue),
  /**
   * Concurrent long polls. Each holds up to 10 messages at a time; 4 keep a hand-off batch in flight while
   * the next receive waits, without holding so many messages that a restart delays them all.
   */
  STARTER_POLLERS: z.coerce.number().int().min(1).max(64).default(4),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  ENABLE_PROMETHEUS_SERVER: boolean.default(false),
  PROMETHEUS_SERVER_PORT: port.default(9092),
});

export type StarterConfig = z.output<typeof starterEnv>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The configuration, or a ConfigError whose message names each bad variable and its rule. */
export function loadStarterConfig(env: NodeJS.ProcessEnv = process.env): StarterConfig {
  // Unset and empty are the same to an operator editing a manifest.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = starterEnv.safeParse(present);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const variable = String(issue.path[0]);
    const value = env[variable];
    return `${variable}: ${value === undefined || value === '' ? 'required' : issue.message} (got ${JSON.stringify(value ?? '')})`;
  });
  throw new ConfigError(`invalid starter configuration:\n  ${problems.join('\n  ')}`);
}
