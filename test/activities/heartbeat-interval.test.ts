import assert from 'node:assert/strict';
import { deriveHeartbeatInterval, hookSurvivesLostWorker } from '../../common/lifecycle.js';

describe('heartbeat interval derived from the hook', () => {
  const lostWorker = 30;
  for (const [timeout, expected] of [
    [30, 10],
    [60, 20],
    [300, 240],
    [3600, 2880],
    [7200, 5760],
  ] as const) {
    it(`keeps a ${timeout} s hook alive with an interval of ${expected} s`, () => {
      assert.equal(deriveHeartbeatInterval(timeout, lostWorker), expected);
    });
  }

  it('leaves room for a lost worker on every hook of at least 60 s', () => {
    for (let timeout = 60; timeout <= 7200; timeout += 30) {
      assert.ok(
        hookSurvivesLostWorker(timeout, deriveHeartbeatInterval(timeout, lostWorker), lostWorker),
        `${timeout} s`,
      );
    }
  });
});
