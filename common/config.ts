// The service's configuration, from the environment, validated once at start. Names follow AWS Node
// Termination Handler where it has the setting, so its users keep their values.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { clusterNamePattern } from './cluster.js';
import { parseBudgetLimit } from './drain-budget.js';
import { maxHookTimeoutSeconds, maxSafeHeartbeatInterval } from './lifecycle.js';
import { defaultTaskQueue } from './names.js';
import { nthSettingProblems } from './nth-settings.js';
import { eventActions, type RunbookSettings } from './settings.js';
import { defaultWebhookTemplate, templateProblems } from './webhook-template.js';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False', '1', '0', ''])
    .default(fallback ? 'true' : 'false')
    .transform((value) => (value === '' ? fallback : ['true', 'TRUE', 'True', '1'].includes(value)));

const int = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (value) => (value === undefined || value === '' ? fallback : value),
    z.coerce.number().int().min(min).max(max),
  );

const text = (fallback: string) => z.string().default(fallback);
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === '' ? undefined : value));
const blankIsUnset = (value: unknown) => (value === '' ? undefined : value);
const optionalUrl = z.preprocess(blankIsUnset, z.url({ protocol: /^https?$/ }).optional());
const eventAction = z.preprocess(blankIsUnset, z.enum(eventActions).default('drain'));

/** A taint key: an optional DNS subdomain prefix and `/`, then a name of up to 63 characters. */
const taintKeyPattern =
  /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * Startup taints that say a node cannot serve yet although it is Ready: the cloud provider has not
 * initialised it, the kubelet or network is not up, or a CNI / CSI agent has not started on it.
 */
export const defaultLaunchReadinessTaints = [
  'node.cloudprovider.kubernetes.io/uninitialized',
  'node.kubernetes.io/not-ready',
  'node.kubernetes.io/unreachable',
  'node.kubernetes.io/network-unavailable',
  'node.cilium.io/agent-not-ready',
  'ebs.csi.aws.com/agent-not-ready',
  'efs.csi.aws.com/agent-not-ready',
];

const launchReadinessTaints = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const text = (value ?? '').trim();
    if (text === '') return defaultLaunchReadinessTaints;
    if (text === 'none') return [];
    const keys = text
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
    for (const key of keys) {
      if (!taintKeyPattern.test(key) || key.length > 317) {
        ctx.addIssue({ code: 'custom', message: `'${key}' is not a taint key (prefix/name, or 'none' for no taint)` });
      }
    }
    return keys;
  });

const budget = (options: { percentAllowed: boolean }) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      try {
        return parseBudgetLimit(value ?? '', options);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

const schema = z.object({
  // The cluster this tnth serves: its workflow ids and task queue carry it, and it handles only the
  // instances whose tags name it (or name no cluster).
  CLUSTER_NAME: z.preprocess(
    blankIsUnset,
    z
      .string({ error: 'required: the name of the cluster this tnth serves (its EKS cluster name)' })
      .regex(clusterNamePattern, '1 to 253 letters, digits, ., - or _, a letter or digit at both ends'),
  ),
  CLUSTER_TAG_KEY: optionalText,
  // The queue is this cluster's copy of an account-wide stream: other clusters' instances are expected.
  EXPECT_OTHER_CLUSTERS: bool(false),
  // Temporal
  TEMPORAL_ADDRESS: text('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: text('default'),
  TEMPORAL_TASK_QUEUE: optionalText,
  TEMPORAL_TLS: bool(false),
  TEMPORAL_TLS_CA_FILE: optionalText,
  TEMPORAL_TLS_CERT_FILE: optionalText,
  TEMPORAL_TLS_KEY_FILE: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  TEMPORAL_API_KEY: optionalText,
  // AWS (the SDK reads AWS_REGION and AWS_ENDPOINT_URL itself; checked here so a typo fails at start)
  QUEUE_URL: optionalUrl,
  AWS_REGION: z.preprocess(
    blankIsUnset,
    z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as us-east-1')
      .optional(),
  ),
  AWS_ENDPOINT_URL: optionalUrl,
  // Draining (NTH names)
  DRY_RUN: bool(false),
  CORDON_ONLY: bool(false),
  TAINT_NODE: bool(false),
  TAINT_EFFECT: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).default('NoSchedule'),
  // tnth's own: with TAINT_NODE, a state change taints aws-node-termination-handler/ec2-state-change (NTH never does).
  TAINT_STATE_CHANGE: bool(false),
  ENABLE_OUT_OF_SERVICE_TAINT: bool(false),
  EXCLUDE_FROM_LOAD_BALANCERS: bool(false),
  CHECK_TAG_BEFORE_DRAINING: bool(true),
  MANAGED_TAG: text('aws-node-termination-handler/managed'),
  USE_PROVIDER_ID: bool(false),
  IGNORE_DAEMON_SETS: bool(true),
  DELETE_LOCAL_DATA: bool(true),
  POD_TERMINATION_GRACE_PERIOD: int(-1, -1),
  NODE_TERMINATION_GRACE_PERIOD: int(120, 1),
  // Evictions in flight at once on one node (kubectl drain sends them all at once).
  EVICTION_CONCURRENCY: int(32, 1, 500),
  // Seconds past a pod's deletionTimestamp after which the drain stops waiting for it (kubectl's
  // --skip-wait-for-delete-timeout); 0 waits for every pod.
  SKIP_WAIT_FOR_DELETE_TIMEOUT: int(60, 0, 86400),
  COMPLETE_LIFECYCLE_ACTION_DELAY_SECONDS: int(-1, -1),
  DELETE_SQS_MSG_IF_NODE_NOT_FOUND: bool(false),
  HEARTBEAT_INTERVAL: int(-1, -1),
  // NTH's chart passes -1 (unset) when no heartbeat is configured: its default, 172800.
  HEARTBEAT_UNTIL: z.preprocess((value) => (value === '-1' ? '172800' : value), int(172800, 60, 172800)),
  // Lifecycle hooks tnth heartbeats and completes (comma list); unset: all of them.
  LIFECYCLE_HOOK_NAMES: z
    .string()
    .optional()
    .transform((value) => {
      const names = (value ?? '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      return names.length > 0 ? names : undefined;
    }),
  // What each kind of event does to the node (none, taint, cordon, drain); NTH drains every kind in
  // queue mode. An ASG termination and a Spot interruption always drain (CORDON_ONLY aside).
  REBALANCE_ACTION: eventAction,
  SCHEDULED_CHANGE_ACTION: eventAction,
  STATE_CHANGE_ACTION: eventAction,
  // Seconds after which a taint or cordon is removed when no termination followed (for a scheduled
  // change, counted from the end of its window).
  UNDO_AFTER: int(3600, 10, 604800),
  // Taint keys that keep a launching node from counting as ready (comma list; 'none': Ready alone).
  LAUNCH_READINESS_TAINTS: launchReadinessTaints,
  // Retries of the drain (this project's)
  DRAIN_RETRY_INTERVAL: int(20, 1),
  DRAIN_MAX_ATTEMPTS: int(0, 0),
  DRAIN_DEADLINE: int(172800, 1),
  // Drain budgets: at most this many nodes (or this % of their Auto Scaling group) draining at once.
  DRAIN_BUDGET_PER_GROUP: budget({ percentAllowed: true }),
  DRAIN_BUDGET: budget({ percentAllowed: false }),
  LIFECYCLE_RESULT_ON_FAILURE: z.enum(['ABANDON', 'CONTINUE', 'NONE']).default('ABANDON'),
  DUPLICATE_WINDOW: int(600, 0),
  // A run continues as new once its history has this many events (or Temporal suggests it sooner).
  HISTORY_EVENTS_PER_RUN: int(10000, 100, 40000),
  // Notifications
  EMIT_KUBERNETES_EVENTS: bool(false),
  KUBERNETES_EVENTS_EXTRA_ANNOTATIONS: optionalText,
  WEBHOOK_URL: optionalText,
  WEBHOOK_HEADERS: optionalText,
  WEBHOOK_TEMPLATE: optionalText,
  WEBHOOK_TEMPLATE_FILE: optionalText,
  WEBHOOK_PROXY: optionalText,
  // While a drain stays blocked (pods left after an attempt), a webhook and a node event this often;
  // 0 sends them only at the end.
  DRAIN_BLOCKED_NOTIFY_INTERVAL: int(600, 0, 172800),
  // Operations
  JSON_LOGGING: bool(true),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'])
    .default('info'),
  ENABLE_PROMETHEUS_SERVER: bool(false),
  PROMETHEUS_SERVER_PORT: int(9092, 1, 65535),
  ENABLE_PROBES_SERVER: bool(false),
  PROBES_SERVER_PORT: int(8080, 1, 65535),
  SHUTDOWN_GRACE_PERIOD: int(30, 1),
  // The worker's own pod (the chart sets them from the downward API): its drains evict tnth's pods
  // last, its own pod the very last, so a replica on the node it drains hands the drain over.
  POD_NAME: optionalText,
  POD_NAMESPACE: optionalText,
  NODE_NAME: optionalText,
  OWN_PODS_SELECTOR: z.preprocess(
    blankIsUnset,
    z
      .string()
      .regex(/^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*(,[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*)*$/, 'labels as key=value,key=value')
      .optional(),
  ),
  // Each termination holds two long activities (drain and heartbeat), mostly asleep: a worker can
  // run a thousand terminations at once for little memory, far beyond the SDK's default of 100.
  MAX_CONCURRENT_ACTIVITIES: int(2000, 1, 100000),
  // Workflows a worker keeps in memory between their tasks; one that is not must replay its history
  // for its next task. Unset, the SDK's choice from the heap limit: a few dozen at most in 512 MiB.
  WORKFLOW_CACHE_SIZE: z.preprocess(blankIsUnset, z.coerce.number().int().min(2).max(100000).optional()),
  STARTER_POLLERS: int(4, 1, 100),
});

/** The task queue, `tnth-termination-<CLUSTER_NAME>` unless TEMPORAL_TASK_QUEUE names another. */
export type Config = Omit<z.output<typeof schema>, 'TEMPORAL_TASK_QUEUE'> & { TEMPORAL_TASK_QUEUE: string };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses and cross-checks the environment; throws ConfigError naming each variable and its rule. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `${issue.path.join('.')}=${JSON.stringify(env[String(issue.path[0])] ?? '')}: ${issue.message}`,
      ),
    );
  }
  const config: Config = {
    ...parsed.data,
    TEMPORAL_TASK_QUEUE: parsed.data.TEMPORAL_TASK_QUEUE ?? `${defaultTaskQueue}-${parsed.data.CLUSTER_NAME}`,
    AWS_REGION: parsed.data.AWS_REGION ?? queueRegion(parsed.data.QUEUE_URL),
  };
  const problems: string[] = nthSettingProblems(env);
  if (config.HEARTBEAT_INTERVAL > config.HEARTBEAT_UNTIL) {
    problems.push(
      `HEARTBEAT_INTERVAL=${config.HEARTBEAT_INTERVAL}: must not exceed HEARTBEAT_UNTIL (${config.HEARTBEAT_UNTIL})`,
    );
  }
  if (config.HEARTBEAT_INTERVAL !== -1 && config.HEARTBEAT_INTERVAL < 5) {
    problems.push(
      `HEARTBEAT_INTERVAL=${config.HEARTBEAT_INTERVAL}: must be -1 (derive from the hook) or at least 5 seconds`,
    );
  }
  if (config.HEARTBEAT_INTERVAL > maxSafeHeartbeatInterval(maxHookTimeoutSeconds)) {
    problems.push(
      `HEARTBEAT_INTERVAL=${config.HEARTBEAT_INTERVAL}: no hook can carry it (HeartbeatTimeout is at most ${maxHookTimeoutSeconds} s, and a lost worker and throttling take ${maxHookTimeoutSeconds - maxSafeHeartbeatInterval(maxHookTimeoutSeconds)} s); at most ${maxSafeHeartbeatInterval(maxHookTimeoutSeconds)}`,
    );
  }
  if (config.WEBHOOK_TEMPLATE && config.WEBHOOK_TEMPLATE_FILE) {
    problems.push('WEBHOOK_TEMPLATE and WEBHOOK_TEMPLATE_FILE: set one, not both');
  } else if (config.WEBHOOK_URL) {
    try {
      const [variable, template] = webhookTemplate(config);
      problems.push(...templateProblems(template).map((p) => `${variable}: ${p}`));
    } catch (error) {
      problems.push(
        `WEBHOOK_TEMPLATE_FILE=${config.WEBHOOK_TEMPLATE_FILE}: cannot read it (${(error as Error).message})`,
      );
    }
    try {
      webhookHeaders(config);
    } catch (error) {
      problems.push(`WEBHOOK_HEADERS: ${(error as Error).message} (expected a JSON object of strings)`);
    }
    if (config.WEBHOOK_PROXY && !/^https?:\/\//.test(config.WEBHOOK_PROXY)) {
      problems.push(`WEBHOOK_PROXY=${config.WEBHOOK_PROXY}: must be an http:// or https:// URL`);
    }
  }
  try {
    eventAnnotations(config);
  } catch (error) {
    problems.push(`KUBERNETES_EVENTS_EXTRA_ANNOTATIONS: ${(error as Error).message}`);
  }
  if (config.TEMPORAL_TASK_QUEUE === defaultTaskQueue) {
    problems.push(
      `TEMPORAL_TASK_QUEUE=${defaultTaskQueue}: the task queue of releases before CLUSTER_NAME, whose workflows this release cannot replay; leave it unset (${defaultTaskQueue}-${config.CLUSTER_NAME}) and let the old release finish there (README: "Many clusters")`,
    );
  }
  if ((config.TEMPORAL_TLS_CERT_FILE === undefined) !== (config.TEMPORAL_TLS_KEY_FILE === undefined)) {
    problems.push('TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE: mTLS needs both');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** As NTH: without AWS_REGION, the region of `https://sqs.<region>.amazonaws.com/...`. */
function queueRegion(queueUrl: string | undefined): string | undefined {
  return /^https:\/\/sqs\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?\//.exec(queueUrl ?? '')?.[1];
}

export function runbookSettings(config: Config): RunbookSettings {
  return {
    clusterName: config.CLUSTER_NAME,
    clusterTagKey: config.CLUSTER_TAG_KEY,
    dryRun: config.DRY_RUN,
    cordonOnly: config.CORDON_ONLY,
    taintNode: config.TAINT_NODE,
    taintEffect: config.TAINT_EFFECT,
    taintStateChange: config.TAINT_STATE_CHANGE,
    enableOutOfServiceTaint: config.ENABLE_OUT_OF_SERVICE_TAINT,
    excludeFromLoadBalancers: config.EXCLUDE_FROM_LOAD_BALANCERS,
    checkTagBeforeDraining: config.CHECK_TAG_BEFORE_DRAINING,
    managedTag: config.MANAGED_TAG,
    useProviderId: config.USE_PROVIDER_ID,
    completeLifecycleActionDelaySeconds: config.COMPLETE_LIFECYCLE_ACTION_DELAY_SECONDS,
    deleteSqsMsgIfNodeNotFound: config.DELETE_SQS_MSG_IF_NODE_NOT_FOUND,
    heartbeatIntervalSeconds: config.HEARTBEAT_INTERVAL === -1 ? undefined : config.HEARTBEAT_INTERVAL,
    heartbeatUntilSeconds: config.HEARTBEAT_UNTIL,
    drain: {
      ignoreDaemonSets: config.IGNORE_DAEMON_SETS,
      deleteLocalData: config.DELETE_LOCAL_DATA,
      podTerminationGracePeriodSeconds: config.POD_TERMINATION_GRACE_PERIOD,
      nodeTerminationGracePeriodSeconds: config.NODE_TERMINATION_GRACE_PERIOD,
      evictionConcurrency: config.EVICTION_CONCURRENCY,
      skipWaitForDeleteTimeoutSeconds: config.SKIP_WAIT_FOR_DELETE_TIMEOUT,
    },
    drainRetryIntervalSeconds: config.DRAIN_RETRY_INTERVAL,
    drainMaxAttempts: config.DRAIN_MAX_ATTEMPTS,
    drainDeadlineSeconds: config.DRAIN_DEADLINE,
    lifecycleResultOnFailure: config.LIFECYCLE_RESULT_ON_FAILURE,
    duplicateWindowSeconds: config.DUPLICATE_WINDOW,
    historyEventsPerRun: config.HISTORY_EVENTS_PER_RUN,
    emitKubernetesEvents: config.EMIT_KUBERNETES_EVENTS,
    webhookEnabled: config.WEBHOOK_URL !== undefined,
    ...(config.DRAIN_BUDGET_PER_GROUP || config.DRAIN_BUDGET
      ? { drainBudget: { perGroup: config.DRAIN_BUDGET_PER_GROUP, cluster: config.DRAIN_BUDGET } }
      : {}),
    eventActions: {
      'rebalance-recommendation': config.REBALANCE_ACTION,
      'scheduled-change': config.SCHEDULED_CHANGE_ACTION,
      'state-change': config.STATE_CHANGE_ACTION,
    },
    undoAfterSeconds: config.UNDO_AFTER,
    launchReadinessTaints: config.LAUNCH_READINESS_TAINTS,
    drainBlockedNotifySeconds: config.DRAIN_BLOCKED_NOTIFY_INTERVAL,
  };
}

function webhookTemplate(config: Config): [variable: string, template: string] {
  if (config.WEBHOOK_TEMPLATE_FILE)
    return ['WEBHOOK_TEMPLATE_FILE', readFileSync(config.WEBHOOK_TEMPLATE_FILE, 'utf8')];
  return ['WEBHOOK_TEMPLATE', config.WEBHOOK_TEMPLATE ?? defaultWebhookTemplate];
}

function webhookHeaders(config: Config): Record<string, string> {
  if (!config.WEBHOOK_HEADERS) return {};
  const parsed = z.record(z.string(), z.string()).safeParse(JSON.parse(config.WEBHOOK_HEADERS));
  if (!parsed.success) throw new Error('not an object of string values');
  return parsed.data;
}

/** NTH's format: `key1=value1,key2=value2`. */
export function eventAnnotations(config: Config): Record<string, string> {
  if (!config.KUBERNETES_EVENTS_EXTRA_ANNOTATIONS) return {};
  return Object.fromEntries(
    config.KUBERNETES_EVENTS_EXTRA_ANNOTATIONS.split(',').map((pair) => {
      const [key, ...value] = pair.split('=');
      if (!key?.trim() || value.length === 0) throw new Error(`"${pair}" is not key=value`);
      return [key.trim(), value.join('=').trim()];
    }),
  );
}

/** Whether tnth owns the lifecycle hook `name` (LIFECYCLE_HOOK_NAMES; every hook when unset). */
export function ownsLifecycleHook(config: Config, name: string): boolean {
  return config.LIFECYCLE_HOOK_NAMES === undefined || config.LIFECYCLE_HOOK_NAMES.includes(name);
}

/** The webhook's settings, or undefined without WEBHOOK_URL. Call after loadConfig validated them. */
export function webhookSettings(config: Config) {
  if (!config.WEBHOOK_URL) return undefined;
  return {
    url: config.WEBHOOK_URL,
    headers: webhookHeaders(config),
    template: webhookTemplate(config)[1],
    proxy: config.WEBHOOK_PROXY,
  };
}

/** The worker's own pod and its release's pods, as the drain needs them (see POD_NAME). */
export function ownPods(config: Config) {
  const labels = config.OWN_PODS_SELECTOR
    ? Object.fromEntries(config.OWN_PODS_SELECTOR.split(',').map((pair) => pair.split('=') as [string, string]))
    : undefined;
  return { podName: config.POD_NAME, namespace: config.POD_NAMESPACE, nodeName: config.NODE_NAME, labels };
}
