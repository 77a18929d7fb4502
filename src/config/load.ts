// Config loading: read -> parse (YAML or JSON) -> expand ${VAR} -> validate -> deep-freeze.
// Throws ConfigError listing every problem with its path; never returns a partially valid config.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { configSchema, type Config } from './schema.js';
import { interpolate } from './interpolate.js';

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
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { strict: true, uniqueKeys: true });
  } catch (error) {
    throw new ConfigError(file, [`cannot parse: ${(error as Error).message.split('\n')[0]}`]);
  }
  const result = configSchema.safeParse(interpolate(raw ?? {}, env));
  if (!result.success) throw new ConfigError(file, formatIssues(result.error));
  return deepFreeze(result.data);
}

export function formatIssues(error: ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.reduce<string>(
      (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)),
      '',
    );
    const message = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    return `${path || '(root)'}: ${message}`;
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
