/**
 * Retry delays and an abortable sleep, shared by the cache, the worker and the idempotency helper.
 *
 * @module
 */

/** Options of {@link exponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /** Delay before the first retry (attempt 1), in the caller's unit (milliseconds or seconds). */
  readonly base: number;
  /** Upper bound of any delay, same unit. */
  readonly max: number;
  /**
   * Growth per attempt.
   * @default 2
   */
  readonly factor?: number;
  /**
   * `full`: a uniform random delay in [0, d] (AWS's "full jitter": spreads a fleet of retrying clients best);
   * `equal`: in [d/2, d]; `none`: exactly d.
   * @default 'full'
   */
  readonly jitter?: 'full' | 'equal' | 'none';
  /**
   * Random source in [0, 1).
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * A capped exponential backoff: `d(attempt) = min(max, base × factor^(attempt − 1))`, then jittered.
 *
 * ```ts
 * const delay = exponentialBackoff({ base: 100, max: 20_000 });
 * delay(1); // 0..100 ms
 * delay(8); // 0..12 800 ms
 * ```
 *
 * @param options - see {@link ExponentialBackoffOptions}
 * @returns the delay for a 1-based attempt number (attempts below 1 count as 1)
 * @throws RangeError for a negative or non-finite base or max, `max < base`, or a factor below 1
 */
export function exponentialBackoff(options: ExponentialBackoffOptions): (attempt: number) => number {
  const { base, max } = options;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 'full';
  const random = options.random ?? Math.random;
  if (!Number.isFinite(base) || base < 0) throw new RangeError(`exponentialBackoff: base must be a finite number >= 0 (got: ${base})`);
  if (!Number.isFinite(max) || max < base) throw new RangeError(`exponentialBackoff: max must be a finite number >= base (${base}) (got: ${max})`);
  if (!Number.isFinite(factor) || factor < 1) throw new RangeError(`exponentialBackoff: factor must be a finite number >= 1 (got: ${factor})`);
  if (jitter !== 'full' && jitter !== 'equal' && jitter !== 'none') throw new RangeError(`exponentialBackoff: jitter must be full, equal or none (got: ${String(jitter)})`);
  return (attempt) => {
    const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
    // Cap the exponent too: factor^n overflows to Infinity long before attempt counts get large.
    const d = Math.min(max, base * factor ** Math.min(n - 1, 1024));
    if (jitter === 'none') return d;
    if (jitter === 'equal') return d / 2 + random() * (d / 2);
    return random() * d;
  };
}

/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts (then it resolves too: callers check the
 * signal). The timer does not keep Node alive when `unref` is true.
 *
 * @param ms - delay
 * @param signal - cuts the wait short
 * @param unref - let the process exit during the wait
 * @returns a promise resolving after the delay or the abort
 */
export function sleep(ms: number, signal?: AbortSignal, unref = false): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (unref) timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}
