// Parses variant and shadow targets: "http://host:port[/base]" (the request path is appended to /base)
// or "model:NAME" (a model served in-process). Pure.

export type Target =
  | { kind: 'http'; origin: string; basePath: string }
  | { kind: 'model'; model: string };

export function parseTarget(value: string): { target?: Target; problem?: string } {
  if (value.startsWith('model:')) {
    const model = value.slice('model:'.length);
    return model ? { target: { kind: 'model', model } } : { problem: 'model target needs a name: "model:NAME"' };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: `"${value}" is neither http://host:port[/base] nor model:NAME` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `unsupported scheme "${url.protocol}" (use http or https)` };
  if (url.search || url.hash || url.username || url.password) return { problem: 'target must not carry a query, fragment or credentials' };
  const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return { target: { kind: 'http', origin: url.origin, basePath } };
}

export function describeTarget(target: Target): string {
  return target.kind === 'model' ? `model:${target.model}` : `${target.origin}${target.basePath}`;
}
