import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { startHttpServer } from '../../common/http-server.js';
import { Reachability, reachableGauge } from '../../common/reachability.js';
import { createWorkerMetrics } from '../../worker/metrics.js';
import { parseExposition } from '../helpers/prometheus.js';

const silent = pino({ level: 'silent' });

describe('probes and the worker metrics that have no Temporal in them', () => {
  it('answers /readyz 503 with the reason until the service is reached, 200 while it is, 503 naming the error once it is not', async () => {
    const temporal = new Reachability('Temporal');
    const server = await startHttpServer(
      0,
      { probes: { live: () => ({ ok: true, reason: 'worker RUNNING' }), ready: () => temporal.probe() } },
      silent,
    );
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const get = async (path: string) => {
        const response = await fetch(`${url}${path}`);
        return [response.status, await response.text()] as const;
      };
      const steps: [string, () => void, number, RegExp][] = [
        ['before the first check', () => undefined, 503, /not ok: Temporal not reached yet/],
        ['reached', () => temporal.succeeded(), 200, /ok: Temporal reachable/],
        [
          'refused',
          () => temporal.failed(new Error('14 UNAVAILABLE: connection refused')),
          503,
          /not ok: Temporal unreachable for 0 s: 14 UNAVAILABLE: connection refused/,
        ],
        ['back', () => temporal.succeeded(), 200, /ok: Temporal reachable/],
      ];
      for (const [what, act, status, body] of steps) {
        act();
        const [code, text] = await get('/readyz');
        assert.equal(code, status, what);
        assert.match(text, body, what);
        assert.deepEqual(await get('/healthz'), [200, 'ok: worker RUNNING\n'], 'liveness does not follow Temporal');
      }
      const gauge = createWorkerMetrics().registry;
      reachableGauge(gauge, 'tnth_worker_temporal_reachable', temporal);
      temporal.failed(new Error('down'));
      const samples = parseExposition(await gauge.metrics());
      assert.equal(samples.find((s) => s.name === 'tnth_worker_temporal_reachable')?.value, 0);
    } finally {
      server.close();
    }
  });

  it('reports the soonest expiry per hook over the loops a worker runs, and drops a loop that ended', async () => {
    const { registry, activity } = createWorkerMetrics();
    const read = async () =>
      parseExposition(await registry.metrics()).filter((s) => s.name === 'tnth_lifecycle_hook_seconds_left');
    assert.deepEqual(await read(), [], 'no series while no hook is held');
    const now = Date.now();
    activity.holdExpiry('wf-a/1', 'tnth-drain', now + 50_000);
    activity.holdExpiry('wf-b/1', 'tnth-drain', now + 20_000);
    activity.holdExpiry('wf-c/1', 'other-hook', now + 90_000);
    const held = await read();
    assert.deepEqual(
      held.map((s) => s.labels.hook),
      ['tnth-drain', 'other-hook'],
    );
    assert.ok(Math.abs(held[0]!.value - 20) < 1, `the soonest of tnth-drain: ${held[0]!.value}`);
    activity.holdExpiry('wf-b/1', 'tnth-drain', undefined);
    assert.ok(Math.abs((await read())[0]!.value - 50) < 1, 'the ended loop is gone');
    for (const key of ['wf-a/1', 'wf-c/1']) activity.holdExpiry(key, 'x', undefined);
    assert.deepEqual(await read(), []);
  });

  it('sums the pods blocked over the drains a worker runs, and starts every lost reason at 0', async () => {
    const { registry, activity } = createWorkerMetrics();
    const value = async (name: string) => parseExposition(await registry.metrics()).filter((s) => s.name === name);
    activity.drainBlocked('wf-a/2', 2);
    activity.drainBlocked('wf-b/2', 1);
    activity.drainRunning('wf-a/2', true);
    assert.equal((await value('tnth_drain_pods_blocked_by_budget'))[0]!.value, 3);
    assert.equal((await value('tnth_drains_running'))[0]!.value, 1);
    activity.drainBlocked('wf-a/2', 0);
    assert.equal((await value('tnth_drain_pods_blocked_by_budget'))[0]!.value, 1);
    assert.deepEqual(
      (await value('tnth_lifecycle_actions_lost_total')).map((s) => [s.labels.reason, s.value]),
      [
        ['heartbeat-timeout', 0],
        ['global-timeout', 0],
        ['heartbeat-until', 0],
        ['ended-elsewhere', 0],
      ],
    );
  });
});
