import { Annotations as CoreAnnotations, type App } from 'aws-cdk-lib/core';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuiltApp } from '../../../lib/app';
import {
  PRESETS, STAGES, STAGE_CHECKS, renderStageTable, checkAzs, checkCacheNodes, checkDatabaseProxy, checkDatabaseReplicas, checkMultiRegionDns, checkNat,
  checkNatInstances, checkPerformanceInsights, checkRegions, loadConfigFile, resolveConfig,
  stageFindings, stageWarningId, type StageCheck,
} from '../../../lib/config';
import { buildTestApp, configPath, minimalConfig } from '../../helpers/app';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DOMAIN = { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };

/** The trade-offs the startup stage makes, each a warning users acknowledge by id (in STAGE_CHECKS order). */
const STARTUP_TRADE_OFFS = ['nat-instance', 'database-replicas', 'database-proxy', 'performance-insights', 'cache-burstable'].map(stageWarningId);

describe('stage presets: regions and DNS', () => {
  it('asks for 2 regions in the global stage and 1 before', () => {
    expect(STAGES.map((s) => PRESETS[s].minRegions)).toEqual([1, 1, 1, 2]);
  });

  it('routes by latency, threshold 3, checking every 30 s (10 s in global)', () => {
    expect(STAGES.map((s) => PRESETS[s].dns)).toEqual([
      { routing: 'latency', failureThreshold: 3, requestInterval: 30 },
      { routing: 'latency', failureThreshold: 3, requestInterval: 30 },
      { routing: 'latency', failureThreshold: 3, requestInterval: 30 },
      { routing: 'latency', failureThreshold: 3, requestInterval: 10 },
    ]);
  });
});

describe('stage table', () => {
  it('has a row per preset field and a column per stage', () => {
    const table = renderStageTable();
    expect(table.split('\n')[0]).toBe('| | startup | growth | millions | global |');
    expect(table).toContain('| regions (fewer gets a `stage-regions` warning) | 1 | 1 | 1 | 2 |');
    expect(table).toContain('| health check interval (s) | 30 | 30 | 30 | 10 |');
    expect(table).toContain('| ALB deletion protection | off | on | on | on |');
  });

  it('shows a new tier\'s block by its path until it gets a label', () => {
    const withCache = Object.fromEntries(STAGES.map((s) => [s, { ...PRESETS[s], cache: { shards: s === 'startup' ? 1 : 3 } }])) as unknown as typeof PRESETS;
    expect(renderStageTable(withCache)).toContain('| `cache.shards` | 1 | 3 | 3 | 3 |');
  });

  it('puts extra rows (the floor cost) first, each preset row after', () => {
    const row = { label: 'floor', values: { startup: '$1', growth: '$2', millions: '$3', global: '$4' } };
    expect(renderStageTable(undefined, [row]).split('\n').slice(2, 4)).toEqual(['| floor | $1 | $2 | $3 | $4 |', '| AZs per region | 2 | 3 | 3 | 3 |']);
  });

  it('is what docs/stages.md shows, row by row (regenerate with `npx tsx scripts/stages.ts`; test/lib/cost checks the floor row)', () => {
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'stages.md'), 'utf8').split('\n');
    for (const line of renderStageTable().trimEnd().split('\n')) expect(doc).toContain(line);
  });
});

describe('stage checks (pure)', () => {
  it('finds too few regions for the global stage', () => {
    const cfg = resolveConfig(minimalConfig({ stage: 'global', domain: DOMAIN }));
    expect(checkRegions(cfg, PRESETS.global)).toEqual([{
      id: 'scale-to-millions:stage-regions',
      message: 'The global stage runs in at least 2 regions (got: 1); one region cannot take over when another fails. Add a region, or pick a smaller stage.',
    }]);
  });

  it('finds a region spread over fewer zones than its stage wants (below the preset, above the hard floor)', () => {
    // GIVEN a preset that accepts 2 zones but wants 3
    const cfg = resolveConfig(minimalConfig({ stage: 'startup', regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }] }));
    const findings = checkAzs(cfg, { ...PRESETS.millions, minAzs: 2 });
    expect(findings).toEqual([expect.objectContaining({ id: 'scale-to-millions:stage-azs', region: 'eu-west-1', tier: 'network' })]);
    expect(findings[0].message).toMatch(/spreads each region over 3 availability zones; eu-west-1 has 2 \(got: eu-west-1a, eu-west-1b\)/);
  });

  it('finds fewer NAT gateways than zones where the stage has one per zone', () => {
    const cfg = resolveConfig(minimalConfig({ stage: 'millions', network: { natGateways: 1 } }));
    expect(checkNat(cfg, PRESETS.millions)).toEqual([expect.objectContaining({ id: stageWarningId('nat'), region: 'eu-west-1', tier: 'network' })]);
    // AND the startup stage (one NAT by design) is not flagged
    expect(checkNat(resolveConfig(minimalConfig({ stage: 'startup' })), PRESETS.startup)).toEqual([]);
  });

  it('finds several regions with no domain to route between them', () => {
    const cfg = resolveConfig(minimalConfig({ regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }, { region: 'us-east-1', vpcCidr: '10.1.0.0/16' }] }));
    expect(checkMultiRegionDns(cfg, PRESETS.growth).map((f) => f.id)).toEqual(['scale-to-millions:stage-dns']);
    expect(checkMultiRegionDns(resolveConfig(minimalConfig()), PRESETS.growth)).toEqual([]);
  });

  it('finds a database cluster with no reader from the growth stage on, per shard', () => {
    // GIVEN a millions config whose database has no reader
    const cfg = resolveConfig(minimalConfig({ stage: 'millions', database: { readers: 0 } }));
    // THEN the data stack is warned, with the acknowledgeable id
    expect(checkDatabaseReplicas(cfg, PRESETS.millions)).toEqual([expect.objectContaining({ id: stageWarningId('database-replicas'), tier: 'data', message: expect.stringMatching(/the database has none \(got: 0\)/) })]);
    // AND a shard without readers (and no autoscaling minimum that would add them) is named
    const sharded = resolveConfig(minimalConfig({ stage: 'millions', database: { shards: [{ id: 's0' }, { id: 's1', readers: 0, autoScaling: false }] } }));
    expect(checkDatabaseReplicas(sharded, PRESETS.millions).map((f) => f.message)).toEqual([expect.stringMatching(/shard s1 has none/)]);
    // AND a reader kept by autoscaling's minimum counts
    expect(checkDatabaseReplicas(resolveConfig(minimalConfig({ stage: 'millions', database: { readers: 0, autoScaling: { minReaders: 1 } } })), PRESETS.millions)).toEqual([]);
  });

  it('lists the startup stage\'s missing reader as its trade-off, with what growth adds', () => {
    const cfg = resolveConfig(minimalConfig({ stage: 'startup' }));
    expect(checkDatabaseReplicas(cfg, PRESETS.startup)).toEqual([expect.objectContaining({
      id: stageWarningId('database-replicas'), tier: 'data',
      message: expect.stringMatching(/^The database runs a writer and no reader \(got: 0\), the startup stage's trade-off: .*Set database\.readers: 1/),
    })]);
    expect(checkDatabaseReplicas(resolveConfig(minimalConfig({ stage: 'startup', database: { readers: 1 } })), PRESETS.startup)).toEqual([]);
  });

  it.each([
    ['nat-instance', checkNatInstances, { network: { natProvider: 'gateway' as const } }, /eu-west-1 reaches the internet through 1 NAT instance\(s\) \(t4g\.nano\).*got: network\.natProvider "instance"/],
    ['database-proxy', checkDatabaseProxy, { database: { proxy: { enabled: true } } }, /no RDS Proxy \(got: database\.proxy\.enabled false\)/],
    ['performance-insights', checkPerformanceInsights, { database: { performanceInsights: true } }, /Performance Insights is off \(got: database\.performanceInsights false\)/],
    ['cache-burstable', checkCacheNodes, { cache: { nodeType: 'cache.r7g.large', autoScaling: { enabled: false } } }, /burstable cache\.t4g\.micro nodes \(got: cache\.t4g\.micro\)/],
  ])('lists the startup trade-off %s, and not once the config pays for the alternative', (what, check, paid, message) => {
    // GIVEN the startup stage's defaults THEN the check lists the trade-off with its acknowledgeable id
    const startup = resolveConfig(minimalConfig({ stage: 'startup' }));
    expect(check(startup, PRESETS.startup)).toEqual([expect.objectContaining({ id: stageWarningId(what), message: expect.stringMatching(message) })]);
    // AND a config that pays for the alternative is not warned
    expect(check(resolveConfig(minimalConfig({ stage: 'startup', ...paid })), PRESETS.startup)).toEqual([]);
    // AND the growth stage's defaults make none of these trade-offs
    expect(check(resolveConfig(minimalConfig({ stage: 'growth' })), PRESETS.growth)).toEqual([]);
  });

  it('runs every registered check and takes extra ones in one line', () => {
    const cfg = resolveConfig(minimalConfig({ stage: 'global' }));
    const noDlq: StageCheck = () => [{ id: stageWarningId('dlq'), message: 'queue without a dead-letter queue', tier: 'data' }];
    expect(stageFindings(cfg).map((f) => f.id)).toEqual(['scale-to-millions:stage-regions']);
    expect(stageFindings(cfg, [...STAGE_CHECKS, noDlq]).map((f) => f.id)).toEqual(['scale-to-millions:stage-regions', 'scale-to-millions:stage-dlq']);
  });

  it('finds nothing in the example configs but startup, whose trade-offs it lists', () => {
    for (const name of ['growth', 'millions', 'global', 'sharded']) expect([name, stageFindings(loadConfigFile(configPath(name)))]).toEqual([name, []]);
    expect(stageFindings(loadConfigFile(configPath('startup'))).map((f) => f.id)).toEqual(STARTUP_TRADE_OFFS);
  });
});

describe('stage warnings in the built app', () => {
  let built: BuiltApp & { app: App };

  beforeAll(() => {
    // GIVEN a global-stage config with one region and one NAT gateway
    built = buildTestApp(minimalConfig({ stage: 'global', domain: DOMAIN, network: { natGateways: 1 } }));
  });

  it('warns on the primary region\'s app stack with an acknowledgeable id', () => {
    Annotations.fromStack(built.regions['eu-west-1'].app).hasWarning('*', Match.stringLikeRegexp('global stage runs in at least 2 regions.*\\[ack: scale-to-millions:stage-regions\\]'));
  });

  it('warns on the region\'s network stack about NAT gateways', () => {
    Annotations.fromStack(built.regions['eu-west-1'].network).hasWarning('*', Match.stringLikeRegexp('\\[ack: scale-to-millions:stage-nat\\]'));
  });

  it('drops the warning once acknowledged', () => {
    const stack = built.regions['eu-west-1'].app;
    CoreAnnotations.of(stack).acknowledgeWarning('scale-to-millions:stage-regions', 'one region until the second one is approved');
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('stage-regions'));
  });
});

describe.each([
  { config: 'startup', regions: ['us-east-1'], records: 0, stageWarnings: STARTUP_TRADE_OFFS },
  { config: 'growth', regions: ['us-east-1'], records: 1, stageWarnings: [] },
  { config: 'millions', regions: ['us-east-1', 'eu-west-1', 'ap-southeast-1'], records: 1, stageWarnings: [] },
  { config: 'global', regions: ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'sa-east-1'], records: -1, stageWarnings: [] },
])('example config $config.json', ({ config, regions, records, stageWarnings }) => {
  let built: BuiltApp & { app: App };
  let assembly: CloudAssembly;

  beforeAll(() => {
    // GIVEN the example config WHEN the reference app is built and synthesized once
    built = buildTestApp(config);
    assembly = built.app.synth();
  });

  it('synthesizes every stack of every region, with only the stage warnings of its stage\'s trade-offs', () => {
    expect(Object.keys(built.regions)).toEqual(regions);
    expect(assembly.stacks).toHaveLength(regions.length * 3 + 1);
    const warnings = assembly.stacks.flatMap((s) => s.messages).filter((m) => m.level === 'warning').map((m) => String(m.entry.data));
    const ids = warnings.map((w) => /\[ack: (scale-to-millions:stage-[a-z-]+)\]/.exec(w)?.[1]).filter((id): id is string => !!id);
    expect(ids.sort()).toEqual([...stageWarnings].sort());
  });

  it('routes the origin name to each region on a calculated check of its deep health and drain alarms (api. is the edge\'s)', () => {
    for (const r of regions) {
      const t = Template.fromStack(built.regions[r].app);
      const recs = Object.values(t.findResources('AWS::Route53::RecordSet')).map((x) => x.Properties as Record<string, unknown>);
      if (records === 0) {
        expect(recs).toEqual([]);
        continue;
      }
      if (records > 0) expect(recs).toHaveLength(records);
      const names = new Set(recs.map((x) => x.Name));
      expect(names).toEqual(new Set(config === 'global' ? ['origin.shop.example.com.', 'fallback.origin.shop.example.com.'] : ['origin.shop.example.com.']));
      const checks = Object.entries(t.findResources('AWS::Route53::HealthCheck')).map(([id, x]) => ({ id, ...(x.Properties.HealthCheckConfig as Record<string, unknown>) }) as Record<string, unknown> & { id: string });
      const calculated = checks.filter((c) => c.Type === 'CALCULATED' && c.HealthThreshold !== 0);
      expect(calculated).toHaveLength(1);
      // the deep health path over HTTPS, one alarm check per service (no healthy host) and the drain switch: all must
      // be healthy
      expect(checks.filter((c) => c.Type === 'HTTPS').map((c) => c.ResourcePath)).toEqual(['/health/deep']);
      expect(checks.filter((c) => c.Type === 'CLOUDWATCH_METRIC')).toHaveLength(2);
      expect(calculated[0].HealthThreshold).toBe(4);
      // the drain switch's id is an output: `s2m evacuate` inverts the switch, never the deep check
      const drainSwitch = checks.find((c) => c.Type === 'CALCULATED' && c.HealthThreshold === 0)!;
      expect(calculated[0].ChildHealthChecks).toContainEqual({ Ref: drainSwitch.id });
      t.hasOutput('DrainHealthCheckId', { Value: { Ref: drainSwitch.id } });
      for (const rec of recs) {
        if ((rec.GeoLocation as { CountryCode?: string } | undefined)?.CountryCode === '*') expect(rec.HealthCheckId).toBeUndefined();
        else expect(rec.HealthCheckId).toEqual({ Ref: calculated[0].id });
      }
    }
  });

  if (config === 'global') {
    it('maps continents to regions with geolocation records and one default, which resolves through the fallback set', () => {
      const geo = regions.flatMap((r) => Object.values(Template.fromStack(built.regions[r].app).findResources('AWS::Route53::RecordSet'))
        .filter((x) => x.Properties.Name === 'origin.shop.example.com.')
        .map((x) => `${x.Properties.SetIdentifier} ${JSON.stringify(x.Properties.GeoLocation)}`));
      expect(geo.sort()).toEqual([
        'ap-southeast-1-AS {"ContinentCode":"AS"}',
        'ap-southeast-1-OC {"ContinentCode":"OC"}',
        'eu-west-1-AF {"ContinentCode":"AF"}',
        'eu-west-1-EU {"ContinentCode":"EU"}',
        'sa-east-1-SA {"ContinentCode":"SA"}',
        'us-east-1-MX {"CountryCode":"MX"}',
        'us-east-1-NA {"ContinentCode":"NA"}',
        'us-east-1-default {"CountryCode":"*"}',
      ]);
      Template.fromStack(built.regions['sa-east-1'].app).hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ Type: 'HTTPS', RequestInterval: 10, Regions: ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'sa-east-1'] }),
      });
      // when us-east-1 (North America, Mexico and the default) fails, those users go to the nearest healthy region
      const fallback = regions.map((r) => Object.values(Template.fromStack(built.regions[r].app).findResources('AWS::Route53::RecordSet'))
        .find((x) => x.Properties.Name === 'fallback.origin.shop.example.com.')!.Properties.Region);
      expect(fallback).toEqual(regions);
      Template.fromStack(built.regions['us-east-1'].app).hasResourceProperties('AWS::Route53::RecordSet', {
        Name: 'origin.shop.example.com.', GeoLocation: { CountryCode: '*' }, AliasTarget: { HostedZoneId: 'Z0123456789ABCDEFGHIJ', DNSName: 'fallback.origin.shop.example.com', EvaluateTargetHealth: true },
      });
    });
  }
});
