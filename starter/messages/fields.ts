import { z } from 'zod';

/** EC2 instance ids: `i-` and 8 (older instances) or 17 hexadecimal digits. */
export const instanceId = z.string().regex(/^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$/, 'expected an EC2 instance id (i-...)');

/** AWS writes ISO 8601 times with `Z`; an offset is accepted, anything else is a broken message. */
export const isoTime = z.iso.datetime({ offset: true });

export const nonEmpty = z.string().min(1);

/**
 * The envelope EventBridge puts around every event it delivers to SQS. `id` is unique per event and
 * stays the same on every redelivery, so it is the event id the workflow deduplicates on.
 */
export function eventBridgeEvent<D extends z.ZodType>(detailType: string, detail: D) {
  return z.object({
    id: nonEmpty,
    'detail-type': z.literal(detailType),
    source: z.string(),
    time: isoTime,
    region: z.string().optional(),
    detail,
  });
}
