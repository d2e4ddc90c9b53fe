import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import xxhash, { type XXHashAPI } from 'xxhash-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf, hashBackend, hash64, setHashBackend, xxHash64 } from '../../../lib/runtime/hash';
import { ShardRouter } from '../../../lib/runtime/shard-router';
import { GOLDEN_FIXTURE, goldenKeys, keysDigest, type GoldenFixture } from './shard-golden-keys';

// The key -> shard mapping is persisted (data lives on shards by it). These tests pin it bit for bit
// to golden values captured before the hashing was last optimised, and check XXH64 against two
// independent references: the xxHash sanity vectors and the xxhash-wasm package. Everything runs on
// both backends: WebAssembly (the default) and the pure-JS fallback.

const fixture = JSON.parse(readFileSync(GOLDEN_FIXTURE, 'utf8')) as GoldenFixture;
const keys = goldenKeys();

/** xxHash's own sanity buffer (xxhsum.c, BMK_sanityCheck): 101 bytes from a squaring generator. */
function sanityBuffer(): Uint8Array {
  const buf = new Uint8Array(101);
  let gen = 2654435761;
  for (let i = 0; i < buf.length; i++) {
    buf[i] = gen >>> 24;
    gen = Math.imul(gen, gen) >>> 0;
  }
  return buf;
}

const int64Bytes = (n: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(n), true);
  return b;
};

let wasm: XXHashAPI;
beforeAll(async () => {
  wasm = await xxhash();
});

it('uses the WebAssembly backend by default', () => {
  expect(hashBackend()).toBe('wasm');
});

describe.each(['wasm', 'js'] as const)('%s backend', (backend) => {
  beforeAll(() => {
    expect(setHashBackend(backend)).toBe(backend);
  });
  afterAll(() => {
    setHashBackend('wasm');
  });

  describe('XXH64 reference vectors', () => {
    it('matches the xxHash sanity-check vectors (xxhsum BMK_sanityCheck, seed 0)', () => {
      const buf = sanityBuffer();
      const vectors: [number, bigint][] = [
        [0, 0xef46db3751d8e999n],
        [1, 0x4fce394cc88952d8n],
        [4, 0x9256e58aa397aef1n],
        [8, 0xf74cb1451b32b8cfn],
        [14, 0xcffa8db881bc3a3dn],
        [32, 0xaf5753d39159edeen],
        [101, 0x0eab543384f878adn],
      ];
      for (const [len, expected] of vectors) {
        expect(xxHash64(buf.subarray(0, len)), `length ${len}`).toBe(expected);
        expect(wasm.h64Raw(buf.subarray(0, len)), `xxhash-wasm, length ${len}`).toBe(expected);
      }
    });

    it('matches xxhash-wasm for random bytes of every length 0..300', () => {
      let seed = 7;
      const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
      for (let len = 0; len <= 300; len++) {
        const bytes = new Uint8Array(len);
        for (let i = 0; i < len; i++) bytes[i] = next();
        expect(xxHash64(bytes), `length ${len}`).toBe(wasm.h64Raw(bytes));
      }
    });

    it('matches xxhash-wasm (UTF-8 via TextEncoder) for every golden key', () => {
      const mismatches: string[] = [];
      for (const k of keys) {
        const expected = typeof k === 'string' ? wasm.h64(k) : wasm.h64Raw(int64Bytes(k));
        if (hash64(k) !== expected) mismatches.push(JSON.stringify(k));
      }
      expect(mismatches).toEqual([]);
    });
  });

  describe('golden key -> shard vectors', () => {
    it('uses the same keys the fixture was captured from', () => {
      expect(keys.length).toBe(fixture.keyCount);
      expect(keysDigest(keys)).toBe(fixture.keysSha256);
      expect(fixture.rows.length).toBe(keys.length);
    });

    it('hash64 and bucketOf reproduce every golden row', () => {
      const mismatches: string[] = [];
      keys.forEach((k, i) => {
        const row = [hash64(k).toString(16).padStart(16, '0'), ...fixture.bucketCounts.map((n) => bucketOf(k, n))].join(' ');
        if (row !== fixture.rows[i]) mismatches.push(`${JSON.stringify(k)}: got ${row}, golden ${fixture.rows[i]}`);
      });
      expect(mismatches).toEqual([]);
    });

    it('the router puts every golden key on its golden shard', () => {
      const mismatches: string[] = [];
      fixture.bucketCounts.forEach((n, column) => {
        if (n > 1000) return; // a router needs one entry per shard
        const router = ShardRouter.fromShardMap({ version: 1, strategy: 'hash', shards: Array.from({ length: n }, (_, i) => ({ id: `s${i}` })) });
        keys.forEach((k, i) => {
          const golden = Number(fixture.rows[i]!.split(' ')[1 + column]);
          if (router.bucketFor(k) !== golden || router.shardFor(k).id !== `s${golden}`) mismatches.push(`${JSON.stringify(k)} with ${n} shards`);
        });
      });
      expect(mismatches).toEqual([]);
    });

    it('gives the same answers in any order (warm paths, alternating key shapes)', () => {
      // Reverse order, strings and numbers interleaved: a key shape arriving after the hash functions
      // were optimised for another must not change any result.
      const mismatches: string[] = [];
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        const j = keys.length - 1 - i;
        const other = keys[j]!;
        const row = fixture.rows[i]!.split(' ');
        if (hash64(k).toString(16).padStart(16, '0') !== row[0] || bucketOf(k, 16) !== Number(row[1 + fixture.bucketCounts.indexOf(16)])) {
          mismatches.push(JSON.stringify(k));
        }
        if (bucketOf(other, 1000) !== Number(fixture.rows[j]!.split(' ')[1 + fixture.bucketCounts.indexOf(1000)])) mismatches.push(JSON.stringify(other));
      }
      expect(mismatches).toEqual([]);
    });

    it('still refuses what it refused: non-safe-integer numbers, bigint, Buffers', () => {
      for (const bad of [0.5, 2 ** 53, Number.NaN, 1n, Buffer.from('ab'), new Uint8Array(2), null, undefined]) {
        expect(() => bucketOf(bad as unknown as string, 16), String(bad)).toThrow(TypeError);
        expect(() => hash64(bad as unknown as string), String(bad)).toThrow(/shard key must be a string or a safe integer/);
      }
    });

    it('hashes keys longer than the WebAssembly memory first holds (it grows), then short ones again', () => {
      const long = ['k'.repeat(30_000), '\u4e2d'.repeat(30_000), `${'a'.repeat(70_000)}\ud800`, 'x'.repeat(200_003)];
      for (const k of long) expect(hash64(k), `${k.length} chars`).toBe(wasm.h64(k));
      const bytes = new Uint8Array(300_001).map((_, i) => (i * 31) & 0xff);
      expect(xxHash64(bytes)).toBe(wasm.h64Raw(bytes));
      keys.slice(0, 50).forEach((k, i) => expect(hash64(k).toString(16).padStart(16, '0')).toBe(fixture.rows[i]!.split(' ')[0]));
    });
  });
});

describe('WebAssembly backend loading', () => {
  const entry = join(__dirname, '..', '..', '..', 'lib', 'runtime', 'index.ts');
  const run = (flags: string[], script: string): Record<string, unknown> =>
    JSON.parse(execFileSync(process.execPath, [...flags, '--import', 'tsx', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Record<string, unknown>;

  it('compiles nothing at import, and the ~1 KB module once, synchronously, on first use', () => {
    const out = run(
      [],
      `
      let compiled = 0;
      const Module = WebAssembly.Module;
      WebAssembly.Module = function (bytes) { compiled++; return new Module(bytes); };
      const runtime = require(${JSON.stringify(entry)});
      const atImport = compiled;
      const bucket = runtime.bucketOf('user:1', 16);
      runtime.ShardRouter.fromShardMap({ version: 1, strategy: 'hash', shards: [{ id: 'a' }, { id: 'b' }] }).shardFor(42);
      process.stdout.write(JSON.stringify({ atImport, afterUse: compiled, bucket }));
    `,
    );
    expect(out).toEqual({ atImport: 0, afterUse: 1, bucket: 2 });
  });

  it('falls back to pure JS, with the same results, where WebAssembly is unavailable (node --jitless)', () => {
    const out = run(
      ['--jitless'],
      `
      const hash = require(${JSON.stringify(join(__dirname, '..', '..', '..', 'lib', 'runtime', 'hash.ts'))});
      const rows = ['user:1', 'ünïcødé', '\ud800', 42, -1].map((k) => hash.hash64(k).toString(16) + ' ' + hash.bucketOf(k, 1000));
      process.stdout.write(JSON.stringify({ wasm: typeof WebAssembly, backend: hash.hashBackend(), rows }));
    `,
    );
    const expected = ['user:1', 'ünïcødé', '\ud800', 42, -1].map((k) => `${hash64(k).toString(16)} ${bucketOf(k, 1000)}`);
    expect(out).toEqual({ wasm: 'undefined', backend: 'js', rows: expected });
  });
});
