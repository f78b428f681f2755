// A TLS front for the stack's plain Temporal dev server. TEMPORAL_API_KEY turns TLS on (Temporal
// Cloud takes API keys over TLS only), so a tnth with an API key reaches the dev server through this:
// TLS with a CA of its own, then the bytes as they are (gRPC over h2c), the key ignored upstream.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { ensurePki } from '../../dev/stack/kubernetes-pki.js';

export interface TlsFront {
  /** `127.0.0.1:<port>`, for TEMPORAL_ADDRESS. */
  address: string;
  /** The CA that signed the front's certificate, for TEMPORAL_TLS_CA_FILE. */
  caFile: string;
  /** A name the certificate carries, for TEMPORAL_TLS_SERVER_NAME. */
  serverName: string;
  /** TLS connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startTlsFront(upstream: string): Promise<TlsFront> {
  const dir = mkdtempSync(join(tmpdir(), 'tnth-tls-front-'));
  // The stack's PKI maker issues a serving certificate for 127.0.0.1 and localhost, here under a CA of its own.
  const pki = ensurePki(join(dir, 'pki'));
  const colon = upstream.lastIndexOf(':');
  const [host, port] = [upstream.slice(0, colon), Number(upstream.slice(colon + 1))];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer(
    { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey), ALPNProtocols: ['h2'] },
    (client) => {
      accepted += 1;
      const backend = connect(port, host);
      for (const socket of [client, backend]) {
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          sockets.delete(socket);
          client.destroy();
          backend.destroy();
        });
      }
      client.pipe(backend).pipe(client);
    },
  );
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    caFile: pki.caCert,
    serverName: 'localhost',
    connections: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
