import { describe, expect, it } from 'vitest';
import { ReshardingError, planResharding, type HashReshardingPlan, type RangeReshardingPlan } from '../../../lib/runtime/resharding';
import { ShardMapValidationError } from '../../../lib/runtime/shard-map';
import { ShardRouter } from '../../../lib/runtime/shard-router';

const hashMap = (n: number, epoch = n, extra: (i: number) => Record<string, unknown> = () => ({})) => ({
  version: 1,
  epoch,
  strategy: 'hash',
  shards: Array.from({ length: n }, (_, i) => ({ id: `s${i}`, ...extra(i) })),
});

const rangeMap = (shards: string[], boundaries: (number | string)[], epoch = 1) => ({
  version: 1,
  epoch,
  strategy: 'range',
  shards: shards.map((id) => ({ id })),
  boundaries,
});

const asHash = (plan: unknown): HashReshardingPlan => {
  expect((plan as HashReshardingPlan).strategy).toBe('hash');
  return plan as HashReshardingPlan;
};
const asRange = (plan: unknown): RangeReshardingPlan => {
  expect((plan as RangeReshardingPlan).strategy).toBe('range');
  return plan as RangeReshardingPlan;
};

/** The ReshardingError thrown by planResharding, or fail. */
function refusal(oldMap: unknown, newMap: unknown): ReshardingError {
  try {
    planResharding(oldMap, newMap);
  } catch (err) {
    expect(err).toBeInstanceOf(ReshardingError);
    return err as ReshardingError;
  }
  throw new Error('expected planResharding to refuse');
}

describe('planResharding (hash)', () => {
  it('adding one shard: every old shard sends 1/(N+1) of its keys to the new one', () => {
    const plan = asHash(planResharding(hashMap(4), hashMap(5)));
    expect(plan.totalFractionMoved).toBeCloseTo(1 / 5, 12);
    expect(plan.moves).toEqual(
      ['s0', 's1', 's2', 's3'].map((from) => ({ from, to: 's4', fraction: expect.closeTo(1 / 20, 12), fractionOfSource: expect.closeTo(1 / 5, 12) })),
    );
    expect(plan.addedShards).toEqual(['s4']);
    expect(plan.removedShards).toEqual([]);
    expect(plan.fromShardCount).toBe(4);
    expect(plan.toShardCount).toBe(5);
    expect(plan.summary).toEqual([
      'hash map, 4 -> 5 shards: 20.00% of keys move (1 shard added; the minimum possible)',
      'each of the 4 existing shards sends 20.00% of its keys to s4',
    ]);
  });

  it('adding several shards: (M-N)/M moves, spread evenly over the new shards', () => {
    const plan = asHash(planResharding(hashMap(4), hashMap(6)));
    expect(plan.moves).toHaveLength(8);
    expect(plan.totalFractionMoved).toBeCloseTo(2 / 6, 12);
    expect(plan.moves.reduce((sum, m) => sum + m.fraction, 0)).toBeCloseTo(plan.totalFractionMoved, 12);
    expect(new Set(plan.moves.map((m) => m.to))).toEqual(new Set(['s4', 's5']));
    expect(plan.summary[1]).toBe('each of the 4 existing shards sends 33.33% of its keys: 16.67% to each of s4, s5');
  });

  it('matches the movement measured on real keys', () => {
    const before = ShardRouter.fromShardMap(hashMap(8));
    const after = ShardRouter.fromShardMap(hashMap(10));
    const plan = asHash(planResharding(before.map, after.map));
    const keys = 100_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < keys; i++) {
      const from = before.shardFor(`order:${i}`).id;
      const to = after.shardFor(`order:${i}`).id;
      if (from !== to) counts.set(`${from}->${to}`, (counts.get(`${from}->${to}`) ?? 0) + 1);
    }
    // Only the planned pairs occur, each within 15% of its predicted share (1/80 = 1250 keys).
    expect([...counts.keys()].sort()).toEqual(plan.moves.map((m) => `${m.from}->${m.to}`).sort());
    for (const m of plan.moves) {
      expect(Math.abs(counts.get(`${m.from}->${m.to}`)! / keys - m.fraction) / m.fraction).toBeLessThan(0.15);
    }
    const moved = [...counts.values()].reduce((a, b) => a + b, 0);
    expect(Math.abs(moved / keys - plan.totalFractionMoved) / plan.totalFractionMoved).toBeLessThan(0.03);
  });

  it('removing the last shard: only its keys move, evenly to every remaining shard', () => {
    const plan = asHash(planResharding(hashMap(5), hashMap(4, 6)));
    expect(plan.totalFractionMoved).toBeCloseTo(1 / 5, 12);
    expect(plan.moves.map((m) => `${m.from}->${m.to}`)).toEqual(['s4->s0', 's4->s1', 's4->s2', 's4->s3']);
    expect(plan.moves[0]!.fractionOfSource).toBeCloseTo(1 / 4, 12);
    expect(plan.removedShards).toEqual(['s4']);
  });

  it('an unchanged shard list moves nothing; changed endpoints are listed', () => {
    const plan = asHash(planResharding(hashMap(3), hashMap(3, 4, (i) => (i === 1 ? { writer: 'new-writer.internal' } : {}))));
    expect(plan.moves).toEqual([]);
    expect(plan.totalFractionMoved).toBe(0);
    expect(plan.updatedShards).toEqual(['s1']);
    expect(plan.summary).toContain('connection details changed (no data moves): s1');
  });

  it('warns when a changed map does not bump its epoch', () => {
    expect(planResharding(hashMap(3, 2), hashMap(4, 2)).warnings[0]).toMatch(/^epoch: the new map changes the old one but its epoch is not higher \(old 2, new 2\)/);
    expect(planResharding(hashMap(3, 2), hashMap(4, 1)).warnings[0]).toMatch(/will refuse it as stale/);
    expect(planResharding(hashMap(3, 2), hashMap(4, 3)).warnings).toEqual([]);
    expect(planResharding(hashMap(3, 2), hashMap(3, 2)).warnings).toEqual([]);
  });

  it('refuses reordering shards', () => {
    const reordered = { ...hashMap(4), shards: [{ id: 's0' }, { id: 's2' }, { id: 's1' }, { id: 's3' }] };
    const err = refusal(hashMap(4), reordered);
    expect(err.problems).toHaveLength(2);
    expect(err.message).toMatch(/shards\[1\]: hash bucket 1 changes from "s1" to "s2": shard "s1" moved from position 1 to 2 \(reordering\)/);
    expect(err.message).toMatch(/shards\[2\]: hash bucket 2 changes from "s2" to "s1"/);
    expect(err.message).toMatch(/append new shards at the end/);
  });

  it('refuses removing a shard from the middle', () => {
    const removed = { ...hashMap(4), epoch: 9, shards: [{ id: 's0' }, { id: 's2' }, { id: 's3' }] };
    expect(() => planResharding(hashMap(4), removed)).toThrow(/shards\[1\]: hash bucket 1 changes from "s1" to "s2"/);
    const replaced = { ...hashMap(3), shards: [{ id: 's0' }, { id: 'sX' }, { id: 's2' }] };
    expect(() => planResharding(hashMap(3), replaced)).toThrow(/shard "s1" was removed from the middle or replaced by "sX"/);
  });

  it('refuses changing the strategy', () => {
    expect(() => planResharding(hashMap(2), rangeMap(['s0', 's1'], [100]))).toThrow(/strategy: cannot change from "hash" to "range"/);
    expect(() => planResharding(rangeMap(['s0', 's1'], [100]), hashMap(2))).toThrow(ReshardingError);
  });

  it('validates both maps first', () => {
    expect(() => planResharding(hashMap(2), { version: 2, strategy: 'hash', shards: [{ id: 's0' }] })).toThrow(ShardMapValidationError);
    expect(() => planResharding(hashMap(2), { version: 2, strategy: 'hash', shards: [{ id: 's0' }] })).toThrow(/invalid shard map from the new map/);
  });
});

describe('planResharding (range)', () => {
  it('splitting the last shard moves the upper part of its range', () => {
    const plan = asRange(planResharding(rangeMap(['a', 'b'], [100]), rangeMap(['a', 'b', 'c'], [100, 200], 2)));
    expect(plan.moves).toEqual([{ from: 'b', to: 'c', range: [200, null] }]);
    expect(plan.addedShards).toEqual(['c']);
    expect(plan.summary).toEqual(['range map, 2 -> 3 shards: 1 key interval change owner', 'b -> c: keys in [200, +inf)']);
  });

  it('merging a shard away moves its range to its neighbours', () => {
    const plan = asRange(planResharding(rangeMap(['a', 'b', 'c'], [100, 200]), rangeMap(['a', 'c'], [150], 2)));
    expect(plan.moves).toEqual([
      { from: 'b', to: 'a', range: [100, 150] },
      { from: 'b', to: 'c', range: [150, 200] },
    ]);
    expect(plan.removedShards).toEqual(['b']);
  });

  it('moving a boundary down moves the keys between the old and new boundary', () => {
    const plan = asRange(planResharding(rangeMap(['a', 'b'], ['m']), rangeMap(['a', 'b'], ['g'], 2)));
    expect(plan.moves).toEqual([{ from: 'a', to: 'b', range: ['g', 'm'] }]);
    expect(plan.summary[1]).toBe('a -> b: keys in ["g", "m")');
  });

  it('merges adjacent intervals with the same source and destination', () => {
    // a owned [-inf, 10), b [10, 20), c [20, +inf); everything goes to a new shard z except c's range
    const plan = asRange(planResharding(rangeMap(['a', 'b', 'c'], [10, 20]), rangeMap(['z', 'c'], [20], 2)));
    expect(plan.moves).toEqual([
      { from: 'a', to: 'z', range: [null, 10] },
      { from: 'b', to: 'z', range: [10, 20] },
    ]);
    const whole = asRange(planResharding(rangeMap(['a', 'b'], [10]), rangeMap(['z', 'y'], [10], 2)));
    expect(whole.moves).toEqual([
      { from: 'a', to: 'z', range: [null, 10] },
      { from: 'b', to: 'y', range: [10, null] },
    ]);
  });

  it('renaming nothing and reordering nothing moves nothing', () => {
    const plan = asRange(planResharding(rangeMap(['a', 'b'], [5]), rangeMap(['a', 'b'], [5])));
    expect(plan.moves).toEqual([]);
    expect(plan.summary).toEqual(['range map, 2 -> 2 shards: no keys move']);
  });

  it('refuses changing the key type', () => {
    expect(() => planResharding(rangeMap(['a', 'b'], [5]), rangeMap(['a', 'b'], ['m'], 2))).toThrow(/boundaries: the key type changes from number to string/);
  });
});
