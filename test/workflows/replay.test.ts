import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../helpers/workflow-worker.js';

const historiesDir = join(import.meta.dirname, '../histories');

describe('workflow code replays the histories of earlier runs (determinism)', () => {
  const files = readdirSync(historiesDir).filter((f) => f.endsWith('.json'));

  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 4, `only ${files.length} histories in test/histories`);
  });

  for (const file of files) {
    it(`replays ${file} without a nondeterminism error`, async () => {
      const history = historyFromJSON(JSON.parse(readFileSync(join(historiesDir, file), 'utf8')));
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
    });
  }
});
