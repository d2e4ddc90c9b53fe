import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The directory of the synth caches: `S2M_CACHE_DIR`, or `os.tmpdir()/scale-to-millions-<uid>` (the rule
 * lib/synth/register.cjs follows too). Undefined when the directory cannot be used: it cannot be created, or another
 * user owns it (a shared /tmp).
 */
export function cacheDirectory(name: string): string | undefined {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const root = process.env.S2M_CACHE_DIR || join(tmpdir(), `scale-to-millions-${uid ?? 'user'}`);
  const dir = join(root, name);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (uid !== undefined && statSync(root).uid !== uid) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

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
