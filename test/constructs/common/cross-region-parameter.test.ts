import { App, Stack } from 'aws-cdk-lib/core';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CrossRegionParameter } from '../../../constructs/common';
import { testStack } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

interface Statement { Action: string | string[]; Resource: unknown }

/** A custom resource's call, read back with each token (`TOKENn`) in place. */
function callOf(value: unknown): { call: Record<string, unknown>; tokens: unknown[] } {
  if (typeof value === 'string') return { call: JSON.parse(value) as Record<string, unknown>, tokens: [] };
  const parts = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const tokens = parts.filter((p) => typeof p !== 'string');
  return { call: JSON.parse(parts.map((p) => (typeof p === 'string' ? p : `TOKEN${tokens.indexOf(p)}`)).join('')) as Record<string, unknown>, tokens };
}

describe('CrossRegionParameter', () => {
  it('puts the parameter in the other region on create and on update (overwriting), and deletes it with the resource', () => {
    // GIVEN a stack in eu-west-1 WHEN it writes a value of its own to a parameter in us-east-1
    const stack = testStack('Regional', 'eu-west-1');
    const topic = new sns.Topic(stack, 'Topic');
    new CrossRegionParameter(stack, 'Id', { parameterName: '/shop/dns/health-checks/eu-west-1', value: topic.topicName, region: 'us-east-1', description: 'for the edge' });
    const t = Template.fromStack(stack);
    const [resource] = Object.values(t.findResources('Custom::CrossRegionParameter'));
    // THEN create and update put it there, with this stack's value
    for (const event of ['Create', 'Update']) {
      const { call, tokens } = callOf(resource.Properties[event]);
      expect(call).toEqual({
        service: 'SSM',
        action: 'putParameter',
        region: 'us-east-1',
        parameters: { Name: '/shop/dns/health-checks/eu-west-1', Value: 'TOKEN0', Type: 'String', Overwrite: true, Description: 'for the edge' },
        physicalResourceId: { id: '/shop/dns/health-checks/eu-west-1@us-east-1' },
      });
      expect(tokens).toEqual([Stack.of(topic).resolve(topic.topicName)]);
    }
    // AND delete removes it, a parameter already gone being no failure
    expect(callOf(resource.Properties.Delete).call).toMatchObject({ action: 'deleteParameter', region: 'us-east-1', parameters: { Name: '/shop/dns/health-checks/eu-west-1' }, ignoreErrorCodesMatching: 'ParameterNotFound' });
    // AND the function may write and delete that parameter in that region, nothing else
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement);
    const ssm = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('ssm:')));
    expect(ssm).toHaveLength(1);
    expect([ssm[0].Action].flat().sort()).toEqual(['ssm:DeleteParameter', 'ssm:PutParameter']);
    expect(JSON.stringify(ssm[0].Resource)).toContain(':ssm:us-east-1:');
    expect(JSON.stringify(ssm[0].Resource)).toContain(':parameter/shop/dns/health-checks/eu-west-1"');
    t.resourceCountIs('AWS::SSM::Parameter', 0);
  });

  it('is a plain String parameter in the stack\'s own region', () => {
    const stack = testStack('Edge', 'us-east-1');
    const p = new CrossRegionParameter(stack, 'Id', { parameterName: '/shop/dns/health-checks/us-east-1', value: 'hc-1', region: 'us-east-1' });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/dns/health-checks/us-east-1', Type: 'String', Value: 'hc-1' });
    t.resourceCountIs('Custom::CrossRegionParameter', 0);
    expect(p.resource).toBeUndefined();
    expect(p.parameter).toBeDefined();
  });

  it('refuses a name that is no parameter path, a region that is no region code, and a stack without a region, naming the value', () => {
    const stack = testStack('Regional', 'eu-west-1');
    expect(validationErrorOf(() => new CrossRegionParameter(stack, 'A', { parameterName: 'shop/x', value: 'v', region: 'us-east-1' })).message)
      .toMatch(/parameterName must be a path .*\(got: "shop\/x"\)/);
    expect(validationErrorOf(() => new CrossRegionParameter(stack, 'B', { parameterName: '/shop//x', value: 'v', region: 'us-east-1' })).message)
      .toMatch(/parameterName .*\(got: "\/shop\/\/x"\)/);
    expect(validationErrorOf(() => new CrossRegionParameter(stack, 'C', { parameterName: '/shop/x', value: 'v', region: 'US East' })).message)
      .toMatch(/region must be a region code .*\(got: "US East"\)/);
    const agnostic = new Stack(new App(), 'Agnostic');
    expect(validationErrorOf(() => new CrossRegionParameter(agnostic, 'D', { parameterName: '/shop/x', value: 'v', region: 'us-east-1' })).message)
      .toMatch(/needs a concrete region/);
  });
});
