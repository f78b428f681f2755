import { ConfigError, loadConfig, type Config } from '../common/config.js';

export { ConfigError };

/** The service's configuration (common/config.ts) with the queue the starter reads. */
export type StarterConfig = Config & { QUEUE_URL: string };

/** The configuration, or a ConfigError naming each bad variable and its rule, QUEUE_URL required. */
export function loadStarterConfig(env: NodeJS.ProcessEnv = process.env): StarterConfig {
  const problems: string[] = [];
  let config: Config | undefined;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (!env.QUEUE_URL) problems.unshift('QUEUE_URL: required: the SQS queue the interruption messages arrive on');
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return config as StarterConfig;
}
