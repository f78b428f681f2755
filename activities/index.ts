// Every activity the worker registers, grouped by the system it talks to.
export { describeWorker } from './worker-info.js';
