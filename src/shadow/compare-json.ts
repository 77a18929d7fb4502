// Structural comparison of two JSON values with a numeric tolerance: same types, same object keys,
// same array lengths, numbers within tolerance, leaving out the ignored fields. Reports the first
// differing path. Pure; iterative, so deeply nested input cannot overflow the stack.
import { DiffTracker, withinTolerance, type Comparison } from './comparison.js';
import { stepInto, type IgnoredFields } from './ignored-fields.js';

interface Pending {
  a: unknown;
  b: unknown;
  path: string;
  /** The ignored-field nodes that match this path. */
  ignored: IgnoredFields[];
}

export function compareJson(primary: unknown, shadow: unknown, tolerance: number, ignored?: IgnoredFields): Comparison {
  const diffs = new DiffTracker();
  let differences = 0;
  let first: string | undefined;
  const differ = (path: string, what: string) => {
    differences++;
    first ??= `${path || '$'}: ${what}`;
  };
  const stack: Pending[] = [{ a: primary, b: shadow, path: '', ignored: ignored ? [ignored] : [] }];
  while (stack.length > 0) {
    const { a, b, path, ignored: nodes } = stack.pop() as Pending;
    const ta = typeOf(a);
    const tb = typeOf(b);
    if (ta !== tb) {
      differ(path, `${ta} vs ${tb}`);
    } else if (ta === 'number') {
      diffs.add(a as number, b as number);
      if (!withinTolerance(a as number, b as number, tolerance)) differ(path, `${String(a)} vs ${String(b)}`);
    } else if (ta === 'array') {
      const xa = a as unknown[];
      const xb = b as unknown[];
      if (xa.length !== xb.length) differ(path, `${xa.length} items vs ${xb.length}`);
      for (let i = Math.min(xa.length, xb.length) - 1; i >= 0; i--) {
        const next = nodes.length === 0 ? nodes : stepInto(nodes, String(i));
        if (next) stack.push({ a: xa[i], b: xb[i], path: `${path}[${i}]`, ignored: next });
      }
    } else if (ta === 'object') {
      const oa = a as Record<string, unknown>;
      const ob = b as Record<string, unknown>;
      for (const key of Object.keys(ob)) if (!(key in oa) && below(nodes, key)) differ(`${path}.${key}`, 'only in shadow');
      for (const key of Object.keys(oa).reverse()) {
        const next = below(nodes, key);
        if (!next) continue;
        if (key in ob) stack.push({ a: oa[key], b: ob[key], path: `${path}.${key}`, ignored: next });
        else differ(`${path}.${key}`, 'only in primary');
      }
    } else if (a !== b) {
      differ(path, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  }
  return {
    result: differences === 0 ? 'match' : 'mismatch',
    kind: 'json',
    ...(first ? { reason: differences > 1 ? `${first} (and ${differences - 1} more)` : first } : {}),
    maxAbsDiff: diffs.maxAbsDiff,
    maxRelDiff: diffs.maxRelDiff,
  };
}

/** The ignored-field nodes below an object key, or undefined when that field is ignored. */
function below(nodes: IgnoredFields[], key: string): IgnoredFields[] | undefined {
  return nodes.length === 0 ? nodes : stepInto(nodes, key);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
