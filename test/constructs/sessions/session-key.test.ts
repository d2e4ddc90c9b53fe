import { App, Stack } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SessionKey } from '../../../constructs/sessions';
import type { BuiltApp } from '../../../lib/app';
import { SESSION_KEYS } from '../../../lib/runtime/contract';
import { buildTestApp, cdkJsonContext } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

function stackIn(region: string): Stack {
  return new Stack(new App({ context: cdkJsonContext() }), `S-${region}`, { env: { region } });
}

describe('SessionKey in the primary region', () => {
  let t: Template;
  let key: SessionKey;
  beforeAll(() => {
    const stack = stackIn('us-east-1');
    key = new SessionKey(stack, 'Sessions', { secretName: 'shop/sessions/key', parameterPrefix: '/shop/sessions' });
    t = Template.fromStack(stack);
  });

  it('creates a retained secret with a 64-character generated key under "key", and no replica region', () => {
    t.hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({
        Name: 'shop/sessions/key',
        GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{}', GenerateStringKey: 'key', PasswordLength: 64, ExcludePunctuation: true }),
        ReplicaRegions: Match.absent(),
      }),
      DeletionPolicy: 'Retain',
    });
  });

  it('rotates it every 30 days with a function that only generates a new key', () => {
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(30 days)' } });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { FIELD: 'key', LENGTH: '64' } } });
    expect(key.rotation?.metricErrors().metricName).toBe('Errors');
  });

  it(`publishes the ARN at <prefix>/${SESSION_KEYS.secretArn}`, () => {
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: `/shop/sessions/${SESSION_KEYS.secretArn}`, Value: { Ref: Match.stringLikeRegexp('^Sessions') } });
  });
});

describe('SessionKey in another region', () => {
  let t: Template;
  beforeAll(() => {
    const stack = stackIn('eu-west-1');
    const key = new SessionKey(stack, 'Sessions', { secretName: 'shop/sessions/key', primaryRegion: 'us-east-1', parameterPrefix: '/shop/sessions' });
    const role = new iam.Role(stack, 'Fleet', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    key.grantConsumer({ grantPrincipal: role, connections: new ec2.Connections() });
    t = Template.fromStack(stack);
  });

  it('pulls its own replica from the primary region and creates no secret', () => {
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    const request = Object.values(t.findResources('Custom::SecretReplica'))[0] as { Properties: { Create: string } };
    expect(JSON.parse(request.Properties.Create)).toMatchObject({ action: 'replicateSecretToRegions', region: 'us-east-1', parameters: { SecretId: 'shop/sessions/key', AddReplicaRegions: [{ Region: 'eu-west-1' }] } });
  });

  it('publishes the replica by name once it exists, and lets a web fleet read every version of it', () => {
    const [requestId] = Object.keys(t.findResources('Custom::SecretReplica'));
    const param = Object.values(t.findResources('AWS::SSM::Parameter'))[0] as { Properties: { Value: unknown }; DependsOn?: string[] };
    expect(JSON.stringify(param.Properties.Value)).toContain(':secret:shop/sessions/key');
    expect(param.DependsOn).toContain(requestId);
    const [, fleet] = Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('Fleet'))!;
    const statements = fleet.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>;
    const read = statements.find((st) => JSON.stringify(st.Action).includes('secretsmanager:GetSecretValue'));
    expect(JSON.stringify(read?.Resource)).toMatch(/:secretsmanager:eu-west-1:.*:secret:shop\/sessions\/key-\?{6}"/);
  });

  it('fails when a replica is given a rotation (the primary rotates, replicas follow)', () => {
    expect(validationErrorOf(() => new SessionKey(stackIn('eu-west-1'), 'S', { secretName: 'k', primaryRegion: 'us-east-1', rotation: {} })))
      .toEqual({ path: 'S-eu-west-1/S', message: expect.stringMatching(/rotation is configured on the primary.*\(got: a rotation with primaryRegion us-east-1\)/) });
  });

  it('fails when the secret name has characters Secrets Manager rejects', () => {
    expect(validationErrorOf(() => new SessionKey(stackIn('us-east-1'), 'S', { secretName: 'shop key' })))
      .toEqual({ path: 'S-us-east-1/S', message: 'SessionKey: secretName must be 1-512 of A-Z a-z 0-9 /_+=.@- (got: "shop key")' });
  });
});

describe('reference app: session tokens valid in every region', () => {
  let built: BuiltApp;
  beforeAll(() => {
    built = buildTestApp('millions');
  });

  it('creates the key in the primary data stack and pulls a replica in every other region', () => {
    Template.fromStack(built.regions['us-east-1'].data).hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'shop/sessions/key' });
    for (const region of ['eu-west-1', 'ap-southeast-1']) {
      const t = Template.fromStack(built.regions[region].data);
      expect(Object.values(t.findResources('Custom::SecretReplica')).some((r) => JSON.stringify(r).includes('shop/sessions/key'))).toBe(true);
      t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/sessions/secret-arn' });
    }
  });

  it('grants the web fleets the key, not the workers', () => {
    const t = Template.fromStack(built.regions['eu-west-1'].app);
    const policies = Object.entries(t.findResources('AWS::IAM::Policy'));
    const reads = (prefix: string) => policies.filter(([id]) => id.startsWith(prefix)).some(([, p]) => JSON.stringify(p).includes('shop/sessions/key-??????'));
    expect(reads('WebServicewebFleet')).toBe(true);
    expect(reads('WebServiceapiFleet')).toBe(true);
    expect(reads('WorkersJobs')).toBe(false);
  });

  it('alarms on the key\'s rotation in the primary region', () => {
    expect(built.regions['us-east-1'].app.monitoring!.alarms.map((a) => a.alarm.node.id)).toContain('SecretRotationSessionsWarning');
  });
});
