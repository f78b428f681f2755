import { z } from 'zod';
import { asgLaunch } from './asg-launch.js';
import { asgLaunchNotification, asgTerminateNotification } from './asg-notification.js';
import { asgTerminate } from './asg-terminate.js';
import { asgTestNotification } from './asg-test-notification.js';
import { fromZodError, MessageError } from './message-error.js';
import type { MessageKind } from './message-kind.js';
import { rebalanceRecommendation } from './rebalance-recommendation.js';
import { scheduledChange } from './scheduled-change.js';
import { snsNotification, snsSource } from './sns-notification.js';
import { spotInterruption } from './spot-interruption.js';
import { stateChange } from './state-change.js';

export const messageKinds: readonly MessageKind[] = [
  asgTerminate,
  asgLaunch,
  asgTerminateNotification,
  asgLaunchNotification,
  asgTestNotification,
  snsNotification,
  spotInterruption,
  rebalanceRecommendation,
  stateChange,
  scheduledChange,
];

const registryKey = (source: string, detailType: string): string => `${source}\u0000${detailType}`;

const registry: ReadonlyMap<string, MessageKind> = new Map(
  messageKinds.map((kind) => [registryKey(kind.source, kind.detailType), kind]),
);

/** Where a body says what it is: its source, its detail type, and the fields that held them. */
interface RoutingKey {
  source: string;
  detailType: string;
  sourceField: string;
  detailTypeField: string;
}

const eventBridgeKey = z.object({ source: z.string(), 'detail-type': z.string() });
const snsKey = z.object({ Type: z.string() });
const autoScalingKey = z.object({
  Service: z.string(),
  Event: z.string().optional(),
  LifecycleTransition: z.string().optional(),
});

/**
 * The three shapes a body can have: an EventBridge event (`source`, `detail-type`), an SNS notification
 * (`TopicArn`, `Type`), or a direct Auto Scaling notification (`Service`, and `Event` for the test
 * notification or `LifecycleTransition` for a lifecycle action).
 */
function routingKey(body: unknown): RoutingKey | MessageError {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return new MessageError('unknown-type', '', 'message body is not a JSON object');
  }
  if ('source' in body || 'detail-type' in body) {
    const key = eventBridgeKey.safeParse(body);
    if (!key.success) return fromZodError(key.error, body);
    return {
      source: key.data.source,
      detailType: key.data['detail-type'],
      sourceField: 'source',
      detailTypeField: 'detail-type',
    };
  }
  if ('TopicArn' in body) {
    const key = snsKey.safeParse(body);
    if (!key.success) return fromZodError(key.error, body);
    return { source: snsSource, detailType: key.data.Type, sourceField: 'TopicArn', detailTypeField: 'Type' };
  }
  if ('Service' in body) {
    const key = autoScalingKey.safeParse(body);
    if (!key.success) return fromZodError(key.error, body);
    const { Service, Event, LifecycleTransition } = key.data;
    const detailType = Event ?? LifecycleTransition;
    if (detailType === undefined) {
      return new MessageError('missing-field', 'LifecycleTransition', "missing field 'LifecycleTransition'");
    }
    return {
      source: Service,
      detailType,
      sourceField: 'Service',
      detailTypeField: Event === undefined ? 'LifecycleTransition' : 'Event',
    };
  }
  return new MessageError(
    'unknown-type',
    '',
    'not an EventBridge event (source, detail-type), an SNS notification (TopicArn) or an Auto Scaling notification (Service)',
  );
}

/** The kind that parses `body`, picked by source and detail type, or an `unknown-type` error naming the field. */
export function messageKindOf(body: unknown): MessageKind | MessageError {
  const key = routingKey(body);
  if (key instanceof MessageError) return key;
  const kind = registry.get(registryKey(key.source, key.detailType));
  if (kind !== undefined) return kind;
  const knownSource = messageKinds.some((k) => k.source === key.source);
  return knownSource
    ? new MessageError(
        'unknown-type',
        key.detailTypeField,
        `unsupported ${key.detailTypeField} '${key.detailType}' from '${key.source}'`,
      )
    : new MessageError('unknown-type', key.sourceField, `unsupported ${key.sourceField} '${key.source}'`);
}
