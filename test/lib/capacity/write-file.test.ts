import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, type AtomicWriteFs } from '../../../lib/capacity/write-file';

const ORIGINAL = '{\n  "name": "shop",\n  "stage": "millions"\n}\n';
const NEW = `{\n  "name": "shop",\n  "stage": "millions",\n  "padding": "${'x'.repeat(64 * 1024)}"\n}\n`;

/** The node:fs calls of the helper, `name` failing like a full disk after writing half of what it was given. */
function failing(name: keyof AtomicWriteFs): AtomicWriteFs {
  const enospc = () => Object.assign(new Error(`ENOSPC: no space left on device, ${name}`), { code: 'ENOSPC' });
  const real = fs as unknown as Record<string, (...args: unknown[]) => unknown>;
  return new Proxy(fs, {
    get(target, key: string) {
      if (key !== name) return Reflect.get(target, key) as unknown;
      return (...args: unknown[]) => {
        if (name === 'writeFileSync') real.writeFileSync(args[0], String(args[1]).slice(0, String(args[1]).length / 2));
        throw enospc();
      };
    },
  }) as AtomicWriteFs;
}

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(join(tmpdir(), 's2m-write-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('replaces a file and creates a new one, leaving no temporary file', () => {
    const file = join(dir, 'config.json');
    fs.writeFileSync(file, ORIGINAL);
    writeFileAtomic(file, NEW);
    writeFileAtomic(join(dir, 'new.json'), ORIGINAL);
    expect(fs.readFileSync(file, 'utf8')).toBe(NEW);
    expect(fs.readFileSync(join(dir, 'new.json'), 'utf8')).toBe(ORIGINAL);
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'new.json']);
  });

  it.each(['writeFileSync', 'fsyncSync', 'renameSync'] as const)('leaves the file byte for byte as it was, and no temporary file, when %s fails', (call) => {
    // GIVEN a config, and a disk that fills up during the write
    const file = join(dir, 'config.json');
    fs.writeFileSync(file, ORIGINAL);
    // WHEN the CLI writes it in place
    expect(() => writeFileAtomic(file, NEW, failing(call))).toThrow(/ENOSPC/);
    // THEN the user's config is intact
    expect(fs.readFileSync(file, 'utf8')).toBe(ORIGINAL);
    expect(fs.readdirSync(dir)).toEqual(['config.json']);
  });

  it('fails before touching anything when the temporary file cannot be created', () => {
    const file = join(dir, 'config.json');
    fs.writeFileSync(file, ORIGINAL);
    expect(() => writeFileAtomic(file, NEW, failing('openSync'))).toThrow(/ENOSPC/);
    expect(fs.readFileSync(file, 'utf8')).toBe(ORIGINAL);
  });

  it('writes through a symbolic link (chain), which stays a link, to the real file, whose mode is kept', () => {
    // GIVEN config.json → links/current.json → real/config.json, mode 0640
    fs.mkdirSync(join(dir, 'real'));
    fs.mkdirSync(join(dir, 'links'));
    const real = join(dir, 'real', 'config.json');
    fs.writeFileSync(real, ORIGINAL);
    fs.chmodSync(real, 0o640);
    fs.symlinkSync('../real/config.json', join(dir, 'links', 'current.json'));
    fs.symlinkSync('links/current.json', join(dir, 'config.json'));
    // WHEN
    writeFileAtomic(join(dir, 'config.json'), NEW);
    // THEN
    expect(fs.lstatSync(join(dir, 'config.json')).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(join(dir, 'config.json'))).toBe('links/current.json');
    expect(fs.lstatSync(join(dir, 'links', 'current.json')).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(real, 'utf8')).toBe(NEW);
    expect(fs.statSync(real).mode & 0o7777).toBe(0o640);
    expect(fs.readdirSync(join(dir, 'real'))).toEqual(['config.json']);
  });

  it('keeps a mode the umask would take away (0777), and creates the target of a dangling link', () => {
    const script = join(dir, 'run.json');
    fs.writeFileSync(script, ORIGINAL);
    fs.chmodSync(script, 0o777);
    writeFileAtomic(script, NEW);
    expect(fs.statSync(script).mode & 0o7777).toBe(0o777);

    fs.symlinkSync('later.json', join(dir, 'link.json'));
    writeFileAtomic(join(dir, 'link.json'), ORIGINAL);
    expect(fs.lstatSync(join(dir, 'link.json')).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(join(dir, 'later.json'), 'utf8')).toBe(ORIGINAL);
  });

  it('refuses a loop of links', () => {
    fs.symlinkSync('b', join(dir, 'a'));
    fs.symlinkSync('a', join(dir, 'b'));
    expect(() => writeFileAtomic(join(dir, 'a'), NEW)).toThrow(/too many symbolic links/);
  });
});
