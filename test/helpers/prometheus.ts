// Prometheus on the test's side: scraping /metrics into series, and promtool (built on demand from the
// Go module proxy by dev/prometheus/build.sh) to check the chart's alert rules against them.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/** A first build compiles promtool from source on two cores (about seven minutes). */
export const promtoolBuildTimeoutMs = 20 * 60_000;

let promtool: Promise<string> | undefined;

/** The path of the pinned promtool, built into the tools cache the first time. */
export function promtoolPath(): Promise<string> {
  promtool ??= run('bash', ['-c', 'source dev/env.sh && bash dev/prometheus/build.sh'], {
    cwd: root,
    maxBuffer: 16 << 20,
  }).then(({ stdout }) => stdout.trim().split('\n').at(-1)!);
  return promtool;
}

/** One sample line of the text format: `name{label="value",...} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a /metrics page whose names start with `prefix`. */
export function parseExposition(text: string, prefix = 'tnth_'): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

export const seriesKey = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;

/**
 * Scrapes taken at a fixed step, as Prometheus keeps them: each series' values by scrape (undefined
 * where the series was absent). `targets` name each scraped /metrics with the labels Prometheus adds.
 */
export class Recording {
  readonly stepSeconds: number;
  readonly series = new Map<string, { name: string; labels: Record<string, string>; values: (number | undefined)[] }>();
  scrapes = 0;
  readonly startedAt = Date.now();

  constructor(stepSeconds: number) {
    this.stepSeconds = stepSeconds;
  }

  add(samples: Sample[], targetLabels: Record<string, string>): void {
    for (const sample of samples) {
      const labels = { ...sample.labels, ...targetLabels };
      const key = seriesKey(sample.name, labels);
      let entry = this.series.get(key);
      if (!entry) {
        entry = { name: sample.name, labels, values: [] };
        this.series.set(key, entry);
      }
      entry.values[this.scrapes] = sample.value;
    }
  }

  /** Ends one scrape (of every target). */
  next(): void {
    this.scrapes += 1;
  }

  /** The values of the series of `name` whose labels include `labels`, by scrape. */
  values(name: string, labels: Record<string, string> = {}): (number | undefined)[][] {
    return [...this.series.values()]
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .map((s) => Array.from({ length: this.scrapes }, (_, i) => s.values[i]));
  }

  /** promtool's input_series: each series with `_` where it was absent. */
  inputSeries(): { series: string; values: string }[] {
    return [...this.series.values()].map((s) => ({
      series: `${s.name}{${Object.entries(s.labels)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}}`,
      values: Array.from({ length: this.scrapes }, (_, i) =>
        s.values[i] === undefined ? '_' : String(s.values[i]),
      ).join(' '),
    }));
  }

  toJSON() {
    return {
      stepSeconds: this.stepSeconds,
      scrapes: this.scrapes,
      startedAt: this.startedAt,
      series: [...this.series.values()],
    };
  }
}

export interface AlertExpectation {
  evalTime: string;
  alertname: string;
  /** The labels of each firing alert; [] expects none. */
  expAlerts: Record<string, string>[];
}

/**
 * `promtool test rules` of `groups` (a PrometheusRule's spec.groups) against `inputSeries` at `interval`.
 * Annotations are left out of the rules: they are for people, and promtool would compare them verbatim.
 */
export async function promtoolTestRules(
  groups: unknown[],
  interval: string,
  inputSeries: { series: string; values: string }[],
  expectations: AlertExpectation[],
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tnth-promtool-'));
  try {
    const bare = (groups as { name: string; rules: Record<string, unknown>[] }[]).map((g) => ({
      ...g,
      rules: g.rules.map(({ annotations: _annotations, ...rule }) => rule),
    }));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: bare }));
    writeFileSync(
      join(dir, 'test.yaml'),
      stringify({
        rule_files: ['rules.yaml'],
        evaluation_interval: interval,
        tests: [
          {
            interval,
            input_series: inputSeries,
            alert_rule_test: expectations.map((e) => ({
              eval_time: e.evalTime,
              alertname: e.alertname,
              exp_alerts: e.expAlerts.map((labels) => ({ exp_labels: labels })),
            })),
          },
        ],
      }),
    );
    const tool = await promtoolPath();
    await runChecked(tool, ['check', 'rules', join(dir, 'rules.yaml')]);
    return await runChecked(tool, ['test', 'rules', join(dir, 'test.yaml')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `promtool check rules` of rule groups (recording rules check PromQL that is no alert). */
export async function promtoolCheckRules(groups: unknown[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tnth-promtool-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    return await runChecked(await promtoolPath(), ['check', 'rules', join(dir, 'rules.yaml')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runChecked(file: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(file, args, { maxBuffer: 64 << 20 });
    return stdout + stderr;
  } catch (error) {
    const failure = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`, {
      cause: error,
    });
  }
}
