#!/usr/bin/env node
// The `tnth` command: one entry, a subcommand per job. Each subcommand module is loaded only when
// it runs, so `tnth parse-message` does not start Temporal's native runtime.
const subcommands: Record<string, { summary: string; load: () => Promise<{ main(args: string[]): Promise<number> }> }> =
  {
    worker: {
      summary: 'run workflows and activities (configured by environment)',
      load: () => import('../worker/main.js'),
    },
    starter: {
      summary: 'long-poll SQS and hand each interruption event to Temporal (configured by environment)',
      load: () => import('../starter/main.js'),
    },
    'parse-message': {
      summary: 'print the events one SQS message body yields: tnth parse-message [FILE | -]',
      load: () => import('../starter/parse-message.js'),
    },
  };

function usage(): string {
  const lines = Object.entries(subcommands).map(([name, { summary }]) => `  tnth ${name.padEnd(14)} ${summary}`);
  return ['usage:', ...lines].join('\n');
}

const [name, ...args] = process.argv.slice(2);
const subcommand = name === undefined ? undefined : subcommands[name];
if (subcommand === undefined) {
  console.error(name === undefined || name === '--help' ? usage() : `tnth: unknown command '${name}'\n${usage()}`);
  process.exitCode = name === '--help' ? 0 : 2;
} else {
  process.exitCode = await (await subcommand.load()).main(args);
}
