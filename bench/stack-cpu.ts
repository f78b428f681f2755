// CPU time spent by the stack's processes and by this one, to show where a benchmark's time goes. Read from
// Linux's /proc; where that is missing the stack's figures are left out.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const pidsDir = resolve(import.meta.dirname, '../.stack/pids');
/** /proc reports process times in clock ticks: USER_HZ, 100 on every architecture Linux runs on here. */
const ticksPerSecond = 100;

/** Process name -> CPU seconds used so far. `bench` is this process: the starter and the sender. */
export type CpuSample = Map<string, number>;

function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name: state is field 3 of stat, utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

function stackPid(name: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(resolve(pidsDir, `${name}.json`), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

export function sampleCpu(stackProcesses = ['temporal', 'aws']): CpuSample {
  const sample: CpuSample = new Map();
  for (const name of stackProcesses) {
    const pid = stackPid(name);
    const seconds = pid === undefined ? undefined : cpuSeconds(pid);
    if (seconds !== undefined) sample.set(name, seconds);
  }
  const { user, system } = process.cpuUsage();
  sample.set('bench', (user + system) / 1e6);
  return sample;
}

/** "temporal 9.8 ms, aws 1.1 ms, bench 1.9 ms": CPU per message between two samples. */
export function cpuPerMessage(before: CpuSample, after: CpuSample, messages: number): string {
  return [...after]
    .flatMap(([name, seconds]) => {
      const start = before.get(name);
      return start === undefined ? [] : [`${name} ${(((seconds - start) * 1000) / messages).toFixed(1)} ms`];
    })
    .join(', ');
}
