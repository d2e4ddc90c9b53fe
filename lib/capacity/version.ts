import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The version of the installed scale-to-millions package: read from the nearest package.json of that name
 * above this module (the source tree in a checkout, `dist/` in an installed package).
 */
export function packageVersion(from: string = __dirname): string {
  for (let dir = from, i = 0; i < 6; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'scale-to-millions' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: look one level up
    }
  }
  return 'unknown';
}
