import { describe, expect, it } from 'vitest';
import { ConfigError, PRESETS, resolveConfig, type AppConfigInput } from '../../../lib/config';
import { buildTestApp, minimalConfig } from '../../helpers/app';
import { Template } from 'aws-cdk-lib/assertions';

function errorsOf(overrides: Partial<AppConfigInput>): string {
  try {
    resolveConfig(minimalConfig(overrides));
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

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
    const msg = errorsOf({ network: { interfaceEndpoints: ['secretsmanager', 'dynamodb', 'secretsmanager'] } });
    expect(msg).toMatch(/network\.interfaceEndpoints\[1\]: must be one of secretsmanager, ssm, .* \(got: "dynamodb"\)/);
    expect(msg).toMatch(/network\.interfaceEndpoints\[2\]: duplicate service \(got: "secretsmanager"\)/);
  });

  it('fails when the primary region has neither a NAT gateway nor a Secrets Manager endpoint for the rotation', () => {
    expect(errorsOf({ regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16', natGateways: 0 }], network: { interfaceEndpoints: ['ssm'] } }))
      .toContain('network.interfaceEndpoints: the database credentials rotate in eu-west-1, whose VPC has no NAT gateway: add "secretsmanager" so the rotation function reaches Secrets Manager (got: ["ssm"])');
    expect(() => resolveConfig(minimalConfig({ regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16', natGateways: 0 }] }))).not.toThrow();
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
