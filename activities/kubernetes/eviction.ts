import {
  Observable,
  type ConfigurationOptions,
  type CoreV1Api,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
  type V1Pod,
} from '@kubernetes/client-node';
import { describeKubeError, hasCause, httpCode, kubeFailure, retryAfterSeconds } from './client.js';

/**
 * What became of one pod's eviction. Each is that pod's alone: no outcome stops the evictions of
 * the other pods, except the API server being out of reach (thrown: it is so for every pod).
 */
export type EvictionOutcome =
  | { kind: 'evicted' }
  /** The namespace is being deleted, and the pod with it (kubectl drain waits for it the same way). */
  | { kind: 'namespace-terminating' }
  /** A PodDisruptionBudget allows no disruption now (429 naming the budget). */
  | { kind: 'budget' }
  /** API Priority and Fairness shed the request (429 without a budget): wait the server's Retry-After. */
  | { kind: 'throttled'; retryAfterMs: number }
  /** The server refused this pod's eviction otherwise (two budgets, an admission policy, a webhook, a 5xx). */
  | { kind: 'refused'; reason: string };

/**
 * A call that hangs (a half-open connection, an overloaded server) ends after this long; the drain
 * heartbeats on a timer, so without it a hung call would never be noticed before the attempt's end.
 */
const requestTimeoutMs = 30_000;

/**
 * Request options that abort the call when the activity is cancelled or its worker shuts down, or
 * when the call takes longer than `requestTimeoutMs` (then it fails like an unreachable server).
 */
export function abortable(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      context.setSignal(AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]));
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

export async function evictPod(
  core: CoreV1Api,
  pod: V1Pod,
  gracePeriodSeconds: number,
  signal: AbortSignal,
): Promise<EvictionOutcome> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  try {
    await core.createNamespacedPodEviction(
      {
        name,
        namespace,
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name, namespace },
          ...(gracePeriodSeconds >= 0 ? { deleteOptions: { gracePeriodSeconds } } : {}),
        },
      },
      abortable(signal),
    );
    return { kind: 'evicted' };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const code = httpCode(error);
    if (code === 429 && hasCause(error, 'DisruptionBudget')) return { kind: 'budget' };
    if (code === 429) return { kind: 'throttled', retryAfterMs: retryAfterMs(error) };
    // Gone already: what an eviction is for.
    if (code === 404) return { kind: 'evicted' };
    if (code === 403 && hasCause(error, 'NamespaceTerminating')) return { kind: 'namespace-terminating' };
    // RBAC's own refusal is the same for every pod and every round: the drain fails at once, naming
    // the verb and resource to grant (an admission webhook's 403 is that pod's outcome, below).
    if (code === 403 && /cannot \w+ resource/.test(describeKubeError(error))) {
      throw kubeFailure(`evicting pod ${namespace}/${name}`, error);
    }
    if (code === undefined) throw kubeFailure(`evicting pod ${namespace}/${name}`, error);
    return { kind: 'refused', reason: describeKubeError(error) };
  }
}

/** The server's Retry-After (its Status's `retryAfterSeconds`, else the header), at most 10 s. */
export function retryAfterMs(error: unknown): number {
  const seconds = retryAfterSeconds(error);
  return Math.min(Number.isFinite(seconds) && seconds > 0 ? seconds : 1, 10) * 1000;
}
