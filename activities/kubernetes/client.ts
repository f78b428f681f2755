import { ApplicationFailure } from '@temporalio/activity';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
} from '@kubernetes/client-node';
import { failureTypes } from '../../common/failures.js';

export interface KubeClients {
  core: CoreV1Api;
  /** For the drain's DaemonSet check. */
  apps: AppsV1Api;
}

/** From `kubeconfigPath`, else KUBECONFIG / ~/.kube/config / the in-cluster service account. */
export function createKubeClients(kubeconfigPath?: string): KubeClients {
  const config = new KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return { core: config.makeApiClient(CoreV1Api), apps: config.makeApiClient(AppsV1Api) };
}

export function httpCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** Request options that send a patch body with the given content type. */
export const patchAs = (strategy: (typeof PatchStrategy)[keyof typeof PatchStrategy]): ConfigurationOptions =>
  setHeaderOptions('Content-Type', strategy);

export const strategicMerge = patchAs(PatchStrategy.StrategicMergePatch);
export const mergePatch = patchAs(PatchStrategy.MergePatch);

/**
 * Answers no retry can change: a malformed or invalid request, or one RBAC does not allow. A 401 is
 * not among them: a projected token or an exec plugin's credentials are renewed while we retry.
 */
const refusedCodes = new Set([400, 403, 422]);

/**
 * The error to throw for a failed call, wrapped with what was being done: a permanent one
 * (`KubernetesRequestRefused`, never retried) when the API server refused the request for good,
 * else a plain error that the activity's retry policy retries (outages, 5xx, 429 from API Priority
 * and Fairness).
 */
export function kubeFailure(what: string, error: unknown): Error {
  const message = `${what}: ${describeKubeError(error)}`;
  const code = httpCode(error);
  if (code === undefined) {
    // No answer at all (refused, reset, timed out): the API server is out of reach, not refusing.
    return ApplicationFailure.create({ type: failureTypes.kubernetesUnreachable, message, cause: asError(error) });
  }
  if (refusedCodes.has(code)) {
    return ApplicationFailure.create({
      type: failureTypes.kubernetesRefused,
      message,
      nonRetryable: true,
      cause: asError(error),
    });
  }
  return new Error(message, { cause: error });
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

/** The Retry-After of a 429 or 503: the Status's `details.retryAfterSeconds`, else the header; NaN if none. */
export function retryAfterSeconds(error: unknown): number {
  if (!(error instanceof ApiException)) return NaN;
  const body = statusBody(error);
  const fromBody = (body as { details?: { retryAfterSeconds?: number } } | undefined)?.details?.retryAfterSeconds;
  if (typeof fromBody === 'number') return fromBody;
  const headers = error.headers as Record<string, string | undefined>;
  return Number(headers['retry-after'] ?? headers['Retry-After'] ?? NaN);
}

function statusBody(error: ApiException<unknown>): unknown {
  if (typeof error.body !== 'string') return error.body;
  try {
    return JSON.parse(error.body) as unknown;
  } catch {
    return undefined;
  }
}

/** True when the API server's Status names `reason` among its causes (`details.causes[].reason`). */
export function hasCause(error: unknown, reason: string): boolean {
  if (!(error instanceof ApiException)) return false;
  const causes = (statusBody(error) as { details?: { causes?: { reason?: string }[] } } | undefined)?.details?.causes;
  return causes?.some((c) => c.reason === reason) ?? false;
}

/** The API server's own words for a failed call, without the client's request dump. */
export function describeKubeError(error: unknown): string {
  if (error instanceof ApiException) {
    const message = statusMessage(error.body as unknown);
    return `HTTP ${error.code}${message ? `: ${message}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body !== 'string') return (body as { message?: string } | undefined)?.message;
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body;
  } catch {
    return body;
  }
}
