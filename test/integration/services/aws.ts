/**
 * moto helpers for the runtime tests: SDK clients pointed at moto_server, seeding SSM parameters and secrets,
 * and the parameters a synthesized data stack publishes (so the tests seed exactly what the stacks name).
 */
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import type { TestServices } from './index';

const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** SSM and Secrets Manager clients on moto. */
export function motoClients(services: TestServices, region = services.moto.region): { ssm: SSMClient; secretsManager: SecretsManagerClient } {
  const common = { region, endpoint: services.moto.endpoint, credentials: CREDENTIALS, maxAttempts: 2 };
  return { ssm: new SSMClient(common), secretsManager: new SecretsManagerClient(common) };
}

/** Puts (overwrites) String parameters. */
export async function putParameters(ssm: SSMClient, params: Record<string, string>): Promise<void> {
  for (const [Name, Value] of Object.entries(params)) {
    await ssm.send(new PutParameterCommand({ Name, Value, Type: 'String', Overwrite: true }));
  }
}

/** Creates a secret and returns its ARN. */
export async function createSecret(secretsManager: SecretsManagerClient, name: string, value: unknown): Promise<string> {
  const out = await secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: typeof value === 'string' ? value : JSON.stringify(value) }));
  return out.ARN!;
}

/** Writes a new version of a secret (what a rotation does). */
export async function rotateSecret(secretsManager: SecretsManagerClient, arn: string, value: unknown): Promise<void> {
  await secretsManager.send(new PutSecretValueCommand({ SecretId: arn, SecretString: typeof value === 'string' ? value : JSON.stringify(value) }));
}

type Intrinsic = string | number | { Ref: string } | { 'Fn::GetAtt': [string, string] } | { 'Fn::Join': [string, Intrinsic[]] } | Record<string, unknown>;

/** One `AWS::SSM::Parameter` of a synthesized stack: its name and its value with references still in it. */
export interface SynthesizedParameter {
  readonly name: string;
  readonly value: Intrinsic;
}

/** Every SSM parameter a synthesized stack publishes (names must be literal strings: they are the contract). */
export function synthesizedParameters(stack: Stack): { parameters: SynthesizedParameter[]; resources: Record<string, { Type: string }> } {
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties?: { Name?: unknown; Value?: Intrinsic } }> };
  const parameters: SynthesizedParameter[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::SSM::Parameter') continue;
    const name = r.Properties?.Name;
    if (typeof name !== 'string') throw new Error(`${id}: parameter name is not a literal string (got: ${JSON.stringify(name)})`);
    parameters.push({ name, value: r.Properties!.Value! });
  }
  return { parameters, resources: template.Resources };
}

/**
 * Resolves a template value to a string, answering every `Ref` and `Fn::GetAtt` with `answer` (what the
 * deployed resource would give).
 */
export function resolveValue(value: Intrinsic, answer: (logicalId: string, attribute: string | undefined) => string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if ('Ref' in value && typeof value.Ref === 'string') return answer(value.Ref, undefined);
  if ('Fn::GetAtt' in value) {
    const [id, attr] = value['Fn::GetAtt'] as [string, string];
    return answer(id, attr);
  }
  if ('Fn::Join' in value) {
    const [sep, parts] = value['Fn::Join'] as [string, Intrinsic[]];
    return parts.map((p) => resolveValue(p, answer)).join(sep);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** AWS SDK client settings that point at the run's moto_server (no credentials exist; moto accepts any). */
export function motoClientConfig(services: TestServices): { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  return { region: services.moto.region, endpoint: services.moto.endpoint, credentials: { ...CREDENTIALS } };
}
