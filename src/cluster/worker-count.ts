// Resolves `--workers N|auto`: auto is one worker per usable core, capped by a cgroup v2 CPU quota
// (a container limited to 2 CPUs on a 64-core host gets 2 workers). Never returns less than 1.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export const MAX_WORKERS = 256;

export function resolveWorkerCount(value: string, cpuMaxPath = '/sys/fs/cgroup/cpu.max'): number {
  if (value === 'auto') return Math.max(1, Math.min(availableParallelism(), cgroupCpuLimit(cpuMaxPath) ?? Infinity, MAX_WORKERS));
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_WORKERS) {
    throw new Error(`--workers must be "auto" or an integer from 1 to ${MAX_WORKERS}, got "${value}"`);
  }
  return Number(value);
}

/** Whether `workers` processes leave a usable core beyond one each (`cores`: the usable cores, as `--workers auto` counts them). */
export function coreToSpare(workers: number, cores = resolveWorkerCount('auto')): boolean {
  return cores > workers;
}

/** CPUs allowed by a cgroup v2 `cpu.max` ("max 100000" or "200000 100000"), rounded up; undefined when unlimited. */
export function cgroupCpuLimit(cpuMaxPath: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(cpuMaxPath, 'utf8');
  } catch {
    return undefined;
  }
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return undefined;
  const cpus = Number(quota) / Number(period);
  return Number.isFinite(cpus) && cpus > 0 ? Math.ceil(cpus) : undefined;
}
