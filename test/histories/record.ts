// Records workflow histories from real runs on the stack's dev server (stubbed activities), for the
// replay test: `npm run record-histories -- <tag>`, then commit the new test/histories/*.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import type { InterruptionEvent } from '../../common/events.js';
import { interruptionSignal, skipDrainUpdate, workflowTypes } from '../../common/names.js';
import { startAttributes } from '../../starter/hand-off.js';
import { asgTerminateEvent, spotInterruptionEvent } from '../helpers/events.js';
import { loadStackEnv, stackVar } from '../helpers/stack-env.js';
import { stackClient, stackNativeConnection, uniqueTaskQueue } from '../helpers/temporal.js';
import { testWorker } from '../helpers/workflow-worker.js';
import { Recorder, stubActivities, type StubBehaviour } from '../workflows/stub-activities.js';

interface Scenario {
  name: string;
  workflowType: string;
  event: InterruptionEvent;
  behaviour: StubBehaviour;
  during?: (client: Client, workflowId: string, rec: Recorder) => Promise<void>;
  /** Also records the chain's first run (it ends in continue-as-new) as `<name>-first-run.json`. */
  firstRun?: boolean;
}

const launchEvent = { ...asgTerminateEvent(), kind: 'asg-launch' as const };

const scenarios: Scenario[] = [
  { name: 'termination-drain-retries', workflowType: workflowTypes.termination, event: asgTerminateEvent(), behaviour: { drainFailures: 2 } },
  { name: 'termination-spot', workflowType: workflowTypes.termination, event: spotInterruptionEvent(), behaviour: {} },
  {
    name: 'termination-skip-drain',
    workflowType: workflowTypes.termination,
    event: asgTerminateEvent(),
    behaviour: { drainHangs: true },
    during: async (client, workflowId, rec) => {
      while (rec.drains.length === 0) await new Promise((r) => setTimeout(r, 50));
      await client.workflow.getHandle(workflowId).executeUpdate(skipDrainUpdate, { args: [{ result: 'ABANDON' }] });
    },
  },
  {
    // A bound this low hands over every few attempts: the first run ends in continue-as-new, the
    // last one starts from carried state.
    name: 'termination-continued-as-new',
    workflowType: workflowTypes.termination,
    event: asgTerminateEvent(),
    behaviour: { drainFailures: 7, settings: { historyEventsPerRun: 100 } },
    firstRun: true,
  },
  { name: 'launch-node-ready', workflowType: workflowTypes.launch, event: launchEvent, behaviour: {} },
  {
    name: 'termination-other-cluster',
    workflowType: workflowTypes.termination,
    event: asgTerminateEvent(),
    behaviour: { instanceTags: { 'aws:eks:cluster-name': 'another' } },
  },
  {
    name: 'termination-not-managed',
    workflowType: workflowTypes.termination,
    event: asgTerminateEvent(),
    behaviour: { settings: { checkTagBeforeDraining: true } },
  },
  {
    // A 300 s hook heartbeats 240 s after the start (HEARTBEAT_INTERVAL unset): the lookups run as
    // local activities; the first attempt fails.
    name: 'termination-lookups-local',
    workflowType: workflowTypes.termination,
    event: asgTerminateEvent(),
    behaviour: { drainFailures: 1, settings: { heartbeatIntervalSeconds: undefined } },
  },
  {
    // Local activities slower than the workflow task's heartbeat (8 s): the first task is split
    // between them, and replay must take the patches as the run did.
    name: 'termination-split-task',
    workflowType: workflowTypes.termination,
    event: asgTerminateEvent(),
    behaviour: { settingsMs: 9_000, describeMs: 9_000, settings: { heartbeatIntervalSeconds: undefined } },
  },
];

/** Every recording runs with a cluster name, as the service does (CLUSTER_NAME is required). */
const recordedCluster = 'record';

// `npm run record-histories -- <tag> [scenario...]` writes <scenario>-<tag>.json beside the earlier
// recordings, which stay: each workflow change under a patch adds histories of its own (tagged with
// the patch id), and old ones keep replaying. Without scenarios, it records them all.
const [tag, ...only] = process.argv.slice(2);
const unknown = only.filter((name) => !scenarios.some((s) => s.name === name));
if (!tag || unknown.length > 0) {
  console.error(
    `usage: npm run record-histories -- <tag> (the patch id of the workflow change) [scenario...]${unknown.length ? `; no scenario ${unknown.join(', ')}` : ''}`,
  );
  process.exit(2);
}

loadStackEnv();
const { client, connection } = await stackClient();
const native = await stackNativeConnection();
try {
  for (const scenario of scenarios.filter((s) => only.length === 0 || only.includes(s.name))) {
    const rec = new Recorder();
    const taskQueue = uniqueTaskQueue('record');
    const workflowId = `${scenario.name}-${taskQueue}`;
    const behaviour = {
      ...scenario.behaviour,
      settings: { clusterName: recordedCluster, ...scenario.behaviour.settings },
    };
    const worker = await testWorker(native, taskQueue, stubActivities(rec, behaviour));
    let firstRunId: string | undefined;
    await worker.runUntil(async () => {
      const handle = await client.workflow.signalWithStart(scenario.workflowType, {
        taskQueue,
        workflowId,
        args: [{ instanceId: scenario.event.instanceId }],
        signal: interruptionSignal,
        signalArgs: [scenario.event],
        // As the starter starts it.
        typedSearchAttributes: startAttributes(recordedCluster, scenario.event),
      });
      firstRunId = handle.signaledRunId;
      await scenario.during?.(client, workflowId, rec);
      await handle.result();
    });
    // The CLI's JSON is the format `temporal workflow show` gives operators, and what replay reads.
    const recording = `${scenario.name}-${tag}`;
    const runs: [string, string | undefined][] = [[recording, undefined]];
    if (scenario.firstRun) runs.push([`${recording}-first-run`, firstRunId]);
    for (const [name, runId] of runs) {
      const json = execFileSync('temporal', [
        'workflow',
        'show',
        '--workflow-id',
        workflowId,
        ...(runId ? ['--run-id', runId] : []),
        '--output',
        'json',
        '--address',
        stackVar('TEMPORAL_ADDRESS'),
        '--namespace',
        stackVar('TEMPORAL_NAMESPACE'),
      ]);
      writeFileSync(join(import.meta.dirname, `${name}.json`), json);
      console.log(`recorded ${name}: ${(JSON.parse(json.toString()) as { events: unknown[] }).events.length} events`);
    }
  }
} finally {
  await connection.close();
  await native.close();
}
