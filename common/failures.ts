/**
 * Failure type names that activities throw and workflows decide on (retry policies, attempt
 * counting); the `status` query and the Web UI show them.
 */
export const failureTypes = {
  /** The API server refused the request for good: 400, 403 (RBAC), 422 (validation). */
  kubernetesRefused: 'KubernetesRequestRefused',
  /** No answer from the API server (connection refused, reset, timed out); retried. */
  kubernetesUnreachable: 'KubernetesUnreachable',
  /** The node is gone from the API server (404): the termination ends as NodeNotFound. */
  nodeGone: 'NodeNotFound',
  /** AWS refused the request for good: access denied, validation, unknown parameters. */
  awsRefused: 'AwsRequestRefused',
  /** A drain attempt ran to its end with pods still on the node. */
  drainTimeout: 'DrainTimeout',
  /** Pods that no drain may move under the settings (DaemonSet pods, emptyDir data). */
  undrainable: 'UndrainablePods',
  /** No place in the drain budget came before the drain deadline. */
  drainBudgetTimeout: 'DrainBudgetTimeout',
} as const;

/** Failures no retry can fix: every retry policy of the project stops on them at once. */
export const permanentFailureTypes = [
  failureTypes.kubernetesRefused,
  failureTypes.awsRefused,
  failureTypes.nodeGone,
  failureTypes.drainBudgetTimeout,
] as const;

/**
 * The last failures of a drain attempt that Temporal retried until the attempt's time ran out
 * without the drain deciding anything: a worker's shutdown, the API server out of reach. Such an
 * attempt is resumed under its number; any other failure (a 500 that stays, a bug) counts.
 */
export const interruptionTypes = ['WorkerShutdown', 'CancelledFailure', failureTypes.kubernetesUnreachable] as const;

/** A drain attempt that failed with one of these ran and failed; it counts toward DRAIN_MAX_ATTEMPTS. */
export const drainFailedTypes = [failureTypes.drainTimeout, failureTypes.undrainable] as const;
