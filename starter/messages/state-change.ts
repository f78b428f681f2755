/*
 * EventBridge "EC2 Instance State-change Notification" (source aws.ec2): the instance entered `state`. Only
 * the states on the way out need a drain; pending and running yield no events.
 *   {"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
 *    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "123456789012",
 *    "time": "2024-05-01T12:00:00Z", "region": "us-east-1",
 *    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
 *    "detail": {"instance-id": "i-abcd1111", "state": "stopping"}}
 */
import { z } from 'zod';
import { eventBridgeEvent, instanceId } from './fields.js';
import { defineMessageKind } from './message-kind.js';

const detailType = 'EC2 Instance State-change Notification';
const statesToDrain: ReadonlySet<string> = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);

export const stateChange = defineMessageKind({
  name: 'state-change',
  source: 'aws.ec2',
  detailType,
  schema: eventBridgeEvent(detailType, z.object({ 'instance-id': instanceId, state: z.string().min(1) })),
  toEvents: ({ id, time, detail }) =>
    statesToDrain.has(detail.state)
      ? [{ kind: 'state-change', instanceId: detail['instance-id'], time, eventId: id, state: detail.state }]
      : [],
});
