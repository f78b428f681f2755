// Every activity the worker registers, grouped by the system it talks to, built from the worker's
// clients and configuration. Workflows import the type only.
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Client } from '@temporalio/client';
import type { HeartbeatProgress, LostReason } from '../common/lifecycle.js';
import type { RunbookSettings } from '../common/settings.js';
import { createGroupActivities } from './aws/groups.js';
import { createInstanceActivities } from './aws/instances.js';
import { createLifecycleHeartbeat } from './aws/lifecycle-heartbeat.js';
import { createLifecycleActivities } from './aws/lifecycle.js';
import type { KubeClients } from './kubernetes/client.js';
import { createDrainActivities } from './kubernetes/drain.js';
import type { OwnPods } from './kubernetes/drain-plan.js';
import { createOwnershipActivities, type IgnoredReason } from './ownership.js';
import { createNodeActivities } from './kubernetes/nodes.js';
import { createNodeReadinessActivities } from './node-readiness.js';
import { createDrainBudgetActivities } from './temporal/drain-budget.js';
import { createKubernetesEventActivities } from './notify/kubernetes-events.js';
import { createWebhookActivities, type WebhookSettings } from './notify/webhook.js';
import { describeWorker } from './worker-info.js';

/**
 * What the activities report; the worker backs it with Prometheus metrics. `key` names one activity
 * execution (workflow and activity id): its figure goes when the activity ends, on whichever worker.
 */
export interface ActivityMetrics {
  heartbeatLoops(delta: 1 | -1): void;
  heartbeat(outcome: 'sent' | 'failed'): void;
  lifecycleCompleted(result: string): void;
  lifecycleLost(reason: LostReason): void;
  drain(outcome: 'succeeded' | 'failed'): void;
  eventIgnored(reason: IgnoredReason): void;
  /** The node's preparation before the drain (cordon, taints, label): NTH's pre-drain. */
  nodePrepared?(outcome: 'succeeded' | 'failed'): void;
  drainRunning(key: string, running: boolean): void;
  /** Pods a PodDisruptionBudget refused in the drain's last round; 0 when it ends. */
  drainBlocked(key: string, pods: number): void;
  drainAttemptEnded(outcome: 'succeeded' | 'failed', seconds: number): void;
  /** A node's drain succeeded: seconds since its first attempt began, and the attempts it took. */
  nodeDrained(seconds: number, attempts: number): void;
  nodeCordoned(kind: string, secondsSinceNotice: number): void;
  /** When the action the heartbeat loop `key` holds expires unless a heartbeat comes; undefined once it ends. */
  holdExpiry(key: string, hook: string, expiresAt: number | undefined): void;
}

export interface ActivityDeps {
  settings: RunbookSettings;
  ec2: EC2Client;
  autoScaling: AutoScalingClient;
  kube: KubeClients;
  /** Delivers heartbeat progress to the workflow that runs the activity. */
  reportHeartbeat(progress: HeartbeatProgress): Promise<void>;
  metrics?: ActivityMetrics;
  webhook?: WebhookSettings | undefined;
  /** Extra annotations on the Kubernetes events the service records. */
  eventAnnotations?: Record<string, string>;
  /** The worker's own pod and its release's: drains evict them last. */
  ownPods?: OwnPods;
  /** EXPECT_OTHER_CLUSTERS. */
  expectOtherClusters?: boolean;
  /** The worker's Temporal client: drain budgets ask their budget workflow through it. */
  temporal?: Client;
}

/** When this process started: its drain budget configuration replaces those of workers started before. */
const workerStartedAt = Date.now();

export function createActivities(deps: ActivityDeps) {
  const instances = createInstanceActivities(deps.ec2);
  const nodes = createNodeActivities(deps.kube, { onPrepared: (outcome) => deps.metrics?.nodePrepared?.(outcome) });
  return {
    describeWorker: () => describeWorker(),
    /** The worker's runbook settings, recorded in each workflow's history when it starts. */
    runbookSettings: async (): Promise<RunbookSettings> => Promise.resolve(deps.settings),
    ...instances,
    ...createGroupActivities(deps.autoScaling),
    ...createDrainBudgetActivities(deps.temporal, {
      configured: deps.settings.drainBudget,
      startedAt: workerStartedAt,
    }),
    ...createLifecycleActivities({
      autoScaling: deps.autoScaling,
      onComplete: (result) => deps.metrics?.lifecycleCompleted(result),
      onLost: (reason) => deps.metrics?.lifecycleLost(reason),
      reportProgress: (progress) => deps.reportHeartbeat(progress),
    }),
    lifecycleHeartbeat: createLifecycleHeartbeat({
      autoScaling: deps.autoScaling,
      reportProgress: (progress) => deps.reportHeartbeat(progress),
      onHeartbeat: (outcome) => deps.metrics?.heartbeat(outcome),
      onLoopChange: (delta) => deps.metrics?.heartbeatLoops(delta),
      onLost: (reason) => deps.metrics?.lifecycleLost(reason),
      onHoldExpiry: (key, hook, expiresAt) => deps.metrics?.holdExpiry(key, hook, expiresAt),
    }),
    ...nodes,
    prepareNode: async (prep: Parameters<typeof nodes.prepareNode>[0]) => {
      const changes = await nodes.prepareNode(prep);
      if (prep.cordon && prep.notice)
        deps.metrics?.nodeCordoned(prep.notice.kind, (Date.now() - prep.notice.epochMs) / 1000);
      return changes;
    },
    ...createNodeReadinessActivities(instances, nodes),
    ...createWebhookActivities(deps.webhook),
    ...createKubernetesEventActivities(deps.kube, deps.eventAnnotations),
    ...createOwnershipActivities({
      onIgnored: (reason) => deps.metrics?.eventIgnored(reason),
      expectOtherClusters: deps.expectOtherClusters ?? false,
    }),
    ...createDrainActivities(deps.kube, { own: deps.ownPods, metrics: deps.metrics }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export { describeWorker };
