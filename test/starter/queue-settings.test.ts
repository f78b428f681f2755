import assert from 'node:assert/strict';
import { queueSettingWarnings, recommendedQueueAttributes } from '../../starter/queue-settings.js';

const good = {
  RedrivePolicy: JSON.stringify({
    deadLetterTargetArn: 'arn:aws:sqs:us-east-1:123456789012:dlq',
    maxReceiveCount: '5',
  }),
  MessageRetentionPeriod: '86400',
  VisibilityTimeout: '60',
};

describe('starter: the queue settings checked at start', () => {
  it('says nothing about a queue set up as recommended', () => {
    assert.deepEqual(queueSettingWarnings(good, 10_000), []);
    assert.deepEqual(
      queueSettingWarnings(
        {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: 'x',
            maxReceiveCount: recommendedQueueAttributes.maxReceiveCount,
          }),
          MessageRetentionPeriod: String(recommendedQueueAttributes.MessageRetentionPeriod),
          VisibilityTimeout: String(recommendedQueueAttributes.VisibilityTimeout),
        },
        10_000,
      ),
      [],
    );
  });

  for (const [what, attributes, expected] of [
    ['no redrive policy', { ...good, RedrivePolicy: '' }, /^RedrivePolicy: none.*maxReceiveCount 5$/],
    [
      'a maxReceiveCount too low',
      { ...good, RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'x', maxReceiveCount: 2 }) },
      /^RedrivePolicy maxReceiveCount=2: .*recommended 5$/,
    ],
    [
      'the retention NTH documents (300 s)',
      { ...good, MessageRetentionPeriod: '300' },
      /^MessageRetentionPeriod=300: .*Recommended 86400$/,
    ],
    [
      'a visibility timeout shorter than the hand-off',
      { ...good, VisibilityTimeout: '5' },
      /^VisibilityTimeout=5: .*recommended 60$/,
    ],
  ] as const) {
    it(`warns about ${what}, naming the attribute and the value it recommends`, () => {
      const warnings = queueSettingWarnings(attributes, 10_000);
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.match(warnings[0]!, expected);
    });
  }
});
