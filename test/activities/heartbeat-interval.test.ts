import assert from 'node:assert/strict';
import {
  deriveHeartbeatInterval,
  globalTimeoutSeconds,
  holdExpiresAt,
  hookSurvivesLostWorker,
  lostReason,
  lostWorkerSeconds,
  nextHeartbeatDue,
  planHeartbeats,
  throttlingAllowanceSeconds,
  type HoldClock,
} from '../../common/lifecycle.js';

describe('heartbeat interval derived from the hook', () => {
  for (const [timeout, expected] of [
    [30, 10],
    [52, 10],
    [60, 18],
    [120, 78],
    [300, 240],
    [3600, 2880],
    [7200, 5760],
  ] as const) {
    it(`keeps a ${timeout} s hook alive with an interval of ${expected} s`, () => {
      assert.equal(deriveHeartbeatInterval(timeout), expected);
    });
  }

  it('leaves room for a lost worker and throttling on every hook of at least 60 s', () => {
    for (let timeout = 60; timeout <= 7200; timeout += 1) {
      const interval = deriveHeartbeatInterval(timeout);
      assert.ok(hookSurvivesLostWorker(timeout, interval), `${timeout} s`);
      assert.ok(interval + lostWorkerSeconds + throttlingAllowanceSeconds <= timeout, `${timeout} s`);
    }
  });
});

describe('heartbeat plan: an explicit HEARTBEAT_INTERVAL checked against the hook', () => {
  it('keeps an explicit interval that the hook survives, without a warning', () => {
    assert.deepEqual(planHeartbeats(120, 30), { intervalSeconds: 30, warnings: [] });
    assert.deepEqual(planHeartbeats(300, 258), { intervalSeconds: 258, warnings: [] });
  });

  it('clamps an interval longer than the hook allows and names the setting', () => {
    const plan = planHeartbeats(60, 300);
    assert.equal(plan.intervalSeconds, 18);
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0]!, /HEARTBEAT_INTERVAL=300 .*HeartbeatTimeout 60 s.*every 18 s instead/);
    assert.equal(planHeartbeats(120, 100).intervalSeconds, 78);
    // A hook too short to keep a full margin still gets the longest interval that survives.
    assert.equal(planHeartbeats(52, 14).intervalSeconds, 10);
  });

  it('warns that a hook shorter than a lost worker cannot be held through one', () => {
    const plan = planHeartbeats(30, undefined);
    assert.equal(plan.intervalSeconds, 10);
    assert.match(plan.warnings.join('\n'), /HeartbeatTimeout 30 s is too short to survive a lost worker/);
  });
});

describe("the hold's clock", () => {
  const start = Date.parse('2026-12-01T00:00:00Z');
  const clock = (over: Partial<HoldClock> = {}): HoldClock => ({
    startedAt: start,
    lastHeartbeatAt: undefined,
    heartbeatTimeoutSeconds: 120,
    intervalSeconds: 80,
    globalDeadline: start + 12_000_000,
    untilEpochMs: start + 12_000_000,
    ...over,
  });

  it("times the first heartbeat from the action's start, not from a loop's", () => {
    assert.equal(nextHeartbeatDue(clock()), start + 80_000);
    assert.equal(holdExpiresAt(clock()), start + 120_000);
  });

  it('times later heartbeats from the last successful one', () => {
    assert.equal(nextHeartbeatDue(clock({ lastHeartbeatAt: start + 70_000 })), start + 150_000);
    assert.equal(holdExpiresAt(clock({ lastHeartbeatAt: start + 70_000 })), start + 190_000);
  });

  it('never expires later than the global timeout', () => {
    assert.equal(holdExpiresAt(clock({ lastHeartbeatAt: start + 11_950_000 })), start + 12_000_000);
  });

  it('the global timeout is 100 × HeartbeatTimeout, at most 48 h, unless the hook says otherwise', () => {
    assert.equal(globalTimeoutSeconds(60, undefined), 6000);
    assert.equal(globalTimeoutSeconds(3600, undefined), 172_800);
    assert.equal(globalTimeoutSeconds(60, 900), 900);
  });

  it('tells why an action was lost from its clock', () => {
    assert.equal(lostReason(clock(), start + 60_000), 'ended-elsewhere');
    assert.equal(lostReason(clock(), start + 121_000), 'heartbeat-timeout');
    assert.equal(lostReason(clock({ untilEpochMs: start + 10_000 }), start + 121_000), 'heartbeat-until');
    assert.equal(lostReason(clock({ lastHeartbeatAt: start + 11_990_000 }), start + 12_000_001), 'global-timeout');
  });
});
