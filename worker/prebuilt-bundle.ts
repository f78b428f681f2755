// Where the worker's workflow code comes from. From source (tests, `npm run dev`) the worker bundles
// workflows/ with webpack at start; the Docker image bundles once at build time instead
// (bin/bundle-workflows.ts) and names the file in WORKFLOW_BUNDLE_PATH, so a container starts in
// seconds, without webpack's memory peak, and runs exactly the workflow code that was built.
import { existsSync } from 'node:fs';
import type { WorkerOptions } from '@temporalio/worker';

export const workflowBundleVariable = 'WORKFLOW_BUNDLE_PATH';

type FromSource = Pick<WorkerOptions, 'workflowsPath' | 'bundlerOptions'>;

/**
 * `options` as they are, or, when WORKFLOW_BUNDLE_PATH is set, with the prebuilt bundle in place of
 * `workflowsPath` and `bundlerOptions` (the SDK would only warn about having both).
 */
export function withPrebuiltWorkflowBundle<T extends FromSource>(
  options: T,
  env: NodeJS.ProcessEnv = process.env,
): Omit<T, keyof FromSource> & Pick<WorkerOptions, 'workflowBundle'> {
  const codePath = env[workflowBundleVariable];
  if (codePath === undefined || codePath === '') return options;
  if (!existsSync(codePath)) {
    throw new Error(`${workflowBundleVariable}=${codePath}: no such file (bin/bundle-workflows.ts writes it)`);
  }
  const { workflowsPath: _fromSource, bundlerOptions: _bundler, ...rest } = options;
  return { ...rest, workflowBundle: { codePath } };
}
