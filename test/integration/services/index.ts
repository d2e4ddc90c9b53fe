/**
 * Real servers for the integration tests, on loopback only: PostgreSQL 15 (a primary, a streaming hot-standby
 * replica of it, and a second primary for a second shard), Redis 7 (a standalone server and a three-master
 * cluster) and moto_server (SSM, Secrets Manager, SQS, ...). Each server runs as its own user when we are root,
 * on a free 127.0.0.1 port, in a fresh temporary directory, and is stopped by its own pid.
 *
 * A server that cannot start is an error with a clear message (the test run fails); nothing is skipped.
 * The binaries come from Debian's packages (`postgresql`, `redis-server`, installed by `.ci/run`) and moto from
 * the machine image's Python (`python3 -c 'import moto'`).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Host every server binds to. */
export const HOST = '127.0.0.1';

/** A PostgreSQL server. */
export interface PgServer {
  readonly host: string;
  readonly port: number;
  /** Data directory (owned by the `postgres` user when running as root). */
  readonly dataDir: string;
  /** Server pid (from `postmaster.pid`). */
  readonly pid: number;
}

/** What the tests receive (through vitest's `provide`/`inject`, as JSON). */
export interface TestServices {
  readonly postgres: {
    /** Application login with a password (scram-sha-256), superuser so tests can inspect everything. */
    readonly user: string;
    readonly password: string;
    readonly database: string;
    readonly primary: PgServer;
    /** A streaming hot standby of `primary` (pg_basebackup -R). */
    readonly replica: PgServer;
    /** An independent primary (a second shard). */
    readonly shard2: PgServer;
    readonly binDir: string;
  };
  readonly redis: {
    /** Standalone server; ACL user {@link TestServices.redis.user} with {@link TestServices.redis.password}. */
    readonly standalone: { readonly host: string; readonly port: number; readonly pid: number };
    /** Three masters in cluster mode, same ACL user. */
    readonly cluster: { readonly host: string; readonly port: number; readonly pid: number }[];
    readonly user: string;
    readonly password: string;
  };
  readonly moto: {
    /** `http://127.0.0.1:<port>`: set as `AWS_ENDPOINT_URL`. */
    readonly endpoint: string;
    readonly pid: number;
    readonly region: string;
  };
  /** Root temporary directory of this run. */
  readonly root: string;
}

const PG_CANDIDATES = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Where {@link freePort} looks: below Linux's ephemeral range (32768-60999 by default), which the kernel gives to
 * outgoing connections and to binds to port 0, in a block of its own for each vitest worker (`VITEST_POOL_ID`; the
 * global set-up, outside any worker, is 0). A port handed out was free when checked, is never handed out twice in a
 * file, never to a file running at the same time (its servers start in another block), and never to a client's
 * connection. Binding to port 0 could give two files started side by side the same port (the second server then
 * fails to start while its test talks to the first), and let another file's server take a test's "closed" port.
 */
const PORT_BLOCK_START = 20_000;
const PORT_BLOCK_SIZE = 1_000;
const PORT_BLOCKS = 12;
const portSlot = Number(process.env.VITEST_POOL_ID ?? 0) % PORT_BLOCKS;
// A random start within the block: a later file in the same worker slot, or another run on the machine, starts elsewhere.
let nextPortOffset = Math.floor(Math.random() * PORT_BLOCK_SIZE);
let portsHandedOut = 0;

/** Whether `port` can be bound on 127.0.0.1 now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that was free when checked, from this worker's block (see {@link PORT_BLOCK_START}). */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORT_BLOCK_SIZE && portsHandedOut < PORT_BLOCK_SIZE; tries++) {
    const port = PORT_BLOCK_START + portSlot * PORT_BLOCK_SIZE + nextPortOffset;
    nextPortOffset = (nextPortOffset + 1) % PORT_BLOCK_SIZE;
    if (await canBind(port)) {
      portsHandedOut++;
      return port;
    }
  }
  throw new Error(`freePort: no free port left in ${PORT_BLOCK_START + portSlot * PORT_BLOCK_SIZE}-${PORT_BLOCK_START + (portSlot + 1) * PORT_BLOCK_SIZE - 1} (VITEST_POOL_ID ${process.env.VITEST_POOL_ID ?? 'unset'}, ${portsHandedOut} handed out)`);
}

/** Resolves when `host:port` accepts a TCP connection; rejects after `timeoutMs` (bounded loop). */
export async function waitForPort(port: number, what: string, timeoutMs = 30_000, host = HOST): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.setTimeout(500);
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('timeout', () => { s.destroy(); resolve(false); });
      s.once('error', () => { s.destroy(); resolve(false); });
      s.connect(port, host);
    });
    if (ok) return;
    await sleep(Math.min(50 * 2 ** attempt, 500));
  }
  throw new Error(`${what} did not accept connections on ${host}:${port} within ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` (a throw counts as false) until it returns true or `timeoutMs` passes; returns whether it did. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 15_000, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await sleep(intervalMs);
  }
  return false;
}

const execFileAsync = promisify(execFile);

/**
 * Runs a command (as `user` through runuser when we are root) without blocking the event loop, so servers start
 * in parallel. Rejects with the command's output on failure or after `timeoutMs`.
 */
async function run(cmd: string, args: string[], options: { user?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  const [file, argv] = isRoot && options.user ? ['runuser', ['-u', options.user, '--', cmd, ...args]] : [cmd, args];
  try {
    const { stdout } = await execFileAsync(file, argv, { cwd: '/', encoding: 'utf8', timeout: options.timeoutMs ?? 120_000, env: { ...process.env, ...options.env } });
    return stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: e });
  }
}

/** Synchronous variant for the teardown and the test helpers. */
function runAs(user: string, cmd: string, args: string[]): string {
  const [file, argv] = isRoot ? ['runuser', ['-u', user, '--', cmd, ...args]] : [cmd, args];
  try {
    return execFileSync(file, argv, { cwd: '/', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: e });
  }
}

/** Gives `path` to `user` when we are root (servers run as their own users). */
export function chownTo(user: string, path: string): void {
  if (!isRoot) return;
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  chownSync(path, uid, gid);
}

function pgBinDir(): string {
  const dir = PG_CANDIDATES.find((d) => existsSync(join(d, 'pg_ctl')));
  if (!dir) {
    throw new Error(`PostgreSQL server binaries not found in ${PG_CANDIDATES.join(', ')}: install Debian's postgresql package (apt-get install -y postgresql), as .ci/run does`);
  }
  return dir;
}

function readPid(pidFile: string): number {
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid in ${pidFile}`);
  return pid;
}

const PG_USER = 's2m';
const PG_PASSWORD = 's2m-test-password';
const PG_DATABASE = 'app';

/** Cleanups of what has started so far, run in reverse order by {@link stopServices} or on a failed start. */
export type Cleanup = () => void | Promise<unknown>;

async function startPostgres(bin: string, dataDir: string, port: number, what: string, cleanups: Cleanup[]): Promise<PgServer> {
  const log = join(dataDir, '..', `${what}.log`);
  writeFileSync(log, '');
  chownTo('postgres', log);
  cleanups.push(() => stopPostgres(bin, dataDir));
  await run(join(bin, 'pg_ctl'), ['-D', dataDir, '-l', log, '-o', `-p ${port} -k ${dataDir}`, '-w', '-t', '60', 'start'], { user: 'postgres' });
  await waitForPort(port, `PostgreSQL ${what}`);
  return { host: HOST, port, dataDir, pid: readPid(join(dataDir, 'postmaster.pid')) };
}

async function psqlAt(bin: string, port: number, database: string, sql: string): Promise<string> {
  return (await run(join(bin, 'psql'), ['-h', HOST, '-p', String(port), '-U', PG_USER, '-d', database, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], { env: { PGPASSWORD: PG_PASSWORD } })).trim();
}

async function startPostgresSet(root: string, cleanups: Cleanup[]): Promise<TestServices['postgres']> {
  const bin = pgBinDir();
  const pgRoot = join(root, 'pg');
  mkdirSync(pgRoot);
  chownTo('postgres', pgRoot);
  const pwFile = join(pgRoot, 'pw');
  writeFileSync(pwFile, `${PG_PASSWORD}\n`);
  chownTo('postgres', pwFile);

  const initPrimary = async (name: string): Promise<string> => {
    const dir = join(pgRoot, name);
    await run(join(bin, 'initdb'), ['-D', dir, '-U', PG_USER, '--pwfile', pwFile, '-A', 'scram-sha-256', '--no-sync', '-E', 'UTF8', '--locale', 'C'], { user: 'postgres' });
    writeFileSync(join(dir, 'postgresql.auto.conf'), [
      `listen_addresses = '${HOST}'`,
      'wal_level = replica',
      'max_wal_senders = 5',
      'hot_standby = on',
      'hot_standby_feedback = on',
      'fsync = off',
      'full_page_writes = off',
      'max_connections = 200',
      // Tests inject settings (e.g. recovery_min_apply_delay on the standby) through this file and a reload.
      "include_if_exists = 'test-overrides.conf'",
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'pg_hba.conf'), [
      'local all all scram-sha-256',
      `host all all ${HOST}/32 scram-sha-256`,
      `host replication all ${HOST}/32 scram-sha-256`,
      '',
    ].join('\n'));
    chownTo('postgres', join(dir, 'postgresql.auto.conf'));
    chownTo('postgres', join(dir, 'pg_hba.conf'));
    return dir;
  };

  const [primaryDir, shard2Dir] = await Promise.all([initPrimary('primary'), initPrimary('shard2')]);
  const [primary, shard2] = await Promise.all([
    startPostgres(bin, primaryDir, await freePort(), 'primary', cleanups),
    startPostgres(bin, shard2Dir, await freePort(), 'shard2', cleanups),
  ]);
  // The application database on both primaries (the standby gets it from the base backup below).
  await Promise.all([primary, shard2].map((s) => psqlAt(bin, s.port, 'postgres', `CREATE DATABASE ${PG_DATABASE}`)));

  const replicaDir = join(pgRoot, 'replica');
  // -c fast: do not wait for a spread checkpoint (minutes with the default settings).
  await run(join(bin, 'pg_basebackup'), ['-h', HOST, '-p', String(primary.port), '-U', PG_USER, '-D', replicaDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'], { user: 'postgres', env: { PGPASSWORD: PG_PASSWORD } });
  // pg_basebackup -R writes primary_conninfo without the password: point it at a passfile (0600, owned by postgres).
  const passFile = join(pgRoot, '.pgpass');
  writeFileSync(passFile, `${HOST}:${primary.port}:*:${PG_USER}:${PG_PASSWORD}\n`, { mode: 0o600 });
  chownTo('postgres', passFile);
  writeFileSync(join(replicaDir, 'postgresql.auto.conf'),
    `${readFileSync(join(replicaDir, 'postgresql.auto.conf'), 'utf8')}\nprimary_conninfo = 'host=${HOST} port=${primary.port} user=${PG_USER} passfile=${passFile} application_name=replica'\n`);
  chownTo('postgres', join(replicaDir, 'postgresql.auto.conf'));
  const replica = await startPostgres(bin, replicaDir, await freePort(), 'replica', cleanups);

  // The standby must be streaming before tests rely on it (bounded wait).
  const deadline = Date.now() + 30_000;
  while ((await psqlAt(bin, primary.port, 'postgres', "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) !== '1') {
    if (Date.now() > deadline) throw new Error('the PostgreSQL replica did not start streaming from the primary within 30 s');
    await sleep(100);
  }
  return { user: PG_USER, password: PG_PASSWORD, database: PG_DATABASE, primary, replica, shard2, binDir: bin };
}

function stopPostgres(bin: string, dataDir: string): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = readPid(pidFile);
  try {
    runAs('postgres', join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']);
  } catch {
    killPid(pid, 'SIGKILL');
  }
}

function killPid(pid: number | undefined, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (!pid) return;
  try { process.kill(pid, signal); } catch { /* already gone */ }
}

/** Sends SIGTERM to `pid`, waits up to `timeoutMs` for it to exit, then SIGKILL. Resolves false when it had to kill it. */
export async function stopPid(pid: number, timeoutMs = 10_000): Promise<boolean> {
  killPid(pid);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try { process.kill(pid, 0); } catch { return true; }
    await sleep(50);
  }
  killPid(pid, 'SIGKILL');
  return false;
}

/** The ACL user (and its password) of every test Redis; the `default` user is off. */
export const REDIS_USER = 'app';
export const REDIS_PASSWORD = 's2m-test-redis-password';

function redisBinary(name: string): string {
  const path = `/usr/bin/${name}`;
  if (!existsSync(path)) throw new Error(`${path} not found: install Debian's redis-server package (apt-get install -y redis-server), as .ci/run does`);
  return path;
}

function spawnAs(user: string, cmd: string, args: string[], logFile: string): ChildProcess {
  const [file, argv] = isRoot ? ['runuser', ['-u', user, '--', cmd, ...args]] : [cmd, args];
  const out = openSync(logFile, 'a');
  return spawn(file, argv, { stdio: ['ignore', out, out] });
}

/** Certificate files of a TLS Redis (readable by the `redis` user). */
export interface RedisTlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** Options of {@link startRedis} beyond the plain-text servers of the shared set. */
export interface RedisStartOptions {
  /** Serve TLS only, on `port`. */
  readonly tls?: RedisTlsFiles;
  /** Cluster nodes announce this host name (as ElastiCache with TLS does) instead of their IP address. */
  readonly announceHostname?: string;
}

/** Starts one redis-server as the `redis` user (ACL user {@link REDIS_USER}); its stop is pushed to `cleanups`. */
export async function startRedis(dir: string, port: number, cluster: boolean, cleanups: Cleanup[], options: RedisStartOptions = {}): Promise<{ host: string; port: number; pid: number }> {
  mkdirSync(dir, { recursive: true });
  chownTo('redis', dir);
  const conf = join(dir, 'redis.conf');
  const pidFile = join(dir, 'redis.pid');
  const { tls, announceHostname } = options;
  writeFileSync(conf, [
    `bind ${HOST}`,
    ...(tls
      ? ['port 0', `tls-port ${port}`, `tls-cert-file ${tls.cert}`, `tls-key-file ${tls.key}`, `tls-ca-cert-file ${tls.ca}`, 'tls-auth-clients no', 'tls-cluster yes', 'tls-replication yes']
      : [`port ${port}`]),
    ...(cluster && announceHostname ? [`cluster-announce-hostname ${announceHostname}`, 'cluster-preferred-endpoint-type hostname'] : []),
    'protected-mode yes',
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    `pidfile ${pidFile}`,
    'daemonize no',
    // The default user may do nothing; the application authenticates as an ACL user (as with RBAC on ElastiCache).
    'user default off',
    `user ${REDIS_USER} on >${REDIS_PASSWORD} ~* &* +@all`,
    ...(cluster ? ['cluster-enabled yes', `cluster-config-file ${join(dir, 'nodes.conf')}`, 'cluster-node-timeout 2000', `masterauth ${REDIS_PASSWORD}`, `masteruser ${REDIS_USER}`] : []),
    '',
  ].join('\n'));
  chownTo('redis', conf);
  const child = spawnAs('redis', redisBinary('redis-server'), [conf], join(dir, 'redis.log'));
  // Until the pidfile exists the wrapper's pid stands in (killing runuser's child is what stops the server).
  let pid = child.pid!;
  cleanups.push(() => stopPid(existsSync(pidFile) ? readPid(pidFile) : pid));
  await waitForPort(port, `redis-server on port ${port}`);
  // The server creates its pidfile, then writes its pid into it: a file read in between is empty (readPid threw "no
  // pid in", failing the set-up under load). Wait (bounded) for a pid in it.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const written = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : Number.NaN;
    if (Number.isInteger(written) && written > 0) {
      pid = written;
      break;
    }
    if (Date.now() >= deadline) break;
    await sleep(20);
  }
  return { host: HOST, port, pid };
}

/** Runs redis-cli as the ACL user against `port` (over TLS with `tls`, verifying the server against its CA). */
export async function redisCli(port: number, args: string[], tls?: RedisTlsFiles & { readonly host: string }): Promise<string> {
  const target = tls ? ['--tls', '--cacert', tls.ca, '-h', tls.host] : ['-h', HOST];
  return run(redisBinary('redis-cli'), [...target, '-p', String(port), '--user', REDIS_USER, '--pass', REDIS_PASSWORD, '--no-auth-warning', ...args], { timeoutMs: 60_000 });
}

async function startRedisSet(root: string, cleanups: Cleanup[]): Promise<TestServices['redis']> {
  const redisRoot = join(root, 'redis');
  mkdirSync(redisRoot);
  chownTo('redis', redisRoot);
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const [standalone, ...cluster] = await Promise.all(ports.map((port, i) =>
    startRedis(join(redisRoot, i === 0 ? 'standalone' : `cluster-${i}`), port, i > 0, cleanups)));
  await createRedisCluster(cluster.map((n) => n.port));
  return { standalone, cluster, user: REDIS_USER, password: REDIS_PASSWORD };
}

/** Joins cluster-enabled servers into a cluster of masters (slots spread evenly) and waits for cluster_state:ok. */
export async function createRedisCluster(ports: number[], tls?: RedisTlsFiles & { readonly host: string }): Promise<void> {
  await redisCli(ports[0]!, ['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', '0', '--cluster-yes'], tls);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const infos = await Promise.all(ports.map((port) => redisCli(port, ['cluster', 'info'], tls)));
    if (infos.every((i) => /cluster_state:ok/.test(i))) break;
    if (Date.now() > deadline) throw new Error('the Redis cluster did not reach cluster_state:ok within 30 s');
    await sleep(100);
  }
}

/** Starts moto_server on a free loopback port; its stop is pushed to `cleanups`. */
export async function startMoto(root: string, cleanups: Cleanup[]): Promise<TestServices['moto']> {
  try {
    await run('python3', ['-c', 'import moto, moto.server']);
  } catch {
    throw new Error('moto is not installed for python3 (python3 -c "import moto" failed): the machine image provides moto 5.2 with its server extras; there is no PyPI access to install it');
  }
  const port = await freePort();
  const out = openSync(join(root, 'moto.log'), 'a');
  const child = spawn('python3', ['-m', 'moto.server', '-H', HOST, '-p', String(port)], { stdio: ['ignore', out, out] });
  cleanups.push(() => stopPid(child.pid!));
  await waitForPort(port, 'moto_server', 60_000);
  return { endpoint: `http://${HOST}:${port}`, pid: child.pid!, region: 'us-east-1' };
}

const CLEANUPS = new WeakMap<object, Cleanup[]>();

/** Starts every server (in parallel); on any failure stops what already started and rethrows. */
export async function startServices(): Promise<TestServices> {
  const root = mkdtempSync(join(tmpdir(), 's2m-it-'));
  chmodSync(root, 0o755);
  const cleanups: Cleanup[] = [() => rmSync(root, { recursive: true, force: true })];
  try {
    const [postgres, redis, moto] = await Promise.all([startPostgresSet(root, cleanups), startRedisSet(root, cleanups), startMoto(root, cleanups)]);
    const services: TestServices = { postgres, redis, moto, root };
    CLEANUPS.set(services, cleanups);
    return services;
  } catch (e) {
    await runCleanups(cleanups);
    throw e;
  }
}

/** Runs cleanups in reverse order, each even when an earlier one failed. */
export async function runCleanups(cleanups: Cleanup[]): Promise<void> {
  for (const c of cleanups.reverse()) {
    try { await c(); } catch { /* keep stopping the rest */ }
  }
}

/** Stops every server of {@link startServices} by its pid and removes the temporary directory. */
export async function stopServices(services: TestServices): Promise<void> {
  await runCleanups(CLEANUPS.get(services) ?? []);
}

/**
 * Sets `recovery_min_apply_delay` on the standby (0 turns it off) and reloads it: commits reach the replica
 * but are applied only after the delay, which is how the tests inject replica lag.
 */
export async function setReplicaApplyDelay(services: TestServices, delayMs: number): Promise<void> {
  const { primary, replica, binDir } = services.postgres;
  const file = join(replica.dataDir, 'test-overrides.conf');
  writeFileSync(file, `recovery_min_apply_delay = '${Math.max(0, Math.round(delayMs))}ms'\n`);
  chownTo('postgres', file);
  runAs('postgres', join(binDir, 'pg_ctl'), ['-D', replica.dataDir, 'reload']);
  if (delayMs <= 0) return;
  // The reload only signals the standby: its startup process takes the setting a moment later, and a write
  // replayed before that is not delayed (on a busy machine, the first writes of a test were). Wait until a commit
  // is seen held back: a transaction's commit on the primary, its end position, and the standby short of it.
  for (let attempt = 1; ; attempt++) {
    await psqlAt(binDir, primary.port, 'postgres', 'SELECT txid_current()');
    const committed = await psqlAt(binDir, primary.port, 'postgres', 'SELECT pg_current_wal_lsn()');
    await sleep(Math.min(200, delayMs / 3));
    if ((await psqlAt(binDir, replica.port, 'postgres', `SELECT pg_last_wal_replay_lsn() < '${committed}'::pg_lsn`)) === 't') return;
    if (attempt >= 25) throw new Error(`the standby still replays commits at once ${attempt} tries after recovery_min_apply_delay = ${delayMs} ms was set`);
  }
}

/** Stops the standby (reads must fall back to the writer) ... */
export function stopReplica(services: TestServices): void {
  runAs('postgres', join(services.postgres.binDir, 'pg_ctl'), ['-D', services.postgres.replica.dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);
}

/** ... and starts it again on the same port (its stop at teardown is already registered). */
export async function startReplica(services: TestServices): Promise<void> {
  const { replica, binDir } = services.postgres;
  const log = join(replica.dataDir, '..', 'replica.log');
  runAs('postgres', join(binDir, 'pg_ctl'), ['-D', replica.dataDir, '-l', log, '-o', `-p ${replica.port} -k ${replica.dataDir}`, '-w', '-t', '60', 'start']);
  await waitForPort(replica.port, 'PostgreSQL replica');
}

/**
 * Only the PostgreSQL servers (primary, streaming standby, second primary), for benchmarks that need no Redis or
 * moto. `stop` stops them by their pids and removes the temporary directory.
 */
export async function startPostgresOnly(): Promise<{ postgres: TestServices['postgres']; stop: () => Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), 's2m-pg-'));
  chmodSync(root, 0o755);
  const cleanups: Cleanup[] = [() => rmSync(root, { recursive: true, force: true })];
  try {
    const postgres = await startPostgresSet(root, cleanups);
    return { postgres, stop: () => runCleanups(cleanups) };
  } catch (e) {
    await runCleanups(cleanups);
    throw e;
  }
}

/** A child process whose stdout lines are JSON events (other lines are ignored), with its stderr and its exit. */
export interface EventChild<E> {
  readonly child: ChildProcess;
  /** The events so far, in order. */
  readonly events: E[];
  /** Its stderr so far (for failure messages). */
  stderr(): string;
  /** Its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/** Runs `node --import tsx <script>` with `env` added to this process's environment, collecting its JSON-line events. */
export function spawnEventChild<E>(script: string, env: NodeJS.ProcessEnv): EventChild<E> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: E[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try { events.push(JSON.parse(line) as E); } catch { /* not ours */ }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, events, stderr: () => stderr, exited };
}
