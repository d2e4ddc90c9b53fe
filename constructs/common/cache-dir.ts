import { mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A directory for this user's caches: `S2M_CACHE_DIR/<name>`, or `os.tmpdir()/scale-to-millions-<uid>/<name>`,
 * created 0700. Undefined when it cannot be used: it cannot be created, or another user owns it (a shared /tmp,
 * where whoever creates the directory first could plant what the next synth deploys). lib/synth/register.cjs
 * follows the same rule.
 */
export function cacheDirectory(name: string): string | undefined {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const root = process.env.S2M_CACHE_DIR || join(tmpdir(), `scale-to-millions-${uid ?? 'user'}`);
  const dir = join(root, name);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (uid !== undefined && (statSync(root).uid !== uid || statSync(dir).uid !== uid)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}
