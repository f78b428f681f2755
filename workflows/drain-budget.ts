import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  drainBudgetStatusQuery,
  drainPlaceGrantedSignal,
  releaseDrainPlaceSignal,
  requestDrainPlaceUpdate,
  setDrainBudgetUpdate,
} from '../common/names.js';
import type { DrainBudgetChange, DrainPlaceRequest } from '../common/drain-budget.js';
import { BudgetBook, type CarriedBook } from './drain-budget-book.js';

/**
 * How often the holders are checked for life. A holder that closed without giving its place back
 * (an operator's `temporal workflow terminate`, a reset) frees it within this plus one describe.
 */
export const holderCheckIntervalMs = 15_000;

/** Each request, release and grant is a few events; the run hands over long before Temporal's cap. */
const defaultHistoryEventsPerRun = 5_000;

const { closedWorkflows } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
});

export interface DrainBudgetInput {
  cluster: string;
  carried?: CarriedBook;
  /** History events after which a run continues as new (tests lower it to see the hand-over). */
  historyEventsPerRun?: number;
}

/**
 * The drain budget of one cluster (workflow id `drain-budget-<cluster>`), started by the first
 * termination that asks for a place and running for as long as the cluster has terminations.
 *
 * Why this shape: a place must belong to a workflow, not to a worker process, so that a worker's
 * crash neither loses nor leaks one. One workflow per cluster owns the whole book (every group's
 * holders and the cluster-wide limit), so both limits are checked in one step and no termination
 * holds one place while waiting for another. Terminations ask through update-with-start (answered at
 * once: granted, or in line with its position); a waiter's place comes later as a signal; holders
 * give places back by signal when their drain ends, however it ends. Signals and updates are
 * durable, so a Temporal restart loses nothing, and the book is carried through continue-as-new.
 * What a signal cannot cover, a holder that closed without one (terminated by an operator), the
 * workflow finds by describing its holders every `holderCheckIntervalMs`.
 */
export async function drainBudgetWorkflow(input: DrainBudgetInput): Promise<void> {
  const book = new BudgetBook(input.carried);
  let changed = true;
  setHandler(
    requestDrainPlaceUpdate,
    (request) => {
      changed = true;
      return book.request(request, Date.now());
    },
    {
      validator: (request: DrainPlaceRequest | undefined) => {
        if (!request?.holder || !request.instanceId) throw new Error('a request names its holder and instance');
      },
    },
  );
  setHandler(releaseDrainPlaceSignal, (holder) => {
    changed = book.release(holder) || changed;
  });
  setHandler(drainBudgetStatusQuery, () => book.status(input.cluster));
  setHandler(
    setDrainBudgetUpdate,
    (change) => {
      changed = true;
      return book.change(change, Date.now());
    },
    {
      validator: (change: DrainBudgetChange | undefined) => {
        const problem = book.checkChange(change ?? {});
        if (problem) throw new Error(problem);
      },
    },
  );

  let lastCheck = Date.now();
  for (;;) {
    if (changed) {
      changed = false;
      book.grantReady(Date.now());
      if (await tellGranted(book)) changed = true;
      setCurrentDetails(book.summary());
    }
    const info = workflowInfo();
    if (
      info.continueAsNewSuggested ||
      info.historyLength >= (input.historyEventsPerRun ?? defaultHistoryEventsPerRun)
    ) {
      // Updates already accepted finish here; signals that arrive meanwhile make the server refuse
      // the hand-over and run this again with them taken in.
      await condition(allHandlersFinished);
      await tellGranted(book);
      return continueAsNew<typeof drainBudgetWorkflow>({ ...input, carried: book.carry() });
    }
    if (book.holderIds().length === 0) {
      await condition(() => changed);
      continue;
    }
    const untilCheck = lastCheck + holderCheckIntervalMs - Date.now();
    if (untilCheck > 0 && (await condition(() => changed, untilCheck))) continue;
    const holders = book.holderIds();
    for (const holder of await closedWorkflows(holders)) book.reclaim(holder);
    lastCheck = Date.now();
    changed = true;
  }
}

/**
 * Signals each holder whose place was given after it asked; one that is gone gives it back (then
 * true: the place may go to another).
 */
async function tellGranted(book: BudgetBook): Promise<boolean> {
  const untold = book.untold();
  const outcomes = await Promise.allSettled(
    untold.map((holder) =>
      getExternalWorkflowHandle(holder).signal(drainPlaceGrantedSignal, { grantedAt: Date.now() }),
    ),
  );
  let reclaimed = false;
  outcomes.forEach((outcome, i) => {
    const holder = untold[i]!;
    // Not found: the termination closed while it waited (terminated, timed out).
    if (outcome.status === 'rejected') {
      book.reclaim(holder);
      reclaimed = true;
    } else book.told(holder);
  });
  return reclaimed;
}
