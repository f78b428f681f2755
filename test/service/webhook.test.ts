import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { activityEnvironment } from '../helpers/activity-environment.js';
import { createWebhookActivities } from '../../activities/notify/webhook.js';
import type { NotificationData } from '../../common/notification.js';
import { defaultWebhookTemplate, renderTemplate } from '../../common/webhook-template.js';

const data: NotificationData = {
  EventID: 'evt-1',
  Kind: 'SPOT_ITN',
  Monitor: 'SQS_MONITOR',
  Description: 'Spot "interruption" notice',
  State: 'Done',
  AutoScalingGroupName: 'group-a',
  NodeName: 'ip-10-0-1-23.ec2.internal',
  NodeLabels: { b: '2', a: '1' },
  Pods: ['default/app-1', 'default/app-2'],
  InstanceID: 'i-0123456789abcdef0',
  ProviderID: 'aws:///us-east-1a/i-0123456789abcdef0',
  InstanceType: 'm5.large',
  IsManaged: true,
  StartTime: '2026-11-29T10:00:00Z',
  EndTime: '2026-11-29T10:05:00Z',
  NodeProcessed: true,
  InProgress: false,
};

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook receiver that answers from a script of statuses (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(statuses[Math.min(received.length - 1, statuses.length - 1)]!);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/T000/SECRET-TOKEN`, received, server };
}

describe('webhook notifications', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('renders NTH template variables, keeping a JSON template valid JSON', () => {
    const body = JSON.parse(renderTemplate(defaultWebhookTemplate, data)) as { text: string };
    assert.equal(
      body.text,
      '[NTH][Instance Interruption] EventID: evt-1 - Kind: SPOT_ITN - Instance: i-0123456789abcdef0 - Node: ip-10-0-1-23.ec2.internal - Description: Spot "interruption" notice - Start Time: 2026-11-29 10:00:00 +0000 UTC',
    );
    assert.equal(
      renderTemplate('{{.NodeLabels}} {{ .Pods }} {{ .IsManaged }}', data),
      'map[a:1 b:2] [default/app-1 default/app-2] true',
    );
  });

  it('posts the rendered body with the configured headers', async () => {
    const hook = await receiver([200]);
    servers.push(hook.server);
    const { sendWebhook } = createWebhookActivities({
      url: hook.url,
      headers: { Authorization: 'Bearer s3cret' },
      template: '{"text":"{{ .InstanceID }}"}',
      proxy: undefined,
    });
    await activityEnvironment().run(sendWebhook, data);
    assert.equal(hook.received.length, 1);
    assert.deepEqual(JSON.parse(hook.received[0]!.body), { text: 'i-0123456789abcdef0' });
    assert.equal(hook.received[0]!.headers.authorization, 'Bearer s3cret');
    assert.equal(hook.received[0]!.headers['content-type'], 'application/json');
  });

  it('fails retryably on 5xx and 429, for good on other refusals, and never names the URL or headers', async () => {
    const hook = await receiver([503, 429, 403]);
    servers.push(hook.server);
    const { sendWebhook } = createWebhookActivities({
      url: hook.url,
      headers: { Authorization: 'Bearer s3cret' },
      template: '{}',
      proxy: undefined,
    });
    const outcomes: { nonRetryable: boolean; message: string }[] = [];
    for (let i = 0; i < 3; i++) {
      await assert.rejects(activityEnvironment().run(sendWebhook, data), (error) => {
        assert.ok(error instanceof ApplicationFailure);
        outcomes.push({ nonRetryable: error.nonRetryable === true, message: error.message });
        return true;
      });
    }
    assert.deepEqual(
      outcomes.map((o) => o.nonRetryable),
      [false, false, true],
    );
    for (const { message } of outcomes) {
      assert.doesNotMatch(message, /SECRET-TOKEN|s3cret|hooks/);
      assert.match(message, /webhook answered HTTP \d+ for event evt-1/);
    }
  });

  it('goes through WEBHOOK_PROXY when set', async () => {
    const hook = await receiver([200]);
    servers.push(hook.server);
    const tunnels: string[] = [];
    // An egress proxy: tunnels (CONNECT) and forwards absolute-form requests, as squid does.
    const proxy = createServer((req, res) => {
      const target = new URL(req.url ?? '');
      tunnels.push(target.host);
      const upstream = request(target, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    proxy.on('connect', (req: IncomingMessage, socket, head: Buffer) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    servers.push(proxy);
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const { sendWebhook } = createWebhookActivities({ url: hook.url, headers: {}, template: '{}', proxy: proxyUrl });
    await activityEnvironment().run(sendWebhook, data);
    assert.equal(hook.received.length, 1);
    assert.deepEqual(tunnels, [new URL(hook.url).host]);
  });

  it('does not follow a redirect with its secret headers: a 3xx fails naming the status and the origin only', async () => {
    const elsewhere: Received[] = [];
    const attacker = createServer((req, res) => {
      elsewhere.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '' });
      res.writeHead(200);
      res.end();
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    servers.push(attacker);
    const attackerPort = (attacker.address() as AddressInfo).port;
    const redirecting = createServer((_req, res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${attackerPort}/collect?token=LEAKED-PATH-TOKEN` });
      res.end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    servers.push(redirecting);
    const port = (redirecting.address() as AddressInfo).port;
    const activities = createWebhookActivities({
      url: `http://127.0.0.1:${port}/hooks/T000/SECRET-TOKEN`,
      headers: { 'X-Api-Key': 'SECRET-HEADER' },
      template: defaultWebhookTemplate,
      proxy: undefined,
    });
    const error = await activityEnvironment()
      .run((d: NotificationData) => activities.sendWebhook(d), data)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApplicationFailure, String(error));
    assert.equal(error.type, 'WebhookRedirected');
    assert.equal(error.nonRetryable, true);
    assert.match(error.message, new RegExp(`HTTP 307 .*http://127\\.0\\.0\\.1:${attackerPort}:`));
    assert.doesNotMatch(error.message, /LEAKED-PATH-TOKEN|SECRET/);
    assert.deepEqual(elsewhere, [], 'the request, with its headers, followed the redirect');
  });
});
