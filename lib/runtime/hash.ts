/**
 * Key hashing for the sharding runtime.
 *
 * Two building blocks:
 *
 * - **xxHash64** (seed 0) of the key's canonical byte encoding. The output is bit-for-bit the
 *   reference XXH64, so any other language can recompute a key's hash with a stock xxHash
 *   library (e.g. Python `xxhash.xxh64(key.encode()).intdigest()`, ClickHouse `xxHash64(key)`).
 * - **Jump consistent hashing** (Lamping & Veach, 2014, https://arxiv.org/abs/1406.2294)
 *   mapping that 64-bit hash to a bucket in `[0, N)`. Growing from N to N+1 buckets moves only
 *   the ~1/(N+1) of keys that land in the new bucket.
 *
 * Canonical key encoding (this is the contract; changing it re-shards every key):
 *
 * - `string`: its UTF-8 bytes (lone surrogates encode as U+FFFD, like `TextEncoder`).
 * - `number`: must be a safe integer (`Number.isSafeInteger`); encoded as the 8-byte
 *   little-endian two's-complement int64 (so `-0` hashes like `0`). Other numbers (fractions,
 *   NaN, ±Infinity, integers beyond 2^53) throw: pass such keys as strings instead.
 *
 * The string key `"42"` and the number key `42` therefore hash differently: always use the same
 * JavaScript type for the same logical key.
 *
 * All 64-bit arithmetic is done on pairs of signed 32-bit integers (`Math.imul`, shifts), since
 * `BigInt` is an order of magnitude too slow for a per-request lookup. The internal hash functions
 * return the low word of their result and leave the high word in a module-level register `H`, so
 * nothing is allocated per lookup.
 *
 * Two backends compute them, with identical results (the tests run golden vectors through both):
 *
 * - **WebAssembly** (default; `hash-wasm.ts`): a ~1 KB module, assembled and compiled synchronously
 *   on the first hash (not at import), does XXH64 and the jump hash on native 64-bit integers. String
 *   keys are copied into its memory: with `charCodeAt` below 24 chars, with
 *   `TextEncoder.encodeInto` from 24 on (which also does the UTF-8 encoding). Number keys stay on
 *   the JS path (one XXH64 round: the call into WebAssembly would cost what it saves).
 * - **pure JS** (below): the fallback where WebAssembly is unavailable (e.g. `node --jitless`).
 *   ASCII keys are read straight from the string with `charCodeAt`; non-ASCII keys are UTF-8
 *   encoded into a reusable buffer first.
 *
 * Performance: see `bench/shard-router.bench.ts` and `docs/sharding.md`.
 *
 * @module
 */

import { instantiateHashWasm, type HashWasm } from './hash-wasm';

// ---------------------------------------------------------------------------------------------
// 64-bit arithmetic on (hi, lo) int32 pairs.
//
// A 64-bit value is two signed int32 locals. The low word of a product is just
// `Math.imul(aL, bL)`; `mulHi` returns the high word. Everything stays in int32 registers: no
// heap numbers, no BigInt. The hot paths (xxh64Ascii, xxh64Int64) expand `mulHi` by hand.
// ---------------------------------------------------------------------------------------------

/** High 32 bits of (aH:aL) * (bH:bL) mod 2^64. The low 32 bits are `Math.imul(aL, bL)`. */
function mulHi(aH: number, aL: number, bH: number, bL: number): number {
  const a0 = aL & 0xffff;
  const a1 = aL >>> 16;
  const b0 = bL & 0xffff;
  const b1 = bL >>> 16;
  // 16x16-bit partial products; each fits in 32 bits, imul returns its bit pattern.
  const p00 = Math.imul(a0, b0);
  const p01 = Math.imul(a0, b1);
  const p10 = Math.imul(a1, b0);
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  // high word of the unsigned aL*bL, plus the cross terms (only their low 32 bits matter)
  return (Math.imul(a1, b1) + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(aL, bH) + Math.imul(aH, bL)) | 0;
}

/**
 * Carry out of the low-word addition `sum = (a + b) | 0`: 1 if it wrapped past 2^32, else 0.
 * Branch-free on purpose: the carry of hashed data is a coin toss, and a `? 1 : 0` compiles to a
 * branch that mispredicts half the time (measured 5x slower per addition).
 */
function carry(a: number, b: number, sum: number): number {
  return ((a & b) | ((a | b) & ~sum)) >>> 31;
}

// xxHash64 primes, split into (hi, lo) int32 halves.
const P1H = 0x9e3779b1 | 0;
const P1L = 0x85ebca87 | 0;
const P2H = 0xc2b2ae3d | 0;
const P2L = 0x27d4eb4f | 0;
const P3H = 0x165667b1 | 0;
const P3L = 0x9e3779f9 | 0;
const P4H = 0x85ebca77 | 0;
const P4L = 0xc2b2ae63 | 0;
const P5H = 0x27d4eb2f | 0;
const P5L = 0x165667c5 | 0;

// 16-bit halves of the primes' low words, for the hand-inlined multiplies.
const P1L0 = P1L & 0xffff;
const P1L1 = P1L >>> 16;
const P2L0 = P2L & 0xffff;
const P2L1 = P2L >>> 16;
const P3L0 = P3L & 0xffff;
const P3L1 = P3L >>> 16;
const P5L0 = P5L & 0xffff;
const P5L1 = P5L >>> 16;

// Initial accumulators for seed 0: v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1.
const V1L = (P1L + P2L) | 0;
const V1H = (P1H + P2H + carry(P1L, P2L, V1L)) | 0;
const V4L = -P1L | 0;
const V4H = (~P1H + (V4L === 0 ? 1 : 0)) | 0;

/**
 * Result register for the 64-bit hash functions below: they return the low word and store the
 * high word here. Written once per hash (not per arithmetic step), so it costs one store.
 */
let H = 0;

/** XXH64 final avalanche of (h:l). Returns the low word, high in `H`. */
function avalanche(h: number, l: number): number {
  l ^= h >>> 1; // h ^= h >>> 33
  let nh = mulHi(h, l, P2H, P2L); // h *= P2
  let nl = Math.imul(l, P2L);
  nl ^= (nl >>> 29) | (nh << 3); // h ^= h >>> 29
  nh ^= nh >>> 29;
  h = mulHi(nh, nl, P3H, P3L); // h *= P3
  l = Math.imul(nl, P3L);
  H = h;
  return l ^ h; // h ^= h >>> 32
}

/**
 * `String.prototype.charCodeAt`, called as `charCodeAt.call(s, i)` in the hot path instead of
 * `s.charCodeAt(i)`. Keys arrive in several internal string representations (flat, concatenated,
 * sliced, one- or two-byte), each with its own V8 map; with `s.charCodeAt` every call site's
 * property-load cache turns megamorphic and V8 stops inlining the builtin, halving throughput.
 * Calling the function directly needs no receiver-map feedback, so it always inlines.
 */
const charCodeAt = String.prototype.charCodeAt;

/**
 * `s.length`, read without an inline cache. A `.length` load caches the receiver's map, and keys
 * arrive in many string representations (flat, concatenated, sliced, thin, one- or two-byte,
 * internalized: a map each), so every plain `s.length` on the hot path goes megamorphic
 * ({@link primeHashPaths} alone makes it so) and optimized code then calls V8's generic lookup stub
 * for each key. `s + ''` is `s` itself, but with "string" type feedback: TurboFan checks once that
 * `s` is a string and then reads the length field directly. Measured: the two megamorphic loads
 * of a lookup cost ~6 ns each.
 */
function stringLength(s: string): number {
  return (s + '').length;
}

/**
 * OR of all char codes of the last string given to {@link xxh64Ascii}: `>= 0x80` means it was not
 * pure ASCII and its result must be discarded.
 */
let charBits = 0;

/**
 * XXH64 (seed 0) of the string `s`, reading its char codes directly as bytes (no copy, no
 * allocation). Only valid for pure-ASCII strings: it sets {@link charBits}, and the caller
 * re-hashes the key through its UTF-8 encoding when that shows a char >= 0x80. (Making that call
 * from in here would put a never-taken call in this huge function; the first non-ASCII key would
 * then deoptimize it, and re-optimizing it takes V8 a long time.) Returns the low word, high in `H`.
 *
 * Hot path: `mulHi` is expanded by hand at every use (blocks commented `x = hi32(...)`), because
 * ~30 call sites exceed V8's cumulative inlining budget and the calls would dominate the cost.
 * It is the same algorithm as {@link xxh64Bytes}, which is written with the helpers; the tests
 * check both against a BigInt reference implementation and the published XXH64 vectors.
 */
function xxh64Ascii(s: string): number {
  const len = stringLength(s);
  let p = 0;
  // OR of every char code read: >= 0x80 means the key is not pure ASCII (see charBits).
  let na = 0;
  let c0: number;
  let c1: number;
  let c2: number;
  let c3: number;
  let h: number;
  let l: number;
  let iH: number;
  let iL: number;
  let m: number;
  let tH: number;
  let tL: number;
  let rH: number;
  let rL: number;
  let a0: number;
  let a1: number;
  let p00: number;
  let p01: number;
  let p10: number;
  if (len >= 32) {
    let v1h = V1H;
    let v1l = V1L;
    let v2h = P2H;
    let v2l = P2L;
    let v3h = 0;
    let v3l = 0;
    let v4h = V4H;
    let v4l = V4L;
    const limit = len - 32;
    do {
      // lane v1: v1 = rotl(v1 + input * P2, 31) * P1
      c0 = charCodeAt.call(s, p);
      c1 = charCodeAt.call(s, p + 1);
      c2 = charCodeAt.call(s, p + 2);
      c3 = charCodeAt.call(s, p + 3);
      iL = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      na |= c0 | c1 | c2 | c3;
      c0 = charCodeAt.call(s, p + 4);
      c1 = charCodeAt.call(s, p + 5);
      c2 = charCodeAt.call(s, p + 6);
      c3 = charCodeAt.call(s, p + 7);
      iH = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      na |= c0 | c1 | c2 | c3;
      // tH = hi32((iH:iL) * P2)
      a0 = iL & 0xffff;
      a1 = iL >>> 16;
      p00 = Math.imul(a0, P2L0);
      p01 = Math.imul(a0, P2L1);
      p10 = Math.imul(a1, P2L0);
      tH =
        (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
          Math.imul(iL, P2H) +
          Math.imul(iH, P2L)) |
        0;
      m = Math.imul(iL, P2L);
      tL = (v1l + m) | 0;
      tH = (v1h + tH + (((v1l & m) | ((v1l | m) & ~tL)) >>> 31)) | 0;
      rH = (tH << 31) | (tL >>> 1);
      rL = (tL << 31) | (tH >>> 1);
      // v1h = hi32((rH:rL) * P1)
      a0 = rL & 0xffff;
      a1 = rL >>> 16;
      p00 = Math.imul(a0, P1L0);
      p01 = Math.imul(a0, P1L1);
      p10 = Math.imul(a1, P1L0);
      v1h =
        (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
          Math.imul(rL, P1H) +
          Math.imul(rH, P1L)) |
        0;
      v1l = Math.imul(rL, P1L);
      // lane v2: v2 = rotl(v2 + input * P2, 31) * P1
      c0 = charCodeAt.call(s, p + 8);
      c1 = charCodeAt.call(s, p + 9);
      c2 = charCodeAt.call(s, p + 10);
      c3 = charCodeAt.call(s, p + 11);
      iL = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      na |= c0 | c1 | c2 | c3;
      c0 = charCodeAt.call(s, p + 12);
      c1 = charCodeAt.call(s, p + 13);
      c2 = charCodeAt.call(s, p + 14);
      c3 = charCodeAt.call(s, p + 15);
      iH = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      na |= c0 | c1 | c2 | c3;
      // tH = hi32((iH:iL) * P2)
      a0 = iL & 0xffff;
      a1 = iL >>> 16;
      p00 = Math.imul(a0, P2L0);
      p01 = Math.imul(a0, P2L1);
      p10 = Math.imul(a1, P2L0);
      tH =
        (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
          Math.imul(iL, P2H) +
          Math.imul(iH, P2L)) |
        0;
      m = Math.imul(iL, P2L);
      tL = (v2l + m) | 0;
      tH = (v2h + tH + (((v2l & m) | ((v2l | m) & ~tL)) >>> 31)) | 0;
      rH = (tH << 31) | (tL >>> 1);
      rL = (tL << 31) | (tH >>> 1);
      // v2h = hi32((rH:rL) * P1)
      a0 = rL & 0xffff;
      a1 = rL >>> 16;
      p00 = Math.imul(a0, P1L0);
      p01 = Math.imul(a0, P1L1);
      p10 = Math.imul(a1, P1L0);
      v2h =
        (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
          Math.imul(rL, P1H) +
          Math.imul(rH, P1L)) |
        0;
      v2l = Math.imul(rL, P1L);
      // lane v3: v3 = rotl(v3 + input * P2, 31) * P1
      c0 = charCodeAt.call(s, p + 16);
      c1 = charCodeAt.call(s, p + 17);
      c2 = charCodeAt.call(s, p + 18);
      c3 = charCodeAt.call(s, p + 19);
      iL = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      na |= c0 | c1 | c2 | c3;
      c0 = charCodeAt.call(s, p + 20);
      c1 = charCodeAt.call(s, p + 21);
      c2 = charCodeAt.call(s, p + 22);
      c3 = charCodeAt.call(s, p + 23);
      iH = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      na |= c0 | c1 | c2 | c3;
      // tH = hi32((iH:iL) * P2)
      a0 = iL & 0xffff;
      a1 = iL >>> 16;
      p00 = Math.imul(a0, P2L0);
      p01 = Math.imul(a0, P2L1);
      p10 = Math.imul(a1, P2L0);
      tH =
        (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
          Math.imul(iL, P2H) +
          Math.imul(iH, P2L)) |
        0;
      m = Math.imul(iL, P2L);
      tL = (v3l + m) | 0;
      tH = (v3h + tH + (((v3l & m) | ((v3l | m) & ~tL)) >>> 31)) | 0;
      rH = (tH << 31) | (tL >>> 1);
      rL = (tL << 31) | (tH >>> 1);
      // v3h = hi32((rH:rL) * P1)
      a0 = rL & 0xffff;
      a1 = rL >>> 16;
      p00 = Math.imul(a0, P1L0);
      p01 = Math.imul(a0, P1L1);
      p10 = Math.imul(a1, P1L0);
      v3h =
        (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
          Math.imul(rL, P1H) +
          Math.imul(rH, P1L)) |
        0;
      v3l = Math.imul(rL, P1L);
      // lane v4: v4 = rotl(v4 + input * P2, 31) * P1
      c0 = charCodeAt.call(s, p + 24);
      c1 = charCodeAt.call(s, p + 25);
      c2 = charCodeAt.call(s, p + 26);
      c3 = charCodeAt.call(s, p + 27);
      iL = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      na |= c0 | c1 | c2 | c3;
      c0 = charCodeAt.call(s, p + 28);
      c1 = charCodeAt.call(s, p + 29);
      c2 = charCodeAt.call(s, p + 30);
      c3 = charCodeAt.call(s, p + 31);
      iH = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      na |= c0 | c1 | c2 | c3;
      // tH = hi32((iH:iL) * P2)
      a0 = iL & 0xffff;
      a1 = iL >>> 16;
      p00 = Math.imul(a0, P2L0);
      p01 = Math.imul(a0, P2L1);
      p10 = Math.imul(a1, P2L0);
      tH =
        (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
          Math.imul(iL, P2H) +
          Math.imul(iH, P2L)) |
        0;
      m = Math.imul(iL, P2L);
      tL = (v4l + m) | 0;
      tH = (v4h + tH + (((v4l & m) | ((v4l | m) & ~tL)) >>> 31)) | 0;
      rH = (tH << 31) | (tL >>> 1);
      rL = (tL << 31) | (tH >>> 1);
      // v4h = hi32((rH:rL) * P1)
      a0 = rL & 0xffff;
      a1 = rL >>> 16;
      p00 = Math.imul(a0, P1L0);
      p01 = Math.imul(a0, P1L1);
      p10 = Math.imul(a1, P1L0);
      v4h =
        (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
          Math.imul(rL, P1H) +
          Math.imul(rH, P1L)) |
        0;
      v4l = Math.imul(rL, P1L);
      p += 32;
    } while (p <= limit);
    // h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)
    h = (v1h << 1) | (v1l >>> 31);
    l = (v1l << 1) | (v1h >>> 31);
    rH = (v2h << 7) | (v2l >>> 25);
    rL = (v2l << 7) | (v2h >>> 25);
    tL = (l + rL) | 0;
    h = (h + rH + (((l & rL) | ((l | rL) & ~tL)) >>> 31)) | 0;
    l = tL;
    rH = (v3h << 12) | (v3l >>> 20);
    rL = (v3l << 12) | (v3h >>> 20);
    tL = (l + rL) | 0;
    h = (h + rH + (((l & rL) | ((l | rL) & ~tL)) >>> 31)) | 0;
    l = tL;
    rH = (v4h << 18) | (v4l >>> 14);
    rL = (v4l << 18) | (v4h >>> 14);
    tL = (l + rL) | 0;
    h = (h + rH + (((l & rL) | ((l | rL) & ~tL)) >>> 31)) | 0;
    l = tL;
    // merge v1: h = (h ^ round(0, v1)) * P1 + P4
    // tH = hi32((v1h:v1l) * P2)
    a0 = v1l & 0xffff;
    a1 = v1l >>> 16;
    p00 = Math.imul(a0, P2L0);
    p01 = Math.imul(a0, P2L1);
    p10 = Math.imul(a1, P2L0);
    tH =
      (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(v1l, P2H) +
        Math.imul(v1h, P2L)) |
      0;
    tL = Math.imul(v1l, P2L);
    rH = (tH << 31) | (tL >>> 1);
    rL = (tL << 31) | (tH >>> 1);
    // h ^= hi32((rH:rL) * P1)
    a0 = rL & 0xffff;
    a1 = rL >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    h ^=
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(rL, P1H) +
        Math.imul(rH, P1L)) |
      0;
    l ^= Math.imul(rL, P1L);
    // tH = hi32((h:l) * P1)
    a0 = l & 0xffff;
    a1 = l >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    tH =
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(l, P1H) +
        Math.imul(h, P1L)) |
      0;
    tL = Math.imul(l, P1L);
    l = (tL + P4L) | 0;
    h = (tH + P4H + (((tL & P4L) | ((tL | P4L) & ~l)) >>> 31)) | 0;
    // merge v2: h = (h ^ round(0, v2)) * P1 + P4
    // tH = hi32((v2h:v2l) * P2)
    a0 = v2l & 0xffff;
    a1 = v2l >>> 16;
    p00 = Math.imul(a0, P2L0);
    p01 = Math.imul(a0, P2L1);
    p10 = Math.imul(a1, P2L0);
    tH =
      (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(v2l, P2H) +
        Math.imul(v2h, P2L)) |
      0;
    tL = Math.imul(v2l, P2L);
    rH = (tH << 31) | (tL >>> 1);
    rL = (tL << 31) | (tH >>> 1);
    // h ^= hi32((rH:rL) * P1)
    a0 = rL & 0xffff;
    a1 = rL >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    h ^=
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(rL, P1H) +
        Math.imul(rH, P1L)) |
      0;
    l ^= Math.imul(rL, P1L);
    // tH = hi32((h:l) * P1)
    a0 = l & 0xffff;
    a1 = l >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    tH =
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(l, P1H) +
        Math.imul(h, P1L)) |
      0;
    tL = Math.imul(l, P1L);
    l = (tL + P4L) | 0;
    h = (tH + P4H + (((tL & P4L) | ((tL | P4L) & ~l)) >>> 31)) | 0;
    // merge v3: h = (h ^ round(0, v3)) * P1 + P4
    // tH = hi32((v3h:v3l) * P2)
    a0 = v3l & 0xffff;
    a1 = v3l >>> 16;
    p00 = Math.imul(a0, P2L0);
    p01 = Math.imul(a0, P2L1);
    p10 = Math.imul(a1, P2L0);
    tH =
      (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(v3l, P2H) +
        Math.imul(v3h, P2L)) |
      0;
    tL = Math.imul(v3l, P2L);
    rH = (tH << 31) | (tL >>> 1);
    rL = (tL << 31) | (tH >>> 1);
    // h ^= hi32((rH:rL) * P1)
    a0 = rL & 0xffff;
    a1 = rL >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    h ^=
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(rL, P1H) +
        Math.imul(rH, P1L)) |
      0;
    l ^= Math.imul(rL, P1L);
    // tH = hi32((h:l) * P1)
    a0 = l & 0xffff;
    a1 = l >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    tH =
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(l, P1H) +
        Math.imul(h, P1L)) |
      0;
    tL = Math.imul(l, P1L);
    l = (tL + P4L) | 0;
    h = (tH + P4H + (((tL & P4L) | ((tL | P4L) & ~l)) >>> 31)) | 0;
    // merge v4: h = (h ^ round(0, v4)) * P1 + P4
    // tH = hi32((v4h:v4l) * P2)
    a0 = v4l & 0xffff;
    a1 = v4l >>> 16;
    p00 = Math.imul(a0, P2L0);
    p01 = Math.imul(a0, P2L1);
    p10 = Math.imul(a1, P2L0);
    tH =
      (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(v4l, P2H) +
        Math.imul(v4h, P2L)) |
      0;
    tL = Math.imul(v4l, P2L);
    rH = (tH << 31) | (tL >>> 1);
    rL = (tL << 31) | (tH >>> 1);
    // h ^= hi32((rH:rL) * P1)
    a0 = rL & 0xffff;
    a1 = rL >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    h ^=
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(rL, P1H) +
        Math.imul(rH, P1L)) |
      0;
    l ^= Math.imul(rL, P1L);
    // tH = hi32((h:l) * P1)
    a0 = l & 0xffff;
    a1 = l >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    tH =
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(l, P1H) +
        Math.imul(h, P1L)) |
      0;
    tL = Math.imul(l, P1L);
    l = (tL + P4L) | 0;
    h = (tH + P4H + (((tL & P4L) | ((tL | P4L) & ~l)) >>> 31)) | 0;
  } else {
    h = P5H;
    l = P5L;
  }
  // h += len
  tL = (l + len) | 0;
  h = (h + (((l & len) | ((l | len) & ~tL)) >>> 31)) | 0;
  l = tL;
  while (p + 8 <= len) {
    c0 = charCodeAt.call(s, p);
    c1 = charCodeAt.call(s, p + 1);
    c2 = charCodeAt.call(s, p + 2);
    c3 = charCodeAt.call(s, p + 3);
    iL = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    na |= c0 | c1 | c2 | c3;
    c0 = charCodeAt.call(s, p + 4);
    c1 = charCodeAt.call(s, p + 5);
    c2 = charCodeAt.call(s, p + 6);
    c3 = charCodeAt.call(s, p + 7);
    iH = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    na |= c0 | c1 | c2 | c3;
    // h ^= round(0, input) = rotl(input * P2, 31) * P1
    // tH = hi32((iH:iL) * P2)
    a0 = iL & 0xffff;
    a1 = iL >>> 16;
    p00 = Math.imul(a0, P2L0);
    p01 = Math.imul(a0, P2L1);
    p10 = Math.imul(a1, P2L0);
    tH =
      (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(iL, P2H) +
        Math.imul(iH, P2L)) |
      0;
    tL = Math.imul(iL, P2L);
    rH = (tH << 31) | (tL >>> 1);
    rL = (tL << 31) | (tH >>> 1);
    // h ^= hi32((rH:rL) * P1)
    a0 = rL & 0xffff;
    a1 = rL >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    h ^=
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(rL, P1H) +
        Math.imul(rH, P1L)) |
      0;
    l ^= Math.imul(rL, P1L);
    // h = rotl(h, 27) * P1 + P4
    rH = (h << 27) | (l >>> 5);
    rL = (l << 27) | (h >>> 5);
    // tH = hi32((rH:rL) * P1)
    a0 = rL & 0xffff;
    a1 = rL >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    tH =
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(rL, P1H) +
        Math.imul(rH, P1L)) |
      0;
    tL = Math.imul(rL, P1L);
    l = (tL + P4L) | 0;
    h = (tH + P4H + (((tL & P4L) | ((tL | P4L) & ~l)) >>> 31)) | 0;
    p += 8;
  }
  if (p + 4 <= len) {
    // h ^= u32 * P1
    c0 = charCodeAt.call(s, p);
    c1 = charCodeAt.call(s, p + 1);
    c2 = charCodeAt.call(s, p + 2);
    c3 = charCodeAt.call(s, p + 3);
    iL = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    na |= c0 | c1 | c2 | c3;
    // h ^= hi32((0:iL) * P1)
    a0 = iL & 0xffff;
    a1 = iL >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    h ^=
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(iL, P1H) +
        Math.imul(0, P1L)) |
      0;
    l ^= Math.imul(iL, P1L);
    // h = rotl(h, 23) * P2 + P3
    rH = (h << 23) | (l >>> 9);
    rL = (l << 23) | (h >>> 9);
    // tH = hi32((rH:rL) * P2)
    a0 = rL & 0xffff;
    a1 = rL >>> 16;
    p00 = Math.imul(a0, P2L0);
    p01 = Math.imul(a0, P2L1);
    p10 = Math.imul(a1, P2L0);
    tH =
      (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(rL, P2H) +
        Math.imul(rH, P2L)) |
      0;
    tL = Math.imul(rL, P2L);
    l = (tL + P3L) | 0;
    h = (tH + P3H + (((tL & P3L) | ((tL | P3L) & ~l)) >>> 31)) | 0;
    p += 4;
  }
  while (p < len) {
    // h ^= byte * P5; h = rotl(h, 11) * P1
    iL = charCodeAt.call(s, p);
    na |= iL;
    // h ^= hi32((0:iL) * P5)
    a0 = iL & 0xffff;
    a1 = iL >>> 16;
    p00 = Math.imul(a0, P5L0);
    p01 = Math.imul(a0, P5L1);
    p10 = Math.imul(a1, P5L0);
    h ^=
      (Math.imul(a1, P5L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(iL, P5H) +
        Math.imul(0, P5L)) |
      0;
    l ^= Math.imul(iL, P5L);
    rH = (h << 11) | (l >>> 21);
    rL = (l << 11) | (h >>> 21);
    // h = hi32((rH:rL) * P1)
    a0 = rL & 0xffff;
    a1 = rL >>> 16;
    p00 = Math.imul(a0, P1L0);
    p01 = Math.imul(a0, P1L1);
    p10 = Math.imul(a1, P1L0);
    h =
      (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(rL, P1H) +
        Math.imul(rH, P1L)) |
      0;
    l = Math.imul(rL, P1L);
    p++;
  }
  charBits = na; // the caller redoes non-ASCII keys: no rarely taken call in here
  // avalanche: h ^= h >>> 33; h *= P2; h ^= h >>> 29; h *= P3; h ^= h >>> 32
  l ^= h >>> 1;
  // tH = hi32((h:l) * P2)
  a0 = l & 0xffff;
  a1 = l >>> 16;
  p00 = Math.imul(a0, P2L0);
  p01 = Math.imul(a0, P2L1);
  p10 = Math.imul(a1, P2L0);
  tH =
    (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
      Math.imul(l, P2H) +
      Math.imul(h, P2L)) |
    0;
  tL = Math.imul(l, P2L);
  tL ^= (tL >>> 29) | (tH << 3);
  tH ^= tH >>> 29;
  // h = hi32((tH:tL) * P3)
  a0 = tL & 0xffff;
  a1 = tL >>> 16;
  p00 = Math.imul(a0, P3L0);
  p01 = Math.imul(a0, P3L1);
  p10 = Math.imul(a1, P3L0);
  h =
    (Math.imul(a1, P3L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
      Math.imul(tL, P3H) +
      Math.imul(tH, P3L)) |
    0;
  l = Math.imul(tL, P3L);
  H = h;
  return l ^ h;
}

/** Little-endian 32-bit read from a byte array. */
function rd32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/**
 * XXH64 (seed 0) of the first `len` bytes of `buf`: the readable form of the algorithm, written
 * with the `mulHi`/`carry` helpers (the hand-inlined {@link xxh64Ascii} mirrors it step by step).
 * Used for non-ASCII keys and {@link xxHash64}. Returns the low word, high in `H`.
 */
function xxh64Bytes(buf: Uint8Array, len: number): number {
  let p = 0;
  let h: number;
  let l: number;
  let iH: number;
  let iL: number;
  let m: number;
  let tH: number;
  let tL: number;
  let rH: number;
  let rL: number;
  if (len >= 32) {
    let v1h = V1H;
    let v1l = V1L;
    let v2h = P2H;
    let v2l = P2L;
    let v3h = 0;
    let v3l = 0;
    let v4h = V4H;
    let v4l = V4L;
    const limit = len - 32;
    do {
      // lane v1: v1 = rotl(v1 + input * P2, 31) * P1
      iL = rd32(buf, p);
      iH = rd32(buf, p + 4);
      tH = mulHi(iH, iL, P2H, P2L);
      m = Math.imul(iL, P2L);
      tL = (v1l + m) | 0;
      tH = (v1h + tH + carry(v1l, m, tL)) | 0;
      rH = (tH << 31) | (tL >>> 1);
      rL = (tL << 31) | (tH >>> 1);
      v1h = mulHi(rH, rL, P1H, P1L);
      v1l = Math.imul(rL, P1L);
      // lane v2: v2 = rotl(v2 + input * P2, 31) * P1
      iL = rd32(buf, p + 8);
      iH = rd32(buf, p + 12);
      tH = mulHi(iH, iL, P2H, P2L);
      m = Math.imul(iL, P2L);
      tL = (v2l + m) | 0;
      tH = (v2h + tH + carry(v2l, m, tL)) | 0;
      rH = (tH << 31) | (tL >>> 1);
      rL = (tL << 31) | (tH >>> 1);
      v2h = mulHi(rH, rL, P1H, P1L);
      v2l = Math.imul(rL, P1L);
      // lane v3: v3 = rotl(v3 + input * P2, 31) * P1
      iL = rd32(buf, p + 16);
      iH = rd32(buf, p + 20);
      tH = mulHi(iH, iL, P2H, P2L);
      m = Math.imul(iL, P2L);
      tL = (v3l + m) | 0;
      tH = (v3h + tH + carry(v3l, m, tL)) | 0;
      rH = (tH << 31) | (tL >>> 1);
      rL = (tL << 31) | (tH >>> 1);
      v3h = mulHi(rH, rL, P1H, P1L);
      v3l = Math.imul(rL, P1L);
      // lane v4: v4 = rotl(v4 + input * P2, 31) * P1
      iL = rd32(buf, p + 24);
      iH = rd32(buf, p + 28);
      tH = mulHi(iH, iL, P2H, P2L);
      m = Math.imul(iL, P2L);
      tL = (v4l + m) | 0;
      tH = (v4h + tH + carry(v4l, m, tL)) | 0;
      rH = (tH << 31) | (tL >>> 1);
      rL = (tL << 31) | (tH >>> 1);
      v4h = mulHi(rH, rL, P1H, P1L);
      v4l = Math.imul(rL, P1L);
      p += 32;
    } while (p <= limit);
    // h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)
    h = (v1h << 1) | (v1l >>> 31);
    l = (v1l << 1) | (v1h >>> 31);
    rH = (v2h << 7) | (v2l >>> 25);
    rL = (v2l << 7) | (v2h >>> 25);
    tL = (l + rL) | 0;
    h = (h + rH + carry(l, rL, tL)) | 0;
    l = tL;
    rH = (v3h << 12) | (v3l >>> 20);
    rL = (v3l << 12) | (v3h >>> 20);
    tL = (l + rL) | 0;
    h = (h + rH + carry(l, rL, tL)) | 0;
    l = tL;
    rH = (v4h << 18) | (v4l >>> 14);
    rL = (v4l << 18) | (v4h >>> 14);
    tL = (l + rL) | 0;
    h = (h + rH + carry(l, rL, tL)) | 0;
    l = tL;
    // merge v1: h = (h ^ round(0, v1)) * P1 + P4
    tH = mulHi(v1h, v1l, P2H, P2L);
    tL = Math.imul(v1l, P2L);
    rH = (tH << 31) | (tL >>> 1);
    rL = (tL << 31) | (tH >>> 1);
    h ^= mulHi(rH, rL, P1H, P1L);
    l ^= Math.imul(rL, P1L);
    tH = mulHi(h, l, P1H, P1L);
    tL = Math.imul(l, P1L);
    l = (tL + P4L) | 0;
    h = (tH + P4H + carry(tL, P4L, l)) | 0;
    // merge v2: h = (h ^ round(0, v2)) * P1 + P4
    tH = mulHi(v2h, v2l, P2H, P2L);
    tL = Math.imul(v2l, P2L);
    rH = (tH << 31) | (tL >>> 1);
    rL = (tL << 31) | (tH >>> 1);
    h ^= mulHi(rH, rL, P1H, P1L);
    l ^= Math.imul(rL, P1L);
    tH = mulHi(h, l, P1H, P1L);
    tL = Math.imul(l, P1L);
    l = (tL + P4L) | 0;
    h = (tH + P4H + carry(tL, P4L, l)) | 0;
    // merge v3: h = (h ^ round(0, v3)) * P1 + P4
    tH = mulHi(v3h, v3l, P2H, P2L);
    tL = Math.imul(v3l, P2L);
    rH = (tH << 31) | (tL >>> 1);
    rL = (tL << 31) | (tH >>> 1);
    h ^= mulHi(rH, rL, P1H, P1L);
    l ^= Math.imul(rL, P1L);
    tH = mulHi(h, l, P1H, P1L);
    tL = Math.imul(l, P1L);
    l = (tL + P4L) | 0;
    h = (tH + P4H + carry(tL, P4L, l)) | 0;
    // merge v4: h = (h ^ round(0, v4)) * P1 + P4
    tH = mulHi(v4h, v4l, P2H, P2L);
    tL = Math.imul(v4l, P2L);
    rH = (tH << 31) | (tL >>> 1);
    rL = (tL << 31) | (tH >>> 1);
    h ^= mulHi(rH, rL, P1H, P1L);
    l ^= Math.imul(rL, P1L);
    tH = mulHi(h, l, P1H, P1L);
    tL = Math.imul(l, P1L);
    l = (tL + P4L) | 0;
    h = (tH + P4H + carry(tL, P4L, l)) | 0;
  } else {
    h = P5H;
    l = P5L;
  }
  // h += len
  tL = (l + len) | 0;
  h = (h + carry(l, len, tL)) | 0;
  l = tL;
  while (p + 8 <= len) {
    iL = rd32(buf, p);
    iH = rd32(buf, p + 4);
    // h ^= round(0, input) = rotl(input * P2, 31) * P1
    tH = mulHi(iH, iL, P2H, P2L);
    tL = Math.imul(iL, P2L);
    rH = (tH << 31) | (tL >>> 1);
    rL = (tL << 31) | (tH >>> 1);
    h ^= mulHi(rH, rL, P1H, P1L);
    l ^= Math.imul(rL, P1L);
    // h = rotl(h, 27) * P1 + P4
    rH = (h << 27) | (l >>> 5);
    rL = (l << 27) | (h >>> 5);
    tH = mulHi(rH, rL, P1H, P1L);
    tL = Math.imul(rL, P1L);
    l = (tL + P4L) | 0;
    h = (tH + P4H + carry(tL, P4L, l)) | 0;
    p += 8;
  }
  if (p + 4 <= len) {
    // h ^= u32 * P1
    iL = rd32(buf, p);
    h ^= mulHi(0, iL, P1H, P1L);
    l ^= Math.imul(iL, P1L);
    // h = rotl(h, 23) * P2 + P3
    rH = (h << 23) | (l >>> 9);
    rL = (l << 23) | (h >>> 9);
    tH = mulHi(rH, rL, P2H, P2L);
    tL = Math.imul(rL, P2L);
    l = (tL + P3L) | 0;
    h = (tH + P3H + carry(tL, P3L, l)) | 0;
    p += 4;
  }
  while (p < len) {
    // h ^= byte * P5; h = rotl(h, 11) * P1
    iL = buf[p]!;
    h ^= mulHi(0, iL, P5H, P5L);
    l ^= Math.imul(iL, P5L);
    rH = (h << 11) | (l >>> 21);
    rL = (l << 11) | (h >>> 21);
    h = mulHi(rH, rL, P1H, P1L);
    l = Math.imul(rL, P1L);
    p++;
  }
  return avalanche(h, l);
}
/**
 * XXH64 (seed 0) of exactly the 8 bytes (iH:iL) in little-endian order, i.e. of an int64: the
 * 8-byte case of {@link xxh64Bytes}, specialised and hand-inlined like {@link xxh64Ascii}.
 * Returns the low word, high in `H`.
 */
function xxh64Int64(iH: number, iL: number): number {
  let h: number;
  let l: number;
  let tH: number;
  let tL: number;
  let rH: number;
  let rL: number;
  let a0: number;
  let a1: number;
  let p00: number;
  let p01: number;
  let p10: number;
  // h = P5 + 8 (no carry out of the low word)
  h = P5H;
  l = (P5L + 8) | 0;
  // h ^= round(0, input) = rotl(input * P2, 31) * P1
  // tH = hi32((iH:iL) * P2)
  a0 = iL & 0xffff;
  a1 = iL >>> 16;
  p00 = Math.imul(a0, P2L0);
  p01 = Math.imul(a0, P2L1);
  p10 = Math.imul(a1, P2L0);
  tH =
    (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
      Math.imul(iL, P2H) +
      Math.imul(iH, P2L)) |
    0;
  tL = Math.imul(iL, P2L);
  rH = (tH << 31) | (tL >>> 1);
  rL = (tL << 31) | (tH >>> 1);
  // h ^= hi32((rH:rL) * P1)
  a0 = rL & 0xffff;
  a1 = rL >>> 16;
  p00 = Math.imul(a0, P1L0);
  p01 = Math.imul(a0, P1L1);
  p10 = Math.imul(a1, P1L0);
  h ^=
    (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
      Math.imul(rL, P1H) +
      Math.imul(rH, P1L)) |
    0;
  l ^= Math.imul(rL, P1L);
  // h = rotl(h, 27) * P1 + P4
  rH = (h << 27) | (l >>> 5);
  rL = (l << 27) | (h >>> 5);
  // tH = hi32((rH:rL) * P1)
  a0 = rL & 0xffff;
  a1 = rL >>> 16;
  p00 = Math.imul(a0, P1L0);
  p01 = Math.imul(a0, P1L1);
  p10 = Math.imul(a1, P1L0);
  tH =
    (Math.imul(a1, P1L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
      Math.imul(rL, P1H) +
      Math.imul(rH, P1L)) |
    0;
  tL = Math.imul(rL, P1L);
  l = (tL + P4L) | 0;
  h = (tH + P4H + (((tL & P4L) | ((tL | P4L) & ~l)) >>> 31)) | 0;
  // avalanche: h ^= h >>> 33; h *= P2; h ^= h >>> 29; h *= P3; h ^= h >>> 32
  l ^= h >>> 1;
  // tH = hi32((h:l) * P2)
  a0 = l & 0xffff;
  a1 = l >>> 16;
  p00 = Math.imul(a0, P2L0);
  p01 = Math.imul(a0, P2L1);
  p10 = Math.imul(a1, P2L0);
  tH =
    (Math.imul(a1, P2L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
      Math.imul(l, P2H) +
      Math.imul(h, P2L)) |
    0;
  tL = Math.imul(l, P2L);
  tL ^= (tL >>> 29) | (tH << 3);
  tH ^= tH >>> 29;
  // h = hi32((tH:tL) * P3)
  a0 = tL & 0xffff;
  a1 = tL >>> 16;
  p00 = Math.imul(a0, P3L0);
  p01 = Math.imul(a0, P3L1);
  p10 = Math.imul(a1, P3L0);
  h =
    (Math.imul(a1, P3L1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
      Math.imul(tL, P3H) +
      Math.imul(tH, P3L)) |
    0;
  l = Math.imul(tL, P3L);
  H = h;
  return l ^ h;
}

// ---------------------------------------------------------------------------------------------
// Key encoding
// ---------------------------------------------------------------------------------------------

/** Reusable encode buffer; grown (never shrunk) for long keys. */
let encodeBuf = new Uint8Array(256);

/**
 * Encodes `s` as UTF-8 into `encodeBuf` (grown as needed) and returns the byte length. Only used
 * for non-ASCII keys on the JS backend (ASCII keys are hashed straight from the string).
 */
function encodeUtf8(s: string): number {
  const n = s.length;
  if (n * 3 > encodeBuf.length) {
    encodeBuf = new Uint8Array(Math.max(n * 3, encodeBuf.length * 2));
  }
  return utf8Into(s, encodeBuf);
}

/**
 * Writes the UTF-8 encoding of `s` (lone surrogates as U+FFFD) to `buf` from offset 0 and returns
 * the byte length. `buf` must hold at least `3 * s.length` bytes. Leading ASCII is a plain copy
 * loop; the first non-ASCII char switches to the general encoder.
 */
function utf8Into(s: string, buf: Uint8Array): number {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    buf[i] = c;
  }
  if (i === n) return n;
  let p = i;
  for (; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[p++] = c;
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >>> 6);
      buf[p++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        buf[p++] = 0xf0 | (c >>> 18);
        buf[p++] = 0x80 | ((c >>> 12) & 0x3f);
        buf[p++] = 0x80 | ((c >>> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      } else {
        // Lone surrogate: U+FFFD, as TextEncoder / Buffer do.
        buf[p++] = 0xef;
        buf[p++] = 0xbf;
        buf[p++] = 0xbd;
      }
    } else {
      buf[p++] = 0xe0 | (c >>> 12);
      buf[p++] = 0x80 | ((c >>> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

/** XXH64 of the UTF-8 encoding of `s`. Returns the low word, high in `H`. */
function hashNonAscii(s: string): number {
  const len = encodeUtf8(s); // may replace encodeBuf: read it after encoding
  return xxh64Bytes(encodeBuf, len);
}

/** A key accepted by the hash functions and the router. */
export type ShardKey = string | number;

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}

/**
 * Hashes `key` (canonical encoding, see module docs). Returns the low word, high in `H`.
 * @throws TypeError for keys that are not strings or safe integers.
 */
function hashKey(key: ShardKey): number {
  if (typeof key === 'string') {
    const lo = xxh64Ascii(key);
    return charBits < 0x80 ? lo : hashNonAscii(key);
  }
  if (typeof key === 'number' && Number.isSafeInteger(key)) {
    // Two's-complement int64 halves: floor division for the high word, ToInt32 (| 0) is mod 2^32.
    return xxh64Int64(Math.floor(key / 4294967296) | 0, key | 0);
  }
  throw keyError(key);
}

/** A `TypeError` for a key that is neither a string nor a safe integer. */
function keyError(key: unknown): TypeError {
  return new TypeError(
    `shard key must be a string or a safe integer (got: ${describeValue(key)}); ` +
      'pass non-integer or very large numeric keys as strings',
  );
}

// ---------------------------------------------------------------------------------------------
// WebAssembly backend (see hash-wasm.ts): the same functions on native 64-bit integers. The JS
// side only copies the key's bytes into the module's memory and makes one call. Chosen on first
// use; the pure-JS functions above are the fallback when WebAssembly is unavailable.
// ---------------------------------------------------------------------------------------------

/**
 * String keys of at least this many UTF-16 units are copied into the module's memory with
 * `TextEncoder.encodeInto` (one native call, which also does the UTF-8 encoding); shorter ones with
 * `charCodeAt`, which costs ~2-3 ns per char but no call. Measured crossover: 20-24 chars.
 */
const ENCODE_INTO_MIN = 24;
const BACKEND_UNSET = 0;
const BACKEND_JS = 1;
const BACKEND_WASM = 2;

/** Which implementation the exported functions use: chosen on first use by {@link chooseBackend}. */
let backend = BACKEND_UNSET;
/** The instantiated module (created at most once per process), or `undefined` if unavailable. */
let wasmModule: HashWasm | undefined;
let wasmTried = false;
/** Views of the module's memory (replaced when it grows). */
let wasmBytes = new Uint8Array(0);
let wasmWords = new Int32Array(0);
/** Longest string key (in UTF-16 units) whose UTF-8 encoding surely fits in the memory. */
let wasmMaxChars = 0;
// The module's functions, bound once.
let wasmHash: (len: number) => bigint = () => 0n;
let wasmHashInt: (hi: number, lo: number) => bigint = () => 0n;
let wasmBucket: (len: number, n: number) => number = () => 0;

function wasmViews(m: HashWasm): void {
  wasmBytes = new Uint8Array(m.mem.buffer);
  wasmWords = new Int32Array(m.mem.buffer);
  wasmMaxChars = Math.floor(wasmBytes.length / 3);
}

function chooseBackend(): number {
  if (!wasmTried) {
    wasmTried = true;
    wasmModule = instantiateHashWasm();
    if (wasmModule !== undefined) {
      const m = wasmModule;
      wasmViews(m);
      wasmHash = m.hash;
      wasmHashInt = m.hashInt;
      wasmBucket = m.bucket;
    }
  }
  backend = wasmModule === undefined ? BACKEND_JS : BACKEND_WASM;
  return backend;
}

/** Grows the module's memory to hold the UTF-8 encoding of a string of `chars` UTF-16 units. */
function wasmReserve(chars: number): void {
  const m = wasmModule!;
  const need = chars * 3 + 8;
  m.mem.grow(Math.ceil((need - m.mem.buffer.byteLength) / 65536));
  wasmViews(m);
}

/**
 * Copies the string `s` (of `len` UTF-16 units) into the module's memory as bytes, one char code
 * per byte, and returns `len`; sets {@link charBits}. Only right for pure-ASCII strings: the caller re-encodes the key
 * as UTF-8 ({@link wasmCopyUtf8}) when `charBits >= 0x80` (kept out of here for the reason given
 * at {@link xxh64Ascii}). The memory must hold `s` ({@link wasmMaxChars}).
 */
function wasmCopyAscii(s: string, len: number): number {
  const words = wasmWords;
  let na = 0;
  let p = 0;
  let c0: number;
  let c1: number;
  let c2: number;
  let c3: number;
  // 32 chars per iteration, unrolled: these reads are most of the cost of a lookup.
  while (p + 32 <= len) {
    const w = p >> 2;
    c0 = charCodeAt.call(s, p);
    c1 = charCodeAt.call(s, p + 1);
    c2 = charCodeAt.call(s, p + 2);
    c3 = charCodeAt.call(s, p + 3);
    na |= c0 | c1 | c2 | c3;
    words[w] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = charCodeAt.call(s, p + 4);
    c1 = charCodeAt.call(s, p + 5);
    c2 = charCodeAt.call(s, p + 6);
    c3 = charCodeAt.call(s, p + 7);
    na |= c0 | c1 | c2 | c3;
    words[w + 1] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = charCodeAt.call(s, p + 8);
    c1 = charCodeAt.call(s, p + 9);
    c2 = charCodeAt.call(s, p + 10);
    c3 = charCodeAt.call(s, p + 11);
    na |= c0 | c1 | c2 | c3;
    words[w + 2] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = charCodeAt.call(s, p + 12);
    c1 = charCodeAt.call(s, p + 13);
    c2 = charCodeAt.call(s, p + 14);
    c3 = charCodeAt.call(s, p + 15);
    na |= c0 | c1 | c2 | c3;
    words[w + 3] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = charCodeAt.call(s, p + 16);
    c1 = charCodeAt.call(s, p + 17);
    c2 = charCodeAt.call(s, p + 18);
    c3 = charCodeAt.call(s, p + 19);
    na |= c0 | c1 | c2 | c3;
    words[w + 4] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = charCodeAt.call(s, p + 20);
    c1 = charCodeAt.call(s, p + 21);
    c2 = charCodeAt.call(s, p + 22);
    c3 = charCodeAt.call(s, p + 23);
    na |= c0 | c1 | c2 | c3;
    words[w + 5] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = charCodeAt.call(s, p + 24);
    c1 = charCodeAt.call(s, p + 25);
    c2 = charCodeAt.call(s, p + 26);
    c3 = charCodeAt.call(s, p + 27);
    na |= c0 | c1 | c2 | c3;
    words[w + 6] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = charCodeAt.call(s, p + 28);
    c1 = charCodeAt.call(s, p + 29);
    c2 = charCodeAt.call(s, p + 30);
    c3 = charCodeAt.call(s, p + 31);
    na |= c0 | c1 | c2 | c3;
    words[w + 7] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    p += 32;
  }
  while (p + 4 <= len) {
    c0 = charCodeAt.call(s, p);
    c1 = charCodeAt.call(s, p + 1);
    c2 = charCodeAt.call(s, p + 2);
    c3 = charCodeAt.call(s, p + 3);
    na |= c0 | c1 | c2 | c3;
    words[p >> 2] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    p += 4;
  }
  const bytes = wasmBytes;
  while (p < len) {
    c0 = charCodeAt.call(s, p);
    na |= c0;
    bytes[p] = c0;
    p++;
  }
  charBits = na;
  return len;
}

/** Writes the UTF-8 encoding of `s` to the module's memory and returns its length in bytes. */
function wasmCopyUtf8(s: string): number {
  return utf8Into(s, wasmBytes);
}

const encoder = new TextEncoder();

/** Writes the canonical bytes of the string key `s` to the module's memory; returns their length. */
function wasmCopyString(s: string): number {
  const len = stringLength(s);
  if (len > wasmMaxChars) wasmReserve(len);
  if (len >= ENCODE_INTO_MIN) return encoder.encodeInto(s, wasmBytes).written;
  wasmCopyAscii(s, len);
  return charBits < 0x80 ? len : wasmCopyUtf8(s);
}

/** {@link hash64} on the WebAssembly backend: the signed result made unsigned. */
function wasmHash64(key: ShardKey): bigint {
  if (typeof key === 'string') return BigInt.asUintN(64, wasmHash(wasmCopyString(key)));
  if (typeof key === 'number' && Number.isSafeInteger(key)) {
    return BigInt.asUintN(64, wasmHashInt(Math.floor(key / 4294967296) | 0, key | 0));
  }
  throw keyError(key);
}

/**
 * Selects the hashing backend: `'wasm'` (the default, when WebAssembly is available) or `'js'`.
 * For tests and benchmarks, which check that both give the same results; the result of every
 * function is the same either way.
 *
 * @param which - the backend to use from now on
 * @returns the backend now in use (`'js'` if `'wasm'` was asked for but is unavailable)
 * @internal
 */
export function setHashBackend(which: 'wasm' | 'js'): 'wasm' | 'js' {
  if (which === 'js') backend = BACKEND_JS;
  else chooseBackend();
  return hashBackend();
}

/**
 * The hashing backend in use (choosing it if no hash was computed yet).
 *
 * @returns `'wasm'` or `'js'`
 * @internal
 */
export function hashBackend(): 'wasm' | 'js' {
  const b = backend === BACKEND_UNSET ? chooseBackend() : backend;
  return b === BACKEND_WASM ? 'wasm' : 'js';
}

function toUnsignedBigInt(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/**
 * The 64-bit hash of a key: XXH64 with seed 0 of the key's canonical encoding (UTF-8 for strings,
 * little-endian int64 for safe-integer numbers).
 *
 * Convenience/diagnostic API (returns a `bigint`, so it allocates); the router uses an
 * allocation-free internal path that produces the same value.
 *
 * @param key - a string or a safe integer
 * @returns the unsigned 64-bit hash
 * @throws TypeError if `key` is neither a string nor a safe integer
 */
export function hash64(key: ShardKey): bigint {
  if (backend === BACKEND_WASM || (backend === BACKEND_UNSET && chooseBackend() === BACKEND_WASM)) return wasmHash64(key);
  const lo = hashKey(key);
  return toUnsignedBigInt(H, lo);
}

/**
 * XXH64 (seed 0) of raw bytes, e.g. to cross-check the canonical encoding or to hash binary keys.
 *
 * @param bytes - the input bytes
 * @returns the unsigned 64-bit hash
 */
export function xxHash64(bytes: Uint8Array): bigint {
  if (backend === BACKEND_WASM || (backend === BACKEND_UNSET && chooseBackend() === BACKEND_WASM)) {
    if (bytes.length > wasmBytes.length) wasmReserve(Math.ceil(bytes.length / 3));
    wasmBytes.set(bytes);
    return BigInt.asUintN(64, wasmHash(bytes.length));
  }
  const lo = xxh64Bytes(bytes, bytes.length);
  return toUnsignedBigInt(H, lo);
}

/** Largest bucket count accepted by {@link jumpConsistentHash} (the reference uses int32). */
export const MAX_BUCKETS = 0x7fffffff;

// Jump hash LCG multiplier 2862933555777941757 = 0x27BB2EE6_87B0B0FD.
const JH = 0x27bb2ee6 | 0;
const JL = 0x87b0b0fd | 0;
const JL0 = JL & 0xffff;
const JL1 = JL >>> 16;

/** Unchecked jump consistent hash on a (hi, lo) key. */
function jump(kh: number, kl: number, numBuckets: number): number {
  let b = -1;
  let j = 0;
  let a0: number;
  let a1: number;
  let p00: number;
  let p01: number;
  let p10: number;
  while (j < numBuckets) {
    b = j;
    // key = key * 2862933555777941757 + 1 (mod 2^64)
    // kh = mulHi(kh, kl, JH, JL), expanded (hot loop)
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    p00 = Math.imul(a0, JL0);
    p01 = Math.imul(a0, JL1);
    p10 = Math.imul(a1, JL0);
    kh =
      (Math.imul(a1, JL1) + (p01 >>> 16) + (p10 >>> 16) + (((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16) +
        Math.imul(kl, JH) + Math.imul(kh, JL)) |
      0;
    kl = (Math.imul(kl, JL) + 1) | 0;
    if (kl === 0) kh = (kh + 1) | 0;
    // j = (b + 1) * (2^31 / ((key >>> 33) + 1)), truncated like the reference's int64 cast.
    j = Math.floor((b + 1) * (2147483648 / ((kh >>> 1) + 1)));
  }
  return b;
}

function checkBuckets(numBuckets: number): void {
  if (!Number.isInteger(numBuckets) || numBuckets < 1 || numBuckets > MAX_BUCKETS) {
    throw new RangeError(`numBuckets must be an integer in [1, ${MAX_BUCKETS}] (got: ${describeValue(numBuckets)})`);
  }
}

/**
 * Jump consistent hash (Lamping & Veach): maps a 64-bit key, given as its high and low 32-bit
 * words, to a bucket in `[0, numBuckets)`. Bit-for-bit identical to the paper's C++ reference.
 *
 * @param hashHi - high 32 bits of the key (signed or unsigned representation)
 * @param hashLo - low 32 bits of the key (signed or unsigned representation)
 * @param numBuckets - number of buckets, an integer in [1, {@link MAX_BUCKETS}]
 * @returns the bucket index
 * @throws RangeError if `numBuckets` is out of range
 */
export function jumpConsistentHash(hashHi: number, hashLo: number, numBuckets: number): number {
  checkBuckets(numBuckets);
  return jump(hashHi | 0, hashLo | 0, numBuckets);
}

/**
 * {@link jumpConsistentHash} for a key given as an unsigned 64-bit `bigint` (convenience; allocates).
 *
 * @param key - the 64-bit key, in [0, 2^64)
 * @param numBuckets - number of buckets, an integer in [1, {@link MAX_BUCKETS}]
 * @returns the bucket index
 * @throws RangeError if `key` or `numBuckets` is out of range
 */
export function jumpConsistentHashBigInt(key: bigint, numBuckets: number): number {
  if (key < 0n || key >= 1n << 64n) {
    throw new RangeError(`key must be an unsigned 64-bit integer (got: ${key}n)`);
  }
  return jumpConsistentHash(Number(key >> 32n) | 0, Number(key & 0xffffffffn) | 0, numBuckets);
}

/**
 * The bucket of `key` among `numBuckets`: `jumpConsistentHash(hash64(key), numBuckets)`.
 * This is the router's hot path. It allocates nothing for numbers and for string keys under 24
 * chars, and one small result object (`encodeInto`'s) for longer ones.
 *
 * @param key - a string or a safe integer
 * @param numBuckets - number of buckets, an integer in [1, {@link MAX_BUCKETS}]
 * @returns the bucket index in `[0, numBuckets)`
 * @throws TypeError if `key` is neither a string nor a safe integer
 * @throws RangeError if `numBuckets` is out of range
 */
export function bucketOf(key: ShardKey, numBuckets: number): number {
  checkBuckets(numBuckets);
  return bucketOfUnchecked(key, numBuckets);
}

/**
 * Same as {@link bucketOf} without validating `numBuckets`; for callers that validated it once
 * (the router does, at construction).
 *
 * @internal
 */
export function bucketOfUnchecked(key: ShardKey, numBuckets: number): number {
  // Numbers stay on the JS path: an int64 is one XXH64 round, and the call into WebAssembly costs
  // about what it saves (measured equal).
  if (typeof key === 'string' && (backend === BACKEND_WASM || (backend === BACKEND_UNSET && chooseBackend() === BACKEND_WASM))) {
    return wasmBucket(wasmCopyString(key), numBuckets);
  }
  const lo = hashKey(key);
  return jump(H, lo, numBuckets);
}

let primed = false;

/**
 * Runs every hashing code path once per process (ASCII keys of every length 0..80, non-ASCII
 * keys, integers, several bucket counts) so that V8 has complete type feedback before it
 * optimizes the hot functions. Without it, the first key of a new shape (say the first key of 32+
 * characters, or the first non-ASCII one) arriving after optimization deoptimizes the large
 * `xxh64Ascii`, and lookups run ~50x slower for the few hundred milliseconds V8 takes to
 * re-optimize it. Costs a few milliseconds, once; the router calls it on construction.
 *
 * @internal
 */
export function primeHashPaths(): void {
  if (primed) return;
  primed = true;
  let key = '';
  for (let len = 0; len <= 80; len++) {
    bucketOfUnchecked(key, 1 + (len % 7));
    bucketOfUnchecked(`${key}\u00e9`, 1000);
    key += String.fromCharCode(97 + (len % 26));
  }
  for (let i = 0; i < 40; i++) {
    bucketOfUnchecked(i * 104_729 - 2_000_000, 16);
    bucketOfUnchecked('\u4e2d\ud83d\ude00'.repeat(i), 64);
  }
}

