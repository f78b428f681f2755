import type { StarterMetrics } from '../../starter/metrics.js';

/** The sum of a metric's series whose labels include `labels` (a counter's total, a histogram's count). */
export async function metricValue(
  metrics: StarterMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const wanted = (metric?.values ?? []).filter((value) =>
    Object.entries(labels).every(([key, label]) => value.labels[key] === label),
  );
  return wanted.reduce((sum, value) => sum + value.value, 0);
}
