// The weight form of one route: edit weights, preview the plan (who moves), then apply it with
// PUT /admin/routes/{route}/weights (Bearer token when given). Applies nothing without a preview.
import { percent } from './format.js';

/**
 * What a weight change does under minimal-movement assignment: each variant's share before and after,
 * and the share of keys that move (the total share the losing variants give up). Pure.
 */
export function weightPlan(current, next) {
  const problems = [];
  for (const v of current) {
    const w = next[v.name];
    if (!Number.isFinite(w) || w < 0) problems.push(`${v.name}: weight must be a number >= 0`);
  }
  const before = current.reduce((sum, v) => sum + v.weight, 0);
  const after = current.reduce((sum, v) => sum + (Number.isFinite(next[v.name]) ? next[v.name] : 0), 0);
  if (after <= 0) problems.push('weights must sum to more than 0');
  if (problems.length > 0) return { problems, rows: [], movedShare: 0 };
  const rows = current.map((v) => ({ name: v.name, from: v.weight, to: next[v.name], fromShare: before > 0 ? v.weight / before : 0, toShare: next[v.name] / after }));
  const movedShare = rows.reduce((sum, r) => sum + Math.max(0, r.fromShare - r.toShare), 0);
  return { problems, rows, movedShare };
}

export function buildWeightForm(routeName, onApplied) {
  const form = document.createElement('form');
  form.className = 'weights';
  form.noValidate = true; // the plan lists every problem itself
  form.dataset.route = routeName;
  form.innerHTML = `<h3>Shift weights</h3><div class="inputs"></div>
    <label class="token">Admin token <input type="password" name="token" autocomplete="off" placeholder="only when adminToken is set"></label>
    <div class="actions"><button type="submit" name="preview">Preview plan</button> <button type="button" name="apply" disabled>Apply</button></div>
    <div class="plan" aria-live="polite"></div>`;
  const inputs = form.querySelector('.inputs');
  const plan = form.querySelector('.plan');
  const apply = form.querySelector('button[name=apply]');
  let variants = [];
  let previewed;

  const readWeights = () => Object.fromEntries([...inputs.querySelectorAll('input')].map((i) => [i.name, i.value.trim() === '' ? NaN : Number(i.value)]));
  const invalidate = () => {
    previewed = undefined;
    apply.disabled = true;
  };
  inputs.addEventListener('input', invalidate);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = readWeights();
    const result = weightPlan(variants, next);
    plan.replaceChildren(...renderPlan(result));
    previewed = result.problems.length === 0 ? next : undefined;
    apply.disabled = previewed === undefined;
  });

  apply.addEventListener('click', () => {
    if (!previewed) return;
    const body = previewed;
    apply.disabled = true;
    const headers = { 'content-type': 'application/json' };
    const token = form.querySelector('input[name=token]').value;
    if (token) headers.authorization = `Bearer ${token}`;
    fetch(`/admin/routes/${encodeURIComponent(routeName)}/weights`, { method: 'PUT', headers, body: JSON.stringify(body) })
      .then(async (res) => {
        const answer = await res.json().catch(() => ({}));
        if (!res.ok) throw new Error(res.status === 401 || res.status === 403 ? `${res.status}: the admin token is missing or wrong` : `${res.status}: ${answer.error ?? res.statusText}`);
        invalidate();
        message(plan, 'ok', `Applied: ${Object.entries(body).map(([n, w]) => `${n}=${w}`).join(', ')}`);
        for (const input of inputs.querySelectorAll('input')) input.dataset.dirty = '';
        onApplied();
      })
      .catch((error) => {
        apply.disabled = false;
        message(plan, 'error', `Not applied: ${error.message}`);
      });
  });

  /** Shows the live weights, leaving alone any field the user has edited. */
  function update(current) {
    const names = current.map((v) => v.name).join('\u0000');
    if (names !== variants.map((v) => v.name).join('\u0000')) {
      inputs.replaceChildren(
        ...current.map((v) => {
          const label = document.createElement('label');
          const input = document.createElement('input');
          Object.assign(input, { type: 'number', min: '0', step: 'any', name: v.name, value: String(v.weight), required: true });
          input.addEventListener('input', () => (input.dataset.dirty = '1'));
          label.append(v.name, ' ', input);
          return label;
        }),
      );
    } else {
      for (const v of current) {
        const input = inputs.querySelector(`input[name="${CSS.escape(v.name)}"]`);
        if (input && !input.dataset.dirty && document.activeElement !== input) input.value = String(v.weight);
      }
    }
    variants = current.map((v) => ({ name: v.name, weight: v.weight }));
  }

  return { element: form, update };
}

function renderPlan(result) {
  if (result.problems.length > 0) return result.problems.map((p) => line('error', p));
  const rows = result.rows.map((r) => line('row', `${r.name}: ${r.from} → ${r.to} (${percent(r.fromShare)} → ${percent(r.toShare)} of keys)`));
  const summary = result.movedShare > 0 ? `${percent(result.movedShare, 2)} of keys move to another variant; every other key stays where it is.` : 'No key moves.';
  return [line('title', 'Plan (dry run, nothing applied yet)'), ...rows, line('summary', summary)];
}

function line(kind, content) {
  const p = document.createElement('p');
  p.className = kind;
  p.textContent = content;
  return p;
}

function message(host, kind, content) {
  host.replaceChildren(line(kind, content));
}
