import type { Server } from 'node:http';
import { startHttpServer } from '../common/http-server.js';
import { createLogger } from '../common/logging.js';
import { nthSettingNotes } from '../common/nth-settings.js';
import { Reachability, reachableGauge } from '../common/reachability.js';
import { ConfigError, loadStarterConfig } from './config.js';
import { StarterMetrics } from './metrics.js';
import { starterProbes } from './probes.js';
import { runStarter } from './starter.js';

/**
 * `tnth starter`: long-polls SQS and hands each interruption event to Temporal until SIGTERM or SIGINT,
 * then stops polling, finishes the hand-offs in flight and exits 0. Configured by environment only.
 */
export async function main(_args: string[]): Promise<number> {
  let config;
  try {
    config = loadStarterConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`tnth starter: ${error.message}`);
    return 2;
  }
  const logger = createLogger(config, 'tnth-starter');
  for (const note of nthSettingNotes(process.env)) logger.warn(note);
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping: no new receives, finishing hand-offs in flight');
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const metrics = new StarterMetrics({ processMetrics: true });
  const servers: Server[] = [];
  try {
    if (config.ENABLE_PROMETHEUS_SERVER)
      servers.push(
        await startHttpServer(config.PROMETHEUS_SERVER_PORT, { metrics: { registry: metrics.registry } }, logger),
      );
    // Ready while it polls: Temporal answers and accepts hand-offs, and SQS answers receives. A
    // stopping starter, or one waiting for Temporal, takes no new messages and says so.
    let temporalAvailable = true;
    let availableSince = Date.now();
    const reachability = { temporal: new Reachability('Temporal'), sqs: new Reachability('SQS') };
    reachableGauge(metrics.registry, 'tnth_starter_temporal_reachable', reachability.temporal);
    reachableGauge(metrics.registry, 'tnth_starter_sqs_reachable', reachability.sqs);
    if (config.ENABLE_PROBES_SERVER)
      servers.push(
        await startHttpServer(
          config.PROBES_SERVER_PORT,
          {
            probes: starterProbes({
              ...reachability,
              temporalAvailable: () => temporalAvailable,
              availableSince: () => availableSince,
              stopping: () => stop.signal.aborted,
            }),
          },
          logger,
        ),
      );
    await runStarter(config, {
      logger,
      signal: stop.signal,
      metrics,
      reachability,
      onAvailabilityChange: (available) => {
        if (available && !temporalAvailable) availableSince = Date.now();
        temporalAvailable = available;
      },
    });
    return 0;
  } catch (error) {
    logger.fatal({ err: error }, 'starter failed');
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}
