// Loaded by mocha before any test: the tests talk to the local stack that `npm run stack -- up`
// started, so its endpoints (.stack/env) become the process environment.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadStackEnv } from './helpers/stack-env.js';

loadStackEnv();
// Workers in tests log only what needs a look; state changes of every test worker are noise.
Runtime.install({ logger: new DefaultLogger('WARN') });
