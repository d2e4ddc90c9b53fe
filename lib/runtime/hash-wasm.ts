/**
 * The WebAssembly backend of `hash.ts`: XXH64 (seed 0) and jump consistent hashing on native 64-bit
 * integers, in a module of about 1 KB that is assembled here, from the instruction listing below,
 * and compiled synchronously on first use (no file, no network, no build step, no native addon).
 *
 * Why: in JavaScript every 64-bit multiply is emulated with ~20 int32 operations (XXH64 of a 32-byte
 * key needs 22 of them, the jump hash one per step), which made the JS lookup path ~5x slower than C.
 * Here the arithmetic is native; JavaScript only copies the key's bytes into the module's memory
 * (ASCII straight from the string, other keys UTF-8 encoded) and makes one call.
 *
 * It computes exactly what the pure-JS functions in `hash.ts` compute (the tests run the golden
 * vectors through both); `hash.ts` falls back to those when WebAssembly is unavailable (e.g.
 * `node --jitless`) or fails to instantiate.
 *
 * @module
 */

/** The module's exports, as `hash.ts` uses them. Input bytes are read from `mem` at offset 0. */
export interface HashWasm {
  /** The module's memory (starts at one 64 KiB page; `hash.ts` grows it for long keys). */
  readonly mem: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  /** XXH64 (seed 0) of `mem[0, len)`, as a signed 64-bit bigint. */
  hash(len: number): bigint;
  /** XXH64 (seed 0) of the int64 `hi * 2^32 + lo` in little-endian bytes, as a signed bigint. */
  hashInt(hi: number, lo: number): bigint;
  /** Jump-hash bucket among `n` (an integer in [1, 2^31-1]) of XXH64(`mem[0, len)`). */
  bucket(len: number, n: number): number;
}

// ---------------------------------------------------------------------------------------------
// A minimal WebAssembly binary encoder: just the opcodes this module uses.
// ---------------------------------------------------------------------------------------------

type Code = number[];

const I32 = 0x7f;
const I64 = 0x7e;
const F64 = 0x7c;

/** Unsigned LEB128. */
function uleb(n: number): Code {
  const out: Code = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 64-bit value (given as a bigint, wrapped to int64). */
function sleb(value: bigint): Code {
  let v = BigInt.asIntN(64, value);
  const out: Code = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: Code): Code => [id, ...uleb(body.length), ...body];
const utf8Name = (s: string): Code => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const seq = (...parts: (Code | number)[]): Code => parts.flatMap((p) => (typeof p === 'number' ? [p] : p));

const get = (i: number): Code => [0x20, ...uleb(i)];
const set = (i: number): Code => [0x21, ...uleb(i)];
const tee = (i: number): Code => [0x22, ...uleb(i)];
const i32c = (v: number): Code => [0x41, ...sleb(BigInt(v))];
const i64c = (v: bigint): Code => [0x42, ...sleb(v)];
const f64c = (v: number): Code => {
  const b = new Uint8Array(new Float64Array([v]).buffer); // little-endian on every platform this runs on (checked in hash.ts)
  return [0x44, ...b];
};
const load64 = (offset: number): Code => [0x29, 3, ...uleb(offset)];
const load32u = (offset: number): Code => [0x35, 2, ...uleb(offset)];
const load8u = (offset: number): Code => [0x31, 0, ...uleb(offset)];
const call = (f: number): Code => [0x10, ...uleb(f)];
const br = (depth: number): Code => [0x0c, ...uleb(depth)];
const brIf = (depth: number): Code => [0x0d, ...uleb(depth)];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const IF = [0x04, 0x40];
const ELSE = 0x05;
const END = 0x0b;
const I32_EQZ = 0x45;
const I32_GE_U = 0x4f;
const I32_LE_U = 0x4d;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I64_ADD = 0x7c;
const I64_MUL = 0x7e;
const I64_OR = 0x84;
const I64_XOR = 0x85;
const I64_SHL = 0x86;
const I64_SHR_U = 0x88;
const I64_ROTL = 0x89;
const I64_EXTEND_I32_U = 0xad;
const F64_CONVERT_I32_S = 0xb7;
const F64_CONVERT_I64_S = 0xb9;
const F64_LT = 0x63;
const F64_ADD = 0xa0;
const F64_TRUNC = 0x9d;
const I32_TRUNC_SAT_F64_S = [0xfc, 2];
const F64_MUL = 0xa2;
const F64_DIV = 0xa3;

// ---------------------------------------------------------------------------------------------
// XXH64 and jump hash, as stack code.
// ---------------------------------------------------------------------------------------------

const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const JUMP_MULTIPLIER = 2862933555777941757n;

/** XXH64 round: rotl(acc + input * P2, 31) * P1. */
const round = (acc: Code, input: Code): Code => seq(acc, input, i64c(P2), I64_MUL, I64_ADD, i64c(31n), I64_ROTL, i64c(P1), I64_MUL);

/** XXH64 avalanche of the i64 in local `h`, leaving the result on the stack. */
const avalanche = (h: number): Code =>
  seq(get(h), get(h), i64c(33n), I64_SHR_U, I64_XOR, i64c(P2), I64_MUL, tee(h), get(h), i64c(29n), I64_SHR_U, I64_XOR, i64c(P3), I64_MUL, tee(h), get(h), i64c(32n), I64_SHR_U, I64_XOR);

// func 0, hash(len i32) -> i64. Locals: 0 len, 1 p, 2 limit (i32); 3..6 v1..v4, 7 h (i64).
const LEN = 0;
const P = 1;
const LIMIT = 2;
const V1 = 3;
const V2 = 4;
const V3 = 5;
const V4 = 6;
const H = 7;
const lane = (v: number, offset: number): Code => seq(round(get(v), seq(get(P), load64(offset))), set(v));
const merge = (v: number): Code => seq(get(H), round(i64c(0n), get(v)), I64_XOR, i64c(P1), I64_MUL, i64c(P4), I64_ADD, set(H));
const hashBody = seq(
  get(LEN), i32c(32), I32_GE_U, IF,
  /**/ i64c(P1 + P2), set(V1), i64c(P2), set(V2), i64c(0n), set(V3), i64c(-P1), set(V4),
  /**/ get(LEN), i32c(32), I32_SUB, set(LIMIT),
  /**/ LOOP, // do { 4 lanes; p += 32 } while (p <= limit)
  /**//**/ lane(V1, 0), lane(V2, 8), lane(V3, 16), lane(V4, 24),
  /**//**/ get(P), i32c(32), I32_ADD, tee(P), get(LIMIT), I32_LE_U, brIf(0),
  /**/ END,
  /**/ get(V1), i64c(1n), I64_ROTL, get(V2), i64c(7n), I64_ROTL, I64_ADD, get(V3), i64c(12n), I64_ROTL, I64_ADD, get(V4), i64c(18n), I64_ROTL, I64_ADD, set(H),
  /**/ merge(V1), merge(V2), merge(V3), merge(V4),
  ELSE,
  /**/ i64c(P5), set(H),
  END,
  get(H), get(LEN), I64_EXTEND_I32_U, I64_ADD, set(H),
  BLOCK, LOOP, // while (p + 8 <= len) { h ^= round(0, u64); h = rotl(h, 27) * P1 + P4; p += 8 }
  /**/ get(P), i32c(8), I32_ADD, get(LEN), I32_LE_U, I32_EQZ, brIf(1),
  /**/ get(H), round(i64c(0n), seq(get(P), load64(0))), I64_XOR, i64c(27n), I64_ROTL, i64c(P1), I64_MUL, i64c(P4), I64_ADD, set(H),
  /**/ get(P), i32c(8), I32_ADD, set(P), br(0),
  END, END,
  get(P), i32c(4), I32_ADD, get(LEN), I32_LE_U, IF, // if (p + 4 <= len) { h ^= u32 * P1; h = rotl(h, 23) * P2 + P3; p += 4 }
  /**/ get(H), get(P), load32u(0), i64c(P1), I64_MUL, I64_XOR, i64c(23n), I64_ROTL, i64c(P2), I64_MUL, i64c(P3), I64_ADD, set(H),
  /**/ get(P), i32c(4), I32_ADD, set(P),
  END,
  BLOCK, LOOP, // while (p < len) { h ^= byte * P5; h = rotl(h, 11) * P1; p++ }
  /**/ get(P), get(LEN), I32_GE_U, brIf(1),
  /**/ get(H), get(P), load8u(0), i64c(P5), I64_MUL, I64_XOR, i64c(11n), I64_ROTL, i64c(P1), I64_MUL, set(H),
  /**/ get(P), i32c(1), I32_ADD, set(P), br(0),
  END, END,
  avalanche(H),
);

// func 1, hashInt(hi i32, lo i32) -> i64: the 8-byte case. Locals: 0 hi, 1 lo (i32); 2 h (i64).
const hashIntBody = seq(
  i64c(P5 + 8n),
  round(i64c(0n), seq(get(0), I64_EXTEND_I32_U, i64c(32n), I64_SHL, get(1), I64_EXTEND_I32_U, I64_OR)), I64_XOR,
  i64c(27n), I64_ROTL, i64c(P1), I64_MUL, i64c(P4), I64_ADD, set(2),
  avalanche(2),
);

// func 2, jump(key i64, n i32) -> i32: Lamping & Veach, with the reference's double arithmetic.
// Locals: 0 key (i64), 1 n (i32); 2 b, 3 j, 4 nf (f64).
//
// The reference computes j = (int64) ((b + 1) * (2^31 / (double) ((key >>> 33) + 1))) and loops
// while j < n. Here j stays a double: the loop tests the unrounded product x against n (for x >= 0
// and an integer n, trunc(x) < n exactly when x < n), and j = trunc(x) is rounded in the double
// domain only when the loop goes on. Every value involved is an integer below 2^31 + 1, exact in a
// double, so the results are the reference's bit for bit (the golden tests cover bucket counts up to
// 2^31 - 1). Why not the integer form: V8 checks a trapping float-to-int64 truncation by rounding
// into its scratch register, which every int-to-double conversion of the next step then waits for
// (x64 cvtsi2sd merges into that register), so each step waited for the previous one's division.
// This way the divisions of successive steps overlap. Measured on the `bucket` call for a 32-byte
// key: 1.08x as fast with 16 buckets, 1.20x with 1000, 1.32x with 65536.
const jumpBody = seq(
  get(1), F64_CONVERT_I32_S, set(4), // nf = n
  LOOP, // do { ... } while (j < n)
  /**/ get(3), set(2), // b = j
  /**/ get(0), i64c(JUMP_MULTIPLIER), I64_MUL, i64c(1n), I64_ADD, set(0), // key = key * M + 1
  /**/ // j = (b + 1) * (2^31 / (double) ((key >>> 33) + 1))
  /**/ get(2), f64c(1), F64_ADD, f64c(2147483648), get(0), i64c(33n), I64_SHR_U, i64c(1n), I64_ADD, F64_CONVERT_I64_S, F64_DIV, F64_MUL, tee(3),
  /**/ get(4), F64_LT, IF,
  /**//**/ get(3), F64_TRUNC, set(3), br(1), // j = trunc(j); continue
  /**/ END,
  END,
  get(2), I32_TRUNC_SAT_F64_S,
);

/** Function body: locals as (count, type) runs, then the code. */
function body(locals: [number, number][], code: Code): Code {
  const b = [...vec(locals.map(([count, type]) => [...uleb(count), type])), ...code, END];
  return [...uleb(b.length), ...b];
}

/**
 * The module's bytes. Functions: 0 `hash`, 1 `hashInt`, 2 `jump` (internal), 3 `bucket`.
 *
 * @internal
 */
export function hashWasmBytes(): Uint8Array {
  const fn = (params: number[], results: number[]): Code => [0x60, ...vec(params.map((t) => [t])), ...vec(results.map((t) => [t]))];
  const types = [fn([I32], [I64]), fn([I32, I32], [I64]), fn([I64, I32], [I32]), fn([I32, I32], [I32])];
  const codes = [
    body([[2, I32], [5, I64]], hashBody),
    body([[1, I64]], hashIntBody),
    body([[3, F64]], jumpBody),
    body([], seq(get(0), call(0), get(1), call(2))),
  ];
  const exports: Code[] = [
    [...utf8Name('mem'), 2, 0],
    [...utf8Name('hash'), 0, 0],
    [...utf8Name('hashInt'), 0, 1],
    [...utf8Name('bucket'), 0, 3],
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0], // "\0asm", version 1
    ...section(1, vec(types)),
    ...section(3, vec([[0], [1], [2], [3]])),
    ...section(5, vec([[0x00, 1]])), // memory: min 1 page, no max
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
  ]);
}

/** The part of the `WebAssembly` global this needs (not in the project's `lib`/`@types/node`). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

/**
 * Compiles and instantiates the module synchronously (the module is ~1 KB: well under a
 * millisecond). Returns `undefined` when WebAssembly is unavailable (e.g. `node --jitless`) or the
 * platform is big-endian (the key bytes are written as little-endian words), so the caller falls
 * back to the pure-JS functions.
 *
 * @internal
 */
export function instantiateHashWasm(): HashWasm | undefined {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined || new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) return undefined;
  try {
    return new api.Instance(new api.Module(hashWasmBytes()), {}).exports as HashWasm;
  } catch {
    return undefined;
  }
}
