import { readFileSync } from 'node:fs';
import { ConfigError } from './check';
import type { AppConfig } from './types';
import { resolveConfig } from './validate';

/** The config file used when none is given (`-c config=...`). */
export const DEFAULT_CONFIG_PATH = 'config/millions.json';

/**
 * Reads, parses and validates a config file. Throws a `ConfigError` (unreadable file, malformed JSON,
 * or any invalid field) whose message names the file and lists every problem.
 */
export function loadConfigFile(path: string): AppConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: '(file)', message: `cannot read config file: ${(e as Error).message}`, got: path }], path);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError([{ path: '(file)', message: `is not valid JSON: ${(e as Error).message}`, got: path }], path);
  }
  return resolveConfig(raw, path);
}
