/**
 * Cache-aside hit path vs the raw client: `CacheAside.getOrLoad` on a cached key against `JSON.parse(await
 * redis.get(key))` on the same ioredis connection to a local redis-server (started here on loopback, stopped by
 * its pid).
 *
 *   npx tsx bench/cache-aside.bench.ts
 *
 * Rounds alternate A (raw) and B (getOrLoad) so machine noise hits both alike; the figure is the median of the
 * per-pair ratios B/A. Two shapes: sequential (one request at a time: latency) and concurrent (64 requests in
 * flight: throughput, where the SDK's own CPU cost shows more). Goal: both ≤ 1.10. Writes `.bench/cache-aside.json`;
 * exits non-zero if a goal is missed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CacheAside, CacheClient } from '../lib/runtime';
import { REDIS_PASSWORD, REDIS_USER, chownTo, freePort, runCleanups, startRedis, type Cleanup } from '../test/integration/services';

const KEYS = 1_000;
const OPS_SEQUENTIAL = 20_000;
const OPS_CONCURRENT = 60_000;
const IN_FLIGHT = 64;
const WARMUP_PAIRS = 2;
const TIMED_PAIRS = 9;
const GOAL = 1.10;

/** A catalog product as an application would cache it (~0.5 kB of JSON). */
function product(i: number): Record<string, unknown> {
  return {
    id: `p-${i}`, sku: `SKU-${100_000 + i}`, name: `Product number ${i}`, price: { amount: 1999 + i, currency: 'EUR' },
    stock: i % 17, tags: ['catalog', 'bench', `t${i % 7}`], description: 'A reasonably sized description of the product. '.repeat(6),
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

let sink = 0;

async function sequential(op: (key: string) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < OPS_SEQUENTIAL; i++) sink += (await op(`product:${i % KEYS}`) as { stock: number }).stock;
  return (performance.now() - start) / OPS_SEQUENTIAL;
}

async function concurrent(op: (key: string) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < OPS_CONCURRENT) {
      const i = next++;
      sink += (await op(`product:${i % KEYS}`) as { stock: number }).stock;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return (performance.now() - start) / OPS_CONCURRENT;
}

async function compare(name: string, shape: (op: (key: string) => Promise<unknown>) => Promise<number>, raw: (key: string) => Promise<unknown>, sdk: (key: string) => Promise<unknown>): Promise<{ name: string; rawUs: number; sdkUs: number; ratio: number }> {
  const ratios: number[] = [];
  const rawTimes: number[] = [];
  const sdkTimes: number[] = [];
  for (let pair = 0; pair < WARMUP_PAIRS + TIMED_PAIRS; pair++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    let a: number;
    let b: number;
    if (pair % 2 === 0) {
      a = await shape(raw);
      b = await shape(sdk);
    } else {
      b = await shape(sdk);
      a = await shape(raw);
    }
    if (pair < WARMUP_PAIRS) continue;
    rawTimes.push(a);
    sdkTimes.push(b);
    ratios.push(b / a);
  }
  return { name, rawUs: median(rawTimes) * 1000, sdkUs: median(sdkTimes) * 1000, ratio: median(ratios) };
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 's2m-bench-cache-'));
  chownTo('redis', root);
  const cleanups: Cleanup[] = [() => rmSync(root, { recursive: true, force: true })];
  let client: CacheClient | undefined;
  try {
    const port = await freePort();
    await startRedis(path.join(root, 'redis'), port, false, cleanups);
    client = await CacheClient.connect({ host: '127.0.0.1', port, tls: false, clusterMode: false, username: REDIS_USER, password: REDIS_PASSWORD });
    const redis = client.redis;
    const cache = new CacheAside(client, { namespace: '' });
    for (let i = 0; i < KEYS; i++) await cache.set(`product:${i}`, product(i), 3_600);

    const raw = async (key: string): Promise<unknown> => JSON.parse((await redis.get(key))!);
    const sdk = (key: string): Promise<unknown> => cache.getOrLoad(key, 3_600, () => { throw new Error(`bench: unexpected miss on ${key}`); });

    const load = os.loadavg()[0]!;
    console.log(`cache-aside benchmark: node ${process.version}, redis-server on loopback, ${os.cpus().length} cpus, load ${load.toFixed(2)}`);
    const results = [
      await compare(`sequential (${OPS_SEQUENTIAL} gets, one at a time)`, sequential, raw, sdk),
      await compare(`concurrent (${OPS_CONCURRENT} gets, ${IN_FLIGHT} in flight)`, concurrent, raw, sdk),
    ];
    const stats = cache.stats();
    if (stats.misses !== 0 || stats.errors !== 0) throw new Error(`bench: the hit path missed or failed: ${JSON.stringify(stats)}`);
    for (const r of results) {
      console.log(`  ${r.name.padEnd(42)} raw ${r.rawUs.toFixed(1).padStart(6)} µs/op   getOrLoad ${r.sdkUs.toFixed(1).padStart(6)} µs/op   ratio ${r.ratio.toFixed(3)}  (goal ≤ ${GOAL.toFixed(2)}) ${r.ratio <= GOAL ? 'ok' : 'MISSED'}`);
    }
    const out = path.join(process.cwd(), '.bench');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'cache-aside.json'), `${JSON.stringify({ date: new Date().toISOString(), load, goal: GOAL, results, sink: sink > 0 }, null, 2)}\n`);
    if (results.some((r) => r.ratio > GOAL)) process.exitCode = 1;
  } finally {
    client?.disconnect();
    await runCleanups(cleanups);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
