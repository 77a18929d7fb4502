// Reads one series of a prom-client metric from the process registry (tests run the proxy in-process).
import type { Metric } from 'prom-client';

export async function metricValue(metric: Metric, labels: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value) && !('le' in v.labels));
  return found?.value ?? NaN;
}
