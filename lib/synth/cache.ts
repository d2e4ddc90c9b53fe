import { createHash } from 'node:crypto';
import { readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { cacheDirectory } from '../../constructs/common/cache-dir';

export { cacheDirectory };

/** A hex SHA-256 of the parts, each followed by a NUL (so `['ab', 'c']` and `['a', 'bc']` differ). */
export function contentHash(...parts: Array<string | Buffer>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/** Writes `data` to `file` through a temporary name: a concurrent reader sees the old file or the new one, never half. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch {
    // A cache that cannot be written is a slower next run, not an error.
    rmSync(tmp, { force: true });
  }
}

/** Largest size of each cache directory after {@link pruneCache}: the oldest entries go first. */
export const CACHE_DIRECTORY_LIMIT_BYTES = 256 * 1024 * 1024;

/**
 * Keeps the cache directory `name` under `limit` bytes by deleting its oldest entries (files, or directories taken
 * whole, by modification time). Each aws-cdk-lib or Node.js upgrade adds a generation of entries nobody reads again;
 * without this, they would pile up in /tmp (RAM on a tmpfs) for ever. Errors are ignored: a cache is an optimization.
 */
export function pruneCache(name: string, limit = CACHE_DIRECTORY_LIMIT_BYTES): void {
  const dir = cacheDirectory(name);
  if (dir) pruneDirectory(dir, limit);
}

/**
 * How often {@link pruneCacheIfDue} prunes a cache directory. Pruning reads every entry (about 45 ms for the V8 code
 * cache's 4,000 files, at the end of every synth before), and a synth adds a few megabytes at most.
 */
export const CACHE_PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * {@link pruneCache}, when the directory was last pruned `intervalMs` ago or more (a `.pruned` file in it keeps the
 * time), so that a synth does not read the whole cache every time.
 */
export function pruneCacheIfDue(name: string, intervalMs = CACHE_PRUNE_INTERVAL_MS, limit = CACHE_DIRECTORY_LIMIT_BYTES): void {
  const dir = cacheDirectory(name);
  if (!dir) return;
  const stamp = join(dir, '.pruned');
  try {
    if (Date.now() - statSync(stamp).mtimeMs < intervalMs) return;
  } catch {
    // never pruned here
  }
  pruneDirectory(dir, limit);
  try {
    writeFileSync(stamp, '');
    const now = new Date();
    utimesSync(stamp, now, now);
  } catch {
    // pruned again at the next synth
  }
}

/** Keeps the directory `dir` under `limit` bytes by deleting its oldest entries, as {@link pruneCache} does. */
export function pruneDirectory(dir: string, limit = CACHE_DIRECTORY_LIMIT_BYTES): void {
  try {
    const entries = readdirSync(dir).map((entry) => {
      const path = join(dir, entry);
      const st = statSync(path);
      return { path, mtime: st.mtimeMs, size: st.isDirectory() ? sizeOf(path) : st.size };
    });
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    for (const e of entries.sort((a, b) => a.mtime - b.mtime)) {
      if (total <= limit) break;
      rmSync(e.path, { recursive: true, force: true });
      total -= e.size;
    }
  } catch {
    // a cache that cannot be pruned now is pruned at a later synth
  }
}

function sizeOf(dir: string): number {
  let sum = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    sum += entry.isDirectory() ? sizeOf(path) : statSync(path).size;
  }
  return sum;
}
