// The scrape output passes `promtool check metrics` (Debian package prometheus), before and after
// traffic and feedback. Skips with a message when promtool is not installed (.ci/run installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fraudSplitRoute } from '../helpers/routes.js';
import { startProxy } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { hasTool, runTool } from '../helpers/tool.js';

const skip = hasTool('promtool') ? false : 'promtool not found: apt-get install prometheus (the CI script installs it)';

test('curl ADMIN/metrics | promtool check metrics reports no problems', { skip }, async () => {
  const upstream = await startUpstream();
  const proxy = await startProxy({
    routes: [fraudSplitRoute(upstream.url, upstream.url)],
  });
  try {
    const check = async (when: string) => {
      const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
      const result = await runTool('promtool', ['check', 'metrics'], text);
      assert.equal(result.code, 0, `${when}: promtool said:\n${result.stdout}${result.stderr}`);
      assert.equal((result.stdout + result.stderr).trim(), '', `${when}: promtool reported problems`);
    };
    await check('before traffic');
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${proxy.url}/v2/models/fraud/infer`, { method: 'POST', headers: { 'x-session-id': `s${i}` }, body: '{}' });
      await res.arrayBuffer();
    }
    await (await fetch(`${proxy.url}/nowhere`)).arrayBuffer();
    const feedback = await fetch(`${proxy.adminUrl}/feedback`, { method: 'POST', body: JSON.stringify({ route: 'fraud', variant: 'champion', reward: 0.7 }) });
    assert.equal(feedback.status, 200);
    await check('after traffic and feedback');
  } finally {
    await proxy.close();
    await upstream.close();
  }
});
