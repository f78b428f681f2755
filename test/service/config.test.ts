import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  eventAnnotations,
  loadConfig,
  ownsLifecycleHook,
  runbookSettings,
  webhookSettings,
} from '../../common/config.js';

/** CLUSTER_NAME, which every process needs. */
const cluster = { CLUSTER_NAME: 'prod-a' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...cluster, ...env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  return [];
}

describe('configuration: every bad or contradictory value stops the process with the variable and the rule', () => {
  it('takes NTH defaults when nothing is set', () => {
    const config = loadConfig(cluster);
    const settings = runbookSettings(config);
    assert.equal(settings.drain.nodeTerminationGracePeriodSeconds, 120);
    assert.equal(settings.drain.podTerminationGracePeriodSeconds, -1);
    assert.equal(settings.heartbeatIntervalSeconds, undefined, 'derived from the hook unless set');
    assert.equal(settings.heartbeatUntilSeconds, 172800);
    assert.equal(settings.drainRetryIntervalSeconds, 20);
    assert.equal(settings.checkTagBeforeDraining, true);
    assert.equal(settings.managedTag, 'aws-node-termination-handler/managed');
    assert.equal(config.TEMPORAL_TASK_QUEUE, 'tnth-termination-prod-a', 'the cluster names the task queue');
    assert.equal(webhookSettings(config), undefined);
    assert.equal(config.WORKFLOW_CACHE_SIZE, undefined, "the SDK's choice unless set");
    assert.equal(loadConfig({ ...cluster, WORKFLOW_CACHE_SIZE: '600' }).WORKFLOW_CACHE_SIZE, 600);
    assert.equal(loadConfig({ ...cluster, WORKFLOW_CACHE_SIZE: '' }).WORKFLOW_CACHE_SIZE, undefined);
  });

  it('takes NTH queue mode as the default action of every kind, an hour to undo, the common startup taints', () => {
    const settings = runbookSettings(loadConfig(cluster));
    assert.deepEqual(settings.eventActions, {
      'rebalance-recommendation': 'drain',
      'scheduled-change': 'drain',
      'state-change': 'drain',
    });
    assert.equal(settings.undoAfterSeconds, 3600);
    assert.ok(settings.launchReadinessTaints?.includes('node.cloudprovider.kubernetes.io/uninitialized'));
    assert.ok(settings.launchReadinessTaints?.includes('node.kubernetes.io/not-ready'));
  });

  it("reads each kind's action and LAUNCH_READINESS_TAINTS as given, none meaning Ready alone", () => {
    const settings = runbookSettings(
      loadConfig({
        ...cluster,
        REBALANCE_ACTION: 'cordon',
        SCHEDULED_CHANGE_ACTION: 'taint',
        STATE_CHANGE_ACTION: 'none',
        UNDO_AFTER: '600',
        LAUNCH_READINESS_TAINTS: ' node.cilium.io/agent-not-ready , example.com/warming ',
      }),
    );
    assert.deepEqual(settings.eventActions, {
      'rebalance-recommendation': 'cordon',
      'scheduled-change': 'taint',
      'state-change': 'none',
    });
    assert.equal(settings.undoAfterSeconds, 600);
    assert.deepEqual(settings.launchReadinessTaints, ['node.cilium.io/agent-not-ready', 'example.com/warming']);
    assert.deepEqual(
      runbookSettings(loadConfig({ ...cluster, LAUNCH_READINESS_TAINTS: 'none' })).launchReadinessTaints,
      [],
    );
  });

  const cases: [string, Record<string, string>, RegExp][] = [
    ['a boolean that is not one', { DRY_RUN: 'yes' }, /^DRY_RUN="yes": /],
    ['a number that is not one', { NODE_TERMINATION_GRACE_PERIOD: 'ten' }, /^NODE_TERMINATION_GRACE_PERIOD="ten": /],
    [
      'a grace period below its minimum',
      { NODE_TERMINATION_GRACE_PERIOD: '0' },
      /^NODE_TERMINATION_GRACE_PERIOD="0": .*>=\s?1/,
    ],
    ['an unknown taint effect', { TAINT_EFFECT: 'NoWay' }, /^TAINT_EFFECT="NoWay": /],
    [
      'an event action that does not exist',
      { REBALANCE_ACTION: 'uncordon' },
      /^REBALANCE_ACTION="uncordon": .*"none".*"drain"/,
    ],
    ['an undo time below 10 s', { UNDO_AFTER: '5' }, /^UNDO_AFTER="5": .*>=\s?10/],
    [
      'a readiness taint that is not a taint key',
      { LAUNCH_READINESS_TAINTS: 'node.kubernetes.io/not-ready,bad key!' },
      /^LAUNCH_READINESS_TAINTS="node.kubernetes.io\/not-ready,bad key!": 'bad key!' is not a taint key/,
    ],
    ['HEARTBEAT_UNTIL above 48 hours', { HEARTBEAT_UNTIL: '172801' }, /^HEARTBEAT_UNTIL="172801": /],
    [
      'a heartbeat interval above HEARTBEAT_UNTIL',
      { HEARTBEAT_INTERVAL: '4000', HEARTBEAT_UNTIL: '3600' },
      /^HEARTBEAT_INTERVAL=4000: must not exceed HEARTBEAT_UNTIL \(3600\)/,
    ],
    [
      'a heartbeat interval no hook can carry',
      { HEARTBEAT_INTERVAL: '7200' },
      /^HEARTBEAT_INTERVAL=7200: no hook can carry it \(HeartbeatTimeout is at most 7200 s.*at most 7158$/,
    ],
    ['a heartbeat interval too short to be sane', { HEARTBEAT_INTERVAL: '2' }, /^HEARTBEAT_INTERVAL=2: must be -1/],
    [
      'both webhook template settings',
      { WEBHOOK_URL: 'http://x', WEBHOOK_TEMPLATE: '{}', WEBHOOK_TEMPLATE_FILE: '/x' },
      /^WEBHOOK_TEMPLATE and WEBHOOK_TEMPLATE_FILE: set one, not both/,
    ],
    [
      'a template file that cannot be read',
      { WEBHOOK_URL: 'http://x', WEBHOOK_TEMPLATE_FILE: '/nonexistent/template' },
      /^WEBHOOK_TEMPLATE_FILE=\/nonexistent\/template: cannot read it/,
    ],
    [
      'a template variable NTH does not have',
      { WEBHOOK_URL: 'http://x', WEBHOOK_TEMPLATE: '{{ .Nope }}' },
      /^WEBHOOK_TEMPLATE: unknown template variable \.Nope/,
    ],
    [
      'a template action beyond variables',
      { WEBHOOK_URL: 'http://x', WEBHOOK_TEMPLATE: '{{ range .Pods }}x{{ end }}' },
      /^WEBHOOK_TEMPLATE: unsupported template action \{\{ range \.Pods \}\}/,
    ],
    [
      'headers that are not a JSON object of strings',
      { WEBHOOK_URL: 'http://x', WEBHOOK_HEADERS: '{"a": 1}' },
      /^WEBHOOK_HEADERS: /,
    ],
    [
      'headers that are not JSON',
      { WEBHOOK_URL: 'http://x', WEBHOOK_HEADERS: 'Authorization: x' },
      /^WEBHOOK_HEADERS: /,
    ],
    [
      'a proxy that is not a URL',
      { WEBHOOK_URL: 'http://x', WEBHOOK_PROXY: 'proxy:3128' },
      /^WEBHOOK_PROXY=proxy:3128: must be an http/,
    ],
    [
      'event annotations not in key=value form',
      { KUBERNETES_EVENTS_EXTRA_ANNOTATIONS: 'team' },
      /^KUBERNETES_EVENTS_EXTRA_ANNOTATIONS: "team" is not key=value/,
    ],
    [
      'an mTLS certificate without its key',
      { TEMPORAL_TLS_CERT_FILE: '/cert.pem' },
      /^TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE: mTLS needs both/,
    ],
    [
      'a lifecycle result that does not exist',
      { LIFECYCLE_RESULT_ON_FAILURE: 'RETRY' },
      /^LIFECYCLE_RESULT_ON_FAILURE="RETRY": /,
    ],
    ['a port out of range', { PROMETHEUS_SERVER_PORT: '70000' }, /^PROMETHEUS_SERVER_PORT="70000": /],
    ['a drain budget of 0', { DRAIN_BUDGET_PER_GROUP: '0' }, /^DRAIN_BUDGET_PER_GROUP="0": .*at least 1/],
    ['a drain budget that is not a count', { DRAIN_BUDGET_PER_GROUP: 'half' }, /^DRAIN_BUDGET_PER_GROUP="half": .*10%/],
    ['a percentage above 100', { DRAIN_BUDGET_PER_GROUP: '120%' }, /^DRAIN_BUDGET_PER_GROUP="120%": .*1% to 100%/],
    ['a cluster budget in percent', { DRAIN_BUDGET: '10%' }, /^DRAIN_BUDGET="10%": .*a count of nodes/],
    ['a workflow cache of one', { WORKFLOW_CACHE_SIZE: '1' }, /^WORKFLOW_CACHE_SIZE="1": /],
    ['a workflow cache in words', { WORKFLOW_CACHE_SIZE: 'large' }, /^WORKFLOW_CACHE_SIZE="large": /],
  ];
  for (const [what, env, expected] of cases) {
    it(`refuses ${what}`, () => {
      const found = problems(env);
      assert.ok(
        found.some((p) => expected.test(p)),
        `no problem matches ${expected}: ${JSON.stringify(found)}`,
      );
    });
  }

  it('refuses to start without CLUSTER_NAME or with one no EKS cluster could have, naming it', () => {
    for (const env of [{}, { CLUSTER_NAME: '' }, { CLUSTER_NAME: 'has space' }, { CLUSTER_NAME: '-dash' }]) {
      let problems: string[] = [];
      try {
        loadConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) problems = error.problems;
      }
      assert.match(problems.join('\n'), /^CLUSTER_NAME=/m, JSON.stringify(env));
    }
    for (const name of ['prod_a-1', 'prod.k8s.local', 'a'])
      assert.equal(loadConfig({ CLUSTER_NAME: name }).CLUSTER_NAME, name);
    assert.throws(() => loadConfig({ CLUSTER_NAME: 'prod.' }), /CLUSTER_NAME=/);
    // The old releases' task queue holds workflows this release cannot replay.
    assert.throws(
      () => loadConfig({ CLUSTER_NAME: 'a', TEMPORAL_TASK_QUEUE: 'tnth-termination' }),
      /TEMPORAL_TASK_QUEUE=tnth-termination: the task queue of releases before CLUSTER_NAME/,
    );
    assert.equal(loadConfig({ CLUSTER_NAME: 'a', TEMPORAL_TASK_QUEUE: 'own' }).TEMPORAL_TASK_QUEUE, 'own');
  });

  it('names every problem at once, not only the first', () => {
    assert.equal(problems({ DRY_RUN: 'maybe', TAINT_EFFECT: 'x', POD_TERMINATION_GRACE_PERIOD: '-5' }).length, 3);
  });

  it('reads the webhook settings and NTH-style event annotations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tnth-config-'));
    writeFileSync(join(dir, 'template.json'), '{"text":"{{ .InstanceID }} on {{ .NodeName }}"}');
    const config = loadConfig({
      ...cluster,
      WEBHOOK_URL: 'https://hooks.example/T000/SECRET',
      WEBHOOK_HEADERS: '{"Authorization":"Bearer s3cret"}',
      WEBHOOK_TEMPLATE_FILE: join(dir, 'template.json'),
      KUBERNETES_EVENTS_EXTRA_ANNOTATIONS: 'team=platform,cost-center=a=b',
    });
    assert.deepEqual(webhookSettings(config), {
      url: 'https://hooks.example/T000/SECRET',
      headers: { Authorization: 'Bearer s3cret' },
      template: '{"text":"{{ .InstanceID }} on {{ .NodeName }}"}',
      proxy: undefined,
    });
    assert.deepEqual(eventAnnotations(config), { team: 'platform', 'cost-center': 'a=b' });
    assert.equal(runbookSettings(config).webhookEnabled, true);
  });

  it('reads the drain budgets into the runbook settings, none when unset', () => {
    assert.equal(runbookSettings(loadConfig(cluster)).drainBudget, undefined);
    assert.deepEqual(
      runbookSettings(loadConfig({ ...cluster, DRAIN_BUDGET_PER_GROUP: '10%', DRAIN_BUDGET: '' })).drainBudget,
      { perGroup: { percent: 10 }, cluster: undefined },
    );
    assert.deepEqual(runbookSettings(loadConfig({ ...cluster, DRAIN_BUDGET: '5' })).drainBudget, {
      perGroup: undefined,
      cluster: { count: 5 },
    });
  });

  it('reads LIFECYCLE_HOOK_NAMES as the hooks tnth owns, every hook when unset or empty', () => {
    const some = loadConfig({ ...cluster, LIFECYCLE_HOOK_NAMES: 'tnth-drain, karpenter-hook ,,' });
    assert.deepEqual(some.LIFECYCLE_HOOK_NAMES, ['tnth-drain', 'karpenter-hook']);
    assert.equal(ownsLifecycleHook(some, 'tnth-drain'), true);
    assert.equal(ownsLifecycleHook(some, 'other-tool'), false);
    for (const env of [{}, { LIFECYCLE_HOOK_NAMES: '' }, { LIFECYCLE_HOOK_NAMES: ' , ' }]) {
      assert.equal(ownsLifecycleHook(loadConfig({ ...cluster, ...env }), 'any-hook'), true, JSON.stringify(env));
    }
  });
});
