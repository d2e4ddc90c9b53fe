/**
 * How the CLI reads a config file: a UTF-8 byte-order mark (which some Windows editors write) is accepted, and a JSON
 * syntax error is reported with its line and column (`JSON.parse` gives an offset at best, and for some errors
 * repeats the whole file instead).
 */
import { ConfigError, loadConfigFile, parseConfigText, type AppConfig } from '../config';

/** The UTF-8 byte-order mark, as the first character of a file read as UTF-8. */
export const BYTE_ORDER_MARK = '\ufeff';

/** `text` without a leading byte-order mark. */
export function withoutByteOrderMark(text: string): string {
  return text.startsWith(BYTE_ORDER_MARK) ? text.slice(1) : text;
}

/**
 * Parses a config file's text like `parseConfigText` (a repeated key is refused), after a leading byte-order mark.
 * Throws a `ConfigError` naming `source`, and the line and column of a syntax error.
 */
export function parseConfigJson(text: string, source: string): unknown {
  const body = withoutByteOrderMark(text);
  const error = jsonSyntaxError(body);
  if (error) throw new ConfigError([{ path: '(file)', message: `is not valid JSON: ${error}`, got: source }], source);
  return parseConfigText(body, source);
}

/** Reads, parses and validates a config file, like `loadConfigFile`, through {@link parseConfigJson}. */
export function loadConfig(path: string): AppConfig {
  return loadConfigFile(path, parseConfigJson);
}

/** `JSON.parse`'s complaint about `text` with the line and column it is at (`line 3, column 5: …`); `undefined` for valid JSON. */
export function jsonSyntaxError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    const message = (e as Error).message;
    const position = /at position (\d+)/.exec(message);
    const offset = position ? Number(position[1]) : (errorOffset(text) ?? text.length);
    // V8 ends some messages with (an excerpt of) the text ('Unexpected token '}', "{…}" is not valid JSON'), others with the offset.
    const token = /^Unexpected token '([\s\S])', /.exec(message);
    const reason = token ? `Unexpected token '${JSON.stringify(token[1]).slice(1, -1)}'` : message.replace(/ in JSON at position \d+.*$/s, '').replace(/ after JSON at position \d+.*$/s, ' after the JSON value').replace(/ of JSON input$/, ' of the file');
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < offset; k++) {
      if (text[k] === '\n') {
        line++;
        lineStart = k + 1;
      }
    }
    return `line ${line}, column ${offset - lineStart + 1}: ${reason}`;
  }
}

/** Where strict JSON first goes wrong in `text`, for the errors V8 reports without a position; `undefined` if nowhere. */
function errorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (at: number): never => {
    throw new SyntaxAt(at);
  };
  const ws = (): void => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const digits = (): void => {
    if (!/[0-9]/.test(text[i] ?? '')) fail(i);
    while (/[0-9]/.test(text[i] ?? '')) i++;
  };
  const string = (): void => {
    for (i++; ; i++) {
      if (i >= text.length || text[i] < ' ') fail(i);
      if (text[i] === '"') return void i++;
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) fail(i + k);
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) {
          fail(i);
        }
      }
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (ch === '{') {
          ws();
          if (text[i] !== '"') fail(i);
          string();
          ws();
          if (text[i] !== ':') fail(i);
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail(i);
      }
    }
    if (ch === '"') return string();
    if (ch === '-' || /[0-9]/.test(ch ?? '')) {
      if (ch === '-') i++;
      if (text[i] === '0') i++;
      else digits();
      if (text[i] === '.') {
        i++;
        digits();
      }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        digits();
      }
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (ch !== word[0]) continue;
      for (let k = 0; k < word.length; k++) if (text[i + k] !== word[k]) fail(i + k);
      return void (i += word.length);
    }
    fail(i);
  };
  try {
    value();
    ws();
    return i < text.length ? i : undefined;
  } catch (e) {
    if (e instanceof SyntaxAt) return e.offset;
    throw e;
  }
}

class SyntaxAt {
  constructor(public readonly offset: number) {}
}
