import assert from 'node:assert/strict';
import { loadConfig, runbookSettings } from '../../common/config.js';
import type { NotificationData } from '../../common/notification.js';
import { runTermination, useStack } from './harness.js';

/** The interval a user gets (DRAIN_BLOCKED_NOTIFY_INTERVAL's default). */
const defaultInterval = runbookSettings(loadConfig({ CLUSTER_NAME: 'notices' })).drainBlockedNotifySeconds;

describe('termination workflow: a drain that stays blocked is announced while it lasts', function () {
  // Six attempts of a few seconds each; a loaded machine stretches each.
  this.timeout(180_000);
  const stack = useStack();

  it('sends a webhook in progress and a DrainBlocked event every interval while attempts fail, then the outcome', async () => {
    const { rec, status } = await runTermination(stack, {
      settings: { webhookEnabled: true, emitKubernetesEvents: true, drainBlockedNotifySeconds: 2 },
      drainFailures: 5,
    });
    assert.equal(status.phase, 'Done');
    const webhooks = rec.webhooks as NotificationData[];
    const inProgress = webhooks.filter((w) => w.InProgress);
    const blockedEvents = rec.nodeEvents.filter((e) => e.reason === 'DrainBlocked');
    assert.ok(inProgress.length >= 1, `a notice while blocked (attempts: ${rec.drains.length})`);
    // Never more than one notice per 2 s of the drain, however long the attempts take.
    const drainSeconds = (rec.drains.at(-1)!.end! - rec.drains[0]!.start) / 1000;
    assert.ok(inProgress.length <= Math.floor(drainSeconds / 2), `${inProgress.length} notices in ${drainSeconds} s`);
    assert.equal(blockedEvents.length, inProgress.length, 'each notice is a webhook and a node event');
    assert.ok(blockedEvents.every((e) => e.type === 'Warning'));
    for (const notice of inProgress) {
      assert.match(
        notice.Description,
        /drain of node ip-10-0-1-23\.ec2\.internal .* still blocked after \d+ (s|min) and \d+ attempt/,
      );
      assert.match(notice.Description, /default\/app-1/);
      assert.equal(notice.NodeProcessed, false);
    }
    const last = webhooks.at(-1)!;
    assert.equal(last.InProgress, false, 'the outcome comes last');
    assert.equal(last.NodeProcessed, true);
    assert.ok(status.decisions.some((d) => d.includes('still blocked')));
  });

  it(`with the default interval (${defaultInterval} s) sends nothing for a drain blocked for seconds: only the outcome`, async () => {
    assert.equal(defaultInterval, 600);
    const { rec, status } = await runTermination(stack, {
      settings: { webhookEnabled: true, emitKubernetesEvents: true, drainBlockedNotifySeconds: defaultInterval },
      drainFailures: 2,
    });
    assert.equal(status.phase, 'Done');
    assert.equal(rec.drains.length, 3);
    assert.deepEqual(
      (rec.webhooks as NotificationData[]).map((w) => w.InProgress),
      [false],
    );
    assert.equal(rec.nodeEvents.filter((e) => e.reason === 'DrainBlocked').length, 0);
  });
});
