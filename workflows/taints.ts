import type { InterruptionEvent, InterruptionKind } from '../common/events.js';
import { nthEventId } from '../common/notification.js';
import type { RunbookSettings } from '../common/settings.js';

export interface Taint {
  key: string;
  value: string;
  effect: string;
}

/**
 * NTH's taint keys per interruption kind (`pkg/node/node.go`), so tolerations and alerts written for
 * NTH keep working. NTH taints in the pre-drain tasks of these four kinds only.
 */
const taintKeys: Record<
  'asg-terminate' | 'spot-interruption' | 'rebalance-recommendation' | 'scheduled-change',
  string
> = {
  'asg-terminate': 'aws-node-termination-handler/asg-lifecycle-termination',
  'spot-interruption': 'aws-node-termination-handler/spot-itn',
  'rebalance-recommendation': 'aws-node-termination-handler/rebalance-recommendation',
  'scheduled-change': 'aws-node-termination-handler/scheduled-maintenance',
};

/** tnth's own: NTH never taints for a state change; only with TAINT_STATE_CHANGE. */
export const stateChangeTaintKey = 'aws-node-termination-handler/ec2-state-change';

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

/** NTH's value (`ExcludeFromLoadBalancersLabelValue`): it tells a label NTH (or tnth) set from one set by hand. */
export const excludeFromLoadBalancersValue = 'aws-node-termination-handler';

/** NTH caps taint values at a label value's 63 characters (`maxTaintValueLength`), keeping the start. */
const maxTaintValueLength = 63;

/** A taint value is a label value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends. */
function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

/**
 * The taints before the drain (TAINT_NODE): NTH's key for each kind, its value NTH's event id of that
 * kind's event (`spot-itn-event-<hex>`, ...) cut to 63 characters as NTH cuts it.
 */
export function preDrainTaints(
  kinds: InterruptionKind[],
  events: InterruptionEvent[],
  settings: RunbookSettings,
): Taint[] {
  const taints: Taint[] = [];
  if (!settings.taintNode) return taints;
  for (const kind of kinds) {
    const key =
      kind === 'asg-launch'
        ? undefined
        : kind === 'state-change'
          ? settings.taintStateChange
            ? stateChangeTaintKey
            : undefined
          : taintKeys[kind];
    const event = events.find((e) => e.kind === kind) ?? events[0];
    if (!key || !event) continue;
    const value = labelValue(nthEventId({ kind, eventId: event.eventId }).slice(0, maxTaintValueLength));
    taints.push({ key, value, effect: settings.taintEffect });
  }
  return taints;
}

/**
 * The label before the drain (EXCLUDE_FROM_LOAD_BALANCERS), NTH's value. Set with CORDON_ONLY too, as
 * NTH documents it ("marked for exclusion from load balancers before they are cordoned"), although its
 * code sets it only when it drains.
 */
export function preDrainLabels(settings: RunbookSettings): Record<string, string> {
  if (!settings.excludeFromLoadBalancers) return {};
  return { [excludeFromLoadBalancersLabel]: excludeFromLoadBalancersValue };
}
