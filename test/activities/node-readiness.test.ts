import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { InstanceFacts } from '../../activities/aws/instances.js';
import type { NodeFacts, NodeLookup } from '../../activities/kubernetes/nodes.js';
import {
  createNodeReadinessActivities,
  nextDelay,
  pauseAfterLook,
  readinessSchedule,
  type NodeReadinessInput,
  type ReadinessCheckpoint,
  type ReadinessSchedule,
} from '../../activities/node-readiness.js';
import { activityEnvironment } from '../helpers/activity-environment.js';

const instanceId = 'i-0123456789abcdef0';
const dnsName = 'ip-10-0-1-23.ec2.internal';

/** The production schedule shrunk to milliseconds, so a wait takes a fraction of a second. */
const fast: ReadinessSchedule = {
  initialMs: 5,
  factor: 2,
  maxMs: 20,
  lastLookMarginMs: 5,
  listAllNodesEveryMs: 60,
  tickMs: 5,
};

const instance = (privateDnsName: string | undefined): InstanceFacts => ({
  instanceId,
  privateDnsName,
  availabilityZone: 'us-east-1a',
  state: 'pending',
  tags: {},
});

const nodeFacts = (ready: boolean, taintKeys: string[] = []): NodeFacts => ({
  name: dnsName,
  ready,
  unschedulable: false,
  providerId: `aws:///us-east-1a/${instanceId}`,
  taintKeys,
});

/**
 * EC2 and Kubernetes as scripts over the number of each call (1-based); an Error is thrown. Every
 * call is recorded with when it came.
 */
function fakeApis(script: {
  describe?: (call: number) => InstanceFacts | undefined | Error;
  find?: (call: number, lookup: NodeLookup) => NodeFacts | undefined | Error;
  read?: (call: number) => NodeFacts | undefined | Error;
}) {
  const calls: { api: 'describe' | 'find' | 'read'; at: number; lookup?: NodeLookup }[] = [];
  const answer = <T>(value: T | Error) => (value instanceof Error ? Promise.reject(value) : Promise.resolve(value));
  const count = (api: string) => calls.filter((c) => c.api === api).length;
  const instances = {
    describeInstance: () => {
      calls.push({ api: 'describe', at: Date.now() });
      return answer((script.describe ?? (() => instance(dnsName)))(count('describe')));
    },
  };
  const nodes = {
    findNode: (lookup: NodeLookup) => {
      calls.push({ api: 'find', at: Date.now(), lookup });
      return answer((script.find ?? (() => undefined))(count('find'), lookup));
    },
    nodeFacts: () => {
      calls.push({ api: 'read', at: Date.now() });
      return answer((script.read ?? (() => nodeFacts(true)))(count('read')));
    },
  };
  type Deps = Parameters<typeof createNodeReadinessActivities>;
  return {
    calls,
    of: (api: string) => calls.filter((c) => c.api === api),
    /** The activity function over these fakes. */
    activity: (schedule = fast) => {
      const activities = createNodeReadinessActivities(instances, nodes as unknown as Deps[1], schedule);
      return (waitInput: NodeReadinessInput) => activities.waitForNodeReady(waitInput);
    },
  };
}

const input = (deadlineInMs: number, useProviderId = false): NodeReadinessInput => ({
  instanceId,
  useProviderId,
  deadlineEpochMs: Date.now() + deadlineInMs,
});

/** Runs the wait in a mock activity environment, keeping a copy of every heartbeat's details. */
async function wait(apis: ReturnType<typeof fakeApis>, waitInput: NodeReadinessInput, resumed?: ReadinessCheckpoint) {
  const env = activityEnvironment(resumed ? { heartbeatDetails: resumed } : undefined);
  const beats: ReadinessCheckpoint[] = [];
  env.on('heartbeat', (details: ReadinessCheckpoint) => beats.push(structuredClone(details)));
  const result = await env.run(apis.activity(), waitInput);
  return { result, beats };
}

const throttled = () => Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' });

describe('waiting for a launching node: EC2 read once, the node looked at on a backoff up to the deadline', () => {
  it('backs off from 1 s by half each time to one look every 15 s: 26 looks in five minutes, the last 1 s before the deadline', () => {
    const deadline = 300_000;
    const looks = [0];
    for (let now = 0, delay = readinessSchedule.initialMs; ;) {
      const pause = pauseAfterLook(readinessSchedule, delay, now, deadline);
      if (pause === undefined) break;
      delay = nextDelay(readinessSchedule, delay);
      now += pause;
      looks.push(now);
    }
    const pauses = looks.slice(1).map((at, i) => at - looks[i]!);
    assert.deepEqual(pauses.slice(0, 8), [1000, 1500, 2250, 3375, 5062.5, 7593.75, 11390.625, 15000]);
    assert.ok(
      pauses.every((p) => p <= 15_000),
      'no pause longer than the cap',
    );
    assert.equal(looks.length, 26);
    assert.equal(looks.at(-1), deadline - 1_000, 'the last look is cut to come 1 s before the deadline');
    assert.equal(pauseAfterLook(readinessSchedule, 15_000, deadline - 1_000, deadline), undefined);
    assert.equal(pauseAfterLook(readinessSchedule, 15_000, deadline - 4_000, deadline), 3_000);
  });

  it('counts a Ready node as ready only once the readiness taints are gone, and says which one kept it at the deadline', async () => {
    const cni = 'node.cilium.io/agent-not-ready';
    const readiness = ['node.cloudprovider.kubernetes.io/uninitialized', cni];
    const untainted = fakeApis({
      find: () => nodeFacts(true, [cni]),
      read: (call) => nodeFacts(true, call < 3 ? [cni, 'example.com/other'] : ['example.com/other']),
    });
    const { result } = await wait(untainted, { ...input(5_000), readinessTaints: readiness });
    assert.deepEqual(result, { nodeName: dnsName, ready: true }, 'a taint not named does not hold it');
    assert.equal(untainted.of('read').length, 3, 'ready at the first look without the CNI taint');

    const stuck = fakeApis({ find: () => nodeFacts(true, [cni]), read: () => nodeFacts(true, [cni]) });
    const { result: last, beats } = await wait(stuck, { ...input(200), readinessTaints: readiness });
    assert.deepEqual(last, { nodeName: dnsName, ready: false, nodeReady: true, blockingTaints: [cni] });
    assert.equal(beats.at(-1)?.lastError, `startup taints remain: ${cni}`);
  });

  it('retries EC2 inside the wait until it names the instance, then never reads EC2 again', async () => {
    const apis = fakeApis({
      describe: (call) =>
        call === 1 ? throttled() : call === 2 ? undefined : instance(call === 3 ? undefined : dnsName),
      find: (call) => (call < 3 ? undefined : nodeFacts(call >= 4)),
    });
    const { result, beats } = await wait(apis, input(5_000));
    assert.deepEqual(result, { nodeName: dnsName, ready: true });
    assert.equal(apis.of('describe').length, 4, 'a throttle, an unknown instance, no DNS name yet, then the name');
    assert.ok(
      apis.calls.slice(4).every((c) => c.api !== 'describe'),
      'not one EC2 call once the name is known',
    );
    assert.deepEqual(apis.of('find')[0]?.lookup, {
      instanceId,
      privateDnsName: dnsName,
      availabilityZone: 'us-east-1a',
      useProviderId: false,
      listAllNodes: true,
    });
    assert.match(beats[0]?.lastError ?? '', /Request limit exceeded/, 'the throttle shows in the heartbeat details');
    assert.equal(beats.at(-1)?.privateDnsName, dnsName);
  });

  it('once the node is found, reads it by its name alone', async () => {
    const apis = fakeApis({
      find: (call) => (call < 2 ? undefined : nodeFacts(false)),
      read: (call) => nodeFacts(call >= 3),
    });
    const { result } = await wait(apis, input(5_000));
    assert.deepEqual(result, { nodeName: dnsName, ready: true });
    assert.deepEqual(
      apis.calls.map((c) => c.api),
      ['describe', 'find', 'find', 'read', 'read', 'read'],
    );
  });

  it('returns what it last saw at the deadline, having looked again meanwhile', async () => {
    // Only the outcome and the number of looks: the pauses themselves are the schedule's (tested
    // above), and their wall-clock length on a busy machine says nothing.
    const apis = fakeApis({ find: () => nodeFacts(false), read: () => nodeFacts(false) });
    const { result } = await wait(apis, input(150));
    assert.deepEqual(result, { nodeName: dnsName, ready: false, nodeReady: false, blockingTaints: [] });
    const looks = apis.calls.filter((c) => c.api !== 'describe').length;
    assert.ok(looks >= 2 && looks <= 12, `${looks} looks in 150 ms with a 20 ms cap`);
  });

  it('looks once even when the deadline has passed', async () => {
    const apis = fakeApis({ find: () => nodeFacts(true) });
    const { result } = await wait(apis, input(-1_000));
    assert.deepEqual(result, { nodeName: dnsName, ready: true });
    assert.equal(apis.calls.length, 2);
  });

  it('a retried attempt goes on from its heartbeat details: no EC2 call, and the backoff where it was', async () => {
    const apis = fakeApis({ find: (call) => (call < 3 ? undefined : nodeFacts(true)) });
    const resumed: ReadinessCheckpoint = {
      privateDnsName: dnsName,
      availabilityZone: 'us-east-1a',
      nodeName: undefined,
      ready: false,
      delayMs: 20,
      listedAllNodesAt: undefined,
      looks: 9,
      lastError: undefined,
    };
    const { result, beats } = await wait(apis, input(5_000), resumed);
    assert.deepEqual(result, { nodeName: dnsName, ready: true });
    assert.equal(apis.of('describe').length, 0);
    const [first, second] = apis.of('find');
    assert.ok(second!.at - first!.at >= 18, `the first pause was ${second!.at - first!.at} ms, not the initial 5 ms`);
    assert.equal(beats.at(-1)?.looks, 12);
  });

  it("an older worker's details (node name and readiness only) resume with the rest started afresh", async () => {
    const apis = fakeApis({});
    const env = activityEnvironment({ heartbeatDetails: { nodeName: dnsName, ready: false } });
    const result = await env.run(apis.activity(), input(5_000));
    assert.deepEqual(result, { nodeName: dnsName, ready: true });
    assert.deepEqual(
      apis.calls.map((c) => c.api),
      ['describe', 'read'],
    );
  });

  it('USE_PROVIDER_ID: looks through every node on the first look and then at most once a period', async () => {
    const apis = fakeApis({ find: () => undefined });
    await wait(apis, input(200, true));
    const listed = apis.of('find').filter((c) => c.lookup?.listAllNodes);
    // Counts of looks in 200 ms depend on the machine's load; what holds on any machine is that the
    // first look lists every node and that two such lists are never closer than the period.
    assert.ok(apis.of('find').length > listed.length, 'every look went through every node');
    assert.equal(apis.of('find')[0]?.lookup?.listAllNodes, true);
    const gaps = listed.slice(1).map((c, i) => c.at - listed[i]!.at);
    assert.ok(
      gaps.every((gap) => gap >= fast.listAllNodesEveryMs),
      `gaps ${gaps.join(', ')} ms`,
    );
  });

  it('fails at once, without retrying, on a request AWS refuses for good', async () => {
    const refused = ApplicationFailure.create({
      type: 'AwsRequestRefused',
      message: 'UnauthorizedOperation',
      nonRetryable: true,
    });
    const apis = fakeApis({ describe: () => refused });
    await assert.rejects(wait(apis, input(5_000)), /UnauthorizedOperation/);
    assert.equal(apis.calls.length, 1);
  });

  it('stops looking and heartbeating when cancelled', async () => {
    const apis = fakeApis({ find: () => undefined });
    const env = activityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => (beats += 1));
    const running = env.run(apis.activity(), input(60_000));
    while (apis.of('find').length < 2) await new Promise((r) => setTimeout(r, 5));
    env.cancel();
    await assert.rejects(running, CancelledFailure);
    const [calls, beatsAtCancel] = [apis.calls.length, beats];
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(apis.calls.length, calls, 'no look after the cancel');
    assert.equal(beats, beatsAtCancel, 'no heartbeat after the cancel');
  });
});
