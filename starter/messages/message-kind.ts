import type { z } from 'zod';
import type { InterruptionEvent } from '../../common/events.js';
import { fromZodError, MessageError } from './message-error.js';

/** What the parser makes of one body: the events (none when the message needs no action), or why not. */
export type ParseResult =
  { ok: true; messageType: string; events: InterruptionEvent[] } | { ok: false; error: MessageError };

/** What a kind's parser may ask of the one that dispatched it: the SNS kind parses the body it wraps. */
export interface ParseContext {
  parseNested(body: string): ParseResult;
}

/** One message kind: the registry picks it by `source` and `detailType`. */
export interface MessageKind {
  /** Label in logs and metrics, such as `spot-interruption`. */
  readonly name: string;
  readonly source: string;
  readonly detailType: string;
  parse: (body: unknown, context: ParseContext) => ParseResult;
}

interface MessageKindSpec<S extends z.ZodType> {
  name: string;
  source: string;
  detailType: string;
  schema: S;
  toEvents: (message: z.output<S>, context: ParseContext) => InterruptionEvent[] | MessageError;
}

/** A kind whose body is checked by `schema` and then turned into events by `toEvents`. */
export function defineMessageKind<S extends z.ZodType>(spec: MessageKindSpec<S>): MessageKind {
  const { name, source, detailType, schema, toEvents } = spec;
  return {
    name,
    source,
    detailType,
    parse(body, context) {
      const parsed = schema.safeParse(body);
      if (!parsed.success) return { ok: false, error: fromZodError(parsed.error, body, name) };
      const events = toEvents(parsed.data, context);
      return events instanceof MessageError ? { ok: false, error: events } : { ok: true, messageType: name, events };
    },
  };
}

/** Checks a part of a body that only needs checking once the kind knows it will act on it. */
export function validatePart<S extends z.ZodType>(
  schema: S,
  value: unknown,
  path: readonly PropertyKey[],
  messageType: string,
): z.output<S> | MessageError {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : fromZodError(parsed.error, value, messageType, path);
}
