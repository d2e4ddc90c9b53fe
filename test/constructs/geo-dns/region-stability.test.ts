import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppConfigInput } from '../../../lib/config';
import { stableTemplates } from '../../../lib/testing';
import { buildTestApp, configPath } from '../../helpers/app';

type Template = Record<string, unknown> & { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>; Parameters?: Record<string, { Type: string; Default?: string }> };

/**
 * The edge stack after a region was added: the same template with one more parameter (the new region's endpoint
 * health check id, read from where its app stack writes it) and the alarm on that check, nothing else changed.
 */
function expectEdgeGainsOnlyTheHealthAlarmOf(before: Record<string, unknown>, after: Record<string, unknown>, app: string, region: string): void {
  const a = after as Template;
  const b = before as Template;
  const addedParameters = Object.keys(a.Parameters ?? {}).filter((k) => !(k in (b.Parameters ?? {})));
  expect(addedParameters).toHaveLength(1);
  expect(a.Parameters![addedParameters[0]]).toMatchObject({ Type: 'AWS::SSM::Parameter::Value<String>', Default: `/${app}/dns/health-checks/${region}` });
  const addedResources = Object.keys(a.Resources).filter((k) => !(k in b.Resources));
  expect(addedResources.map((k) => a.Resources[k].Type)).toEqual(['AWS::CloudWatch::Alarm']);
  expect(a.Resources[addedResources[0]].Properties).toMatchObject({ MetricName: 'HealthCheckStatus', Dimensions: [{ Name: 'HealthCheckId', Value: { Ref: addedParameters[0] } }] });
  const without = { ...a, Parameters: Object.fromEntries(Object.entries(a.Parameters!).filter(([k]) => k !== addedParameters[0])), Resources: Object.fromEntries(Object.entries(a.Resources).filter(([k]) => k !== addedResources[0])) };
  expect(without).toEqual(before);
}

/** The default config (three regions, latency routing), optionally with extra regions. */
function millions(extraRegions: AppConfigInput['regions'] = [], dns?: AppConfigInput['dns']): AppConfigInput {
  const raw = JSON.parse(readFileSync(configPath('millions'), 'utf8')) as AppConfigInput;
  return { ...raw, regions: [...raw.regions, ...extraRegions], ...(dns ? { dns } : {}) };
}

describe('adding a region touches only that region\'s stacks (and adds the alarm on its health check at the edge)', () => {
  let three: Record<string, Record<string, unknown>>;
  let four: Record<string, Record<string, unknown>>;
  let drained: Record<string, Record<string, unknown>>;

  beforeAll(() => {
    // GIVEN the default three-region config (the worker's shared build of it) WHEN a fourth region is added
    three = stableTemplates(buildTestApp('millions').app);
    four = stableTemplates(buildTestApp(millions([{ region: 'sa-east-1', vpcCidr: '10.3.0.0/16' }])).app);
    // AND, separately, when one region is drained
    drained = stableTemplates(buildTestApp(millions([], { drainedRegions: ['eu-west-1'] })).app);
  });

  it('adds exactly the new region\'s network, data and app stacks', () => {
    const added = Object.keys(four).filter((n) => !(n in three));
    expect(added.sort()).toEqual(['shop-app-sa-east-1', 'shop-data-sa-east-1', 'shop-network-sa-east-1']);
    expect(Object.keys(three).filter((n) => !(n in four))).toEqual([]);
  });

  it('leaves every stack of the other regions unchanged, and the edge stack but for the new region\'s health check alarm', () => {
    const common = Object.keys(three);
    expect(common).toHaveLength(10);
    for (const name of common.filter((n) => n !== 'shop-edge')) expect(four[name], name).toEqual(three[name]);
    // Route 53 publishes health check metrics in us-east-1 only, so the alarm on the region's check is the edge's
    expectEdgeGainsOnlyTheHealthAlarmOf(three['shop-edge'], four['shop-edge'], 'shop', 'sa-east-1');
  });

  it('gives the new region its own health checks and latency record (api. is the edge\'s, unchanged)', () => {
    const resources = Object.values(four['shop-app-sa-east-1'].Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>);
    const records = resources.filter((r) => r.Type === 'AWS::Route53::RecordSet').map((r) => `${r.Properties.Name} ${r.Properties.SetIdentifier} ${r.Properties.Region}`);
    expect(records.sort()).toEqual(['origin.shop.example.com. sa-east-1 sa-east-1']);
    // deep health, one alarm check per service, the drain switch, and the calculated check the record carries
    expect(resources.filter((r) => r.Type === 'AWS::Route53::HealthCheck')).toHaveLength(5);
  });

  it('drains a region by changing only that region\'s app stack (its drain switch inverted, its endpoint check not)', () => {
    const changed = Object.keys(three).filter((n) => JSON.stringify(three[n]) !== JSON.stringify(drained[n]));
    expect(changed).toEqual(['shop-app-eu-west-1']);
    const checks = Object.values(drained['shop-app-eu-west-1'].Resources as Record<string, { Type: string; Properties: { HealthCheckConfig: { Type: string; Inverted: boolean; HealthThreshold?: number } } }>)
      .filter((r) => r.Type === 'AWS::Route53::HealthCheck');
    const inverted = (pick: (c: { Type: string; HealthThreshold?: number }) => boolean) => checks.filter((c) => pick(c.Properties.HealthCheckConfig)).map((c) => c.Properties.HealthCheckConfig.Inverted);
    expect(inverted((c) => c.Type === 'CALCULATED' && c.HealthThreshold === 0)).toEqual([true]);
    expect(inverted((c) => c.Type === 'HTTPS')).toEqual([false]);
  });
});

describe('adding a region to a geolocation config touches only that region\'s stacks', () => {
  it('adds the region to the fallback set from its own app stack; the default record and the other regions are unchanged, the edge but for the region\'s health check alarm', () => {
    const raw = JSON.parse(readFileSync(configPath('global'), 'utf8')) as AppConfigInput;
    const before = stableTemplates(buildTestApp(raw).app);
    const after = stableTemplates(buildTestApp({ ...raw, regions: [...raw.regions, { region: 'ap-northeast-1', vpcCidr: '10.4.0.0/16' }] }).app);
    for (const name of Object.keys(before).filter((n) => n !== 'shop-global-edge')) expect(after[name], name).toEqual(before[name]);
    expectEdgeGainsOnlyTheHealthAlarmOf(before['shop-global-edge'], after['shop-global-edge'], 'shop-global', 'ap-northeast-1');
    const records = Object.values(after['shop-global-app-ap-northeast-1'].Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>)
      .filter((r) => r.Type === 'AWS::Route53::RecordSet').map((r) => `${r.Properties.Name} ${r.Properties.Region}`);
    expect(records).toEqual(['fallback.origin.shop.example.com. ap-northeast-1']);
  });
});
