import { MAX_SHARDS_PER_REGION, MAX_SHARD_ID_LENGTH, SHARD_ID, pascalId, shardIdReadsAsSecretSuffix } from '../../../constructs/sharding';
import { validateShardMap, type ShardStrategy } from '../../runtime/shard-map';
import { at, type Checker, type Obj } from '../check';
import type { DatabaseAutoScalingInput, DatabaseConfig } from './database';

/** One shard of the `database` tier, with its settings over the `database` section's. */
export interface DatabaseShardInput {
  /**
   * Stable shard id, in the shard map and in the shard's names (`<name>-db-<id>`): lowercase letters,
   * digits and single dashes, starting with a letter, at most 16 characters. Never rename or reuse one.
   * @default - `s<position>`: `s0`, `s1`...
   */
  readonly id?: string;
  /** Writer instance type or `serverless`. @default - `database.instanceType` */
  readonly instanceType?: string;
  /** Reader instance type or `serverless`. @default - this shard's `instanceType` if set, else `database.readerInstanceType` */
  readonly readerInstanceType?: string;
  /** Readers (0-15). @default - `database.readers` */
  readonly readers?: number;
  /** Reader autoscaling of this shard; `false` turns it off. @default - `database.autoScaling` */
  readonly autoScaling?: DatabaseAutoScalingInput | false;
  /**
   * Listed in the published shard map. `false` while the shard is created and backfilled (the application
   * routes no key to it); then `true`, with `database.shardMapEpoch` bumped. In a `hash` map the shards left
   * out must be the last ones.
   * @default true
   */
  readonly inShardMap?: boolean;
}

/** The sharding keys of the `database` section. */
export interface DatabaseShardingInput {
  /**
   * Data partitioning: `1` (no sharding: one cluster), a shard count (ids `s0`, `s1`...), or the shards in
   * shard-map order with per-shard settings. Only ever append shards to a `hash` map. At most 10.
   * @default 1
   */
  readonly shards?: number | DatabaseShardInput[];
  /** How keys are assigned to shards: `hash` (jump consistent hashing) or `range`. @default 'hash' */
  readonly shardStrategy?: ShardStrategy;
  /**
   * For `range`: one split point per shard in the map but the first, strictly increasing, all numbers or
   * all strings. Shard `i` holds `[shardBoundaries[i-1], shardBoundaries[i])`.
   * @default - none (required for `range`)
   */
  readonly shardBoundaries?: number[] | string[];
  /** The shard map's revision: bump it on every change of the shards in the map or of the boundaries. @default 0 */
  readonly shardMapEpoch?: number;
}

/** A shard with its settings resolved. */
export interface DatabaseShardConfig {
  readonly id: string;
  readonly instanceType: string;
  readonly readerInstanceType: string;
  readonly readers: number;
  readonly autoScaling?: DatabaseConfig['autoScaling'];
  readonly inShardMap: boolean;
}

/** The sharding keys of the resolved `database` section. */
export interface DatabaseShardingConfig {
  /** The shards in shard-map order; one (id `s0`) when unsharded. Sharding is on with two or more. */
  readonly shards: DatabaseShardConfig[];
  readonly shardStrategy: ShardStrategy;
  readonly shardBoundaries?: number[] | string[];
  readonly shardMapEpoch: number;
}

/** Keys of the `database` section that belong to sharding. */
export const SHARDING_KEYS = ['shards', 'shardStrategy', 'shardBoundaries', 'shardMapEpoch'] as const;
const SHARD_KEYS = ['id', 'instanceType', 'readerInstanceType', 'readers', 'autoScaling', 'inShardMap'] as const;

/** What the sharding resolver needs of the rest of the `database` section (already resolved). */
export interface ShardingBase {
  readonly instanceType: string;
  readonly readerInstanceType: string;
  readonly readers: number;
  readonly autoScaling?: DatabaseConfig['autoScaling'];
  readonly globalDatabase: boolean;
  /** Most readers a cluster may have (15, or 15 minus the secondary regions of a global database). */
  readonly maxReaders: number;
  /** Why {@link maxReaders} is what it is, for error messages. */
  readonly maxReadersReason: string;
  /** Validates an instance class (`r7g.large`, `serverless`). */
  readonly instanceClass: (c: Checker, path: string, raw: unknown) => string | undefined;
  /** Validates an autoscaling block against a reader count. */
  readonly autoScalingOf: (c: Checker, path: string, raw: unknown, readers: number) => DatabaseConfig['autoScaling'];
}

/** Validates the sharding keys of the `database` section `o` (at path `p`). */
export function resolveSharding(c: Checker, p: string, o: Obj, base: ShardingBase): DatabaseShardingConfig {
  const shards = resolveShards(c, at(p, 'shards'), o.shards, base);
  const sharded = shards.length > 1;
  const shardStrategy = (c.string(at(p, 'shardStrategy'), o.shardStrategy, { oneOf: ['hash', 'range'] }) ?? 'hash') as ShardStrategy;
  const shardMapEpoch = c.number(at(p, 'shardMapEpoch'), o.shardMapEpoch, { integer: true, min: 0 }) ?? 0;
  const boundariesRaw = c.array(at(p, 'shardBoundaries'), o.shardBoundaries);
  if (!sharded) {
    for (const key of SHARDING_KEYS.filter((k) => k !== 'shards')) {
      if (o[key] !== undefined) c.fail(at(p, key), 'applies only with database.shards of 2 or more', o[key]);
    }
    return { shards, shardStrategy, shardMapEpoch };
  }
  // Key placement is checked by the same validator the application's router uses.
  const listed = shards.filter((s) => s.inShardMap);
  const issues = validateShardMap({ version: 1, strategy: shardStrategy, shards: listed.map((s) => ({ id: s.id })), ...(o.shardBoundaries !== undefined ? { boundaries: o.shardBoundaries } : {}) });
  for (const issue of issues) {
    if (!issue.path.startsWith('boundaries')) continue;
    const path = at(p, `shardBoundaries${issue.path.slice('boundaries'.length)}`);
    const message = issue.message.replace(/strategy "(hash|range)"/g, 'shardStrategy "$1"').replace(/\bshards\b(?! in)/, 'shards in the map');
    c.fail(path, message, issue.received);
  }
  if (shardStrategy === 'hash') {
    const gap = shards.findIndex((s) => !s.inShardMap);
    const after = gap < 0 ? -1 : shards.findIndex((s, i) => i > gap && s.inShardMap);
    if (after >= 0) c.fail(at(at(p, 'shards'), after), `is in the hash shard map after ${shards[gap].id}, which is not; shards left out of a hash map (inShardMap: false) must be the last ones`, shards[after].id);
  }
  if (listed.length === 0) c.fail(at(p, 'shards'), 'at least one shard must be in the shard map (inShardMap)', o.shards);
  return { shards, shardStrategy, ...(boundariesRaw ? { shardBoundaries: o.shardBoundaries as number[] | string[] } : {}), shardMapEpoch };
}

function resolveShards(c: Checker, path: string, raw: unknown, base: ShardingBase): DatabaseShardConfig[] {
  const inherit = (id: string): DatabaseShardConfig => ({
    id,
    instanceType: base.instanceType,
    readerInstanceType: base.readerInstanceType,
    readers: base.readers,
    ...(base.autoScaling ? { autoScaling: base.autoScaling } : {}),
    inShardMap: true,
  });
  if (raw === undefined || typeof raw === 'number') {
    const count = c.number(path, raw, { integer: true, min: 1, max: MAX_SHARDS_PER_REGION }) ?? 1;
    return Array.from({ length: count }, (_, i) => inherit(`s${i}`));
  }
  if (!Array.isArray(raw)) {
    c.fail(path, 'must be a shard count (1 = no sharding) or a list of shards', raw);
    return [inherit('s0')];
  }
  const list = c.array(path, raw, { min: 1, max: MAX_SHARDS_PER_REGION }) ?? [];
  const out: DatabaseShardConfig[] = [];
  const seen = new Map<string, number>();
  list.forEach((item, i) => {
    const p = at(path, i);
    const o = c.object(p, item ?? {}, SHARD_KEYS) ?? {};
    const id = c.string(at(p, 'id'), o.id, { pattern: SHARD_ID, what: 'lowercase letters, digits and single dashes, starting with a letter' }) ?? (o.id === undefined ? `s${i}` : undefined);
    if (id !== undefined && id.length > MAX_SHARD_ID_LENGTH) c.fail(at(p, 'id'), `must be at most ${MAX_SHARD_ID_LENGTH} characters`, id);
    // A created shard's credentials secret is `<name>/database/credentials-<id>`, which secondary regions publish by
    // partial ARN (a replica has no ARN of its own to reference).
    if (id !== undefined && i > 0 && base.globalDatabase && shardIdReadsAsSecretSuffix(id)) {
      c.fail(at(p, 'id'), 'must not end in a part of exactly 6 characters (after the last dash, or the whole id) with a global database: the shard\'s credentials secret would end in "-<6 characters>", which Secrets Manager takes for the random suffix of a full ARN, so the secondary regions could not read it (e.g. "s1", "shard-01", "users1x")', id);
    }
    if (id !== undefined) {
      const first = seen.get(pascalId(id));
      if (first !== undefined) {
        const other = out[first]!.id;
        c.fail(at(p, 'id'), `${other === id ? 'duplicate shard id' : `names the same resources as shard id ${JSON.stringify(other)}`} (also at ${at(path, first)})`, id);
      }
      else seen.set(pascalId(id), i);
    }
    const instanceType = base.instanceClass(c, at(p, 'instanceType'), o.instanceType);
    const readerInstanceType = base.instanceClass(c, at(p, 'readerInstanceType'), o.readerInstanceType) ?? instanceType ?? base.readerInstanceType;
    const readers = c.number(at(p, 'readers'), o.readers, { integer: true, min: 0, max: 15 }) ?? base.readers;
    if (readers > base.maxReaders && readers <= 15) c.fail(at(p, 'readers'), `must be at most ${base.maxReaders}: ${base.maxReadersReason}`, readers);
    let autoScaling = base.autoScaling;
    if (o.autoScaling === false) autoScaling = undefined;
    else if (o.autoScaling !== undefined) autoScaling = base.autoScalingOf(c, at(p, 'autoScaling'), o.autoScaling, readers);
    else if (autoScaling && readers > autoScaling.maxReaders) c.fail(at(p, 'readers'), `must not exceed database.autoScaling.maxReaders (${autoScaling.maxReaders}); or give this shard its own autoScaling`, readers);
    if (base.globalDatabase) {
      for (const [key, cls] of [['instanceType', instanceType], ['readerInstanceType', readerInstanceType]] as const) {
        if (cls?.startsWith('t')) c.fail(at(p, key), 'burstable (t) classes cannot be used in a global database; use an r-class type or "serverless"', cls);
      }
    }
    const inShardMap = c.boolean(at(p, 'inShardMap'), o.inShardMap) ?? true;
    if (i === 0 && !inShardMap) c.fail(at(p, 'inShardMap'), 'the first shard holds the existing data and must stay in the shard map', inShardMap);
    out.push({
      id: id ?? `s${i}`,
      instanceType: instanceType ?? base.instanceType,
      readerInstanceType,
      readers,
      ...(autoScaling ? { autoScaling } : {}),
      inShardMap,
    });
  });
  return out.length > 0 ? out : [inherit('s0')];
}
