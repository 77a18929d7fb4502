// Structural comparison of two JSON values with a numeric tolerance: same types, same object keys,
// same array lengths, numbers within tolerance. Reports the first differing path. Pure; iterative,
// so deeply nested input cannot overflow the stack.
import { DiffTracker, withinTolerance, type Comparison } from './comparison.js';

interface Pending {
  a: unknown;
  b: unknown;
  path: string;
}

export function compareJson(primary: unknown, shadow: unknown, tolerance: number): Comparison {
  const diffs = new DiffTracker();
  let differences = 0;
  let first: string | undefined;
  const differ = (path: string, what: string) => {
    differences++;
    first ??= `${path || '$'}: ${what}`;
  };
  const stack: Pending[] = [{ a: primary, b: shadow, path: '' }];
  while (stack.length > 0) {
    const { a, b, path } = stack.pop() as Pending;
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
      for (let i = Math.min(xa.length, xb.length) - 1; i >= 0; i--) stack.push({ a: xa[i], b: xb[i], path: `${path}[${i}]` });
    } else if (ta === 'object') {
      const oa = a as Record<string, unknown>;
      const ob = b as Record<string, unknown>;
      for (const key of Object.keys(ob)) if (!(key in oa)) differ(`${path}.${key}`, 'only in shadow');
      for (const key of Object.keys(oa).reverse()) {
        if (key in ob) stack.push({ a: oa[key], b: ob[key], path: `${path}.${key}` });
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

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
