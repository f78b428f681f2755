import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Activities } from '../../activities/index.js';
import type { OwnershipNote } from '../../activities/ownership.js';
import type { NodeRestoration } from '../../activities/kubernetes/nodes.js';
import type { LifecycleHeartbeatInput } from '../../activities/aws/lifecycle-heartbeat.js';
import type { LifecycleTarget } from '../../common/lifecycle.js';
import type { LifecycleResult, RunbookSettings } from '../../common/settings.js';

export const testSettings: RunbookSettings = {
  dryRun: false,
  cordonOnly: false,
  taintNode: true,
  taintEffect: 'NoSchedule',
  enableOutOfServiceTaint: false,
  excludeFromLoadBalancers: true,
  checkTagBeforeDraining: false,
  managedTag: 'aws-node-termination-handler/managed',
  useProviderId: false,
  completeLifecycleActionDelaySeconds: 0,
  deleteSqsMsgIfNodeNotFound: false,
  heartbeatIntervalSeconds: 10,
  heartbeatUntilSeconds: 172800,
  drain: {
    ignoreDaemonSets: true,
    deleteLocalData: true,
    podTerminationGracePeriodSeconds: -1,
    nodeTerminationGracePeriodSeconds: 60,
  },
  drainRetryIntervalSeconds: 1,
  drainMaxAttempts: 0,
  drainDeadlineSeconds: 3600,
  lifecycleResultOnFailure: 'ABANDON',
  duplicateWindowSeconds: 0,
  emitKubernetesEvents: false,
  webhookEnabled: false,
};

export interface Span {
  start: number;
  end: number | undefined;
}

/** What the stubbed activities saw, in the worker's own clock. */
export class Recorder {
  readonly heartbeats: (Span & { token: string })[] = [];
  readonly heartbeatInputs: LifecycleHeartbeatInput[] = [];
  readonly drains: (Span & { ok: boolean | undefined })[] = [];
  readonly completions: { at: number; result: LifecycleResult; token: string }[] = [];
  readonly webhooks: unknown[] = [];
  readonly nodeEvents: { reason: string; type: string }[] = [];
  heartbeatsRunning = 0;
  maxHeartbeatsRunning = 0;
  prepared = 0;
  describes = 0;
  readonly ownershipNotes: OwnershipNote[] = [];
  /** The taints of each prepareNode call, with when it came. */
  readonly preparations: { at: number; taints: string[]; cordon: boolean }[] = [];
  /** Each restoreNode call (an undo, a return from the warm pool). */
  readonly restorations: NodeRestoration[] = [];
  /** What the workflow logged, in order (never during replay). */
  readonly logs: { level: string; message: string; attrs: Record<string, unknown> }[] = [];
  rehearsals = 0;
  /** Each try of the calls the runbook tries locally first, and whether it ran as a local activity. */
  readonly shortCalls: { name: string; local: boolean }[] = [];
}

export interface StubBehaviour {
  settings?: Partial<RunbookSettings>;
  /** Drain attempts that fail before one succeeds. */
  drainFailures?: number;
  /** Every drain attempt runs until cancelled (for operator controls and workflow cancellation). */
  drainHangs?: boolean;
  completeFails?: boolean;
  nodeName?: string | undefined;
  /** The hook's HeartbeatTimeout (default 300); null: the hook cannot be found. */
  hookTimeoutSeconds?: number | null;
  /** CompleteLifecycleAction answers that the action is no longer active. */
  completionNotActive?: boolean;
  /** The heartbeat loop finds the action gone at once. */
  heartbeatNotActive?: boolean;
  /** Tries of the drain activity that fail as a worker's shutdown does (retryable) before it runs. */
  drainInterruptions?: number;
  /** CompleteLifecycleAction takes this long (Auto Scaling throttling it, say). */
  completionMs?: number;
  /** The drain activity fails for good with this type (RBAC refusing evictions, say). */
  drainRefused?: string;
  /** prepareNode fails for good with this type (RBAC's 403, say). */
  prepareNodeRefused?: string;
  /** The hook's DefaultResult as DescribeLifecycleHooks gives it (default: not given). */
  hookDefaultResult?: LifecycleResult;
  /** The instance's EC2 tags (default none). */
  instanceTags?: Record<string, string>;
  /** Reading the worker's settings takes this long (a busy worker). */
  settingsMs?: number;
  /** findNode fails for good with this type (RBAC's 403, say). */
  findNodeRefused?: string;
  /** Tries of findNode that fail as an API server's 503 does (retryable) before one answers. */
  findNodeFailures?: number;
  /** DescribeInstances takes this long (an EC2 outage that ends). */
  describeMs?: number;
  /** DescribeInstances fails for good with this type (a role without ec2:DescribeInstances, say). */
  describeRefused?: string;
}

/** Activities with the real names and types, recording every start and stop in `rec`. */
export function stubActivities(rec: Recorder, behaviour: StubBehaviour = {}): Partial<Activities> {
  const settings = { ...testSettings, ...behaviour.settings };
  const nodeName = 'nodeName' in behaviour ? behaviour.nodeName : 'ip-10-0-1-23.ec2.internal';
  const shortCall = (name: string) => rec.shortCalls.push({ name, local: Context.current().info.isLocal });
  return {
    runbookSettings: async () => {
      if (behaviour.settingsMs) await new Promise((resolve) => setTimeout(resolve, behaviour.settingsMs));
      return settings;
    },
    describeInstance: async (instanceId: string) => {
      rec.describes += 1;
      shortCall('describeInstance');
      if (behaviour.describeRefused) {
        throw ApplicationFailure.create({
          type: behaviour.describeRefused,
          message: `describing ${instanceId}: UnauthorizedOperation`,
          nonRetryable: true,
        });
      }
      if (behaviour.describeMs) await beatFor(Context.current(), behaviour.describeMs);
      return {
        instanceId,
        privateDnsName: nodeName,
        availabilityZone: 'us-east-1a',
        state: 'running',
        tags: behaviour.instanceTags ?? {},
      };
    },
    noteOwnership: (note) => {
      rec.ownershipNotes.push(note);
      return Promise.resolve();
    },
    findNode: () => {
      const failed = rec.shortCalls.filter((c) => c.name === 'findNode').length < (behaviour.findNodeFailures ?? 0);
      shortCall('findNode');
      if (behaviour.findNodeRefused) {
        throw ApplicationFailure.create({
          type: behaviour.findNodeRefused,
          message: 'listing nodes: HTTP 403: nodes is forbidden',
          nonRetryable: true,
        });
      }
      if (failed) {
        throw ApplicationFailure.create({
          type: 'KubernetesUnreachable',
          message: 'listing nodes: HTTP 503: the server is currently unable to handle the request',
        });
      }
      return Promise.resolve(
        nodeName === undefined
          ? undefined
          : { name: nodeName, ready: true, unschedulable: false, providerId: undefined, labels: {} },
      );
    },
    prepareNode: (prep) => {
      shortCall('prepareNode');
      if (behaviour.prepareNodeRefused) {
        throw ApplicationFailure.create({
          type: behaviour.prepareNodeRefused,
          message: `cordoning node ${prep.nodeName}: HTTP 403: nodes is forbidden`,
          nonRetryable: true,
        });
      }
      rec.prepared += 1;
      rec.preparations.push({ at: Date.now(), taints: prep.taints.map((t) => t.key), cordon: prep.cordon });
      return Promise.resolve({
        cordoned: prep.cordon,
        taints: prep.taints.map((t) => ({ key: t.key, value: t.value ?? '', effect: t.effect })),
        labels: Object.keys(prep.labels),
      });
    },
    restoreNode: (input) => {
      rec.restorations.push(input);
      return Promise.resolve(input.changes);
    },
    rehearseDrain: () => {
      rec.rehearsals += 1;
      return Promise.resolve({
        wouldEvict: ['default/app-1', 'default/app-2'],
        skipped: ['kube-system/node-agent-x (DaemonSet)'],
        undrainable: [],
      });
    },
    async drainNode() {
      const ctx = Context.current();
      const span = { start: Date.now(), end: undefined as number | undefined, ok: undefined as boolean | undefined };
      rec.drains.push(span);
      try {
        if (behaviour.drainRefused) {
          throw ApplicationFailure.create({
            type: behaviour.drainRefused,
            message: 'evicting pod default/app-1: HTTP 403: pods "app-1" is forbidden',
            nonRetryable: true,
          });
        }
        if (rec.drains.length <= (behaviour.drainInterruptions ?? 0)) {
          await beat(ctx);
          // What the SDK reports when SHUTDOWN_GRACE_PERIOD ends with the activity still running.
          throw ApplicationFailure.retryable('WORKER_SHUTDOWN', 'CancelledFailure');
        }
        if (behaviour.drainHangs) for (;;) await beat(ctx);
        for (let i = 0; i < 3; i++) await beat(ctx);
        const ran = rec.drains.length - (behaviour.drainInterruptions ?? 0);
        span.ok = ran > (behaviour.drainFailures ?? 0);
        if (!span.ok) {
          // As the real drain reports an attempt that ran and left pods: it is not retried, it counts.
          throw ApplicationFailure.create({
            type: 'DrainTimeout',
            message: `pods left on the node (attempt ${rec.drains.length})`,
            nonRetryable: true,
            details: [{ podsLeft: ['default/app-1'], blockedByBudget: ['default/app-1'] }],
          });
        }
        return { evicted: ['default/app-1'], skipped: [] };
      } finally {
        span.end = Date.now();
      }
    },
    async lifecycleHeartbeat(input: LifecycleHeartbeatInput) {
      const ctx = Context.current();
      const span = {
        start: Date.now(),
        end: undefined as number | undefined,
        token: input.target.lifecycleActionToken,
      };
      rec.heartbeats.push(span);
      rec.heartbeatInputs.push(input);
      rec.heartbeatsRunning += 1;
      rec.maxHeartbeatsRunning = Math.max(rec.maxHeartbeatsRunning, rec.heartbeatsRunning);
      try {
        if (behaviour.heartbeatNotActive) {
          return {
            end: 'action-not-active' as const,
            sent: 0,
            lastHeartbeatAt: undefined,
            lostReason: 'heartbeat-timeout' as const,
          };
        }
        for (;;) await beat(ctx);
      } finally {
        rec.heartbeatsRunning -= 1;
        span.end = Date.now();
      }
    },
    sendWebhook: (data) => {
      rec.webhooks.push(data);
      return Promise.resolve();
    },
    emitNodeEvent: (event) => {
      rec.nodeEvents.push({ reason: event.reason, type: event.type });
      return Promise.resolve();
    },
    describeLifecycleHook: () =>
      Promise.resolve(
        behaviour.hookTimeoutSeconds === null
          ? undefined
          : {
              heartbeatTimeoutSeconds: behaviour.hookTimeoutSeconds ?? 300,
              globalTimeoutSeconds: undefined,
              defaultResult: behaviour.hookDefaultResult,
            },
      ),
    waitForNodeReady: () => Promise.resolve({ nodeName, ready: nodeName !== undefined }),
    async completeLifecycleAction(target: LifecycleTarget, result: LifecycleResult) {
      if (behaviour.completionMs) await new Promise((r) => setTimeout(r, behaviour.completionMs));
      rec.completions.push({ at: Date.now(), result, token: target.lifecycleActionToken });
      if (behaviour.completionNotActive)
        return Promise.resolve({ outcome: 'not-active' as const, lostReason: 'heartbeat-timeout' as const });
      if (behaviour.completeFails) {
        throw ApplicationFailure.create({
          type: 'AccessDenied',
          message: 'not allowed to complete',
          nonRetryable: true,
        });
      }
      return Promise.resolve({ outcome: 'completed' as const });
    },
  };
}

async function beat(ctx: Context): Promise<void> {
  ctx.heartbeat();
  await ctx.sleep(100);
}

async function beatFor(ctx: Context, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) await beat(ctx);
}
