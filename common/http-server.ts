import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface MetricsSource {
  registry: Registry;
  /** Extra exposition text appended to /metrics (the Temporal SDK's own metrics). */
  extra?: () => Promise<string>;
}

/** A probe's verdict; `reason` is the body Kubernetes shows in the probe's event when it fails. */
export interface ProbeResult {
  ok: boolean;
  reason: string;
}

export interface Probes {
  /** `/healthz` (liveness and startup): false only when a restart would help. */
  live: () => ProbeResult;
  /** `/readyz` (readiness): the process does its job now (connected to what it needs). */
  ready: () => ProbeResult;
}

/** Serves `/metrics` (Prometheus text) and/or `/healthz` (liveness) and `/readyz` (readiness). */
export async function startHttpServer(
  port: number,
  parts: { metrics?: MetricsSource; probes?: Probes },
  logger: Logger,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const probe = (check: () => ProbeResult) => {
      const { ok, reason } = check();
      reply(ok ? 200 : 503, `${ok ? 'ok' : 'not ok'}: ${reason}\n`);
    };
    if (path === '/metrics' && parts.metrics) {
      const { registry, extra } = parts.metrics;
      Promise.all([registry.metrics(), extra?.().catch(() => '') ?? ''])
        .then(([own, more]) => reply(200, `${own}\n${more}`, registry.contentType))
        .catch((error: unknown) => reply(500, String(error)));
    } else if (path === '/healthz' && parts.probes) probe(parts.probes.live);
    else if (path === '/readyz' && parts.probes) probe(parts.probes.ready);
    else reply(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  logger.info(
    {
      port,
      paths: [parts.metrics && '/metrics', parts.probes && '/healthz', parts.probes && '/readyz'].filter(Boolean),
    },
    'http server listening',
  );
  return server;
}
