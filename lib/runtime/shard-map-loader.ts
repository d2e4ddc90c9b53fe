/**
 * Loads the shard map from SSM Parameter Store on application instances, caches it and refreshes
 * it periodically.
 *
 * ```ts
 * const loader = new ShardMapLoader({
 *   parameterName: '/myapp/database/shard-map',
 *   onChange: (router, previous) => log.info(`shard map epoch ${previous?.epoch} -> ${router.epoch}`),
 *   onError: (err) => log.warn(err.message),
 * });
 * await loader.load();   // at start-up: fails if the map cannot be loaded
 * loader.start();        // refresh every 60 s (+-10% jitter); the timer does not keep Node alive
 * // per request:
 * const shard = loader.router().shardFor(`user:${userId}`);
 * ```
 *
 * Policies:
 *
 * - **Failures keep the last good map.** A refresh that fails (SSM error, throttling, invalid
 *   JSON, invalid map) leaves the current router in place and is reported to `onError`. Only the
 *   very first load can fail outright (`load()` rejects), because there is nothing to fall back to.
 * - **Epochs never go backwards.** A fetched map whose `epoch` is LOWER than the current one is
 *   rejected with a {@link StaleShardMapError} (reported, current map kept): a parameter rolled
 *   back to an old value, or a lagging read, must not silently flip routing backwards on some
 *   instances. To really roll back, republish the old layout with a higher epoch. A map with the
 *   SAME epoch but different content is accepted, so that all instances converge on what is
 *   published; bump the epoch on every change anyway (`planResharding` warns when you do not).
 * - **No thundering herd.** Refreshes are `setTimeout` chains (never overlapping), jittered by
 *   +-10% by default, so a fleet started together does not hit SSM's GetParameter throughput
 *   limit in lockstep; concurrent `load()`/`refresh()` calls share one request.
 *
 * The SSM client is created on the first fetch (never at module load), and the AWS SDK module is
 * itself imported lazily, so importing this module is cheap.
 *
 * @module
 */

import type { GetParameterCommandOutput, SSMClient } from '@aws-sdk/client-ssm';
import { RefreshLoop, safeReport, systemClock, toError, type RefreshClock } from './refresh-loop';
import { parseShardMapJson } from './shard-map';
import { ShardRouter } from './shard-router';

/** Time source and timers, injectable for tests. */
export type ShardMapLoaderClock = RefreshClock;

export { systemClock };

/** Options for {@link ShardMapLoader}. */
export interface ShardMapLoaderOptions {
  /** Name (or ARN) of the SSM parameter holding the shard-map JSON. `String` or `SecureString`. */
  readonly parameterName: string;
  /** SSM client to use. Default: `new SSMClient({})`, created on the first fetch. */
  readonly ssm?: SSMClient;
  /** How often `start()` refreshes, and how long `load()` serves its cached map. Default 60 000 ms. */
  readonly refreshIntervalMs?: number;
  /** Random spread of the refresh interval, as a fraction in [0, 1). Default 0.1 (+-10%). */
  readonly jitter?: number;
  /** Called after a new map is in place (including the first load, with `previous` undefined). */
  readonly onChange?: (router: ShardRouter, previous: ShardRouter | undefined) => void;
  /**
   * Called when a refresh fails while a map is already loaded (the last good map stays in use),
   * when a periodic refresh fails before anything was loaded, and when `onChange` throws.
   * Default: `console.warn`.
   */
  readonly onError?: (error: Error) => void;
  /** Time source and timers. Default {@link systemClock}. */
  readonly clock?: ShardMapLoaderClock;
  /** Random source in [0, 1) for the jitter. Default `Math.random`. */
  readonly random?: () => number;
}

/** Snapshot of a loader's state, e.g. for a health-check endpoint. */
export interface ShardMapLoaderStatus {
  /** Whether a map has been loaded. */
  readonly loaded: boolean;
  /** Epoch of the map in use. */
  readonly epoch: number | undefined;
  /** SSM parameter version of the map in use. */
  readonly parameterVersion: number | undefined;
  /** When the map in use was last confirmed by a successful fetch (clock ms). */
  readonly loadedAt: number | undefined;
  /** When the map in use was installed (clock ms). */
  readonly changedAt: number | undefined;
  /**
   * When the last successful fetch started (clock ms): the map in use is at least as new as what was published before
   * then. A fetch refused as stale (a lower epoch) confirms nothing.
   */
  readonly confirmedAt: number | undefined;
  /** When the last fetch started (clock ms), successful or not. */
  readonly lastAttemptAt: number | undefined;
  /** The error of the last fetch, if it failed. */
  readonly lastError: Error | undefined;
  /** Failed fetches since the last successful one. */
  readonly consecutiveFailures: number;
  /** Whether periodic refresh is running. */
  readonly refreshing: boolean;
}

/** The SSM parameter could not be read (network, permissions, missing parameter, empty value). */
export class ShardMapLoadError extends Error {
  /**
   * @param message - what failed
   * @param cause - the underlying error, if any
   */
  public constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ShardMapLoadError';
  }
}

/** A fetched map has a lower epoch than the one in use; it was not installed. */
export class StaleShardMapError extends Error {
  /** Epoch of the map in use. */
  public readonly currentEpoch: number;
  /** Epoch of the rejected map. */
  public readonly receivedEpoch: number;

  /**
   * @param source - where the map came from
   * @param currentEpoch - epoch in use
   * @param receivedEpoch - epoch fetched
   */
  public constructor(source: string, currentEpoch: number, receivedEpoch: number) {
    super(
      `${source}: refusing shard map with epoch ${receivedEpoch}, lower than the epoch in use (${currentEpoch}); keeping the current map. To roll back, republish the old layout with an epoch above ${currentEpoch}`,
    );
    this.name = 'StaleShardMapError';
    this.currentEpoch = currentEpoch;
    this.receivedEpoch = receivedEpoch;
  }
}

/** {@link ShardMapLoader.router} was called before any map was loaded. */
export class ShardMapNotLoadedError extends Error {
  /** @param source - where the map is loaded from */
  public constructor(source: string) {
    super(`no shard map loaded yet from ${source}: await loader.load() during start-up, before serving requests`);
    this.name = 'ShardMapNotLoadedError';
  }
}

/**
 * Loads, caches and refreshes the shard map from an SSM parameter. See the module documentation
 * for the failure and epoch policies.
 */
export class ShardMapLoader {
  private readonly parameterName: string;
  private readonly source: string;
  private readonly refreshIntervalMs: number;
  private readonly clock: ShardMapLoaderClock;
  private readonly random: () => number;
  private readonly onChange: ((router: ShardRouter, previous: ShardRouter | undefined) => void) | undefined;
  private readonly onError: (error: Error) => void;
  private ssm: SSMClient | undefined;

  private current: ShardRouter | undefined;
  private currentJson: string | undefined;
  private parameterVersion: number | undefined;
  private loadedAt: number | undefined;
  private changedAt: number | undefined;
  private confirmedAt: number | undefined;
  private lastAttemptAt: number | undefined;
  private lastError: Error | undefined;
  private failures = 0;
  private inflight: Promise<ShardRouter> | undefined;
  private readonly loop: RefreshLoop;

  /**
   * @param options - see {@link ShardMapLoaderOptions}
   * @throws RangeError for an empty parameter name, a non-positive interval or a jitter outside [0, 1)
   */
  public constructor(options: ShardMapLoaderOptions) {
    if (typeof options.parameterName !== 'string' || options.parameterName.trim() === '') {
      throw new RangeError(`ShardMapLoader: parameterName must be a non-empty string (got: ${JSON.stringify(options.parameterName)})`);
    }
    const interval = options.refreshIntervalMs ?? 60_000;
    if (!Number.isFinite(interval) || interval <= 0) {
      throw new RangeError(`ShardMapLoader: refreshIntervalMs must be a positive number of milliseconds (got: ${interval})`);
    }
    const jitter = options.jitter ?? 0.1;
    if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`ShardMapLoader: jitter must be in [0, 1) (got: ${jitter})`);
    this.parameterName = options.parameterName;
    this.source = `SSM parameter "${options.parameterName}"`;
    this.refreshIntervalMs = interval;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.ssm = options.ssm;
    this.onChange = options.onChange;
    this.onError = options.onError ?? ((err) => console.warn(`[ShardMapLoader] ${err.message}`));
    // A failed periodic refresh before anything loaded has nobody else to tell than onError.
    this.loop = new RefreshLoop({ intervalMs: interval, jitter, clock: this.clock, random: this.random, run: () => this.refresh(), onError: (e) => this.report(e) });
  }

  /**
   * The router for the map in use. Synchronous and cheap: call it per request.
   *
   * @returns the current router
   * @throws ShardMapNotLoadedError if no map was ever loaded
   */
  public router(): ShardRouter {
    if (this.current === undefined) throw new ShardMapNotLoadedError(this.source);
    return this.current;
  }

  /**
   * Returns the cached router if the last fetch started less than `refreshIntervalMs` ago,
   * otherwise fetches (see {@link ShardMapLoader.refresh}). Call it at start-up.
   *
   * @returns the router in use after the call
   * @throws the fetch or validation error if no map could ever be loaded
   */
  public async load(): Promise<ShardRouter> {
    if (this.current !== undefined && this.lastAttemptAt !== undefined && this.clock.now() - this.lastAttemptAt < this.refreshIntervalMs) {
      return this.current;
    }
    return this.refresh();
  }

  /**
   * Fetches the parameter now (sharing a fetch already in flight) and installs the map if it is
   * valid, not stale, and different from the current one (then calls `onChange`). On failure with
   * a map already loaded, reports to `onError` and resolves with the current router.
   *
   * @returns the router in use after the fetch
   * @throws ShardMapLoadError, ShardMapValidationError or StaleShardMapError only when no map was
   *   loaded before
   */
  public refresh(): Promise<ShardRouter> {
    this.inflight ??= this.fetchAndInstall().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Starts periodic refresh (idempotent). The timer is unref'd: it never keeps Node alive. */
  public start(): void {
    this.loop.start();
  }

  /** Stops periodic refresh (idempotent). A fetch in flight still completes and is applied. */
  public stop(): void {
    this.loop.stop();
  }

  /**
   * A snapshot of the loader's state.
   *
   * @returns the status
   */
  public status(): ShardMapLoaderStatus {
    return {
      loaded: this.current !== undefined,
      epoch: this.current?.epoch,
      parameterVersion: this.parameterVersion,
      loadedAt: this.loadedAt,
      changedAt: this.changedAt,
      confirmedAt: this.confirmedAt,
      lastAttemptAt: this.lastAttemptAt,
      lastError: this.lastError,
      consecutiveFailures: this.failures,
      refreshing: this.loop.running,
    };
  }

  private report(error: Error): void {
    safeReport(this.onError, error);
  }

  private async fetchAndInstall(): Promise<ShardRouter> {
    const startedAt = this.clock.now();
    this.lastAttemptAt = startedAt;
    try {
      this.install(await this.fetch());
      this.confirmedAt = startedAt;
      this.failures = 0;
      this.lastError = undefined;
      return this.current!;
    } catch (e) {
      const err = toError(e);
      this.failures++;
      this.lastError = err;
      if (this.current === undefined) throw err;
      this.report(err);
      return this.current;
    }
  }

  private async fetch(): Promise<{ text: string; version: number | undefined }> {
    const sdk = await import('@aws-sdk/client-ssm');
    this.ssm ??= new sdk.SSMClient({});
    let output: GetParameterCommandOutput;
    try {
      output = await this.ssm.send(new sdk.GetParameterCommand({ Name: this.parameterName, WithDecryption: true }));
    } catch (err) {
      const e = toError(err);
      throw new ShardMapLoadError(`could not read the shard map from ${this.source}: ${e.name}: ${e.message}`, err);
    }
    const text = output.Parameter?.Value;
    if (text === undefined || text.trim() === '') {
      throw new ShardMapLoadError(`${this.source} has no value`);
    }
    return { text, version: output.Parameter?.Version };
  }

  private install(fetched: { text: string; version: number | undefined }): void {
    const now = this.clock.now();
    if (this.current !== undefined && fetched.version !== undefined && fetched.version === this.parameterVersion) {
      this.loadedAt = now; // same parameter version: same content, skip parsing
      return;
    }
    const router = ShardRouter.fromShardMap(parseShardMapJson(fetched.text, { source: this.source }));
    const previous = this.current;
    if (previous !== undefined && router.epoch < previous.epoch) {
      throw new StaleShardMapError(this.source, previous.epoch, router.epoch);
    }
    const json = JSON.stringify(router.map);
    this.parameterVersion = fetched.version;
    this.loadedAt = now;
    if (previous !== undefined && json === this.currentJson) return; // republished, unchanged
    this.current = router;
    this.currentJson = json;
    this.changedAt = now;
    if (this.onChange !== undefined) {
      try {
        this.onChange(router, previous);
      } catch (err) {
        const e = toError(err);
        this.report(new Error(`shard map onChange listener threw (the new map is in use anyway): ${e.message}`, { cause: err }));
      }
    }
  }
}
