import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { searchAttributeNames } from '../../common/search-attributes.js';
import type { StackComponent, StackContext } from './component.js';

const host = '127.0.0.1';
const grpcPort = 7233;
const uiPort = 8233;
const namespace = 'default';
const address = `${host}:${grpcPort}`;

export function temporalBinary(): string {
  const venv = process.env.TNTH_VENV;
  if (!venv) throw new Error('TNTH_VENV is not set: run the stack through `npm run stack`');
  return join(venv, 'bin', 'temporal');
}

async function withConnection<T>(fn: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    return await fn(connection);
  } finally {
    await connection.close();
  }
}

async function registerSearchAttributes(ctx: StackContext): Promise<void> {
  await withConnection(async (connection) => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = searchAttributeNames.filter((name) => !(name in customAttributes));
    if (missing.length === 0) return;
    ctx.log(`temporal: registering search attributes ${missing.join(', ')}`);
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((name) => [name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
  });
}

export const temporalComponent: StackComponent = {
  name: 'temporal',
  processes: (ctx) => [
    {
      name: 'temporal',
      command: temporalBinary(),
      args: [
        'server',
        'start-dev',
        '--ip',
        host,
        '--port',
        String(grpcPort),
        '--ui-port',
        String(uiPort),
        '--namespace',
        namespace,
        '--db-filename',
        join(ctx.stackDir, 'temporal.db'),
        '--log-level',
        'warn',
        // The default rollback journal with full syncs caps the dev server at ~20 signal-with-starts a
        // second on this machine; WAL with normal syncs does ~130. A dev database may lose the last
        // transactions on a power cut, which a local stack can afford.
        '--sqlite-pragma',
        'journal_mode=wal',
        '--sqlite-pragma',
        'synchronous=normal',
      ],
      ports: [grpcPort, uiPort],
      endpoints: { grpc: address, ui: `http://${host}:${uiPort}` },
      readyTimeoutMs: 60_000,
      isReady: async () => {
        await withConnection((connection) => connection.workflowService.getSystemInfo({}));
        const ui = await fetch(`http://${host}:${uiPort}/`);
        return ui.ok;
      },
    },
  ],
  afterReady: registerSearchAttributes,
  env: () => ({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    TEMPORAL_UI_URL: `http://${host}:${uiPort}`,
  }),
};
