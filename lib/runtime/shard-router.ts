/**
 * Key to shard routing for a validated shard map.
 *
 * @module
 */

import { bucketOfUnchecked, primeHashPaths, type ShardKey } from './hash';
import { formatReceived, parseShardMap, type ShardEntry, type ShardMap, type ShardMapParseOptions, type ShardStrategy } from './shard-map';

/** Index of the first boundary strictly greater than `key`: the shard holding `key`. */
function upperBound<T extends number | string>(bounds: readonly T[], key: T): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bounds[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Routes keys to shards. Immutable: build a new router (e.g. via `ShardMapLoader`) when the map
 * changes.
 *
 * - **hash** maps: `bucketFor(key) = jumpConsistentHash(xxHash64(key), shards.length)`. Keys are
 *   strings or safe integers (see `hash.ts` for the canonical encoding; `"42"` and `42` differ).
 * - **range** maps: binary search over the boundaries; shard `i` holds
 *   `[boundaries[i-1], boundaries[i])`. Numeric maps take numbers (not NaN), string maps strings.
 *
 * @example
 * ```ts
 * const router = ShardRouter.fromShardMap(JSON.parse(text));
 * const shard = router.shardFor(`user:${userId}`); // { id: 's3', writer: '...', ... }
 * ```
 */
export class ShardRouter {
  /**
   * Validates `map` (see `parseShardMap`) and builds a router for it.
   *
   * @param map - a shard-map document: an already parsed {@link ShardMap} or raw JSON data
   * @param options - validation options (e.g. `source` for error messages)
   * @returns the router
   * @throws ShardMapValidationError if the map is invalid
   */
  public static fromShardMap(map: ShardMap | unknown, options?: ShardMapParseOptions): ShardRouter {
    return new ShardRouter(parseShardMap(map, options));
  }

  /** The validated, frozen map this router serves. */
  public readonly map: ShardMap;
  private readonly entries: readonly ShardEntry[];
  /**
   * The same entries in a plain (unfrozen) array, for {@link ShardRouter.shardFor}: V8's optimized
   * code does not inline indexed loads from frozen arrays (`map.shards` is frozen) and calls a generic
   * keyed-load stub for each lookup instead.
   */
  private readonly slots: ShardEntry[];
  private readonly count: number;
  /** Range maps: the boundaries, and their key type (`undefined` for an empty list). */
  private readonly bounds: readonly (number | string)[];
  private readonly boundType: 'number' | 'string' | undefined;
  private readonly byId: ReadonlyMap<string, number>;
  private readonly isHash: boolean;

  private constructor(map: ShardMap) {
    this.map = map;
    this.entries = map.shards;
    this.slots = [...map.shards];
    this.count = map.shards.length;
    this.bounds = map.strategy === 'range' ? map.boundaries : [];
    this.boundType = this.bounds.length === 0 ? undefined : typeof this.bounds[0] === 'number' ? 'number' : 'string';
    this.byId = new Map(map.shards.map((s, i) => [s.id, i]));
    this.isHash = map.strategy === 'hash';
    if (this.isHash) primeHashPaths(); // once per process, a few ms: see its docs
  }

  /** The map's strategy. */
  public get strategy(): ShardStrategy {
    return this.map.strategy;
  }

  /** The shards, in map order (bucket order for hash maps, key order for range maps). */
  public get shards(): readonly ShardEntry[] {
    return this.entries;
  }

  /** Number of shards. */
  public get size(): number {
    return this.count;
  }

  /** The map's epoch (revision), 0 when the document has none. */
  public get epoch(): number {
    return this.map.epoch ?? 0;
  }

  /**
   * The index (into {@link ShardRouter.shards}) of the shard holding `key`.
   *
   * @param key - a string or safe integer for hash maps; a number or string matching the
   *   boundaries' type for range maps
   * @returns the shard index in `[0, size)`
   * @throws TypeError if the key has the wrong type for this map
   */
  public bucketFor(key: ShardKey): number {
    if (this.isHash) return bucketOfUnchecked(key, this.count);
    return this.rangeIndex(key, 'key');
  }

  /**
   * The shard holding `key`.
   *
   * @param key - see {@link ShardRouter.bucketFor}
   * @returns the shard entry (with its `id` and connection details)
   * @throws TypeError if the key has the wrong type for this map
   */
  public shardFor(key: ShardKey): ShardEntry {
    return this.slots[this.bucketFor(key)]!;
  }

  /**
   * Range maps only: every shard holding some key `k` with `lo <= k <= hi` (both bounds
   * INCLUSIVE), in key order. Use it to fan out a range scan; a shard is listed even if it may
   * hold no stored key in that range.
   *
   * @param lo - lowest key of the range, inclusive
   * @param hi - highest key of the range, inclusive
   * @returns the shards overlapping `[lo, hi]`, at least one
   * @throws Error for hash maps (a key range is scattered over all shards there)
   * @throws RangeError if `lo > hi`
   * @throws TypeError if a bound has the wrong type for this map
   */
  public shardsForRange(lo: ShardKey, hi: ShardKey): ShardEntry[] {
    if (this.map.strategy !== 'range') {
      throw new Error(
        'shardsForRange: only defined for range shard maps; this map uses strategy "hash", which scatters any key range over all shards (query every shard instead)',
      );
    }
    const from = this.rangeIndex(lo, 'lo');
    const to = this.rangeIndex(hi, 'hi');
    if (typeof lo !== typeof hi) {
      throw new TypeError(`shardsForRange: lo and hi must have the same type (got: lo ${formatReceived(lo)}, hi ${formatReceived(hi)})`);
    }
    if (lo > hi) {
      throw new RangeError(`shardsForRange: lo must be <= hi (got: lo ${formatReceived(lo)}, hi ${formatReceived(hi)})`);
    }
    return this.entries.slice(from, to + 1);
  }

  /**
   * Looks a shard up by id.
   *
   * @param id - the shard id
   * @returns the entry, or `undefined` if the map has no such shard
   */
  public shardById(id: string): ShardEntry | undefined {
    const i = this.byId.get(id);
    return i === undefined ? undefined : this.entries[i];
  }

  private rangeIndex(key: ShardKey, what: string): number {
    const type = typeof key;
    if (type === 'number') {
      if (Number.isNaN(key)) throw new TypeError(`range shard map: ${what} must not be NaN`);
    } else if (type !== 'string') {
      throw new TypeError(`range shard map: ${what} must be a number or a string (got: ${formatReceived(key)})`);
    }
    if (this.boundType === undefined) return 0; // single shard, no boundaries
    if (type !== this.boundType) {
      throw new TypeError(
        `range shard map has ${this.boundType === 'number' ? 'numeric' : 'string'} boundaries, so the ${what} must be a ${this.boundType} (got ${type}: ${formatReceived(key)})`,
      );
    }
    return upperBound(this.bounds, key);
  }
}

/**
 * The host to send writes to: the RDS Proxy endpoint if the shard has one, else the writer. In the region that holds
 * the writer: a Global Database secondary's map names its own proxy, which has no read/write target.
 *
 * @param shard - a shard entry
 * @returns the host name, or `undefined` if the shard lists neither
 */
export function writeEndpoint(shard: ShardEntry): string | undefined {
  return shard.proxy ?? shard.writer;
}

/**
 * The host to send reads that tolerate replica lag to: the read-only proxy endpoint, else the
 * reader endpoint, else the write endpoint ({@link writeEndpoint}).
 *
 * @param shard - a shard entry
 * @returns the host name, or `undefined` if the shard lists no endpoint at all
 */
export function readEndpoint(shard: ShardEntry): string | undefined {
  return shard.proxyReadOnly ?? shard.reader ?? writeEndpoint(shard);
}
