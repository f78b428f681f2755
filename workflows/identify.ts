import { condition, isCancellation, log } from '@temporalio/workflow';
import type { InstanceFacts } from '../activities/aws/instances.js';
import type { OwnershipNote } from '../activities/ownership.js';
import { ownership } from '../common/cluster.js';
import type { RunbookSettings } from '../common/settings.js';
import type { TerminationPhase } from '../common/status.js';
import { noteOwnershipOf } from './activities.js';
import { errorMessage } from './failures.js';
import type { TerminationState } from './termination-state.js';

/**
 * How long after an action began the instance may still be described without holding the action:
 * EC2 answers in well under a second, and the shortest hook (30 s) has then not yet needed a
 * heartbeat. A late message (a backlog, a Temporal outage the starter waited out) gets no such wait.
 */
const identifyUnheldMs = 10_000;

export interface IdentifyDeps {
  state: TerminationState;
  settings: RunbookSettings;
  describe(): Promise<InstanceFacts | undefined>;
  setPhase(phase: TerminationPhase): void;
}

/**
 * Describes the instance and decides whether it is this cluster's, before any change to AWS or
 * Kubernetes (`common/cluster.ts` says by which tags). The lifecycle actions are held meanwhile only
 * if EC2 is slow to answer (an outage): an instance not yet identified is then heartbeated rather
 * than let expire, and it is never completed before it is known to be ours.
 */
export async function identifyInstance(deps: IdentifyDeps): Promise<InstanceFacts | undefined | 'other-cluster'> {
  const { state, settings } = deps;
  const instanceId = state.status.instanceId;
  deps.setPhase('ResolvingNode');
  let answered = false;
  const described = deps.describe().finally(() => (answered = true));
  described.catch(() => undefined);
  const oldest = state.holds.oldestOpenStart();
  let inTime = true;
  if (oldest !== undefined) {
    const unheldMs = Math.min(identifyUnheldMs, oldest + identifyUnheldMs - Date.now());
    inTime = unheldMs > 0 && (await condition(() => answered, unheldMs));
  }
  const instance = inTime ? await described : await state.holds.cover(() => described);
  state.instance = instance;
  if (!settings.clusterName) return instance;
  const owner = ownership(instance?.tags ?? {}, settings.clusterName, settings.clusterTagKey);
  if (owner.owner === 'other-cluster') {
    deps.setPhase('OtherCluster');
    state.decide(
      `instance ${instanceId} belongs to cluster ${owner.cluster} (tag ${owner.tag}), not ${settings.clusterName}: not handled`,
    );
    await noteOwnership({
      instanceId,
      owner: owner.owner,
      cluster: owner.cluster,
      clusterName: settings.clusterName,
    });
    return 'other-cluster';
  }
  if (owner.owner === 'ours') {
    state.decide(`instance ${instanceId} is of cluster ${settings.clusterName} (tag ${owner.tag})`);
  }
  // Counted too: the share of other clusters' instances needs the whole.
  await noteOwnership({ instanceId, owner: owner.owner, clusterName: settings.clusterName });
  return instance;
}

/** Counted by the worker (`tnth_events_ignored_total`); a note that cannot be made changes nothing. */
export async function noteOwnership(note: OwnershipNote): Promise<void> {
  try {
    await noteOwnershipOf(note);
  } catch (error) {
    if (isCancellation(error)) throw error;
    log.warn('could not count an ignored termination', { error: errorMessage(error) });
  }
}
