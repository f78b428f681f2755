import { CancellationScope, setHandler } from '@temporalio/workflow';
import { retryDrainNowUpdate, skipDrainUpdate, stopHandlingUpdate } from '../common/names.js';
import {
  finishedPhases,
  type SkipDrainRequest,
  type StopHandlingRequest,
  type TerminationPhase,
} from '../common/status.js';
import type { TerminationState } from './termination-state.js';

/** The operator's requests a run hands to the next when the termination continues as new. */
export interface CarriedControls {
  skip: SkipDrainRequest | undefined;
  stop: StopHandlingRequest | undefined;
  stoppedInPhase: TerminationPhase | undefined;
}

/**
 * The operator's updates. Each validator refuses what makes no sense in the current phase (the
 * caller gets the reason); each handler records the request and cancels the running drain attempt,
 * whose scope takes the heartbeat down with it.
 */
export class OperatorControls {
  retryNow = false;
  skip: SkipDrainRequest | undefined;
  stop: StopHandlingRequest | undefined;
  /** The phase the termination was in when the stop arrived. */
  stoppedInPhase: TerminationPhase | undefined;
  private attemptScope: CancellationScope | undefined;

  constructor(
    private readonly state: TerminationState,
    carried?: CarriedControls,
  ) {
    this.skip = carried?.skip;
    this.stop = carried?.stop;
    this.stoppedInPhase = carried?.stoppedInPhase;
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
        this.stoppedInPhase = state.status.phase;
        this.attemptScope?.cancel();
        if (state.status.phase === 'CompletingLifecycleAction') {
          return `the lifecycle action of ${state.status.instanceId} is being completed; handling ends once that call returns`;
        }
        return `stopped handling ${state.status.instanceId}; the lifecycle action is left as it is`;
      },
      { validator: (_request: StopHandlingRequest) => this.refuseWhenFinished('stop') },
    );
  }

  carry(): CarriedControls {
    return { skip: this.skip, stop: this.stop, stoppedInPhase: this.stoppedInPhase };
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
    if (finishedPhases.includes(this.state.status.phase)) {
      throw new Error(`cannot ${what}: the termination has finished (phase ${this.state.status.phase})`);
    }
    if (this.stop) throw new Error(`cannot ${what}: handling was stopped`);
  }
}
