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
