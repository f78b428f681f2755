/*
 * EventBridge "EC2 Spot Instance Interruption Warning" (source aws.ec2): EC2 reclaims the Spot instance in
 * about two minutes (at once for hibernation).
 *   {"version": "0", "id": "1e5527d7-bb36-4607-3370-4164db56a40e",
 *    "detail-type": "EC2 Spot Instance Interruption Warning", "source": "aws.ec2", "account": "123456789012",
 *    "time": "2024-05-01T12:00:00Z", "region": "us-east-1",
 *    "resources": ["arn:aws:ec2:us-east-1b:instance/i-0b662ef9931388ba0"],
 *    "detail": {"instance-id": "i-0b662ef9931388ba0", "instance-action": "terminate"}}
 */
import { z } from 'zod';
import { eventBridgeEvent, instanceId } from './fields.js';
import { defineMessageKind } from './message-kind.js';

const detailType = 'EC2 Spot Instance Interruption Warning';

export const spotInterruption = defineMessageKind({
  name: 'spot-interruption',
  source: 'aws.ec2',
  detailType,
  schema: eventBridgeEvent(
    detailType,
    z.object({ 'instance-id': instanceId, 'instance-action': z.enum(['terminate', 'stop', 'hibernate']) }),
  ),
  toEvents: (message) => [
    {
      kind: 'spot-interruption',
      instanceId: message.detail['instance-id'],
      time: message.time,
      eventId: message.id,
      instanceAction: message.detail['instance-action'],
    },
  ],
});
