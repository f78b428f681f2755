/*
 * Every setting of AWS Node Termination Handler v1.25 (its pkg/config/config.go) and what tnth does
 * with it, so an NTH user's environment carries over: what tnth reads the same way is read; what it
 * cannot honour and would change the outcome if ignored is refused at start with the fix named; what
 * only mattered to NTH's IMDS mode or its own process is noted at start and otherwise ignored. The
 * README's "Moving from NTH" checklist says the same for each, and a test keeps the three in step
 * (test/service/nth-settings.test.ts, over a fixture of v1.25.6's names).
 */

export type NthSettingFate =
  /** tnth reads it, with NTH's meaning. */
  | 'same'
  /** tnth has it under another name: refused at start, naming it. */
  | 'renamed'
  /** Only NTH's IMDS mode (or its DaemonSet) used it: ignored, with a note at start. */
  | 'imds-only'
  /** Queue mode needs no such setting in tnth (it does it always, or another way): ignored, with a note. */
  | 'not-needed'
  /** tnth does not do it (yet): refused at start when set to what tnth cannot do. */
  | 'not-supported';

export interface NthSetting {
  fate: NthSettingFate;
  /** The tnth variable for a renamed one. */
  to?: string;
  /** For `not-supported`: whether a value asks for what tnth cannot do (unset and empty never do). */
  refuses?: (value: string) => boolean;
  /** What tnth does instead, as the start-up note and the refusal say it. */
  note: string;
}

const isFalse = (value: string) => ['false', '0', 'f', 'F', 'FALSE', 'False'].includes(value);

export const nthSettings: Record<string, NthSetting> = {
  DRY_RUN: { fate: 'same', note: 'logs each thing it would do' },
  NODE_NAME: { fate: 'same', note: "the worker's own node (the chart sets it): its own pods are evicted last" },
  POD_NAME: { fate: 'same', note: "the worker's own pod (the chart sets it): evicted last" },
  // Not refused by name: many environments set a NAMESPACE of their own.
  NAMESPACE: { fate: 'not-needed', note: "tnth's chart sets POD_NAMESPACE, the worker's own namespace" },
  INSTANCE_METADATA_URL: { fate: 'imds-only', note: 'tnth reads no instance metadata service' },
  IGNORE_DAEMON_SETS: { fate: 'same', note: '' },
  DELETE_LOCAL_DATA: { fate: 'same', note: '' },
  KUBERNETES_SERVICE_HOST: { fate: 'same', note: 'read by the Kubernetes client in a pod' },
  KUBERNETES_SERVICE_PORT: { fate: 'same', note: 'read by the Kubernetes client in a pod' },
  GRACE_PERIOD: { fate: 'renamed', to: 'POD_TERMINATION_GRACE_PERIOD', note: "NTH's deprecated name" },
  POD_TERMINATION_GRACE_PERIOD: { fate: 'same', note: '' },
  NODE_TERMINATION_GRACE_PERIOD: { fate: 'same', note: 'the time one drain attempt may take' },
  WEBHOOK_URL: { fate: 'same', note: '' },
  WEBHOOK_PROXY: { fate: 'same', note: '' },
  WEBHOOK_HEADERS: { fate: 'same', note: '' },
  WEBHOOK_TEMPLATE: { fate: 'same', note: "NTH's variables and formats" },
  WEBHOOK_TEMPLATE_FILE: { fate: 'same', note: "NTH's variables and formats" },
  ENABLE_SCHEDULED_EVENT_DRAINING: {
    fate: 'imds-only',
    note: 'in queue mode every scheduled change on the queue is drained, as NTH does; SCHEDULED_CHANGE_ACTION chooses another action',
  },
  ENABLE_SPOT_INTERRUPTION_DRAINING: {
    fate: 'imds-only',
    note: 'in queue mode every Spot interruption on the queue is drained, as NTH does',
  },
  ENABLE_ASG_LIFECYCLE_DRAINING: { fate: 'imds-only', note: "NTH's IMDS target-lifecycle-state monitor" },
  ENABLE_SQS_TERMINATION_DRAINING: {
    fate: 'not-supported',
    refuses: isFalse,
    note: 'tnth is queue-processor mode only; IMDS mode is not supported: run NTH in IMDS mode, or give tnth a queue',
  },
  ENABLE_REBALANCE_MONITORING: {
    fate: 'imds-only',
    note: 'in queue mode a rebalance recommendation on the queue is drained, as NTH does; REBALANCE_ACTION chooses another action',
  },
  ENABLE_REBALANCE_DRAINING: {
    fate: 'imds-only',
    note: 'in queue mode a rebalance recommendation on the queue is drained, as NTH does; REBALANCE_ACTION chooses another action',
  },
  CHECK_ASG_TAG_BEFORE_DRAINING: { fate: 'renamed', to: 'CHECK_TAG_BEFORE_DRAINING', note: "NTH's deprecated name" },
  CHECK_TAG_BEFORE_DRAINING: { fate: 'same', note: '' },
  MANAGED_ASG_TAG: { fate: 'renamed', to: 'MANAGED_TAG', note: "NTH's deprecated name" },
  MANAGED_TAG: { fate: 'same', note: '' },
  METADATA_TRIES: { fate: 'imds-only', note: 'tnth reads no instance metadata service' },
  CORDON_ONLY: { fate: 'same', note: '' },
  TAINT_NODE: { fate: 'same', note: "NTH's taint keys and values" },
  TAINT_EFFECT: { fate: 'same', note: '' },
  ENABLE_OUT_OF_SERVICE_TAINT: { fate: 'same', note: 'only after a drain that succeeded' },
  EXCLUDE_FROM_LOAD_BALANCERS: { fate: 'same', note: "NTH's label value" },
  JSON_LOGGING: { fate: 'not-needed', note: 'tnth always logs JSON lines' },
  LOG_LEVEL: { fate: 'same', note: '' },
  LOG_FORMAT_VERSION: { fate: 'not-needed', note: "tnth's log lines have one format" },
  UPTIME_FROM_FILE: { fate: 'imds-only', note: "NTH's uncordon after a reboot (IMDS mode)" },
  ENABLE_PROMETHEUS_SERVER: { fate: 'same', note: "NTH's series beside tnth's" },
  PROMETHEUS_SERVER_PORT: { fate: 'same', note: '' },
  ENABLE_PROBES_SERVER: { fate: 'same', note: '' },
  PROBES_SERVER_PORT: { fate: 'same', note: '' },
  PROBES_SERVER_ENDPOINT: {
    fate: 'not-supported',
    refuses: (value) => value !== '/healthz',
    note: 'tnth serves its liveness probe at /healthz and readiness at /readyz: point the probe there and unset it',
  },
  EMIT_KUBERNETES_EVENTS: { fate: 'same', note: "NTH's reasons" },
  KUBERNETES_EVENTS_EXTRA_ANNOTATIONS: { fate: 'same', note: '' },
  AWS_REGION: { fate: 'same', note: "unset, the queue URL's region, as NTH" },
  AWS_ENDPOINT: { fate: 'renamed', to: 'AWS_ENDPOINT_URL', note: "the AWS SDK's own name" },
  QUEUE_URL: { fate: 'same', note: '' },
  WORKERS: {
    fate: 'not-needed',
    note: 'terminations run at once, each its own workflow (MAX_CONCURRENT_ACTIVITIES bounds a worker)',
  },
  USE_PROVIDER_ID: { fate: 'same', note: '' },
  COMPLETE_LIFECYCLE_ACTION_DELAY_SECONDS: { fate: 'same', note: '' },
  DELETE_SQS_MSG_IF_NODE_NOT_FOUND: {
    fate: 'same',
    note: 'completes the action (CONTINUE) when the node is not found',
  },
  USE_APISERVER_CACHE: { fate: 'not-needed', note: "tnth always lists pods from the API server's watch cache" },
  HEARTBEAT_INTERVAL: { fate: 'same', note: '-1 (NTH: no heartbeats) derives the interval from the hook' },
  HEARTBEAT_UNTIL: { fate: 'same', note: '-1 (NTH: unset) is 172800' },
  SQS_MSG_VISIBILITY_TIMEOUT_SEC: {
    fate: 'not-needed',
    note: 'the starter deletes a message once Temporal has its events, and keeps a held one invisible itself',
  },
};

/** Set in the environment: unset and empty are not (NTH's getEnv reads empty as unset too). */
const present = (env: NodeJS.ProcessEnv, name: string) => env[name] !== undefined && env[name] !== '';

/** The NTH settings set in `env` that tnth refuses, each naming what to do instead. */
export function nthSettingProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(nthSettings)) {
    if (!present(env, name)) continue;
    const value = env[name]!;
    if (setting.fate === 'renamed' && !present(env, setting.to!)) {
      problems.push(
        `${name}=${JSON.stringify(value)}: NTH's setting is ${setting.to} in tnth (${setting.note}); set ${setting.to} instead`,
      );
    } else if (setting.fate === 'renamed') {
      problems.push(`${name}: NTH's name of ${setting.to}, which is set too; unset ${name}`);
    } else if (setting.fate === 'not-supported' && setting.refuses?.(value)) {
      problems.push(`${name}=${JSON.stringify(value)}: ${setting.note}`);
    }
  }
  return problems;
}

/** Notes for NTH settings set in `env` that tnth ignores: what it does instead. */
export function nthSettingNotes(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(nthSettings)
    .filter(([name, s]) => present(env, name) && (s.fate === 'imds-only' || s.fate === 'not-needed'))
    .map(([name, s]) => `${name} is NTH's setting, ignored by tnth: ${s.note}`);
}
