// Writes the workflow bundle the worker would otherwise build at start, for WORKFLOW_BUNDLE_PATH:
// `node dist/bin/bundle-workflows.js OUT.js` in the Docker image's build stage. Same entry module and
// bundler options as the worker's own bundling (worker/workflow-bundle.ts), so the code is the same.
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundlerOptions, workflowsPath } from '../worker/workflow-bundle.js';

const [out, ...extra] = process.argv.slice(2);
if (out === undefined || extra.length > 0) {
  console.error('usage: bundle-workflows OUT.js');
  process.exitCode = 2;
} else {
  const { code } = await bundleWorkflowCode({ workflowsPath, ...bundlerOptions });
  await writeFile(out, code);
  console.error(`bundle-workflows: ${workflowsPath} -> ${out} (${Math.round(code.length / 1024)} KiB)`);
}
