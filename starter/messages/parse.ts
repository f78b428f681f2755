import { MessageError } from './message-error.js';
import type { ParseContext, ParseResult } from './message-kind.js';
import { messageKindOf } from './registry.js';

/**
 * SQS's largest message body: 1 MiB (1,048,576 bytes), raised from 256 KiB in August 2025. Counted in UTF-8
 * bytes, as SQS counts. A bigger body cannot have come through SQS; it is refused before JSON parsing.
 */
export const maxBodyBytes = 1_048_576;

/** An SNS notification may wrap one body; a body wrapped twice is not something AWS sends. */
const maxNesting = 1;

/** Turns one SQS message body into interruption events. Never throws: a bad body is an error result. */
export function parseMessage(body: string): ParseResult {
  const size = Buffer.byteLength(body, 'utf8');
  if (size > maxBodyBytes) {
    return {
      ok: false,
      error: new MessageError('too-large', '', `body is ${size} bytes, more than SQS's maximum of ${maxBodyBytes}`),
    };
  }
  return parseText(body, 0);
}

function parseText(text: string, depth: number): ParseResult {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: new MessageError('malformed-json', '', `not JSON: ${(error as Error).message}`) };
  }
  const kind = messageKindOf(document);
  if (kind instanceof MessageError) return { ok: false, error: kind };
  const context: ParseContext = {
    parseNested: (nested) =>
      depth < maxNesting
        ? parseText(nested, depth + 1)
        : { ok: false, error: new MessageError('unknown-type', '', 'a notification wrapped more than once') },
  };
  try {
    return kind.parse(document, context);
  } catch (error) {
    // The schemas do not throw; this keeps the promise that a parser bug is a rejected message, not a crash.
    return { ok: false, error: new MessageError('invalid-field', '', `parser failed: ${String(error)}`, kind.name) };
  }
}
