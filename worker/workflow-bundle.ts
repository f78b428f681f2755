import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BundleOptions } from '@temporalio/worker';

// `.ts` when run from source (tsx, tests), `.js` when run from the built `dist/`.
const ext = extname(fileURLToPath(import.meta.url));

/** The module Temporal bundles into the workflow sandbox. */
export const workflowsPath = fileURLToPath(new URL(`../workflows/index${ext}`, import.meta.url));

/** Source imports say `./x.js` (Node ESM); let the bundler find `./x.ts` behind them. */
export const bundlerOptions: Pick<BundleOptions, 'webpackConfigHook'> = {
  webpackConfigHook: (config) => ({
    ...config,
    resolve: { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } },
  }),
};
