// Hand-drawn SVG line charts for the dashboard: time on x, one polyline per series, gaps where a value
// is null. Pure rendering into the element it is given; never fetches anything.
const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 560;
const HEIGHT = 190;
const PAD = { left: 52, right: 14, top: 10, bottom: 24 };

/**
 * Draws `series` ([{ name, color, dashed?, points: [[tMs, value|null], ...] }]) over the last `windowMs`
 * before `nowMs` into `host`, replacing what was there. `yMax` fixes the scale (e.g. 1 for shares);
 * `format(v)` labels the y axis.
 */
export function drawLineChart(host, { series, nowMs, windowMs, yMax, format }) {
  const svg = node('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img' });
  const values = series.flatMap((s) => s.points.map((p) => p[1]).filter((v) => v !== null));
  const top = yMax ?? niceCeiling(Math.max(0, ...values));
  const x = (t) => PAD.left + ((t - (nowMs - windowMs)) / windowMs) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => HEIGHT - PAD.bottom - (Math.min(v, top) / top) * (HEIGHT - PAD.top - PAD.bottom);

  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    svg.append(node('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(text(format(v), { x: PAD.left - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }));
  }
  for (let i = 0; i <= 4; i++) {
    const ago = Math.round((windowMs * (4 - i)) / 4 / 1000);
    svg.append(text(ago === 0 ? 'now' : `-${ago}s`, { x: x(nowMs - (windowMs * (4 - i)) / 4), y: HEIGHT - 6, class: 'tick', 'text-anchor': 'middle' }));
  }

  for (const s of series) {
    const visible = s.points.filter(([t]) => t >= nowMs - windowMs);
    let d = '';
    let pen = 'M';
    let count = 0;
    for (const [t, v] of visible) {
      if (v === null) {
        pen = 'M';
        continue;
      }
      d += `${pen}${x(t).toFixed(1)},${y(v).toFixed(1)} `;
      pen = 'L';
      count++;
    }
    const attrs = { d: d.trim(), class: 'line', stroke: s.color, 'data-series': s.name, 'data-points': count };
    if (s.dashed) attrs['stroke-dasharray'] = '5 4';
    svg.append(node('path', attrs));
    const last = visible.findLast(([, v]) => v !== null);
    if (last) svg.append(node('circle', { cx: x(last[0]), cy: y(last[1]), r: 2.5, fill: s.color }));
  }
  host.replaceChildren(svg, legend(series));
}

function legend(series) {
  const list = document.createElement('ul');
  list.className = 'legend';
  for (const s of series) {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = s.dashed ? 'swatch dashed' : 'swatch';
    swatch.style.borderColor = s.color;
    item.append(swatch, s.name);
    list.append(item);
  }
  return list;
}

/** 1, 2 or 5 times a power of ten, at or above v (and above 0). */
function niceCeiling(v) {
  if (!(v > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 5, 10]) if (step * power >= v) return step * power;
  return 10 * power;
}

function node(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

function text(content, attrs) {
  const el = node('text', attrs);
  el.textContent = content;
  return el;
}
