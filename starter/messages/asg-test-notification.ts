/*
 * The test notification Auto Scaling sends to a lifecycle hook's SQS or SNS target when the hook is created.
 * It asks for nothing: the starter deletes it.
 *   {"AccountId": "123456789012", "RequestId": "a2b7dcc8-0c61-4bea-9e3d-c7e6b8d9f1a2",
 *    "AutoScalingGroupARN": "arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:...:autoScalingGroupName/my-asg",
 *    "AutoScalingGroupName": "my-asg", "Service": "AWS Auto Scaling", "Event": "autoscaling:TEST_NOTIFICATION",
 *    "Time": "2024-05-01T11:59:00.000Z"}
 */
import { z } from 'zod';
import { autoScalingService } from './asg-notification.js';
import { testNotificationEvent } from './lifecycle.js';
import { defineMessageKind } from './message-kind.js';

export const asgTestNotification = defineMessageKind({
  name: 'asg-test-notification',
  source: autoScalingService,
  detailType: testNotificationEvent,
  schema: z.object({ Service: z.literal(autoScalingService) }),
  toEvents: () => [],
});
