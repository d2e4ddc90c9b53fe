/**
 * Publishes, in moto, the parameters a synthesized data stack publishes (exactly those names, from the template of
 * an example config), with values pointing at the local test servers: what an application on a fleet would read,
 * with loopback in place of AWS endpoints. A name this helper does not know fails, so a new contract key cannot
 * slip past the runtime tests.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { CACHE_KEYS, DATABASE_KEYS, QUEUE_KEYS, SESSION_KEYS } from '../../../lib/runtime/contract';
import { buildTestApp } from '../../helpers/app';
import { createSecret, motoClients, putParameters, synthesizedParameters } from './aws';
import type { TestServices } from './index';
import type { TestQueue } from './sqs';

/** Where one shard of the local topology lives. */
export interface LocalShard {
  /** The shard id (those of the config: s0, s1, s2 for `sharded`). */
  readonly id: string;
  /** The server. */
  readonly server: 'primary' | 'shard2';
  /** The database on it. */
  readonly database: string;
}

/** Options of {@link publishLocalTopology}. */
export interface LocalTopologyOptions {
  /** The prefix to publish under (unique per test: moto is shared by the run). */
  readonly prefix: string;
  /** The example config whose data stack names the parameters. @default 'sharded' */
  readonly config?: string;
  /** The database of `database/` (shard 0) on the primary. */
  readonly database: string;
  /** The shards of the map (the first must be `database/` itself: primary, `database`). @default - no shard map */
  readonly shards?: readonly LocalShard[];
  /** The database credentials the application reads (`database/secret-arn`). @default - the test superuser */
  readonly databaseCredentials?: { readonly username: string; readonly password: string };
  /** The cache (a cluster node's port) and its RBAC user. */
  readonly cache: { readonly port: number; readonly username: string; readonly password: string };
  /** The work queues by name (those of the config: `jobs`). */
  readonly queues: Readonly<Record<string, TestQueue>>;
  /** Publish `sessions/secret-arn` (sealed sessions) with this value. @default - not published */
  readonly sessionSecret?: string;
  /** Region. @default - moto's */
  readonly region?: string;
}

/** What was published. */
export interface LocalTopology {
  readonly prefix: string;
  /** Every parameter name and value. */
  readonly values: Readonly<Record<string, string>>;
  /** ARNs of the secrets created. */
  readonly secrets: { readonly database: string; readonly cache: string; readonly sessions?: string };
  /** The shard map as published. */
  readonly shardMap?: { readonly version: 1; readonly epoch: number; readonly strategy: 'hash'; readonly shards: Array<Record<string, unknown>> };
}

const synthesized = new Map<string, { name: string; names: string[] }>();

/** The parameter names (under `/<config name>`) a config's data stack in us-east-1 publishes; synthesized once per config. */
export function dataStackParameterNames(config: string): { name: string; names: string[] } {
  let found = synthesized.get(config);
  if (found === undefined) {
    process.env.CDK_VALIDATION ??= 'false';
    const built = buildTestApp(config);
    found = { name: built.config.name, names: synthesizedParameters(built.regions['us-east-1']!.data).parameters.map((p) => p.name) };
    synthesized.set(config, found);
  }
  return found;
}

/**
 * Publishes the local topology (see the module documentation).
 *
 * @returns the names and values published, and the secrets
 */
export async function publishLocalTopology(services: TestServices, options: LocalTopologyOptions): Promise<LocalTopology> {
  const region = options.region ?? services.moto.region;
  const { ssm, secretsManager } = motoClients(services, region);
  const pg = services.postgres;
  const tag = randomBytes(4).toString('hex');
  const credentials = options.databaseCredentials ?? { username: pg.user, password: pg.password };
  const databaseArn = await createSecret(secretsManager, `${options.prefix.slice(1)}/database-${tag}`, credentials);
  const cacheArn = await createSecret(secretsManager, `${options.prefix.slice(1)}/cache-${tag}`, { username: options.cache.username, password: options.cache.password });
  const sessionsArn = options.sessionSecret === undefined ? undefined : await createSecret(secretsManager, `${options.prefix.slice(1)}/sessions-${tag}`, options.sessionSecret);

  const serverOf = (s: LocalShard['server']) => (s === 'primary' ? pg.primary : pg.shard2);
  const shardMap = options.shards === undefined ? undefined : {
    version: 1 as const,
    epoch: 1,
    strategy: 'hash' as const,
    shards: options.shards.map((s) => ({ id: s.id, writer: serverOf(s.server).host, port: serverOf(s.server).port, database: s.database, secretArn: databaseArn })),
  };
  const shardOf = (id: string): LocalShard => {
    const s = options.shards?.find((x) => x.id === id);
    if (s === undefined) throw new Error(`publishLocalTopology: the config publishes shard "${id}" but options.shards has no such shard`);
    return s;
  };
  const queueAttributes = new Map<string, string>();
  const queueArn = async (url: string, sqs: SQSClient): Promise<string> => {
    let arn = queueAttributes.get(url);
    if (arn === undefined) {
      arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
      queueAttributes.set(url, arn);
    }
    return arn;
  };
  const { SQSClient: Sqs } = await import('@aws-sdk/client-sqs');
  const sqs = new Sqs({ region, endpoint: services.moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });

  const databaseValue = (key: string, host: string, port: number, database: string, where: string): string => {
    switch (key) {
      case DATABASE_KEYS.writer:
      case DATABASE_KEYS.reader:
      case DATABASE_KEYS.proxy:
      case DATABASE_KEYS.proxyReadOnly:
        return host;
      case DATABASE_KEYS.port: return String(port);
      case DATABASE_KEYS.databaseName: return database;
      case DATABASE_KEYS.engine: return 'postgres';
      case DATABASE_KEYS.secretArn: return databaseArn;
      case DATABASE_KEYS.authentication: return 'password';
      case DATABASE_KEYS.role: return 'primary';
      case DATABASE_KEYS.writeForwarding: return 'off';
      // The budget of the forwarding pools, as the stacks publish it; the local region is the primary, which forwards
      // nothing, so it only has to parse.
      case DATABASE_KEYS.forwardingPoolMax: return '1';
      // The users' statement_timeout, as the stacks publish it by default. The local login (the master user, a password)
      // has no such role setting; the client timeout it gives (28 s + 2 s) is the 30 s the runtime used without it.
      case DATABASE_KEYS.statementTimeout: return '28000';
      default: throw new Error(`publishLocalTopology: ${where}: a database key this helper does not know (a new contract key? give it a local value)`);
    }
  };

  const { name, names } = dataStackParameterNames(options.config ?? 'sharded');
  const base = `/${name}/`;
  const values: Record<string, string> = {};
  const all = [...names, ...(sessionsArn !== undefined ? [`${base}sessions/${SESSION_KEYS.secretArn}`] : [])];
  for (const published of new Set(all)) {
    if (!published.startsWith(base)) throw new Error(`publishLocalTopology: ${published} is not under ${base}`);
    const rest = published.slice(base.length).split('/');
    const target = `${options.prefix}/${rest.join('/')}`;
    const [tier, ...path] = rest;
    let value: string;
    if (tier === 'database' && path.length === 1 && path[0] === DATABASE_KEYS.shardMap) {
      if (shardMap === undefined) throw new Error('publishLocalTopology: the config publishes a shard map: give options.shards');
      value = JSON.stringify(shardMap);
    } else if (tier === 'database' && path[0] === DATABASE_KEYS.shards && path.length === 3) {
      const shard = shardOf(path[1]!);
      const server = serverOf(shard.server);
      value = databaseValue(path[2]!, server.host, server.port, shard.database, published);
    } else if (tier === 'database' && path.length === 1) {
      value = databaseValue(path[0]!, pg.primary.host, pg.primary.port, options.database, published);
    } else if (tier === 'cache' && path.length === 1) {
      const key = path[0]!;
      value = key === CACHE_KEYS.endpoint ? '127.0.0.1'
        : key === CACHE_KEYS.port ? String(options.cache.port)
          : key === CACHE_KEYS.tls ? 'off' // the test servers speak plain text on loopback
            : key === CACHE_KEYS.authMode ? 'rbac'
              : key === CACHE_KEYS.username ? options.cache.username
                : key === CACHE_KEYS.secretArn ? cacheArn
                  : (() => { throw new Error(`publishLocalTopology: ${published}: a cache key this helper does not know`); })();
    } else if (tier === 'queues' && path.length === 2) {
      const queue = options.queues[path[0]!];
      if (queue === undefined) throw new Error(`publishLocalTopology: the config publishes queue "${path[0]}": give options.queues.${path[0]}`);
      const key = path[1]!;
      value = key === QUEUE_KEYS.url ? queue.url
        : key === QUEUE_KEYS.arn ? await queueArn(queue.url, sqs)
          : key === QUEUE_KEYS.name ? queue.name
            : key === QUEUE_KEYS.deadLetterUrl ? queue.deadLetterUrl
              : (() => { throw new Error(`publishLocalTopology: ${published}: a queue key this helper does not know`); })();
    } else if (tier === 'sessions' && path.length === 1 && path[0] === SESSION_KEYS.secretArn) {
      // Without options.sessionSecret the deployment is one without a session key (a one-region app before the
      // region work, or a test of the cache-backed store): leave the parameter out.
      if (sessionsArn === undefined) continue;
      value = sessionsArn;
    } else {
      throw new Error(`publishLocalTopology: ${published}: a parameter this helper does not know (a new contract key? give it a local value)`);
    }
    values[target] = value;
  }
  sqs.destroy();
  await putParameters(ssm, values);
  return { prefix: options.prefix, values, secrets: { database: databaseArn, cache: cacheArn, ...(sessionsArn ? { sessions: sessionsArn } : {}) }, ...(shardMap ? { shardMap } : {}) };
}
