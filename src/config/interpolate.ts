// Expands ${VAR} and ${VAR:-default} in every string of a parsed config tree (values only, never keys),
// so a variable's content can never change the document's structure. Unset variables expand to "".
// Values that were one expression alone are reported to `whole` (by path), for typed-expansion.ts.

const pattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const single = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

export type ConfigPath = readonly (string | number)[];

export function interpolate(value: unknown, env: NodeJS.ProcessEnv, whole?: (path: ConfigPath, expanded: string) => void, path: ConfigPath = []): unknown {
  if (typeof value === 'string') {
    const expanded = value.replace(pattern, (_all, name: string, fallback: string | undefined) => {
      const found = env[name];
      return found !== undefined && found !== '' ? found : (fallback ?? '');
    });
    if (whole && single.test(value)) whole(path, expanded);
    return expanded;
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, whole, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env, whole, [...path, key])]));
  }
  return value;
}
