// A reader of the Dockerfiles this repository writes: stages, their base images (global ARGs
// substituted) and their instructions, with continuation lines joined and comments dropped. Enough to
// check their structure here, where no Docker engine can build them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './tools.js';

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

const program = 'dist/bin/tnth.js';

export interface ImageRuntime {
  /** Node's flags before the program: `node <flags> dist/bin/tnth.js`. */
  nodeFlags: string[];
  /** The runtime stage's ENV, but WORKFLOW_BUNDLE_PATH, a path only inside the image. */
  env: Record<string, string>;
}

/** How the service's image runs Node: its runtime stage's node flags (ENTRYPOINT) and environment (ENV). */
export function imageRuntime(): ImageRuntime {
  const stage = parseDockerfile(join(root, 'Dockerfile')).stages.find((s) => s.name === 'runtime');
  const entrypoint = execForm(stage?.instructions.findLast((i) => i.op === 'ENTRYPOINT')?.args ?? '');
  if (!stage || entrypoint?.[0] !== 'node' || !entrypoint.includes(program)) {
    throw new Error(`Dockerfile: no runtime stage whose ENTRYPOINT is ["node", ..., "${program}"]`);
  }
  const env: Record<string, string> = {};
  for (const { args } of stage.instructions.filter((i) => i.op === 'ENV')) {
    // Unquoted NAME=value pairs only: a quoted value or the old `ENV NAME value` form is refused, not misread.
    const pairs = args.split(' ').map((pair) => /^(\w+)=([^"'$\s]+)$/.exec(pair));
    if (pairs.some((pair) => !pair))
      throw new Error(`Dockerfile: ENV ${args}: only unquoted NAME=value pairs are read`);
    for (const [, name, value] of pairs as RegExpExecArray[]) if (name !== 'WORKFLOW_BUNDLE_PATH') env[name!] = value!;
  }
  return { nodeFlags: entrypoint.slice(1, entrypoint.indexOf(program)), env };
}
