/*
 * EventBridge "EC2 Instance Rebalance Recommendation" (source aws.ec2): the Spot instance is at elevated risk
 * of interruption; it may come before, or together with, the two-minute warning.
 *   {"version": "0", "id": "5d5555d5-dd55-5555-5555-5555dd55d55d",
 *    "detail-type": "EC2 Instance Rebalance Recommendation", "source": "aws.ec2", "account": "123456789012",
 *    "time": "2024-05-01T12:00:00Z", "region": "us-east-1",
 *    "resources": ["arn:aws:ec2:us-east-1b:instance/i-0b662ef9931388ba0"],
 *    "detail": {"instance-id": "i-0b662ef9931388ba0"}}
 */
import { z } from 'zod';
import { eventBridgeEvent, instanceId } from './fields.js';
import { defineMessageKind } from './message-kind.js';

const detailType = 'EC2 Instance Rebalance Recommendation';

export const rebalanceRecommendation = defineMessageKind({
  name: 'rebalance-recommendation',
  source: 'aws.ec2',
  detailType,
  schema: eventBridgeEvent(detailType, z.object({ 'instance-id': instanceId })),
  toEvents: (message) => [
    {
      kind: 'rebalance-recommendation',
      instanceId: message.detail['instance-id'],
      time: message.time,
      eventId: message.id,
    },
  ],
});
