import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { ELASTICACHE_ENGINE_VERSIONS, ELASTICACHE_NODE_TYPES, EC2_INSTANCE_TYPES, AURORA_INSTANCE_CLASSES, isOffered } from '../../../constructs/common/instance-types';
import { parseNodeType } from '../../../constructs/cache/node-types';
import {
  ConfigError, PRESETS, STAGES, checkFailoverRegions, formatIssue, loadConfigFile, parseConfigText, resolveConfig, stageFindings,
} from '../../../lib/config';

/** A valid raw config for one region of the millions stage, with `overrides` on top. */
function base(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'shop', stage: 'millions', regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }], services: [{ name: 'web' }], ...overrides };
}

/** The problems of a raw config as `path: message (got: value)` lines; fails the test when it is valid. */
function problems(raw: unknown): string[] {
  try {
    resolveConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map(formatIssue);
  }
  throw new Error('expected the config to be rejected');
}

const DOMAIN = { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };

describe('availability zones that do not exist', () => {
  test.each([
    { region: 'us-west-1', zone: 'us-west-1b', zones: 'us-west-1a, us-west-1c' },
    { region: 'ca-central-1', zone: 'ca-central-1c', zones: 'ca-central-1a, ca-central-1b, ca-central-1d' },
    { region: 'eu-west-1', zone: 'eu-west-1d', zones: 'eu-west-1a, eu-west-1b, eu-west-1c' },
  ])('fails for $zone, naming the zones of $region', ({ region, zone, zones }) => {
    const raw = base({ stage: 'startup', regions: [{ region, vpcCidr: '10.0.0.0/16', availabilityZones: [`${region}a`, zone] }] });
    expect(problems(raw)).toEqual([`regions[0].availabilityZones[1]: does not exist: the zones of ${region} are ${zones} (got: "${zone}")`]);
  });

  it('accepts every zone the region table lists', () => {
    expect(resolveConfig(base({ regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16', availabilityZones: ['us-east-1d', 'us-east-1e', 'us-east-1f'] }] })).regions[0].availabilityZones)
      .toEqual(['us-east-1d', 'us-east-1e', 'us-east-1f']);
  });
});

describe('instance types of a plausible shape but no real family', () => {
  test.each([
    { where: 'a service', raw: base({ services: [{ name: 'web', instanceType: 'gc7.large' }] }), message: 'services[0].instanceType: is not an EC2 instance type: EC2 has no family "gc7" (did you mean c7g?) (got: "gc7.large")' },
    { where: 'a service, a size the family lacks', raw: base({ services: [{ name: 'web', instanceType: 't4g.4xlarge' }] }), message: 'services[0].instanceType: is not an EC2 instance type: t4g comes in nano, micro, small, medium, large, xlarge, 2xlarge (got: "t4g.4xlarge")' },
    { where: 'a worker fleet', raw: base({ queues: [{ name: 'jobs', workers: { instanceType: 'm7q.large' } }] }), message: 'queues[0].workers.instanceType: is not an EC2 instance type: EC2 has no family "m7q" (did you mean m7a, m7g or m7i?) (got: "m7q.large")' },
    {
      where: 'the database writer (an EC2 family Aurora does not offer)', raw: base({ database: { instanceType: 'c7g.large' } }),
      message: 'database.instanceType: is not an Aurora PostgreSQL DB instance class: c7g is an EC2 family Aurora does not offer (Aurora families: r4, r5, r6g, r6gd, r6i, r6id, r7g, r7i, r8g, r8gd, t3, t4g, x2g; or "serverless") (got: "c7g.large")',
    },
    { where: 'the database readers', raw: base({ database: { readerInstanceType: 'db.r7g.64xlarge' } }), message: 'database.readerInstanceType: is not an Aurora PostgreSQL DB instance class: r7g comes in large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge (got: "db.r7g.64xlarge")' },
    { where: 'a MySQL-only class on PostgreSQL', raw: base({ database: { instanceType: 't4g.small' } }), message: 'database.instanceType: is not an Aurora PostgreSQL DB instance class: t4g comes in medium, large, xlarge, 2xlarge (got: "t4g.small")' },
    { where: 'a shard', raw: base({ database: { shards: [{ id: 's0' }, { id: 's1', instanceType: 'gr7.large' }] } }), message: 'database.shards[1].instanceType: is not an Aurora PostgreSQL DB instance class: Aurora PostgreSQL has no family "gr7" (did you mean r7g?) (got: "gr7.large")' },
    { where: 'the cache', raw: base({ cache: { nodeType: 'cache.gr7.large' } }), message: 'cache.nodeType: is not an ElastiCache node type: ElastiCache has no family "gr7" (did you mean r7g?) (got: "cache.gr7.large")' },
    { where: 'the cache, a size the family lacks', raw: base({ stage: 'startup', cache: { nodeType: 'cache.t4g.large' } }), message: 'cache.nodeType: is not an ElastiCache node type: t4g comes in micro, small, medium (got: "cache.t4g.large")' },
    { where: 'the cache, no cache. prefix', raw: base({ cache: { nodeType: 'r7g.large' } }), message: 'cache.nodeType: must be an ElastiCache node type like cache.r7g.large (got: "r7g.large")' },
  ])('fails for $where, naming the field', ({ raw, message }) => {
    expect(problems(raw)).toEqual([message]);
  });

  it('accepts the types of every stage preset and example config', () => {
    for (const stage of STAGES) {
      const p = PRESETS[stage];
      expect(isOffered(EC2_INSTANCE_TYPES, p.web.instanceType)).toBe(true);
      expect(isOffered(EC2_INSTANCE_TYPES, p.queues.workers.instanceType)).toBe(true);
      // Serverless v2 (the startup stage's writer) is a class of its own, not a provisioned one.
      if (p.database.instanceType !== 'serverless') {
        expect(isOffered(AURORA_INSTANCE_CLASSES.postgres, p.database.instanceType)).toBe(true);
        expect(isOffered(AURORA_INSTANCE_CLASSES.mysql, p.database.instanceType)).toBe(true);
      }
      expect(parseNodeType(p.cache.nodeType)).toBeDefined();
    }
    expect(resolveConfig(base({ database: { engine: 'mysql', engineVersion: '3.08.0', instanceType: 't4g.small' }, stage: 'startup' })).database.instanceType).toBe('t4g.small');
  });

  it('knows the current families of each service', () => {
    for (const f of ['m7g', 'c7g', 'r8g', 't4g', 'c7i-flex']) expect(EC2_INSTANCE_TYPES.families).toContain(f);
    for (const f of ['r7g', 'r8g', 'x2g', 't4g', 'r6i']) expect(AURORA_INSTANCE_CLASSES.postgres.families).toContain(f);
    for (const f of ['m7g', 'c7g']) expect(AURORA_INSTANCE_CLASSES.postgres.families).not.toContain(f);
    for (const f of ['t4g', 'm7g', 'r7g', 'r6g', 'r8g', 'c7gn']) expect(ELASTICACHE_NODE_TYPES.families).toContain(f);
  });
});

describe('cache engine versions', () => {
  test.each([
    { engine: 'valkey', version: '8.3', allowed: ELASTICACHE_ENGINE_VERSIONS.valkey.join(', '), name: 'Valkey' },
    { engine: 'redis', version: '7.3', allowed: ELASTICACHE_ENGINE_VERSIONS.redis.join(', '), name: 'Redis OSS' },
    { engine: 'redis', version: '6.1', allowed: ELASTICACHE_ENGINE_VERSIONS.redis.join(', '), name: 'Redis OSS' },
  ])('fails for $engine $version', ({ engine, version, allowed, name }) => {
    expect(problems(base({ cache: { engine, engineVersion: version } }))).toEqual([`cache.engineVersion: is not a ${name} version ElastiCache offers (${allowed}) (got: "${version}")`]);
  });

  it('checks the version recorded in cache.immutable too', () => {
    const immutable = { engine: 'valkey', engineVersion: '8.9', port: 6379, subnets: 'isolated', authMode: 'rbac', globalDatastore: false };
    expect(problems(base({ cache: { immutable } }))).toContain(`cache.immutable.engineVersion: is not a Valkey version ElastiCache offers (${ELASTICACHE_ENGINE_VERSIONS.valkey.join(', ')}) (got: "8.9")`);
  });

  it('accepts every version it lists for valkey and redis 6+', () => {
    for (const v of ELASTICACHE_ENGINE_VERSIONS.valkey) expect(resolveConfig(base({ cache: { engine: 'valkey', engineVersion: v } })).cache.engineVersion).toBe(v);
    for (const v of ELASTICACHE_ENGINE_VERSIONS.redis.filter((x) => Number(x.split('.')[0]) >= 6)) expect(resolveConfig(base({ cache: { engine: 'redis', engineVersion: v } })).cache.engineVersion).toBe(v);
  });
});

describe('scheduled capacity outside the service\'s bounds', () => {
  test.each([
    {
      what: 'a scheduled minimum above the service\'s maximum',
      schedule: { name: 'morning', schedule: '0 7 * * *', minCapacity: 50 },
      message: 'services[0].scheduledScaling[0].minCapacity: must not exceed the service\'s maxCapacity (30): the action would fail when it runs; set this schedule\'s maxCapacity too, or raise the service\'s (got: 50)',
    },
    {
      what: 'a scheduled maximum below the service\'s minimum',
      schedule: { name: 'night', schedule: '0 1 * * *', maxCapacity: 2 },
      message: 'services[0].scheduledScaling[0].maxCapacity: must not be below the service\'s minCapacity (3): the action would fail when it runs; set this schedule\'s minCapacity too, or lower the service\'s (got: 2)',
    },
  ])('fails for $what', ({ schedule, message }) => {
    expect(problems(base({ services: [{ name: 'web', minCapacity: 3, maxCapacity: 30, scheduledScaling: [schedule] }] }))).toEqual([message]);
  });

  it('accepts a schedule that moves both bounds past the service\'s', () => {
    const cfg = resolveConfig(base({ services: [{ name: 'web', minCapacity: 3, maxCapacity: 30, scheduledScaling: [{ name: 'sale', schedule: '0 7 * * *', minCapacity: 50, maxCapacity: 80 }] }] }));
    expect(cfg.services[0].scheduledScaling).toEqual([{ name: 'sale', schedule: '0 7 * * *', minCapacity: 50, maxCapacity: 80 }]);
  });
});

describe('alarm thresholds that can never fire (or always fire)', () => {
  test.each([
    { what: 'a CPU percent above 100', thresholds: { database: { cpuPercent: { critical: 120 } } }, message: 'monitoring.thresholds.database.cpuPercent.critical: must be at most 100 (got: 120)' },
    { what: 'an in-service percent of the maximum above 100', thresholds: { fleets: { inServicePercentOfMax: { critical: 150 } } }, message: 'monitoring.thresholds.fleets.inServicePercentOfMax.critical: must be at most 100 (got: 150)' },
    { what: 'a warning above its critical', thresholds: { web: { p99LatencyMs: { warning: 3000, critical: 2000 } } }, message: 'monitoring.thresholds.web.p99LatencyMs.warning: higher is worse here, so warning must be below critical (2000) (got: 3000)' },
    { what: 'a warning of 0 where higher is worse (always in alarm)', thresholds: { queues: { deadLetterMessages: { warning: 0 } } }, message: 'monitoring.thresholds.queues.deadLetterMessages.warning: must be above 0: the alarm fires at or above its threshold, so 0 keeps it in alarm all the time (got: 0)' },
    { what: 'a critical of 0 where lower is worse (never fires)', thresholds: { database: { freeableMemoryMiB: { critical: 0 } } }, message: 'monitoring.thresholds.database.freeableMemoryMiB.critical: must be above 0: the alarm fires below its threshold, and the value never goes below 0 (got: 0)' },
  ])('fails for $what', ({ thresholds, message }) => {
    expect(problems(base({ monitoring: { thresholds } }))).toEqual([message]);
  });

  it('accepts a queue age above 100% of the latency target (it is a ratio, not a share)', () => {
    expect(resolveConfig(base({ monitoring: { thresholds: { queues: { oldestMessageAgePercentOfLatency: { warning: 150, critical: 400 } } } } })).monitoring.thresholds.queues.oldestMessageAgePercentOfLatency)
      .toEqual({ warning: 150, critical: 400 });
  });
});

describe('tags', () => {
  test.each([
    { what: 'the reserved aws: prefix', tags: { 'aws:team': 'x' }, message: 'tags.aws:team: uses the prefix "aws:", which AWS reserves for its own tags (got: "aws:team")' },
    { what: 'the reserved prefix in capitals', tags: { 'AWS:Team': 'x' }, message: 'tags.AWS:Team: uses the prefix "aws:", which AWS reserves for its own tags (got: "AWS:Team")' },
    { what: 'a key the app sets itself', tags: { stage: 'prod' }, message: 'tags.stage: is a tag the app sets on every resource itself (app, stage, tier); pick another key (got: "stage")' },
    { what: 'a key longer than 128 characters', tags: { ['k'.repeat(129)]: 'x' }, message: `tags.${'k'.repeat(129)}: a tag key must be 1 to 128 characters (got: "${'k'.repeat(76)}...)` },
    { what: 'a value longer than 256 characters', tags: { team: 'v'.repeat(257) }, message: `tags.team: a tag value must be at most 256 characters (got: "${'v'.repeat(76)}...)` },
    { what: 'characters AWS does not allow', tags: { 'team#1': 'x' }, message: 'tags.team#1: a tag key may hold letters, digits, spaces and _ . : / = + - @ only (got: "team#1")' },
    { what: 'the prefix of the constructs\' own tags', tags: { 's2m:fleet': 'x' }, message: 'tags.s2m:fleet: uses the prefix "s2m:", which the constructs use for their own tags (s2m:fleet, s2m:app-version) (got: "s2m:fleet")' },
    ...[['a space', 'cost center'], ['a slash', 'team/owner'], ['a letter outside ASCII', 'Équipe'], ['only a period', '.'], ['two periods', '..'], ['_index', '_index']].map(([what, key]) => ({
      what: `a key with ${what}, which instances with tags in their metadata refuse`,
      tags: { [key]: 'x' },
      message: `tags.${key}: a tag key reaches the fleets' instances, which have tags in their metadata: EC2 then allows only ASCII letters, digits and + - = . _ : @ (no spaces, no /, not ".", ".." or "_index"), and refuses to launch otherwise (got: ${JSON.stringify(key)})`,
    })),
    { what: 'too many tags', tags: Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`t${i}`, 'x'])), message: 'tags: must have at most 44 tags (AWS allows 50 per resource; the app and the VPC\'s subnets add up to 6) (got: 45)' },
  ])('fails for $what', ({ tags, message }) => {
    expect(problems(base({ tags }))).toEqual([message]);
  });

  it('accepts keys of letters, digits and + - = . _ : @, and values with unicode letters, spaces and / as well', () => {
    expect(resolveConfig(base({ tags: { 'cost-center': 'platform', 'owner@team': 'Équipe / ops@example.com', 'env:name.v2': 'prod_1+2=3' } })).tags)
      .toEqual({ 'cost-center': 'platform', 'owner@team': 'Équipe / ops@example.com', 'env:name.v2': 'prod_1+2=3' });
  });
});

describe('failover routing with more regions than it routes', () => {
  const regions = [
    { region: 'us-east-1', vpcCidr: '10.0.0.0/16' },
    { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' },
    { region: 'ap-southeast-1', vpcCidr: '10.2.0.0/16' },
  ];

  it('warns, with an id, on the app stack of each region nothing routes to', () => {
    const cfg = resolveConfig(base({ regions, domain: DOMAIN, dns: { routing: 'failover', failover: { primary: 'us-east-1', secondary: 'eu-west-1' } } }));
    expect(stageFindings(cfg).filter((f) => f.id === 'scale-to-millions:stage-failover-regions')).toEqual([{
      id: 'scale-to-millions:stage-failover-regions',
      region: 'ap-southeast-1',
      message: 'dns.routing "failover" sends users to us-east-1 and, while it is unhealthy, to eu-west-1; ap-southeast-1 is deployed but no record routes to it (got: 3 regions). Route with "latency" or "geolocation" to serve every region, or remove this one.',
    }]);
  });

  it('says nothing for two regions, or for latency routing', () => {
    const two = resolveConfig(base({ regions: regions.slice(0, 2), domain: DOMAIN, dns: { routing: 'failover' } }));
    expect(checkFailoverRegions(two, PRESETS.millions)).toEqual([]);
    const latency = resolveConfig(base({ regions, domain: DOMAIN }));
    expect(checkFailoverRegions(latency, PRESETS.millions)).toEqual([]);
  });
});

describe('stage findings print what the user wrote', () => {
  it('never prints "(got: undefined)"', () => {
    const noDomain = resolveConfig(base({ stage: 'global', regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }, { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' }] }));
    const messages = stageFindings(noDomain).map((f) => f.message);
    expect(messages).toEqual([expect.stringContaining('The config runs 2 regions (us-east-1, eu-west-1) but sets no `domain`')]);
    for (const m of messages) expect(m).not.toContain('undefined');
  });
});

describe('duplicate keys in the config file', () => {
  test.each([
    {
      what: 'at the root',
      text: '{\n  "name": "shop",\n  "stage": "growth",\n  "regions": [{ "region": "us-east-1", "vpcCidr": "10.0.0.0/16" }],\n  "stage": "millions"\n}\n',
      issues: ['stage: duplicate key (lines 3 and 5): JSON keeps only the last value, so "growth" would be silently dropped; keep one (got: "millions")'],
    },
    {
      what: 'inside a list item',
      text: '{ "name": "shop", "regions": [{ "region": "us-east-1", "vpcCidr": "10.0.0.0/16" }],\n  "services": [{ "name": "web" },\n    { "name": "api", "pathPatterns": ["/api/*"], "maxCapacity": 10,\n      "maxCapacity": 40 }] }',
      issues: ['services[1].maxCapacity: duplicate key (lines 3 and 4): JSON keeps only the last value, so 10 would be silently dropped; keep one (got: 40)'],
    },
    {
      what: 'a whole section given twice',
      text: '{ "name": "shop", "regions": [{ "region": "us-east-1", "vpcCidr": "10.0.0.0/16" }],\n"cache": { "shards": 2 },\n"cache": { "nodeType": "cache.r7g.large" } }',
      issues: ['cache: duplicate key (lines 2 and 3): JSON keeps only the last value, so {"shards":2} would be silently dropped; keep one (got: {"nodeType":"cache.r7g.large"})'],
    },
  ])('fails when a key is repeated $what, naming its path', ({ text, issues }) => {
    let error: ConfigError | undefined;
    try {
      parseConfigText(text, 'dup.json');
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message.split('\n')[0]).toBe('Invalid config dup.json: 1 problem');
    expect(error!.issues.map(formatIssue)).toEqual(issues);
  });

  describe('loadConfigFile', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 's2m-dup-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('rejects a file with a repeated key before validating it', () => {
      const file = join(dir, 'dup.json');
      writeFileSync(file, '{ "name": "shop", "name": "shop2", "regions": [{ "region": "us-east-1", "vpcCidr": "10.0.0.0/16" }] }');
      expect(() => loadConfigFile(file)).toThrow(`Invalid config ${file}: 1 problem\n  name: duplicate key (lines 1 and 1): JSON keeps only the last value, so "shop" would be silently dropped; keep one (got: "shop2")`);
    });

    it('reads a file saved with a UTF-8 byte-order mark (as some Windows editors write it), as cdk synth does', () => {
      const file = join(dir, 'bom.json');
      writeFileSync(file, '\ufeff{ "name": "shop", "regions": [{ "region": "us-east-1", "vpcCidr": "10.0.0.0/16" }] }');
      expect(loadConfigFile(file).name).toBe('shop');
    });
  });
});
