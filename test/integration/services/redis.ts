/**
 * Private Redis servers for tests that must stop a server or reshard a cluster without disturbing the shared ones:
 * a standalone server, and a TLS cluster whose nodes announce a host name (as ElastiCache with in-transit
 * encryption does) with certificates from a throw-away CA. Loopback only, stopped by their pids.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CacheClientOptions } from '../../../lib/runtime';
import {
  REDIS_PASSWORD, REDIS_USER, chownTo, createRedisCluster, freePort, redisCli, runCleanups, startRedis, stopPid,
  type Cleanup, type RedisTlsFiles, type TestServices,
} from './index';

/** A running private server set. */
export interface PrivateRedis {
  /** One entry per server (a single one for a standalone server). */
  readonly nodes: { readonly host: string; readonly port: number; readonly pid: number }[];
  readonly user: string;
  readonly password: string;
  /** TLS material (TLS servers only); `ca` is the PEM text of the CA. */
  readonly tls?: RedisTlsFiles & { readonly host: string; readonly caPem: string };
  /** Runs redis-cli against one node. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Stops node `i` by its pid (its data is gone: the servers do not persist). */
  stopNode(i: number): Promise<void>;
  /** Starts node `i` again on the same port. */
  startNode(i: number): Promise<void>;
  /** Stops every server by its pid (idempotent). */
  stop(): Promise<void>;
}

/**
 * A CA and a server certificate for `localhost`, written by openssl (Debian's `openssl` package) into `dir`.
 *
 * @param dir - an existing directory
 * @returns the file paths
 */
export function createTestCa(dir: string): RedisTlsFiles {
  const openssl = (...args: string[]): void => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    } catch (e) {
      throw new Error(`openssl ${args.join(' ')} failed (install Debian's openssl package): ${(e as Error).message}`, { cause: e });
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=scale-to-millions test CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.cnf');
  for (const f of ['ca.crt', 'server.crt', 'server.key']) chownTo('redis', join(dir, f));
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/**
 * Starts private servers under the run's temporary directory: one standalone server, or a cluster of `masters`.
 *
 * @param services - the shared services (for the temporary root)
 * @param options - `masters` (a cluster when given), `tls` (TLS only, nodes announced as `localhost`)
 * @returns the servers
 */
export async function startPrivateRedis(services: TestServices, options: { masters?: number; tls?: boolean } = {}): Promise<PrivateRedis> {
  const root = mkdtempSync(join(services.root, 'redis-private-'));
  chownTo('redis', root);
  const cleanups: Cleanup[] = [() => rmSync(root, { recursive: true, force: true })];
  try {
    const files = options.tls ? createTestCa(root) : undefined;
    const tls = files ? { ...files, host: 'localhost', caPem: readFileSync(files.ca, 'utf8') } : undefined;
    const count = options.masters ?? 1;
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    const dirs = ports.map((_, i) => join(root, `node-${i}`));
    const start = (i: number): ReturnType<typeof startRedis> =>
      startRedis(dirs[i]!, ports[i]!, options.masters !== undefined, cleanups, { ...(files ? { tls: files, announceHostname: 'localhost' } : {}) });
    for (const dir of dirs) mkdirSync(dir);
    const nodes = await Promise.all(ports.map((_, i) => start(i)));
    if (options.masters !== undefined) await createRedisCluster(ports, tls);
    let stopped = false;
    return {
      nodes,
      user: REDIS_USER,
      password: REDIS_PASSWORD,
      ...(tls ? { tls } : {}),
      cli: (port, ...args) => redisCli(port, args, tls).then((out) => out.trim()),
      stopNode: async (i) => { await stopPid(nodes[i]!.pid); },
      startNode: async (i) => {
        nodes[i] = await start(i);
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await runCleanups(cleanups);
      },
    };
  } catch (e) {
    await runCleanups(cleanups);
    throw e;
  }
}

/**
 * Client options for the shared standalone server and the shared cluster (as the ACL user, no TLS), for tests that
 * run on both; connection errors are left to the counters.
 *
 * @param services - the shared services
 * @returns one entry per server kind
 */
export function sharedCacheTargets(services: TestServices): { name: 'standalone' | 'cluster'; options: CacheClientOptions }[] {
  const { redis } = services;
  const common = { host: '127.0.0.1', tls: false, username: redis.user, password: redis.password, onError: () => { /* counted in stats() */ } } as const;
  return [
    { name: 'standalone', options: { ...common, port: redis.standalone.port, clusterMode: false } },
    { name: 'cluster', options: { ...common, port: redis.cluster[0]!.port, clusterMode: true } },
  ];
}
