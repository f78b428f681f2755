// Plots the dashboard's main series from a recorded run (the JSON test/integration/
// metrics-blocked-drain.test.ts writes to TNTH_METRICS_RUN_OUT) as one SVG, the picture in
// deploy/README.md. No browser needed: the same series the dashboard queries, one panel each.
//   npx tsx dev/metrics/plot-run.ts run.json deploy/grafana/blocked-drain-run.svg
import { readFileSync, writeFileSync } from 'node:fs';

interface Series {
  name: string;
  labels: Record<string, string>;
  values: (number | null)[];
}
interface Run {
  stepSeconds: number;
  scrapes: number;
  series: Series[];
}

/** One panel: lines, each the sum over the series matching `name` and `labels` (as the dashboard's PromQL). */
interface Panel {
  title: string;
  unit: string;
  lines: { label: string; name: string; labels?: Record<string, string>; color: string; min?: boolean }[];
}

const panels: Panel[] = [
  {
    title: 'Terminations in flight by phase',
    unit: '',
    lines: [
      { label: 'Cordoning', name: 'tnth_terminations_in_flight', labels: { phase: 'Cordoning' }, color: '#8ab8ff' },
      { label: 'Draining', name: 'tnth_terminations_in_flight', labels: { phase: 'Draining' }, color: '#1f60c4' },
      {
        label: 'WaitingToRetry',
        name: 'tnth_terminations_in_flight',
        labels: { phase: 'WaitingToRetry' },
        color: '#ff9830',
      },
      {
        label: 'CompletingLifecycleAction',
        name: 'tnth_terminations_in_flight',
        labels: { phase: 'CompletingLifecycleAction' },
        color: '#73bf69',
      },
    ],
  },
  {
    title: 'Pods blocked by PodDisruptionBudgets',
    unit: '',
    lines: [
      { label: 'blocked pods', name: 'tnth_drain_pods_blocked_by_budget', color: '#f2495c' },
      { label: 'drains running', name: 'tnth_drains_running', color: '#1f60c4' },
    ],
  },
  {
    title: 'Lowest time left on a held lifecycle hook',
    unit: 's',
    lines: [{ label: 'seconds left', name: 'tnth_lifecycle_hook_seconds_left', color: '#b877d9', min: true }],
  },
  {
    title: 'Heartbeat loops vs terminations in flight',
    unit: '',
    lines: [
      { label: 'heartbeat loops', name: 'tnth_heartbeat_loops_running', color: '#f2495c' },
      { label: 'terminations in flight', name: 'tnth_terminations_in_flight', color: '#1f60c4' },
    ],
  },
];

function line(run: Run, spec: Panel['lines'][number]): (number | undefined)[] {
  const matching = run.series.filter(
    (s) => s.name === spec.name && Object.entries(spec.labels ?? {}).every(([k, v]) => s.labels[k] === v),
  );
  return Array.from({ length: run.scrapes }, (_, i) => {
    const values = matching.map((s) => s.values[i]).filter((v): v is number => typeof v === 'number');
    if (values.length === 0) return undefined;
    return spec.min ? Math.min(...values) : values.reduce((a, b) => a + b, 0);
  });
}

export function plot(run: Run): string {
  const width = 1200;
  const panelHeight = 220;
  const margin = { left: 60, right: 20, top: 34, bottom: 40 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = panelHeight - margin.top - margin.bottom;
  const seconds = (run.scrapes - 1) * run.stepSeconds;
  const parts: string[] = [];
  panels.forEach((panel, p) => {
    const top = p * panelHeight;
    const data = panel.lines.map((spec) => ({ spec, values: line(run, spec) }));
    const max = Math.max(1, ...data.flatMap((d) => d.values.filter((v): v is number => v !== undefined)));
    const yMax = panel.unit === 's' ? Math.ceil(max / 10) * 10 : Math.ceil(max * 1.2);
    const x = (i: number) => margin.left + (i / Math.max(1, run.scrapes - 1)) * plotWidth;
    const y = (v: number) => top + margin.top + plotHeight - (v / yMax) * plotHeight;
    parts.push(`<text x="${margin.left}" y="${top + 20}" font-size="15" font-weight="bold">${panel.title}</text>`);
    parts.push(
      `<rect x="${margin.left}" y="${top + margin.top}" width="${plotWidth}" height="${plotHeight}" fill="#fafafa" stroke="#ccc"/>`,
    );
    for (let t = 0; t <= 4; t++) {
      const v = (yMax * t) / 4;
      parts.push(
        `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`,
        `<text x="${margin.left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${Number(v.toFixed(1))}${panel.unit}</text>`,
      );
    }
    for (let t = 0; t <= seconds; t += 30) {
      const i = t / run.stepSeconds;
      parts.push(
        `<text x="${x(i)}" y="${top + margin.top + plotHeight + 16}" font-size="11" text-anchor="middle">${t} s</text>`,
      );
    }
    data.forEach(({ spec, values }, l) => {
      // A gap where the series was absent (no hook held), as Grafana draws it.
      const segments: string[] = [];
      let current = '';
      values.forEach((v, i) => {
        if (v === undefined) {
          if (current) segments.push(current);
          current = '';
        } else current += `${current ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      });
      if (current) segments.push(current);
      for (const d of segments) parts.push(`<path d="${d}" fill="none" stroke="${spec.color}" stroke-width="2"/>`);
      const lx = margin.left + 10 + l * 210;
      const ly = top + margin.top + plotHeight + 32;
      parts.push(
        `<rect x="${lx}" y="${ly - 9}" width="12" height="4" fill="${spec.color}"/>`,
        `<text x="${lx + 18}" y="${ly - 4}" font-size="12">${spec.label}</text>`,
      );
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${panels.length * panelHeight}" font-family="sans-serif" viewBox="0 0 ${width} ${panels.length * panelHeight}">
<rect width="100%" height="100%" fill="white"/>
${parts.join('\n')}
</svg>
`;
}

if (process.argv[1]?.endsWith('plot-run.ts')) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: plot-run.ts RUN.json OUT.svg');
    process.exit(2);
  }
  writeFileSync(output, plot(JSON.parse(readFileSync(input, 'utf8')) as Run));
}
