// deploy/: the Prometheus recording rules load and compute the report's figures (`promtool check rules`,
// `promtool test rules` with hand-worked values), and the Grafana dashboard only queries series that exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { registry } from '../../src/metrics/registry.js';
import { hasTool, runTool } from '../helpers/tool.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const rulesPath = `${root}deploy/prometheus/abproxy-rules.yml`;
const skip = hasTool('promtool') ? false : 'promtool not found: apt-get install prometheus (the CI script installs it)';

interface Rules {
  groups: { name: string; rules: { record: string; expr: string }[] }[];
}

test('promtool check rules and promtool test rules pass', { skip }, async () => {
  const check = await runTool('promtool', ['check', 'rules', rulesPath]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const unit = await runTool('promtool', ['test', 'rules', `${root}deploy/prometheus/abproxy-rules.test.yml`]);
  assert.equal(unit.code, 0, unit.stdout + unit.stderr);
  assert.match(unit.stdout, /SUCCESS/);
});

function knownSeries(): Set<string> {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  const rules = parse(readFileSync(rulesPath, 'utf8')) as Rules;
  for (const group of rules.groups) for (const rule of group.rules) names.add(rule.record);
  return names;
}

/** Metric names in a PromQL expression: identifiers followed by `{` or standing alone, minus functions and keywords. */
function seriesIn(expr: string): string[] {
  return [...expr.matchAll(/\b([a-z_:][a-z0-9_:]*(?:abproxy|nodejs|process)[a-z0-9_:]*)\b/g)].map((m) => m[1] ?? '');
}

test('every recording rule and dashboard query names only series abproxy exports or the rules record', () => {
  const known = knownSeries();
  const rules = parse(readFileSync(rulesPath, 'utf8')) as Rules;
  for (const group of rules.groups) {
    for (const rule of group.rules) for (const name of seriesIn(rule.expr)) assert.ok(known.has(name), `rule ${rule.record} uses unknown series ${name}`);
  }
  const dashboard = JSON.parse(readFileSync(`${root}deploy/grafana/abproxy.json`, 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { name: string }[] };
  };
  assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource', 'route']);
  for (const panel of dashboard.panels) {
    assert.ok(panel.targets.length > 0, `${panel.title} has queries`);
    for (const target of panel.targets) for (const name of seriesIn(target.expr)) assert.ok(known.has(name), `panel "${panel.title}" uses unknown series ${name}`);
  }
  const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(' | ');
  for (const topic of ['traffic split', 'latency', 'error', 'shadow agreement', 'reward', 'sample-ratio']) assert.ok(titles.includes(topic), `a panel on ${topic}`);
});
