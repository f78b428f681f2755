// NTH's own webhook templates against NTH's own output. The expected bodies (fixtures/nth-webhook/
// expected.json) were made by render.go beside them, with NTH v1.25.6's types, its event construction
// (pkg/monitor/sqsevent) and Go's text/template, for the messages of test/fixtures/messages and the
// instances and node of cases.json. Here the same messages go through tnth's parser, EC2 description
// (describeInstance over a recorded DescribeInstances answer), template data and renderer.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { createInstanceActivities } from '../../activities/aws/instances.js';
import { loadConfig } from '../../common/config.js';
import { goTime } from '../../common/go-format.js';
import { defaultWebhookTemplate, renderTemplate, templateProblems } from '../../common/webhook-template.js';
import { parseMessage } from '../../starter/messages/parse.js';
import { notificationData } from '../../workflows/notification-data.js';

const folder = join(import.meta.dirname, '../fixtures/nth-webhook');

interface Instance {
  region: string;
  OwnerId: string;
  InstanceType: string;
  InstanceLifecycle?: 'spot';
  PrivateDnsName: string;
  PrivateIpAddress: string;
  PublicDnsName?: string;
  PublicIpAddress?: string;
  AvailabilityZone: string;
  Tags: Record<string, string>;
}

interface Cases {
  templates: Record<string, string>;
  instances: Record<string, Instance>;
  node: { labels: Record<string, string>; pods: string[] };
  cases: { name: string; template: string; message: string; instance: string }[];
}

const fixtures = JSON.parse(readFileSync(join(folder, 'cases.json'), 'utf8')) as Cases;
const expected = JSON.parse(readFileSync(join(folder, 'expected.json'), 'utf8')) as Record<string, string>;

/** An EC2 client that answers DescribeInstances as EC2 does for `instance`, in its region. */
function ec2Answering(instanceId: string, instance: Instance): EC2Client {
  const answer = {
    Reservations: [
      {
        OwnerId: instance.OwnerId,
        Instances: [
          {
            InstanceId: instanceId,
            InstanceType: instance.InstanceType,
            InstanceLifecycle: instance.InstanceLifecycle,
            PrivateDnsName: instance.PrivateDnsName,
            PrivateIpAddress: instance.PrivateIpAddress,
            PublicDnsName: instance.PublicDnsName ?? '',
            PublicIpAddress: instance.PublicIpAddress,
            Placement: { AvailabilityZone: instance.AvailabilityZone },
            State: { Name: 'running' },
            Tags: Object.entries(instance.Tags).map(([Key, Value]) => ({ Key, Value })),
          },
        ],
      },
    ],
  };
  return { send: () => Promise.resolve(answer), config: { region: () => Promise.resolve(instance.region) } } as never;
}

async function render(c: Cases['cases'][number]): Promise<string> {
  const parsed = parseMessage(readFileSync(join(folder, c.message), 'utf8'));
  assert.ok(parsed.ok, `${c.message} does not parse`);
  const [event] = parsed.events;
  assert.ok(event);
  const spec = fixtures.instances[c.instance]!;
  const instance = await createInstanceActivities(ec2Answering(event.instanceId, spec)).describeInstance(
    event.instanceId,
  );
  const data = notificationData({
    event,
    instanceId: event.instanceId,
    instance,
    node: { name: spec.PrivateDnsName, providerId: undefined, labels: fixtures.node.labels },
    instanceType: undefined,
    phase: 'Done',
    podsEvicted: fixtures.node.pods.map((pod) => `default/${pod}`),
    managed: true,
    endTime: '2024-05-01T12:20:00Z',
  });
  return renderTemplate(fixtures.templates[c.template]!, data);
}

describe("NTH's webhook templates render as NTH renders them", () => {
  it("NTH's default template is tnth's default, and NTH's templates pass the check at start", () => {
    assert.equal(fixtures.templates['nth-default'], defaultWebhookTemplate);
    for (const [name, template] of Object.entries(fixtures.templates)) {
      assert.deepEqual(templateProblems(template), [], name);
      const env = { CLUSTER_NAME: 'prod-a', WEBHOOK_URL: 'https://hooks.example.com/x', WEBHOOK_TEMPLATE: template };
      assert.doesNotThrow(() => loadConfig(env), name);
    }
  });

  for (const c of fixtures.cases) {
    it(c.name, async () => {
      const nth = expected[c.name];
      assert.ok(nth !== undefined, `no expected output for "${c.name}": run render.go`);
      const body = await render(c);
      if (!fixtures.templates[c.template]!.startsWith('{')) {
        assert.equal(body, nth);
        return;
      }
      // NTH puts its descriptions' trailing newline raw inside the JSON string, which is not JSON;
      // tnth escapes it, and the body is otherwise NTH's byte for byte.
      assert.equal(body, nth.replaceAll('\n', '\\n'));
      assert.deepEqual(JSON.parse(body), JSON.parse(nth.replaceAll('\n', '\\n')));
      if (nth.includes('\n')) assert.throws(() => JSON.parse(nth), SyntaxError);
    });
  }

  it('prints times as Go prints a time.Time that time.Parse(time.RFC3339, ...) read', () => {
    // Go 1.26: fmt.Println(time.Parse(time.RFC3339, input)) in a process whose local zone is UTC.
    const table: [string, string][] = [
      ['2026-12-01T23:15:10Z', '2026-12-01 23:15:10 +0000 UTC'],
      ['2024-05-01T12:02:11.305Z', '2024-05-01 12:02:11.305 +0000 UTC'],
      ['2024-05-01T12:02:11.300Z', '2024-05-01 12:02:11.3 +0000 UTC'],
      ['2024-05-01T12:02:11.000Z', '2024-05-01 12:02:11 +0000 UTC'],
      ['2024-05-01T12:02:11.123456789Z', '2024-05-01 12:02:11.123456789 +0000 UTC'],
      ['2024-05-01T12:02:11+00:00', '2024-05-01 12:02:11 +0000 UTC'],
      ['2024-05-01T14:02:11+02:00', '2024-05-01 14:02:11 +0200 +0200'],
      ['2024-05-01T07:32:11-04:30', '2024-05-01 07:32:11 -0430 -0430'],
    ];
    assert.deepEqual(
      table.map(([iso]) => [iso, goTime(iso)]),
      table,
    );
  });

  it('refuses at start a variable NTH has no field for, naming the nearest one', () => {
    assert.deepEqual(templateProblems('{"text":"{{ .InstanceId }} in {{ .Zone }}"}'), [
      'unknown template variable .InstanceId in {{ .InstanceId }}: the nearest supported one is .InstanceID',
      'unknown template variable .Zone in {{ .Zone }}: the nearest supported one is .AvailabilityZone',
    ]);
  });
});
