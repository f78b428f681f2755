import { CancellationScope, setHandler } from '@temporalio/workflow';
import { retryDrainNowUpdate, skipDrainUpdate, stopHandlingUpdate } from '../common/names.js';
import type { SkipDrainRequest, StopHandlingRequest, TerminationPhase } from '../common/status.js';
import type { TerminationState } from './termination-state.js';

const finished: TerminationPhase[] = ['Done', 'LifecycleActionLost', 'NodeNotFound', 'NotManaged', 'Stopped', 'Failed'];

/**
 * The operator's updates. Each validator refuses what makes no sense in the current phase (the
 * caller gets the reason); each handler records the request and cancels the running drain attempt,
 * whose scope takes the heartbeat down with it.
 */
export class OperatorControls {
  retryNow = false;
  skip: SkipDrainRequest | undefined;
  stop: StopHandlingRequest | undefined;
  private attemptScope: CancellationScope | undefined;

  constructor(private readonly state: TerminationState) {
    setHandler(
      retryDrainNowUpdate,
      () => {
        this.retryNow = true;
        return `retrying the drain of ${state.status.nodeName} now`;
      },
      {
        validator: () => {
          if (state.status.phase !== 'WaitingToRetry') {
            throw new Error(`no drain is waiting to be retried (phase ${state.status.phase})`);
          }
        },
      },
    );
    setHandler(
      skipDrainUpdate,
      (request) => {
        this.skip = { result: request?.result ?? 'CONTINUE', reason: request?.reason };
        this.attemptScope?.cancel();
        return `skipping the drain; the lifecycle action will be completed with ${this.skip.result}`;
      },
      {
        validator: (request: SkipDrainRequest | null) => {
          this.refuseWhenFinished('skip the drain');
          const result = request?.result;
          if (result !== undefined && result !== 'CONTINUE' && result !== 'ABANDON') {
            throw new Error(`result must be CONTINUE or ABANDON, got ${String(result)}`);
          }
        },
      },
    );
    setHandler(
      stopHandlingUpdate,
      (request) => {
        this.stop = { reason: request?.reason };
        this.attemptScope?.cancel();
        return `stopped handling ${state.status.instanceId}; the lifecycle action is left as it is`;
      },
      { validator: (_request: StopHandlingRequest) => this.refuseWhenFinished('stop') },
    );
  }

  /** True once an operator asked to end the drain (skip or stop). */
  get drainEnded(): boolean {
    return this.skip !== undefined || this.stop !== undefined;
  }

  /** Runs one drain attempt in a scope the operator's updates can cancel. */
  async cancellableAttempt<T>(attempt: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    this.attemptScope = scope;
    try {
      return await scope.run(attempt);
    } finally {
      this.attemptScope = undefined;
    }
  }

  private refuseWhenFinished(what: string): void {
    if (finished.includes(this.state.status.phase)) {
      throw new Error(`cannot ${what}: the termination has finished (phase ${this.state.status.phase})`);
    }
    if (this.stop) throw new Error(`cannot ${what}: handling was stopped`);
  }
}
