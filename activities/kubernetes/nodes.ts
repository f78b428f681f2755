import { ApplicationFailure } from '@temporalio/activity';
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { failureTypes } from '../../common/failures.js';
import { mergeChanges, type NodeChanges } from '../../common/status.js';
import { httpCode, kubeFailure, mergePatch, strategicMerge, type KubeClients } from './client.js';
import { instanceNodeNames, isLabelValue } from './node-names.js';

export interface NodeFacts {
  name: string;
  ready: boolean;
  unschedulable: boolean;
  providerId: string | undefined;
  /** Absent in results recorded by workers before labels were reported; running workflows replay them. */
  labels?: Record<string, string>;
  /** The node's taint keys; absent in results recorded before they were reported. */
  taintKeys?: string[];
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
  /**
   * An annotation to keep what this preparation added in (JSON `NodeChanges`), for whoever undoes
   * it later: an instance returning from the warm pool finds it on its node.
   */
  recordAs?: string;
  /** The interruption this cordon answers (its kind and AWS's event time): the notice-to-cordon latency. */
  notice?: { kind: string; epochMs: number };
}

export interface NodeRestoration {
  nodeName: string;
  /** What to remove; without it, what the annotation `recordedAs` holds. */
  changes?: NodeChanges;
  /** The annotation a preparation recorded its changes in; removed with them. */
  recordedAs?: string;
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
    taintKeys: (node.spec?.taints ?? []).map((t) => t.key),
  };
}

const sameTaint = (a: V1Taint, b: V1Taint) => a.key === b.key && a.effect === b.effect;

/** The recorded changes of an annotation, or undefined when it holds none (or not JSON of them). */
function recordedChanges(node: V1Node, annotation: string): NodeChanges | undefined {
  const text = node.metadata?.annotations?.[annotation];
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<NodeChanges>;
    return {
      cordoned: parsed.cordoned === true,
      taints: Array.isArray(parsed.taints) ? parsed.taints : [],
      labels: Array.isArray(parsed.labels) ? parsed.labels.filter((l) => typeof l === 'string') : [],
    };
  } catch {
    return undefined;
  }
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
   * Labels, cordons and taints the node, and returns what it added (not what was there). Labels and
   * `unschedulable` merge without conflict; taints go through `writeTaints`.
   */
  async function writePreparation(prep: NodePreparation): Promise<NodeChanges> {
    const { nodeName } = prep;
    const before = await readNodeOrUndefined(nodeName);
    if (!before) throw nodeGone(`cordoning node ${nodeName}`);
    const changes: NodeChanges = {
      cordoned: prep.cordon && before.spec?.unschedulable !== true,
      taints: [],
      labels: Object.entries(prep.labels)
        .filter(([key, value]) => before.metadata?.labels?.[key] !== value)
        .map(([key]) => key),
    };
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
    if (prep.taints.length > 0) {
      changes.taints = await writeTaints(nodeName, (existing) => [
        ...existing,
        ...prep.taints.filter((t) => !existing.some((e) => sameTaint(e, t))),
      ]);
    }
    if (prep.recordAs) {
      const recorded = mergeChanges(recordedChanges(before, prep.recordAs), changes);
      await annotate(nodeName, prep.recordAs, JSON.stringify(recorded));
    }
    return changes;
  }

  /**
   * Rewrites the node's taints as `next` makes them from the current ones, with the read
   * resourceVersion as a precondition, re-reading on 409: taints are a list the API replaces whole,
   * so another writer's taint is never overwritten. Returns the taints added.
   */
  async function writeTaints(
    nodeName: string,
    next: (existing: V1Taint[]) => V1Taint[],
  ): Promise<NodeChanges['taints']> {
    for (let attempt = 1; ; attempt++) {
      const node = await readNodeOrUndefined(nodeName);
      if (!node) throw nodeGone(`tainting node ${nodeName}`);
      const existing = node.spec?.taints ?? [];
      const taints = next(existing);
      const added = taints.filter((t) => !existing.some((e) => sameTaint(e, t)));
      if (taints.length === existing.length && added.length === 0) return [];
      const body = { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints } };
      try {
        await core.patchNode({ name: nodeName, body }, mergePatch);
        return added.map((t) => ({ key: t.key, value: t.value ?? '', effect: t.effect }));
      } catch (error) {
        if (httpCode(error) !== 409 || attempt >= conflictRetries) {
          throw kubeFailure(`tainting node ${nodeName}`, error);
        }
        await sleep(50 * attempt);
      }
    }
  }

  async function annotate(nodeName: string, key: string, value: string): Promise<void> {
    try {
      await core.patchNode({ name: nodeName, body: { metadata: { annotations: { [key]: value } } } }, strategicMerge);
    } catch (error) {
      if (httpCode(error) === 404) throw nodeGone(`annotating node ${nodeName}`);
      throw kubeFailure(`annotating node ${nodeName}`, error);
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
    async prepareNode(prep: NodePreparation): Promise<NodeChanges> {
      const count = prep.taints.some((t) => t.key === outOfServiceKey) ? undefined : onPrepared;
      try {
        const changes = await writePreparation(prep);
        count?.('succeeded');
        return changes;
      } catch (error) {
        count?.('failed');
        throw error;
      }
    },

    /**
     * Takes back what a preparation added, and only that: the cordon if it set it, its taints (by
     * key, effect and value) and its labels. A node gone meanwhile has nothing left to take back.
     */
    async restoreNode(input: NodeRestoration): Promise<NodeChanges | undefined> {
      const { nodeName } = input;
      const node = await readNodeOrUndefined(nodeName);
      if (!node) return undefined;
      const changes = input.changes ?? (input.recordedAs ? recordedChanges(node, input.recordedAs) : undefined);
      if (!changes) return undefined;
      if (changes.taints.length > 0) {
        await writeTaints(nodeName, (existing) =>
          existing.filter((e) => !changes.taints.some((t) => sameTaint(e, t) && (e.value ?? '') === t.value)),
        );
      }
      const labels = Object.fromEntries(changes.labels.map((l) => [l, null]));
      const annotations = input.recordedAs ? { [input.recordedAs]: null } : {};
      if (changes.cordoned || changes.labels.length > 0 || input.recordedAs) {
        const body = {
          metadata: { labels, annotations },
          ...(changes.cordoned ? { spec: { unschedulable: null } } : {}),
        };
        try {
          await core.patchNode({ name: nodeName, body }, strategicMerge);
        } catch (error) {
          if (httpCode(error) === 404) return undefined;
          throw kubeFailure(`uncordoning node ${nodeName}`, error);
        }
      }
      return changes;
    },
  };
}
