// End to end in real headless Chromium: the dashboard loads with no console errors, its charts draw both
// variants once traffic flows, and the weight form previews the plan before it changes anything.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { fraudSplitRoute } from '../helpers/routes.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM}: install the Debian package "chromium" (.ci/run does) to run the dashboard's browser test`;

let champion: TestUpstream;
let challenger: TestUpstream;
let proxy: TestProxy;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

before(async () => {
  if (skip) return;
  champion = await startUpstream();
  challenger = await startUpstream();
  proxy = await startProxy({
    routes: [fraudSplitRoute(champion.url, challenger.url)],
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_FLAGS, timeout: 30_000 });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => consoleErrors.push(`request failed: ${request.url()}`));
});

after(async () => {
  if (skip) return;
  await browser.close();
  await proxy.close();
  await champion.close();
  await challenger.close();
});

async function sendTraffic(count: number, offset: number): Promise<void> {
  for (let i = 0; i < count; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, async (_, j) => {
        const res = await fetch(`${proxy.url}/v2/models/fraud/infer`, { method: 'POST', headers: { 'x-session-id': `user-${offset + i + j}` }, body: '{}' });
        await res.arrayBuffer();
      }),
    );
  }
}

async function pointsDrawn(chart: string, series: string): Promise<number> {
  return Number(await page.locator(`section[data-route=fraud] [data-chart=${chart}] path[data-series="${series}"]`).getAttribute('data-points'));
}

test('the page loads, then draws both variants after traffic is sent, with no console errors', { skip, timeout: 60_000 }, async () => {
  await page.goto(`${proxy.adminUrl}/`);
  await page.locator('section[data-route=fraud] tbody tr').nth(1).waitFor({ timeout: 15_000 });
  assert.equal(await page.locator('section[data-route=fraud] h2 .name').textContent(), 'fraud');

  // Traffic in three bursts a little over a second apart, so the series hold several points.
  for (let burst = 0; burst < 3; burst++) {
    await sendTraffic(150, burst * 150);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
  }
  // A string, not a function: the test runner's transpiler would wrap a function in helpers the page lacks.
  const drawn = (chart: string, series: string) =>
    `Number(document.querySelector('section[data-route=fraud] [data-chart=${chart}] path[data-series="${series}"]')?.getAttribute('data-points') ?? 0)`;
  await page.waitForFunction(`${drawn('rps', 'champion')} >= 2 && ${drawn('rps', 'challenger')} >= 2 && ${drawn('latency', 'challenger p99')} >= 1 && ${drawn('split', 'challenger')} >= 2`, undefined, {
    timeout: 20_000,
  });
  for (const [chart, series] of [
    ['rps', 'champion'],
    ['rps', 'challenger'],
    ['latency', 'champion p50'],
    ['latency', 'challenger p99'],
    ['split', 'champion'],
    ['split', 'champion configured'],
    ['errors', 'challenger'],
  ] as const) {
    assert.ok((await pointsDrawn(chart, series)) >= 1, `${chart} chart draws ${series}`);
    const d = await page.locator(`section[data-route=fraud] [data-chart=${chart}] path[data-series="${series}"]`).getAttribute('d');
    assert.match(d ?? '', /^M[\d.]+,[\d.]+/, `${chart} ${series} has a path`);
  }
  const rows = await page.locator('section[data-route=fraud] tbody tr').allTextContents();
  assert.match(rows[0] ?? '', /^champion90/);
  assert.match(rows[1] ?? '', /^challenger10/);
  assert.match(rows[0] ?? '', /90\.0%/, 'configured share of the champion');

  const shot = join(process.env.ABPROXY_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'abproxy-dashboard-')), 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(existsSync(shot));
  assert.deepEqual(consoleErrors, []);
});

test('the weight form shows the dry-run plan and applies nothing before a preview', { skip, timeout: 30_000 }, async () => {
  const form = page.locator('section[data-route=fraud] form.weights');
  const apply = form.locator('button[name=apply]');
  assert.equal(await apply.isDisabled(), true, 'apply needs a preview first');
  await form.locator('input[name=champion]').fill('50');
  await form.locator('input[name=challenger]').fill('50');
  await form.locator('button[name=preview]').click();
  await form.locator('.plan .summary').waitFor({ timeout: 5_000 });
  const plan = await form.locator('.plan').textContent();
  assert.match(plan ?? '', /champion: 90 → 50 \(90\.0% → 50\.0% of keys\)/);
  assert.match(plan ?? '', /challenger: 10 → 50 \(10\.0% → 50\.0% of keys\)/);
  assert.match(plan ?? '', /40\.00% of keys move/);
  assert.equal(await apply.isDisabled(), false);

  await form.locator('input[name=challenger]').fill('-1');
  assert.equal(await apply.isDisabled(), true, 'editing after the preview needs a new preview');
  await form.locator('button[name=preview]').click();
  assert.match((await form.locator('.plan').textContent()) ?? '', /challenger: weight must be a number >= 0/);
  assert.equal(await apply.isDisabled(), true);

  const live = (await (await fetch(`${proxy.adminUrl}/admin/timeseries?route=fraud&limit=1`)).json()) as { routes: { variants: { weight: number }[] }[] };
  assert.deepEqual(live.routes[0]?.variants.map((v) => v.weight), [90, 10], 'previews change nothing');
  assert.deepEqual(consoleErrors, []);
});

test('the weight form applies the previewed weights through the admin API', { skip, timeout: 30_000 }, async () => {
  const form = page.locator('section[data-route=fraud] form.weights');
  await form.locator('input[name=champion]').fill('50');
  await form.locator('input[name=challenger]').fill('50');
  await form.locator('button[name=preview]').click();
  await form.locator('button[name=apply]').click();
  await form.locator('.plan .ok').waitFor({ timeout: 10_000 });
  const routes = (await (await fetch(`${proxy.adminUrl}/admin/routes`)).json()) as { routes: { name: string; variants: { name: string; weight: number }[] }[] };
  assert.deepEqual(routes.routes.find((r) => r.name === 'fraud')?.variants.map((v) => [v.name, v.weight]), [
    ['champion', 50],
    ['challenger', 50],
  ]);
  assert.deepEqual(consoleErrors, []);
});
