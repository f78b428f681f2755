import assert from 'node:assert/strict';
import type { InterruptionEvent } from '../../common/events.js';
import type { RunbookSettings } from '../../common/settings.js';
import { asgTerminateEvent, spotInterruptionEvent } from '../helpers/events.js';
import { testSettings } from '../workflows/stub-activities.js';
import { preDrainLabels, preDrainTaints } from '../../workflows/taints.js';

const settings = (overrides: Partial<RunbookSettings> = {}): RunbookSettings => ({
  ...testSettings,
  taintNode: true,
  ...overrides,
});

/** An event of `kind` with the EventBridge id `id` (its other fields do not matter to the taint). */
const event = (kind: InterruptionEvent['kind'], id: string): InterruptionEvent =>
  ({ ...spotInterruptionEvent(), kind, eventId: id }) as InterruptionEvent;

const uuid = '1e5527d7-bb36-4607-3370-4164db56a40e';
const hex = Buffer.from(uuid).toString('hex');

describe("taints and labels carry NTH's values", () => {
  // pkg/node/node.go: Taint<Kind>(nodeName, eventID) with eventID[:63]; the event ids of
  // pkg/monitor/sqsevent/*-event.go; NTH's state change has no pre-drain task, so no taint.
  const table: [InterruptionEvent['kind'], string | undefined, string | undefined][] = [
    ['asg-terminate', 'aws-node-termination-handler/asg-lifecycle-termination', `asg-lifecycle-term-${hex}`],
    ['spot-interruption', 'aws-node-termination-handler/spot-itn', `spot-itn-event-${hex}`],
    [
      'rebalance-recommendation',
      'aws-node-termination-handler/rebalance-recommendation',
      `rebalance-recommendation-event-${hex}`,
    ],
    [
      'scheduled-change',
      'aws-node-termination-handler/scheduled-maintenance',
      `aws-health-scheduled-change-event-${hex}`,
    ],
    ['state-change', undefined, undefined],
    ['asg-launch', undefined, undefined],
  ];
  for (const [kind, key, eventId] of table) {
    it(`${kind}: ${key ? `${key}=<NTH's event id, 63 characters>` : 'no taint, as NTH'}`, () => {
      const taints = preDrainTaints([kind], [event(kind, uuid)], settings());
      assert.deepEqual(taints, key && eventId ? [{ key, value: eventId.slice(0, 63), effect: 'NoSchedule' }] : []);
      for (const taint of taints) assert.match(taint.value, /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/);
    });
  }

  it('taints a state change only with TAINT_STATE_CHANGE, with the same kind of value', () => {
    assert.deepEqual(preDrainTaints(['state-change'], [event('state-change', uuid)], settings()), []);
    assert.deepEqual(
      preDrainTaints(['state-change'], [event('state-change', uuid)], settings({ taintStateChange: true })),
      [
        {
          key: 'aws-node-termination-handler/ec2-state-change',
          value: `ec2-state-change-event-${hex}`.slice(0, 63),
          effect: 'NoSchedule',
        },
      ],
    );
  });

  it("gives each kind its own event's id, and nothing without TAINT_NODE", () => {
    const asg = asgTerminateEvent();
    const spot = spotInterruptionEvent();
    const taints = preDrainTaints(['asg-terminate', 'spot-interruption'], [asg, spot], settings());
    assert.deepEqual(
      taints.map((t) => t.value),
      [
        `asg-lifecycle-term-${Buffer.from(asg.eventId).toString('hex')}`.slice(0, 63),
        `spot-itn-event-${Buffer.from(spot.eventId).toString('hex')}`.slice(0, 63),
      ],
    );
    assert.deepEqual(preDrainTaints(['asg-terminate'], [asg], settings({ taintNode: false })), []);
  });

  it("labels the node for exclusion from load balancers with NTH's value (ExcludeFromLoadBalancersLabelValue)", () => {
    assert.deepEqual(preDrainLabels(settings({ excludeFromLoadBalancers: true })), {
      'node.kubernetes.io/exclude-from-external-load-balancers': 'aws-node-termination-handler',
    });
    assert.deepEqual(preDrainLabels(settings({ excludeFromLoadBalancers: false })), {});
  });
});
