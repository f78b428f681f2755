import assert from 'node:assert/strict';
import { parseBudgetLimit, placesAllowed, type DrainPlaceRequest } from '../../common/drain-budget.js';
import { BudgetBook, type CarriedBook } from '../../workflows/drain-budget-book.js';

const request = (n: number, over: Partial<DrainPlaceRequest> = {}): DrainPlaceRequest => ({
  holder: `termination-test-i-${n}`,
  requestId: `turn-${n}`,
  configuredAt: 1,
  taskQueue: 'tnth-termination-test',
  instanceId: `i-${n}`,
  nodeName: `node-${n}`,
  group: 'web',
  groupSize: 20,
  arrivedAt: 1_000 + n,
  forced: false,
  configured: { perGroup: { count: 3 } },
  ...over,
});

describe('drain budget: the book of places', () => {
  it('gives at most the limit of places and serves waiters in arrival order', () => {
    const book = new BudgetBook();
    const answers = [5, 1, 4, 2, 3].map((n) => book.request(request(n), 0));
    assert.deepEqual(
      answers.map((a) => a.granted),
      [true, true, true, false, false],
    );
    assert.deepEqual(
      book.status('test').holders.map((h) => h.instanceId),
      ['i-5', 'i-1', 'i-4'],
    );
    assert.deepEqual(
      book.status('test').waiters.map((w) => w.instanceId),
      ['i-2', 'i-3'],
    );
    assert.deepEqual(
      answers.slice(3).map((a) => a.position),
      [1, 2],
    );
    assert.deepEqual(book.grantReady(0), [], 'no place is free');
    book.release({ holder: 'termination-test-i-1', requestId: 'turn-1' });
    assert.deepEqual(
      book.grantReady(0).map((e) => e.instanceId),
      ['i-2'],
    );
  });

  it('orders waiters by their termination arrival, not by when they asked', () => {
    const book = new BudgetBook();
    book.request(request(9), 0);
    book.request(request(8), 0);
    book.request(request(7), 0);
    book.request(request(6), 0);
    book.request(request(2), 0);
    book.request(request(4), 0);
    assert.deepEqual(
      book.status('test').waiters.map((w) => w.instanceId),
      ['i-2', 'i-4', 'i-6'],
    );
    book.release({ holder: 'termination-test-i-9', requestId: 'turn-9' });
    assert.deepEqual(
      book.grantReady(5).map((e) => e.instanceId),
      ['i-2'],
    );
    assert.deepEqual(book.untold(), [{ holder: 'termination-test-i-2', requestId: 'turn-2' }]);
  });

  it('lets another group go when one group is full, and stops everyone when the cluster is', () => {
    const book = new BudgetBook();
    const configured = { perGroup: { count: 1 }, cluster: { count: 2 } };
    assert.equal(book.request(request(1, { configured }), 0).granted, true);
    assert.equal(book.request(request(2, { configured }), 0).granted, false);
    assert.equal(book.request(request(3, { configured, group: 'batch' }), 0).granted, true);
    assert.equal(book.request(request(4, { configured, group: 'jobs' }), 0).granted, false, 'the cluster is full');
    assert.equal(book.request(request(5, { configured, group: undefined }), 0).granted, false);
    book.release({ holder: 'termination-test-i-1', requestId: 'turn-1' });
    // i-2 is next in line and its group has room again.
    assert.deepEqual(
      book.grantReady(0).map((e) => e.instanceId),
      ['i-2'],
    );
  });

  it('counts a percentage of the group, rounded up, at least one', () => {
    assert.equal(placesAllowed({ percent: 10 }, 20), 2);
    assert.equal(placesAllowed({ percent: 10 }, 21), 3);
    assert.equal(placesAllowed({ percent: 10 }, 0), 1);
    assert.equal(placesAllowed({ percent: 100 }, 7), 7);
    assert.equal(placesAllowed(undefined, 7), Infinity);
    const book = new BudgetBook();
    const configured = { perGroup: { percent: 10 } };
    const granted = [1, 2, 3, 4].map((n) => book.request(request(n, { configured, groupSize: 20 }), 0).granted);
    assert.deepEqual(granted, [true, true, false, false]);
  });

  it('lets a forced request go over the limit and counts it', () => {
    const book = new BudgetBook();
    const configured = { perGroup: { count: 1 } };
    assert.equal(book.request(request(1, { configured }), 0).granted, true);
    assert.equal(book.request(request(2, { configured, forced: true }), 0).granted, true);
    assert.equal(book.request(request(3, { configured }), 0).granted, false);
    book.release({ holder: 'termination-test-i-1', requestId: 'turn-1' });
    assert.deepEqual(book.grantReady(0), [], 'the forced holder still counts');
    book.release({ holder: 'termination-test-i-2', requestId: 'turn-2' });
    assert.deepEqual(
      book.grantReady(0).map((e) => e.instanceId),
      ['i-3'],
    );
  });

  it('answers a repeated request for the place already held or waited for', () => {
    const book = new BudgetBook();
    const configured = { perGroup: { count: 1 } };
    assert.equal(book.request(request(1, { configured }), 0).granted, true);
    assert.equal(book.request(request(2, { configured }), 0).position, 1);
    assert.equal(book.request(request(1, { configured }), 0).granted, true);
    assert.equal(book.request(request(2, { configured }), 0).position, 1);
    assert.equal(book.status('test').holders.length + book.status('test').waiters.length, 2);
    // A waiter that can no longer wait asks again, forced.
    assert.equal(book.request(request(2, { configured, forced: true }), 0).granted, true);
  });

  it("takes an operator's change, and drops it when the configuration changes", () => {
    const book = new BudgetBook();
    const configured = { perGroup: { count: 1 } };
    book.request(request(1, { configured }), 0);
    book.request(request(2, { configured }), 0);
    assert.equal(book.checkChange({ perGroup: '0' }), 'perGroup: "0": at least 1 (leave it unset for no budget)');
    assert.match(book.checkChange({ cluster: '10%' })!, /^cluster: "10%": a count of nodes/);
    assert.match(book.checkChange({ perGrop: '2' } as never)!, /unknown field\(s\) perGrop/);
    assert.equal(book.change({ perGroup: '2' }, 0), 'per group: 2; cluster: off');
    assert.deepEqual(
      book.untold().map((u) => u.holder),
      ['termination-test-i-2'],
      'the wider limit let the waiter go',
    );
    assert.deepEqual(book.status('test').perGroup, { configured: '1', override: '2', effective: '2' });
    book.request(request(3, { configured }), 0);
    assert.equal(book.status('test').perGroup.effective, '2', 'the same configuration keeps the override');
    book.request(request(4, { configured: { perGroup: { count: 5 } }, configuredAt: 2 }), 0);
    assert.deepEqual(book.status('test').perGroup, { configured: '5', override: undefined, effective: '5' });
    book.change({ perGroup: 'off' }, 0);
    assert.equal(book.status('test').perGroup.effective, 'off');
    book.change({ perGroup: null }, 0);
    assert.equal(book.status('test').perGroup.effective, '5');
  });

  it('ignores a configuration from a worker that started before the one in force', () => {
    const book = new BudgetBook();
    book.request(request(1, { configured: { perGroup: { count: 3 } }, configuredAt: 10 }), 0);
    book.change({ perGroup: 10 }, 0);
    book.request(request(2, { configured: { perGroup: { count: 1 } }, configuredAt: 5 }), 0);
    assert.deepEqual(book.status('test').perGroup, { configured: '3', override: '10', effective: '10' });
    book.request(request(3, { configured: { perGroup: { count: 4 } }, configuredAt: 20 }), 0);
    assert.deepEqual(book.status('test').perGroup, { configured: '4', override: undefined, effective: '4' });
  });

  it('counts a percentage set by an operator from the sizes the requests bring', () => {
    const book = new BudgetBook();
    book.request(request(1, { groupSize: 10 }), 0);
    book.change({ perGroup: '50%' }, 0);
    const granted = [2, 3, 4, 5, 6].map((n) => book.request(request(n, { groupSize: 10 }), 0).granted);
    assert.deepEqual(granted, [true, true, true, true, false]);
  });

  it('ignores a request that comes after its turn was given back, and a release of another turn', () => {
    const book = new BudgetBook();
    const configured = { perGroup: { count: 1 } };
    book.request(request(1, { configured }), 0);
    // The waiter gave up (an operator skipped its drain) before its request was seen.
    assert.equal(book.release({ holder: 'termination-test-i-2', requestId: 'turn-2' }), false);
    assert.equal(book.request(request(2, { configured }), 0).released, true);
    assert.deepEqual(book.status('test').waiters, []);
    // A new turn of the same holder is another request.
    assert.equal(book.request(request(2, { configured, requestId: 'turn-2b' }), 0).position, 1);
    assert.equal(book.release({ holder: 'termination-test-i-2', requestId: 'turn-2' }), false, 'an old turn');
    assert.equal(book.status('test').waiters.length, 1);
  });

  it('reclaims a holder that closed without giving its place back, and counts it', () => {
    const book = new BudgetBook();
    const configured = { perGroup: { count: 1 } };
    book.request(request(1, { configured }), 0);
    book.request(request(2, { configured }), 0);
    book.reclaim('termination-test-i-1');
    assert.equal(book.status('test').holdersReclaimed, 1);
    assert.deepEqual(
      book.grantReady(0).map((e) => e.instanceId),
      ['i-2'],
    );
  });

  it('survives being carried to the next run', () => {
    const book = new BudgetBook();
    book.request(request(1), 0);
    book.request(request(2), 0);
    const copy = new BudgetBook(JSON.parse(JSON.stringify(book.carry())) as CarriedBook);
    assert.deepEqual(copy.status('test'), book.status('test'));
  });
});

describe('drain budget: the settings', () => {
  const table: [string, boolean, unknown][] = [
    ['', true, undefined],
    ['3', true, { count: 3 }],
    [' 10% ', true, { percent: 10 }],
    ['100%', true, { percent: 100 }],
  ];
  for (const [text, percentAllowed, expected] of table) {
    it(`reads ${JSON.stringify(text)}`, () => assert.deepEqual(parseBudgetLimit(text, { percentAllowed }), expected));
  }
  const bad: [string, boolean, RegExp][] = [
    ['0', true, /at least 1/],
    ['0%', true, /from 1% to 100%/],
    ['150%', true, /from 1% to 100%/],
    ['10%', false, /a count of nodes/],
    ['three', true, /a count of nodes such as 3, or a percentage such as 10%/],
    ['-1', true, /a count of nodes/],
    ['2.5', true, /a count of nodes/],
  ];
  for (const [text, percentAllowed, message] of bad) {
    it(`refuses ${JSON.stringify(text)}${percentAllowed ? '' : ' for the cluster'}`, () =>
      assert.throws(() => parseBudgetLimit(text, { percentAllowed }), message));
  }
});
