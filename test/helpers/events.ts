import { randomBytes, randomUUID } from 'node:crypto';
import type { LifecycleEvent, SpotInterruptionEvent } from '../../common/events.js';

export const uniqueInstanceId = () => `i-${randomBytes(8).toString('hex').slice(0, 17)}`;

export function asgTerminateEvent(
  instanceId = uniqueInstanceId(),
  overrides: Partial<LifecycleEvent> = {},
): LifecycleEvent {
  return {
    kind: 'asg-terminate',
    instanceId,
    time: new Date().toISOString(),
    eventId: randomUUID(),
    autoScalingGroupName: 'test-group',
    lifecycleHookName: 'test-hook',
    lifecycleActionToken: randomUUID(),
    ...overrides,
  };
}

export function spotInterruptionEvent(instanceId = uniqueInstanceId()): SpotInterruptionEvent {
  return {
    kind: 'spot-interruption',
    instanceId,
    time: new Date().toISOString(),
    eventId: randomUUID(),
    instanceAction: 'terminate',
  };
}

/** An EventBridge message body of `source`/`detail-type` for one instance, as AWS documents it. */
export const eventBridgeMessage = (
  detailType: string,
  source: string,
  instanceId: string,
  detail: Record<string, unknown>,
  id: string = randomUUID(),
) => ({
  version: '0',
  id,
  'detail-type': detailType,
  source,
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${instanceId}`],
  detail,
});

/** The body of a Spot interruption warning for `instanceId`, as EventBridge sends it to the queue. */
export const spotInterruptionMessage = (instanceId: string, id?: string) =>
  eventBridgeMessage(
    'EC2 Spot Instance Interruption Warning',
    'aws.ec2',
    instanceId,
    { 'instance-id': instanceId, 'instance-action': 'terminate' },
    id,
  );
