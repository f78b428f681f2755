import { ApplicationFailure, Context } from '@temporalio/activity';
import type { createInstanceActivities } from './aws/instances.js';
import type { createNodeActivities, NodeFacts } from './kubernetes/nodes.js';

export interface NodeReadinessInput {
  instanceId: string;
  useProviderId: boolean;
  /** Epoch ms at which to stop waiting. */
  deadlineEpochMs: number;
  /** Taint keys that keep a Ready node from counting as ready (LAUNCH_READINESS_TAINTS). */
  readinessTaints?: string[];
}

export interface NodeReadiness {
  nodeName: string | undefined;
  /** Ready and none of the readiness taints left. */
  ready: boolean;
  /** The node's Ready condition alone; absent in results recorded before it was reported. */
  nodeReady?: boolean;
  /** The readiness taints still on the node at the last look. */
  blockingTaints?: string[];
}

/**
 * When the wait looks. A node joins a minute or more after its instance launched, so looking every
 * few seconds buys nothing: the looks back off from 1 s by half each time to one every 15 s (26 looks
 * in five minutes). An instance refresh that launches 100 instances then costs about 7 looks a
 * second, each one to three small Kubernetes reads, and one EC2 call per instance; looking every
 * 2 s cost 50 EC2 calls a second and 100 node reads (with USE_PROVIDER_ID, 50 lists of every node).
 */
export interface ReadinessSchedule {
  initialMs: number;
  factor: number;
  maxMs: number;
  /** The last look starts this long before the deadline, so its answer is in before it. */
  lastLookMarginMs: number;
  /**
   * With USE_PROVIDER_ID, while the node goes by none of the instance's names: how often to look
   * through every node, the one look whose cost grows with the cluster.
   */
  listAllNodesEveryMs: number;
  /** Temporal heartbeats this often whatever the pause, so a cancel or a lost worker is noticed. */
  tickMs: number;
}

export const readinessSchedule: ReadinessSchedule = {
  initialMs: 1_000,
  factor: 1.5,
  maxMs: 15_000,
  lastLookMarginMs: 1_000,
  listAllNodesEveryMs: 60_000,
  tickMs: 5_000,
};

/** The pause after a look at `now`: the backoff's, cut short at the last look; undefined after the last look. */
export function pauseAfterLook(
  schedule: ReadinessSchedule,
  delayMs: number,
  now: number,
  deadlineEpochMs: number,
): number | undefined {
  const lastLookAt = deadlineEpochMs - schedule.lastLookMarginMs;
  return now >= lastLookAt ? undefined : Math.min(delayMs, lastLookAt - now);
}

export const nextDelay = (schedule: ReadinessSchedule, delayMs: number) =>
  Math.min(delayMs * schedule.factor, schedule.maxMs);

/**
 * What the wait has learned, in its Temporal heartbeat details: a retried attempt (a lost worker)
 * goes on from here instead of reading EC2 again and restarting the backoff.
 */
export interface ReadinessCheckpoint {
  /** From EC2, read until known and then never again: a launching instance keeps its name. */
  privateDnsName: string | undefined;
  availabilityZone: string | undefined;
  /** The node once found: later looks read it by name alone. */
  nodeName: string | undefined;
  ready: boolean;
  nodeReady?: boolean;
  blockingTaints?: string[];
  /** The next pause of the backoff. */
  delayMs: number;
  /** Epoch ms of the last look through every node (USE_PROVIDER_ID). */
  listedAllNodesAt: number | undefined;
  looks: number;
  /** Why the last look saw nothing, for whoever inspects the pending activity. */
  lastError: string | undefined;
}

type Instances = ReturnType<typeof createInstanceActivities>;
type Nodes = ReturnType<typeof createNodeActivities>;

/**
 * Waits until the instance's node has joined the cluster, is Ready and carries none of the readiness
 * taints (a CNI or the cloud provider not done with it); returns at the deadline with
 * what it last saw. EC2 is read until it names the instance, then only the node is looked at, on the
 * schedule's backoff. A throttled or failing call costs a look, not the activity: it is retried on
 * the same backoff; only a request AWS or the API server refuses for good fails it.
 */
export function createNodeReadinessActivities(
  instances: Instances,
  nodes: Nodes,
  schedule: ReadinessSchedule = readinessSchedule,
) {
  async function lookForNode(input: NodeReadinessInput, seen: ReadinessCheckpoint): Promise<NodeFacts | undefined> {
    if (seen.nodeName !== undefined) {
      const node = await nodes.nodeFacts(seen.nodeName);
      if (node) return node;
    }
    const listAllNodes =
      seen.listedAllNodesAt === undefined || Date.now() - seen.listedAllNodesAt >= schedule.listAllNodesEveryMs;
    const node = await nodes.findNode({
      instanceId: input.instanceId,
      privateDnsName: seen.privateDnsName,
      availabilityZone: seen.availabilityZone,
      useProviderId: input.useProviderId,
      listAllNodes,
    });
    if (!node && input.useProviderId && listAllNodes) seen.listedAllNodesAt = Date.now();
    return node;
  }

  async function look(input: NodeReadinessInput, seen: ReadinessCheckpoint): Promise<void> {
    seen.looks += 1;
    if (seen.privateDnsName === undefined) {
      const instance = await instances.describeInstance(input.instanceId);
      if (!instance?.privateDnsName) {
        seen.lastError = instance ? 'EC2 reports no private DNS name yet' : 'EC2 does not know the instance yet';
        return;
      }
      seen.privateDnsName = instance.privateDnsName;
      seen.availabilityZone = instance.availabilityZone;
    }
    const node = await lookForNode(input, seen);
    const blocking = (node?.taintKeys ?? []).filter((key) => input.readinessTaints?.includes(key));
    seen.nodeName = node?.name;
    seen.nodeReady = node?.ready ?? false;
    seen.blockingTaints = blocking;
    seen.ready = seen.nodeReady && blocking.length === 0;
    seen.lastError = !node
      ? 'no node for the instance yet'
      : !node.ready
        ? 'the node is not Ready yet'
        : blocking.length > 0
          ? `startup taints remain: ${blocking.join(', ')}`
          : undefined;
  }

  return {
    async waitForNodeReady(input: NodeReadinessInput): Promise<NodeReadiness> {
      const ctx = Context.current();
      // Details of a worker from before the checkpoint had only `nodeName` and `ready`.
      const resumed = ctx.info.heartbeatDetails as Partial<ReadinessCheckpoint> | undefined;
      const seen: ReadinessCheckpoint = {
        privateDnsName: undefined,
        availabilityZone: undefined,
        nodeName: undefined,
        ready: false,
        delayMs: schedule.initialMs,
        listedAllNodesAt: undefined,
        looks: 0,
        lastError: undefined,
        ...resumed,
      };
      const ticker = setInterval(() => ctx.heartbeat(seen), schedule.tickMs);
      try {
        for (;;) {
          let failed = false;
          try {
            await look(input, seen);
          } catch (error) {
            if (error instanceof ApplicationFailure && error.nonRetryable) throw error;
            failed = true;
            seen.lastError = error instanceof Error ? error.message : String(error);
          }
          ctx.heartbeat(seen);
          const pauseMs = seen.ready
            ? undefined
            : pauseAfterLook(schedule, seen.delayMs, Date.now(), input.deadlineEpochMs);
          if (failed) {
            ctx.log.warn('looking for the node of a launching instance failed; looking again after the backoff', {
              instanceId: input.instanceId,
              error: seen.lastError,
              nextLookInMs: pauseMs,
            });
          }
          if (pauseMs === undefined) {
            const { nodeName, ready } = seen;
            // What kept it from being ready, when something did.
            return ready
              ? { nodeName, ready }
              : { nodeName, ready, nodeReady: seen.nodeReady ?? false, blockingTaints: seen.blockingTaints ?? [] };
          }
          seen.delayMs = nextDelay(schedule, seen.delayMs);
          await ctx.sleep(pauseMs);
        }
      } finally {
        clearInterval(ticker);
      }
    },
  };
}
