// Terminations in flight by phase and kind, counted from Temporal's visibility store: workflows cannot
// touch prom-client, and each workflow already keeps its `TerminationPhase` and `InterruptionKind`
// search attributes current. Every worker replica counts the whole cluster (ClusterName), so all
// replicas report the same figures: aggregate them with max, never sum.
import type { Client } from '@temporalio/client';
import { Gauge, type Registry } from 'prom-client';
import { interruptionKinds } from '../common/events.js';
import { workflowTypes } from '../common/names.js';
import { searchAttributes } from '../common/search-attributes.js';
import type { FinishedPhase, TerminationPhase } from '../common/status.js';

/**
 * Phases a termination passes while it works; finished ones (kept open for DUPLICATE_WINDOW) are not
 * in flight. A Record, so a new phase that is neither fails to compile here.
 */
const active: Record<Exclude<TerminationPhase, FinishedPhase>, true> = {
  Received: true,
  ResolvingNode: true,
  WaitingForBudget: true,
  Cordoning: true,
  // Tainted or cordoned for an advisory event, waiting for what follows or for the undo.
  Watching: true,
  Draining: true,
  WaitingToRetry: true,
  CompletingLifecycleAction: true,
  Notifying: true,
};
const activePhases = Object.keys(active);

const terminationKinds = interruptionKinds.filter((kind) => kind !== 'asg-launch');

export const inFlightQuery = (cluster: string) =>
  `WorkflowType="${workflowTypes.termination}" AND ExecutionStatus="Running" AND ClusterName="${cluster}"`;

/** A workflow that handles several kinds (a Spot notice, then the ASG hook) counts under the first. */
const firstKind = (value: string | undefined) => value?.split(',')[0]?.trim() || 'unknown';

export class InFlightCounter {
  private counts = new Map<string, { phase: string; kind: string; count: number }>();
  private readonly scrapeFailures;

  constructor(
    private readonly client: Client,
    private readonly cluster: string,
    registry: Registry,
  ) {
    const counts = () => this.counts.values();
    new Gauge({
      name: 'tnth_terminations_in_flight',
      help: "Open terminations of this cluster by phase and (first) event kind, from Temporal's visibility; every worker reports the whole cluster: aggregate with max",
      labelNames: ['phase', 'kind'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { phase, kind, count } of counts()) this.set({ phase, kind }, count);
      },
    });
    this.scrapeFailures = new Gauge({
      name: 'tnth_terminations_in_flight_count_failed',
      help: '1 while the last count of terminations in flight failed (Temporal visibility unreachable): the figures are stale',
      registers: [registry],
    });
  }

  /** Lists the cluster's open terminations once and replaces the figures; throws (figures kept) on failure. */
  async count(): Promise<void> {
    try {
      // Every active phase and termination kind is present, at 0 when empty: alerts and panels see a
      // series, not a gap, and the set of series is fixed (the active phases by the termination kinds).
      const counts = new Map<string, { phase: string; kind: string; count: number }>();
      for (const phase of activePhases)
        for (const kind of terminationKinds) counts.set(`${phase}/${kind}`, { phase, kind, count: 0 });
      for await (const workflow of this.client.workflow.list({ query: inFlightQuery(this.cluster), pageSize: 1000 })) {
        const attributes = workflow.typedSearchAttributes;
        const phase = attributes.get(searchAttributes.terminationPhase) ?? 'Received';
        if (!(phase in active)) continue;
        const kind = firstKind(attributes.get(searchAttributes.interruptionKind));
        const key = `${phase}/${kind}`;
        const entry = counts.get(key) ?? { phase, kind, count: 0 };
        entry.count += 1;
        counts.set(key, entry);
      }
      this.counts = counts;
      this.scrapeFailures.set(0);
    } catch (error) {
      this.scrapeFailures.set(1);
      throw error;
    }
  }
}
