// A plaintext gRPC (HTTP/2) proxy that counts the calls passing through it by method, for the
// benchmarks: the worker connects through it, so what reaches the Temporal server (heartbeats
// included, which no history records) is counted, not estimated.
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';

/** HTTP/2 pseudo-headers and hop-by-hop headers a proxy sets itself. */
const notForwarded = new Set([':method', ':path', ':scheme', ':authority', 'connection', 'host']);

export interface GrpcCounter {
  /** `host:port` to connect to instead of the server. */
  address: string;
  /** Calls by method name (`RecordActivityTaskHeartbeat`, ...) since the start or the last `reset`. */
  counts(): Record<string, number>;
  reset(): void;
  close(): Promise<void>;
}

export async function startGrpcCounter(upstream: string): Promise<GrpcCounter> {
  let counts: Record<string, number> = {};
  let session: ClientHttp2Session | undefined;
  const upstreamSession = () => {
    if (!session || session.closed || session.destroyed) {
      session = http2.connect(`http://${upstream}`);
      session.on('error', () => (session = undefined));
    }
    return session;
  };
  const server = http2.createServer();
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const path = String(headers[':path'] ?? '');
    const method = path.slice(path.lastIndexOf('/') + 1);
    counts[method] = (counts[method] ?? 0) + 1;
    const forwarded: Record<string, string | string[]> = { ':method': 'POST', ':path': path };
    for (const [key, value] of Object.entries(headers)) {
      if (!notForwarded.has(key) && value !== undefined) forwarded[key] = value;
    }
    const request = upstreamSession().request(forwarded, { waitForTrailers: false });
    request.on('response', (responseHeaders) => {
      const reply: Record<string, string | string[]> = {};
      for (const [key, value] of Object.entries(responseHeaders)) {
        if (key !== ':status' && value !== undefined) reply[key] = value;
      }
      if (stream.destroyed) return;
      // A trailers-only answer (a gRPC error) carries its status in the headers and ends there.
      if (responseHeaders['grpc-status'] !== undefined) {
        stream.respond({ ':status': responseHeaders[':status'] ?? 200, ...reply }, { endStream: true });
        trailersOnly = true;
        return;
      }
      stream.respond({ ':status': responseHeaders[':status'] ?? 200, ...reply }, { waitForTrailers: true });
    });
    let trailersOnly = false;
    let trailers: Record<string, string | string[]> = {};
    request.on('trailers', (t: IncomingHttpHeaders) => {
      trailers = Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) as typeof trailers;
    });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    request.on('data', (chunk: Buffer) => {
      if (!stream.destroyed && !trailersOnly) stream.write(chunk);
    });
    request.on('end', () => {
      if (!stream.destroyed && !trailersOnly) stream.end();
    });
    request.on('error', () => stream.destroy());
    stream.on('data', (chunk: Buffer) => request.write(chunk));
    stream.on('end', () => request.end());
    stream.on('close', () => {
      if (!request.closed) request.close();
    });
    stream.on('error', () => request.close());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
    close: async () => {
      session?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
