import type { z } from 'zod';

/** Why a message body cannot be turned into events; a label in logs and metrics. */
export type MessageErrorReason = 'too-large' | 'malformed-json' | 'unknown-type' | 'missing-field' | 'invalid-field';

/**
 * A body the starter cannot act on. It is returned, never thrown, by the parser: the starter counts it,
 * logs it with the SQS message id and leaves the message to the queue's redrive policy.
 */
export class MessageError extends Error {
  override readonly name = 'MessageError';

  constructor(
    readonly reason: MessageErrorReason,
    /** Where in the body the problem is, `detail.instance-id`; empty for the body as a whole. */
    readonly path: string,
    message: string,
    /** The message type the body was recognised as, when it got that far. */
    readonly messageType?: string,
  ) {
    super(message);
  }

  /** The same error seen from an enclosing body, such as the SNS envelope whose `Message` held it. */
  nestedIn(field: string, messageType: string): MessageError {
    const path = this.path === '' ? field : `${field}.${this.path}`;
    return new MessageError(this.reason, path, `in ${field}: ${this.message}`, this.messageType ?? messageType);
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** The first zod issue as a MessageError naming the field; a field that is absent is `missing-field`. */
export function fromZodError(
  error: z.ZodError,
  input: unknown,
  messageType?: string,
  basePath: readonly PropertyKey[] = [],
): MessageError {
  const issue = error.issues[0];
  if (issue === undefined) return new MessageError('invalid-field', formatPath(basePath), 'invalid body', messageType);
  const path = formatPath([...basePath, ...issue.path]);
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
    return new MessageError('missing-field', path, `missing field '${path}'`, messageType);
  }
  return new MessageError('invalid-field', path, `field '${path}': ${issue.message}`, messageType);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
