// Every workflow the worker registers. The worker bundles this file for Temporal's sandbox.
export { drainBudgetWorkflow } from './drain-budget.js';
export { launchLifecycleWorkflow } from './launch.js';
export { placeholderWorkflow } from './placeholder.js';
export { terminationWorkflow } from './termination.js';
