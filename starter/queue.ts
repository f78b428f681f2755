import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** One received SQS message, as the starter needs it. */
export interface QueueMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** When SQS accepted the message (epoch ms), for the message-age metric. */
  sentAt?: number;
  receiveCount?: number;
}

export interface BatchFailure {
  messageId: string;
  reason: string;
}

/** What the pollers do with the queue; the SQS implementation is below, tests substitute their own. */
export interface MessageQueue {
  receive(signal: AbortSignal): Promise<QueueMessage[]>;
  /** Deletes the messages; returns the ones SQS did not delete (they come back and are handed off again). */
  delete(messages: QueueMessage[]): Promise<BatchFailure[]>;
  /** Makes the messages visible again after `seconds`: kept invisible that long, or given back. */
  retryAfter(messages: QueueMessage[], seconds: number): Promise<BatchFailure[]>;
  /** The queue's attributes (redrive policy, retention, visibility timeout), to check them at start. */
  attributes?(): Promise<Record<string, string>>;
}

/** SQS's limits on one ReceiveMessage call: 10 messages, 20 s of long polling. */
const maxMessagesPerReceive = 10;
const longPollSeconds = 20;

export class SqsQueue implements MessageQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async receive(signal: AbortSignal): Promise<QueueMessage[]> {
    const { Messages = [] } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: maxMessagesPerReceive,
        WaitTimeSeconds: longPollSeconds,
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      }),
      { abortSignal: signal },
    );
    return Messages.flatMap((message) => {
      if (message.MessageId === undefined || message.ReceiptHandle === undefined) return [];
      const sent = Number(message.Attributes?.SentTimestamp);
      const received = Number(message.Attributes?.ApproximateReceiveCount);
      return [
        {
          messageId: message.MessageId,
          receiptHandle: message.ReceiptHandle,
          body: message.Body ?? '',
          ...(Number.isFinite(sent) ? { sentAt: sent } : {}),
          ...(Number.isFinite(received) ? { receiveCount: received } : {}),
        },
      ];
    });
  }

  async attributes(): Promise<Record<string, string>> {
    const { Attributes = {} } = await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['All'] }),
    );
    return Attributes;
  }

  async delete(messages: QueueMessage[]): Promise<BatchFailure[]> {
    return this.inBatches(messages, async (entries) => {
      const { Failed = [] } = await this.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
      );
      return Failed;
    });
  }

  async retryAfter(messages: QueueMessage[], seconds: number): Promise<BatchFailure[]> {
    return this.inBatches(messages, async (entries) => {
      const { Failed = [] } = await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: entries.map((entry) => ({ ...entry, VisibilityTimeout: seconds })),
        }),
      );
      return Failed;
    });
  }

  /** Batch calls take 10 entries; entry ids are indexes, mapped back to message ids for the caller. */
  private async inBatches(
    messages: QueueMessage[],
    call: (
      entries: { Id: string; ReceiptHandle: string }[],
    ) => Promise<{ Id?: string; Message?: string; Code?: string }[]>,
  ): Promise<BatchFailure[]> {
    const failures: BatchFailure[] = [];
    for (let start = 0; start < messages.length; start += maxMessagesPerReceive) {
      const chunk = messages.slice(start, start + maxMessagesPerReceive);
      const failed = await call(
        chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.receiptHandle })),
      );
      for (const failure of failed) {
        const message = chunk[Number(failure.Id)];
        failures.push({
          messageId: message?.messageId ?? `entry ${failure.Id}`,
          reason: failure.Message ?? failure.Code ?? 'unknown',
        });
      }
    }
    return failures;
  }
}
