// A validating admission webhook for `pods/eviction` that answers after a delay, served by this
// process over HTTPS on 127.0.0.1 (the stack's kube-apiserver runs on the same machine). It stands
// in for the policy engines (Kyverno, Gatekeeper) that sit in the eviction path of real clusters
// and make each eviction a round trip: a drain that evicts one pod at a time pays it per pod.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { apiStatus } from '../test/helpers/kube.js';

export interface EvictionWebhook {
  /** Eviction reviews answered so far. */
  readonly reviews: number;
  /** The most reviews the server held at once since the last `resetPeak()`. */
  readonly peakInFlight: number;
  resetPeak(): void;
  /** Deletes the ValidatingWebhookConfiguration and stops the server; safe to call twice. */
  close(): Promise<void>;
}

/** A self-signed CA and a serving certificate for IP 127.0.0.1 it issued, made with the openssl CLI. */
function servingCertificate(): { ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tnth-bench-webhook-'));
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=tnth-bench-ca');
    // The API server checks the IP SAN, never the common name.
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'server.key',
      '-out',
      'server.crt',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-addext',
      'basicConstraints=CA:FALSE',
      '-addext',
      'extendedKeyUsage=serverAuth',
    );
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    return { ca: read('ca.crt'), cert: read('server.crt'), key: read('server.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface AdmissionReview {
  request?: { uid?: string };
}

/**
 * Serves the webhook and registers it for evictions in namespaces labelled `namespaceLabels`; every
 * review is allowed after `delayMs`. Resolves once the server listens and the configuration exists;
 * the API server picks it up a moment later (see `waitUntilActive`).
 */
export async function startEvictionWebhook(
  admin: KubeConfig,
  name: string,
  namespaceLabels: Record<string, string>,
  delayMs: number,
): Promise<EvictionWebhook> {
  const { ca, cert, key } = servingCertificate();
  let reviews = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  const server: Server = createServer({ cert, key }, (request, response) => {
    inFlight += 1;
    peakInFlight = Math.max(peakInFlight, inFlight);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
        await sleep(delayMs);
        const body = JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: review.request?.uid ?? '', allowed: true },
        });
        response.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
        reviews += 1;
        inFlight -= 1;
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const api = admin.makeApiClient(AdmissionregistrationV1Api);
  await api.createValidatingWebhookConfiguration({
    body: {
      metadata: { name },
      webhooks: [
        {
          name: 'eviction.bench.tnth.dev',
          clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: Buffer.from(ca).toString('base64') },
          rules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              operations: ['CREATE'],
              resources: ['pods/eviction'],
              scope: 'Namespaced',
            },
          ],
          namespaceSelector: { matchLabels: namespaceLabels },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          failurePolicy: 'Fail',
          timeoutSeconds: 10,
        },
      ],
    },
  });
  let closed = false;
  return {
    get reviews() {
      return reviews;
    },
    get peakInFlight() {
      return peakInFlight;
    },
    resetPeak() {
      peakInFlight = inFlight;
    },
    async close() {
      if (closed) return;
      closed = true;
      await api.deleteValidatingWebhookConfiguration({ name }).catch((error: unknown) => {
        if (apiStatus(error) !== 404) throw error;
      });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
