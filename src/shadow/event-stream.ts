// Reads a server-sent events answer (text/event-stream, WHATWG HTML §9.2) as JSON for comparison, so two
// streams compare by what they said rather than by how each server cut it into events. Streamed
// OpenAI-style completions (every event a chunk with `choices`, then `data: [DONE]`) fold into one
// completion: per choice, the text or message content (and tool-call arguments) joined in order, the
// role and the last finish_reason. Other streams of JSON events become the array of their data.
// Undefined when an event's data is not JSON. Pure.

/** The data of each event, in order (an event's data lines joined by "\n"); comments and other fields are skipped. */
export function eventData(text: string): string[] {
  const events: string[] = [];
  let data: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data.length > 0) events.push(data.join('\n'));
      data = [];
    } else if (line.startsWith('data:')) {
      data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    } else if (line === 'data') data.push('');
  }
  if (data.length > 0) events.push(data.join('\n')); // a stream cut off before its last blank line
  return events;
}

export function isEventStream(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.trimStart().toLowerCase().startsWith('text/event-stream');
}

/** The answer as compared: a folded completion, the array of event data, or undefined when an event is not JSON. */
export function eventStreamJson(body: Buffer): unknown {
  const values: unknown[] = [];
  for (const data of eventData(body.toString('utf8'))) {
    if (data.trim() === '[DONE]') continue;
    try {
      values.push(JSON.parse(data));
    } catch {
      return undefined;
    }
  }
  return values.length > 0 && values.every(isCompletionChunk) ? foldCompletion(values) : values;
}

interface ChoiceDelta {
  index?: number;
  text?: string;
  finish_reason?: string | null;
  delta?: { role?: string; content?: string | null; tool_calls?: { index?: number; function?: { name?: string; arguments?: string } }[] };
}

interface CompletionChunk {
  choices: ChoiceDelta[];
}

function isCompletionChunk(value: unknown): value is CompletionChunk {
  return value !== null && typeof value === 'object' && Array.isArray((value as { choices?: unknown }).choices);
}

interface FoldedChoice {
  index: number;
  text?: string;
  message?: { role?: string; content: string; tool_calls?: { name: string; arguments: string }[] };
  finish_reason: string | null;
}

function foldCompletion(chunks: CompletionChunk[]): { choices: FoldedChoice[] } {
  const choices = new Map<number, FoldedChoice>();
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      const index = typeof choice.index === 'number' ? choice.index : 0;
      let folded = choices.get(index);
      if (!folded) {
        folded = { index, finish_reason: null };
        choices.set(index, folded);
      }
      if (typeof choice.text === 'string') folded.text = (folded.text ?? '') + choice.text;
      const { delta } = choice;
      if (delta && typeof delta === 'object') {
        folded.message ??= { content: '' };
        if (typeof delta.role === 'string') folded.message.role = delta.role;
        if (typeof delta.content === 'string') folded.message.content += delta.content;
        for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
          const calls: { name: string; arguments: string }[] = (folded.message.tool_calls ??= []);
          const at = typeof call.index === 'number' ? call.index : calls.length;
          const target = (calls[at] ??= { name: '', arguments: '' });
          target.name += call.function?.name ?? '';
          target.arguments += call.function?.arguments ?? '';
        }
      }
      if (typeof choice.finish_reason === 'string') folded.finish_reason = choice.finish_reason;
    }
  }
  return { choices: [...choices.values()].sort((a, b) => a.index - b.index) };
}
