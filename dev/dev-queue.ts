// The local stack's interruption queue for `npm run dev`: `tnth-dev` with a dead-letter queue after
// five receives, a day's retention and a minute's visibility, as production queues are set up.
// Idempotent (a queue made by an earlier version gets the attributes set); prints the queue URL.
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { recommendedQueueAttributes } from '../starter/queue-settings.js';

const sqs = new SQSClient({});
const { QueueUrl: dlqUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'tnth-dev-dlq' }));
const { Attributes } = await sqs.send(
  new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
);
const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'tnth-dev' }));
await sqs.send(
  new SetQueueAttributesCommand({
    QueueUrl,
    Attributes: {
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: Attributes?.QueueArn,
        maxReceiveCount: String(recommendedQueueAttributes.maxReceiveCount),
      }),
      MessageRetentionPeriod: String(recommendedQueueAttributes.MessageRetentionPeriod),
      VisibilityTimeout: String(recommendedQueueAttributes.VisibilityTimeout),
    },
  }),
);
console.log(QueueUrl);
