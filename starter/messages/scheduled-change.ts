/*
 * EventBridge "AWS Health Event" (source aws.health). Only EC2's scheduled changes (instance retirement,
 * maintenance reboots) concern nodes: they yield one event per affected instance; every other service and
 * category yields none. Entities that are not instances (a dedicated host `h-...`) are skipped.
 *   {"version": "0", "id": "7fb65329-1628-4cf3-a740-95fa457b1402", "detail-type": "AWS Health Event",
 *    "source": "aws.health", "account": "123456789012", "time": "2024-05-01T06:27:57Z", "region": "us-east-1",
 *    "resources": ["i-0abc1234def567890"],
 *    "detail": {"eventArn": "arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/...",
 *               "service": "EC2", "eventTypeCode": "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
 *               "eventTypeCategory": "scheduledChange", "startTime": "Sat, 08 Jun 2024 15:10:09 GMT",
 *               "eventDescription": [{"language": "en_US", "latestDescription": "..."}],
 *               "affectedEntities": [{"entityValue": "i-0abc1234def567890"}]}}
 */
import { z } from 'zod';
import type { ScheduledChangeEvent } from '../../common/events.js';
import { eventBridgeEvent, instanceId } from './fields.js';
import { defineMessageKind, validatePart } from './message-kind.js';

const detailType = 'AWS Health Event';
const name = 'scheduled-change';

/** Enough of any Health event to tell whether it is one of EC2's scheduled changes. */
const healthDetail = z.looseObject({ service: z.string(), eventTypeCategory: z.string() });

const ec2ScheduledChangeDetail = z.object({
  eventTypeCode: z.string().min(1),
  startTime: z.string().optional(),
  endTime: z.string().optional(),
  eventDescription: z.array(z.object({ language: z.string(), latestDescription: z.string() })).optional(),
  affectedEntities: z.array(z.object({ entityValue: z.string() })).default([]),
});

export const scheduledChange = defineMessageKind({
  name,
  source: 'aws.health',
  detailType,
  schema: eventBridgeEvent(detailType, healthDetail),
  toEvents: ({ id, time, detail }) => {
    if (detail.service !== 'EC2' || detail.eventTypeCategory !== 'scheduledChange') return [];
    const change = validatePart(ec2ScheduledChangeDetail, detail, ['detail'], name);
    if (change instanceof Error) return change;
    const description = (change.eventDescription?.find((d) => d.language === 'en_US') ?? change.eventDescription?.[0])
      ?.latestDescription;
    return change.affectedEntities
      .filter((entity) => instanceId.safeParse(entity.entityValue).success)
      .map((entity): ScheduledChangeEvent => ({
        kind: 'scheduled-change',
        instanceId: entity.entityValue,
        time,
        eventId: id,
        eventTypeCode: change.eventTypeCode,
        ...(change.startTime === undefined ? {} : { startTime: change.startTime }),
        ...(change.endTime === undefined ? {} : { endTime: change.endTime }),
        ...(description === undefined ? {} : { description }),
      }));
  },
});
