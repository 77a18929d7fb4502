// Typed expansion: a value that is one ${VAR} alone, where the schema asks for a number or a boolean, is
// read as YAML reads that scalar (`weight: ${CHALLENGER_WEIGHT:-10}` is the number 10). Driven by the
// schema's own type errors, so a value the schema wants as a string (a token of digits) stays a string.
import type { ZodError } from 'zod';
import type { ConfigPath } from './interpolate.js';

const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const BOOLEAN = /^(?:true|false)$/i;

/** The values of whole expansions, by path, that the first validation may ask to have typed. */
export class WholeExpansions {
  readonly #expanded = new Map<string, string>();

  readonly record = (path: ConfigPath, expanded: string): void => {
    this.#expanded.set(JSON.stringify(path), expanded);
  };

  expandedAt(path: readonly PropertyKey[]): string | undefined {
    return this.#expanded.get(JSON.stringify(path));
  }

  /** Types, in `tree`, each whole expansion that `error` says should be a number or a boolean; whether any was. */
  retype(tree: unknown, error: ZodError): boolean {
    let changed = false;
    for (const issue of error.issues) {
      if (issue.code !== 'invalid_type' || (issue.expected !== 'number' && issue.expected !== 'boolean')) continue;
      const text = this.expandedAt(issue.path)?.trim();
      if (text === undefined) continue;
      const typed = issue.expected === 'number' ? (NUMBER.test(text) ? Number(text) : undefined) : BOOLEAN.test(text) ? text.toLowerCase() === 'true' : undefined;
      if (typed !== undefined && setAt(tree, issue.path, typed)) changed = true;
    }
    return changed;
  }
}

function setAt(tree: unknown, path: readonly PropertyKey[], value: unknown): boolean {
  let node = tree as Record<PropertyKey, unknown> | undefined;
  for (const key of path.slice(0, -1)) node = node?.[key] as Record<PropertyKey, unknown> | undefined;
  const last = path[path.length - 1];
  if (node === null || typeof node !== 'object' || last === undefined) return false;
  node[last] = value;
  return true;
}
