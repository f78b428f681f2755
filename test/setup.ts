// Loaded by mocha before any test: the tests talk to the local stack that `npm run stack -- up`
// started, so its endpoints (.stack/env) become the process environment.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadStackEnv } from './helpers/stack-env.js';

loadStackEnv();
// Tests provoke activity failures on purpose; the worker's warnings about them are noise there.
Runtime.install({ logger: new DefaultLogger('ERROR') });
