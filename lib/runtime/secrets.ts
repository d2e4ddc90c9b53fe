/**
 * Secret values for the runtime clients, re-readable after a rotation.
 *
 * A {@link SecretProvider} is a function the clients call whenever they need the value: the cache client at
 * connect and again when the server answers `WRONGPASS`/`NOAUTH` (the password was rotated), the sealed session
 * store when it meets a key id it does not know. {@link secretsManagerSecret} builds one on Secrets Manager; any
 * function returning the value works (tests, local development, another secret store).
 *
 * The AWS SDK is imported on the first read, never at module load, and the client can be injected.
 *
 * @module
 */

import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Returns the current value of a secret. Called again after a rotation, so it must not cache forever. */
export type SecretProvider = () => string | Promise<string>;

/** Options of {@link secretsManagerSecret}. */
export interface SecretsManagerSecretOptions {
  /** ARN or name of the secret (e.g. the value published under `cache/secret-arn` or `sessions/secret-arn`). */
  readonly secretId: string;
  /**
   * Field to take from the secret's JSON `SecretString` (e.g. `password`, as ElastiCache auth secrets hold it).
   * @default - the whole `SecretString`
   */
  readonly jsonKey?: string;
  /**
   * Staging label of the version to read.
   * @default 'AWSCURRENT'
   */
  readonly versionStage?: string;
  /**
   * Secrets Manager client.
   * @default - `new SecretsManagerClient({ region })`, created on the first read
   */
  readonly client?: SecretsManagerClient;
  /**
   * Region of the secret, when no client is given.
   * @default - the SDK's default chain (`AWS_REGION`, instance metadata)
   */
  readonly region?: string;
}

/** A secret could not be read or does not have the expected shape. The message never contains the value. */
export class SecretReadError extends Error {
  /**
   * @param message - what failed
   * @param cause - the underlying error, if any
   */
  public constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SecretReadError';
  }
}

/**
 * A {@link SecretProvider} that reads a Secrets Manager secret on every call (callers call it rarely: at connect
 * and after an authentication failure).
 *
 * ```ts
 * const password = secretsManagerSecret({ secretId: params['secret-arn'], jsonKey: 'password' });
 * ```
 *
 * @param options - see {@link SecretsManagerSecretOptions}
 * @returns the provider
 * @throws RangeError for an empty `secretId` or `jsonKey`
 */
export function secretsManagerSecret(options: SecretsManagerSecretOptions): SecretProvider {
  checkSecretOptions('secretsManagerSecret', options);
  const reader = secretReader(options);
  return async () => {
    const value = await reader(options.versionStage ?? 'AWSCURRENT');
    if (value === undefined) throw new SecretReadError(`secret ${options.secretId}: no version is staged ${options.versionStage ?? 'AWSCURRENT'}`);
    return value;
  };
}

/** The current and, after a rotation, the previous value of a secret. */
export interface SecretVersions {
  /** The `AWSCURRENT` value. */
  readonly current: string;
  /** The `AWSPREVIOUS` value, if the secret was ever rotated. */
  readonly previous?: string;
}

/**
 * Reads the `AWSCURRENT` and `AWSPREVIOUS` versions of a secret, for values that must stay valid for a while
 * after a rotation (the keys that seal session tokens).
 *
 * @param options - see {@link SecretsManagerSecretOptions} (`versionStage` is ignored)
 * @returns a function returning both versions
 * @throws RangeError for an empty `secretId` or `jsonKey`
 */
export function secretsManagerSecretVersions(options: SecretsManagerSecretOptions): () => Promise<SecretVersions> {
  checkSecretOptions('secretsManagerSecretVersions', options);
  const reader = secretReader(options);
  return async () => {
    const [current, previous] = await Promise.all([reader('AWSCURRENT'), reader('AWSPREVIOUS')]);
    if (current === undefined) throw new SecretReadError(`secret ${options.secretId}: no version is staged AWSCURRENT`);
    return previous === undefined ? { current } : { current, previous };
  };
}

function checkSecretOptions(fn: string, options: SecretsManagerSecretOptions): void {
  if (typeof options.secretId !== 'string' || options.secretId.trim() === '') {
    throw new RangeError(`${fn}: secretId must be a non-empty secret ARN or name (got: ${JSON.stringify(options.secretId)})`);
  }
  if (options.jsonKey !== undefined && (typeof options.jsonKey !== 'string' || options.jsonKey === '')) {
    throw new RangeError(`${fn}: jsonKey must be a non-empty string when given (got: ${JSON.stringify(options.jsonKey)})`);
  }
}

/** Reads one staged version (undefined when that stage does not exist), creating the client on first use. */
function secretReader(options: SecretsManagerSecretOptions): (stage: string) => Promise<string | undefined> {
  let client = options.client;
  return async (stage) => {
    const sdk = await import('@aws-sdk/client-secrets-manager');
    client ??= new sdk.SecretsManagerClient(options.region ? { region: options.region } : {});
    let secretString: string | undefined;
    try {
      const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: options.secretId, VersionStage: stage }));
      secretString = out.SecretString;
    } catch (e) {
      if (stage !== 'AWSCURRENT' && (e as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      const err = e as Error;
      throw new SecretReadError(`secret ${options.secretId} (${stage}): ${err.name}: ${err.message}`, e);
    }
    if (secretString === undefined || secretString === '') throw new SecretReadError(`secret ${options.secretId} (${stage}): no SecretString (binary secrets are not supported)`);
    return options.jsonKey === undefined ? secretString : jsonField(options.secretId, stage, secretString, options.jsonKey);
  };
}

function jsonField(secretId: string, stage: string, secretString: string, key: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new SecretReadError(`secret ${secretId} (${stage}): SecretString is not JSON, so it has no field "${key}"`);
  }
  if (parsed === null || typeof parsed !== 'object') throw new SecretReadError(`secret ${secretId} (${stage}): SecretString is not a JSON object, so it has no field "${key}"`);
  const value = (parsed as Record<string, unknown>)[key];
  if (typeof value !== 'string' || value === '') {
    throw new SecretReadError(`secret ${secretId} (${stage}): field "${key}" is missing or not a non-empty string (fields: ${Object.keys(parsed).join(', ') || 'none'})`);
  }
  return value;
}
