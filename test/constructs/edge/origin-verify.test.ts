import { Stack } from 'aws-cdk-lib/core';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { OriginVerifySecret } from '../../../constructs/edge';
import { originDomainName } from '../../../constructs/geo-dns';
import { testStack } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

describe('OriginVerifySecret', () => {
  let t: Template;
  let stack: Stack;
  let secret: OriginVerifySecret;
  beforeAll(() => {
    stack = testStack('Secrets', 'eu-west-1');
    secret = new OriginVerifySecret(stack, 'OriginVerify', { secretNamePrefix: 'shop/edge/origin-verify', generation: 1 });
    t = Template.fromStack(stack);
  });

  it('creates two retained slot secrets with deterministic names and no pushed replica (regions pull theirs)', () => {
    t.resourceCountIs('AWS::SecretsManager::Secret', 2);
    for (const slot of [0, 1]) {
      t.hasResource('AWS::SecretsManager::Secret', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          Name: `shop/edge/origin-verify-${slot}`,
          ReplicaRegions: Match.absent(),
          GenerateSecretString: Match.objectLike({ ExcludePunctuation: true, PasswordLength: 48, SecretStringTemplate: '{}' }),
        }),
      });
    }
  });

  it('holds generation 1 in slot 1 and generation 0 in slot 0', () => {
    t.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'shop/edge/origin-verify-1', GenerateSecretString: Match.objectLike({ GenerateStringKey: 'g1' }) });
    t.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'shop/edge/origin-verify-0', GenerateSecretString: Match.objectLike({ GenerateStringKey: 'g0' }) });
  });

  it('keeps stable logical ids (a rename would replace the secrets)', () => {
    expect(Object.keys(t.findResources('AWS::SecretsManager::Secret')).sort()).toEqual(['OriginVerifySlot016A412DD', 'OriginVerifySlot1B84CA9FF']);
  });

  it('gives CloudFront the current generation and the load balancers the current and previous ones', () => {
    expect(secret.references.current).toBe('{{resolve:secretsmanager:shop/edge/origin-verify-1:SecretString:g1::}}');
    expect(secret.references.accepted).toEqual([
      '{{resolve:secretsmanager:shop/edge/origin-verify-1:SecretString:g1::}}',
      '{{resolve:secretsmanager:shop/edge/origin-verify-0:SecretString:g0::}}',
    ]);
  });

  it('rotates by one generation: only the stale slot changes, the previous value stays accepted', () => {
    const g2 = OriginVerifySecret.references('shop/edge/origin-verify', 2);
    expect(g2.current).toBe('{{resolve:secretsmanager:shop/edge/origin-verify-0:SecretString:g2::}}');
    expect(g2.accepted).toContain(secret.references.current);
    expect(OriginVerifySecret.references('shop/edge/origin-verify', 3).accepted).toContain(g2.current);
  });

  it('fails when the generation is below 1 or fractional: unscoped from the static helper, naming the secret from the construct', () => {
    expect(validationErrorOf(() => OriginVerifySecret.references('p', 0))).toEqual({ path: undefined, message: expect.stringMatching(/generation must be a whole number of at least 1 \(got: 0\)/) });
    expect(validationErrorOf(() => new OriginVerifySecret(testStack(), 'X', { secretNamePrefix: 'p', generation: 1.5 }))).toEqual({ path: 'TestStack/X', message: expect.stringMatching(/got: 1.5/) });
  });

  it('fails when the name prefix has characters Secrets Manager rejects', () => {
    expect(validationErrorOf(() => OriginVerifySecret.references('bad name!', 1))).toEqual({ path: undefined, message: expect.stringMatching(/secretNamePrefix .*\(got: "bad name!"\)/) });
  });

  it('fails when the origin domain is not a DNS name', () => {
    expect(validationErrorOf(() => originDomainName('Shop Example'))).toEqual({ path: undefined, message: 'originDomainName: domainName must be a lowercase DNS name (got: "Shop Example")' });
  });
});
