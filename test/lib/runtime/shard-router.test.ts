import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../../lib/runtime/hash';
import { ShardMapValidationError } from '../../../lib/runtime/shard-map';
import { ShardRouter, readEndpoint, writeEndpoint } from '../../../lib/runtime/shard-router';

const hashRouter = (n: number): ShardRouter =>
  ShardRouter.fromShardMap({
    version: 1,
    epoch: 4,
    strategy: 'hash',
    shards: Array.from({ length: n }, (_, i) => ({ id: `s${i}`, writer: `s${i}.cluster.internal` })),
  });

const numericRange = ShardRouter.fromShardMap({
  version: 1,
  strategy: 'range',
  shards: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }],
  boundaries: [100, 200, 300],
});

const stringRange = ShardRouter.fromShardMap({
  version: 1,
  strategy: 'range',
  shards: [{ id: 'a-f' }, { id: 'g-m' }, { id: 'n-s' }, { id: 't-z' }],
  boundaries: ['g', 'n', 't'],
});

describe('ShardRouter (hash)', () => {
  it('routes keys to the jump-hash bucket of their xxHash64 and returns the entry', () => {
    const router = hashRouter(16);
    for (const key of ['user:1', 'user:42', 'x', 7, -3]) {
      const bucket = router.bucketFor(key);
      expect(bucket).toBe(bucketOf(key, 16));
      expect(router.shardFor(key)).toEqual({ id: `s${bucket}`, writer: `s${bucket}.cluster.internal` });
    }
  });

  it('golden assignments: these keys stay on these shards unless the hashing changes', () => {
    const router = hashRouter(16);
    expect(router.shardFor('user:1').id).toBe('s2');
    expect(router.shardFor('user:42').id).toBe('s12');
    expect(router.shardFor('order-2024-000017').id).toBe('s9');
    expect(router.shardFor(42).id).toBe('s12');
    expect(router.shardFor(0).id).toBe('s4');
  });

  it('exposes the map, strategy, size, epoch and lookup by id', () => {
    const router = hashRouter(3);
    expect(router.strategy).toBe('hash');
    expect(router.size).toBe(3);
    expect(router.epoch).toBe(4);
    expect(router.shards.map((s) => s.id)).toEqual(['s0', 's1', 's2']);
    expect(router.shardById('s1')).toEqual({ id: 's1', writer: 's1.cluster.internal' });
    expect(router.shardById('nope')).toBeUndefined();
    expect(Object.isFrozen(router.map)).toBe(true);
  });

  it('routes every key to the only shard of a one-shard map', () => {
    const router = hashRouter(1);
    for (let i = 0; i < 100; i++) expect(router.bucketFor(`k${i}`)).toBe(0);
  });

  it('rejects keys that are neither strings nor safe integers', () => {
    const router = hashRouter(4);
    expect(() => router.shardFor(1.5)).toThrow(/shard key must be a string or a safe integer \(got: 1\.5\)/);
    expect(() => router.shardFor(null as unknown as string)).toThrow(TypeError);
  });

  it('refuses shardsForRange on a hash map', () => {
    expect(() => hashRouter(4).shardsForRange('a', 'b')).toThrow(/only defined for range shard maps; this map uses strategy "hash"/);
  });

  it('validates the map it is given', () => {
    expect(() => ShardRouter.fromShardMap({ version: 1, strategy: 'hash', shards: [{ id: 's0' }, { id: 's0' }] })).toThrow(ShardMapValidationError);
    expect(() => ShardRouter.fromShardMap({ version: 1, strategy: 'hash', shards: [{ id: 's0' }, { id: 's0' }] })).toThrow(/shards\[1\]\.id: duplicate shard id/);
  });
});

describe('ShardRouter (range)', () => {
  it('puts keys below the first boundary in the first shard', () => {
    expect(numericRange.shardFor(99).id).toBe('a');
    expect(numericRange.shardFor(-1e12).id).toBe('a');
    expect(numericRange.shardFor(-Infinity).id).toBe('a');
  });

  it('puts a key exactly on a boundary in the shard that boundary starts', () => {
    expect(numericRange.shardFor(100).id).toBe('b');
    expect(numericRange.shardFor(200).id).toBe('c');
    expect(numericRange.shardFor(300).id).toBe('d');
    expect(numericRange.shardFor(99.999).id).toBe('a');
    expect(numericRange.shardFor(199.999).id).toBe('b');
  });

  it('puts keys above the last boundary in the last shard', () => {
    expect(numericRange.shardFor(301).id).toBe('d');
    expect(numericRange.shardFor(Number.MAX_VALUE).id).toBe('d');
    expect(numericRange.bucketFor(Infinity)).toBe(3);
  });

  it('compares string keys by code units', () => {
    expect(stringRange.shardFor('').id).toBe('a-f');
    expect(stringRange.shardFor('fzzz').id).toBe('a-f');
    expect(stringRange.shardFor('g').id).toBe('g-m');
    expect(stringRange.shardFor('go').id).toBe('g-m');
    expect(stringRange.shardFor('n').id).toBe('n-s');
    expect(stringRange.shardFor('zebra').id).toBe('t-z');
    expect(stringRange.shardFor('G').id).toBe('a-f'); // 'G' < 'g': keep keys lower-case
  });

  it('agrees with a linear scan on many keys (binary search check)', () => {
    const bounds = Array.from({ length: 99 }, (_, i) => (i + 1) * 10);
    const router = ShardRouter.fromShardMap({
      version: 1,
      strategy: 'range',
      shards: Array.from({ length: 100 }, (_, i) => ({ id: `r${i}` })),
      boundaries: bounds,
    });
    for (let key = -5; key <= 1005; key += 0.5) {
      const expected = bounds.filter((b) => b <= key).length;
      expect(router.bucketFor(key)).toBe(expected);
    }
  });

  it('rejects keys of the wrong type with a clear error', () => {
    expect(() => numericRange.shardFor('150')).toThrow(/range shard map has numeric boundaries, so the key must be a number \(got string: "150"\)/);
    expect(() => stringRange.shardFor(5)).toThrow(/range shard map has string boundaries, so the key must be a string \(got number: 5\)/);
    expect(() => numericRange.shardFor(Number.NaN)).toThrow(/key must not be NaN/);
    expect(() => numericRange.shardFor(true as unknown as number)).toThrow(/key must be a number or a string \(got: true\)/);
  });

  it('a single-shard range map accepts either key type', () => {
    const router = ShardRouter.fromShardMap({ version: 1, strategy: 'range', shards: [{ id: 'all' }], boundaries: [] });
    expect(router.shardFor(5).id).toBe('all');
    expect(router.shardFor('x').id).toBe('all');
    expect(router.shardsForRange(1, 2).map((s) => s.id)).toEqual(['all']);
  });
});

describe('ShardRouter.shardsForRange', () => {
  const ids = (lo: number | string, hi: number | string, router = numericRange): string[] => router.shardsForRange(lo, hi).map((s) => s.id);

  it('includes both bounds', () => {
    expect(ids(100, 200)).toEqual(['b', 'c']); // 200 itself lives in c
    expect(ids(100, 199)).toEqual(['b']);
    expect(ids(99, 100)).toEqual(['a', 'b']);
  });

  it('handles a single key, everything, and ranges beyond the ends', () => {
    expect(ids(150, 150)).toEqual(['b']);
    expect(ids(-Infinity, Infinity)).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(-50, 50)).toEqual(['a']);
    expect(ids(1000, 2000)).toEqual(['d']);
  });

  it('works on string maps', () => {
    expect(ids('h', 'p', stringRange)).toEqual(['g-m', 'n-s']);
    expect(ids('a', 'z', stringRange)).toEqual(['a-f', 'g-m', 'n-s', 't-z']);
  });

  it('rejects lo > hi, mixed bound types and wrong types', () => {
    expect(() => numericRange.shardsForRange(200, 100)).toThrow(RangeError);
    expect(() => numericRange.shardsForRange(200, 100)).toThrow(/lo must be <= hi \(got: lo 200, hi 100\)/);
    expect(() => stringRange.shardsForRange('m', 'a')).toThrow(/lo must be <= hi/);
    expect(() => numericRange.shardsForRange('a', 'b')).toThrow(/numeric boundaries, so the lo must be a number/);
    const single = ShardRouter.fromShardMap({ version: 1, strategy: 'range', shards: [{ id: 'all' }], boundaries: [] });
    expect(() => single.shardsForRange(1, 'x')).toThrow(/lo and hi must have the same type/);
  });
});

describe('endpoint helpers', () => {
  it('prefer the proxy endpoints and fall back sensibly', () => {
    expect(writeEndpoint({ id: 'a', writer: 'w', proxy: 'p' })).toBe('p');
    expect(writeEndpoint({ id: 'a', writer: 'w' })).toBe('w');
    expect(readEndpoint({ id: 'a', writer: 'w', reader: 'r', proxyReadOnly: 'pr' })).toBe('pr');
    expect(readEndpoint({ id: 'a', writer: 'w', reader: 'r' })).toBe('r');
    expect(readEndpoint({ id: 'a', writer: 'w' })).toBe('w');
    expect(readEndpoint({ id: 'a' })).toBeUndefined();
  });
});
