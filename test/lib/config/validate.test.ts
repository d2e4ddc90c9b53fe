import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, resolveConfig, type AppConfig } from '../../../lib/config';

const ROOT = join(__dirname, '..', '..', '..');

/** A valid raw config (a fresh copy each call) for one region in the given stage. */
function base(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'shop',
    stage: 'millions',
    regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }],
    services: [{ name: 'web' }],
    ...overrides,
  };
}

/** The formatted problems (`path: message (got: value)`) of a raw config; fails the test if it is valid. */
function problems(raw: unknown): string[] {
  try {
    resolveConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message.split('\n').slice(1).map((l) => l.trim());
  }
  throw new Error('expected the config to be rejected');
}

describe('resolveConfig: bad input', () => {
  it('fails when the region is unknown', () => {
    // GIVEN a region code that does not exist
    const raw = base({ regions: [{ region: 'mars-east-1', vpcCidr: '10.0.0.0/16' }] });
    // THEN the field and the value are named
    expect(problems(raw)).toEqual(['regions[0].region: unknown AWS region (got: "mars-east-1")']);
  });

  it('fails for a service health check path with a quote or a query string, which the instances\' settings file or the load balancer would not take', () => {
    const what = 'must be a path starting with / of A-Z a-z 0-9 _ - . $ / ~ @ : + & (no query string, wildcard or quote)';
    expect(problems(base({ services: [{ name: 'web', healthCheckPath: "/it's" }] }))).toEqual([`services[0].healthCheckPath: ${what} (got: "/it's")`]);
    expect(problems(base({ services: [{ name: 'web', healthCheckPath: '/health?full=1' }] }))).toEqual([`services[0].healthCheckPath: ${what} (got: "/health?full=1")`]);
    expect(resolveConfig(base({ services: [{ name: 'web', healthCheckPath: '/api/v1/health~check' }] })).services[0]!.healthCheckPath).toBe('/api/v1/health~check');
  });

  it('fails when an availability zone is outside its region', () => {
    const raw = base({ regions: [{ region: 'eu-west-1', availabilityZones: ['eu-west-1a', 'eu-west-1b', 'us-east-1c'], vpcCidr: '10.0.0.0/16' }] });
    expect(problems(raw)).toContain('regions[0].availabilityZones[2]: is not an availability zone of eu-west-1 (got: "us-east-1c")');
  });

  it('fails when an availability zone name is malformed or repeated', () => {
    const raw = base({ regions: [{ region: 'eu-west-1', availabilityZones: ['eu-west-1a', 'eu-west-1a', 'euw1-az1', 'eu-west-1b'], vpcCidr: '10.0.0.0/16' }] });
    const out = problems(raw);
    expect(out).toContain('regions[0].availabilityZones[1]: duplicate availability zone (got: "eu-west-1a")');
    expect(out).toContain('regions[0].availabilityZones[2]: must be an availability zone name like eu-west-1a (got: "euw1-az1")');
  });

  it('fails when fewer than 3 availability zones are listed and the stage needs 3', () => {
    const raw = base({ stage: 'growth', regions: [{ region: 'eu-west-1', availabilityZones: ['eu-west-1a', 'eu-west-1b'], vpcCidr: '10.0.0.0/16' }] });
    expect(problems(raw)).toEqual(['regions[0].availabilityZones: the growth stage needs at least 3 availability zones (got: ["eu-west-1a","eu-west-1b"])']);
  });

  it('fails when the region has fewer zones than the stage needs', () => {
    const raw = base({ regions: [{ region: 'us-west-1', vpcCidr: '10.0.0.0/16' }] });
    expect(problems(raw)).toEqual([
      'regions[0].region: has 2 availability zones (us-west-1a, us-west-1c); the millions stage needs 3: pick another region or a smaller stage (got: "us-west-1")',
    ]);
  });

  it('accepts two zones in the startup stage', () => {
    const cfg = resolveConfig(base({ stage: 'startup', regions: [{ region: 'us-west-1', vpcCidr: '10.0.0.0/16' }] }));
    expect(cfg.regions[0].availabilityZones).toEqual(['us-west-1a', 'us-west-1c']);
  });

  it('fails when VPC CIDRs of two regions overlap', () => {
    const raw = base({
      regions: [
        { region: 'us-east-1', vpcCidr: '10.0.0.0/16' },
        { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' },
        { region: 'ap-southeast-1', vpcCidr: '10.0.128.0/17' },
      ],
    });
    expect(problems(raw)).toEqual(['regions[2].vpcCidr: overlaps regions[0].vpcCidr (10.0.0.0/16) (got: "10.0.128.0/17")']);
  });

  it('fails when a VPC CIDR is malformed, has host bits set or is out of the /16-/22 range', () => {
    const raw = base({
      regions: [
        { region: 'us-east-1', vpcCidr: '10.0.0.0' },
        { region: 'eu-west-1', vpcCidr: '10.1.0.1/16' },
        { region: 'ap-southeast-1', vpcCidr: '10.0.0.0/8' },
      ],
    });
    expect(problems(raw)).toEqual([
      'regions[0].vpcCidr: must be an IPv4 CIDR block like 10.0.0.0/16 with no host bits set (got: "10.0.0.0")',
      'regions[1].vpcCidr: must be an IPv4 CIDR block like 10.0.0.0/16 with no host bits set (got: "10.1.0.1/16")',
      'regions[2].vpcCidr: prefix must be between /16 and /22 (got: "10.0.0.0/8")',
    ]);
  });

  it('fails when a region is listed twice', () => {
    const raw = base({ regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }, { region: 'us-east-1', vpcCidr: '10.1.0.0/16' }] });
    expect(problems(raw)).toEqual(['regions[1].region: duplicate region (also at regions[0]) (got: "us-east-1")']);
  });

  it('fails when there are no regions', () => {
    expect(problems(base({ regions: [] }))).toEqual(['regions: must have at least 1 item (got: [])']);
    expect(problems(base({ regions: undefined }))).toEqual(['regions: is required (got: undefined)']);
  });

  it('fails when primaryRegion is not a configured region', () => {
    expect(problems(base({ primaryRegion: 'eu-west-1' }))).toEqual(['primaryRegion: must be one of the configured regions (us-east-1) (got: "eu-west-1")']);
  });

  it('fails when minCapacity exceeds maxCapacity', () => {
    const raw = base({ services: [{ name: 'web', minCapacity: 10, maxCapacity: 5 }] });
    expect(problems(raw)).toEqual(['services[0].minCapacity: must not exceed maxCapacity (5) (got: 10)']);
  });

  it('fails when a scheduled action has min above max or neither bound', () => {
    const raw = base({
      services: [{
        name: 'web',
        scheduledScaling: [
          { name: 'peak', schedule: '0 8 * * *', minCapacity: 9, maxCapacity: 4 },
          { name: 'idle', schedule: '0 20 * * *' },
          { name: 'bad', schedule: 'every day', minCapacity: 1 },
        ],
      }],
    });
    const out = problems(raw);
    expect(out).toContain('services[0].scheduledScaling[0].minCapacity: must not exceed maxCapacity (4) (got: 9)');
    expect(out).toContain('services[0].scheduledScaling[1]: must set minCapacity or maxCapacity (got: {"name":"idle","schedule":"0 20 * * *"})');
    expect(out).toContain('services[0].scheduledScaling[2].schedule: must be a five-field cron expression like "0 8 * * MON-FRI" (got: "every day")');
  });

  it('fails when the instance type is malformed', () => {
    const raw = base({ services: [{ name: 'web', instanceType: 'm7g-large' }, { name: 'api', pathPatterns: ['/api/*'], instanceType: 'large' }] });
    expect(problems(raw)).toEqual([
      'services[0].instanceType: must be an EC2 instance type like m7g.large (got: "m7g-large")',
      'services[1].instanceType: must be an EC2 instance type like m7g.large (got: "large")',
    ]);
  });

  it('accepts well-formed instance types of every shape', () => {
    for (const instanceType of ['m7g.large', 'c7gn.16xlarge', 't4g.nano', 'm5.metal', 'u-6tb1.112xlarge', 'r7iz.metal-16xl']) {
      expect(resolveConfig(base({ services: [{ name: 'web', instanceType }] })).services[0].instanceType).toBe(instanceType);
    }
  });

  it('refuses a deregistration delay that leaves a terminating instance no time to stop within its lifecycle hook', () => {
    expect(() => resolveConfig(base({ services: [{ name: 'web', deregistrationDelaySeconds: 3556 }] }))).toThrow('services[0].deregistrationDelaySeconds: must be at most 3555 (got: 3556)');
    expect(resolveConfig(base({ services: [{ name: 'web', deregistrationDelaySeconds: 3555 }] })).services[0].deregistrationDelaySeconds).toBe(3555);
  });

  it('fails when counts are zero, negative or fractional', () => {
    const raw = base({
      network: { natGateways: -1, flowLogRetentionDays: 0 },
      services: [{
        name: 'web',
        minCapacity: 0,
        maxCapacity: -2,
        targetRequestsPerInstance: 0,
        port: 0,
        deregistrationDelaySeconds: -5,
        stepScaling: { cpuAbove: 80, addInstances: 0 },
        warmPool: { minSize: 1.5 },
      }],
    });
    const out = problems(raw);
    expect(out).toEqual(expect.arrayContaining([
      'network.natGateways: must be at least 0 (got: -1)',
      'network.flowLogRetentionDays: must be a positive whole number (at least 1) (got: 0)',
      'services[0].minCapacity: must be a positive whole number (at least 1) (got: 0)',
      'services[0].maxCapacity: must be a positive whole number (at least 1) (got: -2)',
      'services[0].targetRequestsPerInstance: must be a positive whole number (at least 1) (got: 0)',
      'services[0].port: must be a positive whole number (at least 1) (got: 0)',
      'services[0].deregistrationDelaySeconds: must be at least 0 (got: -5)',
      'services[0].stepScaling.addInstances: must be a positive whole number (at least 1) (got: 0)',
      'services[0].warmPool.minSize: must be a whole number (got: 1.5)',
    ]));
  });

  it('fails when a region has more NAT gateways than zones', () => {
    const raw = base({ regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16', natGateways: 4 }] });
    expect(problems(raw)).toEqual(['regions[0].natGateways: must not exceed the number of availability zones (3) (got: 4)']);
  });

  it('fails when slow start is between 1 and 29 seconds', () => {
    expect(problems(base({ services: [{ name: 'web', slowStartSeconds: 10 }] }))).toEqual(['services[0].slowStartSeconds: must be 0 (off) or between 30 and 900 (got: 10)']);
  });

  it('fails when a warm pool is larger than the fleet maximum', () => {
    const raw = base({ services: [{ name: 'web', minCapacity: 3, maxCapacity: 6, warmPool: { minSize: 7 } }] });
    expect(problems(raw)).toEqual(["services[0].warmPool.minSize: must not exceed the service's maxCapacity (6) (got: 7)"]);
  });

  it('fails when two services have the same name', () => {
    const raw = base({ services: [{ name: 'web' }, { name: 'web', pathPatterns: ['/api/*'] }] });
    expect(problems(raw)).toEqual(['services[1].name: duplicate service name (also at services[0]) (got: "web")']);
  });

  it('fails when two service names become the same output key', () => {
    const raw = base({ services: [{ name: 'web' }, { name: 'api-1', pathPatterns: ['/a/*'] }, { name: 'api1', pathPatterns: ['/b/*'] }] });
    expect(problems(raw)).toEqual(['services[2].name: collides with "api-1" (also at services[1]): both become Api1 in output keys (got: "api1")']);
  });

  it('fails when two services claim the same route', () => {
    const raw = base({
      services: [
        { name: 'web' },
        { name: 'api', pathPatterns: ['/api/*'], hostPatterns: ['api.example.com'] },
        { name: 'api2', pathPatterns: ['/api/*'] },
        { name: 'admin', hostPatterns: ['api.example.com'] },
      ],
    });
    expect(problems(raw)).toEqual([
      'services[2]: duplicate route path /api/* (also at services[1]) (got: "path /api/*")',
      'services[3]: duplicate route host api.example.com (also at services[1]) (got: "host api.example.com")',
    ]);
  });

  it('fails when two listener rules have the same priority', () => {
    const raw = base({
      services: [{ name: 'web' }, { name: 'api', pathPatterns: ['/api/*'], priority: 5 }, { name: 'admin', pathPatterns: ['/admin/*'], priority: 5 }],
    });
    expect(problems(raw)).toEqual(['services[2].priority: duplicate listener rule priority (also at services[1]) (got: 5)']);
  });

  it('fails when there is no default service or more than one', () => {
    expect(problems(base({ services: [{ name: 'api', pathPatterns: ['/api/*'] }] }))).toEqual([
      'services: exactly one service must have no pathPatterns and no hostPatterns (the default service); found 0 (got: [])',
    ]);
    expect(problems(base({ services: [{ name: 'web' }, { name: 'www' }] }))).toEqual([
      'services: exactly one service must have no pathPatterns and no hostPatterns (the default service); found 2 (got: ["web","www"])',
    ]);
  });

  it('fails when a route pattern is malformed', () => {
    const raw = base({ services: [{ name: 'web' }, { name: 'api', pathPatterns: ['api/*'], hostPatterns: ['API.example.com'] }] });
    expect(problems(raw)).toEqual([
      'services[1].pathPatterns[0]: must be a path pattern starting with / (got: "api/*")',
      'services[1].hostPatterns[0]: must be a host pattern like api.example.com (got: "API.example.com")',
    ]);
  });

  it('fails when the domain is not inside the hosted zone', () => {
    const domain = { name: 'shop.example.org', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };
    expect(problems(base({ domain }))).toEqual(['domain.name: must be inside the hosted zone example.com (got: "shop.example.org")']);
    // a name that merely ends with the zone's text is not inside it
    expect(problems(base({ domain: { ...domain, name: 'badexample.com' } }))).toEqual(['domain.name: must be inside the hosted zone example.com (got: "badexample.com")']);
  });

  it('accepts the zone apex and a zone name with a trailing dot', () => {
    const cfg = resolveConfig(base({ domain: { name: 'example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com.' } }));
    expect(cfg.domain).toEqual({ name: 'example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' });
  });

  it('fails when the domain fields are malformed or missing', () => {
    const out = problems(base({ domain: { name: 'Shop.Example.com', hostedZoneId: 'zone-1' } }));
    expect(out).toEqual([
      'domain.name: must be a lowercase DNS name like shop.example.com (got: "Shop.Example.com")',
      'domain.hostedZoneId: must be a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ (got: "zone-1")',
      'domain.hostedZoneName: is required (got: undefined)',
    ]);
  });

  it('fails on an unknown key, with a "did you mean" hint', () => {
    const raw = base({ servces: [] });
    const found = problems(raw);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^servces: unknown key \(did you mean "services"\?\); allowed: name, stage, account, regions, .*services.* \(got: \[\]\)$/);
  });

  it('fails on an unknown nested key, with a hint, and without one when nothing is close', () => {
    const raw = base({
      regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16', natGateway: 1 }],
      services: [{ name: 'web', minCapcity: 2, colour: 'blue' }],
    });
    const out = problems(raw);
    expect(out).toContain('regions[0].natGateway: unknown key (did you mean "natGateways"?); allowed: region, availabilityZones, vpcCidr, natGateways (got: 1)');
    expect(out.find((l) => l.startsWith('services[0].minCapcity:'))).toMatch(/^services\[0\]\.minCapcity: unknown key \(did you mean "minCapacity"\?\); allowed: .* \(got: 2\)$/);
    expect(out.find((l) => l.startsWith('services[0].colour:'))).toMatch(/^services\[0\]\.colour: unknown key; allowed: /);
  });

  it('fails on wrong types and values of the root fields', () => {
    const out = problems(base({ name: 'Shop_1', stage: 'huge', account: '1234', tags: { team: 7 } }));
    expect(out).toEqual([
      'name: must be lowercase letters, digits and dashes, starting with a letter (got: "Shop_1")',
      'stage: must be one of startup, growth, millions, global (got: "huge")',
      'account: must be a 12-digit AWS account id (got: "1234")',
      'tags.team: must be a string (got: 7)',
    ]);
  });

  it('reports several problems together, each on its own line, with the count', () => {
    // GIVEN a config with problems in three different sections
    const raw = base({
      regions: [{ region: 'mars-east-1', vpcCidr: '10.0.0.0/16' }],
      services: [{ name: 'web', minCapacity: 9, maxCapacity: 3, instanceType: 'big' }],
      domain: { name: 'shop.example.org', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' },
    });
    // WHEN it is resolved
    let error: ConfigError | undefined;
    try {
      resolveConfig(raw, 'config/bad.json');
    } catch (e) {
      error = e as ConfigError;
    }
    // THEN every problem is listed, not only the first
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.issues).toHaveLength(4);
    expect(error!.message).toBe([
      'Invalid config config/bad.json: 4 problems',
      '  regions[0].region: unknown AWS region (got: "mars-east-1")',
      '  domain.name: must be inside the hosted zone example.com (got: "shop.example.org")',
      '  services[0].instanceType: must be an EC2 instance type like m7g.large (got: "big")',
      '  services[0].minCapacity: must not exceed maxCapacity (3) (got: 9)',
    ].join('\n'));
  });

  it('fails when the root is not an object', () => {
    expect(problems([])).toEqual(['(root): must be an object (got: [])']);
    expect(problems(null)).toEqual(['(root): must be an object (got: null)']);
    expect(problems('shop')).toEqual(['(root): must be an object (got: "shop")']);
    expect(problems(undefined)).toEqual(['(root): is required (got: undefined)']);
  });

  it('shortens long values in messages', () => {
    const out = problems(base({ name: 'x'.repeat(200) }));
    expect(out[0]).toMatch(/^name: must be at most 24 characters \(got: "x{76}\.\.\.\)$/);
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 's2m-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fails when the file is not valid JSON, naming the file', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "name": "shop", ');
    expect(() => loadConfigFile(file)).toThrow(ConfigError);
    expect(() => loadConfigFile(file)).toThrow(new RegExp(`^Invalid config ${file}: 1 problem\\n  \\(file\\): is not valid JSON: .+ \\(got: "${file}"\\)$`));
  });

  it('fails when the file cannot be read', () => {
    const file = join(dir, 'missing.json');
    expect(() => loadConfigFile(file)).toThrow(/\(file\): cannot read config file: ENOENT.* \(got: ".*missing\.json"\)/);
  });

  it('names the file in validation errors', () => {
    const file = join(dir, 'invalid.json');
    writeFileSync(file, JSON.stringify(base({ stage: 'huge' })));
    expect(() => loadConfigFile(file)).toThrow(`Invalid config ${file}: 1 problem\n  stage: must be one of startup, growth, millions, global (got: "huge")`);
  });

  it('loads every example config, each with a name of its own (two examples deploy side by side in one account)', () => {
    const names = readdirSync(join(ROOT, 'config')).filter((f) => f.endsWith('.json')).map((f) => loadConfigFile(join(ROOT, 'config', f)).name);
    expect(names.length).toBeGreaterThanOrEqual(5);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('shop');
  });
});

describe('resolveConfig: defaults', () => {
  it('fills instance type and capacities from the stage preset', () => {
    // GIVEN services that set nothing but their names, in each stage
    const svc = [{ name: 'web' }];
    // THEN the preset values apply
    const pick = (c: AppConfig) => ({ instanceType: c.services[0].instanceType, min: c.services[0].minCapacity, max: c.services[0].maxCapacity });
    expect(pick(resolveConfig(base({ stage: 'startup', services: svc })))).toEqual({ instanceType: 't4g.small', min: 2, max: 4 });
    expect(pick(resolveConfig(base({ stage: 'growth', services: svc })))).toEqual({ instanceType: 'm7g.large', min: 3, max: 12 });
    expect(pick(resolveConfig(base({ stage: 'millions', services: svc })))).toEqual({ instanceType: 'm7g.large', min: 3, max: 30 });
    expect(pick(resolveConfig(base({ stage: 'global', services: svc })))).toEqual({ instanceType: 'm7g.xlarge', min: 6, max: 60 });
  });

  it('defaults the stage to startup', () => {
    expect(resolveConfig(base({ stage: undefined })).stage).toBe('startup');
  });

  it('raises the default maximum to an explicit minimum above it', () => {
    const cfg = resolveConfig(base({ stage: 'growth', services: [{ name: 'web', minCapacity: 50 }] }));
    expect(cfg.services[0]).toMatchObject({ minCapacity: 50, maxCapacity: 50 });
  });

  it('fills the service defaults', () => {
    const [web] = resolveConfig(base()).services;
    expect(web).toEqual({
      name: 'web', isDefault: true, pathPatterns: [], hostPatterns: [], priority: 10, instanceType: 'm7g.large',
      minCapacity: 3, maxCapacity: 30, targetCpuPercent: 50, targetRequestsPerInstance: 1000, port: 8080,
      healthCheckPath: '/health', deregistrationDelaySeconds: 30, slowStartSeconds: 0, scheduledScaling: [],
      // the placeholder application, one instance type, 30 days of logs, the Fleet construct's rollout, all outbound
      additionalInstanceTypes: [], logRetentionDays: 30,
      rollout: { minHealthyPercent: 100, maxHealthyPercent: 125, checkpointPercentages: [25, 100], checkpointDelaySeconds: 300, rollbackOnAlarms: true },
      egress: 'all',
    });
  });

  it('makes one default service named web when services are omitted', () => {
    const cfg = resolveConfig(base({ services: undefined }));
    expect(cfg.services.map((s) => [s.name, s.isDefault])).toEqual([['web', true]]);
  });

  it('numbers rule priorities by position unless given', () => {
    const cfg = resolveConfig(base({ services: [{ name: 'web' }, { name: 'api', pathPatterns: ['/api/*'] }, { name: 'admin', hostPatterns: ['admin.example.com'], priority: 3 }] }));
    expect(cfg.services.map((s) => s.priority)).toEqual([10, 20, 3]);
  });

  it('picks the stage\'s number of availability zones when none are listed', () => {
    expect(resolveConfig(base({ stage: 'growth', regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }] })).regions[0].availabilityZones)
      .toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    expect(resolveConfig(base({ stage: 'startup', regions: [{ region: 'ap-northeast-1', vpcCidr: '10.0.0.0/16' }] })).regions[0].availabilityZones)
      .toEqual(['ap-northeast-1a', 'ap-northeast-1c']);
  });

  it('sets NAT gateways per stage, overridable per app and per region', () => {
    const nat = (overrides: Record<string, unknown>) => resolveConfig(base(overrides)).regions.map((r) => r.natGateways);
    expect(nat({ stage: 'startup' })).toEqual([1]);
    expect(nat({ stage: 'millions' })).toEqual([3]);
    expect(nat({ stage: 'millions', network: { natGateways: 1 } })).toEqual([1]);
    expect(nat({
      stage: 'millions',
      network: { natGateways: 2 },
      regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }, { region: 'eu-west-1', vpcCidr: '10.1.0.0/16', natGateways: 3 }],
    })).toEqual([2, 3]);
  });

  it('egresses through a NAT instance at startup and NAT gateways from growth on, overridable', () => {
    const network = (overrides: Record<string, unknown>) => resolveConfig(base(overrides)).network;
    expect(network({ stage: 'startup' })).toMatchObject({ natProvider: 'instance', natInstanceType: 't4g.nano' });
    expect(network({ stage: 'growth' })).toMatchObject({ natProvider: 'gateway' });
    expect(network({ stage: 'startup', network: { natProvider: 'gateway' } })).toMatchObject({ natProvider: 'gateway' });
    expect(network({ stage: 'growth', network: { natProvider: 'instance', natInstanceType: 't4g.micro' } })).toMatchObject({ natProvider: 'instance', natInstanceType: 't4g.micro' });
  });

  it('fails on a bad NAT provider or an instance type without NAT instances, naming the field', () => {
    expect(problems(base({ network: { natProvider: 'nat-box' } }))).toEqual(['network.natProvider: must be one of gateway, instance (got: "nat-box")']);
    expect(problems(base({ stage: 'growth', network: { natInstanceType: 't4g.nano' } }))).toEqual(['network.natInstanceType: is only used with network.natProvider: "instance" (got: "t4g.nano")']);
    expect(problems(base({ network: { natProvider: 'instance', natInstanceType: 'tiny' } }))).toEqual(['network.natInstanceType: must be an EC2 instance type like t4g.nano (got: "tiny")']);
  });

  it('keeps flow logs 90 days and turns deletion protection on from the millions stage', () => {
    expect(resolveConfig(base({ stage: 'startup' }))).toMatchObject({ network: { flowLogRetentionDays: 90 }, web: { deletionProtection: false, idleTimeoutSeconds: 60 } });
    expect(resolveConfig(base({ stage: 'millions' }))).toMatchObject({ web: { deletionProtection: true } });
    expect(resolveConfig(base({ stage: 'millions', web: { deletionProtection: false } }))).toMatchObject({ web: { deletionProtection: false } });
  });

  it('puts the primary region first, defaulting to the first listed', () => {
    const regions = [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }, { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' }, { region: 'ap-southeast-1', vpcCidr: '10.2.0.0/16' }];
    const byDefault = resolveConfig(base({ regions }));
    expect([byDefault.primaryRegion, byDefault.regions.map((r) => r.region)]).toEqual(['us-east-1', ['us-east-1', 'eu-west-1', 'ap-southeast-1']]);
    const explicit = resolveConfig(base({ regions, primaryRegion: 'ap-southeast-1' }));
    expect([explicit.primaryRegion, explicit.regions.map((r) => r.region)]).toEqual(['ap-southeast-1', ['ap-southeast-1', 'us-east-1', 'eu-west-1']]);
  });

  it('returns an already resolved config as is', () => {
    const cfg = resolveConfig(base());
    expect(resolveConfig(cfg)).toBe(cfg);
  });
});

const INVALID_FILES = [
  {
    what: 'three problems',
    text: JSON.stringify(base({
      regions: [{ region: 'mars-east-1', vpcCidr: '10.0.0.0/16' }],
      services: [{ name: 'web', minCapacity: 9, maxCapacity: 3 }],
      servces: [],
    })),
    expected: [
      '3 problems',
      'servces: unknown key (did you mean "services"?)',
      'regions[0].region: unknown AWS region (got: "mars-east-1")',
      'services[0].minCapacity: must not exceed maxCapacity (3) (got: 9)',
    ],
  },
  {
    what: 'the inputs that used to get through to synth or deploy',
    text: JSON.stringify(base({
      regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16', availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1g'] }],
      services: [{ name: 'web', instanceType: 'gc7.large', maxCapacity: 10, scheduledScaling: [{ name: 'am', schedule: '0 7 * * *', minCapacity: 20 }] }],
      database: { instanceType: 'c7g.large' },
      cache: { engineVersion: '8.7', nodeType: 'cache.r7g.large' },
      monitoring: { thresholds: { database: { cpuPercent: { critical: 150 } } } },
      tags: { 'aws:owner': 'me' },
    })),
    expected: [
      '7 problems',
      'regions[0].availabilityZones[2]: does not exist: the zones of us-east-1 are us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f (got: "us-east-1g")',
      'services[0].instanceType: is not an EC2 instance type: EC2 has no family "gc7" (did you mean c7g?) (got: "gc7.large")',
      'services[0].scheduledScaling[0].minCapacity: must not exceed the service\'s maxCapacity (10)',
      'database.instanceType: is not an Aurora PostgreSQL DB instance class: c7g is an EC2 family Aurora does not offer',
      'cache.engineVersion: is not a Valkey version ElastiCache offers',
      'monitoring.thresholds.database.cpuPercent.critical: must be at most 100 (got: 150)',
      'tags.aws:owner: uses the prefix "aws:", which AWS reserves for its own tags (got: "aws:owner")',
    ],
  },
  {
    what: 'a repeated key',
    text: '{ "name": "shop", "stage": "millions", "regions": [{ "region": "us-east-1", "vpcCidr": "10.0.0.0/16" }],\n  "stage": "startup" }',
    expected: ['1 problem', 'stage: duplicate key (lines 1 and 2): JSON keeps only the last value, so "millions" would be silently dropped; keep one (got: "startup")'],
  },
];

describe.each(INVALID_FILES)('bin/app.ts with an invalid config: $what', ({ text, expected }) => {
  let dir: string;
  let outdir: string;
  let result: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    // GIVEN a config file with problems, passed as `-c config=...` would pass it
    dir = mkdtempSync(join(tmpdir(), 's2m-cli-'));
    outdir = join(dir, 'cdk.out');
    const file = join(dir, 'bad.json');
    writeFileSync(file, text);
    // WHEN the CDK app runs as the CDK CLI runs it
    result = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config: file }), CDK_OUTDIR: outdir },
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits non-zero', () => {
    expect(result.status).toBe(1);
  });

  it('prints every problem, naming the field', () => {
    const stderr = String(result.stderr);
    for (const line of expected) expect(stderr).toContain(line);
  });

  it('writes nothing to the output directory', () => {
    expect(existsSync(outdir) ? readdirSync(outdir) : []).toEqual([]);
  });
});
