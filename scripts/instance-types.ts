/**
 * Regenerates constructs/common/instance-types.ts: the EC2 instance types, Aurora DB instance classes,
 * ElastiCache node types and ElastiCache engine versions AWS offers, from the AWS Price List and API data
 * that the CloudFormation template validator bundled with aws-cdk-lib checks templates against
 * (`@aws/cloudformation-validate`, the cfn-lint enums of AWS::EC2::Instance InstanceType,
 * AWS::RDS::DBInstance DBInstanceClass and AWS::ElastiCache::CacheCluster CacheNodeType/EngineVersion).
 *
 * The data sits zstd-compressed inside the validator's WebAssembly module; this script needs the `zstd`
 * command (Debian: `apt-get install zstd`). Run after upgrading aws-cdk-lib:
 *   npx tsx scripts/instance-types.ts && npx eslint constructs/common/instance-types-data.ts
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const VALIDATOR = join(ROOT, 'node_modules', 'aws-cdk-lib', 'node_modules', '@aws', 'cloudformation-validate');
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Every zstd frame in the module that decompresses to a JSON document, by its first key. */
function documents(): Map<string, unknown> {
  const wasm = readFileSync(join(VALIDATOR, 'bindings_wasm_bg.wasm'));
  const out = new Map<string, unknown>();
  for (let at = wasm.indexOf(ZSTD_MAGIC); at >= 0; at = wasm.indexOf(ZSTD_MAGIC, at + 4)) {
    let text: string;
    try {
      // zstd decodes the frame, then fails on the bytes after it: keep what it wrote, ignore the status.
      text = execFileSync('zstd', ['-d', '-c', '-q'], { input: wasm.subarray(at, at + 16_000_000), maxBuffer: 64 * 1024 * 1024, stdio: ['pipe', 'pipe', 'ignore'] }).toString('utf8');
    } catch (e) {
      text = ((e as { stdout?: Buffer }).stdout ?? Buffer.alloc(0)).toString('utf8');
    }
    if (!text.startsWith('{')) continue;
    try {
      const doc = JSON.parse(text) as Record<string, unknown>;
      out.set(Object.keys(doc)[0], doc);
    } catch {
      // not a whole JSON document
    }
  }
  return out;
}

type Enum = { enum?: string[] };
type Conditional = { allOf: Array<{ if: { properties: Record<string, { const?: string }> }; then: { properties: Record<string, Enum> } }> };

const commercial = (region: string): boolean => !region.startsWith('cn-') && !region.startsWith('us-gov-');

/** `family.size` names → family → sizes (sorted small to large). */
function byFamily(names: Iterable<string>, prefix: string): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const dot = rest.indexOf('.');
    if (dot < 0) continue;
    const family = rest.slice(0, dot);
    const size = rest.slice(dot + 1);
    if (size.includes('.')) continue; // Oracle-only variants such as db.r5.large.tpc1.mem2x
    (out[family] ??= new Set()).add(size);
  }
  const order = (s: string): number => {
    const named = ['nano', 'micro', 'small', 'medium', 'large', 'xlarge'].indexOf(s);
    if (named >= 0) return named;
    const n = /^(\d+)xlarge$/.exec(s);
    if (n) return 5 + Number(n[1]);
    return 10_000 + (Number(/\d+/.exec(s)?.[0] ?? 0)); // metal, metal-24xl, ...
  };
  return Object.fromEntries(Object.keys(out).sort().map((f) => [f, [...out[f]].sort((a, b) => order(a) - order(b) || a.localeCompare(b))]));
}

function perRegionUnion(doc: Record<string, unknown>): Set<string> {
  const all = new Set<string>();
  for (const [region, v] of Object.entries(doc)) {
    if (!commercial(region) || typeof v !== 'object' || v === null) continue;
    for (const t of (v as Enum).enum ?? []) all.add(t);
  }
  return all;
}

function render(name: string, doc: string, table: Record<string, string[]>): string {
  const lines = Object.entries(table).map(([f, sizes]) => `  ${/^[a-z][a-z0-9]*$/.test(f) ? f : `'${f}'`}: '${sizes.join(' ')}',`);
  return `/** ${doc} */\nexport const ${name}: Readonly<Record<string, string>> = {\n${lines.join('\n')}\n};\n`;
}

function main(): void {
  const docs = documents();
  const ec2 = (docs.get('aws_ec2_instance_instancetype_enum') as Record<string, Record<string, unknown>>).aws_ec2_instance_instancetype_enum;
  const cache = (docs.get('aws_elasticache_cachecluster_cachenodetype_enum') as Record<string, Record<string, unknown>>).aws_elasticache_cachecluster_cachenodetype_enum;
  const rds = (docs.get('aws_rds_dbinstance_dbinstanceclass_enum') as Record<string, Record<string, Conditional>>).aws_rds_dbinstance_dbinstanceclass_enum;
  const aurora = (engine: string): Set<string> => {
    const all = new Set<string>();
    for (const [region, v] of Object.entries(rds)) {
      if (!commercial(region) || !v.allOf) continue;
      for (const rule of v.allOf) {
        if (rule.if.properties.Engine?.const !== engine) continue;
        for (const t of rule.then.properties.DBInstanceClass?.enum ?? []) all.add(t);
      }
    }
    return all;
  };
  let engineVersions: Record<string, string[]> | undefined;
  for (const doc of docs.values()) {
    const rules = (doc as Record<string, unknown>)['Aws::Elasticache::Cachecluster'] as Array<{ allOf: Conditional['allOf'] }> | undefined;
    if (!rules) continue;
    engineVersions = {};
    for (const rule of rules[0].allOf) {
      const engine = rule.if.properties.Engine?.const;
      const versions = rule.then.properties.EngineVersion?.enum;
      if (engine && versions) engineVersions[engine] = versions;
    }
  }
  if (!ec2 || !cache || !rds || !engineVersions) throw new Error('the validator data no longer has the expected documents; update scripts/instance-types.ts');
  const validator = JSON.parse(readFileSync(join(VALIDATOR, 'package.json'), 'utf8')) as { version: string };
  const cdk = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'aws-cdk-lib', 'package.json'), 'utf8')) as { version: string };
  const date = new Date().toISOString().slice(0, 10);
  const stripDb = (t: Record<string, string[]>) => Object.fromEntries(Object.entries(t).filter(([f]) => f !== 'serverless'));
  const text = [
    '/**',
    ' * The instance types AWS offers, by family: EC2 instance types (fleets), Aurora DB instance classes (per',
    ' * engine, without the `db.` prefix) and ElastiCache node types (without the `cache.` prefix), each family',
    ' * mapped to its sizes; and the ElastiCache engine versions. Kept here because synth runs offline.',
    ' *',
    ` * Source: the AWS Price List and API data that aws-cdk-lib ${cdk.version}'s template validator checks templates`,
    ` * against at synth (@aws/cloudformation-validate ${validator.version}: the cfn-lint enums of AWS::EC2::Instance`,
    ' * InstanceType, AWS::RDS::DBInstance DBInstanceClass for aurora-postgresql and aurora-mysql, and',
    ' * AWS::ElastiCache::CacheCluster CacheNodeType and EngineVersion), the union over the commercial regions.',
    ` * Generated ${date} by scripts/instance-types.ts; do not edit by hand. A family or size listed here exists`,
    ' * in at least one commercial region; availability in a given region is checked by the template validator.',
    ' */',
    '',
    render('EC2_INSTANCE_SIZES', 'EC2 instance families and their sizes, e.g. `m7g` → `medium large xlarge ... metal`.', byFamily(perRegionUnion(ec2), '')),
    render('AURORA_POSTGRES_CLASSES', 'Aurora PostgreSQL DB instance classes (besides `serverless`), e.g. `r7g` → `large xlarge ...`.', stripDb(byFamily(aurora('aurora-postgresql'), 'db.'))),
    render('AURORA_MYSQL_CLASSES', 'Aurora MySQL DB instance classes (besides `serverless`).', stripDb(byFamily(aurora('aurora-mysql'), 'db.'))),
    render('ELASTICACHE_NODE_SIZES', 'ElastiCache node families (`cache.<family>.<size>`) and their sizes.', byFamily(perRegionUnion(cache), 'cache.')),
    `/** ElastiCache engine versions that can be created, per engine (CloudFormation \`EngineVersion\`). */`,
    `export const ELASTICACHE_ENGINE_VERSIONS: Readonly<Record<'valkey' | 'redis', readonly string[]>> = {`,
    `  valkey: ${JSON.stringify(engineVersions.valkey).replace(/"/g, '\'').replace(/,/g, ', ')},`,
    `  redis: ${JSON.stringify(engineVersions.redis).replace(/"/g, '\'').replace(/,/g, ', ')},`,
    '};',
    '',
  ].join('\n');
  writeFileSync(join(ROOT, 'constructs', 'common', 'instance-types-data.ts'), text);
  console.log(`wrote constructs/common/instance-types-data.ts (${Object.keys(byFamily(perRegionUnion(ec2), '')).length} EC2 families)`);
}

main();
