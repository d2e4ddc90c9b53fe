import { describe, expect, it } from 'vitest';
import { PRESETS, resolveConfig } from '../../../lib/config';
import { buildTestApp, configErrors, minimalConfig } from '../../helpers/app';
import { Template } from 'aws-cdk-lib/assertions';

describe('config: network.interfaceEndpoints', () => {
  it.each([
    ['startup', []],
    ['growth', ['secretsmanager', 'ssm', 'sqs', 'kms', 'logs', 'sts']],
    ['millions', ['secretsmanager', 'ssm', 'sqs', 'kms', 'logs', 'sts', 'ssmmessages', 'ec2messages', 'monitoring', 'autoscaling']],
  ] as const)('the %s stage preset decides them', (stage, expected) => {
    const regions = [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16', ...(stage === 'startup' ? { availabilityZones: ['eu-west-1a', 'eu-west-1b'] } : {}) }];
    expect(resolveConfig(minimalConfig({ stage, regions })).network.interfaceEndpoints).toEqual(expected);
    expect(PRESETS[stage].interfaceEndpoints).toEqual(expected);
  });

  it('takes an explicit list, [] for none', () => {
    expect(resolveConfig(minimalConfig({ network: { interfaceEndpoints: ['ecr.api', 'ecr.dkr'] } })).network.interfaceEndpoints).toEqual(['ecr.api', 'ecr.dkr']);
    expect(resolveConfig(minimalConfig({ network: { interfaceEndpoints: [] } })).network.interfaceEndpoints).toEqual([]);
  });

  it('fails on an unknown or duplicate service', () => {
    const msg = configErrors(minimalConfig({ network: { interfaceEndpoints: ['secretsmanager', 'dynamodb', 'secretsmanager'] } }));
    expect(msg).toMatch(/network\.interfaceEndpoints\[1\]: must be one of secretsmanager, ssm, .* \(got: "dynamodb"\)/);
    expect(msg).toMatch(/network\.interfaceEndpoints\[2\]: duplicate service \(got: "secretsmanager"\)/);
  });

  it('fails when the primary region has neither a NAT gateway nor a Secrets Manager endpoint for the rotation', () => {
    expect(configErrors(minimalConfig({ regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16', natGateways: 0 }], network: { interfaceEndpoints: ['ssm'] } })))
      .toContain('network.interfaceEndpoints: the database credentials rotate in eu-west-1, whose VPC has no NAT gateway: add "secretsmanager" so the rotation function reaches Secrets Manager (got: ["ssm"])');
    // With the endpoint (the growth preset has it) the rotation is satisfied; the region is still refused for its fleets (below).
    expect(configErrors(minimalConfig({ regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16', natGateways: 0 }] }))).not.toContain('the database credentials rotate');
  });

  it('refuses a region without NAT: its fleets could not fetch the RDS certificate bundle at launch and would abandon every launch', () => {
    const endpoints = ['secretsmanager', 'ssm', 'sqs', 'kms', 'logs', 'sts', 'ssmmessages', 'ec2messages', 'monitoring', 'autoscaling'];
    expect(configErrors(minimalConfig({ regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16', natGateways: 0 }], network: { interfaceEndpoints: endpoints } })))
      .toMatch(/regions\[0\]\.natGateways: must be at least 1 \(eu-west-1\): the fleets .* download the RDS certificate bundle \(https:\/\/truststore\.pki\.rds\.amazonaws\.com\/.*\) .* \(got: 0\)/);
    expect(configErrors(minimalConfig({ regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }], network: { natGateways: 0, interfaceEndpoints: endpoints } })))
      .toMatch(/network\.natGateways: must be at least 1 \(eu-west-1\)/);
    expect(() => resolveConfig(minimalConfig({ regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16', natGateways: 1 }] }))).not.toThrow();
  });

  it('puts them in every region\'s network stack', () => {
    const { regions } = buildTestApp(minimalConfig({ stage: 'growth', regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }, { region: 'us-east-1', vpcCidr: '10.1.0.0/16' }] }));
    for (const r of Object.values(regions)) {
      const endpoints = Template.fromStack(r.network).findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } });
      expect(Object.keys(endpoints)).toHaveLength(6);
      expect(r.network.secretsManagerEndpoint).toBeDefined();
    }
  });
});
