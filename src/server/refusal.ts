// A request answered before it reached a variant, for both planes: counted in the request metrics and
// handed to the onRefused hook (the access log) with what it asked for. Never throws into the request path.
import { performance } from 'node:perf_hooks';
import { quotedInput, type ProxyError } from '../http/errors.js';
import { normalizeTarget } from '../http/path.js';
import { recordRequest } from '../metrics/request-metrics.js';
import type { DataPlaneHooks } from './exchange.js';
import type { Runtime } from './runtime.js';

export interface Refusal {
  method: string;
  /** The request target as sent (HTTP/1.1) or :path (HTTP/2). */
  target: string;
  client: string | undefined;
  route: string;
  error: ProxyError;
  startedAt: number;
}

export function recordRefusal(hooks: DataPlaneHooks, runtime: Runtime, refusal: Refusal): void {
  const latencyMs = performance.now() - refusal.startedAt;
  recordRequest(refusal.route, 'none', refusal.error.status, latencyMs / 1000);
  if (!hooks.onRefused) return;
  const { method, target, client, route, error } = refusal;
  const path = quotedInput(normalizeTarget(target)?.path ?? target.split('?')[0] ?? '');
  hooks.onRefused({ runtime, method, path, client, route, status: error.status, error: error.message, latencyMs });
}
