import { Context } from '@temporalio/activity';

/** Why a termination changed nothing: the instance is another cluster's, or lacks MANAGED_TAG. */
export type IgnoredReason = 'other-cluster' | 'not-managed';

export interface OwnershipNote {
  instanceId: string;
  owner: 'ours' | 'other-cluster' | 'untagged';
  /** The other cluster, for `other-cluster`. */
  cluster?: string;
  /** Ours, but not handled (CHECK_TAG_BEFORE_DRAINING). */
  notManaged?: boolean;
  /** This worker's CLUSTER_NAME. */
  clusterName?: string;
}

/** Terminations looked at for the share of other clusters' instances. */
const windowSize = 200;
/** Fewer than this many of other clusters in the window is no pattern yet. */
const minimumForeign = 20;
const warnShare = 0.5;
const warnEveryMs = 10 * 60_000;

export interface OwnershipOptions {
  onIgnored?: (reason: IgnoredReason) => void;
  /** EXPECT_OTHER_CLUSTERS: the queue is this cluster's copy of an account-wide stream; no warning. */
  expectOtherClusters?: boolean;
}

/**
 * Counts the terminations that changed nothing, and warns when most of what reaches this worker is
 * other clusters' instances: the sign of a queue several clusters' starters poll, where each takes
 * events another cluster needs (see the README's queue layouts).
 */
export function createOwnershipActivities({ onIgnored, expectOtherClusters = false }: OwnershipOptions = {}) {
  const recent: boolean[] = [];
  const clusters = new Map<string, number>();
  let warnedAt = -Infinity;
  return {
    noteOwnership(note: OwnershipNote): Promise<void> {
      record(note);
      return Promise.resolve();
    },
  };

  function record(note: OwnershipNote): void {
    // Left alone for want of MANAGED_TAG: counted, and already in the window as ours or untagged.
    if (note.notManaged) {
      onIgnored?.('not-managed');
      return;
    }
    const foreign = note.owner === 'other-cluster';
    if (foreign) onIgnored?.('other-cluster');
    recent.push(foreign);
    if (recent.length > windowSize) recent.shift();
    if (foreign && note.cluster) clusters.set(note.cluster, (clusters.get(note.cluster) ?? 0) + 1);
    const foreignCount = recent.filter(Boolean).length;
    if (foreignCount < minimumForeign || foreignCount / recent.length < warnShare) return;
    if (Date.now() - warnedAt < warnEveryMs) return;
    warnedAt = Date.now();
    const others = [...clusters.keys()].slice(0, 10).join(', ');
    if (foreignCount === recent.length) {
      // Not one of ours: more likely a CLUSTER_NAME that the instances' tags do not use.
      Context.current().log.warn(
        `every one of the last ${recent.length} terminations was of another cluster's instance (${others}), none of ` +
          `CLUSTER_NAME=${note.clusterName ?? '?'}: if that is not the name the instances' cluster tags carry ` +
          '(aws:eks:cluster-name, eks:cluster-name, kubernetes.io/cluster/<name>, or CLUSTER_TAG_KEY), tnth drains nothing.',
        { foreignCount, window: recent.length },
      );
      return;
    }
    if (expectOtherClusters) return;
    Context.current().log.warn(
      `${foreignCount} of the last ${recent.length} terminations were of other clusters' instances ` +
        `(${others}): tnth ignores them, but if several clusters' ` +
        'starters poll one queue, each takes events another cluster needs and that cluster never drains ' +
        "those nodes: give each cluster its own queue (an account-wide EventBridge rule can target every cluster's queue). " +
        "If this queue already is this cluster's own copy of an account-wide stream, set EXPECT_OTHER_CLUSTERS=true.",
      { foreignCount, window: recent.length },
    );
  }
}
