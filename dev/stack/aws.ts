import { join } from 'node:path';
import type { StackComponent } from './component.js';

const host = '127.0.0.1';
const port = 4566;
const endpoint = `http://${host}:${port}`;

function venvPython(): string {
  const venv = process.env.TNTH_VENV;
  if (!venv) throw new Error('TNTH_VENV is not set: run the stack through `npm run stack`');
  return join(venv, 'bin', 'python');
}

/**
 * moto in server mode (SQS, EC2, Auto Scaling) with the project's lifecycle extension from `dev/aws`.
 * `AWS_EMULATOR_TIME_SCALE` (default 1) speeds up every group's lifecycle clocks and
 * `AWS_EMULATOR_NOTIFICATION_FORMAT` (default direct) picks the notification bodies; tests that need
 * other values tag their own groups instead (see test/helpers/aws.ts), so the shared stack stays put.
 */
export const awsComponent: StackComponent = {
  name: 'aws',
  processes: (ctx) => [
    {
      name: 'aws',
      command: venvPython(),
      args: [join(ctx.root, 'dev/aws/server.py'), '--host', host, '--port', String(port)],
      env: {
        AWS_EMULATOR_TIME_SCALE: process.env.AWS_EMULATOR_TIME_SCALE ?? '1',
        AWS_EMULATOR_NOTIFICATION_FORMAT: process.env.AWS_EMULATOR_NOTIFICATION_FORMAT ?? 'direct',
        PYTHONUNBUFFERED: '1',
      },
      ports: [port],
      endpoints: { http: endpoint },
      readyTimeoutMs: 60_000,
      isReady: async () => (await fetch(`${endpoint}/_emulator/health`)).ok,
    },
  ],
  env: () => ({
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  }),
};
