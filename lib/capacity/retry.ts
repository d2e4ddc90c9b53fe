/** Retries with exponential backoff and full jitter, for throttled AWS calls. */
import { isRetryable } from './errors';

/** The clock the CLI uses: injectable so tests never wait. */
export interface Clock {
  /** The current time. */
  now(): Date;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/** Options of {@link withRetry}. */
export interface RetryOptions {
  readonly clock: Clock;
  /** Random number in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
  /** Attempts in total, the first included. @default 6 */
  readonly maxAttempts?: number;
  /** Backoff base in milliseconds: the cap of the nth retry's delay is `base × 2^(n-1)`. @default 250 */
  readonly baseDelayMs?: number;
  /** Largest delay in milliseconds. @default 20000 */
  readonly maxDelayMs?: number;
  /** Called before each retry (for progress output). @default - nothing */
  readonly onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
  /** Which errors to retry. @default isRetryable (throttling and transient failures) */
  readonly retryable?: (error: unknown) => boolean;
}

/** Delay before retry number `attempt` (1-based): full jitter, `random × min(max, base × 2^(attempt-1))`. */
export function backoffDelay(attempt: number, random: number, baseDelayMs = 250, maxDelayMs = 20_000): number {
  return Math.floor(random * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
}

/** Runs `fn`, retrying retryable errors with exponential backoff and full jitter; rethrows the last error. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 6;
  const random = options.random ?? Math.random;
  const retryable = options.retryable ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= maxAttempts || !retryable(e)) throw e;
      const delay = backoffDelay(attempt, random(), options.baseDelayMs, options.maxDelayMs);
      options.onRetry?.(attempt, delay, e);
      await options.clock.sleep(delay);
    }
  }
}
