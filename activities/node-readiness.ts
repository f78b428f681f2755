import { Context } from '@temporalio/activity';
import type { createInstanceActivities } from './aws/instances.js';
import type { createNodeActivities } from './kubernetes/nodes.js';

export interface NodeReadinessInput {
  instanceId: string;
  useProviderId: boolean;
  /** Epoch ms at which to stop waiting. */
  deadlineEpochMs: number;
}

export interface NodeReadiness {
  nodeName: string | undefined;
  ready: boolean;
}

type Instances = ReturnType<typeof createInstanceActivities>;
type Nodes = ReturnType<typeof createNodeActivities>;

/**
 * Waits until the instance's node has joined the cluster and is Ready, polling both systems and
 * heartbeating what it saw; returns at the deadline with what it last saw. A retried attempt starts
 * over from the API's state, which is the only state there is.
 */
export function createNodeReadinessActivities(instances: Instances, nodes: Nodes, pollMs = 2_000) {
  return {
    async waitForNodeReady(input: NodeReadinessInput): Promise<NodeReadiness> {
      const ctx = Context.current();
      for (;;) {
        const instance = await instances.describeInstance(input.instanceId);
        const node = await nodes.findNode({
          instanceId: input.instanceId,
          privateDnsName: instance?.privateDnsName,
          useProviderId: input.useProviderId,
        });
        const seen: NodeReadiness = { nodeName: node?.name, ready: node?.ready ?? false };
        ctx.heartbeat(seen);
        if (seen.ready || Date.now() >= input.deadlineEpochMs) return seen;
        await ctx.sleep(Math.min(pollMs, input.deadlineEpochMs - Date.now()));
      }
    },
  };
}
