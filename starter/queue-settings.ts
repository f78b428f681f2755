// What the starter's queue must be set to for nothing to be lost, checked once at start: each
// problem is a warning that names the attribute, its value and the value recommended.

/** The queue attributes the starter recommends; the deploy docs, the dev queue and the demo use them. */
export const recommendedQueueAttributes = {
  /** Starter restarts during an outage each cost held messages a receive; bad messages still reach the DLQ. */
  maxReceiveCount: 5,
  /** A day: a notice survives a long Temporal outage; a lifecycle action can wait 7200 s for its first heartbeat. */
  MessageRetentionPeriod: 86_400,
  /** Covers a slow hand-off (up to its timeout) before the starter holds the message itself. */
  VisibilityTimeout: 60,
} as const;

/** The longest a lifecycle action waits for its first heartbeat (HeartbeatTimeout is at most 7200 s). */
const longestFirstHeartbeatWaitSeconds = 7200;

/** Warnings about the queue's attributes (as GetQueueAttributes returns them), none when all is well. */
export function queueSettingWarnings(attributes: Record<string, string>, handOffTimeoutMs: number): string[] {
  const warnings: string[] = [];
  const recommended = recommendedQueueAttributes;
  const redrive = parseRedrive(attributes.RedrivePolicy);
  if (!redrive) {
    warnings.push(
      `RedrivePolicy: none; a message tnth cannot parse is received again and again. Set a dead-letter queue with maxReceiveCount ${recommended.maxReceiveCount}`,
    );
  } else if (redrive.maxReceiveCount < recommended.maxReceiveCount) {
    warnings.push(
      `RedrivePolicy maxReceiveCount=${redrive.maxReceiveCount}: a few starter restarts while Temporal is down move live notices to the dead-letter queue; recommended ${recommended.maxReceiveCount}`,
    );
  }
  const retention = Number(attributes.MessageRetentionPeriod);
  if (Number.isFinite(retention) && retention < longestFirstHeartbeatWaitSeconds) {
    warnings.push(
      `MessageRetentionPeriod=${retention}: shorter than a lifecycle action can wait for tnth (${longestFirstHeartbeatWaitSeconds} s); notices expire during a long outage. Recommended ${recommended.MessageRetentionPeriod}`,
    );
  }
  const visibility = Number(attributes.VisibilityTimeout);
  if (Number.isFinite(visibility) && visibility * 1000 < 2 * handOffTimeoutMs) {
    warnings.push(
      `VisibilityTimeout=${visibility}: a slow hand-off (up to ${handOffTimeoutMs / 1000} s) lets the message be received again before the starter holds it; recommended ${recommended.VisibilityTimeout}`,
    );
  }
  return warnings;
}

function parseRedrive(policy: string | undefined): { maxReceiveCount: number } | undefined {
  if (!policy) return undefined;
  try {
    const parsed = JSON.parse(policy) as { maxReceiveCount?: unknown };
    const count = Number(parsed.maxReceiveCount);
    return Number.isFinite(count) ? { maxReceiveCount: count } : undefined;
  } catch {
    return undefined;
  }
}
