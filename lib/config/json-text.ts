/**
 * JSON text with positions: finds duplicate keys (which `JSON.parse` silently resolves to the last one) and
 * edits a document in place, so a tool that changes a few values of a config file (`s2m plan`) keeps every
 * other byte of it: key order, formatting, untouched sections.
 */
import { at } from './check';

/** A JSON value and the span of text it came from (`text.slice(start, end)`). */
export interface JsonNode {
  readonly start: number;
  readonly end: number;
  /** Members of an object, in text order (duplicates included). */
  readonly members?: readonly JsonMember[];
  /** Items of an array. */
  readonly items?: readonly JsonNode[];
}

/** One `"key": value` of an object. */
export interface JsonMember {
  readonly key: string;
  /** Position of the key's opening quote. */
  readonly keyStart: number;
  readonly value: JsonNode;
}

/** A key that appears twice in one object. */
export interface DuplicateKey {
  /** Path of the duplicate, e.g. `services[1].maxCapacity`. */
  readonly path: string;
  /** 1-based lines of the first and of the repeated key. */
  readonly firstLine: number;
  readonly line: number;
  /** The value given first (which `JSON.parse` drops) and the one given last (which it keeps). */
  readonly firstValue: unknown;
  readonly value: unknown;
}

/** Parses JSON text that `JSON.parse` accepts into nodes with positions, and lists its duplicate keys. */
export function parseJsonText(text: string): { readonly root: JsonNode; readonly duplicates: readonly DuplicateKey[] } {
  const duplicates: DuplicateKey[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const stringEnd = (from: number): number => {
    let j = from + 1;
    while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  const value = (path: string): JsonNode => {
    ws();
    const start = i;
    const ch = text[i];
    if (ch === '{') {
      i++;
      const members: JsonMember[] = [];
      const seen = new Map<string, JsonMember>();
      ws();
      if (text[i] === '}') {
        i++;
        return { start, end: i, members };
      }
      for (;;) {
        ws();
        const keyStart = i;
        i = stringEnd(i);
        const key = JSON.parse(text.slice(keyStart, i)) as string;
        ws();
        i++; // ':'
        const node = value(at(path, key));
        const member = { key, keyStart, value: node };
        const first = seen.get(key);
        if (first !== undefined) {
          duplicates.push({
            path: at(path, key), firstLine: lineOf(text, first.keyStart), line: lineOf(text, keyStart),
            firstValue: JSON.parse(text.slice(first.value.start, first.value.end)), value: JSON.parse(text.slice(node.start, node.end)),
          });
        } else {
          seen.set(key, member);
        }
        members.push(member);
        ws();
        if (text[i++] === '}') return { start, end: i, members };
      }
    }
    if (ch === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { start, end: i, items };
      }
      for (;;) {
        items.push(value(at(path, items.length)));
        ws();
        if (text[i++] === ']') return { start, end: i, items };
      }
    }
    if (ch === '"') {
      i = stringEnd(i);
      return { start, end: i };
    }
    while (i < text.length && !',]} \n\r\t'.includes(text[i])) i++;
    return { start, end: i };
  };
  JSON.parse(text); // only valid JSON gets here; this throws JSON.parse's own message otherwise
  const root = value('');
  return { root, duplicates };
}

function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let k = 0; k < pos; k++) if (text[k] === '\n') line++;
  return line;
}

/** Renders a value on one line, the way the example configs write nested objects: `{ "a": 1, "b": [2] }`. */
export function renderInline(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(renderInline).join(', ')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${renderInline(x)}`).join(', ')} }`;
  }
  return JSON.stringify(v);
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Rewrites `text` (the JSON of `before`) so that it holds `after`, touching only what differs: a changed
 * value is replaced where it stands, a new key is added after the last member of its object and a new
 * item after the last item of its array, in the surrounding layout (on a new line with the siblings'
 * indentation in a multi-line object, inline in a one-line object). Everything else, key order and
 * formatting included, stays byte for byte. Keys or items that `after` drops are not supported (throws).
 */
export function patchJsonText(text: string, before: unknown, after: unknown): string {
  const { root } = parseJsonText(text);
  const edits: Edit[] = [];
  diff(text, root, before, after, edits, '');
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function diff(text: string, node: JsonNode, before: unknown, after: unknown, edits: Edit[], path: string): void {
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  if (isObject(before) && isObject(after) && node.members && node.members.length > 0) {
    const last = new Map<string, JsonMember>();
    for (const m of node.members) last.set(m.key, m);
    for (const key of Object.keys(before)) {
      if (!(key in after)) throw new Error(`patchJsonText: ${at(path, key)} was removed; only changes and additions are supported`);
      diff(text, last.get(key)!.value, before[key], after[key], edits, at(path, key));
    }
    const added = Object.keys(after).filter((k) => !(k in before) && after[k] !== undefined);
    if (added.length > 0) {
      const tail = node.members[node.members.length - 1];
      const sep = separator(text, node, tail.keyStart);
      edits.push({ start: tail.value.end, end: tail.value.end, text: added.map((k) => `,${sep}${JSON.stringify(k)}: ${renderInline(after[k])}`).join('') });
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && node.items && node.items.length > 0 && after.length >= before.length) {
    before.forEach((item, idx) => diff(text, node.items![idx], item, after[idx], edits, at(path, idx)));
    if (after.length > before.length) {
      const tail = node.items[node.items.length - 1];
      const sep = separator(text, node, tail.start);
      edits.push({ start: tail.end, end: tail.end, text: after.slice(before.length).map((item) => `,${sep}${renderInline(item)}`).join('') });
    }
    return;
  }
  edits.push({ start: node.start, end: node.end, text: renderInline(after) });
}

/** What goes between two members or items of `container`: a newline and the indentation of the line at `sibling`, or a space. */
function separator(text: string, container: JsonNode, sibling: number): string {
  if (!text.slice(container.start, container.end).includes('\n')) return ' ';
  const lineStart = text.lastIndexOf('\n', sibling - 1) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart, sibling))![0];
  return `\n${indent}`;
}
