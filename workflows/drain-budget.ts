import {
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  makeContinueAsNewFunc,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { DrainBudgetChange, DrainPlaceRequest } from '../common/drain-budget.js';
import {
  drainBudgetStatusQuery,
  drainPlaceGrantedSignal,
  releaseDrainPlaceSignal,
  requestDrainPlaceUpdate,
  setDrainBudgetUpdate,
} from '../common/names.js';
import { BudgetBook, type CarriedBook } from './drain-budget-book.js';

/**
 * How often the holders are checked for life. A holder that closed without giving its place back
 * (an operator's `temporal workflow terminate`, a reset) frees it within this plus one describe.
 */
export const holderCheckIntervalMs = 15_000;

/** Each request, release and grant is a few events; the run hands over long before Temporal's cap. */
const defaultHistoryEventsPerRun = 5_000;

/**
 * With nobody holding or waiting this long, the workflow ends (or, keeping an operator's change,
 * continues as new): an idle budget leaves no history to replay and no task queue it is tied to.
 */
const idleMs = 60 * 60 * 1000;

/** A check that cannot answer (a lost worker, Temporal busy) gives up, and the next one tries again. */
const { closedWorkflows } = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '30 seconds',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '5 seconds' },
});

export interface DrainBudgetInput {
  cluster: string;
  carried?: CarriedBook;
  /** History events after which a run continues as new (tests lower it to see the hand-over). */
  historyEventsPerRun?: number;
}

/**
 * The drain budget of one cluster (workflow id `drain-budget-<cluster>`), started by the first
 * termination that asks for a place and ended after an hour with nothing to do.
 *
 * Why this shape: a place must belong to a workflow, not to a worker process, so that a worker's
 * crash neither loses nor leaks one. One workflow per cluster owns the whole book (every group's
 * holders and the cluster-wide limit), so both limits are checked in one step and no termination
 * holds one place while waiting for another. Terminations ask through update-with-start (answered at
 * once: granted, or in line with its position) and ask again every few minutes while they wait, so a
 * budget workflow that was replaced learns its waiters again; a waiter's place comes as a signal;
 * holders give places back by signal when their drain ends, however it ends. Each turn has its own
 * id: a request or a grant of a turn already given back is ignored, however late it comes. Signals
 * and updates are durable, so a Temporal restart loses nothing, and the book is carried through
 * continue-as-new, onto the task queue of the latest request. What a signal cannot cover, a holder
 * that closed without one (terminated by an operator), the workflow finds by describing its holders
 * every `holderCheckIntervalMs`, beside its work rather than in its way.
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
        if (!request?.holder || !request.requestId || !request.instanceId) {
          throw new Error('a request names its holder, its turn and its instance');
        }
      },
    },
  );
  setHandler(releaseDrainPlaceSignal, (release) => {
    changed = book.release(release) || changed;
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

  const handOver = async () => {
    // Updates already accepted finish here; signals that arrive meanwhile make the server refuse
    // the hand-over and run this again with them taken in.
    await condition(allHandlersFinished);
    await tellGranted(book);
    const next = makeContinueAsNewFunc<typeof drainBudgetWorkflow>({
      taskQueue: book.taskQueue() ?? workflowInfo().taskQueue,
    });
    return next({ ...input, carried: book.carry() });
  };

  let lastCheck = Date.now();
  let checking: Promise<void> | undefined;
  for (;;) {
    if (changed) {
      changed = false;
      book.grantReady(Date.now());
      if (await tellGranted(book)) changed = true;
      setCurrentDetails(book.summary());
      continue;
    }
    const info = workflowInfo();
    if (
      info.continueAsNewSuggested ||
      info.historyLength >= (input.historyEventsPerRun ?? defaultHistoryEventsPerRun)
    ) {
      await checking;
      return handOver();
    }
    if (book.idle() && !checking) {
      if (await condition(() => changed, idleMs)) continue;
      if (!book.overridden()) return;
      return handOver();
    }
    if (!checking && Date.now() - lastCheck >= holderCheckIntervalMs) {
      const holders = book.holderIds();
      checking = closedWorkflows(holders)
        .then((closed) => {
          for (const holder of closed) if (book.reclaim(holder)) changed = true;
        })
        // A check that failed is tried again at the next interval; the workflow's own cancellation
        // reaches its main loop.
        .catch(() => undefined)
        .finally(() => {
          lastCheck = Date.now();
          checking = undefined;
          changed = true;
        });
    }
    const untilCheck = Math.max(0, lastCheck + holderCheckIntervalMs - Date.now());
    await condition(() => changed, checking ? undefined : untilCheck || holderCheckIntervalMs);
  }
}

/**
 * Signals each holder whose place was given after it asked; one that is gone gives it back (then
 * true: the place may go to another).
 */
async function tellGranted(book: BudgetBook): Promise<boolean> {
  const untold = book.untold();
  const outcomes = await Promise.allSettled(
    untold.map(({ holder, requestId }) =>
      getExternalWorkflowHandle(holder).signal(drainPlaceGrantedSignal, { grantedAt: Date.now(), requestId }),
    ),
  );
  let reclaimed = false;
  outcomes.forEach((outcome, i) => {
    const { holder } = untold[i]!;
    // Not found: the termination closed while it waited (terminated, timed out).
    if (outcome.status === 'rejected') reclaimed = book.reclaim(holder) || reclaimed;
    else book.told(holder);
  });
  return reclaimed;
}
