/**
 * The shard-map document: which shards exist, where they are, and how keys are assigned to them.
 *
 * This module is the single source of truth for the format. The application side reads it
 * ({@link parseShardMap}, used by the router and the SSM loader); the infrastructure side that
 * publishes the map as an SSM parameter should build it with these types and validate it with
 * the same function before publishing.
 *
 * ## Format (version 1)
 *
 * ```json
 * {
 *   "version": 1,
 *   "epoch": 3,
 *   "strategy": "hash",
 *   "shards": [
 *     { "id": "s0", "writer": "s0.cluster-abc.eu-west-1.rds.amazonaws.com", "port": 5432 },
 *     { "id": "s1", "writer": "s1.cluster-abc.eu-west-1.rds.amazonaws.com", "port": 5432 }
 *   ]
 * }
 * ```
 *
 * - `version` (required): the format version, always `1`. A runtime refuses versions it does not
 *   know rather than guess.
 * - `epoch` (optional, default 0): the map's revision, a non-negative integer. Bump it on every
 *   published change; the SSM loader refuses to go back to a lower epoch (see `ShardMapLoader`).
 * - `description` (optional): free text for operators.
 * - `strategy` (required): `"hash"` or `"range"`.
 * - `shards` (required, 1 to {@link MAX_SHARDS} entries): see {@link ShardEntry}.
 * - `boundaries`: required for `"range"`, forbidden for `"hash"`.
 *
 * **`hash`**: a key goes to bucket `jumpConsistentHash(xxHash64(key), shards.length)` and bucket
 * `i` is `shards[i]`. The ORDER of `shards` is therefore the assignment: only ever append shards
 * (see `planResharding`).
 *
 * **`range`**: `boundaries` holds exactly `shards.length - 1` split points, strictly increasing,
 * all finite numbers or all strings (never mixed). Shard `i` holds the keys `k` with
 * `boundaries[i-1] <= k < boundaries[i]`; shard 0 has no lower bound and the last shard no upper
 * bound. A key equal to a boundary belongs to the shard that boundary starts. Numeric maps take
 * numeric keys only, string maps string keys only; strings compare by UTF-16 code units (the
 * JavaScript `<`), which is byte order for ASCII but not a database collation: keep range keys
 * ASCII (e.g. zero-padded, lower-case) so both agree. A single-shard range map has
 * `"boundaries": []` and accepts either key type.
 *
 * Unknown keys are errors at every level (a typo such as `"wirter"` must not pass silently);
 * put free-form labels in a shard's `metadata`.
 *
 * @module
 */

/** The only shard-map format version this runtime reads and writes. */
export const SHARD_MAP_VERSION = 1;

/** Upper bound on `shards.length`, a sanity limit against runaway generated maps. */
export const MAX_SHARDS = 65_536;

/** How keys are assigned to shards. */
export type ShardStrategy = 'hash' | 'range';

/** A split point of a range map. */
export type RangeBoundary = number | string;

/**
 * One shard: a stable id plus the connection details the application needs. All connection fields
 * are optional so that a map can name shards before their endpoints exist.
 */
export interface ShardEntry {
  /**
   * Stable, unique identifier: 1 to 64 characters from `[A-Za-z0-9._-]`, starting with a letter or
   * digit. Used in resharding plans, logs and metric dimensions. Never reuse an id for another
   * cluster.
   */
  readonly id: string;
  /** Writer (primary) endpoint host name. */
  readonly writer?: string;
  /** Reader (replicas) endpoint host name. */
  readonly reader?: string;
  /** RDS Proxy read/write endpoint host name, preferred over `writer` when present. */
  readonly proxy?: string;
  /** RDS Proxy read-only endpoint host name, preferred over `reader` when present. */
  readonly proxyReadOnly?: string;
  /** Database port, an integer in [1, 65535]. */
  readonly port?: number;
  /** ARN of the Secrets Manager secret holding this shard's credentials. */
  readonly secretArn?: string;
  /** Database (schema) name on the cluster, when several logical shards share one cluster. */
  readonly database?: string;
  /** Free-form string labels for operators and tooling (e.g. `{ "az": "eu-west-1a" }`). */
  readonly metadata?: Readonly<Record<string, string>>;
}

interface ShardMapCommon {
  /** Format version: always {@link SHARD_MAP_VERSION}. */
  readonly version: typeof SHARD_MAP_VERSION;
  /** Map revision, a non-negative integer bumped on every published change (absent means 0). */
  readonly epoch?: number;
  /** Free text for operators. */
  readonly description?: string;
  /** The shards. For `hash` maps their order is the bucket order. */
  readonly shards: readonly ShardEntry[];
}

/** A shard map using jump consistent hashing; `shards[i]` is bucket `i`. */
export interface HashShardMap extends ShardMapCommon {
  /** Keys are hashed (xxHash64) and placed with jump consistent hashing. */
  readonly strategy: 'hash';
  /** Not allowed for hash maps. */
  readonly boundaries?: undefined;
}

/** A shard map assigning contiguous key ranges; see the module documentation for the semantics. */
export interface RangeShardMap extends ShardMapCommon {
  /** Keys are placed by comparing them with `boundaries`. */
  readonly strategy: 'range';
  /**
   * `shards.length - 1` strictly increasing split points, all numbers or all strings. Shard `i`
   * holds `[boundaries[i-1], boundaries[i])`.
   */
  readonly boundaries: readonly number[] | readonly string[];
}

/** A validated shard-map document (format version 1). */
export type ShardMap = HashShardMap | RangeShardMap;

/** One problem found by {@link validateShardMap}. */
export interface ShardMapIssue {
  /** Where the problem is, e.g. `shards[2].id` or `boundaries`; `(root)` for the document itself. */
  readonly path: string;
  /** What is wrong, e.g. `duplicate shard id, first used at shards[1]`. */
  readonly message: string;
  /** The value found at `path` (`undefined` when missing). */
  readonly received: unknown;
}

/** Formats a value for an error message: JSON-ish, truncated. */
export function formatReceived(value: unknown): string {
  let text: string;
  if (value === undefined) text = 'undefined';
  else if (typeof value === 'number') text = Object.is(value, -0) ? '-0' : String(value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'function') text = '[function]';
  else if (typeof value === 'symbol') text = value.toString();
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Renders an issue as `path: message (got: value)`. */
export function formatIssue(issue: ShardMapIssue): string {
  return `${issue.path}: ${issue.message} (got: ${formatReceived(issue.received)})`;
}

/**
 * Thrown by {@link parseShardMap} when a document is not a valid shard map. Lists every problem,
 * not only the first; `issues` has them in structured form.
 */
export class ShardMapValidationError extends Error {
  /** Every problem found, in document order. */
  public readonly issues: readonly ShardMapIssue[];

  /**
   * @param issues - the problems found (at least one)
   * @param source - what was parsed, for the message (e.g. an SSM parameter name)
   */
  public constructor(issues: readonly ShardMapIssue[], source?: string) {
    const head = `invalid shard map${source ? ` from ${source}` : ''}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`;
    super([head, ...issues.map((i) => `  - ${formatIssue(i)}`)].join('\n'));
    this.name = 'ShardMapValidationError';
    this.issues = issues;
  }
}

/** Options for {@link validateShardMap} and {@link parseShardMap}. */
export interface ShardMapParseOptions {
  /**
   * Returns true for placeholder values that are not known yet, e.g. CDK tokens at synth time
   * (pass `Token.isUnresolved`). Such values in a shard's connection fields (`writer`, `reader`,
   * `proxy`, `proxyReadOnly`, `port`, `secretArn`, `database`) skip their format checks. Everything
   * that decides key placement (ids, order, strategy, boundaries) is always checked.
   */
  readonly isUnresolved?: (value: unknown) => boolean;
  /** Names the document in error messages, e.g. `SSM parameter "/app/shard-map"`. */
  readonly source?: string;
}

const ROOT_KEYS = ['version', 'epoch', 'description', 'strategy', 'shards', 'boundaries'] as const;
const SHARD_KEYS = ['id', 'writer', 'reader', 'proxy', 'proxyReadOnly', 'port', 'secretArn', 'database', 'metadata'] as const;
const HOST_KEYS = ['writer', 'reader', 'proxy', 'proxyReadOnly'] as const;
const SHARD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const STRATEGIES: readonly ShardStrategy[] = ['hash', 'range'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest allowed key to a misspelt one, if plausibly a typo. */
function suggest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : levenshtein(key, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

function propPath(parent: string, key: string): string {
  const safe = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return parent === '' ? safe.replace(/^\./, '') : `${parent}${safe}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

class IssueCollector {
  public readonly issues: ShardMapIssue[] = [];
  public add(path: string, message: string, received: unknown): void {
    this.issues.push({ path, message, received });
  }
  public unknownKeys(obj: Record<string, unknown>, allowed: readonly string[], parent: string, where: string): void {
    for (const key of Object.keys(obj)) {
      if ((allowed as readonly string[]).includes(key)) continue;
      const hint = suggest(key, allowed);
      this.add(
        propPath(parent, key),
        `unknown key in ${where}${hint ? `; did you mean "${hint}"?` : `; allowed keys: ${allowed.join(', ')}`}`,
        obj[key],
      );
    }
  }
}

function validateShard(raw: unknown, path: string, out: IssueCollector, isUnresolved: (v: unknown) => boolean): void {
  if (!isPlainObject(raw)) {
    out.add(path, `expected a shard object with at least an "id", got ${typeName(raw)}`, raw);
    return;
  }
  out.unknownKeys(raw, SHARD_KEYS, path, 'a shard');
  const id = raw['id'];
  if (id === undefined) out.add(`${path}.id`, 'required', id);
  else if (typeof id !== 'string' || !SHARD_ID_PATTERN.test(id)) {
    out.add(`${path}.id`, 'expected 1-64 characters from [A-Za-z0-9._-], starting with a letter or digit', id);
  }
  for (const key of HOST_KEYS) {
    const v = raw[key];
    if (v === undefined || isUnresolved(v)) continue;
    if (typeof v !== 'string' || v.length === 0 || v.length > 255 || /\s/.test(v)) {
      out.add(`${path}.${key}`, 'expected a host name: a non-empty string without spaces, at most 255 characters', v);
    }
  }
  const port = raw['port'];
  if (port !== undefined && !isUnresolved(port) && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535)) {
    out.add(`${path}.port`, 'expected an integer in [1, 65535]', port);
  }
  for (const key of ['secretArn', 'database'] as const) {
    const v = raw[key];
    if (v === undefined || isUnresolved(v)) continue;
    if (typeof v !== 'string' || v.trim().length === 0) out.add(`${path}.${key}`, 'expected a non-empty string', v);
  }
  const metadata = raw['metadata'];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) {
      out.add(`${path}.metadata`, 'expected an object of string values', metadata);
    } else {
      for (const [k, v] of Object.entries(metadata)) {
        if (k.length === 0) out.add(`${path}.metadata`, 'metadata keys must be non-empty', metadata);
        else if (typeof v !== 'string') out.add(propPath(`${path}.metadata`, k), 'expected a string', v);
      }
    }
  }
}

function validateBoundaries(root: Record<string, unknown>, strategy: unknown, shardCount: number | undefined, out: IssueCollector): void {
  const boundaries = root['boundaries'];
  if (strategy === 'hash') {
    if (boundaries !== undefined) {
      out.add('boundaries', 'not allowed for strategy "hash" (hash maps assign keys by shard order); remove it or use strategy "range"', boundaries);
    }
    return;
  }
  if (strategy !== 'range') return; // strategy itself is reported
  const expected = shardCount === undefined ? 'shards.length - 1' : String(shardCount - 1);
  const need = `${expected} strictly increasing split point${shardCount === 2 ? '' : 's'}${shardCount === undefined ? '' : ` for ${shardCount} shard${shardCount === 1 ? '' : 's'}`}`;
  if (boundaries === undefined) {
    out.add('boundaries', `required for strategy "range": expected ${need}`, boundaries);
    return;
  }
  if (!Array.isArray(boundaries)) {
    out.add('boundaries', `expected an array of ${need}`, boundaries);
    return;
  }
  if (shardCount !== undefined && boundaries.length !== shardCount - 1) {
    const which = boundaries.length > shardCount - 1 ? 'too many' : 'too few';
    out.add('boundaries', `${which} split points: expected ${need}, got ${boundaries.length}`, boundaries);
  }
  let kind: 'number' | 'string' | undefined;
  let kindAt = -1;
  let prevValid: { value: number | string; index: number } | undefined;
  boundaries.forEach((b: unknown, i: number) => {
    const path = `boundaries[${i}]`;
    let ok = true;
    if (typeof b === 'number') {
      if (!Number.isFinite(b)) {
        out.add(path, 'expected a finite number', b);
        ok = false;
      }
    } else if (typeof b !== 'string') {
      out.add(path, 'expected a finite number or a string', b);
      return;
    } else if (b === '' && i === 0) {
      out.add(path, 'an empty string as the first boundary leaves shards[0] with no keys', b);
      ok = false;
    }
    const t = typeof b as 'number' | 'string';
    if (kind === undefined) {
      kind = t;
      kindAt = i;
    } else if (t !== kind) {
      out.add(path, `mixed boundary types: boundaries[${kindAt}] is a ${kind}, this is a ${t}; use all numbers or all strings`, b);
      return;
    }
    if (!ok) return;
    const v = b as number | string;
    if (prevValid !== undefined && !(v > prevValid.value)) {
      out.add(
        path,
        `boundaries must be strictly increasing: not greater than boundaries[${prevValid.index}] (${formatReceived(prevValid.value)})`,
        b,
      );
    }
    prevValid = { value: v, index: i };
  });
}

/**
 * Checks a candidate shard-map document and returns every problem found (an empty array means
 * valid). Never throws. See the module documentation for the rules.
 *
 * @param input - the parsed JSON document (or a value built in code)
 * @param options - see {@link ShardMapParseOptions}
 * @returns the problems, in document order
 */
export function validateShardMap(input: unknown, options: ShardMapParseOptions = {}): ShardMapIssue[] {
  const out = new IssueCollector();
  const isUnresolved = options.isUnresolved ?? (() => false);
  if (!isPlainObject(input)) {
    out.add('(root)', `expected a shard-map object, got ${typeName(input)}`, input);
    return out.issues;
  }
  out.unknownKeys(input, ROOT_KEYS, '', 'the shard map');

  const version = input['version'];
  if (version === undefined) out.add('version', `required; expected ${SHARD_MAP_VERSION}`, version);
  else if (version !== SHARD_MAP_VERSION) {
    out.add('version', `unsupported shard-map version; this runtime reads version ${SHARD_MAP_VERSION}`, version);
  }

  const epoch = input['epoch'];
  if (epoch !== undefined && !(Number.isSafeInteger(epoch) && (epoch as number) >= 0)) {
    out.add('epoch', 'expected a non-negative integer', epoch);
  }
  const description = input['description'];
  if (description !== undefined && typeof description !== 'string') out.add('description', 'expected a string', description);

  const strategy = input['strategy'];
  if (strategy === undefined) out.add('strategy', 'required; expected "hash" or "range"', strategy);
  else if (!STRATEGIES.includes(strategy as ShardStrategy)) out.add('strategy', 'unknown strategy; expected "hash" or "range"', strategy);

  const shards = input['shards'];
  let shardCount: number | undefined;
  if (shards === undefined) out.add('shards', 'required; expected a non-empty array of shards', shards);
  else if (!Array.isArray(shards)) out.add('shards', 'expected a non-empty array of shards', shards);
  else if (shards.length === 0) out.add('shards', 'must contain at least one shard', shards);
  else if (shards.length > MAX_SHARDS) out.add('shards', `at most ${MAX_SHARDS} shards are supported, got ${shards.length}`, `[${shards.length} shards]`);
  else {
    shardCount = shards.length;
    const firstUse = new Map<string, number>();
    shards.forEach((shard: unknown, i: number) => {
      validateShard(shard, `shards[${i}]`, out, isUnresolved);
      const id = isPlainObject(shard) ? shard['id'] : undefined;
      if (typeof id === 'string') {
        const first = firstUse.get(id);
        if (first === undefined) firstUse.set(id, i);
        else out.add(`shards[${i}].id`, `duplicate shard id, first used at shards[${first}]`, id);
      }
    });
  }

  validateBoundaries(input, strategy, shardCount, out);
  return out.issues;
}

function freezeShard(raw: Record<string, unknown>): ShardEntry {
  const shard: Record<string, unknown> = {};
  for (const key of SHARD_KEYS) {
    const v = raw[key];
    if (v === undefined) continue;
    if (key === 'metadata') {
      const meta = v as Record<string, string>;
      const sorted: Record<string, string> = {};
      for (const k of Object.keys(meta).sort()) sorted[k] = meta[k]!;
      shard[key] = Object.freeze(sorted);
    } else {
      shard[key] = v;
    }
  }
  return Object.freeze(shard) as unknown as ShardEntry;
}

/**
 * Validates a shard-map document and returns a normalized, deeply frozen copy: known keys only,
 * in canonical order, `metadata` keys sorted, `-0` boundaries as `0`. The input is not modified.
 *
 * @param input - the parsed JSON document (or a value built in code)
 * @param options - see {@link ShardMapParseOptions}
 * @returns the validated map
 * @throws ShardMapValidationError listing every problem when the document is invalid
 */
export function parseShardMap(input: unknown, options: ShardMapParseOptions = {}): ShardMap {
  const issues = validateShardMap(input, options);
  if (issues.length > 0) throw new ShardMapValidationError(issues, options.source);
  const root = input as Record<string, unknown>;
  const shards = Object.freeze((root['shards'] as Record<string, unknown>[]).map(freezeShard));
  const common = {
    version: SHARD_MAP_VERSION as typeof SHARD_MAP_VERSION,
    ...(root['epoch'] !== undefined ? { epoch: root['epoch'] as number } : {}),
    ...(root['description'] !== undefined ? { description: root['description'] as string } : {}),
  };
  if (root['strategy'] === 'hash') {
    return Object.freeze({ ...common, strategy: 'hash', shards });
  }
  const boundaries = Object.freeze((root['boundaries'] as RangeBoundary[]).map((b) => (b === 0 ? 0 : b))) as readonly number[] | readonly string[];
  return Object.freeze({ ...common, strategy: 'range', shards, boundaries });
}

/**
 * Parses shard-map JSON text (e.g. an SSM parameter value) and validates it.
 *
 * @param text - the JSON document
 * @param options - see {@link ShardMapParseOptions}
 * @returns the validated map
 * @throws ShardMapValidationError if the text is not JSON or not a valid shard map
 */
export function parseShardMapJson(text: string, options: ShardMapParseOptions = {}): ShardMap {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ShardMapValidationError([{ path: '(root)', message: `not valid JSON: ${reason}`, received: text }], options.source);
  }
  return parseShardMap(doc, options);
}

/**
 * Canonical JSON for a shard map: validated, normalized key order, no whitespace. Two maps with
 * the same meaning serialize identically, so this is suitable for publishing and for comparing.
 *
 * @param map - the map (validated again, so hand-built objects are checked too)
 * @returns the JSON text
 * @throws ShardMapValidationError if `map` is not valid
 */
export function serializeShardMap(map: ShardMap): string {
  return JSON.stringify(parseShardMap(map));
}

/**
 * The epoch (revision) of a map, `0` when the document has none.
 *
 * @param map - a validated map
 * @returns the epoch
 */
export function shardMapEpoch(map: ShardMap): number {
  return map.epoch ?? 0;
}
