import { createHash } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';

export { cacheDirectory } from '../../constructs/common/cache-dir';

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
