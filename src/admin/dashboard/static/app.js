// The dashboard's live loop: polls /admin/timeseries every second and /admin/report every few seconds,
// and renders one section per route (figures table, charts, weight form). Reads only the admin API.
import { drawLineChart } from './chart.js';
import { dash, interval, ms, number, percent, pValue, rate, signedPercent } from './format.js';
import { buildWeightForm } from './weights.js';

const COLORS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#dc2626', '#0891b2'];
const REFRESH_MS = 1000;
const REPORT_EVERY = 3;
const SPLIT_WINDOW_POINTS = 10;
const RATE_WINDOW_POINTS = 5;

const sections = new Map();
const reports = new Map();
let tick = 0;

async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error ?? `${res.status} ${res.statusText}`);
  return body;
}

async function refresh() {
  const data = await getJson('/admin/timeseries');
  if (tick++ % REPORT_EVERY === 0) await Promise.all(data.routes.map(loadReport));
  const host = document.getElementById('routes');
  for (const route of data.routes) {
    let section = sections.get(route.name);
    if (!section) {
      section = buildSection(route.name);
      sections.set(route.name, section);
      host.append(section.element);
    }
    renderSection(section, route, data.intervalMs, data.capacity);
  }
  for (const [name, section] of sections) {
    if (!data.routes.some((r) => r.name === name)) {
      section.element.remove();
      sections.delete(name);
    }
  }
  setStatus(`updated ${new Date().toLocaleTimeString()} · config generation ${data.generation} · one point every ${data.intervalMs / 1000} s`);
}

async function loadReport(route) {
  try {
    reports.set(route.name, { report: await getJson(`/admin/report?route=${encodeURIComponent(route.name)}`) });
  } catch (error) {
    reports.set(route.name, { error: error.message });
  }
}

function buildSection(name) {
  const element = document.createElement('section');
  element.className = 'route';
  element.dataset.route = name;
  element.innerHTML = `<h2><span class="name"></span> <span class="badge srm"></span></h2>
    <p class="verdict"></p>
    <table class="variants"><thead><tr>
      <th>variant</th><th>weight</th><th>configured</th><th>realized</th><th>req/s</th><th>errors</th>
      <th>p50</th><th>p99</th><th>feedback</th><th>reward (95% CI)</th><th>lift</th><th>p-value</th>
    </tr></thead><tbody></tbody></table>
    <p class="shadows"></p>
    <div class="charts">
      <figure data-chart="rps"><figcaption>Requests per second</figcaption><div class="plot"></div></figure>
      <figure data-chart="latency"><figcaption>Latency p50 (solid) and p99 (dashed)</figcaption><div class="plot"></div></figure>
      <figure data-chart="split"><figcaption>Realized split, ${SPLIT_WINDOW_POINTS} s window (dashed: configured)</figcaption><div class="plot"></div></figure>
      <figure data-chart="errors"><figcaption>Error rate (5xx)</figcaption><div class="plot"></div></figure>
      <figure data-chart="shadow" hidden><figcaption>Shadow agreement</figcaption><div class="plot"></div></figure>
    </div>`;
  element.querySelector('.name').textContent = name;
  const form = buildWeightForm(name, () => {
    refresh().catch(showError);
  });
  element.append(form.element);
  return { element, form };
}

function renderSection(section, route, intervalMs, capacity) {
  const { element } = section;
  const points = route.points;
  const { report, error } = reports.get(route.name) ?? {};
  const badge = element.querySelector('.srm');
  const verdict = element.querySelector('.verdict');
  if (report) {
    const srm = report.srm ?? {};
    badge.textContent = srm.mismatch ? `sample-ratio mismatch (p ${pValue(srm.pValue)})` : `split OK (SRM p ${pValue(srm.pValue)})`;
    badge.className = `badge srm ${srm.mismatch ? 'bad' : 'good'}`;
    verdict.textContent = report.verdict ?? '';
  } else {
    badge.textContent = 'report unavailable';
    badge.className = 'badge srm unknown';
    verdict.textContent = error ? `Report: ${error}` : '';
  }

  const rows = route.variants.map((v, i) => {
    const r = report?.variants?.find((x) => x.name === v.name) ?? {};
    const recent = points.slice(-RATE_WINDOW_POINTS).map((p) => p.variants.find((x) => x.name === v.name)).filter(Boolean);
    const rps = recent.length ? recent.reduce((s, x) => s + (x.rps ?? 0), 0) / recent.length : null;
    const last = points.at(-1)?.variants.find((x) => x.name === v.name);
    return [
      swatch(COLORS[i % COLORS.length], v.name),
      String(v.weight),
      percent(v.configuredShare),
      percent(r.share ?? windowShare(points, v.name, points.length)),
      rate(rps),
      percent(r.errorRate ?? last?.errorRate, 2),
      ms(r.p50Ms ?? last?.p50Ms),
      ms(r.p99Ms ?? last?.p99Ms),
      r.feedback === undefined ? dash : String(r.feedback),
      r.rewardMean === undefined || r.rewardMean === null ? dash : `${number(r.rewardMean)} ${interval(r.rewardCi95)}`,
      i === 0 ? 'control' : signedPercent(r.lift),
      i === 0 ? dash : pValue(r.pValue),
    ];
  });
  element.querySelector('tbody').replaceChildren(...rows.map(tableRow));

  const shadowLine = element.querySelector('.shadows');
  shadowLine.textContent = route.shadows.length
    ? `Shadow agreement (shown window): ${route.shadows.map((s) => `${s} ${percent(windowAgreement(points, s))}`).join(' · ')}`
    : '';

  const nowMs = points.at(-1)?.t ?? Date.now();
  const windowMs = Math.min(capacity * intervalMs, Math.max(60_000, nowMs - (points[0]?.t ?? nowMs)));
  const chart = (name, series, options) => drawLineChart(element.querySelector(`[data-chart=${name}] .plot`), { series, nowMs, windowMs, ...options });
  const perVariant = (pick, extra = {}) => route.variants.map((v, i) => ({ name: v.name, color: COLORS[i % COLORS.length], ...extra, points: points.map((p) => [p.t, pick(p.variants.find((x) => x.name === v.name), p, v.name)]) }));
  const value = (key) => (x) => (x ? x[key] : null);

  chart('rps', perVariant(value('rps')), { format: rate });
  chart('latency', [
    ...perVariant(value('p50Ms')).map((s) => ({ ...s, name: `${s.name} p50` })),
    ...perVariant(value('p99Ms')).map((s) => ({ ...s, name: `${s.name} p99`, dashed: true })),
  ], { format: ms });
  chart('split', [
    ...perVariant((_x, p, name) => windowShare(points.slice(0, points.indexOf(p) + 1), name, SPLIT_WINDOW_POINTS)),
    ...perVariant(value('configuredShare')).map((s) => ({ ...s, name: `${s.name} configured`, dashed: true })),
  ], { yMax: 1, format: (v) => percent(v, 0) });
  chart('errors', perVariant(value('errorRate')), { format: (v) => percent(v, 1) });
  const shadowFigure = element.querySelector('[data-chart=shadow]');
  shadowFigure.hidden = route.shadows.length === 0;
  if (route.shadows.length) {
    chart('shadow', route.shadows.map((s, i) => ({ name: s, color: COLORS[(i + route.variants.length) % COLORS.length], points: points.map((p) => [p.t, p.shadows.find((x) => x.name === s)?.agreement ?? null]) })), { yMax: 1, format: (v) => percent(v, 0) });
  }
  section.form.update(route.variants);
}

/** The variant's share of the route's requests over the last `count` points, or null without traffic. */
function windowShare(points, name, count) {
  let mine = 0;
  let all = 0;
  for (const p of points.slice(-count)) {
    for (const v of p.variants) {
      all += v.requests;
      if (v.name === name) mine += v.requests;
    }
  }
  return all > 0 ? mine / all : null;
}

function windowAgreement(points, shadow) {
  let agreed = 0;
  let compared = 0;
  for (const p of points) {
    const s = p.shadows.find((x) => x.name === shadow);
    if (s && s.agreement !== null) {
      agreed += s.agreement * s.compared;
      compared += s.compared;
    }
  }
  return compared > 0 ? agreed / compared : null;
}

function swatch(color, name) {
  const cell = document.createElement('span');
  const dot = document.createElement('span');
  dot.className = 'dot';
  dot.style.backgroundColor = color;
  cell.append(dot, name);
  return cell;
}

function tableRow(cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    td.append(cell);
    tr.append(td);
  }
  return tr;
}

function setStatus(text, kind = 'ok') {
  const status = document.getElementById('status');
  status.textContent = text;
  status.className = `status ${kind}`;
}

function showError(error) {
  setStatus(`cannot reach the admin API: ${error.message}`, 'error');
}

function loop() {
  refresh()
    .catch(showError)
    .finally(() => setTimeout(loop, REFRESH_MS));
}

loop();
