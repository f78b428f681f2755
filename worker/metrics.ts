import { Counter, Gauge, Registry } from 'prom-client';
import type { ActivityMetrics } from '../activities/index.js';

/** The worker's own metrics; the Temporal SDK's are appended to the same /metrics page. */
export function createWorkerMetrics(): { registry: Registry; activity: ActivityMetrics } {
  const registry = new Registry();
  const loops = new Gauge({
    name: 'tnth_heartbeat_loops_running',
    help: 'Lifecycle heartbeat loops running in this worker; returns to 0 when no drain runs (the leak canary)',
    registers: [registry],
  });
  const heartbeats = new Counter({
    name: 'tnth_lifecycle_heartbeats_total',
    help: 'RecordLifecycleActionHeartbeat calls by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const drains = new Counter({
    name: 'tnth_drains_total',
    help: 'Drain attempts by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const completions = new Counter({
    name: 'tnth_lifecycle_actions_completed_total',
    help: 'CompleteLifecycleAction calls by result (CONTINUE, ABANDON, not-active)',
    labelNames: ['result'],
    registers: [registry],
  });
  const lost = new Counter({
    name: 'tnth_lifecycle_actions_lost_total',
    help: 'Lifecycle actions Auto Scaling ended before tnth completed them, by reason (heartbeat-timeout, global-timeout, heartbeat-until, ended-elsewhere)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const ignored = new Counter({
    name: 'tnth_events_ignored_total',
    help: "Terminations that changed nothing, by reason (other-cluster: the instance's tags name another cluster; not-managed: no MANAGED_TAG)",
    labelNames: ['reason'],
    registers: [registry],
  });
  loops.set(0);
  return {
    registry,
    activity: {
      heartbeatLoops: (delta) => loops.inc(delta),
      heartbeat: (outcome) => heartbeats.inc({ outcome }),
      lifecycleCompleted: (result) => completions.inc({ result }),
      lifecycleLost: (reason) => lost.inc({ reason }),
      drain: (outcome) => drains.inc({ outcome }),
      eventIgnored: (reason) => ignored.inc({ reason }),
    },
  };
}
