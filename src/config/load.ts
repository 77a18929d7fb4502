// Config loading: read -> parse (YAML or JSON) -> expand ${VAR} -> validate (typing whole expansions the
// schema wants as numbers or booleans, then once more) -> deep-freeze.
// Throws ConfigError listing every problem with its path; never returns a partially valid config.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { configSchema, type Config } from './schema.js';
import { interpolate } from './interpolate.js';
import { WholeExpansions } from './typed-expansion.js';

export class ConfigError extends Error {
  readonly code = 'ABPROXY_CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
  }
}

export interface LoadedConfig {
  path: string;
  text: string;
  config: Config;
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read file: ${(error as Error).message}`]);
  }
  return { path, text, config: parseConfigText(text, path, env) };
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let raw: unknown;
  try {
    const yamlOptions = { strict: true, uniqueKeys: true };
    if (file.endsWith('.json')) {
      raw = JSON.parse(text);
      parseYaml(text, yamlOptions); // JSON is YAML: this finds the duplicate keys JSON.parse lets through
    } else raw = parseYaml(text, yamlOptions);
  } catch (error) {
    // yaml's first line ends "at line L, column C:" before a code frame
    throw new ConfigError(file, [`cannot parse: ${(error as Error).message.split('\n')[0]?.replace(/:$/, '')}`]);
  }
  const whole = new WholeExpansions();
  const tree = interpolate(raw ?? {}, env, whole.record);
  let result = configSchema.safeParse(tree, { error: missingIsRequired });
  if (!result.success && whole.retype(tree, result.error)) result = configSchema.safeParse(tree, { error: missingIsRequired });
  if (!result.success) throw new ConfigError(file, formatIssues(result.error, whole));
  return deepFreeze(result.data);
}

/** A missing field reads "required (number)" rather than zod's "expected number, received undefined". */
function missingIsRequired(issue: { code?: string; input?: unknown; expected?: string }): string | undefined {
  return issue.code === 'invalid_type' && issue.input === undefined ? `required (${issue.expected ?? 'a value'})` : undefined;
}

/** `whole`: says what a value that was one ${VAR} alone expanded to, after a type error on it. */
export function formatIssues(error: ZodError, whole?: WholeExpansions): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.reduce<string>(
      (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)),
      '',
    );
    const message = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    const expanded = issue.code === 'invalid_type' ? whole?.expandedAt(issue.path) : undefined;
    return `${path || '(root)'}: ${message}${expanded === undefined ? '' : ` (its \${...} expanded to ${JSON.stringify(expanded)})`}`;
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
