// The JSON fields a shadow's comparison leaves out (a shadow's `ignore`): dotted paths from the answer's
// root, where `*` stands for any key or array index (`id`, `usage`, `choices.*.message.refusal`). Fields
// that differ on every call (ids, timestamps, token counts) would otherwise make every answer a mismatch.
// Compiled once per comparison into a tree walked beside the answers. Pure.

/** The ignored paths as a tree of segments; `ignored` marks a node whose whole subtree is left out. */
export interface IgnoredFields {
  ignored: boolean;
  children: Map<string, IgnoredFields>;
}

const ANY = '*';

export function compileIgnoredFields(paths: readonly string[]): IgnoredFields | undefined {
  if (paths.length === 0) return undefined;
  const root: IgnoredFields = { ignored: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const segment of path.split('.')) {
      let child = node.children.get(segment);
      if (!child) {
        child = { ignored: false, children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    node.ignored = true;
  }
  return root;
}

/** The nodes that match one step further down (`key`: an object key, or an array index as text); undefined when the step is ignored. */
export function stepInto(nodes: readonly IgnoredFields[], key: string): IgnoredFields[] | undefined {
  const next: IgnoredFields[] = [];
  for (const node of nodes) {
    for (const child of [node.children.get(key), node.children.get(ANY)]) {
      if (!child) continue;
      if (child.ignored) return undefined;
      next.push(child);
    }
  }
  return next;
}
