// Rewrites a route's weights in the config text and appends the old weights to its weightHistory, so
// every replica replays the same minimal slot transition. YAML edits splice only the changed bytes
// (comments, quoting and alignment survive); JSON is re-serialised. Never changes any other value: a
// weight shared with another place through a YAML anchor and alias is refused, not written.
import { closeSync, fsyncSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isAlias, isCollection, isMap, isScalar, isSeq, parse, parseDocument, visit, type Document, type Node, type YAMLMap } from 'yaml';
import type { WeightStep } from './schema.js';

export interface WeightEdit {
  /** Index of the route in `routes`. */
  routeIndex: number;
  /** New weight of each variant, in variant order; undefined leaves a weight as written (an unchanged one, perhaps a ${VAR}). */
  weights: readonly (number | undefined)[];
  /** The live weights, recorded as the newest weightHistory step. */
  previous: WeightStep;
}

export function editWeights(text: string, file: string, edit: WeightEdit): string {
  return file.endsWith('.json') ? editJson(text, edit) : editYaml(text, edit);
}

function editJson(text: string, edit: WeightEdit): string {
  const root = JSON.parse(text) as { routes: { variants: { weight: number }[]; weightHistory?: WeightStep[] }[] };
  const route = root.routes[edit.routeIndex];
  if (!route) throw new Error(`routes[${edit.routeIndex}] is missing`);
  route.variants.forEach((variant, i) => (variant.weight = edit.weights[i] ?? variant.weight));
  route.weightHistory = [...(route.weightHistory ?? []), edit.previous];
  const indent = /^[ \t]+(?=")/m.exec(text)?.[0] ?? '  ';
  return JSON.stringify(root, null, indent) + (text.endsWith('\n') ? '\n' : '');
}

/** A weight or history the edit would write is shared through a YAML anchor and alias, so writing it would change another place too. */
export class SharedYamlError extends Error {}

function editYaml(text: string, edit: WeightEdit): string {
  const expected = parseDocument(text);
  refuseShared(expected, edit);
  applyWithDocumentApi(expected, edit);
  const spliced = spliceYaml(text, parseDocument(text), edit);
  if (spliced !== undefined && sameData(spliced, expected)) return spliced;
  // Unusual layouts (flow-style routes, tags): let the yaml printer re-render; comments still survive.
  return expected.toString();
}

function routeMap(doc: Document, index: number): YAMLMap {
  const route = doc.getIn(['routes', index], true);
  if (!isMap(route)) throw new Error(`routes[${index}] is not a mapping`);
  return route;
}

function applyWithDocumentApi(doc: Document, edit: WeightEdit): void {
  const route = routeMap(doc, edit.routeIndex);
  edit.weights.forEach((weight, v) => {
    if (weight !== undefined) doc.setIn(['routes', edit.routeIndex, 'variants', v, 'weight'], weight);
  });
  const step = doc.createNode(edit.previous);
  step.flow = true;
  const history = route.get('weightHistory', true);
  if (isSeq(history)) history.add(step);
  else route.set('weightHistory', doc.createNode([step]));
}

/**
 * Throws SharedYamlError when a node the edit writes through (the route, its variants, a changed
 * variant and its weight, the weightHistory) is an alias, or carries an anchor some alias repeats.
 */
function refuseShared(doc: Document, edit: WeightEdit): void {
  const aliased = new Set<string>();
  visit(doc, { Alias: (_key, alias) => void aliased.add(alias.source) });
  const at = ['routes', edit.routeIndex];
  const paths = [[...at], [...at, 'variants'], [...at, 'weightHistory']];
  edit.weights.forEach((weight, v) => {
    if (weight !== undefined) paths.push([...at, 'variants', v], [...at, 'variants', v, 'weight']);
  });
  for (const path of paths) {
    let node: unknown = doc.contents;
    for (let depth = 0; depth <= path.length; depth++) {
      if (isAlias(node)) throw new SharedYamlError(`${pathText(path.slice(0, depth))} is the alias *${node.source}`);
      if (depth === path.length || !isCollection(node)) break;
      node = node.get(path[depth], true);
    }
    const anchor = (node as Node | undefined)?.anchor;
    if (anchor !== undefined && aliased.has(anchor)) throw new SharedYamlError(`${pathText(path)} has the anchor &${anchor}, which an alias repeats`);
  }
}

function pathText(path: readonly (string | number)[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

interface Splice {
  at: number;
  end: number;
  text: string;
}

function spliceYaml(text: string, doc: Document, edit: WeightEdit): string | undefined {
  if (doc.errors.length > 0) return undefined;
  const route = routeMap(doc, edit.routeIndex);
  const splices: Splice[] = [];
  for (const [v, weight] of edit.weights.entries()) {
    if (weight === undefined) continue;
    const node = doc.getIn(['routes', edit.routeIndex, 'variants', v, 'weight'], true);
    if (!isScalar(node) || !node.range) return undefined;
    splices.push({ at: node.range[0], end: node.range[1], text: String(weight) });
  }
  const step = flowStep(edit.previous);
  const history = route.get('weightHistory', true);
  if (isSeq(history) && history.range) {
    if (history.flow) {
      const close = history.range[1] - 1;
      if (text[close] !== ']') return undefined;
      splices.push({ at: close, end: close, text: `${history.items.length > 0 ? ', ' : ''}${step}` });
    } else {
      const last = history.items.at(-1) as Node | undefined;
      if (!last?.range) return undefined;
      const at = endOfLine(text, last.range[1]);
      splices.push({ at, end: at, text: `\n${' '.repeat(column(text, history.range[0]))}- ${step}` });
    }
  } else if (history === undefined && !route.flow && route.range) {
    const lastPair = route.items.at(-1);
    const lastNode = (lastPair?.value ?? lastPair?.key) as Node | undefined;
    if (!lastNode?.range) return undefined;
    const at = endOfLine(text, lastNode.range[1]);
    const indent = ' '.repeat(column(text, route.range[0]));
    splices.push({ at, end: at, text: `\n${indent}weightHistory:\n${indent}  - ${step}` });
  } else return undefined;
  let out = text;
  for (const splice of splices.sort((a, b) => b.at - a.at)) out = out.slice(0, splice.at) + splice.text + out.slice(splice.end);
  return out;
}

/** `{ champion: 90, challenger: 10 }`, quoting any name YAML would not read back as that string. */
function flowStep(step: WeightStep): string {
  const key = (name: string) => (/^[A-Za-z0-9_.-]+$/.test(name) && parse(name) === name ? name : JSON.stringify(name));
  return `{ ${Object.entries(step).map(([name, weight]) => `${key(name)}: ${weight}`).join(', ')} }`;
}

/** End of the line holding the last non-blank character before `position`. */
function endOfLine(text: string, position: number): number {
  let at = position;
  while (at > 0 && /\s/.test(text[at - 1] ?? '')) at--;
  const newline = text.indexOf('\n', at);
  return newline === -1 ? text.length : newline;
}

function column(text: string, position: number): number {
  return position - (text.lastIndexOf('\n', position - 1) + 1);
}

function sameData(text: string, expected: Document): boolean {
  try {
    return JSON.stringify(parse(text)) === JSON.stringify(expected.toJS());
  } catch {
    return false;
  }
}

/**
 * Writes `text` to a temp file beside the file's real path, fsyncs it and renames it over the real
 * path, so readers see the old or the new file, never a mix. A symlinked config stays a symlink.
 */
export function writeFileAtomic(path: string, text: string): void {
  const real = realpathSync(path);
  const temp = join(dirname(real), `.${basename(real)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', statSync(real).mode & 0o777);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, real);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
}
