import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { parseMessage } from './messages/parse.js';

const usage = 'usage: tnth parse-message [FILE | -]   (reads one SQS message body; `-` or no FILE reads stdin)';

/**
 * `tnth parse-message [FILE | -]`: prints the events one message body yields as a JSON array, `[]` when
 * the message needs no action. Exit 0 on a good message, 2 on a bad one (the error goes to stderr).
 */
export async function main(args: string[]): Promise<number> {
  if (args.length > 1 || args[0] === '--help' || args[0] === '-h') {
    console.error(usage);
    return args.length > 1 ? 2 : 0;
  }
  const file = args[0] ?? '-';
  let body: string;
  try {
    body = file === '-' ? await text(process.stdin) : await readFile(file, 'utf8');
  } catch (error) {
    console.error(`tnth parse-message: cannot read ${file}: ${(error as Error).message}`);
    return 1;
  }
  const result = parseMessage(body);
  if (!result.ok) {
    const { reason, path, message } = result.error;
    console.error(`tnth parse-message: bad message (${reason}${path === '' ? '' : ` at ${path}`}): ${message}`);
    return 2;
  }
  console.log(JSON.stringify(result.events, null, 2));
  return 0;
}
