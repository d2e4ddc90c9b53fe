import { App, CfnResource, Stack } from 'aws-cdk-lib/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureFlags } from 'aws-cdk-lib/core';
import { CURRENTLY_RECOMMENDED_FLAGS, DISABLE_CREATION_STACK_TRACES } from 'aws-cdk-lib/cx-api';
import { createTestApp, maskTemplate, stableTemplate, stableTemplates, statefulLogicalIds } from '../../lib/testing';
import { stackWithVpc } from '../helpers/app';

const HASH = 'f178182c7c3aac6ad18bdaae53a2d38f72b2cf690d17b9efa635c7ce37f77d71';

describe('maskTemplate', () => {
  const raw = {
    Parameters: { BootstrapVersion: { Type: 'AWS::SSM::Parameter::Value<String>' } },
    Rules: { CheckBootstrapVersion: { Assertions: [] } },
    Conditions: { CDKMetadataAvailable: { 'Fn::Or': [] } },
    Resources: {
      CDKMetadata: { Type: 'AWS::CDK::Metadata' },
      Fn: { Type: 'AWS::Lambda::Function', Properties: { Code: { S3Key: `${HASH}.zip`, S3Bucket: `cdk-hnb659fds-assets-${HASH.slice(0, 12)}` } } },
    },
  };

  it('masks a 64-hex asset hash and removes the bootstrap and metadata boilerplate', () => {
    // WHEN a raw template is masked THEN only the stable parts remain
    expect(maskTemplate(raw)).toEqual({
      Resources: { Fn: { Type: 'AWS::Lambda::Function', Properties: { Code: { S3Key: '[ASSET-HASH].zip', S3Bucket: `cdk-hnb659fds-assets-${HASH.slice(0, 12)}` } } } },
    });
  });

  it('masks an application version taken from an asset hash (tag value and S2M_APP_VERSION), and no other 12 digits', () => {
    const version = HASH.slice(0, 12);
    const masked = maskTemplate({
      Resources: {
        Asset: { Type: 'Custom::X', Properties: { Key: `${HASH}.zip` } },
        Group: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { Tags: [{ Key: 's2m:app-version', Value: version }, { Key: 'other', Value: 'abcdefabcdef' }] } },
        Template: { Type: 'AWS::EC2::LaunchTemplate', Properties: { UserData: `S2M_APP_VERSION=${version}\nS2M_OTHER=${version}x\n` } },
      },
    });
    expect(masked.Resources).toEqual({
      Asset: { Type: 'Custom::X', Properties: { Key: '[ASSET-HASH].zip' } },
      Group: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { Tags: [{ Key: 's2m:app-version', Value: '[ASSET-HASH]' }, { Key: 'other', Value: 'abcdefabcdef' }] } },
      Template: { Type: 'AWS::EC2::LaunchTemplate', Properties: { UserData: `S2M_APP_VERSION=[ASSET-HASH]\nS2M_OTHER=${version}x\n` } },
    });
  });

  it('keeps other parameters, rules and conditions', () => {
    const masked = maskTemplate({
      ...raw,
      Parameters: { ...raw.Parameters, Ami: { Type: 'String' } },
      Rules: { ...raw.Rules, Mine: {} },
      Conditions: { ...raw.Conditions, IsProd: {} },
    });
    expect(masked).toMatchObject({ Parameters: { Ami: { Type: 'String' } }, Rules: { Mine: {} }, Conditions: { IsProd: {} } });
    expect(masked.Parameters).not.toHaveProperty('BootstrapVersion');
  });

  it('keeps the boilerplate when asked to, and never changes its input', () => {
    const before = JSON.stringify(raw);
    const masked = maskTemplate(raw, { stripBoilerplate: false });
    expect(masked).toMatchObject({ Parameters: { BootstrapVersion: {} }, Resources: { CDKMetadata: {} } });
    expect(JSON.stringify(masked)).not.toContain(HASH);
    expect(JSON.stringify(raw)).toBe(before);
  });
});

describe('stableTemplate on a synthesized stack with an asset', () => {
  let stack: Stack;

  beforeAll(() => {
    // GIVEN a stack whose default-SG custom resource ships a Lambda asset
    stack = stackWithVpc().stack;
  });

  it('masks the asset hash and drops BootstrapVersion', () => {
    const template = stableTemplate(stack);
    const text = JSON.stringify(template);
    expect(text).toContain('[ASSET-HASH]');
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    expect(template.Parameters ?? {}).not.toHaveProperty('BootstrapVersion');
    expect(template.Rules).toBeUndefined();
  });

  it('returns every stack of an app by name', () => {
    const app = new App();
    new Stack(app, 'A', { stackName: 'first' });
    new Stack(app, 'B');
    expect(Object.keys(stableTemplates(app))).toEqual(['first', 'B']);
  });

  it('lists stateful resources by logical ID', () => {
    const ids = statefulLogicalIds(stack);
    expect(Object.values(ids)).toEqual(['AWS::Logs::LogGroup']);
    expect(statefulLogicalIds(stack, ['AWS::EC2::VPC'])).toEqual({ NetworkVpc7FB7348F: 'AWS::EC2::VPC' });
  });
});

describe('createTestApp', () => {
  it('turns on the feature flags a new CDK project gets', () => {
    // GIVEN an app from the helper THEN every recommended flag has its recommended value
    const app = createTestApp();
    for (const [flag, value] of Object.entries(CURRENTLY_RECOMMENDED_FLAGS)) {
      expect(app.node.tryGetContext(flag), flag).toEqual(value);
    }
    expect(FeatureFlags.of(app).isEnabled('@aws-cdk/aws-rds:databaseProxyUniqueResourceName')).toBe(true);
  });

  it('lets the caller\'s context win over the defaults', () => {
    // GIVEN a flag turned off and a key of the caller's own
    const app = createTestApp({ context: { '@aws-cdk/aws-rds:databaseProxyUniqueResourceName': false, mine: 'x' } });
    // THEN both are what the caller said
    expect(FeatureFlags.of(app).isEnabled('@aws-cdk/aws-rds:databaseProxyUniqueResourceName')).toBe(false);
    expect(app.node.tryGetContext('mine')).toBe('x');
  });

  it('writes no construct tree and no creation stack traces, unless the caller asks for them', () => {
    // GIVEN a stack with one resource in an app from the helper, and one in an app that asks for both
    const stackIn = (app: App) => {
      const stack = new Stack(app, 'S', { env: { region: 'eu-west-1' } });
      new CfnResource(stack, 'Thing', { type: 'AWS::SNS::Topic' });
      return stack;
    };
    const lean = stackIn(createTestApp());
    const full = stackIn(createTestApp({ appProps: { treeMetadata: true }, context: { [DISABLE_CREATION_STACK_TRACES]: false } }));
    // WHEN both synthesize THEN only the second has a tree.json and a stack trace on its resource's metadata
    const traces = (stack: Stack) => stack.node.findChild('Thing').node.metadata.filter((m) => m.type === 'aws:cdk:creationStack').length;
    expect((lean.node.root as App).synth().tree()).toBeUndefined();
    expect(traces(lean)).toBe(0);
    expect((full.node.root as App).synth().tree()).toBeDefined();
    expect(traces(full)).toBeGreaterThan(0);
  });
});
