// Every setting of NTH v1.25.6 has an answer in tnth: the README's checklist names each one with what
// tnth does, common/nth-settings.ts acts on it at start, and both follow the fixture of NTH's own
// names (test/fixtures/nth-settings/v1.25.6.txt, from NTH's pkg/config/config.go).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../common/config.js';
import { nthSettingNotes, nthSettingProblems, nthSettings, type NthSettingFate } from '../../common/nth-settings.js';
import { configVariables } from '../deploy/service-env.js';

const root = join(import.meta.dirname, '../..');
const nthNames = readFileSync(join(root, 'test/fixtures/nth-settings/v1.25.6.txt'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

/** The README's words for each fate, in the checklist's second column. */
const readmeFate: Record<NthSettingFate, RegExp> = {
  same: /^same$/,
  renamed: /^renamed: `([A-Z_]+)`$/,
  'imds-only': /^IMDS mode only$/,
  'not-needed': /^not needed$/,
  'not-supported': /^not supported$/,
};

/** The rows of the table under "### Every NTH setting" in the README: name, fate column. */
function checklist(): Map<string, string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('### Every NTH setting');
  assert.ok(start >= 0, 'README.md has no "### Every NTH setting"');
  const section = readme.slice(start, readme.indexOf('\n### ', start + 1));
  const rows = new Map<string, string>();
  for (const [, name, fate] of section.matchAll(/^\| `([A-Z0-9_]+)` +\| ([^|]+?) +\|/gm)) rows.set(name!, fate!);
  return rows;
}

const base = { CLUSTER_NAME: 'prod-a' };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig({ ...base, ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe("every NTH setting has an answer in tnth (NTH v1.25.6's names)", () => {
  it("the fixture holds NTH's 55 settings", () => {
    assert.equal(nthNames.length, 55);
    assert.equal(new Set(nthNames).size, nthNames.length);
  });

  it('the README checklist names every NTH setting, and only those', () => {
    const rows = checklist();
    assert.deepEqual(
      nthNames.filter((name) => !rows.has(name)),
      [],
      'NTH settings missing from the README checklist',
    );
    assert.deepEqual(
      [...rows.keys()].filter((name) => !nthNames.includes(name)),
      [],
      'README rows that are no NTH setting',
    );
  });

  it('common/nth-settings.ts answers every NTH setting, as the README says', () => {
    const rows = checklist();
    assert.deepEqual(
      nthNames.filter((name) => !(name in nthSettings)),
      [],
      'NTH settings common/nth-settings.ts does not know',
    );
    for (const name of nthNames) {
      const setting = nthSettings[name]!;
      const match = readmeFate[setting.fate].exec(rows.get(name) ?? '');
      assert.ok(match, `${name}: the README says "${rows.get(name)}", common/nth-settings.ts ${setting.fate}`);
      if (setting.fate === 'renamed') assert.equal(match[1], setting.to, `${name} renamed`);
    }
  });

  it('reads each "same" setting, and knows each renamed one under its new name', () => {
    const read = configVariables();
    // Read by the Kubernetes client in a pod, not by tnth's schema.
    const readElsewhere = ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'];
    // Checked to be a boolean, and otherwise ignored: tnth logs JSON whatever it says.
    const checkedOnly = ['JSON_LOGGING'];
    for (const [name, setting] of Object.entries(nthSettings)) {
      if (setting.fate === 'same' && !readElsewhere.includes(name)) assert.ok(read.has(name), `${name} is not read`);
      if (setting.fate === 'renamed') assert.ok(read.has(setting.to!), `${setting.to} (for ${name}) is not read`);
      if (setting.fate !== 'same' && setting.fate !== 'renamed' && !checkedOnly.includes(name)) {
        assert.ok(!read.has(name), `${name} is read after all`);
      }
    }
  });

  it("refuses NTH's old names at start, naming tnth's", () => {
    const table: [Record<string, string>, RegExp][] = [
      [{ GRACE_PERIOD: '30' }, /^GRACE_PERIOD="30": .* set POD_TERMINATION_GRACE_PERIOD instead$/],
      [{ MANAGED_ASG_TAG: 'x' }, /^MANAGED_ASG_TAG="x": .* set MANAGED_TAG instead$/],
      [{ CHECK_ASG_TAG_BEFORE_DRAINING: 'false' }, /set CHECK_TAG_BEFORE_DRAINING instead$/],
      [{ AWS_ENDPOINT: 'http://localhost:4566' }, /set AWS_ENDPOINT_URL instead$/],
      [{ GRACE_PERIOD: '30', POD_TERMINATION_GRACE_PERIOD: '30' }, /^GRACE_PERIOD: .* unset GRACE_PERIOD$/],
      [{ ENABLE_SQS_TERMINATION_DRAINING: 'false' }, /IMDS mode is not supported/],
      [{ PROBES_SERVER_ENDPOINT: '/live' }, /at \/healthz/],
    ];
    for (const [env, expected] of table) {
      const found = problems(env);
      assert.equal(found.length, 1, `${JSON.stringify(env)}: ${found.join('; ')}`);
      assert.match(found[0]!, expected);
    }
  });

  it("accepts the environment NTH's queue-processor chart gives, noting what tnth ignores", () => {
    // config/helm/aws-node-termination-handler/templates/deployment.yaml of v1.25.6, with its defaults.
    const nthChart = {
      NODE_NAME: 'ip-10-0-1-23.ec2.internal',
      POD_NAME: 'aws-node-termination-handler-7d9c',
      NAMESPACE: 'kube-system',
      ENABLE_PROBES_SERVER: 'true',
      PROBES_SERVER_PORT: '8080',
      PROBES_SERVER_ENDPOINT: '/healthz',
      LOG_LEVEL: 'info',
      JSON_LOGGING: 'false',
      LOG_FORMAT_VERSION: '1',
      ENABLE_PROMETHEUS_SERVER: 'false',
      PROMETHEUS_SERVER_PORT: '9092',
      CHECK_TAG_BEFORE_DRAINING: 'true',
      MANAGED_TAG: 'aws-node-termination-handler/managed',
      USE_PROVIDER_ID: 'false',
      DRY_RUN: 'false',
      CORDON_ONLY: 'false',
      TAINT_NODE: 'false',
      EXCLUDE_FROM_LOAD_BALANCERS: 'false',
      DELETE_LOCAL_DATA: 'true',
      IGNORE_DAEMON_SETS: 'true',
      POD_TERMINATION_GRACE_PERIOD: '-1',
      NODE_TERMINATION_GRACE_PERIOD: '120',
      EMIT_KUBERNETES_EVENTS: 'false',
      COMPLETE_LIFECYCLE_ACTION_DELAY_SECONDS: '-1',
      ENABLE_SQS_TERMINATION_DRAINING: 'true',
      QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/nth',
      DELETE_SQS_MSG_IF_NODE_NOT_FOUND: 'false',
      WORKERS: '10',
      HEARTBEAT_INTERVAL: '-1',
      HEARTBEAT_UNTIL: '-1',
      SQS_MSG_VISIBILITY_TIMEOUT_SEC: '20',
    };
    assert.deepEqual(nthSettingProblems(nthChart), []);
    const config = loadConfig({ ...base, ...nthChart });
    assert.equal(config.HEARTBEAT_UNTIL, 172800, "HEARTBEAT_UNTIL=-1 is NTH's default");
    assert.equal(config.AWS_REGION, 'eu-west-1', "without AWS_REGION, the queue URL's region, as NTH");
    assert.deepEqual(
      nthSettingNotes(nthChart).map((note) => note.split(' ')[0]),
      ['NAMESPACE', 'JSON_LOGGING', 'LOG_FORMAT_VERSION', 'WORKERS', 'SQS_MSG_VISIBILITY_TIMEOUT_SEC'],
    );
  });
});
