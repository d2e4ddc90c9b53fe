/**
 * Resharding plans: given the current and the next shard map, which keys move where.
 *
 * **Hash maps** (jump consistent hashing). Going from N to M > N shards, a key either stays in its
 * shard or moves to one of the new shards `N..M-1`; nothing moves between old shards. Each old
 * shard sends `1/(N*M)` of all keys to each new shard, so `(M-N)/M` of the keys move in total
 * (`1/(N+1)` when adding one shard): the minimum any scheme can achieve. Removing the LAST shards
 * (M < N) is the mirror image: only their keys move, spread evenly over the remaining shards,
 * `(N-M)/N` in total. These fractions are exact expectations for uniformly hashed keys; the
 * property that keys only move to new shards (or only from removed ones) holds for every key.
 *
 * Changing a hash map in any other way (reordering shards, removing one from the middle, changing
 * the strategy) moves far more than that minimum and is rejected with a {@link ReshardingError}.
 *
 * **Range maps**. Shards are matched by id, so reordering is harmless; the plan lists every key
 * interval whose owner changes. The fraction of keys moved depends on the data, so range plans
 * give intervals, not fractions.
 *
 * In both cases the data migration itself is: for each row of a source shard, compute the new
 * owner with a router for the NEW map (`ShardRouter.shardFor`) and copy the row if it changed.
 *
 * @module
 */

import { formatReceived, parseShardMap, type RangeBoundary, type ShardEntry, type ShardMap, type ShardStrategy } from './shard-map';

/** A movement of keys between two shards of a hash map. */
export interface HashMove {
  /** Shard the keys leave. */
  readonly from: string;
  /** Shard the keys go to. */
  readonly to: string;
  /** Fraction of ALL keys that make this move. */
  readonly fraction: number;
  /** Fraction of the source shard's keys that make this move. */
  readonly fractionOfSource: number;
}

/** A movement of one key interval between two shards of a range map. */
export interface RangeMove {
  /** Shard the keys leave. */
  readonly from: string;
  /** Shard the keys go to. */
  readonly to: string;
  /**
   * The keys `k` with `lo <= k < hi` (half-open). `null` means unbounded: `[null, hi)` is every key
   * below `hi`, `[lo, null)` every key from `lo` up.
   */
  readonly range: readonly [lo: RangeBoundary | null, hi: RangeBoundary | null];
}

interface PlanCommon {
  /** Shard count before. */
  readonly fromShardCount: number;
  /** Shard count after. */
  readonly toShardCount: number;
  /** Ids of shards only in the new map. */
  readonly addedShards: readonly string[];
  /** Ids of shards only in the old map (they end up empty). */
  readonly removedShards: readonly string[];
  /** Ids of shards in both maps whose connection details changed (no data moves for this). */
  readonly updatedShards: readonly string[];
  /** Non-fatal observations, e.g. an epoch that was not bumped. */
  readonly warnings: readonly string[];
  /** The plan as human-readable lines, for logs and CLIs. */
  readonly summary: readonly string[];
}

/** Plan for a hash map change. */
export interface HashReshardingPlan extends PlanCommon {
  /** Hash maps. */
  readonly strategy: 'hash';
  /** Every source/destination pair with keys moving, ordered by source then destination. */
  readonly moves: readonly HashMove[];
  /** Fraction of all keys that move: `(M-N)/M` growing, `(N-M)/N` shrinking, 0 if unchanged. */
  readonly totalFractionMoved: number;
}

/** Plan for a range map change. */
export interface RangeReshardingPlan extends PlanCommon {
  /** Range maps. */
  readonly strategy: 'range';
  /** Every key interval that changes owner, in key order (adjacent intervals merged). */
  readonly moves: readonly RangeMove[];
}

/** What {@link planResharding} returns. */
export type ReshardingPlan = HashReshardingPlan | RangeReshardingPlan;

/** Thrown by {@link planResharding} for a change it refuses; `problems` lists every reason. */
export class ReshardingError extends Error {
  /** Every reason the change was refused. */
  public readonly problems: readonly string[];

  /** @param problems - the reasons (at least one) */
  public constructor(problems: readonly string[]) {
    super(['refusing resharding plan:', ...problems.map((p) => `  - ${p}`)].join('\n'));
    this.name = 'ReshardingError';
    this.problems = problems;
  }
}

function percent(x: number): string {
  return `${(x * 100).toFixed(x !== 0 && x < 0.001 ? 4 : 2)}%`;
}

function sameConnection(a: ShardEntry, b: ShardEntry): boolean {
  return JSON.stringify(a) === JSON.stringify(b); // both normalized by parseShardMap
}

function commonParts(
  oldMap: ShardMap,
  newMap: ShardMap,
): Pick<PlanCommon, 'fromShardCount' | 'toShardCount' | 'addedShards' | 'removedShards' | 'updatedShards' | 'warnings'> {
  const oldById = new Map(oldMap.shards.map((s) => [s.id, s]));
  const newById = new Map(newMap.shards.map((s) => [s.id, s]));
  const warnings: string[] = [];
  const changed = JSON.stringify(oldMap) !== JSON.stringify(newMap);
  const oldEpoch = oldMap.epoch ?? 0;
  const newEpoch = newMap.epoch ?? 0;
  if (changed && newEpoch <= oldEpoch) {
    warnings.push(
      `epoch: the new map changes the old one but its epoch is not higher (old ${oldEpoch}, new ${newEpoch}); bump it, or loaders that already run the old map ${newEpoch < oldEpoch ? 'will refuse it as stale' : 'cannot tell the two apart by epoch'}`,
    );
  }
  return {
    fromShardCount: oldMap.shards.length,
    toShardCount: newMap.shards.length,
    addedShards: newMap.shards.filter((s) => !oldById.has(s.id)).map((s) => s.id),
    removedShards: oldMap.shards.filter((s) => !newById.has(s.id)).map((s) => s.id),
    updatedShards: newMap.shards.filter((s) => oldById.has(s.id) && !sameConnection(oldById.get(s.id)!, s)).map((s) => s.id),
    warnings,
  };
}

function planHash(oldMap: ShardMap, newMap: ShardMap): HashReshardingPlan {
  const n = oldMap.shards.length;
  const m = newMap.shards.length;
  const problems: string[] = [];
  const newIds = new Set(newMap.shards.map((s) => s.id));
  for (let i = 0; i < Math.min(n, m); i++) {
    const before = oldMap.shards[i]!.id;
    const after = newMap.shards[i]!.id;
    if (before === after) continue;
    const why = newIds.has(before)
      ? `shard "${before}" moved from position ${i} to ${newMap.shards.findIndex((s) => s.id === before)} (reordering)`
      : `shard "${before}" was removed from the middle or replaced by "${after}"`;
    problems.push(
      `shards[${i}]: hash bucket ${i} changes from "${before}" to "${after}": ${why}. Hash buckets are positional: keep existing shards in place, append new shards at the end and remove only from the end; otherwise far more than the minimum 1/(N+1) of keys move`,
    );
  }
  if (problems.length > 0) throw new ReshardingError(problems);

  const moves: HashMove[] = [];
  let total = 0;
  if (m > n) {
    // Every old bucket b sends 1/(n*m) of all keys (1/m of its own 1/n) to each new bucket k.
    for (let b = 0; b < n; b++) {
      for (let k = n; k < m; k++) {
        moves.push({ from: oldMap.shards[b]!.id, to: newMap.shards[k]!.id, fraction: 1 / (n * m), fractionOfSource: 1 / m });
      }
    }
    total = (m - n) / m;
  } else if (m < n) {
    // Every removed bucket k (holding 1/n) spreads its keys evenly over the m remaining buckets.
    for (let k = m; k < n; k++) {
      for (let b = 0; b < m; b++) {
        moves.push({ from: oldMap.shards[k]!.id, to: newMap.shards[b]!.id, fraction: 1 / (n * m), fractionOfSource: 1 / m });
      }
    }
    total = (n - m) / n;
  }
  const common = commonParts(oldMap, newMap);
  const summary: string[] = [];
  if (m === n) summary.push(`hash map, ${n} shards: no keys move`);
  else {
    summary.push(
      `hash map, ${n} -> ${m} shards: ${percent(total)} of keys move (${m > n ? `${m - n} shard${m - n === 1 ? '' : 's'} added` : `${n - m} shard${n - m === 1 ? '' : 's'} removed`}; the minimum possible)`,
    );
    if (m > n) {
      summary.push(
        m - n === 1
          ? `each of the ${n} existing shards sends ${percent(1 / m)} of its keys to ${common.addedShards[0]}`
          : `each of the ${n} existing shards sends ${percent((m - n) / m)} of its keys: ${percent(1 / m)} to each of ${common.addedShards.join(', ')}`,
      );
    } else {
      summary.push(`${common.removedShards.join(', ')} send all their keys: ${percent(1 / m)} of each to every remaining shard`);
    }
  }
  for (const w of common.warnings) summary.push(`warning: ${w}`);
  if (common.updatedShards.length > 0) summary.push(`connection details changed (no data moves): ${common.updatedShards.join(', ')}`);
  return { strategy: 'hash', ...common, moves, totalFractionMoved: total, summary };
}

/** Owner index of the interval starting at `start` (`null` = the lowest interval). */
function ownerAt(bounds: readonly RangeBoundary[], start: RangeBoundary | null): number {
  if (start === null) return 0;
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bounds[mid]! <= start) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function planRange(oldMap: ShardMap & { strategy: 'range' }, newMap: ShardMap & { strategy: 'range' }): RangeReshardingPlan {
  const ob = oldMap.boundaries as readonly RangeBoundary[];
  const nb = newMap.boundaries as readonly RangeBoundary[];
  if (ob.length > 0 && nb.length > 0 && typeof ob[0] !== typeof nb[0]) {
    throw new ReshardingError([
      `boundaries: the key type changes from ${typeof ob[0]} to ${typeof nb[0]}; every key would move. Migrate to a new map instead of resharding`,
    ]);
  }
  // Elementary intervals: split at every boundary of either map.
  const points = [...new Set<RangeBoundary>([...ob, ...nb])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const starts: (RangeBoundary | null)[] = [null, ...points];
  const moves: { from: string; to: string; range: [RangeBoundary | null, RangeBoundary | null] }[] = [];
  for (let i = 0; i < starts.length; i++) {
    const lo = starts[i]!;
    const hi = i + 1 < starts.length ? starts[i + 1]! : null;
    const from = oldMap.shards[ownerAt(ob, lo)]!.id;
    const to = newMap.shards[ownerAt(nb, lo)]!.id;
    if (from === to) continue;
    const last = moves[moves.length - 1];
    if (last && last.from === from && last.to === to && last.range[1] === lo) last.range[1] = hi;
    else moves.push({ from, to, range: [lo, hi] });
  }
  const common = commonParts(oldMap, newMap);
  const fmt = (b: RangeBoundary | null, open: string): string => (b === null ? open : formatReceived(b));
  const summary = [
    moves.length === 0
      ? `range map, ${oldMap.shards.length} -> ${newMap.shards.length} shards: no keys move`
      : `range map, ${oldMap.shards.length} -> ${newMap.shards.length} shards: ${moves.length} key interval${moves.length === 1 ? '' : 's'} change owner`,
    ...moves.map((mv) => `${mv.from} -> ${mv.to}: keys in [${fmt(mv.range[0], '-inf')}, ${fmt(mv.range[1], '+inf')})`),
    ...common.warnings.map((w) => `warning: ${w}`),
    ...(common.updatedShards.length > 0 ? [`connection details changed (no data moves): ${common.updatedShards.join(', ')}`] : []),
  ];
  return { strategy: 'range', ...common, moves, summary };
}

/**
 * Plans the move from `oldMap` to `newMap`: which keys move between which shards.
 *
 * @param oldMap - the map in service (validated with `parseShardMap`)
 * @param newMap - the map to publish next (validated with `parseShardMap`)
 * @returns a {@link HashReshardingPlan} or a {@link RangeReshardingPlan}
 * @throws ShardMapValidationError if either map is invalid
 * @throws ReshardingError if the change is refused: strategy change, reordered hash shards, hash
 *   shards removed other than from the end, range key type change
 */
export function planResharding(oldMap: ShardMap | unknown, newMap: ShardMap | unknown): ReshardingPlan {
  const before = parseShardMap(oldMap, { source: 'the old map' });
  const after = parseShardMap(newMap, { source: 'the new map' });
  if (before.strategy !== after.strategy) {
    const from: ShardStrategy = before.strategy;
    throw new ReshardingError([
      `strategy: cannot change from "${from}" to "${after.strategy}": that reassigns nearly every key. Build the new layout as a separate map and migrate with dual writes and a backfill`,
    ]);
  }
  if (before.strategy === 'hash') return planHash(before, after);
  return planRange(before, after as ShardMap & { strategy: 'range' });
}
