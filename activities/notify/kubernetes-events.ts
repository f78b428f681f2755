import { createHash } from 'node:crypto';
import type { NodeEvent } from '../../common/notification.js';
import { describeKubeError, httpCode, type KubeClients } from '../kubernetes/client.js';

/** Node events live in `default`, where `kubectl describe node` and `kubectl get events` look. */
const eventNamespace = 'default';

export function createKubernetesEventActivities(
  { core }: Pick<KubeClients, 'core'>,
  annotations: Record<string, string> = {},
) {
  return {
    /** Records an event on the node, as `kubectl describe node` shows it; a retry does not add a second. */
    async emitNodeEvent(event: NodeEvent): Promise<void> {
      const now = new Date();
      const name = `${event.nodeName}.${createHash('sha256').update(event.dedupKey).digest('hex').slice(0, 16)}`;
      try {
        await core.createNamespacedEvent({
          namespace: eventNamespace,
          body: {
            metadata: { name, namespace: eventNamespace, annotations },
            involvedObject: { kind: 'Node', name: event.nodeName, apiVersion: 'v1' },
            type: event.type,
            reason: event.reason,
            message: event.message,
            source: { component: 'tnth' },
            reportingComponent: 'tnth',
            reportingInstance: 'tnth',
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        });
      } catch (error) {
        if (httpCode(error) === 409) return;
        throw new Error(`recording event ${event.reason} on node ${event.nodeName}: ${describeKubeError(error)}`, {
          cause: error,
        });
      }
    },
  };
}
