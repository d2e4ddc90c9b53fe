/**
 * The example application (examples/shop) on the local test servers, as it runs on the fleets: its web and worker
 * entry points bundled by esbuild into one file each (what the fleets' Node.js application source builds) and run by
 * Node as child processes with an environment like the fleets' environment file, against parameters named as a
 * synthesized data stack names them. Used by the integration test and by `examples/shop/dev.ts`.
 *
 * Every process listens on 127.0.0.1 only and is stopped by its own pid.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { createSecret, motoClientConfig, motoClients } from './aws';
import { freePort, sleep, stopPid, type TestServices } from './index';
import { onServer } from './pg';
import { createTestQueue, type TestQueue } from './sqs';
import { publishLocalTopology, type LocalTopology } from './topology';

/** The repository root. */
export const ROOT = resolve(__dirname, '..', '..', '..');
/** The example's directory. */
export const SHOP = join(ROOT, 'examples', 'shop');

/** The databases of the shop on the local servers: `database/` (shard s0) and s2 on the primary, s1 on shard2. */
export const SHOP_DATABASES = { main: 'shop', s2: 'shop_s2' } as const;
/** The DML-only login the fleets would have (a member of s2m_application), for the application's secret. */
export const SHOP_APP_USER = { username: 'shop_app', password: 'shop-app-password' } as const;

/** Bundles the web and worker entry points as the fleets' Node.js source does (one CommonJS file each, source maps). */
export async function bundleShop(outDir: string): Promise<{ web: string; worker: string }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const entries = { web: join(SHOP, 'src', 'web.ts'), worker: join(SHOP, 'src', 'worker.ts') };
  await esbuild.build({
    entryPoints: entries,
    absWorkingDir: ROOT,
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    logLevel: 'silent',
  });
  return { web: join(outDir, 'web.js'), worker: join(outDir, 'worker.js') };
}

/** What {@link deployShop} set up. */
export interface ShopDeployment {
  readonly prefix: string;
  readonly queue: TestQueue;
  readonly topology: LocalTopology;
  /** The master (elevated) secret, for `migrate --secret-arn`. */
  readonly masterSecretArn: string;
  /** The environment every shop process gets (the fleets' environment file, and moto as AWS). */
  readonly env: Readonly<Record<string, string>>;
}

/** Options of {@link deployShop}. */
export interface DeployShopOptions {
  /** The parameter prefix. @default - a unique `/it-shop-…` */
  readonly prefix?: string;
  /** Publish `sessions/secret-arn` (sealed sessions). @default false: sessions in the cache */
  readonly sealedSessions?: boolean;
  /** The queue's visibility timeout (s) and maxReceiveCount. @default 5 and 3 */
  readonly visibilityTimeout?: number;
  readonly maxReceiveCount?: number;
  /** An existing queue (another prefix of the same deployment). @default - a new one */
  readonly queue?: TestQueue;
}

/**
 * Creates the shop's databases, its queue, its login and the published parameters; runs its migrations with the
 * elevated identity (`migrate.ts` in a child process, as an operator would).
 */
export async function deployShop(services: TestServices, options: DeployShopOptions = {}): Promise<ShopDeployment> {
  const pg = services.postgres;
  const tag = randomBytes(4).toString('hex');
  const prefix = options.prefix ?? `/it-shop-${tag}`;
  for (const [server, db] of [[pg.primary, SHOP_DATABASES.main], [pg.shard2, SHOP_DATABASES.main], [pg.primary, SHOP_DATABASES.s2]] as const) {
    if ((await onServer(services, server, 'SELECT 1 FROM pg_database WHERE datname = $1', [db], 'postgres')).length === 0) {
      await onServer(services, server, `CREATE DATABASE ${db}`, [], 'postgres').catch((e: unknown) => {
        if (!/already exists/.test((e as Error).message)) throw e; // another deployment of the same run raced us
      });
    }
  }
  const sqs = new SQSClient({ ...motoClientConfig(services), maxAttempts: 2 });
  const queue = options.queue ?? await createTestQueue(sqs, { visibilityTimeout: options.visibilityTimeout ?? 5, maxReceiveCount: options.maxReceiveCount ?? 3 });
  sqs.destroy();
  const topology = await publishLocalTopology(services, {
    prefix,
    database: SHOP_DATABASES.main,
    shards: [
      { id: 's0', server: 'primary', database: SHOP_DATABASES.main },
      { id: 's1', server: 'shard2', database: SHOP_DATABASES.main },
      { id: 's2', server: 'primary', database: SHOP_DATABASES.s2 },
    ],
    // The application's identity: a login with data access only (the fleets' IAM users are the same, minus the password).
    databaseCredentials: SHOP_APP_USER,
    cache: { port: services.redis.cluster[0]!.port, username: services.redis.user, password: services.redis.password },
    queues: { jobs: queue },
    ...(options.sealedSessions ? { sessionSecret: randomBytes(32).toString('hex') } : {}),
  });
  const { secretsManager } = motoClients(services);
  const masterSecretArn = await createSecret(secretsManager, `${prefix.slice(1)}/master-${tag}`, { username: pg.user, password: pg.password });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    S2M_APP: 'shop',
    S2M_REGION: services.moto.region,
    S2M_PRIMARY_REGION: services.moto.region,
    S2M_PARAMETER_PREFIX: prefix,
    S2M_APP_VERSION: 'it',
    AWS_REGION: services.moto.region,
    AWS_ENDPOINT_URL: services.moto.endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_EC2_METADATA_DISABLED: 'true',
    // The worker looks for its Auto Scaling group in instance metadata: a closed loopback port answers "not on EC2" at once.
    AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SHOP_LOCAL_READERS: `${pg.primary.host}:${pg.primary.port}=${pg.replica.host}:${pg.replica.port}`,
    SHOP_LISTEN_HOST: '127.0.0.1',
  };
  await runMigrate(env, ['--secret-arn', masterSecretArn]);
  // What the stacks' ApplicationUsers function does for each fleet: a login in the group role the migrations grant to.
  for (const server of [pg.primary, pg.shard2]) {
    await onServer(services, server, `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${SHOP_APP_USER.username}') THEN CREATE ROLE ${SHOP_APP_USER.username} LOGIN PASSWORD '${SHOP_APP_USER.password}'; END IF; END $$`, [], 'postgres');
    await onServer(services, server, `GRANT s2m_application TO ${SHOP_APP_USER.username}`, [], 'postgres');
  }
  return { prefix, queue, topology, masterSecretArn, env };
}

/** Runs `examples/shop/src/migrate.ts` (through tsx, as an operator runs it); resolves with its output, rejects on a non-zero exit. */
export function runMigrate(env: Readonly<Record<string, string>>, args: readonly string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(SHOP, 'src', 'migrate.ts'), ...args], { cwd: ROOT, env: { ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const result = { code: code ?? -1, stdout, stderr };
      if (code === 0) resolvePromise(result);
      else reject(Object.assign(new Error(`migrate exited ${code}: ${stderr.trim() || stdout.trim()}`), result));
    });
  });
}

/** A running web or worker process. */
export interface ShopProcess {
  readonly kind: 'web' | 'worker';
  readonly pid: number;
  /** The web service's port. */
  readonly port: number | undefined;
  /** Every JSON line it printed so far (stdout and stderr). */
  readonly lines: Array<Record<string, unknown>>;
  /** Its output that was not JSON (should stay empty). */
  readonly other: string[];
  /** SIGTERM, then waits (bounded) for it to exit; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a bundle as a fleet would (`S2M_ROLE`, `S2M_SERVICE`, `S2M_PORT` set), and waits (bounded) for its ready line.
 *
 * @throws when it exits or does not say it is ready within `timeoutMs`, with its output
 */
export async function startShopProcess(kind: 'web' | 'worker', bundle: string, deployment: ShopDeployment, extraEnv: Readonly<Record<string, string>> = {}, timeoutMs = 30_000, onLine?: (line: string) => void): Promise<ShopProcess> {
  const port = kind === 'web' ? await freePort() : undefined;
  const env = {
    ...deployment.env,
    S2M_ROLE: kind,
    S2M_SERVICE: kind === 'web' ? 'web' : 'jobs',
    ...(port !== undefined ? { S2M_PORT: String(port), S2M_HEALTH_PATH: '/health', S2M_DEEP_HEALTH_PATH: '/health/deep' } : {}),
    ...extraEnv,
  };
  const child: ChildProcess = spawn(process.execPath, ['--enable-source-maps', bundle], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const other: string[] = [];
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => {
    exited = { code, signal };
    r(exited);
  }));
  const read = (stream: NodeJS.ReadableStream): void => {
    let buffer = '';
    stream.on('data', (c: Buffer) => {
      buffer += c.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() === '') continue;
        onLine?.(line);
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          other.push(line);
        }
      }
    });
  };
  read(child.stdout!);
  read(child.stderr!);
  const ready = kind === 'web' ? 'listening' : 'working';
  const deadline = Date.now() + timeoutMs;
  while (!lines.some((l) => l['event'] === ready)) {
    if (exited || Date.now() > deadline) {
      if (!exited) await stopPid(child.pid!, 2_000);
      throw new Error(`the shop ${kind} ${exited ? `exited (${JSON.stringify(exited)})` : `did not say "${ready}" within ${timeoutMs} ms`}:\n${[...lines.map((l) => JSON.stringify(l)), ...other].join('\n')}`);
    }
    await sleep(50);
  }
  const listening = lines.find((l) => l['event'] === 'listening');
  return {
    kind,
    pid: child.pid!,
    port: typeof listening?.['port'] === 'number' ? listening['port'] : port,
    lines,
    other,
    stop: async (stopTimeoutMs = 30_000) => {
      if (exited) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const result = await exit;
      clearTimeout(timer);
      return result;
    },
  };
}

/** The `stopped` line's counters of a process that has exited. */
export function finalStats(p: ShopProcess): Record<string, unknown> | undefined {
  return p.lines.find((l) => l['event'] === 'stopped') as Record<string, unknown> | undefined;
}
