/**
 * Sessions for stateless web servers: any server clone (in any region, with the sealed store) can serve any
 * request, because no session lives in a server's memory.
 *
 * Two {@link SessionStore}s, one interface:
 *
 * | | {@link CacheSessionStore} | {@link SealedSessionStore} |
 * | --- | --- | --- |
 * | cookie holds | a random id (43 characters) | the session itself, encrypted (AES-256-GCM) |
 * | data lives in | Valkey/Redis (this region's cache) | the cookie |
 * | across regions | no: each region has its own cache | yes: every region holds the same secret |
 * | logout / revocation | immediate (`destroy` deletes it) | the cookie is cleared; a copied token stays valid until it expires (see `validate`) |
 * | size | any (keep it small) | the token must fit a cookie (~3.8 kB, so ~2.7 kB of JSON) |
 * | cache outage | sessions unavailable (`SessionStoreUnavailableError`) | unaffected |
 *
 * Both keep an idle timeout (sliding: every load extends it) and an absolute lifetime (from creation, never
 * extended). Session data is JSON.
 *
 * ```ts
 * const token = readCookie(req.headers.cookie, SESSION_COOKIE_DEFAULTS.name);
 * const session = await sessions.load(token);
 * if (session?.renewed) res.setHeader('Set-Cookie', sessionCookie(sessions, session.token));
 * // after login (a new id, so a token planted before login is worthless):
 * res.setHeader('Set-Cookie', sessionCookie(sessions, await sessions.regenerate(token, { userId })));
 * ```
 *
 * @module
 */

/** Defaults shared by both stores. */
export const SESSION_DEFAULTS = {
  /** Idle timeout: a session not used for this long expires. */
  idleTimeoutSeconds: 24 * 3600,
  /** Absolute lifetime from creation. */
  absoluteTimeoutSeconds: 7 * 24 * 3600,
} as const;

/** A loaded session. */
export interface LoadedSession<T> {
  /** The session data. */
  readonly data: T;
  /** The cookie value for this session (the same as the one loaded unless `renewed`). */
  readonly token: string;
  /** Whether `token` changed and must be sent back (`Set-Cookie`): a sealed token re-issued with a later expiry. */
  readonly renewed: boolean;
  /** When the session was created (the absolute lifetime counts from here). */
  readonly createdAt: Date;
  /** When the session expires if it is not used again. */
  readonly expiresAt: Date;
}

/** Where sessions live. Tokens are what the cookie carries; treat them as opaque. */
export interface SessionStore<T = Record<string, unknown>> {
  /** `cache` or `sealed`. */
  readonly kind: 'cache' | 'sealed';
  /** The cookie's `Max-Age`: the absolute lifetime (the store enforces the idle timeout itself). */
  readonly maxAgeSeconds: number;
  /**
   * Creates a session.
   * @returns the token to set as the cookie
   */
  create(data: T): Promise<string>;
  /**
   * Loads the session named by a cookie value, extending its idle timeout.
   * @returns the session; `undefined` when there is no token, or it is unknown, expired, tampered with or malformed
   */
  load(token: string | undefined): Promise<LoadedSession<T> | undefined>;
  /**
   * Replaces the data of an existing session (its creation time stays).
   * @returns the token to set (a sealed store issues a new one; the cache store's stays); `undefined` when the
   *   session no longer exists (expired meanwhile): treat the user as logged out
   */
  save(token: string, data: T): Promise<string | undefined>;
  /**
   * Ends the session named by `token` (if any) and creates a new one with `data`: call it when the user logs in
   * or gains privileges, so that a token known before (session fixation) is worthless.
   * @returns the new token
   */
  regenerate(token: string | undefined, data: T): Promise<string>;
  /** Ends a session. The caller clears the cookie too ({@link clearSessionCookie}). */
  destroy(token: string | undefined): Promise<void>;
}

/** The session store's backend failed (the cache is unreachable or timed out). Answer 503, not "logged out". */
export class SessionStoreUnavailableError extends Error {
  /**
   * @param message - what failed
   * @param cause - the underlying error
   */
  public constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SessionStoreUnavailableError';
  }
}

/** Session data too large for the store (a sealed token that would not fit a cookie). */
export class SessionTooLargeError extends Error {
  /** @param message - sizes involved */
  public constructor(message: string) {
    super(message);
    this.name = 'SessionTooLargeError';
  }
}

/** Checks the idle and absolute timeouts of a store's options; returns them. */
export function sessionTimeouts(store: string, idle: number | undefined, absolute: number | undefined): { idle: number; absolute: number } {
  const i = idle ?? SESSION_DEFAULTS.idleTimeoutSeconds;
  const a = absolute ?? SESSION_DEFAULTS.absoluteTimeoutSeconds;
  if (!Number.isInteger(i) || i < 1) throw new RangeError(`${store}: idleTimeoutSeconds must be a whole number of seconds >= 1 (got: ${JSON.stringify(idle)})`);
  if (!Number.isInteger(a) || a < i) throw new RangeError(`${store}: absoluteTimeoutSeconds must be a whole number of seconds >= idleTimeoutSeconds (${i}) (got: ${JSON.stringify(absolute)})`);
  return { idle: i, absolute: a };
}
