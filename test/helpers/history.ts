import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** One activity execution as the workflow history records it, times in epoch ms. */
export interface ActivitySpan {
  type: string;
  scheduledAt: number;
  closedAt: number | undefined;
  /** `completed`, `failed`, `canceled`, `timed-out`, or undefined while it runs. */
  outcome: string | undefined;
}

const epochMs = (event: HistoryEvent) => {
  const time = event.eventTime;
  return time ? Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : 0;
};

/** The activity executions of a workflow, in the order they were scheduled. */
export async function activitySpans(handle: WorkflowHandle): Promise<ActivitySpan[]> {
  const history = await handle.fetchHistory();
  const spans = new Map<string, ActivitySpan>();
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      spans.set(id, {
        type: scheduled.activityType?.name ?? '',
        scheduledAt: epochMs(event),
        closedAt: undefined,
        outcome: undefined,
      });
      continue;
    }
    const closed: [string, { scheduledEventId?: Long | number | null } | null | undefined][] = [
      ['completed', event.activityTaskCompletedEventAttributes],
      ['failed', event.activityTaskFailedEventAttributes],
      ['canceled', event.activityTaskCanceledEventAttributes],
      ['timed-out', event.activityTaskTimedOutEventAttributes],
    ];
    for (const [outcome, attributes] of closed) {
      const span = attributes && spans.get(String(attributes.scheduledEventId));
      if (span) Object.assign(span, { closedAt: epochMs(event), outcome });
    }
  }
  return [...spans.values()];
}

type Long = { toString(): string };
