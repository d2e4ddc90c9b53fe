/**
 * A session store that keeps the session in the cookie, sealed (encrypted and authenticated) with AES-256-GCM,
 * so any server in any region that holds the same secret can read it: the `region` stacks publish one secret,
 * replicated to every region, under `sessions/secret-arn` (SESSION_KEYS.secretArn).
 *
 * ```ts
 * const sessions = new SealedSessionStore<{ userId: string }>({
 *   secrets: secretsManagerSecretVersions({ secretId: params['secret-arn'] }),   // AWSCURRENT + AWSPREVIOUS
 * });
 * ```
 *
 * Token: `v1.<key id>.<base64url(iv ‖ ciphertext ‖ tag)>`, or `v2.<key id>.<base64url(salt ‖ iv ‖ ciphertext ‖ tag)>`.
 * The key is derived from the secret with HKDF-SHA256 (any secret string of 32+ characters works, JSON or not); the
 * key id is derived too (it reveals nothing about the key) and is bound to the ciphertext as associated data. A v1
 * token is sealed with that key and a random 96-bit IV: AES-GCM allows about 2^32 such seals per key (NIST SP
 * 800-38D), which a million users active all day, re-issued every 5 minutes, come near within one rotation period, and
 * one repeated IV lets an attacker forge tokens. A v2 token is sealed with a key of its own, derived from the key and a
 * random 128-bit salt it carries, so no key seals more than one token. Both are always accepted; new tokens are v1
 * unless `tokenVersion` is 2 (turn it on once every server runs a release that reads v2: an older one signs a v2
 * token out). The plaintext is JSON: creation, issue and expiry times (seconds) and the data.
 *
 * Rotation: tokens sealed with the current or a previous secret are accepted; new and renewed tokens always use
 * the current one, so after one idle timeout no token needs the previous secret. The secrets are re-read every
 * `keyRefreshIntervalMs`, and at once (at most every `minKeyRefreshIntervalMs`) when a token names a key id this
 * server does not know yet, so servers that have not refreshed accept tokens from servers that have.
 *
 * Trade-offs (see docs/runtime-async.md): the token travels with every request (keep data small: ids, not
 * profiles; `maxTokenBytes`); logout cannot revoke a copied token (use `validate` with a per-user "sessions
 * valid after" time if you need that); the expiry is checked against each server's clock; the data is
 * confidential but never put secrets in it that must not outlive a logout.
 *
 * @module
 */

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { SessionStoreUnavailableError, SessionTooLargeError, sessionTimeouts, type LoadedSession, type SessionStore } from './session';

/** The secret values that seal tokens: the current one, and previous ones still accepted. */
export interface SessionSecrets {
  /** Seals new tokens. At least 32 characters (a generated Secrets Manager secret has them). */
  readonly current: string;
  /** Still accepted for reading (after a rotation: `AWSPREVIOUS`). */
  readonly previous?: string | readonly string[];
}

/** Defaults of {@link SealedSessionStoreOptions}. */
export const SEALED_SESSION_DEFAULTS = {
  maxTokenBytes: 3_800,
  clockSkewSeconds: 60,
  keyRefreshIntervalMs: 300_000,
  minKeyRefreshIntervalMs: 10_000,
  renewAfterSeconds: 300,
} as const;

/** Options of {@link SealedSessionStore}. */
export interface SealedSessionStoreOptions<T> {
  /**
   * The secrets, or a function returning them (re-read every `keyRefreshIntervalMs`), e.g.
   * `secretsManagerSecretVersions({ secretId })`.
   */
  readonly secrets: SessionSecrets | (() => SessionSecrets | Promise<SessionSecrets>);
  /**
   * A session unused for this long expires (sliding: tokens are re-issued, see `renewAfterSeconds`).
   * @default 86400 (24 hours)
   */
  readonly idleTimeoutSeconds?: number;
  /**
   * A session expires this long after its creation, however active.
   * @default 604800 (7 days)
   */
  readonly absoluteTimeoutSeconds?: number;
  /**
   * A loaded token older than this is re-issued (`renewed: true`) with a fresh idle expiry; also any token sealed
   * with a previous secret. Smaller: a more exact idle timeout, more `Set-Cookie` headers.
   * @default - 300, or half the idle timeout if that is shorter
   */
  readonly renewAfterSeconds?: number;
  /**
   * Largest token accepted from `create`/`save` (browsers keep about 4096 bytes per cookie, name and attributes
   * included).
   * @default 3800
   */
  readonly maxTokenBytes?: number;
  /** A token issued up to this far in the future (another server's clock is ahead) is accepted. @default 60 */
  readonly clockSkewSeconds?: number;
  /** How often the secrets are re-read. @default 300000 (5 minutes) */
  readonly keyRefreshIntervalMs?: number;
  /** Least time between two re-reads triggered by unknown key ids. @default 10000 */
  readonly minKeyRefreshIntervalMs?: number;
  /**
   * Extra check of every loaded session, e.g. against a per-user "sessions valid after" time kept in the database,
   * to revoke sealed sessions. Return false to reject the session.
   * @default - every authentic, unexpired token is accepted
   */
  readonly validate?: (session: { readonly data: T; readonly createdAt: Date }) => boolean | Promise<boolean>;
  /**
   * The format of new and renewed tokens: 2 seals each with a key of its own (see the module), 1 with the secret's
   * key and a random IV. Both are read whatever this is. Set 2 once every server of every region runs a release that
   * reads v2 tokens (this one): a server that cannot read one signs its user out.
   * @default 1
   */
  readonly tokenVersion?: 1 | 2;
  /** Current time in ms (tests). @default Date.now */
  readonly now?: () => number;
}

/** A derived sealing key. */
export interface SessionKey {
  /** Key id: 8 base64url characters derived from the secret (not from the key). */
  readonly id: string;
  /** The AES-256 key. */
  readonly key: Buffer;
}

/** The sealed plaintext: times in epoch seconds. */
export interface SealedSession {
  /** Created. */
  readonly c: number;
  /** Issued (this token). */
  readonly i: number;
  /** Idle expiry. */
  readonly e: number;
  /** Data. */
  readonly d: unknown;
}

/** Why {@link openSessionToken} rejected a token. */
export type SessionTokenRejection = 'malformed' | 'unknown-key' | 'tampered';

const VERSION = 'v1';
const VERSION_2 = 'v2';
const SALT = Buffer.from('scale-to-millions/session-seal/v1');
/** A v2 token's own salt, from which its key is derived. */
const TOKEN_SALT_BYTES = 16;
const MIN_SECRET_LENGTH = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Least time between two reads of the secrets while none has succeeded yet (capped by `minKeyRefreshIntervalMs`). */
const FIRST_READ_RETRY_MS = 1_000;

/**
 * Derives the sealing key and its id from a secret value (HKDF-SHA256; same secret, same key, in every region).
 *
 * @param secret - the secret value (at least 32 characters)
 * @returns the key
 * @throws RangeError for a shorter secret
 */
export function deriveSessionKey(secret: string): SessionKey {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`SealedSessionStore: a session secret must be a string of at least ${MIN_SECRET_LENGTH} characters (got: ${typeof secret === 'string' ? `${secret.length} characters` : typeof secret})`);
  }
  const ikm = Buffer.from(secret, 'utf8');
  const key = Buffer.from(hkdfSync('sha256', ikm, SALT, 'aes-256-gcm key', 32));
  const id = Buffer.from(hkdfSync('sha256', ikm, SALT, 'key id', 6)).toString('base64url');
  return { id, key };
}

/** The key of one v2 token: HKDF-SHA256 of the secret's key and the token's salt. */
function tokenKey(key: SessionKey, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key.key, salt, 'scale-to-millions/session-seal/v2 token key', 32));
}

/**
 * Seals a session into a token.
 *
 * @param key - from {@link deriveSessionKey}
 * @param session - the plaintext
 * @param version - the token format (see the module): 2 seals with a key of the token's own
 * @returns `v1.<key id>.<base64url(iv ‖ ciphertext ‖ tag)>`, or `v2.<key id>.<base64url(salt ‖ iv ‖ ciphertext ‖ tag)>`
 */
export function sealSessionToken(key: SessionKey, session: SealedSession, version: 1 | 2 = 1): string {
  const salt = version === 2 ? randomBytes(TOKEN_SALT_BYTES) : Buffer.alloc(0);
  const prefix = version === 2 ? VERSION_2 : VERSION;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', version === 2 ? tokenKey(key, salt) : key.key, iv);
  cipher.setAAD(Buffer.from(`${prefix}.${key.id}`));
  const body = Buffer.concat([salt, iv, cipher.update(JSON.stringify(session), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${prefix}.${key.id}.${body.toString('base64url')}`;
}

/**
 * Opens a token sealed with any of `keys` (authenticity is checked; times are not).
 *
 * @param keys - key id → key
 * @param token - the cookie value
 * @returns the plaintext and the key that opened it, or why it was rejected
 */
export function openSessionToken(keys: ReadonlyMap<string, SessionKey>, token: string): { session: SealedSession; keyId: string } | { rejected: SessionTokenRejection; keyId?: string } {
  const parts = token.split('.');
  if (parts.length !== 3 || (parts[0] !== VERSION && parts[0] !== VERSION_2) || !/^[A-Za-z0-9_-]{8}$/.test(parts[1]!) || !/^[A-Za-z0-9_-]+$/.test(parts[2]!)) return { rejected: 'malformed' };
  const prefix = parts[0];
  const keyId = parts[1]!;
  const key = keys.get(keyId);
  if (!key) return { rejected: 'unknown-key', keyId };
  const body = Buffer.from(parts[2]!, 'base64url');
  const saltBytes = prefix === VERSION_2 ? TOKEN_SALT_BYTES : 0;
  if (body.length < saltBytes + IV_BYTES + TAG_BYTES + 2) return { rejected: 'malformed', keyId };
  let plaintext: string;
  try {
    const sealingKey = prefix === VERSION_2 ? tokenKey(key, body.subarray(0, saltBytes)) : key.key;
    const decipher = createDecipheriv('aes-256-gcm', sealingKey, body.subarray(saltBytes, saltBytes + IV_BYTES));
    decipher.setAAD(Buffer.from(`${prefix}.${keyId}`));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    plaintext = Buffer.concat([decipher.update(body.subarray(saltBytes + IV_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return { rejected: 'tampered', keyId };
  }
  let session: Partial<SealedSession>;
  try {
    session = JSON.parse(plaintext) as Partial<SealedSession>;
  } catch {
    return { rejected: 'malformed', keyId };
  }
  if (typeof session !== 'object' || session === null || typeof session.c !== 'number' || typeof session.i !== 'number' || typeof session.e !== 'number' || !('d' in session)) {
    return { rejected: 'malformed', keyId };
  }
  return { session: session as SealedSession, keyId };
}

interface Keyring {
  readonly current: SessionKey;
  readonly all: ReadonlyMap<string, SessionKey>;
}

/** Counters of a {@link SealedSessionStore}. */
export interface SealedSessionStats {
  /** Tokens rejected, by reason (`expired` and `invalidated` included). */
  readonly rejected: Readonly<Record<SessionTokenRejection | 'expired' | 'not-yet-valid' | 'invalidated', number>>;
  /** Tokens accepted that were sealed with a previous secret. */
  readonly previousKeyAccepted: number;
  /** Tokens re-issued on load. */
  readonly renewed: number;
  /** Re-reads of the secrets. */
  readonly keyRefreshes: number;
}

/** Sessions sealed into the cookie. See the module documentation. */
export class SealedSessionStore<T = Record<string, unknown>> implements SessionStore<T> {
  public readonly kind = 'sealed' as const;
  public readonly maxAgeSeconds: number;
  private readonly options: SealedSessionStoreOptions<T>;
  private readonly idle: number;
  private readonly absolute: number;
  private readonly renewAfter: number;
  private readonly maxTokenBytes: number;
  private readonly tokenVersion: 1 | 2;
  private readonly skew: number;
  private readonly refreshMs: number;
  private readonly minRefreshMs: number;
  private readonly now: () => number;
  private keyring: Keyring | undefined;
  private loadedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<Keyring> | undefined;
  /** Why the first read of the secrets failed, until one succeeds. */
  private firstReadError: Error | undefined;
  private readonly derived = new Map<string, SessionKey>();
  private readonly counters = {
    rejected: { 'malformed': 0, 'unknown-key': 0, 'tampered': 0, 'expired': 0, 'not-yet-valid': 0, 'invalidated': 0 },
    previousKeyAccepted: 0, renewed: 0, keyRefreshes: 0,
  };

  /**
   * @param options - see {@link SealedSessionStoreOptions}
   * @throws RangeError for invalid options, or static secrets shorter than 32 characters
   */
  public constructor(options: SealedSessionStoreOptions<T>) {
    const name = 'SealedSessionStore';
    const { idle, absolute } = sessionTimeouts(name, options.idleTimeoutSeconds, options.absoluteTimeoutSeconds);
    const whole = (prop: string, value: number | undefined, fallback: number, min: number): number => {
      const v = value ?? fallback;
      if (!Number.isInteger(v) || v < min) throw new RangeError(`${name}: ${prop} must be a whole number >= ${min} (got: ${JSON.stringify(value)})`);
      return v;
    };
    this.options = options;
    this.idle = idle;
    this.absolute = absolute;
    this.renewAfter = whole('renewAfterSeconds', options.renewAfterSeconds, Math.min(SEALED_SESSION_DEFAULTS.renewAfterSeconds, Math.floor(idle / 2)), 0);
    if (this.renewAfter > idle) throw new RangeError(`${name}: renewAfterSeconds must not exceed idleTimeoutSeconds (${idle}) (got: ${this.renewAfter})`);
    this.maxTokenBytes = whole('maxTokenBytes', options.maxTokenBytes, SEALED_SESSION_DEFAULTS.maxTokenBytes, 100);
    this.skew = whole('clockSkewSeconds', options.clockSkewSeconds, SEALED_SESSION_DEFAULTS.clockSkewSeconds, 0);
    this.refreshMs = whole('keyRefreshIntervalMs', options.keyRefreshIntervalMs, SEALED_SESSION_DEFAULTS.keyRefreshIntervalMs, 1);
    this.minRefreshMs = whole('minKeyRefreshIntervalMs', options.minKeyRefreshIntervalMs, SEALED_SESSION_DEFAULTS.minKeyRefreshIntervalMs, 0);
    if (options.tokenVersion !== undefined && options.tokenVersion !== 1 && options.tokenVersion !== 2) throw new RangeError(`${name}: tokenVersion must be 1 or 2 (got: ${JSON.stringify(options.tokenVersion)})`);
    this.tokenVersion = options.tokenVersion ?? 1;
    this.now = options.now ?? Date.now;
    this.maxAgeSeconds = absolute;
    if (typeof options.secrets !== 'function') {
      // Static secrets: derived once, never re-read.
      this.keyring = this.buildKeyring(options.secrets);
      this.loadedAt = Number.POSITIVE_INFINITY;
    }
  }

  public async create(data: T): Promise<string> {
    const now = Math.floor(this.now() / 1000);
    return this.seal({ c: now, i: now, e: now + this.idle, d: data });
  }

  public async load(token: string | undefined): Promise<LoadedSession<T> | undefined> {
    if (token === undefined || token === '') return undefined;
    const opened = await this.open(token);
    if (!opened) return undefined;
    const { session, previousKey } = opened;
    const now = Math.floor(this.now() / 1000);
    if (session.i > now + this.skew) return this.reject('not-yet-valid');
    const absoluteEnd = session.c + this.absolute;
    if (now >= session.e || now >= absoluteEnd) return this.reject('expired');
    const createdAt = new Date(session.c * 1000);
    if (this.options.validate && !(await this.options.validate({ data: session.d as T, createdAt }))) return this.reject('invalidated');
    if (previousKey) this.counters.previousKeyAccepted++;
    if (!previousKey && now - session.i < this.renewAfter) {
      return { data: session.d as T, token, renewed: false, createdAt, expiresAt: new Date(session.e * 1000) };
    }
    const expires = Math.min(now + this.idle, absoluteEnd);
    const renewed = await this.seal({ c: session.c, i: now, e: expires, d: session.d });
    this.counters.renewed++;
    return { data: session.d as T, token: renewed, renewed: true, createdAt, expiresAt: new Date(expires * 1000) };
  }

  public async save(token: string, data: T): Promise<string | undefined> {
    const current = await this.load(token);
    if (!current) return undefined;
    const now = Math.floor(this.now() / 1000);
    const created = Math.floor(current.createdAt.getTime() / 1000);
    return this.seal({ c: created, i: now, e: Math.min(now + this.idle, created + this.absolute), d: data });
  }

  public async regenerate(_token: string | undefined, data: T): Promise<string> {
    return this.create(data);
  }

  /** A sealed token cannot be revoked here: clear the cookie (and see `validate`). */
  public async destroy(_token: string | undefined): Promise<void> {
    // Nothing is stored server-side.
  }

  /** Counters since creation. */
  public stats(): SealedSessionStats {
    return { ...this.counters, rejected: { ...this.counters.rejected } };
  }

  private reject(reason: keyof SealedSessionStats['rejected']): undefined {
    this.counters.rejected[reason]++;
    return undefined;
  }

  private async seal(session: SealedSession): Promise<string> {
    const ring = await this.keys();
    const token = sealSessionToken(ring.current, session, this.tokenVersion);
    if (token.length > this.maxTokenBytes) {
      throw new SessionTooLargeError(`SealedSessionStore: the sealed session is ${token.length} bytes, above maxTokenBytes (${this.maxTokenBytes}): keep ids in the session, not records (JSON data: ${JSON.stringify(session.d).length} bytes)`);
    }
    return token;
  }

  private async open(token: string): Promise<{ session: SealedSession; previousKey: boolean } | undefined> {
    let ring = await this.keys();
    let opened = openSessionToken(ring.all, token);
    if ('rejected' in opened && opened.rejected === 'unknown-key' && typeof this.options.secrets === 'function' && this.now() - this.loadedAt >= this.minRefreshMs) {
      // Another server may already use a rotated secret this one has not read yet.
      ring = await this.refresh();
      opened = openSessionToken(ring.all, token);
    }
    if ('rejected' in opened) return this.reject(opened.rejected);
    return { session: opened.session, previousKey: opened.keyId !== ring.current.id };
  }

  /**
   * The keyring; re-read in the background when older than the refresh interval (awaited the first time). Until a
   * first read succeeds, the secrets are read at most once per {@link FIRST_READ_RETRY_MS} (every caller in between
   * gets the last failure): without a keyring every request would otherwise read the secret store again, and a fleet
   * would hammer a throttled or unreachable one. The failure is a {@link SessionStoreUnavailableError} (answer 503).
   */
  private async keys(): Promise<Keyring> {
    if (this.keyring === undefined) {
      if (this.firstReadError !== undefined && this.now() - this.loadedAt < Math.min(this.minRefreshMs, FIRST_READ_RETRY_MS)) throw this.firstReadError;
      try {
        const ring = await this.refresh();
        this.firstReadError = undefined;
        return ring;
      } catch (e) {
        // A RangeError (malformed secrets) is the deployment's bug, not an outage: it is passed on as it is.
        this.firstReadError = e instanceof RangeError ? e : new SessionStoreUnavailableError(`SealedSessionStore: the session secrets could not be read: ${(e as Error).message}`, e);
        throw this.firstReadError;
      }
    }
    if (this.now() - this.loadedAt >= this.refreshMs) {
      this.refresh().catch(() => { /* keep the keys in use; the next interval retries */ });
    }
    return this.keyring;
  }

  private refresh(): Promise<Keyring> {
    this.refreshing ??= (async () => {
      try {
        const provider = this.options.secrets as () => SessionSecrets | Promise<SessionSecrets>;
        const secrets = await provider();
        this.counters.keyRefreshes++;
        this.keyring = this.buildKeyring(secrets);
        return this.keyring;
      } finally {
        // Failures count as attempts too: a broken secret store is not hammered by every request.
        this.loadedAt = this.now();
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private buildKeyring(secrets: SessionSecrets): Keyring {
    if (secrets === null || typeof secrets !== 'object' || typeof secrets.current !== 'string') {
      throw new RangeError(`SealedSessionStore: secrets must be { current, previous? } (got: ${secrets === null ? 'null' : typeof secrets})`);
    }
    const previous = secrets.previous === undefined ? [] : typeof secrets.previous === 'string' ? [secrets.previous] : [...secrets.previous];
    const derive = (secret: string): SessionKey => {
      let key = this.derived.get(secret);
      if (!key) {
        key = deriveSessionKey(secret);
        this.derived.set(secret, key);
      }
      return key;
    };
    const current = derive(secrets.current);
    const all = new Map<string, SessionKey>([[current.id, current]]);
    for (const p of previous) {
      const key = derive(p);
      if (!all.has(key.id)) all.set(key.id, key);
    }
    // Forget keys of secrets no longer listed.
    for (const [secret, key] of this.derived) if (!all.has(key.id)) this.derived.delete(secret);
    return { current, all };
  }
}
