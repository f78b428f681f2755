import { hostname } from 'node:os';

/** Names the process that ran the activity: `host/pid`. */
export async function describeWorker(): Promise<string> {
  return Promise.resolve(`${hostname()}/${process.pid}`);
}
