import assert from 'node:assert/strict';
import { Reachability } from '../../common/reachability.js';
import { starterProbes, stuckPollersMs } from '../../starter/probes.js';

const start = 1_000_000_000_000;

interface Case {
  what: string;
  at: number;
  temporal: 'ok' | 'failed' | 'unknown';
  sqsLastAt: number | 'failed' | undefined;
  available?: boolean;
  availableSince?: number;
  stopping?: boolean;
  live: boolean | RegExp;
  ready: boolean | RegExp;
}

const cases: Case[] = [
  {
    what: 'polling, both reached',
    at: start + 5_000,
    temporal: 'ok',
    sqsLastAt: start + 4_000,
    live: true,
    ready: true,
  },
  {
    what: 'before Temporal answered its first check',
    at: start + 500,
    temporal: 'unknown',
    sqsLastAt: start + 100,
    live: true,
    ready: /Temporal not reached yet/,
  },
  {
    what: 'Temporal unreachable: not Ready, still live (a restart would not bring it back)',
    at: start + 60_000,
    temporal: 'failed',
    sqsLastAt: start + 50_000,
    live: true,
    ready: /Temporal unreachable/,
  },
  {
    what: 'SQS refusing receives',
    at: start + 60_000,
    temporal: 'ok',
    sqsLastAt: 'failed',
    live: true,
    ready: /SQS unreachable/,
  },
  {
    what: 'Temporal refusing hand-offs: the gate is closed',
    at: start + 60_000,
    temporal: 'ok',
    sqsLastAt: start + 10_000,
    available: false,
    live: true,
    ready: /refuses hand-offs/,
  },
  {
    what: 'receives that stopped ending for more than five minutes: pollers stuck',
    at: start + stuckPollersMs + 60_000,
    temporal: 'ok',
    sqsLastAt: start + 30_000,
    live: /pollers stuck/,
    ready: true,
  },
  {
    what: 'a long wait for Temporal is not stuck pollers, nor the first seconds after it',
    at: start + stuckPollersMs + 60_000,
    temporal: 'ok',
    sqsLastAt: start + 30_000,
    availableSince: start + stuckPollersMs + 50_000,
    live: true,
    ready: true,
  },
  {
    what: 'stopping',
    at: start + 5_000,
    temporal: 'ok',
    sqsLastAt: start + 4_000,
    stopping: true,
    live: true,
    ready: /stopping/,
  },
];

describe('starter probes: /healthz and /readyz', () => {
  for (const c of cases) {
    it(c.what, () => {
      const temporal = new Reachability('Temporal');
      if (c.temporal === 'ok') temporal.succeeded(c.at - 1_000);
      if (c.temporal === 'failed') temporal.failed(new Error('14 UNAVAILABLE'), c.at - 30_000);
      const sqs = new Reachability('SQS');
      if (c.sqsLastAt === 'failed') sqs.failed(new Error('AccessDenied'), c.at - 1_000);
      else if (c.sqsLastAt !== undefined) sqs.succeeded(c.sqsLastAt);
      const probes = starterProbes(
        {
          temporal,
          sqs,
          temporalAvailable: () => c.available ?? true,
          availableSince: () => c.availableSince ?? start,
          stopping: () => c.stopping ?? false,
        },
        () => c.at,
      );
      for (const [name, expected] of [
        ['live', c.live],
        ['ready', c.ready],
      ] as const) {
        const result = probes[name]();
        if (expected === true) assert.equal(result.ok, true, `${name}: ${result.reason}`);
        else {
          assert.equal(result.ok, false, `${name}: ${result.reason}`);
          assert.match(result.reason, expected as RegExp);
        }
      }
    });
  }
});
