import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The reference app's launcher (cdk.json: `node --single-threaded-gc -r ./lib/synth/register.cjs bin/app.ts`), run
// on a small CommonJS program in a cache directory of the test's own.
const LAUNCHER = join(__dirname, '..', '..', '..', 'lib', 'synth', 'register.cjs');
const scratch = mkdtempSync(join(tmpdir(), 's2m-register-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A program that loads two modules, then changes the WebAssembly tiering budget as the validation engine does. */
function program(name: string, changeFlag: boolean): string {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  writeFileSync(join(dir, 'b.js'), 'exports.twice = (x) => x * 2;\n');
  writeFileSync(join(dir, 'a.js'), "const { twice } = require('./b');\nexports.run = () => twice(21);\n");
  writeFileSync(join(dir, 'main.js'), `const { run } = require('./a');\nif (run() !== 42) throw new Error('wrong');\n${changeFlag ? "require('node:v8').setFlagsFromString('--wasm-tiering-budget=400000000');\n" : ''}`);
  return dir;
}

/** Runs `main.js` of `dir` through the launcher; returns each code-cache file's inode and modification time. */
function launch(dir: string, cache: string, flags: string[] = []): Map<string, string> {
  const r = spawnSync(process.execPath, ['--single-threaded-gc', ...flags, '-r', LAUNCHER, 'main.js'], { cwd: dir, encoding: 'utf8', env: { ...process.env, S2M_CACHE_DIR: cache } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const v8 = join(cache, 'v8');
  return new Map(readdirSync(v8).map((f) => {
    const s = statSync(join(v8, f));
    return [f, `${s.ino}:${s.mtimeMs}`];
  }));
}

describe('the launcher\'s V8 code cache', () => {
  it('is written once and then used as it is, also when the program changes the tiering budget mid-run', () => {
    for (const [name, changeFlag, flags] of [['plain', false, []], ['engine', true, []], ['flagged', true, ['--wasm-tiering-budget=400000000']]] as const) {
      const dir = program(name, changeFlag);
      const cache = join(dir, 'cache');
      const first = launch(dir, cache, [...flags]);
      expect([name, first.size]).toEqual([name, 3]); // main.js, a.js, b.js
      // V8 rejects a cache made under other flags; a rejected cache is written again (a new file renamed into place)
      const second = launch(dir, cache, [...flags]);
      expect([name, second]).toEqual([name, first]);
    }
  });

  it('restores V8\'s own default tiering budget, which is what it names', () => {
    const listed = /--wasm-tiering-budget \(.*\)\n\s+type: int\s+default: --wasm-tiering-budget=(\d+)/.exec(spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout);
    expect(listed).not.toBeNull();
    expect(readFileSync(LAUNCHER, 'utf8')).toContain(`const V8_DEFAULT_TIERING_BUDGET = '${listed![1]}';`);
  });
});
