// Renders shadow log records as a readable table, one row per input: the primary's output beside each
// shadow's output, how many shadows matched, and every latency (like Wallaroo's shadow deploy logs). Pure.
import { NOT_JSON } from './answer.js';
import { answerContent } from './compare.js';
import { isOipResponse } from './compare-oip.js';
import { predictionsTensor } from './compare-predictions.js';
import type { LoggedBody, LoggedShadow, ShadowLogRecord } from './log-record.js';

const CELL_CHARS = 48;

export function renderTable(records: readonly ShadowLogRecord[]): string {
  if (records.length === 0) return 'no shadow log records\n';
  const shadowNames: string[] = [];
  for (const record of records) for (const s of record.shadows) if (!shadowNames.includes(s.name)) shadowNames.push(s.name);
  const showRoute = new Set(records.map((r) => r.route)).size > 1;
  const header = ['TIME', ...(showRoute ? ['ROUTE'] : []), 'REQUEST', 'INPUT', 'PRIMARY', ...shadowNames.map((n) => n.toUpperCase()), 'MATCH', 'LATENCY MS'];
  const rows = records.map((record) => {
    const byName = new Map(record.shadows.map((s) => [s.name, s]));
    const compared = record.shadows.filter((s) => s.comparison && s.comparison.result !== 'incomparable');
    const matched = compared.filter((s) => s.comparison?.result === 'match').length;
    return [
      record.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      ...(showRoute ? [record.route] : []),
      shorten(record.requestId, 12),
      record.input.digest,
      `${record.variant}: ${summarize(record.primary.output, record.primary.status, record.primary.failure)}`,
      ...shadowNames.map((name) => shadowCell(byName.get(name))),
      compared.length === 0 ? '-' : `${matched}/${compared.length}`,
      [record.primary.latencyMs, ...shadowNames.map((n) => byName.get(n)?.latencyMs ?? null)].map((ms) => (ms === null ? '-' : ms.toFixed(1))).join(' | '),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function shadowCell(shadow: LoggedShadow | undefined): string {
  if (!shadow) return '';
  if (shadow.outcome === 'dropped' || shadow.outcome === 'timeout' || (shadow.outcome === 'error' && shadow.status === null)) {
    return shadow.failure ? `${shadow.outcome} (${shadow.failure})` : shadow.outcome;
  }
  const output = summarize(shadow.output, shadow.status ?? 0, undefined);
  const c = shadow.comparison;
  if (!c) return output;
  if (c.result === 'match') return `${output} =`;
  if (c.result === 'incomparable') return `${output} ?`;
  return c.maxAbsDiff !== undefined && c.maxAbsDiff !== null ? `${output} != (diff ${formatNumber(c.maxAbsDiff)})` : `${output} != (${c.reason ?? c.kind})`;
}

/** A short view of an output: OIP tensors as name=values (from gRPC messages too), a gRPC error status, other JSON compact, text cut, else the status. */
function summarize(output: LoggedBody | undefined, status: number, failure: string | undefined): string {
  if (failure) return `${status} ${failure}`;
  if (!output) return `status ${status}`;
  const prefix = status === 200 ? '' : `${status} `;
  if (output.grpcStatus !== undefined && output.grpcStatus !== '0') return shorten(`${prefix}grpc-status ${output.grpcStatus}${output.grpcMessage ? `: ${output.grpcMessage}` : ''}`, CELL_CHARS);
  const json = output.json ?? encodedAnswer(output);
  if (json !== undefined) {
    if (isOipResponse(json)) return prefix + shorten(json.outputs.map((t) => `${t.name}=${formatValues(t.data.flat(Infinity))}`).join(' '), CELL_CHARS);
    const predictions = predictionsTensor(json);
    if (predictions) return prefix + shorten(`predictions=${formatValues(predictions.data.flat(Infinity))}`, CELL_CHARS);
    return prefix + shorten(JSON.stringify(json), CELL_CHARS);
  }
  if (output.text !== undefined) return prefix + shorten(output.text.replace(/\s+/g, ' '), CELL_CHARS);
  return `${prefix}<${output.bytes} bytes>`;
}

/** A compressed or binary tensor extension body, logged as text or base64, read back as the comparison read it. */
function encodedAnswer(output: LoggedBody): unknown {
  if (output.jsonBytes === undefined && output.contentEncoding === undefined) return undefined;
  const body = output.base64 !== undefined ? Buffer.from(output.base64, 'base64') : output.text !== undefined ? Buffer.from(output.text) : undefined;
  const { contentType, contentEncoding, jsonBytes } = output;
  const json = answerContent({ status: 0, body, truncated: false, contentType, contentEncoding, inferenceHeader: jsonBytes?.toString() });
  return json === NOT_JSON ? undefined : json;
}

function formatValues(values: unknown[]): string {
  const shown = values.slice(0, 4).map((v) => (typeof v === 'number' ? formatNumber(v) : JSON.stringify(v)));
  if (values.length === 1) return shown[0] ?? '';
  return `[${shown.join(',')}${values.length > 4 ? ',...' : ''}]`;
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e-4 && Math.abs(value) < 1e6 ? String(Number(value.toPrecision(6))) : value.toExponential(3);
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
