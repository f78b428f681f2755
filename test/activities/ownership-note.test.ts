import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createOwnershipActivities, type OwnershipNote } from '../../activities/ownership.js';

/** Feeds `notes` to one worker's ownership activity; returns the warnings it logged and its counts. */
async function feed(notes: OwnershipNote[], expectOtherClusters = false) {
  const warnings: string[] = [];
  const logger = new DefaultLogger('WARN', (entry) => {
    if (entry.level === 'WARN') warnings.push(entry.message);
  });
  const env = new MockActivityEnvironment(undefined, { logger });
  const ignored: string[] = [];
  const activities = createOwnershipActivities({ onIgnored: (r) => ignored.push(r), expectOtherClusters });
  for (const note of notes) await env.run((n: OwnershipNote) => activities.noteOwnership(n), note);
  return { warnings, ignored };
}

const note = (owner: OwnershipNote['owner'], extra: Partial<OwnershipNote> = {}): OwnershipNote => ({
  instanceId: 'i-0abc',
  owner,
  clusterName: 'prod-a',
  ...(owner === 'other-cluster' ? { cluster: 'prod-b' } : {}),
  ...extra,
});
const times = (n: number, make: () => OwnershipNote) => Array.from({ length: n }, make);

describe("ownership notes: counting other clusters' instances and warning of a shared queue", () => {
  it('counts ignored terminations by reason, and warns of nothing while most are ours', async () => {
    const { warnings, ignored } = await feed([
      ...times(30, () => note('ours')),
      ...times(25, () => note('other-cluster')),
      note('ours', { notManaged: true }),
    ]);
    assert.equal(ignored.filter((r) => r === 'other-cluster').length, 25);
    assert.equal(ignored.filter((r) => r === 'not-managed').length, 1);
    assert.deepEqual(warnings, []);
  });

  it('warns once of a queue shared with other clusters when they are the majority, with the fix', async () => {
    const { warnings } = await feed([...times(10, () => note('untagged')), ...times(40, () => note('other-cluster'))]);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /of other clusters' instances \(prod-b\).*give each cluster its own queue.*EXPECT_OTHER_CLUSTERS=true/,
    );
  });

  it('says nothing of the queue with EXPECT_OTHER_CLUSTERS, but still of a CLUSTER_NAME no instance carries', async () => {
    assert.deepEqual(
      (await feed([...times(5, () => note('ours')), ...times(40, () => note('other-cluster'))], true)).warnings,
      [],
    );
    const { warnings } = await feed(
      times(25, () => note('other-cluster')),
      true,
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /none of CLUSTER_NAME=prod-a: .*tnth drains nothing/);
  });
});
