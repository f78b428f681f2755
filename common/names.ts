/** Names shared by the worker, the starter, the CLI and the tests; defined here only. */
export const defaultTaskQueue = 'tnth-termination';
