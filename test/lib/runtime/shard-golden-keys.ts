/**
 * The key set behind `test/fixtures/shard-golden.json`: golden hashes and buckets captured from the
 * hashing as it was before the lookup-speed work of issue 17, so that any later change to
 * `lib/runtime/hash.ts` is checked against the persisted key -> shard contract, bit for bit.
 *
 * The keys are generated (deterministically) rather than stored, so that they reach the hash
 * functions in the string representations real keys have (concatenated, sliced, one- and two-byte
 * strings); the fixture stores a digest of the key list, so a changed generator fails the test
 * instead of silently testing other keys.
 *
 * Regenerate the fixture ONLY with a hash implementation known to be the contract (it is the
 * contract: data lives on shards by it): `npx tsx test/lib/runtime/shard-golden-keys.ts --write`.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Bucket counts recorded per key (1 and 2^31-1 are the extremes `bucketOf` accepts). */
export const GOLDEN_BUCKET_COUNTS = [1, 2, 3, 5, 16, 17, 64, 100, 1000, 65_536, 2_147_483_647] as const;

/** Where the fixture lives. */
export const GOLDEN_FIXTURE = path.resolve(__dirname, '..', '..', 'fixtures', 'shard-golden.json');

/** The fixture's shape: one row per key, `"<hash64 hex> <bucket for each GOLDEN_BUCKET_COUNTS>"`. */
export interface GoldenFixture {
  description: string;
  keyCount: number;
  keysSha256: string;
  bucketCounts: number[];
  rows: string[];
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BENCH_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789:-_';

/** Code units mixing every UTF-8 length class, surrogate pairs and lone surrogates. */
const UNICODE_UNITS = [
  'a', 'Z', '0', ' ', '~', '\u0000', '\u007f', '\u0080', '\u00e9', '\u00ff', '\u0100', '\u07ff', '\u0800', '\u20ac',
  '\u4e2d', '\ud7ff', '\ue000', '\ufffd', '\uffff', '\ud83d\ude00', '\ud834\udd1e', '\udbff\udfff', '\ud800\udc00',
  '\ud800', '\udbff', '\udc00', '\udfff',
];

/**
 * The golden keys, in a fixed order. Strings of every length 0..300 (ASCII of several alphabets,
 * Latin-1, mixed Unicode with lone surrogates), ASCII prefixes followed by one non-ASCII char,
 * strings in non-flat representations, and safe integers (edges, powers of two, random).
 */
export function goldenKeys(): (string | number)[] {
  const keys: (string | number)[] = [];
  const r = rng(0x5eed17);
  const pick = (s: string): string => s[Math.floor(r() * s.length)]!;
  for (let len = 0; len <= 300; len++) {
    let printable = '';
    let any7bit = '';
    let bench = '';
    let latin1 = '';
    let uni1 = '';
    let uni2 = '';
    for (let i = 0; i < len; i++) {
      printable += String.fromCharCode(0x20 + Math.floor(r() * 95));
      any7bit += String.fromCharCode(Math.floor(r() * 0x80));
      bench += pick(BENCH_ALPHABET);
      latin1 += String.fromCharCode(Math.floor(r() * 0x100));
      uni1 += UNICODE_UNITS[Math.floor(r() * UNICODE_UNITS.length)]!;
      // Mostly ASCII with the occasional non-ASCII unit, like real keys.
      uni2 += r() < 0.9 ? pick(BENCH_ALPHABET) : UNICODE_UNITS[Math.floor(r() * UNICODE_UNITS.length)]!;
    }
    keys.push(printable, any7bit, bench, latin1, uni1, uni2);
  }
  // An ASCII prefix of every length 0..100, one non-ASCII unit (cycling through the classes), an ASCII tail.
  for (let p = 0; p <= 100; p++) {
    const unit = UNICODE_UNITS[5 + (p % (UNICODE_UNITS.length - 5))]!;
    keys.push(`${'k'.repeat(p)}${unit}${'x'.repeat(p % 13)}`);
  }
  // Lone and misordered surrogates at the edges.
  keys.push('\ud800', '\udc00', '\ud83d', '\ude00', '\ude00\ud83d', 'a\ud800', '\udfffb', '\ud800\ud800', '\udc00\udc00', `${'y'.repeat(31)}\ud800`, `${'y'.repeat(32)}\udc00z`);
  // Non-flat string representations: concatenations, slices, ASCII-only two-byte strings.
  const long = `${'prefix-'.repeat(20)}${BENCH_ALPHABET.repeat(8)}`;
  const twoByte = `\u4e2d${BENCH_ALPHABET.repeat(8)}`;
  for (let len = 1; len <= 120; len += 7) {
    keys.push(long.slice(3, 3 + len)); // sliced (long enough ones)
    keys.push(twoByte.slice(1, 1 + len)); // ASCII content, possibly in a two-byte representation
    keys.push(`${'user:'}${long.slice(0, len)}${String(len)}`); // concatenation (cons string)
  }
  // Safe integers.
  keys.push(0, -0, 1, -1, 42, -42, 255, 256, 65_535, 65_536, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER);
  for (let k = 0; k <= 53; k++) {
    for (const v of [2 ** k, 2 ** k - 1, 2 ** k + 1]) {
      if (Number.isSafeInteger(v)) keys.push(v, -v);
    }
  }
  for (let i = 0; i <= 200; i++) keys.push(i);
  for (let i = 0; i < 400; i++) {
    const scale = [2 ** 16, 2 ** 31, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER][i % 5]!;
    keys.push(Math.floor((r() - 0.5) * 2 * scale));
  }
  return keys;
}

/** SHA-256 of the key list with each key's type, so a changed generator is noticed. */
export function keysDigest(keys: readonly (string | number)[]): string {
  const h = createHash('sha256');
  for (const k of keys) h.update(`${typeof k}:${JSON.stringify(Object.is(k, -0) ? '-0' : k)}\n`);
  return h.digest('hex');
}

async function write(): Promise<void> {
  const { bucketOf, hash64 } = await import('../../../lib/runtime/hash');
  const keys = goldenKeys();
  const rows = keys.map((k) => [hash64(k).toString(16).padStart(16, '0'), ...GOLDEN_BUCKET_COUNTS.map((n) => bucketOf(k, n))].join(' '));
  const fixture: GoldenFixture = {
    description:
      'Golden XXH64 hashes and jump-hash buckets of the keys from test/lib/runtime/shard-golden-keys.ts, captured from lib/runtime/hash.ts before the issue-17 lookup-speed changes. The key -> shard mapping is a persisted contract: never regenerate this to make a test pass.',
    keyCount: keys.length,
    keysSha256: keysDigest(keys),
    bucketCounts: [...GOLDEN_BUCKET_COUNTS],
    rows,
  };
  writeFileSync(GOLDEN_FIXTURE, `${JSON.stringify(fixture, null, 1)}\n`);
  console.log(`wrote ${keys.length} golden keys to ${GOLDEN_FIXTURE}`);
}

if (require.main === module && process.argv.includes('--write')) void write();
