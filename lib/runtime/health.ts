/**
 * Health endpoints: the shallow path (the load balancer's: the process is up, nothing else) and the deep path
 * (Route 53's: the dependencies answer within a time budget).
 *
 * ```ts
 * const health = new HealthCheck({ checks: db.healthChecks() });
 * health.add('cache', { critical: true, run: async () => `${(await cache.ping()).toFixed(1)} ms` });   // createRuntime adds this one itself
 * const handle = health.handler();                                     // HEALTH_PATHS.shallow and .deep
 * http.createServer((req, res) => { if (!handle(req, res)) app(req, res); }).listen(port);
 * ```
 *
 * The deep check answers 200 when every critical check passed (non-critical failures make it `degraded`, still
 * 200), 503 otherwise. Checks run in parallel; one that has not answered within `budgetMs` fails as a timeout.
 * Concurrent deep requests share one run, and a result is reused for `cacheMs`, so health checkers never add
 * more than one set of probes per interval.
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { HEALTH_PATHS } from './contract';

/** One dependency check. */
export interface HealthCheckDefinition {
  /** A failure makes the instance unhealthy (503); otherwise only `degraded`. */
  readonly critical: boolean;
  /** Resolves (optionally with a detail, e.g. the host) when healthy; rejects otherwise. */
  readonly run: () => Promise<string | void>;
}

/** One check's outcome. */
export interface CheckResult {
  /** `ok` or `fail`. */
  readonly status: 'ok' | 'fail';
  /** Whether it is critical. */
  readonly critical: boolean;
  /** How long it took, ms (the budget when it timed out). */
  readonly latencyMs: number;
  /** What it returned. */
  readonly detail?: string;
  /** Why it failed. */
  readonly error?: string;
}

/** The deep check's result. */
export interface HealthStatus {
  /** `ok` (all passed), `degraded` (a non-critical check failed) or `fail` (a critical one failed). */
  readonly status: 'ok' | 'degraded' | 'fail';
  /** Each check by name. */
  readonly checks: Readonly<Record<string, CheckResult>>;
  /** Wall time of the run, ms. */
  readonly durationMs: number;
  /** When it ran (ISO 8601). */
  readonly checkedAt: string;
}

/** Options of {@link HealthCheck}. */
export interface HealthCheckOptions {
  /** The checks by name. @default - none (add them with `add`) */
  readonly checks?: Readonly<Record<string, HealthCheckDefinition>>;
  /** Time budget of a deep run, ms. Route 53 waits 4 s for a response (2 s for the first byte in practice): stay below. @default 2000 */
  readonly budgetMs?: number;
  /** A result is reused this long, ms. @default 1000 */
  readonly cacheMs?: number;
  /** Shallow path. @default {@link HEALTH_PATHS.shallow} */
  readonly shallowPath?: string;
  /** Deep path. @default {@link HEALTH_PATHS.deep} */
  readonly deepPath?: string;
  /**
   * Whom the deep check's details (each check's `detail`, a host and port; its `error`, a driver's message) are
   * shown: `direct`, a request made to the process itself, not through a load balancer or proxy (no
   * `X-Forwarded-For`: an operator's curl on the instance); `always`; `never`. The others get the status and each
   * check's status, latency and criticality: what Route 53 and the load balancer use. The deep path is reachable
   * from the internet through the load balancer's health-check rule (no origin header needed), where host names and
   * driver errors do not belong.
   * @default 'direct'
   */
  readonly details?: 'direct' | 'always' | 'never';
}

/** The deep health check: named checks run within a budget. */
export class HealthCheck {
  private readonly checks = new Map<string, HealthCheckDefinition>();
  private readonly budgetMs: number;
  private readonly cacheMs: number;
  private readonly shallowPath: string;
  private readonly deepPath: string;
  private readonly details: 'direct' | 'always' | 'never';
  private inflight: Promise<HealthStatus> | undefined;
  private last: { at: number; status: HealthStatus } | undefined;

  /** @param options - see {@link HealthCheckOptions} */
  public constructor(options: HealthCheckOptions = {}) {
    this.budgetMs = options.budgetMs ?? 2000;
    if (!(this.budgetMs > 0)) throw new RangeError(`HealthCheck: budgetMs must be a positive number of milliseconds (got: ${this.budgetMs})`);
    this.cacheMs = options.cacheMs ?? 1000;
    this.shallowPath = options.shallowPath ?? HEALTH_PATHS.shallow;
    this.deepPath = options.deepPath ?? HEALTH_PATHS.deep;
    this.details = options.details ?? 'direct';
    if (!['direct', 'always', 'never'].includes(this.details)) throw new RangeError(`HealthCheck: details must be direct, always or never (got: ${JSON.stringify(options.details)})`);
    for (const [name, def] of Object.entries(options.checks ?? {})) this.add(name, def);
  }

  /**
   * Adds a check (the cache, a downstream API...).
   * @throws Error for a name already used
   */
  public add(name: string, check: HealthCheckDefinition): this {
    if (this.checks.has(name)) throw new Error(`HealthCheck: a check named "${name}" exists already`);
    this.checks.set(name, check);
    return this;
  }

  /**
   * Removes a check (e.g. a shard's, after it left the shard map).
   * @returns whether a check of that name existed
   */
  public remove(name: string): boolean {
    this.last = undefined;
    return this.checks.delete(name);
  }

  /** The names of the checks. */
  public get names(): string[] {
    return [...this.checks.keys()];
  }

  /** Runs every check (or returns the cached or in-flight run). */
  public run(): Promise<HealthStatus> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return Promise.resolve(this.last.status);
    this.inflight ??= this.runAll().then((status) => {
      this.last = { at: Date.now(), status };
      return status;
    }).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /**
   * A request handler for the two health paths. Returns `false` (and leaves the response alone) for any other
   * path, so it chains in front of the application.
   */
  public handler(): (req: IncomingMessage, res: ServerResponse) => boolean {
    return (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === this.shallowPath) {
        send(res, 200, { status: 'ok' });
        return true;
      }
      if (path !== this.deepPath) return false;
      const details = this.details === 'always' || (this.details === 'direct' && req.headers['x-forwarded-for'] === undefined);
      this.run().then(
        (status) => send(res, status.status === 'fail' ? 503 : 200, details ? status : withoutDetails(status)),
        (e: unknown) => send(res, 503, details ? { status: 'fail', error: e instanceof Error ? e.message : String(e) } : { status: 'fail' }),
      );
      return true;
    };
  }

  private async runAll(): Promise<HealthStatus> {
    const started = Date.now();
    const entries = [...this.checks];
    const results = await Promise.all(entries.map(([, check]) => this.runOne(check)));
    const checks = Object.fromEntries(entries.map(([name], i) => [name, results[i]!]));
    const failed = results.filter((r) => r.status === 'fail');
    const status = failed.some((r) => r.critical) ? 'fail' : failed.length > 0 ? 'degraded' : 'ok';
    return { status, checks, durationMs: Date.now() - started, checkedAt: new Date(started).toISOString() };
  }

  private async runOne(check: HealthCheckDefinition): Promise<CheckResult> {
    const t0 = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.budgetMs} ms`)), this.budgetMs);
      timer.unref();
    });
    try {
      const detail = await Promise.race([Promise.resolve().then(() => check.run()), timeout]);
      return { status: 'ok', critical: check.critical, latencyMs: Date.now() - t0, ...(typeof detail === 'string' ? { detail } : {}) };
    } catch (e) {
      return { status: 'fail', critical: check.critical, latencyMs: Date.now() - t0, error: e instanceof Error ? e.message : String(e) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A status without what only the service's operators should read: each check's detail and error. */
function withoutDetails(status: HealthStatus): HealthStatus {
  const checks = Object.fromEntries(Object.entries(status.checks).map(([name, c]) => [name, { status: c.status, critical: c.critical, latencyMs: c.latencyMs }]));
  return { ...status, checks };
}
