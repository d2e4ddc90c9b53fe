import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..', '..');

/** Loads `entry` in a fresh Node process (TypeScript through tsx) and lists the modules it loaded. */
function modulesLoadedBy(entry: string): { exports: string[]; loaded: string[] } {
  const script = `
    const m = require(${JSON.stringify(entry)});
    process.stdout.write(JSON.stringify({ exports: Object.keys(m), loaded: Object.keys(require.cache) }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { exports: string[]; loaded: string[] };
}

const HEAVY = ['aws-cdk-lib', 'constructs', 'pg', '@aws-sdk'];
const heavyIn = (loaded: string[]) => HEAVY.filter((pkg) => loaded.some((p) => p.includes(`/node_modules/${pkg}/`)));

describe('scale-to-millions/runtime', () => {
  it('is a sub-path export of the package, pointing at the built runtime', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; peerDependenciesMeta: Record<string, unknown> };
    expect(pkg.exports['./runtime']).toEqual({ types: './dist/lib/runtime/index.d.ts', default: './dist/lib/runtime/index.js' });
    expect(pkg.peerDependenciesMeta['pg']).toEqual({ optional: true });
  });

  it('loads neither aws-cdk-lib nor constructs (nor pg or the AWS SDK until they are used)', () => {
    const { exports, loaded } = modulesLoadedBy(join(ROOT, 'lib', 'runtime', 'index.ts'));
    expect(exports).toEqual(expect.arrayContaining(['createRuntime', 'QueueProducer', 'serveHttp', 'loadTopology', 'Database', 'ShardedDatabase', 'HealthCheck', 'readEnvironment', 'ShardRouter', 'ENV_FILE']));
    expect(heavyIn(loaded)).toEqual([]);
  });

  it('(the check can fail: the package root does load aws-cdk-lib and constructs)', () => {
    expect(heavyIn(modulesLoadedBy(join(ROOT, 'index.ts')).loaded)).toEqual(expect.arrayContaining(['aws-cdk-lib', 'constructs']));
  });
});
