import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface MetricsSource {
  registry: Registry;
  /** Extra exposition text appended to /metrics (the Temporal SDK's own metrics). */
  extra?: () => Promise<string>;
}

/** Serves `/metrics` (Prometheus text) and/or `/healthz` (liveness) and `/readyz` (readiness). */
export async function startHttpServer(
  port: number,
  parts: { metrics?: MetricsSource; ready?: () => boolean },
  logger: Logger,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/metrics' && parts.metrics) {
      const { registry, extra } = parts.metrics;
      Promise.all([registry.metrics(), extra?.().catch(() => '') ?? ''])
        .then(([own, more]) => reply(200, `${own}\n${more}`, registry.contentType))
        .catch((error: unknown) => reply(500, String(error)));
    } else if (path === '/healthz' && parts.ready) reply(200, 'ok\n');
    else if (path === '/readyz' && parts.ready) {
      if (parts.ready()) reply(200, 'ready\n');
      else reply(503, 'not ready\n');
    } else reply(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  logger.info(
    { port, paths: [parts.metrics && '/metrics', parts.ready && '/healthz', parts.ready && '/readyz'].filter(Boolean) },
    'http server listening',
  );
  return server;
}
