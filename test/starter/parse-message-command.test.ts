import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { badFixtureDir, goodFixtureDir, readGoodFixture } from './fixtures.js';
import { goodMessages } from './message-expectations.js';

const root = resolve(import.meta.dirname, '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `tnth parse-message` as operators run it: a separate process, its exit code and its two streams. */
function tnth(args: string[], stdin?: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/tnth.ts', ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

describe('tnth parse-message (child process)', () => {
  it('prints the events of a message file as a JSON array and exits 0', async () => {
    const run = await tnth(['parse-message', resolve(goodFixtureDir, 'asg-terminate.sns.json')]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), goodMessages['asg-terminate.sns.json']?.events);
    const [event] = JSON.parse(run.stdout) as Record<string, unknown>[];
    for (const field of ['kind', 'instanceId', 'time', 'eventId', 'autoScalingGroupName', 'lifecycleHookName']) {
      assert.ok(event !== undefined && field in event, `missing ${field}`);
    }
  });

  it('reads the body from stdin with -', async () => {
    const run = await tnth(['parse-message', '-'], readGoodFixture('scheduled-change.eventbridge.json'));
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as unknown[]).length, 2);
  });

  it('prints [] and exits 0 for a message that needs no action', async () => {
    const run = await tnth(['parse-message', resolve(goodFixtureDir, 'asg-test-notification.notification.json')]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), []);
  });

  it('exits 2 on a bad message, naming the field on stderr and printing nothing on stdout', async () => {
    const run = await tnth(['parse-message', resolve(badFixtureDir, 'spot-missing-instance-id.json')]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /missing-field at detail\.instance-id/);
  });
});
