import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheDirectory, pruneCache, pruneCacheIfDue } from '../../../lib/synth/cache';

describe('pruneCache: the synth caches stay bounded', () => {
  const previous = process.env.S2M_CACHE_DIR;
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 's2m-prune-'));
    process.env.S2M_CACHE_DIR = root;
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.S2M_CACHE_DIR;
    else process.env.S2M_CACHE_DIR = previous;
    rmSync(root, { recursive: true, force: true });
  });

  it('deletes the oldest entries (files, and directories whole) until the directory is under the limit', () => {
    // GIVEN five 1 KB entries of increasing age, one of them a directory
    const dir = cacheDirectory('v8')!;
    const now = Date.now() / 1000;
    for (let i = 0; i < 5; i++) {
      const path = join(dir, `e${i}`);
      if (i === 0) {
        mkdirSync(path);
        writeFileSync(join(path, 'inner'), Buffer.alloc(1024));
      } else {
        writeFileSync(path, Buffer.alloc(1024));
      }
      utimesSync(path, now - (5 - i) * 3600, now - (5 - i) * 3600);
    }
    // WHEN it is pruned to 3 KB THEN the two oldest go (the directory with its content)
    pruneCache('v8', 3 * 1024);
    expect(readdirSync(dir).sort()).toEqual(['e2', 'e3', 'e4']);
    // and under the limit nothing goes
    pruneCache('v8', 3 * 1024);
    expect(readdirSync(dir)).toHaveLength(3);
  });

  it('prunes at the end of a synth only when the last pruning is an interval old (a synth does not read the whole cache each time)', () => {
    // GIVEN a cache directory over its limit, never pruned
    const dir = cacheDirectory('bundles')!;
    const now = Date.now() / 1000;
    const add = (name: string, ageHours: number): void => {
      writeFileSync(join(dir, name), Buffer.alloc(1024));
      utimesSync(join(dir, name), now - ageHours * 3600, now - ageHours * 3600);
    };
    add('a', 3);
    add('b', 2);
    // WHEN it is pruned if due THEN it is pruned, and the time kept
    pruneCacheIfDue('bundles', 3_600_000, 1024 + 10);
    expect(readdirSync(dir).sort()).toEqual(['.pruned', 'b']);
    // WHEN it grows again within the interval THEN nothing goes
    add('c', 1);
    pruneCacheIfDue('bundles', 3_600_000, 1024 + 10);
    expect(readdirSync(dir).sort()).toEqual(['.pruned', 'b', 'c']);
    // WHEN the last pruning is an interval old THEN it is pruned again
    utimesSync(join(dir, '.pruned'), now - 3601, now - 3601);
    pruneCacheIfDue('bundles', 3_600_000, 1024 + 10);
    expect(readdirSync(dir).sort()).toEqual(['.pruned', 'c']);
  });
});
