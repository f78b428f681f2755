import assert from 'node:assert/strict';
import type { InterruptionEvent, InterruptionKind } from '../../common/events.js';
import type { EventAction, RunbookSettings } from '../../common/settings.js';
import { actionOf, actionOfEvents, raises, undoAt } from '../../workflows/event-policy.js';
import { testSettings } from './stub-activities.js';

const configured: RunbookSettings = {
  ...testSettings,
  eventActions: { 'rebalance-recommendation': 'taint', 'scheduled-change': 'cordon', 'state-change': 'none' },
  undoAfterSeconds: 600,
};

const event = (kind: InterruptionKind, time: string, extra: Record<string, string> = {}) =>
  ({ kind, instanceId: 'i-0123456789abcdef0', time, eventId: `${kind}-${time}`, ...extra }) as InterruptionEvent;

describe('event policy: the action of each kind, escalation order and the undo time', () => {
  const table: [InterruptionKind, EventAction, EventAction][] = [
    // kind, with settings recorded before the actions existed (NTH queue mode), with `configured`
    ['asg-terminate', 'drain', 'drain'],
    ['spot-interruption', 'drain', 'drain'],
    ['rebalance-recommendation', 'drain', 'taint'],
    ['scheduled-change', 'drain', 'cordon'],
    ['state-change', 'drain', 'none'],
    ['asg-launch', 'none', 'none'],
  ];
  for (const [kind, recorded, chosen] of table) {
    it(`${kind}: ${recorded} by default, ${chosen} as configured`, () => {
      assert.equal(actionOf(kind, testSettings), recorded);
      assert.equal(actionOf(kind, configured), chosen);
    });
  }

  it('takes the strongest action of the events, and raises only upwards: taint, cordon, drain', () => {
    const at = '2024-05-01T12:00:00Z';
    assert.equal(
      actionOfEvents([event('state-change', at), event('rebalance-recommendation', at)], configured),
      'taint',
    );
    assert.equal(
      actionOfEvents([event('rebalance-recommendation', at), event('scheduled-change', at)], configured),
      'cordon',
    );
    assert.equal(actionOfEvents([event('scheduled-change', at), event('spot-interruption', at)], configured), 'drain');
    assert.ok(raises('taint', 'cordon') && raises('cordon', 'drain') && raises(undefined, 'taint'));
    assert.ok(!raises('cordon', 'taint') && !raises('drain', 'drain'));
  });

  it('undoes UNDO_AFTER after the latest event, a scheduled change only after the end of its window', () => {
    const rebalance = event('rebalance-recommendation', '2024-05-01T12:00:00Z');
    assert.equal(undoAt([rebalance], configured), Date.parse('2024-05-01T12:10:00Z'));
    const again = event('rebalance-recommendation', '2024-05-01T12:05:00Z');
    assert.equal(undoAt([again, rebalance], configured), Date.parse('2024-05-01T12:15:00Z'));
    const retirement = event('scheduled-change', '2024-05-01T06:27:57Z', {
      startTime: 'Sat, 08 Jun 2024 15:10:09 GMT',
      endTime: 'Sat, 08 Jun 2024 17:10:09 GMT',
    });
    assert.equal(undoAt([retirement, rebalance], configured), Date.parse('2024-06-08T17:20:09Z'));
    const noEnd = event('scheduled-change', '2024-05-01T06:27:57Z', { startTime: 'Sat, 08 Jun 2024 15:10:09 GMT' });
    assert.equal(undoAt([noEnd], configured), Date.parse('2024-06-08T15:20:09Z'));
    assert.equal(undoAt([rebalance], testSettings), Date.parse('2024-05-01T13:00:00Z'), 'an hour when not set');
  });
});
