/**
 * How the database pools log in: an IAM authentication token per connection (the fleet's own database user), or
 * a user name and password from a Secrets Manager secret, re-read when the database refuses it (rotation).
 *
 * @module
 */

import type { TopologyLoader } from './topology';

/** What a pool asks for when it opens a connection. */
export interface DatabaseCredentials {
  /** `iam`, `password` or `static`. */
  readonly kind: 'iam' | 'password' | 'static';
  /** The user name for connections to `host`. */
  user(): Promise<string>;
  /** The password (or token) for a new connection to `host:port`. */
  password(host: string, port: number): Promise<string>;
  /**
   * What identifies the credentials cached now (a secret's version id), taken before a login so that
   * {@link onAuthenticationFailure} can tell whether newer ones arrived since.
   * @default - none: each failure decides on its own
   */
  stamp?(): string | undefined;
  /**
   * The database refused the credentials (SQLSTATE 28P01/28000): drop what is cached so the next connection
   * reads them again. Returns true when a retry may succeed (something was re-read).
   * @param stamp - what {@link stamp} returned before the refused login, if anything
   */
  onAuthenticationFailure(stamp?: string): Promise<boolean>;
}

/** Fixed credentials (local development, tests). */
export function staticCredentials(user: string, password: string): DatabaseCredentials {
  return {
    kind: 'static',
    user: async () => user,
    password: async () => password,
    onAuthenticationFailure: async () => false,
  };
}

/** Options of {@link secretCredentials}. */
export interface SecretCredentialsOptions {
  /** The secret (JSON with `username` and `password`). */
  readonly secretArn: string;
  /** The loader that reads (and refreshes) the secret. */
  readonly topology: Pick<TopologyLoader, 'secret' | 'refreshSecret'>;
  /** Shortest time between two re-reads after refused logins, ms. @default 5000 */
  readonly minRereadIntervalMs?: number;
  /** Clock. @default Date.now */
  readonly now?: () => number;
}

/**
 * Credentials from a Secrets Manager secret's JSON (`username`, `password`), as RDS writes them. The value is
 * the loader's cached one (refreshed with the topology); after a refused login it is re-read, which picks a rotated
 * password up without a restart. The logins refused together (every new connection after a rotation) share one
 * re-read: each waits for the one in flight, and may retry when the version cached then is not the one it logged in
 * with (its `stamp`), also when it arrives after the re-read. Only a refusal of the version just re-read (the
 * database and the secret disagree) is held to one re-read every `minRereadIntervalMs`.
 */
export function secretCredentials(options: SecretCredentialsOptions): DatabaseCredentials {
  const { secretArn, topology } = options;
  const now = options.now ?? Date.now;
  const minInterval = options.minRereadIntervalMs ?? 5000;
  let lastReread = -Infinity;
  let rereading: Promise<unknown> | undefined;
  const cachedVersion = (): string | undefined => topology.secret(secretArn)?.versionId;
  const field = async (name: 'username' | 'password'): Promise<string> => {
    const secret = topology.secret(secretArn) ?? (await topology.refreshSecret(secretArn));
    const v = secret.json?.[name];
    if (typeof v !== 'string' || v === '') throw new Error(`secret ${secretArn}: expected a JSON object with a string "${name}" (got: ${secret.json ? `keys ${Object.keys(secret.json).join(', ')}` : 'a value that is not a JSON object'})`);
    return v;
  };
  return {
    kind: 'password',
    user: () => field('username'),
    password: () => field('password'),
    stamp: cachedVersion,
    async onAuthenticationFailure(stamp) {
      if (rereading !== undefined) {
        // Refused together with the login that started the re-read: its outcome decides.
        await rereading.catch(() => undefined);
        return stamp === undefined || cachedVersion() !== stamp;
      }
      const before = cachedVersion();
      // A newer version arrived since this login started (another refusal's re-read, or the topology's refresh).
      if (stamp !== undefined && before !== undefined && before !== stamp) return true;
      if (now() - lastReread < minInterval) return false;
      lastReread = now();
      const read = topology.refreshSecret(secretArn);
      rereading = read;
      try {
        const after = await read;
        return after.versionId !== before || before === undefined;
      } finally {
        if (rereading === read) rereading = undefined;
      }
    },
  };
}

/** Options of {@link iamCredentials}. */
export interface IamCredentialsOptions {
  /** The database user (the fleet's own, `S2M_DATABASE_USER`). */
  readonly user: string;
  /** The region of the cluster. */
  readonly region: string;
  /**
   * Makes a token; injectable for tests.
   * @default - `@aws-sdk/rds-signer`'s `Signer.getAuthToken()` with the default credential chain
   */
  readonly sign?: (host: string, port: number, user: string, region: string) => Promise<string>;
  /** How long a token is reused, ms; tokens are valid for 15 minutes. @default 600000 (10 min) */
  readonly reuseMs?: number;
  /** Clock. @default Date.now */
  readonly now?: () => number;
}

async function signWithRdsSigner(host: string, port: number, user: string, region: string): Promise<string> {
  const { Signer } = await import('@aws-sdk/rds-signer');
  return new Signer({ hostname: host, port, username: user, region }).getAuthToken();
}

/**
 * IAM database authentication: each new connection's password is a token signed for its host, port and user,
 * cached per host until shortly before it expires. The connection must use TLS (the database refuses IAM logins
 * without it).
 */
export function iamCredentials(options: IamCredentialsOptions): DatabaseCredentials {
  if (!/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(options.user)) {
    throw new Error(`iamCredentials: user must be a database user name (got: ${JSON.stringify(options.user)})`);
  }
  const sign = options.sign ?? signWithRdsSigner;
  const reuseMs = options.reuseMs ?? 600_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { token: Promise<string>; at: number }>();
  return {
    kind: 'iam',
    user: async () => options.user,
    password(host, port) {
      const key = `${host}:${port}`;
      const hit = cache.get(key);
      if (hit && now() - hit.at < reuseMs) return hit.token;
      const token = sign(host, port, options.user, options.region);
      cache.set(key, { token, at: now() });
      token.catch(() => cache.delete(key));
      return token;
    },
    async onAuthenticationFailure() {
      cache.clear();
      return true;
    },
  };
}
