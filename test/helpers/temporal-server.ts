// A Temporal dev server of a test's own, which the test may stop and start again on the same
// database: a real restart, without touching the server every other test shares.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { searchAttributeNames } from '../../common/search-attributes.js';
import { waitFor } from './aws.js';
import { TcpProxy } from '../starter/tcp-proxy.js';

/** `temporal server start-dev` on free ports and a database file of its own, with the project's search attributes. */
export class OwnTemporal {
  private child: ChildProcess | undefined;

  private constructor(
    private readonly port: number,
    private readonly dbFile: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnTemporal> {
    const port = (await TcpProxy.create('127.0.0.1:1')).port;
    const server = new OwnTemporal(port, join(mkdtempSync(join(tmpdir(), 'tnth-temporal-')), 'temporal.db'));
    await server.restart();
    const { connection } = await server.client();
    try {
      await connection.operatorService.addSearchAttributes({
        namespace: 'default',
        searchAttributes: Object.fromEntries(
          searchAttributeNames.map((n) => [n, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
        ),
      });
    } finally {
      await connection.close();
    }
    return server;
  }

  async restart(): Promise<void> {
    this.child = spawn(
      'temporal',
      [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--headless',
        '--db-filename',
        this.dbFile,
        '--log-level',
        'warn',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      'the Temporal server to answer',
      async () => {
        try {
          const connection = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
          await connection.workflowService.getSystemInfo({});
          await connection.close();
          return true;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }

  async client(): Promise<{ client: Client; connection: Connection }> {
    const connection = await Connection.connect({ address: this.address });
    return { client: new Client({ connection, namespace: 'default' }), connection };
  }

  /** Stops the server and removes its database: the end of the test's use of it. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(dirname(this.dbFile), { recursive: true, force: true });
  }

  /** Stops the server, keeping its database for `restart()`. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}
