// What each fixture under test/fixtures/ must parse to, written out by hand from the fixture bodies
// (not generated from the parser), so a parser change that alters an event shows up here.
import type { InterruptionEvent, LifecycleEvent, LifecycleLocation } from '../../common/events.js';
import type { MessageErrorReason } from '../../starter/messages/message-error.js';

const retirement =
  'EC2 has detected degradation of the underlying hardware hosting your instance. Your instance will be retired after the start time.';

function lifecycle(
  kind: LifecycleEvent['kind'],
  instanceId: string,
  time: string,
  eventId: string,
  group: string,
  hook: string,
  token: string,
  route: `${LifecycleLocation}->${LifecycleLocation}` | undefined,
  notificationMetadata?: string,
): LifecycleEvent {
  const [origin, destination] = (route?.split('->') ?? []) as LifecycleLocation[];
  return {
    kind,
    instanceId,
    time,
    eventId,
    autoScalingGroupName: group,
    lifecycleHookName: hook,
    lifecycleActionToken: token,
    ...(notificationMetadata === undefined ? {} : { notificationMetadata }),
    ...(origin === undefined ? {} : { origin }),
    ...(destination === undefined ? {} : { destination }),
  };
}

function stateChange(state: string, instanceId: string, eventId: string): InterruptionEvent {
  return { kind: 'state-change', instanceId, time: '2024-05-01T12:13:00Z', eventId, state };
}

/** test/fixtures/messages/<name>: the message type it is recognised as and the events it yields. */
export const goodMessages: Record<string, { messageType: string; events: InterruptionEvent[] }> = {
  'asg-terminate.eventbridge.json': {
    messageType: 'asg-terminate',
    events: [
      lifecycle(
        'asg-terminate',
        'i-0a1b2c3d4e5f60001',
        '2024-05-01T12:00:00Z',
        '0d5b3a49-3bb1-4d2f-9a4d-1f0f6a2b7c11',
        'eks-workers-a',
        'tnth-terminate',
        '87654321-4321-4321-4321-210987654321',
        'AutoScalingGroup->EC2',
      ),
    ],
  },
  'asg-launch.eventbridge.json': {
    messageType: 'asg-launch',
    events: [
      lifecycle(
        'asg-launch',
        'i-0a1b2c3d4e5f60002',
        '2024-05-01T12:01:00Z',
        '5b1f8a0e-1c3e-4b8a-8f7d-2e6c4d9a0b22',
        'eks-workers-a',
        'tnth-launch',
        '11112222-3333-4444-5555-666677778888',
        'EC2->AutoScalingGroup',
        'additional-info',
      ),
    ],
  },
  'asg-terminate.notification.json': {
    messageType: 'asg-terminate-notification',
    events: [
      lifecycle(
        'asg-terminate',
        'i-0a1b2c3d4e5f60003',
        '2024-05-01T12:02:11.305Z',
        '18b2ec17-3e9b-4c15-8024-ff2e8ce8786a',
        'eks-workers-b',
        'tnth-terminate',
        '71514b9d-6a40-4b26-8523-05e7ee35fa40',
        'AutoScalingGroup->EC2',
      ),
    ],
  },
  'asg-launch.notification.json': {
    messageType: 'asg-launch-notification',
    events: [
      lifecycle(
        'asg-launch',
        'i-0a1b2c3d4e5f60004',
        '2024-05-01T12:03:00.000Z',
        '9e8f7a6b-5c4d-4e3f-8a2b-1c0d9e8f7a6b',
        'eks-workers-b',
        'tnth-launch',
        'c0ffee00-1234-4abc-9def-0123456789ab',
        'EC2->AutoScalingGroup',
        '{"cluster":"prod"}',
      ),
    ],
  },
  // Wrapped in SNS: the event id is the inner RequestId, not SNS's MessageId.
  'asg-terminate.sns.json': {
    messageType: 'asg-terminate-notification via SNS',
    events: [
      lifecycle(
        'asg-terminate',
        'i-0a1b2c3d4e5f60005',
        '2024-05-01T12:04:00.000Z',
        '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
        'eks-workers-b',
        'tnth-terminate',
        '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9',
        'AutoScalingGroup->EC2',
      ),
    ],
  },
  'asg-launch.sns.json': {
    messageType: 'asg-launch-notification via SNS',
    events: [
      lifecycle(
        'asg-launch',
        'i-0a1b2c3d4e5f60006',
        '2024-05-01T12:05:00.000Z',
        '6f7a8b9c-0d1e-4f2a-b3c4-d5e6f7a8b9c0',
        'eks-workers-b',
        'tnth-launch',
        '7a8b9c0d-1e2f-4a3b-c4d5-e6f7a8b9c0d1',
        'EC2->AutoScalingGroup',
      ),
    ],
  },
  // Warm pools (AWS: https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html,
  // "Warm pool example events and patterns", and the direct notification of
  // https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html): the same
  // lifecycle actions, with Origin and Destination saying where the instance comes from and goes to.
  // A launch into the pool, the same instance's later launch out of it into the group, a scale-in back
  // into the pool (instance reuse policy), and a warm instance terminated from the pool.
  'asg-launch.into-warm-pool.eventbridge.json': {
    messageType: 'asg-launch',
    events: [
      lifecycle(
        'asg-launch',
        'i-0a1b2c3d4e5f60020',
        '2024-05-01T12:20:00.000Z',
        '3a7c9e1f-2b4d-4f6a-8c0e-1a3b5c7d9e01',
        'eks-workers-warm',
        'tnth-launch',
        '4b6d8f0a-1c3e-4a5b-9d7f-0e2a4c6e8a01',
        'EC2->WarmPool',
        'additional-info',
      ),
    ],
  },
  'asg-launch.from-warm-pool.eventbridge.json': {
    messageType: 'asg-launch',
    events: [
      lifecycle(
        'asg-launch',
        'i-0a1b2c3d4e5f60020',
        '2024-05-01T12:21:00.000Z',
        '3a7c9e1f-2b4d-4f6a-8c0e-1a3b5c7d9e02',
        'eks-workers-warm',
        'tnth-launch',
        '4b6d8f0a-1c3e-4a5b-9d7f-0e2a4c6e8a02',
        'WarmPool->AutoScalingGroup',
        'additional-info',
      ),
    ],
  },
  'asg-terminate.into-warm-pool.eventbridge.json': {
    messageType: 'asg-terminate',
    events: [
      lifecycle(
        'asg-terminate',
        'i-0a1b2c3d4e5f60021',
        '2024-05-01T12:22:00.000Z',
        '3a7c9e1f-2b4d-4f6a-8c0e-1a3b5c7d9e03',
        'eks-workers-warm',
        'tnth-terminate',
        '4b6d8f0a-1c3e-4a5b-9d7f-0e2a4c6e8a03',
        'AutoScalingGroup->WarmPool',
        'additional-info',
      ),
    ],
  },
  'asg-terminate.from-warm-pool.eventbridge.json': {
    messageType: 'asg-terminate',
    events: [
      lifecycle(
        'asg-terminate',
        'i-0a1b2c3d4e5f60022',
        '2024-05-01T12:23:00.000Z',
        '3a7c9e1f-2b4d-4f6a-8c0e-1a3b5c7d9e04',
        'eks-workers-warm',
        'tnth-terminate',
        '4b6d8f0a-1c3e-4a5b-9d7f-0e2a4c6e8a04',
        'WarmPool->EC2',
        'additional-info',
      ),
    ],
  },
  'asg-launch.into-warm-pool.notification.json': {
    messageType: 'asg-launch-notification',
    events: [
      lifecycle(
        'asg-launch',
        'i-0a1b2c3d4e5f60023',
        '2024-05-01T12:24:00.000Z',
        '5c8e0a2b-3d5f-4b7c-9e1a-2b4c6d8e0a05',
        'eks-workers-warm',
        'tnth-launch',
        '6d9f1b3c-4e6a-4c8d-8f2b-3c5d7e9f1b05',
        'EC2->WarmPool',
      ),
    ],
  },
  'asg-launch.from-warm-pool.notification.json': {
    messageType: 'asg-launch-notification',
    events: [
      lifecycle(
        'asg-launch',
        'i-0a1b2c3d4e5f60023',
        '2024-05-01T12:25:00.000Z',
        '5c8e0a2b-3d5f-4b7c-9e1a-2b4c6d8e0a06',
        'eks-workers-warm',
        'tnth-launch',
        '6d9f1b3c-4e6a-4c8d-8f2b-3c5d7e9f1b06',
        'WarmPool->AutoScalingGroup',
      ),
    ],
  },
  'asg-terminate.into-warm-pool.notification.json': {
    messageType: 'asg-terminate-notification',
    events: [
      lifecycle(
        'asg-terminate',
        'i-0a1b2c3d4e5f60024',
        '2024-05-01T12:26:00.000Z',
        '5c8e0a2b-3d5f-4b7c-9e1a-2b4c6d8e0a07',
        'eks-workers-warm',
        'tnth-terminate',
        '6d9f1b3c-4e6a-4c8d-8f2b-3c5d7e9f1b07',
        'AutoScalingGroup->WarmPool',
      ),
    ],
  },
  'asg-terminate.from-warm-pool.notification.json': {
    messageType: 'asg-terminate-notification',
    events: [
      lifecycle(
        'asg-terminate',
        'i-0a1b2c3d4e5f60025',
        '2024-05-01T12:27:00.000Z',
        '5c8e0a2b-3d5f-4b7c-9e1a-2b4c6d8e0a08',
        'eks-workers-warm',
        'tnth-terminate',
        '6d9f1b3c-4e6a-4c8d-8f2b-3c5d7e9f1b08',
        'WarmPool->EC2',
      ),
    ],
  },
  'asg-test-notification.notification.json': { messageType: 'asg-test-notification', events: [] },
  // EventBridge form, as NTH's fixtures record it: the hook's detail type, only the test event in the detail.
  'asg-test-notification.eventbridge.json': { messageType: 'asg-terminate', events: [] },
  'asg-test-notification.sns.json': { messageType: 'asg-test-notification via SNS', events: [] },
  'spot-interruption.eventbridge.json': {
    messageType: 'spot-interruption',
    events: [
      {
        kind: 'spot-interruption',
        instanceId: 'i-0a1b2c3d4e5f60007',
        time: '2024-05-01T12:10:00Z',
        eventId: '1e5527d7-bb36-4607-3370-4164db56a40e',
        instanceAction: 'terminate',
      },
    ],
  },
  'spot-interruption.sns.json': {
    messageType: 'spot-interruption via SNS',
    events: [
      {
        kind: 'spot-interruption',
        instanceId: 'i-0a1b2c3d4e5f60008',
        time: '2024-05-01T12:11:00Z',
        eventId: '2f6638e8-cc47-4718-4481-5275ec67b51f',
        instanceAction: 'stop',
      },
    ],
  },
  'rebalance-recommendation.eventbridge.json': {
    messageType: 'rebalance-recommendation',
    events: [
      {
        kind: 'rebalance-recommendation',
        instanceId: 'i-0a1b2c3d4e5f60009',
        time: '2024-05-01T12:12:00Z',
        eventId: '5d5555d5-dd55-5555-5555-5555dd55d55d',
      },
    ],
  },
  'state-change.stopping.eventbridge.json': {
    messageType: 'state-change',
    events: [stateChange('stopping', 'i-0a1b2c3d4e5f6000a', '7bf73129-1428-4cd3-a780-95db273d1602')],
  },
  'state-change.stopped.eventbridge.json': {
    messageType: 'state-change',
    events: [stateChange('stopped', 'i-0a1b2c3d4e5f6000b', '7bf73129-1428-4cd3-a780-95db273d1603')],
  },
  'state-change.shutting-down.eventbridge.json': {
    messageType: 'state-change',
    events: [stateChange('shutting-down', 'i-0a1b2c3d4e5f6000c', '7bf73129-1428-4cd3-a780-95db273d1604')],
  },
  'state-change.terminated.eventbridge.json': {
    messageType: 'state-change',
    events: [stateChange('terminated', 'i-0a1b2c3d4e5f6000d', '7bf73129-1428-4cd3-a780-95db273d1605')],
  },
  'state-change.pending.eventbridge.json': { messageType: 'state-change', events: [] },
  'state-change.running.eventbridge.json': { messageType: 'state-change', events: [] },
  // Two instances and a dedicated host: one event per instance, none for the host.
  'scheduled-change.eventbridge.json': {
    messageType: 'scheduled-change',
    events: ['i-0a1b2c3d4e5f60010', 'i-0a1b2c3d4e5f60011'].map((instanceId) => ({
      kind: 'scheduled-change',
      instanceId,
      time: '2024-05-01T06:27:57Z',
      eventId: '7fb65329-1628-4cf3-a740-95fa457b1402',
      eventTypeCode: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
      startTime: 'Sat, 08 Jun 2024 15:10:09 GMT',
      endTime: 'Sat, 08 Jun 2024 17:10:09 GMT',
      description: retirement,
    })),
  },
  'scheduled-change.other-service.eventbridge.json': { messageType: 'scheduled-change', events: [] },
  'scheduled-change.issue.eventbridge.json': { messageType: 'scheduled-change', events: [] },
};

/** test/fixtures/bad/<name>: why it is refused and the field the error must name ('' for the whole body). */
export const badMessages: Record<string, { reason: MessageErrorReason; path: string }> = {
  'malformed-json.json': { reason: 'malformed-json', path: '' },
  'empty.json': { reason: 'malformed-json', path: '' },
  'plain-text.txt': { reason: 'malformed-json', path: '' },
  'not-an-object.json': { reason: 'unknown-type', path: '' },
  'unrecognised-shape.json': { reason: 'unknown-type', path: '' },
  'unknown-source.json': { reason: 'unknown-type', path: 'source' },
  'unknown-detail-type.json': { reason: 'unknown-type', path: 'detail-type' },
  'eventbridge-detail-type-not-string.json': { reason: 'invalid-field', path: 'detail-type' },
  'eventbridge-missing-id.json': { reason: 'missing-field', path: 'id' },
  'eventbridge-bad-time.json': { reason: 'invalid-field', path: 'time' },
  'spot-detail-missing.json': { reason: 'missing-field', path: 'detail' },
  'spot-missing-instance-id.json': { reason: 'missing-field', path: 'detail.instance-id' },
  'spot-instance-id-number.json': { reason: 'invalid-field', path: 'detail.instance-id' },
  'spot-instance-id-not-instance.json': { reason: 'invalid-field', path: 'detail.instance-id' },
  'spot-unknown-instance-action.json': { reason: 'invalid-field', path: 'detail.instance-action' },
  'asg-terminate-missing-token.json': { reason: 'missing-field', path: 'detail.LifecycleActionToken' },
  'asg-terminate-wrong-transition.json': { reason: 'invalid-field', path: 'detail.LifecycleTransition' },
  'asg-terminate-empty-hook-name.json': { reason: 'invalid-field', path: 'detail.LifecycleHookName' },
  // A place Auto Scaling does not name, or not as a string: refused by name, not taken for a plain launch.
  'asg-launch-unknown-destination.json': { reason: 'invalid-field', path: 'detail.Destination' },
  'notification-origin-not-string.json': { reason: 'invalid-field', path: 'Origin' },
  'notification-missing-instance-id.json': { reason: 'missing-field', path: 'EC2InstanceId' },
  'notification-missing-request-id.json': { reason: 'missing-field', path: 'RequestId' },
  'notification-no-transition.json': { reason: 'missing-field', path: 'LifecycleTransition' },
  'notification-unknown-transition.json': { reason: 'unknown-type', path: 'LifecycleTransition' },
  'notification-unknown-service.json': { reason: 'unknown-type', path: 'Service' },
  'sns-message-not-json.json': { reason: 'malformed-json', path: 'Message' },
  'sns-message-not-string.json': { reason: 'invalid-field', path: 'Message' },
  'sns-inner-missing-token.json': { reason: 'missing-field', path: 'Message.LifecycleActionToken' },
  'sns-wrapped-twice.json': { reason: 'unknown-type', path: 'Message.Message' },
  'sns-subscription-confirmation.json': { reason: 'unknown-type', path: 'Type' },
  'state-change-missing-state.json': { reason: 'missing-field', path: 'detail.state' },
  'scheduled-change-missing-service.json': { reason: 'missing-field', path: 'detail.service' },
  'scheduled-change-missing-type-code.json': { reason: 'missing-field', path: 'detail.eventTypeCode' },
  'scheduled-change-entity-without-value.json': {
    reason: 'missing-field',
    path: 'detail.affectedEntities.1.entityValue',
  },
};
