// The chart's pods against the `restricted` Pod Security Standard, as the PodSecurity admission plugin
// of the local stack's kube-apiserver judges them. For a Deployment the plugin only warns, whatever the
// namespace enforces; a Pod made from the Deployment's template is what `enforce` rejects.
import assert from 'node:assert/strict';
import type { KubernetesObject, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { KubeFixture } from '../helpers/kube.js';
import { dryRun, render, type DryRun } from './helm.js';
import { installTimeoutMs } from './tools.js';

const restricted = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
};
/** Every value that adds to the pods: a Secret volume and its mount, the Secret's variables. */
const everything = [
  'secrets.webhookURL.name=tnth',
  'secrets.temporalAPIKey.name=tnth',
  'temporal.tls.enabled=true',
  'temporal.tls.secretName=temporal-tls',
  'temporal.tls.clientCertificate=true',
];

/** The pod a Deployment's ReplicaSet would create, as the API server admits pods. */
const podOf = (d: V1Deployment): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { ...d.spec!.template.metadata, name: d.metadata!.name, namespace: d.metadata!.namespace },
  spec: d.spec!.template.spec,
});

describe('deploy/helm/tnth: the pods pass the `restricted` Pod Security Standard', function () {
  this.timeout(installTimeoutMs);
  let kube: KubeFixture;
  let namespace: string;

  before(async () => {
    kube = new KubeFixture();
    namespace = await kube.ownNamespace(restricted);
  });
  after(() => kube.cleanup());

  /** What admission says of each rendered Deployment, and of a pod of each, dry-run into the namespace. */
  async function admit(sets: string[]): Promise<Map<string, DryRun>> {
    const results = new Map<string, DryRun>();
    for (const object of await render(sets)) {
      if (object.kind !== 'Deployment') continue;
      const deployment = { ...object, metadata: { ...object.metadata, namespace } } as V1Deployment;
      for (const candidate of [deployment, podOf(deployment)] as KubernetesObject[]) {
        const result = await dryRun(kube.kube.kubeconfig, candidate);
        results.set(`${candidate.kind} ${candidate.metadata!.name}`, result);
      }
    }
    assert.equal(results.size, 4, 'two Deployments and a pod of each');
    return results;
  }

  it('admits both Deployments and their pods, with no warning, into a namespace that enforces it', async () => {
    for (const sets of [[], everything]) {
      for (const [object, { status, body, warnings }] of await admit(sets)) {
        assert.equal(status, 201, `${object} (${sets.join(' ') || 'defaults'}): ${body}`);
        assert.deepEqual(warnings, [], `${object} (${sets.join(' ') || 'defaults'}): warnings`);
      }
    }
  });

  // Shows that the test above can fail: the same checks, on a chart with one of the settings undone.
  for (const [set, violation] of [
    ['securityContext.allowPrivilegeEscalation=true', 'allowPrivilegeEscalation != false'],
    ['podSecurityContext.seccompProfile=null', 'seccompProfile'],
    ['podSecurityContext.runAsNonRoot=false', 'runAsNonRoot != true'],
    ['securityContext.capabilities=null', 'unrestricted capabilities'],
  ] as const) {
    it(`warns of a Deployment and rejects its pod when the chart is rendered with ${set}`, async () => {
      for (const [object, { status, body, warnings }] of await admit([set])) {
        if (object.startsWith('Deployment')) {
          assert.equal(status, 201, `${object}: a Deployment is only warned of: ${body}`);
          assert.ok(
            warnings.some((w) => w.includes('would violate PodSecurity "restricted:') && w.includes(violation)),
            `${object}: warnings ${JSON.stringify(warnings)}`,
          );
        } else {
          assert.equal(status, 403, `${object}: ${body}`);
          const { message } = JSON.parse(body) as { message: string };
          assert.ok(message.includes('violates PodSecurity "restricted:') && message.includes(violation), message);
        }
      }
    });
  }
});
