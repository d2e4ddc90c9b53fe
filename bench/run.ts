/**
 * `npm run bench`: runs every `bench/*.bench.ts` in its own process, one after the other (they measure
 * time and memory, so never in parallel), and exits non-zero if any fails or misses its target.
 * Results are printed and written to `.bench/<name>.json`.
 * `runtime-database.bench.ts` starts its own PostgreSQL primary and standby on loopback (Debian's postgresql).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const filter = process.argv[2];
const files = readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter))).sort();
let failed = 0;
for (const f of files) {
  console.log(`\n== ${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, f)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`${f} failed (exit ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
