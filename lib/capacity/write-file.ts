/**
 * How the CLI writes a file (`plan --out`, `ami --pin`): never in place. `plan --config x --out x` rewrites the
 * user's own config, and a write cut short (a full disk, a quota, Ctrl-C) must not leave it truncated.
 */
import * as nodeFs from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** The file system calls {@link writeFileAtomic} makes; tests pass a copy with one of them failing. */
export type AtomicWriteFs = Pick<typeof nodeFs, 'lstatSync' | 'readlinkSync' | 'statSync' | 'openSync' | 'writeFileSync' | 'fchmodSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'unlinkSync'>;

/** Most symbolic links followed to the real file (Linux's own limit, ELOOP beyond). */
const MAX_LINKS = 40;

/**
 * Writes `text` to `path` atomically: to a temporary file in the target's directory, flushed to disk, then renamed
 * over the target, so the target holds either its old bytes or all the new ones. A symbolic link is written through
 * (it stays a link, its target file changes) and an existing file keeps its mode. The temporary file is removed when
 * anything fails, and the error is thrown.
 */
export function writeFileAtomic(path: string, text: string, fs: AtomicWriteFs = nodeFs): void {
  const target = realTarget(path, fs);
  let mode: number | undefined;
  try {
    mode = fs.statSync(target).mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const temp = resolve(dirname(target), `.${basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  // 'wx': fails rather than follow or reuse anything already at the temporary name.
  const fd = fs.openSync(temp, 'wx', mode ?? 0o666);
  let renamed = false;
  try {
    try {
      fs.writeFileSync(fd, text);
      // openSync's mode is masked by the umask: set the old file's mode exactly.
      if (mode !== undefined) fs.fchmodSync(fd, mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
    renamed = true;
  } finally {
    if (!renamed) {
      try {
        fs.unlinkSync(temp);
      } catch {
        // already gone: nothing to clean up
      }
    }
  }
  syncDirectory(dirname(target));
}

/** The file a write to `path` lands in: `path` itself, or the end of its chain of symbolic links (which may not exist yet). */
function realTarget(path: string, fs: AtomicWriteFs): string {
  let target = resolve(path);
  for (let hops = 0; ; hops++) {
    let isLink: boolean;
    try {
      isLink = fs.lstatSync(target).isSymbolicLink();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return target;
      throw e;
    }
    if (!isLink) return target;
    if (hops === MAX_LINKS) throw Object.assign(new Error(`too many symbolic links: ${path}`), { code: 'ELOOP' });
    target = resolve(dirname(target), fs.readlinkSync(target));
  }
}

/** Flushes the rename itself to disk; best effort (not every platform or file system can open a directory). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = nodeFs.openSync(dir, 'r');
    nodeFs.fsyncSync(fd);
  } catch {
    // the file's own bytes are on disk; only the rename may be replayed late after a crash
  } finally {
    if (fd !== undefined) nodeFs.closeSync(fd);
  }
}
