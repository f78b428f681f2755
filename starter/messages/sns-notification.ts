/*
 * An SNS notification delivered to an SQS subscription without raw message delivery: the original body
 * (usually a direct lifecycle hook notification, sometimes an EventBridge event) is the JSON string in
 * `Message`. The events, and their ids, are those of the wrapped body; SNS's own `MessageId` is not used.
 *   {"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
 *    "TopicArn": "arn:aws:sns:us-west-2:123456789012:my-asg-hooks", "Subject": "Auto Scaling: Lifecycle action 'TERMINATING' ...",
 *    "Message": "{\"Service\":\"AWS Auto Scaling\",\"RequestId\":\"18b2ec17-...\",\"EC2InstanceId\":\"i-0598c7d356eba48d7\",...}",
 *    "Timestamp": "2024-05-01T12:00:00.123Z", "SignatureVersion": "1", "Signature": "...",
 *    "SigningCertURL": "https://sns.us-west-2.amazonaws.com/...", "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/..."}
 */
import { z } from 'zod';
import { fromZodError } from './message-error.js';
import type { MessageKind } from './message-kind.js';

export const snsSource = 'Amazon SNS';
const name = 'sns-notification';

const envelope = z.object({ Type: z.literal('Notification'), TopicArn: z.string(), Message: z.string() });

export const snsNotification: MessageKind = {
  name,
  source: snsSource,
  detailType: 'Notification',
  parse(body, context) {
    const parsed = envelope.safeParse(body);
    if (!parsed.success) return { ok: false, error: fromZodError(parsed.error, body, name) };
    const nested = context.parseNested(parsed.data.Message);
    return nested.ok
      ? { ...nested, messageType: `${nested.messageType} via SNS` }
      : { ok: false, error: nested.error.nestedIn('Message', name) };
  },
};
