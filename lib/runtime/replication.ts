/**
 * The pure parts of read routing: replication positions, the per-request session that remembers its writes, and
 * the circuit breaker that skips a failing reader. No I/O here; `database.ts` wires them to `pg`.
 *
 * @module
 */

import { hash64 } from './hash';

/**
 * How a write's position is taken and compared with a reader's:
 *
 * - `postgres`: the write's `pg_current_wal_insert_lsn()` read on the writer connection after COMMIT, against the
 *   reader server's `pg_last_wal_replay_lsn()`. Exact for streaming replicas (one server per reader host).
 * - `aurora`: the writer's volume durable LSN (`aurora_replica_status()`, the `MASTER_SESSION_ID` row) after
 *   COMMIT, against the lowest `current_read_lsn` over every reader of the cluster (the same function, queried
 *   through the reader pool). Every reader has applied the write once that minimum passes it, so any connection
 *   of the reader endpoint (or the proxy's read-only endpoint) is safe.
 * - `none`: positions are not taken; read-your-writes reads of a session that wrote go to the writer until the
 *   session's window ends.
 */
export type ReplicationMode = 'postgres' | 'aurora' | 'none';

/** SQL of each mode: the write position (one row, column `lsn`, text) and the readers' replayed position. */
export const POSITION_SQL: Readonly<Record<Exclude<ReplicationMode, 'none'>, { readonly write: string; readonly reader: string }>> = {
  postgres: {
    // The insert position is at or after the end of our commit record even with synchronous_commit = off.
    write: 'SELECT pg_current_wal_insert_lsn()::text AS lsn',
    reader: 'SELECT pg_last_wal_replay_lsn()::text AS lsn',
  },
  aurora: {
    write: "SELECT durable_lsn::text AS lsn FROM aurora_replica_status() WHERE session_id = 'MASTER_SESSION_ID'",
    // NULL (unknown) unless every reader reports a position: one reader without one must not be skipped over.
    reader: "SELECT CASE WHEN count(*) > 0 AND count(*) = count(current_read_lsn) THEN min(current_read_lsn)::text END AS lsn FROM aurora_replica_status() WHERE session_id <> 'MASTER_SESSION_ID'",
  },
};

/**
 * SQL that tells Aurora PostgreSQL from PostgreSQL (one row: `aurora`, boolean), and whether this user may call
 * `aurora_replica_status()` there (`allowed`: true where the function does not exist).
 */
export const DETECT_AURORA_SQL = "SELECT to_regproc('aurora_replica_status') IS NOT NULL AS aurora, "
  + "CASE WHEN to_regproc('aurora_replica_status') IS NULL THEN true ELSE has_function_privilege(to_regproc('aurora_replica_status')::oid, 'EXECUTE') END AS allowed";

/**
 * Parses a position: a PostgreSQL `pg_lsn` (`16/B374D848`) or an Aurora LSN (a decimal number).
 *
 * @param text - the value
 * @returns the position as an unsigned 64-bit integer
 * @throws RangeError for anything else
 */
export function parsePosition(text: string): bigint {
  const lsn = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (lsn) return (BigInt(`0x${lsn[1]}`) << 32n) | BigInt(`0x${lsn[2]}`);
  if (/^\d{1,20}$/.test(text)) return BigInt(text);
  throw new RangeError(`not a replication position (expected a pg_lsn like 0/16B3748 or a decimal LSN) (got: ${JSON.stringify(text)})`);
}

/** PostgreSQL's WAL page (`XLOG_BLCKSZ`) and segment (`wal_segment_size`) sizes, the defaults RDS and Aurora use. */
const WAL_PAGE = 8192n;
const WAL_SEGMENT = 16n * 1024n * 1024n;
/** The header at the start of every WAL page, and the longer one of a segment's first page. */
const WAL_PAGE_HEADER = 24n;
const WAL_SEGMENT_HEADER = 40n;

/**
 * The position a standby's `pg_last_wal_replay_lsn()` reaches once it has replayed everything before a writer's
 * `pg_current_wal_insert_lsn()` (mode `postgres`). They differ when the last record ended exactly on a WAL page
 * boundary: the insert position is then reported past the next page's header (24 bytes, 40 at the start of a
 * 16 MiB segment), while the standby's replay position stops at the end of the record, the boundary, and stays there
 * until more WAL is written, so the read would wait for the writer's next write. Such a position (its offset in its
 * page is the header size) is moved back to the boundary; no record can end there, since a page's first bytes are
 * its header. Other positions are unchanged.
 *
 * @param position - a write position from `pg_current_wal_insert_lsn()`
 * @returns the position a standby reports once it has replayed the write
 */
export function replayablePosition(position: bigint): bigint {
  if (position % WAL_PAGE === WAL_PAGE_HEADER) return position - WAL_PAGE_HEADER;
  if (position % WAL_SEGMENT === WAL_SEGMENT_HEADER) return position - WAL_SEGMENT_HEADER;
  return position;
}

/** What a session remembers of its last write to one cluster. */
export interface SessionWrite {
  /** The write's position, or `undefined` when the cluster gives none (write forwarding, mode `none`). */
  readonly position: bigint | undefined;
  /** When the write committed (ms since the epoch). */
  readonly at: number;
}

const TOKEN_VERSION = 'v1';

/** A short, stable key for a cluster (its write host): 12 hex digits of its xxHash64. */
export function clusterKey(host: string, port: number): string {
  return hash64(`${host}:${port}`).toString(16).padStart(16, '0').slice(0, 12);
}

/**
 * One user's consistency state: the position of their latest write per cluster. Create one per request
 * (`db.session(token)`), pass it to reads and writes, and store `token()` where the user's next request finds it
 * (the session store, a cookie): that next request, on any server, then reads its own writes too.
 *
 * It is a small map and costs nothing until the session writes. Entries older than the window (`ttlMs`) are
 * dropped: by then every healthy replica has long applied the write.
 */
export class DbSession {
  /**
   * Restores a session from {@link DbSession.token} output. A malformed or foreign token gives an empty
   * session (the worst case is one stale read, never an error on the request path).
   *
   * @param token - the stored token, or undefined/empty for a new session
   * @param ttlMs - window after a write during which it is tracked (default 10 min)
   * @param now - clock
   */
  public static fromToken(token: string | undefined | null, ttlMs = 600_000, now: () => number = Date.now): DbSession {
    const session = new DbSession(ttlMs, now);
    if (!token) return session;
    const [version, ...entries] = token.split('.');
    if (version !== TOKEN_VERSION) return session;
    for (const e of entries) {
      const m = /^([0-9a-f]{12})~([0-9a-f]{0,16})~([0-9a-z]{1,12})$/.exec(e);
      if (!m) continue;
      const at = parseInt(m[3]!, 36);
      session.writes.set(m[1]!, { position: m[2] === '' ? undefined : BigInt(`0x${m[2]}`), at });
    }
    return session;
  }

  private readonly writes = new Map<string, SessionWrite>();

  /**
   * @param ttlMs - window after a write during which it is tracked (default 10 min)
   * @param now - clock
   */
  public constructor(private readonly ttlMs = 600_000, private readonly now: () => number = Date.now) {}

  /**
   * Records a committed write to the cluster `key` (keeps the highest position).
   * @param key - {@link clusterKey} of the cluster
   * @param position - the write's position, if the cluster gives one
   */
  public recordWrite(key: string, position: bigint | undefined): void {
    const prev = this.writes.get(key);
    const keep = prev?.position !== undefined && position !== undefined && prev.position > position ? prev.position : position;
    this.writes.set(key, { position: keep, at: this.now() });
  }

  /** The session's pending write to `key`, if it is inside the window. */
  public pendingWrite(key: string): SessionWrite | undefined {
    const w = this.writes.get(key);
    if (w === undefined) return undefined;
    if (this.now() - w.at > this.ttlMs) {
      this.writes.delete(key);
      return undefined;
    }
    return w;
  }

  /** Whether the session wrote anything inside the window. */
  public get hasWrites(): boolean {
    for (const key of [...this.writes.keys()]) if (this.pendingWrite(key)) return true;
    return false;
  }

  /** A compact string (`v1.<key>~<position hex>~<time base36>…`), about 35 bytes per cluster written to. */
  public token(): string {
    const parts = [TOKEN_VERSION];
    for (const [key, w] of this.writes) {
      if (this.now() - w.at > this.ttlMs) continue;
      parts.push(`${key}~${w.position === undefined ? '' : w.position.toString(16)}~${w.at.toString(36)}`);
    }
    return parts.join('.');
  }
}

/** Settings of a {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. @default 2 */
  readonly failureThreshold?: number;
  /** How long an open circuit rejects before one trial request, ms. @default 5000 */
  readonly cooldownMs?: number;
  /** Clock. @default Date.now */
  readonly now?: () => number;
}

/**
 * A per-endpoint circuit breaker: `closed` (use it), `open` after `failureThreshold` consecutive failures (skip
 * it for `cooldownMs`), then `half-open`: exactly one trial request is let through; its success closes the
 * circuit, its failure opens it for another cooldown.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;

  /** @param options - see {@link CircuitBreakerOptions} */
  public constructor(options: CircuitBreakerOptions = {}) {
    this.threshold = options.failureThreshold ?? 2;
    this.cooldownMs = options.cooldownMs ?? 5000;
    this.now = options.now ?? Date.now;
    if (!Number.isInteger(this.threshold) || this.threshold < 1) throw new RangeError(`CircuitBreaker: failureThreshold must be an integer >= 1 (got: ${this.threshold})`);
    if (!(this.cooldownMs >= 0)) throw new RangeError(`CircuitBreaker: cooldownMs must be >= 0 (got: ${this.cooldownMs})`);
  }

  /** `closed`, `open` or `half-open`. */
  public get state(): 'closed' | 'open' | 'half-open' {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /**
   * Whether a request may use the endpoint now. In `half-open` the first caller gets `true` (the trial) and
   * marks it in flight; everyone else gets `false` until the trial reports.
   */
  public tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /** The request succeeded. */
  public onSuccess(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  /**
   * The request ended without saying anything about the endpoint (a statement that timed out: slow, or its server
   * gone). The counts stay; a trial in flight ends, so the next caller may try.
   */
  public onInconclusive(): void {
    this.trialInFlight = false;
  }

  /** The request failed for a reason that is the endpoint's (connection refused, reset, timeout). */
  public onFailure(): void {
    this.failures++;
    if (this.trialInFlight || this.failures >= this.threshold) this.openedAt = this.now();
    this.trialInFlight = false;
  }
}
