import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeKubeError, httpCode, mergePatch, strategicMerge, type KubeClients } from './client.js';

export interface NodeFacts {
  name: string;
  ready: boolean;
  unschedulable: boolean;
  providerId: string | undefined;
  /** Absent in results recorded by workers before labels were reported; running workflows replay them. */
  labels?: Record<string, string>;
}

export interface NodeLookup {
  instanceId: string;
  privateDnsName: string | undefined;
  useProviderId: boolean;
}

export interface NodePreparation {
  nodeName: string;
  taints: V1Taint[];
  labels: Record<string, string>;
  cordon: boolean;
}

const conflictRetries = 10;

function facts(node: V1Node): NodeFacts {
  return {
    name: node.metadata?.name ?? '',
    ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    unschedulable: node.spec?.unschedulable ?? false,
    providerId: node.spec?.providerID,
    labels: node.metadata?.labels ?? {},
  };
}

/** `aws:///us-east-1a/i-0abc` and `aws://us-east-1a/i-0abc` both end in the instance id. */
const providerIdNames = (providerId: string | undefined, instanceId: string) =>
  providerId !== undefined && providerId.split('/').at(-1) === instanceId;

export function createNodeActivities({ core }: KubeClients) {
  async function readNodeOrUndefined(name: string): Promise<V1Node | undefined> {
    try {
      return await core.readNode({ name });
    } catch (error) {
      if (httpCode(error) === 404) return undefined;
      throw new Error(`reading node ${name}: ${describeKubeError(error)}`, { cause: error });
    }
  }

  return {
    /** The node of an instance: by provider ID, or by name / `kubernetes.io/hostname` = private DNS name. */
    async findNode(lookup: NodeLookup): Promise<NodeFacts | undefined> {
      if (lookup.useProviderId) {
        const { items } = await core.listNode();
        const node = items.find((n) => providerIdNames(n.spec?.providerID, lookup.instanceId));
        return node && facts(node);
      }
      if (!lookup.privateDnsName) return undefined;
      const byName = await readNodeOrUndefined(lookup.privateDnsName);
      if (byName) return facts(byName);
      const { items } = await core.listNode({ labelSelector: `kubernetes.io/hostname=${lookup.privateDnsName}` });
      return items[0] && facts(items[0]);
    },

    async nodeFacts(name: string): Promise<NodeFacts | undefined> {
      const node = await readNodeOrUndefined(name);
      return node && facts(node);
    },

    /**
     * Labels, cordons and taints the node. Labels and `unschedulable` merge without conflict; taints
     * are a list the API replaces whole, so they are written with the read resourceVersion as a
     * precondition and re-read on 409, never overwriting another writer's taint.
     */
    async prepareNode(prep: NodePreparation): Promise<void> {
      const { nodeName } = prep;
      if (prep.cordon || Object.keys(prep.labels).length > 0) {
        const body = {
          metadata: { labels: prep.labels },
          ...(prep.cordon ? { spec: { unschedulable: true } } : {}),
        };
        try {
          await core.patchNode({ name: nodeName, body }, strategicMerge);
        } catch (error) {
          throw new Error(`cordoning node ${nodeName}: ${describeKubeError(error)}`, { cause: error });
        }
      }
      if (prep.taints.length === 0) return;
      for (let attempt = 1; ; attempt++) {
        const node = await readNodeOrUndefined(nodeName);
        if (!node) throw new Error(`tainting node ${nodeName}: the node is gone`);
        const existing = node.spec?.taints ?? [];
        const missing = prep.taints.filter((t) => !existing.some((e) => e.key === t.key && e.effect === t.effect));
        if (missing.length === 0) return;
        const body = {
          metadata: { resourceVersion: node.metadata?.resourceVersion },
          spec: { taints: [...existing, ...missing] },
        };
        try {
          await core.patchNode({ name: nodeName, body }, mergePatch);
          return;
        } catch (error) {
          if (httpCode(error) !== 409 || attempt >= conflictRetries) {
            throw new Error(`tainting node ${nodeName}: ${describeKubeError(error)}`, { cause: error });
          }
          await sleep(50 * attempt);
        }
      }
    },
  };
}
