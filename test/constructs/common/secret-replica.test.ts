import { App, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib/core';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPLICA_SYNC_HANDLER_SOURCE, SecretReplica, type SecretReplicaProps } from '../../../constructs/common';
import { loadCdkNag } from '../../../lib/app';
import { cdkJsonContext, testStack } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

interface Resource { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] }
interface Statement { Action: string | string[]; Resource: unknown; Condition?: unknown }

const SECRET_ARN = { 'Fn::Join': ['', ['arn:aws:secretsmanager:us-east-1:', { Ref: 'AWS::AccountId' }, ':secret:shop/database/credentials-??????']] };

function resources(t: Template, type: string): Record<string, Resource> {
  return t.findResources(type) as Record<string, Resource>;
}

/** Every literal string of a resource ARN (tokens left out), to check for wildcards. */
function literals(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(literals);
  if (v && typeof v === 'object') return Object.entries(v).filter(([k]) => k !== 'Ref').flatMap(([, x]) => literals(x));
  return [];
}

describe('SecretReplica (aws/secretsmanager on both sides)', () => {
  let t: Template;
  let replica: SecretReplica;
  beforeAll(() => {
    // GIVEN a stack in eu-west-1 WHEN it pulls the replica of a secret held in us-east-1
    const stack = testStack('Secondary', 'eu-west-1');
    replica = new SecretReplica(stack, 'Replica', { secretName: 'shop/database/credentials', primaryRegion: 'us-east-1' });
    t = Template.fromStack(stack);
  });

  it('asks Secrets Manager in the primary region to replicate the secret to this region on create and update', () => {
    const [request] = Object.values(resources(t, 'Custom::SecretReplica'));
    const expected = {
      service: 'SecretsManager',
      action: 'replicateSecretToRegions',
      region: 'us-east-1',
      parameters: { SecretId: 'shop/database/credentials', AddReplicaRegions: [{ Region: 'eu-west-1' }], ForceOverwriteReplicaSecret: true },
      physicalResourceId: { id: 'shop/database/credentials@eu-west-1' },
      logApiResponseData: false,
    };
    expect(JSON.parse(request.Properties.Create as string)).toEqual(expected);
    expect(JSON.parse(request.Properties.Update as string)).toEqual(expected);
    expect(request.Properties.InstallLatestAwsSdk).toBe(false);
    expect(replica.replicaRegion).toBe('eu-west-1');
  });

  it('removes only this region from the replication on delete', () => {
    const [request] = Object.values(resources(t, 'Custom::SecretReplica'));
    expect(JSON.parse(request.Properties.Delete as string)).toEqual({
      service: 'SecretsManager',
      action: 'removeRegionsFromReplication',
      region: 'us-east-1',
      parameters: { SecretId: 'shop/database/credentials', RemoveReplicaRegions: ['eu-west-1'] },
      ignoreErrorCodesMatching: 'ResourceNotFoundException|InvalidParameterException',
      logApiResponseData: false,
    });
  });

  it('allows exactly the two replication actions on the primary secret, with no wildcard but the secret suffix', () => {
    const [policy] = Object.values(resources(t, 'AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties).includes('Replicate'));
    const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    expect(statements).toEqual([{ Action: ['secretsmanager:RemoveRegionsFromReplication', 'secretsmanager:ReplicateSecretToRegions'], Effect: 'Allow', Resource: SECRET_ARN }]);
    const all = Object.values(resources(t, 'AWS::IAM::Policy')).flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    for (const s of all) {
      expect(literals(s.Action).filter((a) => a.includes('*'))).toEqual([]);
      expect(literals(s.Resource).join('').replace('-??????', '')).not.toMatch(/[*?]/);
    }
  });

  it('runs the request and the wait under roles of their own, with logs scoped to their own log groups (no AWS managed policy)', () => {
    const roles = Object.values(resources(t, 'AWS::IAM::Role'));
    expect(roles).toHaveLength(2);
    for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(Object.values(resources(t, 'AWS::Logs::LogGroup')).map((g) => g.Properties.RetentionInDays)).toEqual([90, 90]);
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SecretReplicaProviderLogs'), 'Arn'] } }], Version: '2012-10-17' },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [
        { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SecretReplicaSyncLogs'), 'Arn'] } },
        { Action: 'secretsmanager:DescribeSecret', Effect: 'Allow', Resource: SECRET_ARN },
      ], Version: '2012-10-17' },
    });
  });

  it('waits, after the request and once it may describe the secret, until the replica is in sync in the primary region\'s view', () => {
    const [wait] = Object.values(resources(t, 'Custom::SecretReplicaInSync'));
    expect(wait.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^SecretReplicaSyncFunction/), 'Arn'] },
      ServiceTimeout: '660',
      SecretId: 'shop/database/credentials', PrimaryRegion: 'us-east-1', ReplicaRegion: 'eu-west-1', TimeoutSeconds: '600',
    });
    const [requestId] = Object.keys(resources(t, 'Custom::SecretReplica'));
    const [syncPolicyId] = Object.entries(resources(t, 'AWS::IAM::Policy')).find(([, p]) => JSON.stringify(p.Properties).includes('DescribeSecret'))!;
    expect(wait.DependsOn).toEqual(expect.arrayContaining([requestId, syncPolicyId]));
    t.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', Runtime: 'nodejs24.x', Timeout: 900, Code: { ZipFile: REPLICA_SYNC_HANDLER_SOURCE } });
    expect(replica.inSync.node.path).toBe('Secondary/Replica/InSync');
  });

  it('creates the request only after its permissions', () => {
    const [request] = Object.values(resources(t, 'Custom::SecretReplica'));
    const [policyId] = Object.entries(resources(t, 'AWS::IAM::Policy')).find(([, p]) => JSON.stringify(p.Properties).includes('Replicate'))!;
    expect(request.DependsOn).toContain(policyId);
  });
});

describe('SecretReplica with customer keys and RETAIN', () => {
  let t: Template;
  beforeAll(() => {
    const stack = testStack('Keys', 'ap-southeast-1');
    const key = new kms.Key(stack, 'ReplicaKey', { enableKeyRotation: true });
    new SecretReplica(stack, 'One', {
      secretName: 'shop/cache/auth-token',
      primaryRegion: 'us-east-1',
      replicaKey: key,
      primaryKey: { keyArn: 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new SecretReplica(stack, 'Two', { secretName: 'shop/other', primaryRegion: 'us-east-1' });
    t = Template.fromStack(stack);
  });

  it('encrypts the replica with the given key and may decrypt the primary with its key, through Secrets Manager only', () => {
    const request = Object.values(resources(t, 'Custom::SecretReplica')).find((r) => JSON.stringify(r.Properties.Create).includes('auth-token'))!;
    // The key ARN is a token: the call is joined around it.
    const [, [before, keyArn]] = (request.Properties.Create as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    expect(before).toMatch(/"AddReplicaRegions":\[\{"Region":"ap-southeast-1","KmsKeyId":"$/);
    expect(keyArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ReplicaKey/), 'Arn'] });
    const statements = Object.values(resources(t, 'AWS::IAM::Policy')).flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 'kms:Decrypt',
      Resource: 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      Condition: expect.objectContaining({ StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.us-east-1.', { Ref: 'AWS::URLSuffix' }]] } } }),
    }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ReplicaKey/), 'Arn'] },
    }));
  });

  it('leaves the replica in place on delete when RETAIN', () => {
    const request = Object.values(resources(t, 'Custom::SecretReplica')).find((r) => JSON.stringify(r.Properties.Create).includes('auth-token'))!;
    expect(request.Properties.Delete).toBeUndefined();
    const other = Object.values(resources(t, 'Custom::SecretReplica')).find((r) => JSON.stringify(r.Properties.Create).includes('shop/other'))!;
    expect(JSON.parse(other.Properties.Delete as string).action).toBe('removeRegionsFromReplication');
  });

  it('shares one provider function and one waiting function, with their roles and log groups, per stack', () => {
    t.resourceCountIs('Custom::SecretReplica', 2);
    t.resourceCountIs('Custom::SecretReplicaInSync', 2);
    t.resourceCountIs('AWS::Lambda::Function', 2);
    t.resourceCountIs('AWS::IAM::Role', 2);
    t.resourceCountIs('AWS::Logs::LogGroup', 2);
  });

  it('takes a shorter wait', () => {
    const stack = testStack('Short', 'eu-west-1');
    new SecretReplica(stack, 'Replica', { secretName: 'shop/x', primaryRegion: 'us-east-1', syncTimeout: Duration.minutes(3) });
    Template.fromStack(stack).hasResourceProperties('Custom::SecretReplicaInSync', { TimeoutSeconds: '180', ServiceTimeout: '240' });
  });
});

describe('SecretReplica under cdk-nag', () => {
  it('has zero AwsSolutions findings, with the primary-region key wildcard acknowledged', () => {
    // GIVEN a stack pulling a replica of a secret encrypted with an unknown customer key of the primary region
    const app = new App({ context: cdkJsonContext() });
    const stack = new Stack(app, 'Nag', { env: { region: 'eu-west-1' } });
    new SecretReplica(stack, 'Replica', { secretName: 'shop/database/credentials', primaryRegion: 'us-east-1', primaryKey: {} });
    Validations.of(app).addPlugins(new (loadCdkNag().AwsSolutionsChecks)(app));
    // WHEN synthesized THEN nothing is reported
    expect(() => app.synth()).not.toThrow();
  });
});

describe('SecretReplica bad input', () => {
  it.each<[string, Partial<SecretReplicaProps>, RegExp, string?]>([
    ['the replica region is the primary region', {}, /replicaRegion must differ from primaryRegion \(got: us-east-1 for both\)/, 'us-east-1'],
    ['the primary region is not a region name', { primaryRegion: 'useast1' }, /primaryRegion must be a region name such as us-east-1 \(got: "useast1"\)/],
    ['the secret name has forbidden characters', { secretName: 'shop secret' }, /secretName must be 1-512 of .* \(got: "shop secret"\)/],
    ['the wait for the replica is longer than the function may run', { syncTimeout: Duration.minutes(15) }, /syncTimeout must be from 1 second to 14 minutes \(got: 15 minutes\)/],
  ])('fails when %s, naming the replica', (_, props, message, region = 'eu-west-1') => {
    expect(validationErrorOf(() => new SecretReplica(testStack('Bad', region), 'Replica', { secretName: 'shop/secret', primaryRegion: 'us-east-1', ...props })))
      .toEqual({ path: 'Bad/Replica', message: expect.stringMatching(message) });
  });

  it('fails when the replica region is unknown at synth', () => {
    expect(validationErrorOf(() => new SecretReplica(new Stack(new App(), 'Agnostic'), 'Replica', { secretName: 's', primaryRegion: 'us-east-1' })))
      .toEqual({ path: 'Agnostic/Replica', message: expect.stringMatching(/replica region must be known at synth/) });
  });
});
