/**
 * The periodic refresh both loaders (shard map, topology) share: a chain of jittered `setTimeout`s that never
 * overlap (the next is scheduled only after the run settles), on an injectable clock whose default timers are
 * unref'd.
 *
 * @module
 */

/** Time source and timers, injectable for tests. */
export interface RefreshClock {
  /** Current time in milliseconds. */
  now(): number;
  /** Schedules `callback` after `delayMs`; returns a handle for {@link RefreshClock.clearTimeout}. */
  setTimeout(callback: () => void, delayMs: number): unknown;
  /** Cancels a timer created by {@link RefreshClock.setTimeout}. */
  clearTimeout(handle: unknown): void;
}

/** The default clock: `Date.now` and Node timers, unref'd so they never keep the process alive. */
export const systemClock: RefreshClock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs);
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** `value` as an Error. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** Calls `onError`, never letting it throw into a refresh loop. */
export function safeReport(onError: (error: Error) => void, error: Error): void {
  try {
    onError(error);
  } catch {
    // A failing error handler must not break the refresh loop.
  }
}

/** Settings of a {@link RefreshLoop}. */
export interface RefreshLoopOptions {
  /** Mean interval, ms (validated by the owner). */
  readonly intervalMs: number;
  /** Random spread, a fraction in [0, 1). */
  readonly jitter: number;
  /** Clock. */
  readonly clock: RefreshClock;
  /** Random source in [0, 1). */
  readonly random: () => number;
  /** One refresh. */
  readonly run: () => Promise<unknown>;
  /** Where a rejected run goes. */
  readonly onError: (error: Error) => void;
}

/** Runs `run` every `intervalMs` ± `jitter` while started. */
export class RefreshLoop {
  private timer: unknown;
  private active = false;

  /** @param options - see {@link RefreshLoopOptions} */
  public constructor(private readonly options: RefreshLoopOptions) {}

  /** Whether it is started. */
  public get running(): boolean {
    return this.active;
  }

  /** Starts (idempotent). */
  public start(): void {
    if (this.active) return;
    this.active = true;
    this.schedule();
  }

  /** Stops (idempotent); a run in flight completes. */
  public stop(): void {
    this.active = false;
    if (this.timer !== undefined) {
      this.options.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private schedule(): void {
    const { intervalMs, jitter, random, clock } = this.options;
    const delay = Math.max(0, Math.round(intervalMs * (1 + jitter * (2 * random() - 1))));
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      this.options.run()
        .catch((err: unknown) => safeReport(this.options.onError, toError(err)))
        .finally(() => {
          if (this.active && this.timer === undefined) this.schedule();
        });
    }, delay);
  }
}

/** Settings of a {@link SpacedTrigger}. */
export interface SpacedTriggerOptions {
  /** Shortest spacing between two runs, ms. */
  readonly minSpacingMs: number;
  /** Random spread added to each spacing, ms (uniform in [0, spreadMs)). */
  readonly spreadMs: number;
  /** Clock. */
  readonly clock: RefreshClock;
  /** Random source in [0, 1). */
  readonly random: () => number;
  /** One run; its promise's rejection goes to `onError`. */
  readonly run: () => Promise<unknown>;
  /** Where a rejected run goes. */
  readonly onError: (error: Error) => void;
}

/**
 * Runs `run` at once when asked, then at most once per spacing (`minSpacingMs` plus a random spread); a request inside
 * a spacing is not dropped but answered by one run at its end, however many came. So a request is always followed by a
 * run that starts after it, within one spacing: what a process needs after a write failed because the topology it
 * holds is stale (the read it triggered may have started just before Parameter Store changed), at the rate of one read
 * per spacing however many writes fail.
 */
export class SpacedTrigger {
  private next = Number.NEGATIVE_INFINITY;
  private timer: unknown;
  private stopped = false;

  /** @param options - see {@link SpacedTriggerOptions} */
  public constructor(private readonly options: SpacedTriggerOptions) {}

  /** Whether a run is scheduled at the end of the current spacing. */
  public get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Asks for a run: now if the last one started a spacing ago or more, else one at the spacing's end. */
  public request(): void {
    if (this.stopped || this.timer !== undefined) return;
    const wait = this.next - this.options.clock.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.fire();
    }, wait);
  }

  /** Cancels a scheduled run and refuses later requests (idempotent); a run in flight completes. */
  public stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) {
      this.options.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private fire(): void {
    const { clock, minSpacingMs, spreadMs, random } = this.options;
    this.next = clock.now() + minSpacingMs + Math.floor(random() * spreadMs);
    let running: Promise<unknown>;
    try {
      running = this.options.run();
    } catch (e) {
      running = Promise.reject(e);
    }
    running.catch((err: unknown) => safeReport(this.options.onError, toError(err)));
  }
}
