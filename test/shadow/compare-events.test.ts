// Server-sent event answers in shadow comparisons: events parse as the HTML standard says; streamed
// OpenAI-style completions from two servers that cut the same text into different chunks (and give
// their own ids and clocks) compare as equal, different text as a mismatch at its path; tool-call
// arguments and legacy completions fold too; other JSON events compare as an array, non-JSON ones by
// bytes; and through the proxy a streaming primary and shadow are logged as compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Answer } from '../../src/shadow/answer.js';
import { compareAnswers } from '../../src/shadow/compare.js';
import { eventData } from '../../src/shadow/event-stream.js';
import { compileIgnoredFields } from '../../src/shadow/ignored-fields.js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { waitFor } from '../helpers/load.js';
import { startProxy } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';

const stream = (text: string): Answer => ({ status: 200, body: Buffer.from(text), truncated: false, contentType: 'text/event-stream; charset=utf-8' });

/** A streamed chat completion in the OpenAI API's chunk format, the content cut into `pieces`, from a server with its own id and clock. */
function chatStream(id: string, pieces: string[], finish = 'stop'): string {
  const chunk = (delta: object, finishReason: string | null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: id.length, model: 'llama', choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
  return chunk({ role: 'assistant', content: '' }, null) + pieces.map((p) => chunk({ content: p }, null)).join('') + chunk({}, finish) + 'data: [DONE]\n\n';
}

test('events: data lines joined, any line ending, comments and other fields skipped, a last unterminated event kept', () => {
  const text = ': keep-alive\r\nevent: message\r\ndata: {"a":\r\ndata:1}\r\nid: 7\r\n\r\ndata\n\nretry: 10\rdata: two\r\rdata: last';
  assert.deepEqual(eventData(text), ['{"a":\n1}', '', 'two', 'last']);
});

test('streamed completions compare by their folded text, not by chunking, ids or clocks', () => {
  const vllm = stream(chatStream('chatcmpl-a', ['The', ' answer', ' is', ' 42.']));
  const tgi = stream(chatStream('chatcmpl-bbbb', ['The answer', ' is 42.']));
  const same = compareAnswers(vllm, tgi, 1e-6);
  assert.deepEqual([same.kind, same.result], ['json', 'match'], same.reason);
  const other = compareAnswers(vllm, stream(chatStream('x', ['The answer is 41.'])), 1e-6);
  assert.equal(other.result, 'mismatch');
  assert.equal(other.reason, '.choices[0].message.content: "The answer is 42." vs "The answer is 41."');
  const cut = compareAnswers(vllm, stream(chatStream('x', ['The answer is 42.'], 'length')), 1e-6);
  assert.equal(cut.reason, '.choices[0].finish_reason: "stop" vs "length"');
});

test('tool-call arguments and legacy completion text fold as well', () => {
  const toolCall = (parts: string[]) =>
    stream(
      parts
        .map((args, i) => `data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,${i === 0 ? '"id":"call_1","function":{"name":"score",' : '"function":{'}"arguments":${JSON.stringify(args)}}}]},"finish_reason":null}]}\n\n`)
        .join('') + 'data: [DONE]\n\n',
    );
  assert.equal(compareAnswers(toolCall(['{"tx":', ' 7}']), toolCall(['{"tx": 7}']), 0).result, 'match');
  assert.match(compareAnswers(toolCall(['{"tx": 7}']), toolCall(['{"tx": 8}']), 0).reason ?? '', /tool_calls\[0\]\.arguments/);
  const legacy = (pieces: string[]) => stream(pieces.map((text) => `data: {"id":"c","choices":[{"index":0,"text":${JSON.stringify(text)},"finish_reason":null}]}\n\n`).join(''));
  assert.equal(compareAnswers(legacy(['Hel', 'lo']), legacy(['Hello']), 0).result, 'match');
});

test('other JSON events compare as an array (ignore applies), non-JSON events by bytes', () => {
  const progress = (id: string, value: number) => stream(`data: {"id":"${id}","progress":0.5}\n\ndata: {"id":"${id}","score":${value}}\n\n`);
  const plain = compareAnswers(progress('a', 0.9), progress('b', 0.7), 1e-6, compileIgnoredFields(['*.id']));
  assert.deepEqual([plain.kind, plain.result, plain.reason], ['json', 'mismatch', '[1].score: 0.9 vs 0.7']);
  assert.equal(compareAnswers(progress('a', 0.9), progress('b', 0.9), 1e-6, compileIgnoredFields(['*.id'])).result, 'match');
  const text = compareAnswers(stream('data: hello\n\n'), stream('data: hallo\n\n'), 0);
  assert.deepEqual([text.kind, text.result], ['bytes', 'mismatch']);
});

test('through the proxy: a streaming primary and a streaming shadow are compared by what they said', async (t) => {
  const sse = (id: string, pieces: string[]) => (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const text = chatStream(id, pieces);
    const events = text.split('\n\n').filter(Boolean);
    let i = 0;
    const next = () => (i < events.length ? res.write(`${events[i++]}\n\n`, () => setTimeout(next, 2)) : res.end());
    next();
  };
  const champion = await startUpstream(sse('chatcmpl-1', ['Fraud', ' is', ' unlikely.']));
  const shadow = await startUpstream(sse('chatcmpl-22', ['Fraud is', ' unlikely.']));
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-sse-shadow-'));
  const proxy = await startProxy({
    shadowLog: { path: join(dir, 'shadow.jsonl'), maxBytes: 1_048_576 },
    routes: [{ name: 'chat', match: { pathPrefix: '/v1' }, variants: [{ name: 'champion', target: champion.url, weight: 1 }], shadows: [{ name: 'candidate', target: shadow.url }] }],
  });
  t.after(async () => {
    await proxy.close();
    await Promise.all([champion.close(), shadow.close()]);
  });
  const res = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"stream":true,"messages":[]}' });
  assert.match(await res.text(), /data: \[DONE\]/);
  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 1, 5_000));
  const record = JSON.parse(readFileSync(join(dir, 'shadow.jsonl'), 'utf8')) as ShadowLogRecord;
  const comparison = record.shadows[0]?.comparison;
  assert.deepEqual([comparison?.kind, comparison?.result], ['json', 'match'], comparison?.reason);
});
