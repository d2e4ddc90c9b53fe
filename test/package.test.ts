import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LIBRARY, freshLibraryBuild } = require('../scripts/library-build.cjs') as { LIBRARY: string[]; freshLibraryBuild(): string | undefined };

// The package as a user gets it: built, packed with `npm pack`, unpacked into a fresh app's node_modules, and used
// from there through its `exports` map, its lazy entry and its declaration files. Its dependencies resolve from this
// repository's node_modules (NODE_PATH), so the test needs no registry.
const ROOT = join(__dirname, '..');
const NODE_MODULES = join(ROOT, 'node_modules');

let tmp: string;
let consumer: string;
let files: string[];

function node(script: string): string {
  writeFileSync(join(consumer, 'probe.js'), script);
  return execFileSync(process.execPath, ['probe.js'], { cwd: consumer, encoding: 'utf8', env: { ...process.env, NODE_PATH: NODE_MODULES, CDK_VALIDATION: 'false' } });
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 's2m-package-'));
  const pkg = join(tmp, 'pkg');
  mkdirSync(pkg);
  for (const f of ['package.json', 'README.md', 'config', 'docs', 'examples']) cpSync(join(ROOT, f), join(pkg, f), { recursive: true });
  mkdirSync(join(pkg, 'bin'));
  cpSync(join(ROOT, 'bin', 's2m.cjs'), join(pkg, 'bin', 's2m.cjs'));
  // What `npm run build` does, into the copy: the library `npm run typecheck` compiled when it is the build of the
  // sources as they are (scripts/library-build.cjs), else compiled here.
  const prebuilt = freshLibraryBuild();
  if (prebuilt !== undefined) {
    for (const entry of LIBRARY) {
      const name = entry.replace(/\.ts$/, '');
      if (name === entry) cpSync(join(prebuilt, entry), join(pkg, 'dist', entry), { recursive: true });
      else for (const ext of ['.js', '.d.ts']) cpSync(join(prebuilt, `${name}${ext}`), join(pkg, 'dist', `${name}${ext}`));
    }
  } else {
    execFileSync(process.execPath, [join(NODE_MODULES, 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist'), '--sourceMap', 'false'], { stdio: 'pipe' });
  }
  execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'lazy-entry.ts'), join(pkg, 'dist')], { stdio: 'pipe', cwd: ROOT });
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: pkg, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
  files = packed[0].files.map((f) => f.path).sort();
  consumer = join(tmp, 'app');
  mkdirSync(join(consumer, 'node_modules'), { recursive: true });
  execFileSync('tar', ['-xzf', join(tmp, packed[0].filename), '-C', join(consumer, 'node_modules')]);
  renameSync(join(consumer, 'node_modules', 'package'), join(consumer, 'node_modules', 'scale-to-millions'));
}, 300_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships the build, the CLI, the example configs and the docs the README links to, and no sources or tests', () => {
    expect(files).toEqual(expect.arrayContaining([
      'dist/index.js', 'dist/index.d.ts', 'dist/lib/runtime/index.js', 'dist/lib/runtime/index.d.ts',
      'dist/lib/testing/index.js', 'dist/lib/capacity/index.js', 'bin/s2m.cjs', 'README.md', 'config/millions.json',
    ]));
    expect(files.filter((f) => f.startsWith('docs/'))).not.toHaveLength(0);
    // (the example application is TypeScript on purpose: the default config bundles its sources at synth)
    expect(files.filter((f) => /\.test\.|^test\/|^bench\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('examples/')))).toEqual([]);
  });

  it('ships every file the README and the docs link to, so the links work in the installed package', () => {
    const links: string[] = [];
    for (const doc of files.filter((f) => f === 'README.md' || /^docs\/.*\.md$/.test(f))) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(m[1])) continue;
        links.push(posix.normalize(posix.join(posix.dirname(doc), m[1])));
      }
    }
    expect(links.length).toBeGreaterThan(10);
    expect([...new Set(links)].filter((l) => !files.includes(l) && !files.some((f) => f.startsWith(`${l.replace(/\/$/, '')}/`)))).toEqual([]);
  });

  it('exposes exactly its entry and the runtime, testing and capacity sub-paths', () => {
    const out = JSON.parse(node(`
      const tryResolve = (m) => { try { require.resolve(m); return 'ok'; } catch (e) { return e.code; } };
      console.log(JSON.stringify(['scale-to-millions', 'scale-to-millions/runtime', 'scale-to-millions/testing', 'scale-to-millions/capacity',
        'scale-to-millions/package.json', 'scale-to-millions/dist/lib/app.js'].map(tryResolve)));`)) as string[];
    expect(out).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
  });

  it('loads no AWS SDK client, cdk-nag or aws-cdk-lib/assertions from its entry, even with every export used', () => {
    const loaded = JSON.parse(node(`
      const m = require('scale-to-millions');
      const names = Object.keys(m);
      for (const k of names) void m[k];
      const mods = Object.keys(require.cache);
      console.log(JSON.stringify({ names: names.length, sdk: mods.filter((p) => p.includes('/@aws-sdk/')), nag: mods.filter((p) => p.includes('/cdk-nag/')), assertions: mods.filter((p) => p.includes('/aws-cdk-lib/assertions/')) }));`)) as { names: number; sdk: string[]; nag: string[]; assertions: string[] };
    expect(loaded.names).toBeGreaterThan(50);
    expect({ sdk: loaded.sdk, nag: loaded.nag, assertions: loaded.assertions }).toEqual({ sdk: [], nag: [], assertions: [] });
  });

  it('loads neither aws-cdk-lib nor constructs from the runtime sub-path', () => {
    const loaded = JSON.parse(node(`
      const rt = require('scale-to-millions/runtime');
      const mods = Object.keys(require.cache);
      console.log(JSON.stringify({ router: typeof rt.ShardRouter, cdk: mods.filter((p) => /\\/(aws-cdk-lib|constructs)\\//.test(p)) }));`)) as { router: string; cdk: string[] };
    expect(loaded).toEqual({ router: 'function', cdk: [] });
  });

  it('synthesizes a consumer app built from the constructs, and snapshot-tests it with the testing helpers', () => {
    const out = JSON.parse(node(`
      const { Stack } = require('aws-cdk-lib');
      const { Network, WebTier, WorkQueue, WorkerFleet, AuroraDatabase } = require('scale-to-millions');
      const { createTestApp, stableTemplate, statefulLogicalIds } = require('scale-to-millions/testing');
      const ec2 = require('aws-cdk-lib/aws-ec2');
      const app = createTestApp();
      const stack = new Stack(app, 'Shop', { env: { region: 'eu-west-1' } });
      const { vpc } = new Network(stack, 'Network', { availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], cidr: '10.0.0.0/16' });
      new WebTier(stack, 'Web', { vpc, services: [{ name: 'web', instanceType: new ec2.InstanceType('t4g.small'), minCapacity: 2, maxCapacity: 4 }] });
      const workQueue = new WorkQueue(stack, 'Jobs', { averageProcessingTime: require('aws-cdk-lib').Duration.seconds(2), acceptableLatency: require('aws-cdk-lib').Duration.minutes(1) });
      new WorkerFleet(stack, 'Workers', { workQueue, vpc, instanceType: new ec2.InstanceType('t4g.small'), minCapacity: 0, maxCapacity: 2 });
      new AuroraDatabase(stack, 'Db', { vpc, availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] });
      const t = stableTemplate(stack);
      console.log(JSON.stringify({ resources: Object.keys(t.Resources).length, stateful: Object.values(statefulLogicalIds(stack)) }));`)) as { resources: number; stateful: string[] };
    expect(out.resources).toBeGreaterThan(50);
    expect(out.stateful).toEqual(expect.arrayContaining(['AWS::RDS::DBCluster', 'AWS::SQS::Queue']));
  });

  it('gives two databases of a consumer app without feature flags two different proxy names', () => {
    const names = JSON.parse(node(`
      const { App, Stack } = require('aws-cdk-lib');
      const { Template } = require('aws-cdk-lib/assertions');
      const { Network, AuroraDatabase } = require('scale-to-millions');
      const stack = new Stack(new App(), 'Shop', { env: { region: 'eu-west-1' } });
      const { vpc } = new Network(stack, 'Network', { availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], cidr: '10.0.0.0/16' });
      new AuroraDatabase(stack, 'Orders', { vpc });
      new AuroraDatabase(stack, 'Users', { vpc });
      const proxies = Template.fromStack(stack).findResources('AWS::RDS::DBProxy');
      console.log(JSON.stringify(Object.values(proxies).map((p) => p.Properties.DBProxyName)));`)) as string[];
    expect(names).toEqual([expect.stringMatching(/^ShopOrdersProxy[0-9A-F]{8}$/), expect.stringMatching(/^ShopUsersProxy[0-9A-F]{8}$/)]);
  });

  it('type-checks a consumer that imports through the exports map', () => {
    writeFileSync(join(consumer, 'app.ts'), `
import { App, Stack } from 'aws-cdk-lib';
import { Network, buildApp, type AppConfigInput } from 'scale-to-millions';
import { ShardRouter } from 'scale-to-millions/runtime';
import { createTestApp, stableTemplate } from 'scale-to-millions/testing';
import { planCapacity } from 'scale-to-millions/capacity';
const config: AppConfigInput = { name: 'shop', regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }] };
buildApp(new App(), config, { nagChecks: false });
const stack = new Stack(createTestApp(), 'S', { env: { region: 'eu-west-1' } });
new Network(stack, 'N', { availabilityZones: ['eu-west-1a', 'eu-west-1b'], cidr: '10.1.0.0/16' });
stableTemplate(stack);
export const fns = [ShardRouter.fromShardMap, planCapacity];
`);
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', skipLibCheck: true, types: [], typeRoots: [join(NODE_MODULES, '@types')], baseUrl: '.', paths: { 'aws-cdk-lib': [join(NODE_MODULES, 'aws-cdk-lib')], 'aws-cdk-lib/*': [join(NODE_MODULES, 'aws-cdk-lib', '*')], constructs: [join(NODE_MODULES, 'constructs')] } },
      files: ['app.ts'],
    }));
    // Fails the test with tsc's diagnostics when the exports' types do not resolve.
    execFileSync(process.execPath, [join(NODE_MODULES, 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: consumer, encoding: 'utf8', env: { ...process.env, NODE_PATH: NODE_MODULES } });
    expect(readdirSync(consumer)).toContain('app.ts');
  });
});
