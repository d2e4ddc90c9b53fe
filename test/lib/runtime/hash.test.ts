import { describe, expect, it } from 'vitest';
import {
  MAX_BUCKETS,
  bucketOf,
  hash64,
  jumpConsistentHash,
  jumpConsistentHashBigInt,
  xxHash64,
} from '../../../lib/runtime/hash';

// ---------------------------------------------------------------------------------------------
// Independent, obviously-correct references (BigInt, straight from the specs).
// ---------------------------------------------------------------------------------------------
const M64 = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: number): bigint => ((x << BigInt(r)) | (x >> BigInt(64 - r))) & M64;
const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P2) & M64, 31) * P1) & M64;
const mergeRound = (acc: bigint, val: bigint): bigint => ((acc ^ round(0n, val)) * P1 + P4) & M64;

function refXxh64(bytes: Uint8Array): bigint {
  const len = bytes.length;
  const u = (i: number, n: number): bigint => {
    let v = 0n;
    for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(bytes[i + k]!);
    return v;
  };
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (P1 + P2) & M64;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (0n - P1) & M64;
    while (p + 32 <= len) {
      v1 = round(v1, u(p, 8));
      v2 = round(v2, u(p + 8, 8));
      v3 = round(v3, u(p + 16, 8));
      v4 = round(v4, u(p + 24, 8));
      p += 32;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) & M64;
    h = mergeRound(mergeRound(mergeRound(mergeRound(h, v1), v2), v3), v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(len)) & M64;
  for (; p + 8 <= len; p += 8) h = (rotl(h ^ round(0n, u(p, 8)), 27) * P1 + P4) & M64;
  if (p + 4 <= len) {
    h = (rotl(h ^ ((u(p, 4) * P1) & M64), 23) * P2 + P3) & M64;
    p += 4;
  }
  for (; p < len; p++) h = (rotl(h ^ ((BigInt(bytes[p]!) * P5) & M64), 11) * P1) & M64;
  h ^= h >> 33n;
  h = (h * P2) & M64;
  h ^= h >> 29n;
  h = (h * P3) & M64;
  return h ^ (h >> 32n);
}

function refJump(key: bigint, n: number): number {
  let b = -1;
  let j = 0;
  while (j < n) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & M64;
    j = Math.floor((b + 1) * (2 ** 31 / Number((key >> 33n) + 1n)));
  }
  return b;
}

const int64Bytes = (n: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(n), true);
  return b;
};

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

describe('xxHash64', () => {
  it('matches published XXH64 (seed 0) test vectors', () => {
    // Vectors from the xxHash reference / ClickHouse test suite.
    expect(hash64('')).toBe(0xef46db3751d8e999n);
    expect(hash64('a')).toBe(15154266338359012955n);
    expect(hash64('ab')).toBe(7347350983217793633n);
    expect(hash64('abc')).toBe(4952883123889572249n);
    expect(hash64('ABC')).toBe(0xe66ae7354fcfee98n);
    expect(hash64('foo')).toBe(3728699739546630719n);
    expect(hash64('xxhash')).toBe(0x32dd38952c4bc720n);
    expect(hash64('The quick brown fox jumps over the lazy dog')).toBe(0x0b242d361fda71bcn);
    expect(xxHash64(utf8('The quick brown fox jumps over the lazy dog'))).toBe(0x0b242d361fda71bcn);
  });

  it('matches the BigInt reference for ASCII strings of every length 0..200', () => {
    const r = rng(1);
    for (let len = 0; len <= 200; len++) {
      let s = '';
      for (let i = 0; i < len; i++) s += String.fromCharCode(32 + Math.floor(r() * 95));
      expect(hash64(s), `length ${len}: ${s}`).toBe(refXxh64(utf8(s)));
    }
  });

  it('matches the BigInt reference for non-ASCII strings (UTF-8 encoding, surrogates, long keys)', () => {
    const r = rng(2);
    const alphabet = ['a', 'Z', '0', '~', '\u007f', '\u0080', 'é', 'ß', '\u07ff', '\u0800', '€', '中', '\uffff', '😀', '𝄞', '\ud800', '\udc00'];
    for (let len = 1; len <= 120; len++) {
      let s = '';
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(r() * alphabet.length)];
      expect(hash64(s), JSON.stringify(s)).toBe(refXxh64(utf8(s)));
    }
    // A non-ASCII char after a long ASCII prefix (the fast path must bail out and redo the key).
    const prefixed = `${'x'.repeat(40)}é`;
    expect(hash64(prefixed)).toBe(refXxh64(utf8(prefixed)));
    // Keys longer than the initial encode buffer (forces it to grow), ASCII and not.
    const longAscii = 'k'.repeat(5000);
    const longUnicode = '中'.repeat(3000);
    expect(hash64(longAscii)).toBe(refXxh64(utf8(longAscii)));
    expect(hash64(longUnicode)).toBe(refXxh64(utf8(longUnicode)));
    expect(hash64('short after long')).toBe(refXxh64(utf8('short after long')));
  });

  it('encodes lone surrogates as U+FFFD like TextEncoder', () => {
    expect(hash64('a\ud800b')).toBe(hash64('a\ufffdb'));
    expect(hash64('\udc00')).toBe(refXxh64(new TextEncoder().encode('\udc00')));
  });

  it('hashes raw bytes, including bytes >= 0x80', () => {
    const r = rng(3);
    for (let len = 0; len <= 100; len++) {
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = Math.floor(r() * 256);
      expect(xxHash64(bytes)).toBe(refXxh64(bytes));
    }
  });

  it('hashes safe integers as little-endian int64', () => {
    // ClickHouse: xxHash64(CAST(-154477 AS Int64)) = 1162348840373071858
    expect(hash64(-154477)).toBe(1162348840373071858n);
    const values = [0, 1, -1, 42, 255, 256, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 2 ** 40 + 7, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (const v of values) expect(hash64(v), String(v)).toBe(refXxh64(int64Bytes(v)));
    const r = rng(4);
    for (let i = 0; i < 500; i++) {
      const v = Math.floor((r() - 0.5) * 2 * Number.MAX_SAFE_INTEGER);
      expect(hash64(v), String(v)).toBe(refXxh64(int64Bytes(v)));
    }
    expect(hash64(-0)).toBe(hash64(0));
  });

  it('distinguishes the string "42" from the number 42', () => {
    expect(hash64('42')).not.toBe(hash64(42));
  });

  it('rejects numbers that are not safe integers, and other types', () => {
    for (const bad of [1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]) {
      expect(() => hash64(bad), String(bad)).toThrow(TypeError);
    }
    expect(() => hash64(1.5)).toThrow(/shard key must be a string or a safe integer \(got: 1\.5\)/);
    expect(() => hash64({} as unknown as string)).toThrow(/shard key must be a string or a safe integer/);
    expect(() => bucketOf(10n as unknown as number, 4)).toThrow(/\(got: 10n\)/);
  });

  it('golden values: a hash change (which would re-shard every key) breaks this test', () => {
    const golden: [string | number, bigint][] = [
      ['user:1', 0xd9c7c4609e6080f3n],
      ['user:42', 0xdc1fea7da8d2d1c2n],
      ['order-2024-000017', 0x024cdf8f95a15369n],
      ['ünïcødé', 0x4d5abe0629525939n],
      ['tenant/acme/ab6e7c1d-33f5-4c0e-9b1a-9d7a7f5e2c11', 0x8b05734e1d1711f7n],
      [0, 0x34c96acdcadb1bbbn],
      [42, 0xb556806fb6d14353n],
      [-1, 0x85d136adb773c6c9n],
      [Number.MAX_SAFE_INTEGER, 0x9999941a8902253an],
    ];
    for (const [key, hash] of golden) expect(hash64(key), JSON.stringify(key)).toBe(hash);
  });
});

describe('jump consistent hash', () => {
  it('matches published test vectors', () => {
    // ClickHouse jumpConsistentHash tests and the Rust jump-consistent-hash crate docs.
    const vectors: [bigint, number, number][] = [
      [1n, 1, 0],
      [42n, 57, 43],
      [256n, 1024, 520],
      [3735883980n, 1, 0],
      [3735883980n, 666, 361],
      [16045690984833335023n, 255, 237],
      [0n, 60, 0],
      [1n, 60, 55],
      [2n, 60, 46],
    ];
    for (const [key, n, expected] of vectors) expect(jumpConsistentHashBigInt(key, n), `${key}, ${n}`).toBe(expected);
  });

  it('matches the BigInt reference for random keys and bucket counts', () => {
    const r = rng(5);
    for (let i = 0; i < 2000; i++) {
      const key = (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
      const n = i % 3 === 0 ? 1 + Math.floor(r() * 10) : 1 + Math.floor(r() * 100_000);
      expect(jumpConsistentHashBigInt(key, n)).toBe(refJump(key, n));
      expect(jumpConsistentHash(Number(key >> 32n) | 0, Number(key & 0xffffffffn) | 0, n)).toBe(refJump(key, n));
    }
    expect(jumpConsistentHashBigInt(M64, MAX_BUCKETS)).toBe(refJump(M64, MAX_BUCKETS));
  });

  it('rejects bucket counts outside [1, 2^31-1] and keys outside [0, 2^64)', () => {
    for (const n of [0, -1, 1.5, Number.NaN, MAX_BUCKETS + 1]) {
      expect(() => jumpConsistentHash(1, 2, n), String(n)).toThrow(RangeError);
      expect(() => bucketOf('k', n), String(n)).toThrow(/numBuckets must be an integer in \[1, 2147483647\]/);
    }
    expect(() => jumpConsistentHashBigInt(-1n, 4)).toThrow(RangeError);
    expect(() => jumpConsistentHashBigInt(1n << 64n, 4)).toThrow(RangeError);
  });

  it('a key either stays or moves to the new bucket when growing N -> N+1', () => {
    const r = rng(6);
    const violations: string[] = [];
    let moved = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = `k${Math.floor(r() * 1e12)}`;
      const n = 1 + (i % 70);
      const before = bucketOf(key, n);
      const after = bucketOf(key, n + 1);
      if (after !== before) moved++;
      if (after !== before && after !== n) violations.push(`${key}: ${before} -> ${after} with ${n} -> ${n + 1}`);
    }
    expect(violations).toEqual([]);
    expect(moved).toBeGreaterThan(0);
  });

  it('golden buckets: fixed keys map to fixed buckets', () => {
    const golden: [string | number, number, number][] = [
      // key, bucket of 16, bucket of 1000
      ['user:1', 2, 182],
      ['user:42', 12, 717],
      ['order-2024-000017', 9, 762],
      ['', 7, 332],
      ['ünïcødé', 3, 959],
      [0, 4, 321],
      [42, 12, 190],
      [-1, 12, 415],
    ];
    for (const [key, b16, b1000] of golden) {
      expect(bucketOf(key, 16), JSON.stringify(key)).toBe(b16);
      expect(bucketOf(key, 1000), JSON.stringify(key)).toBe(b1000);
    }
  });
});

describe('distribution and movement (200k keys)', () => {
  const KEYS = 200_000;
  const stringKeys = Array.from({ length: KEYS }, (_, i) => `user:${i}`);
  const numericKeys = Array.from({ length: KEYS }, (_, i) => i);

  const maxOverMean = (keys: readonly (string | number)[], n: number): number => {
    const counts = new Array<number>(n).fill(0);
    for (const k of keys) counts[bucketOf(k, n)]!++;
    return Math.max(...counts) / (keys.length / n);
  };

  it.each([4, 16, 64])('max/mean load <= 1.05 over %i shards (sequential string and numeric keys)', (n) => {
    expect(maxOverMean(stringKeys, n)).toBeLessThanOrEqual(1.05);
    expect(maxOverMean(numericKeys, n)).toBeLessThanOrEqual(1.05);
  });

  it.each([4, 8, 16])('moves close to 1/(N+1) of the keys from %i to N+1 shards, all to the new shard', (n) => {
    let moved = 0;
    let movedElsewhere = 0;
    for (const k of stringKeys) {
      const before = bucketOf(k, n);
      const after = bucketOf(k, n + 1);
      if (before !== after) {
        moved++;
        if (after !== n) movedElsewhere++;
      }
    }
    expect(movedElsewhere).toBe(0);
    const ideal = 1 / (n + 1);
    // Binomial noise at 200k keys is < 1% relative for these N; 3% keeps the test deterministic-safe.
    expect(Math.abs(moved / KEYS - ideal) / ideal).toBeLessThan(0.03);
  });
});
