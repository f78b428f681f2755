import assert from 'node:assert/strict';
import { interruptionKinds, type InterruptionEvent } from '../../common/events.js';
import { launchWorkflowId, terminationWorkflowId, workflowTypes } from '../../common/names.js';
import { maxBodyBytes, parseMessage } from '../../starter/messages/parse.js';
import { messageKinds } from '../../starter/messages/registry.js';
import { workflowFor } from '../../starter/routing.js';
import { badFixtureNames, goodFixtureNames, readBadFixture, readGoodFixture } from './fixtures.js';
import { badMessages, goodMessages } from './message-expectations.js';
import { testCluster } from '../helpers/stack-env.js';

describe('starter: message parsing over the fixtures', () => {
  it('has an expectation for every fixture and a fixture for every expectation', () => {
    assert.deepEqual(goodFixtureNames(), Object.keys(goodMessages).sort());
    assert.deepEqual(badFixtureNames(), Object.keys(badMessages).sort());
  });

  describe('turns each good message into exactly the events it describes', () => {
    for (const [name, expected] of Object.entries(goodMessages)) {
      it(`${name} -> ${expected.events.length === 0 ? 'no action' : expected.events.map((e) => e.kind).join(', ')}`, () => {
        const result = parseMessage(readGoodFixture(name));
        assert.ok(
          result.ok,
          result.ok ? '' : `${result.error.reason} at ${result.error.path}: ${result.error.message}`,
        );
        assert.equal(result.messageType, expected.messageType);
        assert.deepEqual(result.events, expected.events);
      });
    }
  });

  describe('refuses each bad message with a typed error that names the field', () => {
    for (const [name, expected] of Object.entries(badMessages)) {
      it(`${name} -> ${expected.reason}${expected.path === '' ? '' : ` at ${expected.path}`}`, () => {
        const result = parseMessage(readBadFixture(name));
        assert.ok(!result.ok, `expected an error, got ${JSON.stringify(result)}`);
        assert.equal(result.error.name, 'MessageError');
        assert.equal(result.error.reason, expected.reason);
        assert.equal(result.error.path, expected.path);
        const field = expected.path.split('.').at(-1) ?? '';
        assert.ok(result.error.message.includes(field), `'${result.error.message}' does not name '${field}'`);
      });
    }
  });

  it('gives a redelivered message the same event ids, so the workflow can drop the repeat', () => {
    for (const name of goodFixtureNames()) {
      const first = parseMessage(readGoodFixture(name));
      const again = parseMessage(readGoodFixture(name));
      assert.deepEqual(again, first, name);
    }
  });
});

describe('starter: message size limit', () => {
  const spot = readGoodFixture('spot-interruption.eventbridge.json').trimEnd();
  // JSON allows any amount of whitespace before the closing brace: pad a good body to an exact size.
  const padded = (bytes: number): string => `${spot.slice(0, -1).padEnd(bytes - 1, ' ')}}`;

  it(`accepts a body of exactly ${maxBodyBytes} bytes (SQS's 1 MiB maximum)`, () => {
    const body = padded(maxBodyBytes);
    assert.equal(Buffer.byteLength(body), maxBodyBytes);
    assert.ok(parseMessage(body).ok);
  });

  it('refuses a body one byte over 1 MiB as too-large, before parsing it', () => {
    const body = padded(maxBodyBytes + 1);
    assert.equal(Buffer.byteLength(body), maxBodyBytes + 1);
    const result = parseMessage(body);
    assert.ok(!result.ok);
    assert.equal(result.error.reason, 'too-large');
  });

  it('counts UTF-8 bytes, not characters, as SQS does', () => {
    // 'é' is two bytes: this body has fewer characters than the limit but more bytes.
    const body = `${spot.slice(0, -1)}, "note": "${'é'.repeat(maxBodyBytes / 2)}"}`;
    assert.ok(body.length < maxBodyBytes);
    const result = parseMessage(body);
    assert.ok(!result.ok);
    assert.equal(result.error.reason, 'too-large');
  });
});

describe('starter: the parser never throws', () => {
  it('returns a result for every prefix of every fixture and for odd JSON values', () => {
    const bodies = [...goodFixtureNames().map(readGoodFixture), ...badFixtureNames().map(readBadFixture)];
    const odd = ['null', 'true', '0', '""', '[]', '{}', '{"source": null}', '{"Service": 1}', '{"TopicArn": {}}'];
    for (const body of [...odd, ...bodies.flatMap((b) => [...Array(b.length).keys()].map((n) => b.slice(0, n)))]) {
      const result = parseMessage(body);
      assert.equal(typeof result.ok, 'boolean');
    }
  });
});

describe('starter: message registry', () => {
  it('has one parser per source and detail type', () => {
    const keys = messageKinds.map((kind) => `${kind.source} / ${kind.detailType}`);
    assert.equal(new Set(keys).size, keys.length, keys.join('\n'));
  });
});

describe('starter: workflow routing', () => {
  const event = (kind: InterruptionEvent['kind']): InterruptionEvent =>
    ({ kind, instanceId: 'i-0a1b2c3d4e5f60001', time: '2024-05-01T12:00:00Z', eventId: 'e1' }) as InterruptionEvent;

  it("gives two clusters' workflows of one instance different ids", () => {
    const instance = event('spot-interruption');
    assert.notEqual(workflowFor('prod-a', instance).workflowId, workflowFor('prod-b', instance).workflowId);
  });

  it('sends launch lifecycle actions to the launch workflow and every other kind to the termination workflow', () => {
    for (const kind of interruptionKinds) {
      const target = workflowFor(testCluster, event(kind));
      if (kind === 'asg-launch') {
        assert.deepEqual(target, {
          workflowType: workflowTypes.launch,
          workflowId: launchWorkflowId(testCluster, 'i-0a1b2c3d4e5f60001'),
          legacyWorkflowId: 'launch-i-0a1b2c3d4e5f60001',
        });
      } else {
        assert.deepEqual(
          target,
          {
            workflowType: workflowTypes.termination,
            workflowId: terminationWorkflowId(testCluster, 'i-0a1b2c3d4e5f60001'),
            legacyWorkflowId: 'termination-i-0a1b2c3d4e5f60001',
          },
          kind,
        );
      }
    }
  });
});
