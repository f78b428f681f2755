import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ActivityMetrics } from '../activities/index.js';
import type { LostReason } from '../common/lifecycle.js';

const lostReasons: LostReason[] = ['heartbeat-timeout', 'global-timeout', 'heartbeat-until', 'ended-elsewhere'];

/** Drains run from seconds (an empty node) to the two days DRAIN_DEADLINE allows. */
const drainBuckets = [5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 172800];
/** From the notice to the cordon: seconds when all is well, a Spot notice leaves two minutes in all. */
const cordonBuckets = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];

/**
 * The worker's own metrics; the Temporal SDK's are appended to the same /metrics page. No label holds
 * an instance, node or pod: a cluster's terminations must not grow the series. The per-drain and
 * per-hold gauges are kept per activity (`key`) and summed or minimised at scrape time, so a drain or
 * a hold that moves to another worker leaves this one's figures with it.
 */
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
  const attemptSeconds = new Histogram({
    name: 'tnth_drain_attempt_duration_seconds',
    help: 'One drain attempt on this worker, from its start (or its resumption after a lost worker) to its end, by outcome',
    labelNames: ['outcome'],
    buckets: drainBuckets,
    registers: [registry],
  });
  const drainSeconds = new Histogram({
    name: 'tnth_drain_duration_seconds',
    help: "A node's whole drain, from its first attempt's start to the attempt that emptied it",
    buckets: drainBuckets,
    registers: [registry],
  });
  const drainAttempts = new Histogram({
    name: 'tnth_drain_attempts',
    help: 'Drain attempts a node took until it was empty (the successful one included)',
    buckets: [1, 2, 3, 5, 10, 20, 50, 100, 500],
    registers: [registry],
  });
  const noticeToCordon = new Histogram({
    name: 'tnth_notice_to_cordon_seconds',
    help: 'From the interruption notice (the event time AWS gave) to the node cordoned, by event kind',
    labelNames: ['kind'],
    buckets: cordonBuckets,
    registers: [registry],
  });
  const blocked = new Map<string, number>();
  new Gauge({
    name: 'tnth_drain_pods_blocked_by_budget',
    help: "Pods whose eviction a PodDisruptionBudget refused in the last round, over this worker's drains",
    registers: [registry],
    collect() {
      this.set([...blocked.values()].reduce((sum, n) => sum + n, 0));
    },
  });
  const draining = new Map<string, true>();
  new Gauge({
    name: 'tnth_drains_running',
    help: 'Drain attempts running in this worker',
    registers: [registry],
    collect() {
      this.set(draining.size);
    },
  });
  const holds = new Map<string, { hook: string; expiresAt: number }>();
  new Gauge({
    name: 'tnth_lifecycle_hook_seconds_left',
    help: 'Seconds until the soonest of the lifecycle actions this worker holds expires unless a heartbeat reaches Auto Scaling, by hook name; absent while it holds none',
    labelNames: ['hook'],
    registers: [registry],
    collect() {
      this.reset();
      const soonest = new Map<string, number>();
      for (const { hook, expiresAt } of holds.values())
        soonest.set(hook, Math.min(soonest.get(hook) ?? Infinity, expiresAt));
      const now = Date.now();
      for (const [hook, expiresAt] of soonest) this.set({ hook }, Math.max(0, (expiresAt - now) / 1000));
    },
  });
  loops.set(0);
  // Present from the start at 0, so `increase()` sees a hook's first loss (a series born at 1 shows none).
  for (const reason of lostReasons) lost.inc({ reason }, 0);
  return {
    registry,
    activity: {
      heartbeatLoops: (delta) => loops.inc(delta),
      heartbeat: (outcome) => heartbeats.inc({ outcome }),
      lifecycleCompleted: (result) => completions.inc({ result }),
      lifecycleLost: (reason) => lost.inc({ reason }),
      drain: (outcome) => drains.inc({ outcome }),
      eventIgnored: (reason) => ignored.inc({ reason }),
      drainRunning: (key, running) => (running ? draining.set(key, true) : draining.delete(key)),
      drainBlocked: (key, pods) => (pods > 0 ? blocked.set(key, pods) : blocked.delete(key)),
      drainAttemptEnded: (outcome, seconds) => attemptSeconds.observe({ outcome }, seconds),
      nodeDrained: (seconds, attempts) => {
        drainSeconds.observe(seconds);
        drainAttempts.observe(attempts);
      },
      nodeCordoned: (kind, seconds) => noticeToCordon.observe({ kind }, Math.max(0, seconds)),
      holdExpiry: (key, hook, expiresAt) =>
        expiresAt === undefined ? holds.delete(key) : holds.set(key, { hook, expiresAt }),
    },
  };
}
