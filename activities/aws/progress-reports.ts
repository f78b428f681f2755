import type { HeartbeatProgress } from '../../common/lifecycle.js';

/**
 * Tells a loop's workflow of its heartbeats without the loop waiting on Temporal: the answer to a
 * signal can take as long as an overloaded or unreachable server makes it (with the client's own
 * retries, longer than a 60 s hook allows between heartbeats), and the next
 * RecordLifecycleActionHeartbeat must not wait for it. One report is on its way at a time; while one
 * is, only the newest waits to follow it, since it says all an older one would, and it counts the
 * heartbeats of those it replaced.
 */
export function progressReports(
  send: (progress: HeartbeatProgress) => Promise<void>,
  onError: (error: unknown) => void,
): (progress: HeartbeatProgress) => void {
  let sending = false;
  let next: HeartbeatProgress | undefined;
  const start = (progress: HeartbeatProgress) => {
    sending = true;
    // Neither a send that throws at once nor an onError that throws may stop the reports or escape.
    void Promise.resolve()
      .then(() => send(progress))
      .catch(onError)
      .catch(() => undefined)
      .finally(() => {
        sending = false;
        const queued = next;
        next = undefined;
        if (queued) start(queued);
      });
  };
  return (progress) => {
    // A report that replaces one never sent counts that one's heartbeats too.
    if (sending) next = { ...progress, heartbeats: (next?.heartbeats ?? 0) + 1 };
    else start({ ...progress, heartbeats: 1 });
  };
}
