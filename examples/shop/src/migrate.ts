/**
 * Applies the shop's schema migrations to the database and every shard, as the elevated (master) identity.
 *
 *   S2M_PARAMETER_PREFIX=/shop S2M_REGION=us-east-1 npx tsx examples/shop/src/migrate.ts [options]
 *
 *   --secret-arn ARN     the elevated identity's secret (JSON username/password)
 *                        (default: each cluster's published <prefix>/database/secret-arn: the master secret)
 *   --connect [ID=]H:P   reach cluster ID (`database` or a shard id; default `database`) at H:P, e.g. a Session
 *                        Manager port forward; TLS is still verified against the published writer name
 *   --ca FILE            CA bundle of the database certificates (default /etc/scale-to-millions/rds-ca-bundle.pem when
 *                        present; download AWS's global RDS bundle on a workstation)
 *   --dir DIR            the migrations directory (default: examples/shop/migrations)
 *   --dry-run            list what would be applied, change nothing
 *
 * Run it in the region that holds the writer, from where the writer is reachable, with an identity that may read
 * the `<prefix>/database` parameters and the master secret (fleets are never granted that secret: they connect as
 * their own IAM database users, members of `s2m_application`). Exit code 0 when every cluster is migrated, 1 when
 * one failed (the ones before it stay migrated: re-run after fixing), 2 for bad arguments.
 *
 * @module
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DATABASE_CA_FILE, loadTopology, type SecretValue } from 'scale-to-millions/runtime';
import { clientConfig, migrateTarget, migrationTargets, readMigrations, type MigrationConnection } from './migrations';

function usage(message: string): never {
  console.error(`migrate: ${message}\nusage: migrate.ts [--secret-arn ARN] [--connect [ID=]HOST:PORT]... [--ca FILE] [--dir DIR] [--dry-run]`);
  process.exit(2);
}

function credentialsOf(secret: SecretValue): { user: string; password: string } {
  const user = secret.json?.['username'];
  const password = secret.json?.['password'];
  if (typeof user !== 'string' || typeof password !== 'string') {
    throw new Error(`migrate: secret ${secret.arn}: expected JSON with "username" and "password" (got: ${secret.json ? `keys ${Object.keys(secret.json).join(', ')}` : 'not a JSON object'})`);
  }
  return { user, password };
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        'secret-arn': { type: 'string' },
        connect: { type: 'string', multiple: true },
        ca: { type: 'string' },
        dir: { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (e) {
    usage((e as Error).message);
  }
  const via = new Map<string, { host: string; port: number }>();
  for (const spec of args.connect ?? []) {
    const m = /^(?:([A-Za-z0-9._-]+)=)?([A-Za-z0-9.-]+):(\d{1,5})$/.exec(spec);
    if (!m) usage(`--connect: expected [ID=]HOST:PORT (got: ${JSON.stringify(spec)})`);
    via.set(m[1] ?? 'database', { host: m[2]!, port: Number(m[3]) });
  }
  const caFile = args.ca ?? (existsSync(DATABASE_CA_FILE) ? DATABASE_CA_FILE : undefined);
  if (caFile !== undefined && !existsSync(caFile)) usage(`--ca: ${caFile} does not exist`);
  const dir = args.dir ?? join(__dirname, '..', 'migrations');

  const migrations = { global: readMigrations(dir, 'global'), shard: readMigrations(dir, 'shard') };
  const grants = readFileSync(join(dir, 'grants.sql'), 'utf8');
  // Only the database tier: an operator's identity need not read the cache, queues or sessions, nor their secrets.
  const topology = await loadTopology({ resolveSecrets: false, tiers: ['database'] });
  try {
    const targets = migrationTargets(topology.current);
    for (const name of via.keys()) {
      if (!targets.some((t) => t.name === name)) usage(`--connect: no cluster "${name}" to migrate (clusters: ${targets.map((t) => t.name).join(', ')})`);
    }
    for (const target of targets) {
      const arn = args['secret-arn'] ?? target.endpoints.secretArn;
      if (arn === undefined) throw new Error(`migrate: ${target.endpoints.source} publishes no secret-arn: pass --secret-arn`);
      const connection: MigrationConnection = {
        ...credentialsOf(await topology.refreshSecret(arn)),
        ...(via.has(target.name) ? { via: via.get(target.name)! } : {}),
        ...(caFile !== undefined ? { ca: readFileSync(caFile) } : {}),
      };
      const list = target.sets.flatMap((set) => migrations[set]);
      const result = await migrateTarget(target, list, grants, clientConfig(target.endpoints, connection), { dryRun: args['dry-run'] ?? false });
      console.log(JSON.stringify({ event: args['dry-run'] ? 'would-apply' : 'migrated', target: result.target, applied: result.applied, alreadyApplied: result.skipped.length }));
    }
  } finally {
    topology.stop();
  }
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
