import type { HeartbeatProgress } from '../../common/lifecycle.js';

/**
 * Tells a loop's workflow of its heartbeats without the loop waiting on Temporal: the answer to a
 * signal can take as long as an overloaded or unreachable server makes it (with the client's own
 * retries, longer than a 60 s hook allows between heartbeats), and the next
 * RecordLifecycleActionHeartbeat must not wait for it. One report is on its way at a time; while one
 * is, only the newest waits to follow it, since it says all an older one would.
 */
export function progressReports(
  send: (progress: HeartbeatProgress) => Promise<void>,
  onError: (error: unknown) => void,
): (progress: HeartbeatProgress) => void {
  let sending = false;
  let next: HeartbeatProgress | undefined;
  const start = (progress: HeartbeatProgress) => {
    sending = true;
    void send(progress)
      .catch(onError)
      .finally(() => {
        sending = false;
        const queued = next;
        next = undefined;
        if (queued) start(queued);
      });
  };
  return (progress) => {
    if (sending) next = progress;
    else start(progress);
  };
}
