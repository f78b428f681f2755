import { ApplicationFailure } from '@temporalio/activity';
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { failureTypes } from '../../common/failures.js';
import { httpCode, kubeFailure, mergePatch, strategicMerge, type KubeClients } from './client.js';
import { instanceNodeNames, isLabelValue } from './node-names.js';

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
  /** With `useProviderId`: the instance's zone, which names its resource name (`i-0abc.us-west-2.compute.internal`). */
  availabilityZone?: string | undefined;
  /**
   * With `useProviderId`: when no node goes by one of the instance's names, look through every node
   * (default). A caller that looks again and again (the launch's wait) asks for it less often.
   */
  listAllNodes?: boolean;
}

export interface NodePreparation {
  nodeName: string;
  taints: V1Taint[];
  labels: Record<string, string>;
  cordon: boolean;
  /** The interruption this cordon answers (its kind and AWS's event time): the notice-to-cordon latency. */
  notice?: { kind: string; epochMs: number };
}

const conflictRetries = 10;

/** The node was deleted under us: nothing a retry can change; the runbook ends as NodeNotFound. */
const nodeGone = (what: string) =>
  ApplicationFailure.create({ type: failureTypes.nodeGone, message: `${what}: the node is gone`, nonRetryable: true });

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

/** The taint the runbook adds after a drain (workflows/taints.ts): that preparation is no pre-drain. */
const outOfServiceKey = 'node.kubernetes.io/out-of-service';

export function createNodeActivities(
  { core }: Pick<KubeClients, 'core'>,
  { onPrepared }: { onPrepared?: (outcome: 'succeeded' | 'failed') => void } = {},
) {
  async function readNodeOrUndefined(name: string): Promise<V1Node | undefined> {
    try {
      return await core.readNode({ name });
    } catch (error) {
      if (httpCode(error) === 404) return undefined;
      throw kubeFailure(`reading node ${name}`, error);
    }
  }

  /**
   * Nodes as the API server's watch cache holds them (resourceVersion 0): a list with or without a
   * label selector is then answered from memory, never by reading every node from etcd. The cache
   * may be a moment behind: the node of an instance being terminated has long been there, and the
   * launch's wait looks again.
   */
  async function listNodes(labelSelector?: string): Promise<V1Node[]> {
    try {
      return (await core.listNode({ labelSelector, resourceVersion: '0' })).items;
    } catch (error) {
      throw kubeFailure(labelSelector ? `listing nodes with ${labelSelector}` : 'listing nodes', error);
    }
  }

  /**
   * Labels, cordons and taints the node. Labels and `unschedulable` merge without conflict; taints
   * are a list the API replaces whole, so they are written with the read resourceVersion as a
   * precondition and re-read on 409, never overwriting another writer's taint.
   */
  async function writePreparation(prep: NodePreparation): Promise<void> {
    const { nodeName } = prep;
    if (prep.cordon || Object.keys(prep.labels).length > 0) {
      const body = {
        metadata: { labels: prep.labels },
        ...(prep.cordon ? { spec: { unschedulable: true } } : {}),
      };
      try {
        await core.patchNode({ name: nodeName, body }, strategicMerge);
      } catch (error) {
        if (httpCode(error) === 404) throw nodeGone(`cordoning node ${nodeName}`);
        throw kubeFailure(`cordoning node ${nodeName}`, error);
      }
    }
    if (prep.taints.length === 0) return;
    for (let attempt = 1; ; attempt++) {
      const node = await readNodeOrUndefined(nodeName);
      if (!node) throw nodeGone(`tainting node ${nodeName}`);
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
          throw kubeFailure(`tainting node ${nodeName}`, error);
        }
        await sleep(50 * attempt);
      }
    }
  }

  return {
    /**
     * The node of an instance. By default the node named, or labelled `kubernetes.io/hostname`, by
     * its private DNS name. With `useProviderId`, the node whose `spec.providerID` names the instance:
     * looked up under each name EC2 gives the instance (by name, then by hostname label), and only
     * when none matches among every node (see `listNodes`).
     */
    async findNode(lookup: NodeLookup): Promise<NodeFacts | undefined> {
      if (!lookup.useProviderId) {
        if (!lookup.privateDnsName) return undefined;
        const byName = await readNodeOrUndefined(lookup.privateDnsName);
        if (byName) return facts(byName);
        // A name too long for a label value is no node's hostname label (and the API would refuse it).
        if (!isLabelValue(lookup.privateDnsName)) return undefined;
        const [byHostname] = await listNodes(`kubernetes.io/hostname=${lookup.privateDnsName}`);
        return byHostname && facts(byHostname);
      }
      const owned = (node: V1Node | undefined): node is V1Node =>
        node !== undefined && providerIdNames(node.spec?.providerID, lookup.instanceId);
      const names = instanceNodeNames(lookup);
      for (const name of names) {
        const node = await readNodeOrUndefined(name);
        if (owned(node)) return facts(node);
      }
      const hostnames = names.filter(isLabelValue);
      if (hostnames.length > 0) {
        const node = (await listNodes(`kubernetes.io/hostname in (${hostnames.join(',')})`)).find(owned);
        if (node) return facts(node);
      }
      if (lookup.listAllNodes === false) return undefined;
      // A node named in neither form (a kubelet's --hostname-override, a naming scheme of the
      // cluster's own) is known only by its spec.providerID, which no selector can match.
      const node = (await listNodes()).find(owned);
      return node && facts(node);
    },

    async nodeFacts(name: string): Promise<NodeFacts | undefined> {
      const node = await readNodeOrUndefined(name);
      return node && facts(node);
    },

    /** Prepares the node (see `writePreparation`), counted as NTH's pre-drain unless it is the out-of-service taint. */
    async prepareNode(prep: NodePreparation): Promise<void> {
      const count = prep.taints.some((t) => t.key === outOfServiceKey) ? undefined : onPrepared;
      try {
        await writePreparation(prep);
        count?.('succeeded');
      } catch (error) {
        count?.('failed');
        throw error;
      }
    },
  };
}
