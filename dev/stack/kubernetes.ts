// A real Kubernetes control plane: etcd, kube-apiserver (RBAC on, serving TLS on loopback) and kwok
// playing the kubelet of every node annotated `kwok.x-k8s.io/node: fake`. No controller manager
// and no scheduler run: tests bind pods to nodes themselves and set PodDisruptionBudget status.
// The binaries come from dev/k8s/build.sh, one file per pinned version in $TNTH_GOBIN.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { StackComponent, StackContext, StackProcess } from './component.js';
import { ensurePki, pkiPaths, writeKubeconfig } from './kubernetes-pki.js';

const host = '127.0.0.1';
// Off etcd's usual 2379/2380 so a developer's own etcd or kind cluster does not collide.
const etcdClientPort = 12379;
const etcdPeerPort = 12380;
const apiserverPort = 6443;
const kwokPort = 10247;
const server = `https://${host}:${apiserverPort}`;

/** The service's identity: a ServiceAccount, as the deployment runs it. */
export const serviceAccount = { namespace: 'tnth', name: 'tnth' } as const;
// A fresh token is minted at every `up`; a month outlives any test run or dev session.
const serviceTokenSeconds = 30 * 24 * 3600;
const fieldManager = 'tnth-stack';

const dirOf = (ctx: StackContext) => join(ctx.stackDir, 'kubernetes');
const adminKubeconfig = (ctx: StackContext) => join(dirOf(ctx), 'admin.kubeconfig');
const serviceKubeconfig = (ctx: StackContext) => join(dirOf(ctx), 'tnth.kubeconfig');

function versions(ctx: StackContext): Record<string, string> {
  const text = readFileSync(join(ctx.root, 'dev/k8s/versions.env'), 'utf8');
  return Object.fromEntries([...text.matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
}

const tools = { etcd: 'ETCD_VERSION', 'kube-apiserver': 'KUBERNETES_VERSION', kwok: 'KWOK_VERSION' } as const;

function binary(ctx: StackContext, name: keyof typeof tools): string {
  const version = versions(ctx)[tools[name]];
  if (!version) throw new Error(`dev/k8s/versions.env has no ${tools[name]}`);
  return join(process.env.TNTH_GOBIN ?? join(ctx.cacheDir, 'gobin'), `${name}-${version}`);
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return response.ok;
}

function httpsOk(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpsGet(url, { ca: readFileSync(ca), timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}

function serviceObjects(ctx: StackContext): KubernetesObject[] {
  const [clusterRole] = loadAllYaml(readFileSync(join(ctx.root, 'deploy/rbac/clusterrole.yaml'), 'utf8')) as [
    KubernetesObject,
  ];
  const { namespace, name } = serviceAccount;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
    clusterRole,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: clusterRole.metadata!.name! },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.metadata!.name! },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    } as KubernetesObject,
  ];
}

/** Applies the service's RBAC (server-side apply: create or update) and writes its kubeconfig. */
async function bootstrapServiceIdentity(ctx: StackContext): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig(ctx));
  const objects = KubernetesObjectApi.makeApiClient(kc);
  for (const object of serviceObjects(ctx)) {
    await objects.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  }
  const { namespace, name } = serviceAccount;
  const request = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: serviceTokenSeconds } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`the API server returned no token for ServiceAccount ${namespace}/${name}`);
  const pki = pkiPaths(join(dirOf(ctx), 'pki'));
  writeKubeconfig(serviceKubeconfig(ctx), server, pki.caCert, { name: `${namespace}-${name}`, token });
}

export const kubernetesComponent: StackComponent = {
  name: 'kubernetes',
  prepare: (ctx) => {
    for (const name of Object.keys(tools) as (keyof typeof tools)[]) {
      const file = binary(ctx, name);
      if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run setup\` (dev/k8s/build.sh builds it)`);
    }
    const pki = ensurePki(join(dirOf(ctx), 'pki'));
    mkdirSync(join(dirOf(ctx), 'kwok'), { recursive: true });
    writeKubeconfig(adminKubeconfig(ctx), server, pki.caCert, {
      name: 'tnth-admin',
      clientCertificate: pki.adminCert,
      clientKey: pki.adminKey,
    });
    return Promise.resolve();
  },
  processes: (ctx): StackProcess[] => {
    const dir = dirOf(ctx);
    const pki = pkiPaths(join(dir, 'pki'));
    const etcdUrl = `http://${host}:${etcdClientPort}`;
    const peerUrl = `http://${host}:${etcdPeerPort}`;
    return [
      {
        name: 'etcd',
        command: binary(ctx, 'etcd'),
        args: [
          '--name=tnth',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=tnth=${peerUrl}`,
          // A throwaway development store: skipping fsync keeps the API fast on slow disks.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        ports: [etcdClientPort, etcdPeerPort],
        endpoints: { client: etcdUrl },
        readyTimeoutMs: 30_000,
        isReady: () => httpOk(`${etcdUrl}/health`),
      },
      {
        name: 'kube-apiserver',
        command: binary(ctx, 'kube-apiserver'),
        args: [
          `--etcd-servers=${etcdUrl}`,
          `--bind-address=${host}`,
          `--advertise-address=${host}`,
          `--secure-port=${apiserverPort}`,
          `--tls-cert-file=${pki.serverCert}`,
          `--tls-private-key-file=${pki.serverKey}`,
          `--client-ca-file=${pki.caCert}`,
          '--authorization-mode=Node,RBAC',
          `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
          `--service-account-key-file=${pki.serviceAccountPub}`,
          `--service-account-signing-key-file=${pki.serviceAccountKey}`,
          '--service-cluster-ip-range=10.96.0.0/16',
          // No controller manager creates the `default` ServiceAccount the admission plugin would require.
          '--disable-admission-plugins=ServiceAccount',
          // A loopback address cannot back the `kubernetes` Service's endpoints; nothing here needs them.
          '--endpoint-reconciler-type=none',
          '--profiling=false',
        ],
        ports: [apiserverPort],
        endpoints: { https: server },
        readyTimeoutMs: 90_000,
        // /readyz includes RBAC's bootstrap policy, so the first request after it is authorized.
        isReady: () => httpsOk(`${server}/readyz`, pki.caCert),
      },
      {
        name: 'kwok',
        command: binary(ctx, 'kwok'),
        args: [
          `--kubeconfig=${adminKubeconfig(ctx)}`,
          `--config=${join(ctx.root, 'dev/k8s/kwok.yaml')}`,
          `--server-address=${host}:${kwokPort}`,
          '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
          // kube-controller-manager's default grace; the lease shows the node's "kubelet" is alive.
          '--node-lease-duration-seconds=40',
          // Pod IPs; kwok's default /24 would run out over a long test session.
          '--cidr=10.244.0.0/16',
        ],
        // Its own work folder, so a developer's ~/.kwok/kwok.yaml is not merged into the project's stages.
        env: { KWOK_WORKDIR: join(dir, 'kwok') },
        ports: [kwokPort],
        endpoints: { healthz: `http://${host}:${kwokPort}/healthz` },
        readyTimeoutMs: 30_000,
        isReady: () => httpOk(`http://${host}:${kwokPort}/healthz`),
      },
    ];
  },
  afterReady: bootstrapServiceIdentity,
  env: (ctx) => ({
    KUBECONFIG: adminKubeconfig(ctx),
    SERVICE_KUBECONFIG: serviceKubeconfig(ctx),
  }),
};
