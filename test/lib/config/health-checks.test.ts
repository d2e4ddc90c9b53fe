import type { App } from 'aws-cdk-lib/core';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, resolveConfig, stageFindings, stageWarningId, type AppConfigInput } from '../../../lib/config';
import { ROUTE53_HEALTH_CHECKS_QUOTA, route53HealthChecks } from '../../../lib/config/limits';
import { buildTestApp, configPath, minimalConfig } from '../../helpers/app';

const DOMAIN = { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };
const ID = stageWarningId('health-checks');

/** Route 53 health checks in every synthesized template of an app, by the region of their stack. */
function synthesizedHealthChecks(app: App): Record<string, number> {
  const out: Record<string, number> = {};
  for (const stack of app.synth().stacks) {
    const resources = (stack.template as { Resources?: Record<string, { Type: string }> }).Resources ?? {};
    const n = Object.values(resources).filter((r) => r.Type === 'AWS::Route53::HealthCheck').length;
    if (n > 0) out[stack.environment.region] = (out[stack.environment.region] ?? 0) + n;
  }
  return out;
}

const nonZero = (counts: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));

describe('Route 53 health checks: the count the config check uses is what synthesizes', () => {
  it.each(['startup', 'growth', 'millions', 'global', 'sharded'])('config/%s.json', (name) => {
    const { app } = buildTestApp(name);
    expect(nonZero(route53HealthChecks(loadConfigFile(configPath(name))))).toEqual(synthesizedHealthChecks(app));
  });

  it('counts none for the region a failover config does not route, and one per region without monitoring', () => {
    const three: AppConfigInput = minimalConfig({
      domain: DOMAIN,
      primaryRegion: 'eu-west-1',
      regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }, { region: 'us-east-1', vpcCidr: '10.1.0.0/16' }, { region: 'us-west-2', vpcCidr: '10.2.0.0/16' }],
      services: [{ name: 'web' }, { name: 'api', pathPatterns: ['/api/*'] }],
      dns: { routing: 'failover', failover: { primary: 'eu-west-1', secondary: 'us-east-1' } },
    });
    const counts = route53HealthChecks(resolveConfig(three));
    expect(counts).toEqual({ 'eu-west-1': 5, 'us-east-1': 5, 'us-west-2': 0 });
    expect(nonZero(counts)).toEqual(synthesizedHealthChecks(buildTestApp(three).app));

    const quiet = minimalConfig({ domain: DOMAIN, monitoring: { enabled: false } });
    expect(route53HealthChecks(resolveConfig(quiet))).toEqual({ 'eu-west-1': 3 });
    expect(synthesizedHealthChecks(buildTestApp(quiet).app)).toEqual({ 'eu-west-1': 3 });
  });
});

describe('Route 53 health checks: a config past the per-account quota', () => {
  const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'sa-east-1'].map((region, i) => ({ region, vpcCidr: `10.${i}.0.0/16` }));
  const withServices = (n: number): AppConfigInput => minimalConfig({
    domain: DOMAIN,
    stage: 'global',
    regions,
    services: Array.from({ length: n }, (_, i) => (i === 0 ? { name: 'web' } : { name: `svc${i}`, pathPatterns: [`/svc${i}/*`], priority: 100 + i })),
  });

  it(`warns with an id past ${ROUTE53_HEALTH_CHECKS_QUOTA}, naming services, the count and the quota`, () => {
    // 4 regions × (48 services + 3) = 204
    const findings = stageFindings(resolveConfig(withServices(48))).filter((f) => f.id === ID);
    expect(findings).toHaveLength(1);
    expect(findings[0].message).toContain('creates 204 Route 53 health checks (us-east-1: 51, eu-west-1: 51, ap-southeast-1: 51, sa-east-1: 51');
    expect(findings[0].message).toContain('`services` (got: 48)');
    expect(findings[0].message).toContain(`default quota of ${ROUTE53_HEALTH_CHECKS_QUOTA} per account`);
  });

  it('says nothing at the quota', () => {
    // 4 regions × (47 services + 3) = 200
    expect(stageFindings(resolveConfig(withServices(47))).filter((f) => f.id === ID)).toEqual([]);
  });
});
