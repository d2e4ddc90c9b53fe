import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Application servers import the runtime: it must not drag in the CDK, and the optional or heavy clients (ioredis,
// the AWS SDK) load only when a feature that needs them is used.
describe('scale-to-millions/runtime imports', () => {
  it('loads neither aws-cdk-lib, constructs, ioredis nor the AWS SDK at import', () => {
    const entry = join(__dirname, '..', '..', '..', 'lib', 'runtime', 'index.ts');
    const script = `
      const runtime = require(${JSON.stringify(entry)});
      const loaded = Object.keys(require.cache).filter((k) => /node_modules[\\\\/](ioredis|@aws-sdk|aws-cdk-lib|constructs)[\\\\/]/.test(k));
      process.stdout.write(JSON.stringify({ exports: Object.keys(runtime).length, loaded }));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' })) as { exports: number; loaded: string[] };
    expect(out.exports).toBeGreaterThan(40);
    expect(out.loaded).toEqual([]);
  });
});
