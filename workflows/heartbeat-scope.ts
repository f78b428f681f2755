import { CancellationScope, condition } from '@temporalio/workflow';
import type { LifecycleTarget } from '../common/lifecycle.js';

/**
 * Runs one drain attempt with the lifecycle heartbeat beside it, in one cancellation scope. The
 * heartbeat starts as soon as there is a lifecycle action to keep alive (at once for an ASG event,
 * or when a lifecycle token arrives mid-drain). However the attempt ends — success, failure, a
 * cancelled workflow, an operator's stop — the scope is cancelled and the heartbeat activity is
 * awaited until it has really stopped (it runs with WAIT_CANCELLATION_COMPLETED) before this returns
 * or throws. Every drain attempt goes through here: no path can leave a heartbeat loop behind.
 */
export async function withLifecycleHeartbeat<T>(
  lifecycle: () => LifecycleTarget | undefined,
  heartbeat: (target: LifecycleTarget) => Promise<unknown>,
  attempt: () => Promise<T>,
): Promise<T> {
  const scope = new CancellationScope();
  const running = scope.run(async () => {
    await condition(() => lifecycle() !== undefined);
    return heartbeat(lifecycle()!);
  });
  // Handled at once: a heartbeat that ends or fails on its own must not fail the workflow task.
  const stopped = running.then(
    () => undefined,
    () => undefined,
  );
  try {
    return await attempt();
  } finally {
    scope.cancel();
    await stopped;
  }
}
