// A reader of the Dockerfiles this repository writes: stages, their base images (global ARGs
// substituted) and their instructions, with continuation lines joined and comments dropped. Enough to
// check their structure here, where no Docker engine can build them.
import { readFileSync } from 'node:fs';

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  name: string | undefined;
  from: string;
  instructions: Instruction[];
}

export function parseDockerfile(path: string): { stages: Stage[]; globalArgs: Record<string, string> } {
  const lines = readFileSync(path, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [image = '', as, name] = args.split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => globalArgs[(a ?? b)!] ?? '');
      stages.push({ name: as?.toUpperCase() === 'AS' ? name : undefined, from, instructions: [] });
    } else if (stages.length === 0 && upper === 'ARG') {
      const [name = '', value = ''] = args.split('=', 2);
      globalArgs[name] = value;
    } else {
      stages.at(-1)?.instructions.push({ op: upper, args: args.replace(/\s+/g, ' ') });
    }
  }
  return { stages, globalArgs };
}

/** `COPY [--from=X] SRC... DEST` (shell form): the stage or context it reads, its sources, its destination. */
export function parseCopy(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.split(' ');
  const flags = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
}

/** ENTRYPOINT / CMD in exec (JSON) form, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  try {
    const parsed = JSON.parse(args) as unknown;
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}
