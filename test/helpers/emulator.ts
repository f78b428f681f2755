// The AWS emulator's own endpoints (dev/aws): the call log of lifecycle actions and SQS deletes, and
// fault injection. Shared by every test at once: reads filter by group, faults are removed by id.
import { emulatorUrl } from './aws.js';

// ---- the call log ----------------------------------------------------------------------------

/** One entry of `GET /_emulator/lifecycle-calls`: an API call, an SQS delete entry or a state change. */
export interface LifecycleCall {
  /** ISO 8601 with milliseconds, UTC. */
  time: string;
  /** `RecordLifecycleActionHeartbeat`, `CompleteLifecycleAction`, `DeleteMessage`, `DeleteMessageBatch`,
   * or an event: `LifecycleActionStarted`, `LifecycleActionExpired`, `LifecycleActionCompleted`,
   * `LifecycleActionCancelled`. */
  action: string;
  instanceId: string | null;
  token: string | null;
  hook: string | null;
  group: string | null;
  /** `ok` or the AWS error code the call failed with. */
  outcome: string;
  /** CONTINUE / ABANDON: given to CompleteLifecycleAction, or applied by completion or expiry. */
  result?: string;
  /** Why an action expired (`HeartbeatTimeout`, `GlobalTimeout`) or was cancelled. */
  reason?: string;
  /** `Terminating:Wait` / `Pending:Wait` on `LifecycleActionStarted`. */
  state?: string;
  /** The queue name and message id of an SQS delete. */
  queue?: string;
  messageId?: string | null;
  [extra: string]: unknown;
}

async function emulatorRequest(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${emulatorUrl()}/_emulator/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} /_emulator/${path}: ${response.status} ${text}`);
  return JSON.parse(text) as unknown;
}

/** The call log, oldest first; `group` keeps the entries about that group (what concurrent tests leave alone). */
export async function lifecycleCalls(filter: { group?: string; actions?: string[] } = {}): Promise<LifecycleCall[]> {
  const query = filter.group === undefined ? '' : `?group=${encodeURIComponent(filter.group)}`;
  const { calls } = (await emulatorRequest('GET', `lifecycle-calls${query}`)) as { calls: LifecycleCall[] };
  return calls.filter((call) => filter.actions === undefined || filter.actions.includes(call.action));
}

/**
 * Forgets the call log entries about `group`. Without a group it empties the whole log, under the feet
 * of every other test using the stack: leave that to the emulator's own Python tests.
 */
export async function clearLifecycleCalls(group: string | undefined): Promise<void> {
  const query = group === undefined ? '' : `?group=${encodeURIComponent(group)}`;
  await emulatorRequest('DELETE', `lifecycle-calls${query}`);
}

// ---- faults ----------------------------------------------------------------------------------

export interface FaultSpec {
  /** The AWS API action to fail, e.g. `RecordLifecycleActionHeartbeat`. */
  action: string;
  /** The AWS error code it fails with, e.g. `Throttling`. */
  errorCode: string;
  /** Fraction of matching calls that fail (default 1). */
  rate?: number;
  message?: string;
  httpStatus?: number;
  /** Fail at most this many calls, then the fault is gone. */
  count?: number;
  /** Fail only calls with these request parameters, e.g. `{ AutoScalingGroupName: group }`. */
  params?: Record<string, string>;
}

export interface InjectedFault {
  id: string;
  remove(): Promise<void>;
}

export async function injectFault(spec: FaultSpec): Promise<InjectedFault> {
  const { fault } = (await emulatorRequest('POST', 'faults', spec)) as { fault: { id: string } };
  return {
    id: fault.id,
    remove: async () => {
      await emulatorRequest('DELETE', `faults/${fault.id}`).catch((error: unknown) => {
        // A fault with a count removes itself once spent.
        if (!(error instanceof Error && error.message.includes(' 404 '))) throw error;
      });
    },
  };
}

/** Removes every fault, including other tests' (the emulator's Python tests cover it); prefer `InjectedFault.remove()`. */
export async function clearFaults(): Promise<void> {
  await emulatorRequest('DELETE', 'faults');
}
