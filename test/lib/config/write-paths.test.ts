import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { resolveConfig, type AppConfigInput } from '../../../lib/config';
import { buildTestApp, configErrors, minimalConfig } from '../../helpers/app';

const DOMAIN = { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };
const TWO = [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }, { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' }];
const global = (over: Partial<AppConfigInput> = {}, g: Record<string, unknown> = {}): AppConfigInput =>
  minimalConfig({ regions: TWO, domain: DOMAIN, ...over, database: { globalDatabase: { enabled: true, ...g }, ...(over.database ?? {}) } });

describe('config: every region users reach can write', () => {
  it('forwards writes from every secondary by default, the writer in the primary region', () => {
    expect(resolveConfig(global()).database.globalDatabase).toEqual({ enabled: true, writeForwarding: true, writerRegion: 'us-east-1' });
  });

  it('fails when read-only secondaries get users from latency or geolocation DNS, or with no domain', () => {
    expect(configErrors(global({}, { writeForwarding: false }))).toContain('database.globalDatabase.writeForwarding: secondary regions are read-only, yet dns.routing "latency" sends users to them: turn write forwarding on, or choose an active-passive setup (a domain with dns.routing "failover") (got: false)');
    const noDomain = minimalConfig({ regions: TWO, database: { globalDatabase: { enabled: true, writeForwarding: false } } });
    expect(configErrors(noDomain)).toMatch(/without a domain users reach every region's load balancer/);
  });

  it('accepts active-passive: failover DNS whose active region holds the writer', () => {
    expect(() => resolveConfig(global({ dns: { routing: 'failover' } }, { writeForwarding: false }))).not.toThrow();
    expect(configErrors(global({ dns: { routing: 'failover', failover: { primary: 'eu-west-1', secondary: 'us-east-1' } } }, { writeForwarding: false })))
      .toContain('dns.failover.primary: must be the region holding the database writer (us-east-1) when secondaries do not forward writes: the active region must be able to write (got: "eu-west-1")');
    // after a switchover the writer (and so the active region) moves: both change together
    expect(() => resolveConfig(global({ dns: { routing: 'failover', failover: { primary: 'eu-west-1', secondary: 'us-east-1' } } }, { writeForwarding: false, writerRegion: 'eu-west-1' }))).not.toThrow();
  });

  it.each([['15.3', true], ['15.4', false], ['14.9', false], ['14.8', true], ['16.1', false], ['17.4', false]])('PostgreSQL %s with write forwarding: error %s', (version, fails) => {
    const config = global({ database: { engineVersion: version } });
    if (fails) expect(configErrors(config)).toContain(`database.engineVersion: global write forwarding needs Aurora PostgreSQL 14.9+, 15.4+ or 16 and later`);
    else expect(() => resolveConfig(config)).not.toThrow();
  });

  it('fails when writerRegion is not a configured region, or set without a global database', () => {
    expect(configErrors(global({}, { writerRegion: 'ap-south-1' }))).toContain('database.globalDatabase.writerRegion: must be one of the configured regions (us-east-1, eu-west-1) (got: "ap-south-1")');
    expect(configErrors(minimalConfig({ regions: TWO, database: { globalDatabase: { enabled: false, writerRegion: 'eu-west-1' } } }))).toContain('database.globalDatabase.writerRegion: needs globalDatabase.enabled');
  });

  it('publishes role, writer and write-forwarding per region from writerRegion (after a switchover: no stateful change)', () => {
    const { regions } = buildTestApp(global({ stage: 'millions' }, { writerRegion: 'eu-west-1' }));
    const params = (region: string) => Object.fromEntries(Object.values(Template.fromStack(regions[region].data).findResources('AWS::SSM::Parameter'))
      .map((p) => [(p.Properties.Name as string).replace('/test/database/', ''), p.Properties.Value]));
    expect(params('eu-west-1')).toMatchObject({ role: 'primary', 'write-forwarding': 'off', writer: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'Endpoint.Address'] } });
    expect(params('us-east-1')).toMatchObject({ role: 'secondary', 'write-forwarding': 'on', writer: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'ReadEndpoint.Address'] } });
    // the demoted creator of the global cluster forwards; the promoted secondary keeps its flag (used if demoted again)
    Template.fromStack(regions['us-east-1'].data).hasResourceProperties('AWS::RDS::DBCluster', { EnableGlobalWriteForwarding: true });
    Template.fromStack(regions['eu-west-1'].data).hasResourceProperties('AWS::RDS::DBCluster', { EnableGlobalWriteForwarding: true });
  });
});
