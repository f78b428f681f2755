// The chart's alert rules, as rendered with their defaults, under `promtool test rules` (promtool from
// the Go module proxy, test/helpers/prometheus.ts): each alert fires on the situation it names and stays
// quiet on the normal run next to it. test/integration/metrics-blocked-drain.test.ts checks them again
// against the series of a real drain on the stack.
import assert from 'node:assert/strict';
import { promtoolBuildTimeoutMs, promtoolTestRules, type AlertExpectation } from '../helpers/prometheus.js';
import { chartAlertGroups } from './helm.js';

const worker = (name: string, labels = '') => `${name}{job="tnth-metrics",pod="worker-a"${labels}}`;
const starter = (name: string) => `${name}{job="tnth-metrics",pod="starter-a"}`;

/** promtool's expanding notation, one sample a minute: `1x30` is 31 samples of 1. */
const minutes = (value: number, count: number) => `${value}x${count - 1}`;

describe("deploy/helm/tnth: the PrometheusRule's alerts under promtool, with the chart's defaults", function () {
  this.timeout(promtoolBuildTimeoutMs);
  let groups: unknown[];

  before(async () => {
    groups = await chartAlertGroups(['prometheusRule.selector=job="tnth-metrics"']);
  });

  const scenarios: { what: string; series: { series: string; values: string }[]; expect: AlertExpectation[] }[] = [
    {
      what: 'a drain refused by a budget for 40 minutes (the gauge at 0 while the workflow waits between attempts) is TnthDrainBlocked after 30',
      series: [
        {
          series: worker('tnth_drain_pods_blocked_by_budget'),
          values: '2 0 2 2 0 2 2 0 2 2 0 2 2 0 2 2 0 2 2 0 2 2 0 2 2 0 2 2 0 2 2 0 2 2 0 2 2 0 2 2',
        },
      ],
      expect: [
        { evalTime: '20m', alertname: 'TnthDrainBlocked', expAlerts: [] },
        { evalTime: '38m', alertname: 'TnthDrainBlocked', expAlerts: [{ severity: 'warning' }] },
      ],
    },
    {
      what: 'a drain that waited 20 minutes for its budget, then ended, is no alert',
      series: [{ series: worker('tnth_drain_pods_blocked_by_budget'), values: `${minutes(1, 20)} ${minutes(0, 20)}` }],
      expect: [
        { evalTime: '19m', alertname: 'TnthDrainBlocked', expAlerts: [] },
        { evalTime: '39m', alertname: 'TnthDrainBlocked', expAlerts: [] },
      ],
    },
    {
      what: 'heartbeats on schedule (a 120 s hook, 42 s left at worst) are no alert; heartbeats that stop are TnthLifecycleHookExpiring',
      series: [
        {
          series: worker('tnth_lifecycle_hook_seconds_left', ',hook="tnth-drain"'),
          values: '100 60 42 100 60 42 100 60 42 100 40 0',
        },
      ],
      expect: [
        { evalTime: '9m', alertname: 'TnthLifecycleHookExpiring', expAlerts: [] },
        { evalTime: '11m', alertname: 'TnthLifecycleHookExpiring', expAlerts: [{ severity: 'critical' }] },
      ],
    },
    {
      what: 'a lost lifecycle action is TnthLifecycleActionLost, from the counter born at 0',
      series: [
        { series: worker('tnth_lifecycle_actions_lost_total', ',reason="heartbeat-timeout"'), values: '0 0 0 1 1 1' },
      ],
      expect: [
        { evalTime: '2m', alertname: 'TnthLifecycleActionLost', expAlerts: [] },
        { evalTime: '4m', alertname: 'TnthLifecycleActionLost', expAlerts: [{ severity: 'critical' }] },
      ],
    },
    {
      what: 'a heartbeat loop left running with no termination in flight is TnthHeartbeatLoopLeak after 15 minutes; loops matching terminations are not',
      series: [
        { series: worker('tnth_heartbeat_loops_running'), values: `${minutes(2, 10)} ${minutes(1, 25)}` },
        // Two workers report the same cluster-wide count: the rule takes their max, not their sum.
        {
          series: worker('tnth_terminations_in_flight', ',phase="Draining",kind="asg-terminate"'),
          values: `${minutes(2, 10)} ${minutes(0, 25)}`,
        },
        {
          series: `tnth_terminations_in_flight{job="tnth-metrics",pod="worker-b",phase="Draining",kind="asg-terminate"}`,
          values: `${minutes(2, 10)} ${minutes(0, 25)}`,
        },
      ],
      expect: [
        { evalTime: '9m', alertname: 'TnthHeartbeatLoopLeak', expAlerts: [] },
        { evalTime: '20m', alertname: 'TnthHeartbeatLoopLeak', expAlerts: [] },
        { evalTime: '30m', alertname: 'TnthHeartbeatLoopLeak', expAlerts: [{ severity: 'warning' }] },
      ],
    },
    {
      what: 'a starter that cannot reach Temporal for 5 minutes, or whose hand-offs Temporal refuses, is TnthStarterCannotReachTemporal',
      series: [
        {
          series: starter('tnth_starter_temporal_reachable'),
          values: `${minutes(1, 5)} ${minutes(0, 8)} ${minutes(1, 10)}`,
        },
        { series: starter('tnth_starter_temporal_available'), values: `${minutes(1, 15)} ${minutes(0, 8)}` },
      ],
      expect: [
        { evalTime: '4m', alertname: 'TnthStarterCannotReachTemporal', expAlerts: [] },
        { evalTime: '11m', alertname: 'TnthStarterCannotReachTemporal', expAlerts: [{ severity: 'critical' }] },
        { evalTime: '15m', alertname: 'TnthStarterCannotReachTemporal', expAlerts: [] },
        { evalTime: '21m', alertname: 'TnthStarterCannotReachTemporal', expAlerts: [{ severity: 'critical' }] },
      ],
    },
    {
      what: "a message in the dead-letter queue (a CloudWatch exporter's SQS gauge) is TnthDeadLetterMessages",
      series: [
        {
          series: 'aws_sqs_approximate_number_of_messages_visible_maximum{dimension_QueueName="tnth-dlq"}',
          values: '0 0 3 3',
        },
        {
          series: 'aws_sqs_approximate_number_of_messages_visible_maximum{dimension_QueueName="other"}',
          values: '5 5 5 5',
        },
      ],
      expect: [
        { evalTime: '1m', alertname: 'TnthDeadLetterMessages', expAlerts: [] },
        { evalTime: '3m', alertname: 'TnthDeadLetterMessages', expAlerts: [{ severity: 'warning' }] },
      ],
    },
  ];

  for (const scenario of scenarios) {
    it(scenario.what, async () => {
      await promtoolTestRules(groups, '1m', scenario.series, scenario.expect);
    });
  }

  it('fails a promtool test that expects the wrong outcome (the check can fail)', async () => {
    await assert.rejects(
      promtoolTestRules(groups, '1m', scenarios[0]!.series, [
        { evalTime: '20m', alertname: 'TnthDrainBlocked', expAlerts: [{ severity: 'warning' }] },
      ]),
      /FAILED/,
    );
  });
});
