// The local stack's interruption queue for `npm run dev`: `tnth-dev` with a dead-letter queue after
// five receives, as production queues are set up. Idempotent; prints the queue URL.
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';

const sqs = new SQSClient({});
const { QueueUrl: dlqUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'tnth-dev-dlq' }));
const { Attributes } = await sqs.send(
  new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
);
const { QueueUrl } = await sqs.send(
  new CreateQueueCommand({
    QueueName: 'tnth-dev',
    Attributes: {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: '5' }),
    },
  }),
);
console.log(QueueUrl);
