// NTH's own Prometheus series of the worker (aws-node-termination-handler v1.25, pkg/observability/opentelemetry.go),
// beside tnth's, so dashboards and alerts built on NTH keep working. NTH exports them through
// OpenTelemetry's Prometheus exporter: the instrument `actions` becomes `actions_total`, its attributes
// `node/action` and `node/status` become `node_action` and `node_status`, and each series carries the
// meter's scope as `otel_scope_name` and `otel_scope_version` (NTH's e2e test matches them too).
// NTH's `events_error_total` counts its SQS monitor's failures: the starter serves it (starter/metrics.ts).
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ActivityMetrics } from '../activities/index.js';

/** NTH's meter: `provider.Meter("aws.node.termination.handler")`, no version. */
const scope = { otel_scope_name: 'aws.node.termination.handler', otel_scope_version: '' } as const;

/** NTH records the tagged instances and nodes every 30 s (`InitNodeMetrics`). */
const taggedIntervalMs = 30_000;

/** What NTH counts in `actions_total{node_action}` that tnth does too. */
export type NthAction = 'pre-drain' | 'cordon' | 'cordon-and-drain' | 'post-drain';

export interface NthMetrics {
  action(action: NthAction, ok: boolean): void;
  /** Adds NTH's actions to the activities' counters: the same calls, also counted NTH's way. */
  withActions(activity: ActivityMetrics, settings: { cordonOnly: boolean }): ActivityMetrics;
  /** Starts recording nth_tagged_instances and nth_tagged_nodes; returns the function that stops it. */
  recordTagged(source: TaggedSource): () => void;
}

export interface TaggedSource {
  ec2: EC2Client;
  core: Pick<CoreV1Api, 'listNode'>;
  managedTag: string;
  logger: Pick<Logger, 'warn'>;
}

export function createNthMetrics(registry: Registry): NthMetrics {
  const actions = new Counter({
    name: 'actions_total',
    help: "Number of actions (NTH's series: node_action pre-drain, cordon, cordon-and-drain, post-drain; node_status success or error)",
    labelNames: ['node_action', 'node_status', 'otel_scope_name', 'otel_scope_version'],
    registers: [registry],
  });
  const nodes = new Gauge({
    name: 'nth_tagged_nodes',
    help: "Number of nodes processing (NTH's series: the cluster's nodes whose instance carries MANAGED_TAG)",
    labelNames: ['otel_scope_name', 'otel_scope_version'],
    registers: [registry],
  });
  const instances = new Gauge({
    name: 'nth_tagged_instances',
    help: "Number of instances processing (NTH's series: the account's instances in the region carrying MANAGED_TAG)",
    labelNames: ['otel_scope_name', 'otel_scope_version'],
    registers: [registry],
  });
  // NTH adds 0 to each counter and records 0 in each gauge at start: the series exist from the first scrape.
  actions.inc(scope, 0);
  nodes.set(scope, 0);
  instances.set(scope, 0);
  const action = (name: NthAction, ok: boolean) =>
    actions.inc({ node_action: name, node_status: ok ? 'success' : 'error', ...scope });

  return {
    action,
    withActions: (activity, settings) => ({
      ...activity,
      // NTH: cordon-and-drain once per drain, succeeded or failed (draincordon.cordonAndDrainNode).
      drain: (outcome) => {
        activity.drain(outcome);
        action('cordon-and-drain', outcome === 'succeeded');
      },
      // NTH: post-drain is the task after a drain that succeeded: CompleteLifecycleAction with CONTINUE.
      lifecycleCompleted: (result) => {
        activity.lifecycleCompleted(result);
        if (result === 'CONTINUE') action('post-drain', true);
        else if (result === 'not-active') action('post-drain', false);
      },
      // NTH: pre-drain for the taints before the drain; with CORDON_ONLY a cordon as well.
      nodePrepared: (outcome) => {
        activity.nodePrepared?.(outcome);
        action('pre-drain', outcome === 'succeeded');
        if (settings.cordonOnly && outcome === 'succeeded') action('cordon', true);
      },
    }),
    recordTagged: (source) => {
      const record = async () => {
        try {
          const tagged = await taggedInstanceIds(source);
          instances.set(scope, tagged.size);
          const { items } = await source.core.listNode({ resourceVersion: '0' });
          nodes.set(scope, items.filter((node) => tagged.has(instanceOf(node.spec?.providerID) ?? '')).length);
        } catch (error) {
          source.logger.warn(
            { error: (error as Error).message },
            'could not count the instances and nodes tagged with MANAGED_TAG',
          );
        }
      };
      void record();
      const timer = setInterval(() => void record(), taggedIntervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

/** NTH's `GetInstanceIdsByTagKey`: every instance with the tag key, whatever its state, page by page. */
async function taggedInstanceIds({ ec2, managedTag }: TaggedSource): Promise<Set<string>> {
  const ids = new Set<string>();
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag-key', Values: [managedTag] }], NextToken: token }),
    );
    for (const reservation of page.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) if (instance.InstanceId) ids.add(instance.InstanceId);
    }
    token = page.NextToken;
  } while (token);
  return ids;
}

/** `aws:///us-west-2a/i-0abc` names its instance last, as NTH reads it (five parts, an `i-` id). */
function instanceOf(providerId: string | undefined): string | undefined {
  const parts = (providerId ?? '').split('/');
  const id = parts.at(-1);
  return parts.length === 5 && id?.startsWith('i-') ? id : undefined;
}
