import type { InterruptionKind } from '../common/events.js';
import type { RunbookSettings } from '../common/settings.js';

export interface Taint {
  key: string;
  value: string;
  effect: string;
}

/** NTH's taint keys per interruption kind, so tolerations and alerts written for NTH keep working. */
const taintKeys: Record<Exclude<InterruptionKind, 'asg-launch'>, string> = {
  'asg-terminate': 'aws-node-termination-handler/asg-lifecycle-termination',
  'spot-interruption': 'aws-node-termination-handler/spot-itn',
  'rebalance-recommendation': 'aws-node-termination-handler/rebalance-recommendation',
  'scheduled-change': 'aws-node-termination-handler/scheduled-maintenance',
  'state-change': 'aws-node-termination-handler/ec2-state-change',
};

/**
 * The non-graceful node shutdown taint: its NoExecute deletes the node's pods at once, ignoring their
 * budgets, and lets their volumes be force-detached. Only for a node whose drain succeeded and whose
 * instance is going down (as NTH applies it), never before the drain and never with CORDON_ONLY.
 */
export const outOfServiceTaint: Taint = {
  key: 'node.kubernetes.io/out-of-service',
  value: 'nodeshutdown',
  effect: 'NoExecute',
};

export const excludeFromLoadBalancersLabel = 'node.kubernetes.io/exclude-from-external-load-balancers';

/** A taint value is a label value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends. */
function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

export function preDrainTaints(kinds: InterruptionKind[], eventId: string, settings: RunbookSettings): Taint[] {
  const taints: Taint[] = [];
  if (settings.taintNode) {
    for (const kind of kinds) {
      if (kind === 'asg-launch') continue;
      taints.push({ key: taintKeys[kind], value: labelValue(eventId), effect: settings.taintEffect });
    }
  }
  return taints;
}
