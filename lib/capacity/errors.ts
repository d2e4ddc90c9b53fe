/**
 * Errors the CLI reports as one line and a distinct exit code (documented in docs/capacity.md), and the
 * classification of AWS SDK errors into them.
 */

/** Exit codes of `s2m`. Stable: scripts depend on them. */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** An unexpected internal error (a bug; rerun with `S2M_DEBUG=1` for the stack trace). */
  internal: 1,
  /** Wrong command-line usage. */
  usage: 2,
  /** The config file is missing, unreadable or invalid. */
  config: 3,
  /** No AWS credentials, or invalid/expired ones. */
  credentials: 4,
  /** The credentials are not allowed to call an API the CLI needs. */
  accessDenied: 5,
  /** A stack the CLI reads is not deployed. */
  stackMissing: 6,
  /** An unknown region, or the AWS endpoint cannot be reached. */
  region: 7,
  /** Still throttled after every retry. */
  throttled: 8,
  /** Any other AWS error. */
  aws: 9,
} as const;

/** One of {@link ExitCode}'s values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI prints as one line (its message) and exits with `exitCode`. */
export class CliError extends Error {
  constructor(message: string, public readonly exitCode: ExitCodeValue) {
    super(message);
    this.name = 'CliError';
  }
}

/** The fields of an AWS SDK v3 error the CLI looks at. */
interface SdkErrorLike {
  readonly name?: string;
  readonly Code?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

function asSdkError(e: unknown): SdkErrorLike {
  return typeof e === 'object' && e !== null ? (e as SdkErrorLike) : { message: String(e) };
}

const THROTTLING = new Set([
  'ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'ThrottledException',
  'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'ProvisionedThroughputExceededException',
]);
const TRANSIENT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'InternalFailure', 'ServiceUnavailable', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

function codeOf(e: SdkErrorLike): string {
  return e.name && e.name !== 'Error' ? e.name : (e.Code ?? e.code ?? e.name ?? '');
}

/** True for throttling: `ThrottlingException`, `Throttling`, `TooManyRequestsException`, ..., HTTP 429 or 503. */
export function isThrottling(error: unknown): boolean {
  const e = asSdkError(error);
  const status = e.$metadata?.httpStatusCode;
  return THROTTLING.has(codeOf(e)) || THROTTLING.has(e.code ?? '') || status === 429 || status === 503 || e.$retryable?.throttling === true;
}

/** True for errors worth retrying: throttling, and transient server or network failures (HTTP 500/502/504, timeouts, resets). */
export function isRetryable(error: unknown): boolean {
  if (isThrottling(error)) return true;
  const e = asSdkError(error);
  const status = e.$metadata?.httpStatusCode;
  return TRANSIENT.has(codeOf(e)) || TRANSIENT.has(e.code ?? '') || status === 500 || status === 502 || status === 504;
}

/** What the CLI was doing when an AWS call failed, for the error line. */
export interface AwsCallContext {
  readonly region: string;
  /** e.g. `cloudformation:DescribeStacks`. */
  readonly action: string;
  /** The stack, when reading one. */
  readonly stackName?: string;
}

/**
 * Turns an AWS SDK error into a {@link CliError} with one clear line and its exit code. Errors that are
 * already `CliError`s pass through.
 */
export function classifyAwsError(error: unknown, ctx: AwsCallContext): CliError {
  if (error instanceof CliError) return error;
  const e = asSdkError(error);
  const code = codeOf(e);
  const message = (e.message ?? '').split('\n')[0].trim();
  const status = e.$metadata?.httpStatusCode;
  const where = `${ctx.action} in ${ctx.region}`;

  if (code === 'CredentialsProviderError' || /could not load credentials|credential is missing|no credentials/i.test(message)) {
    return new CliError(`no AWS credentials found (${where}): set AWS_PROFILE, or run \`aws sso login\` / \`aws configure\``, ExitCode.credentials);
  }
  if (['ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId', 'UnrecognizedClientException', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'TokenRefreshRequired'].includes(code)) {
    return new CliError(`the AWS credentials are invalid or expired (${where}: ${code}): refresh them and retry`, ExitCode.credentials);
  }
  if (['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError', 'UnauthorizedException'].includes(code) || status === 403) {
    return new CliError(`access denied: ${where} is not allowed for these credentials${message ? ` (${message})` : ''}`, ExitCode.accessDenied);
  }
  if (code === 'ValidationError' && /does not exist/i.test(message)) {
    const stack = ctx.stackName ?? /Stack with id (\S+)/.exec(message)?.[1] ?? 'a stack';
    return new CliError(`stack ${stack} does not exist in ${ctx.region}: deploy it first (npx cdk deploy ${stack}) or check --config`, ExitCode.stackMissing);
  }
  if (['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'UnknownEndpoint', 'InvalidRegion'].includes(code) || ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED'].includes(e.code ?? '') || /region is missing|invalid region|getaddrinfo/i.test(message)) {
    return new CliError(`cannot reach AWS in region ${ctx.region} (${where}: ${code || message}): check the region name and the network`, ExitCode.region);
  }
  if (isThrottling(error)) {
    return new CliError(`still throttled after retries (${where}: ${code || status}): retry later`, ExitCode.throttled);
  }
  return new CliError(`AWS error (${where}): ${code}${message ? `: ${message}` : ''}`, ExitCode.aws);
}
