// Number formatting for the dashboard: percentages, rates, milliseconds, p-values. Pure.
export const dash = '–';

export function percent(v, digits = 1) {
  return v === null || v === undefined || !Number.isFinite(v) ? dash : `${(v * 100).toFixed(digits)}%`;
}

export function rate(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function ms(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  return v >= 100 ? `${v.toFixed(0)} ms` : v >= 1 ? `${v.toFixed(1)} ms` : `${v.toFixed(2)} ms`;
}

export function number(v, digits = 3) {
  return v === null || v === undefined || !Number.isFinite(v) ? dash : v.toFixed(digits);
}

export function pValue(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  return v < 0.001 ? '< 0.001' : v.toFixed(3);
}

export function signedPercent(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
}

export function interval(ci) {
  return Array.isArray(ci) && ci.length === 2 && ci.every(Number.isFinite) ? `[${ci[0].toFixed(3)}, ${ci[1].toFixed(3)}]` : dash;
}
