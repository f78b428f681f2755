import { patched } from '@temporalio/workflow';
import type { RunbookSettings } from '../common/settings.js';
import type { NodeContext, Notifier } from './notifications.js';
import type { TerminationState } from './termination-state.js';

/** Terminations recorded before these notices existed replay without them. */
const noticesPatch = 'drain-blocked-notices';

/**
 * Says, every DRAIN_BLOCKED_NOTIFY_INTERVAL while a drain keeps failing, that it is still blocked and
 * by what: a webhook (InProgress) and a Warning event on the node, not only the one at the end. The
 * first comes one interval after the drain began; checked after each failed attempt, so the notices
 * come at most as often as attempts end.
 */
export class BlockedDrainNotices {
  private lastAt: number | undefined;
  private sent = 0;

  constructor(
    private readonly state: TerminationState,
    private readonly settings: RunbookSettings,
  ) {}

  /** Whether a notice is due now, after a failed attempt (a pure check: no command unless it is). */
  due(drainStartedAt: number): boolean {
    const intervalMs = (this.settings.drainBlockedNotifySeconds ?? 0) * 1000;
    if (intervalMs <= 0) return false;
    if (Date.now() - (this.lastAt ?? drainStartedAt) < intervalMs) return false;
    return patched(noticesPatch);
  }

  async send(node: NodeContext, instanceType: string | undefined, notifier: Notifier, drainStartedAt: number) {
    const now = Date.now();
    this.lastAt = now;
    this.sent += 1;
    const { status } = this.state;
    const seconds = Math.round((now - drainStartedAt) / 1000);
    const blockedFor = seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
    const budgets = status.podsLeft.filter((p) => p.reason.includes('PodDisruptionBudget')).map((p) => p.pod);
    const message =
      `drain of node ${node.name} (${status.instanceId}) still blocked after ${blockedFor} and ${status.attempt} attempt(s)` +
      (budgets.length ? `; evictions refused by a PodDisruptionBudget: ${budgets.join(', ')}` : '') +
      `; pods left: ${status.podsLeft.map((p) => `${p.pod} (${p.reason})`).join(', ') || 'none reported'}`;
    this.state.decide(message);
    await notifier.drainBlocked(node, instanceType, message, this.sent);
  }
}
