/**
 * Overhead of the runtime SDK's reads over a raw `pg` pool, against the same local PostgreSQL standby.
 *
 *   npx tsx bench/runtime-database.bench.ts      → prints the figures, writes .bench/runtime-database.json
 *
 * Starts its own PostgreSQL primary + streaming standby on loopback (Debian's postgresql package) and stops them
 * by pid. Three loops of the same primary-key lookup, one statement at a time (the case where a per-call
 * overhead shows most): a raw `pg.Pool` on the standby, `db.read` with `eventual`, and `db.read` with
 * `read-your-writes` for a session with no pending write. Rounds run raw/eventual/raw/read-your-writes/raw so
 * machine noise hits all of them alike; the figure is the median over rounds of each SDK loop's time over the mean
 * of the raw loops on both sides of it. Goal: ≤ 1.10×.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { staticCredentials } from '../lib/runtime/credentials';
import { Database } from '../lib/runtime/database';
import { startPostgresOnly } from '../test/integration/services';

const ROWS = 1000;
const QUERIES_PER_ROUND = 2000;
const ROUNDS = 15;
const WARMUP_ROUNDS = 2;
const GOAL = 1.1;
const SQL = 'SELECT id, v FROM bench_items WHERE id = $1';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function loop(run: (id: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < QUERIES_PER_ROUND; i++) await run((i * 7919) % ROWS);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const load = loadavg();
  const { postgres, stop } = await startPostgresOnly();
  try {
    const conn = { user: postgres.user, password: postgres.password, database: postgres.database };
    const admin = new Pool({ host: postgres.primary.host, port: postgres.primary.port, ...conn, max: 1 });
    await admin.query('CREATE TABLE bench_items (id int PRIMARY KEY, v text NOT NULL)');
    await admin.query(`INSERT INTO bench_items SELECT g, md5(g::text) FROM generate_series(0, ${ROWS - 1}) g`);
    const { rows } = await admin.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    const standby = new Pool({ host: postgres.replica.host, port: postgres.replica.port, ...conn, max: 4 });
    for (let i = 0; i < 200; i++) {
      const r = await standby.query<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [rows[0]!.lsn]);
      if (r.rows[0]!.done) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    await admin.end();

    const db = new Database({
      endpoints: { writer: postgres.primary.host, port: postgres.primary.port, databaseName: postgres.database, engine: 'postgres', authentication: 'password', role: 'primary', writeForwarding: false, source: 'bench' },
      readers: [`${postgres.replica.host}:${postgres.replica.port}`],
      credentials: staticCredentials(postgres.user, postgres.password),
      readerPool: { max: 4 },
    });
    const session = db.session();
    const raw = (id: number) => standby.query(SQL, [id]);
    const eventual = (id: number) => db.read(SQL, [id]);
    const ryw = (id: number) => db.read(SQL, [id], { session });

    const ratios = { eventual: [] as number[], ryw: [] as number[] };
    const times = { raw: [] as number[], eventual: [] as number[], ryw: [] as number[] };
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
      // raw, SDK, raw, SDK, raw: each SDK loop is compared with the raw loops on both sides of it.
      const r1 = await loop(raw);
      const e = await loop(eventual);
      const r2 = await loop(raw);
      const w = await loop(ryw);
      const r3 = await loop(raw);
      if (round < WARMUP_ROUNDS) continue;
      times.raw.push(r1, r2, r3);
      times.eventual.push(e);
      times.ryw.push(w);
      ratios.eventual.push(e / ((r1 + r2) / 2));
      ratios.ryw.push(w / ((r2 + r3) / 2));
    }
    const stats = db.stats();
    await db.close();
    await standby.end();

    const perQueryUs = (ms: number) => (ms * 1000) / QUERIES_PER_ROUND;
    const result = {
      queriesPerRound: QUERIES_PER_ROUND,
      rounds: ROUNDS,
      medianMicrosPerQuery: { raw: perQueryUs(median(times.raw)), eventual: perQueryUs(median(times.eventual)), readYourWrites: perQueryUs(median(times.ryw)) },
      ratio: { eventual: median(ratios.eventual), readYourWrites: median(ratios.ryw) },
      ratios,
      readsOnReplica: stats.reads.replica,
      readsOnWriter: stats.reads.writer,
      loadBefore: load,
      loadAfter: loadavg(),
      node: process.version,
    };
    const failures: string[] = [];
    const line = (name: string, ratio: number) => {
      const ok = ratio <= GOAL;
      if (!ok) failures.push(`${name}: ${ratio.toFixed(3)}x > ${GOAL}x`);
      console.log(`${name.padEnd(38)} ${ratio.toFixed(3)}x   goal <= ${GOAL.toFixed(2)}x   ${ok ? 'ok' : 'MISSED'}`);
    };
    console.log(`raw pg pool on the standby: ${result.medianMicrosPerQuery.raw.toFixed(1)} us/query (median of ${3 * ROUNDS} loops of ${QUERIES_PER_ROUND})`);
    console.log(`SDK eventual:               ${result.medianMicrosPerQuery.eventual.toFixed(1)} us/query`);
    console.log(`SDK read-your-writes:       ${result.medianMicrosPerQuery.readYourWrites.toFixed(1)} us/query`);
    line('SDK eventual / raw (median of rounds)', result.ratio.eventual);
    line('SDK read-your-writes, nothing pending', result.ratio.readYourWrites);
    if (stats.reads.writer !== 0) failures.push(`${stats.reads.writer} reads went to the writer; every read must have used the standby`);
    console.log(`load average before ${load.map((x) => x.toFixed(2)).join(' ')}, after ${result.loadAfter.map((x) => x.toFixed(2)).join(' ')}`);
    const dir = join(__dirname, '..', '.bench');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'runtime-database.json'), `${JSON.stringify({ ...result, ok: failures.length === 0, failures }, null, 2)}\n`);
    console.log('wrote .bench/runtime-database.json');
    if (failures.length > 0) {
      console.error(`missed: ${failures.join('; ')}`);
      process.exitCode = 1;
    }
  } finally {
    await stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
