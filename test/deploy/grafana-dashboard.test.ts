// deploy/grafana/: the dashboard queries only series the processes export, in PromQL that Prometheus
// parses (promtool), and its picture in deploy/README.md is the plot of a recorded run.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plot } from '../../dev/metrics/plot-run.js';
import { promtoolBuildTimeoutMs, promtoolCheckRules } from '../helpers/prometheus.js';
import { root } from './tools.js';

const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/tnth-dashboard.json'), 'utf8')) as {
  uid: string;
  panels: { title: string; targets: { expr: string }[] }[];
};
const expressions = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));

/** Every metric name the worker and the starter register (prom-client `name:` and the reachability gauges). */
function exported(): Set<string> {
  const files = ['worker/metrics.ts', 'worker/in-flight.ts', 'worker/main.ts', 'starter/metrics.ts', 'starter/main.ts'];
  const names = new Set<string>();
  for (const file of files) {
    for (const [, name] of readFileSync(join(root, file), 'utf8').matchAll(/'(tnth_[a-z_]+)'/g)) names.add(name!);
  }
  return names;
}

describe('deploy/grafana: the dashboard', function () {
  this.timeout(promtoolBuildTimeoutMs);

  it('queries only series the processes export', () => {
    const names = exported();
    assert.ok(names.has('tnth_terminations_in_flight') && names.has('tnth_starter_temporal_reachable'));
    for (const { panel, expr } of expressions) {
      for (const [metric] of expr.matchAll(/tnth_[a-z_]+/g)) {
        const base = metric.replace(/_(bucket|sum|count)$/, '');
        assert.ok(names.has(metric) || names.has(base), `${panel}: ${metric} is exported by no process`);
      }
    }
  });

  it("has PromQL that Prometheus parses (promtool check rules, with Grafana's variables filled in)", async () => {
    const rules = expressions.map(({ expr }, i) => ({
      record: `tnth:dashboard:${i}`,
      expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.+'),
    }));
    await promtoolCheckRules([{ name: 'dashboard', rules }]);
  });

  it('is pictured in deploy/README.md by the plot of the recorded run beside it', () => {
    const readme = readFileSync(join(root, 'deploy/README.md'), 'utf8');
    assert.match(readme, /!\[[^\]]*\]\(grafana\/blocked-drain-run\.svg\)/);
    const run = JSON.parse(readFileSync(join(root, 'deploy/grafana/blocked-drain-run.json'), 'utf8')) as Parameters<
      typeof plot
    >[0];
    assert.ok(existsSync(join(root, 'deploy/grafana/blocked-drain-run.svg')));
    assert.equal(
      readFileSync(join(root, 'deploy/grafana/blocked-drain-run.svg'), 'utf8'),
      plot(run),
      'the picture is the plot of the recorded run (npx tsx dev/metrics/plot-run.ts)',
    );
  });
});
