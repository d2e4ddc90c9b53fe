import { readFileSync } from 'node:fs';
import { ConfigError, formatValue } from './check';
import { parseJsonText } from './json-text';
import type { AppConfig } from './types';
import { resolveConfig } from './validate';

/** The config file used when none is given (`-c config=...`). */
export const DEFAULT_CONFIG_PATH = 'config/millions.json';

/**
 * Parses the text of a config file. Throws a `ConfigError` naming `source` when the text is not JSON, or
 * when an object repeats a key: `JSON.parse` would keep the last value and silently drop the first, so a
 * setting the user wrote would vanish. A leading UTF-8 byte-order mark (some Windows editors write one) is ignored.
 */
export function parseConfigText(withMark: string, source: string): unknown {
  const text = withMark.startsWith('\ufeff') ? withMark.slice(1) : withMark;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError([{ path: '(file)', message: `is not valid JSON: ${(e as Error).message}`, got: source }], source);
  }
  const { duplicates } = parseJsonText(text);
  if (duplicates.length > 0) {
    throw new ConfigError(duplicates.map((d) => ({
      path: d.path,
      message: `duplicate key (lines ${d.firstLine} and ${d.line}): JSON keeps only the last value, so ${formatValue(d.firstValue)} would be silently dropped; keep one`,
      got: d.value,
    })), source);
  }
  return raw;
}

/**
 * Reads, parses and validates a config file. Throws a `ConfigError` (unreadable file, malformed JSON, a
 * repeated key, or any invalid field) whose message names the file and lists every problem.
 *
 * @param parse - how the text is parsed (the CLI's adds the line and column of a syntax error)
 */
export function loadConfigFile(path: string, parse: (text: string, source: string) => unknown = parseConfigText): AppConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: '(file)', message: `cannot read config file: ${(e as Error).message}`, got: path }], path);
  }
  return resolveConfig(parse(text, path), path);
}
