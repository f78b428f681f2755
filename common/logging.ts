import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

/** Secret-bearing fields: never written, wherever they appear in a log line. */
export const redactedPaths = [
  'headers',
  '*.headers',
  'authorization',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  'webhookUrl',
  '*.webhookUrl',
  'WEBHOOK_URL',
  'WEBHOOK_HEADERS',
  'TEMPORAL_API_KEY',
];

/** JSON lines on stdout (`JSON_LOGGING=false` keeps JSON: machines read these logs first). */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, name: string): Logger {
  return pino({
    name,
    level: config.LOG_LEVEL.toLowerCase(),
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
