/**
 * The Lambda behind `ApplicationUsers`: creates the application's database users in an Aurora PostgreSQL cluster,
 * logged in as the master user with the password it reads from Secrets Manager itself (it never appears in a
 * template, an event or a log). Bundled at synth by esbuild; runs in the VPC, next to the cluster.
 *
 * For every user: `CREATE ROLE <user> LOGIN` (if missing), `GRANT rds_iam` (IAM database authentication, no
 * password exists) and membership of the group role that holds the application's privileges on the database:
 * connect, use the `public` schema, read and write every table and sequence, execute functions, for the tables
 * the master user (migrations) creates later too; and its `statement_timeout` (`ALTER ROLE … SET`, applied by the
 * server at every session start of that login: RDS Proxy carries no startup options and cannot cancel a statement, so
 * this is what stops a statement whose client gave up). No DDL: migrations run with the elevated identity. A user
 * dropped from the list is left as it is (see {@link provisionStatements}); deleting the resource leaves the users in
 * place (the database is retained too).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';

/** The custom resource's properties (CloudFormation passes them as strings). */
export interface ApplicationUsersProperties {
  readonly SecretArn: string;
  readonly Host: string;
  readonly Port: string;
  readonly DatabaseName: string;
  readonly GroupRole: string;
  readonly Users: string[];
  /**
   * `statement_timeout` of every user, in milliseconds (a decimal string).
   * @default - absent: the users' `statement_timeout` is left as it is
   */
  readonly StatementTimeoutMs?: string;
}

/** The slice of a CloudFormation custom resource event the handler reads (the Provider framework's). */
export interface ApplicationUsersEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: ApplicationUsersProperties;
  readonly OldResourceProperties?: ApplicationUsersProperties;
}

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;

/** Double-quotes an identifier after checking it (the names come from the template, not from users). */
function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/**
 * The statements that make `p.Users` exist with exactly the application's privileges; idempotent.
 *
 * A user no longer listed is left as it is, able to log in, never disabled here: this function runs in the data stack,
 * which deploys before the app stacks, so a fleet renamed or removed in the config is still serving (and, if the app
 * stack's update fails and rolls back, serves on) when it runs. Disabling its user then (as it once did) locked that
 * fleet out of the database. Nothing can log in as such a user once its fleet is gone: there is no password, and an
 * IAM token for it needs `rds-db:connect` on it, which only the fleet's deleted role had. Disable or drop it by hand
 * once the fleet is gone (docs/fleets.md).
 */
export function provisionStatements(p: ApplicationUsersProperties, masterUser: string): string[] {
  const group = ident(p.GroupRole);
  const db = ident(p.DatabaseName);
  const master = ident(masterUser);
  const timeout = p.StatementTimeoutMs;
  if (timeout !== undefined && !/^[1-9]\d{0,9}$/.test(timeout)) throw new Error(`StatementTimeoutMs must be a whole number of milliseconds (got: ${JSON.stringify(timeout)})`);
  const role = (name: string, attrs: string) =>
    `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${name}') THEN CREATE ROLE ${ident(name)} ${attrs}; END IF; END $$`;
  return [
    role(p.GroupRole, 'NOLOGIN'),
    `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${group}`,
    `GRANT USAGE ON SCHEMA public TO ${group}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${group}`,
    `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${group}`,
    `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${group}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${master} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${group}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${master} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${group}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${master} IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO ${group}`,
    ...p.Users.flatMap((u) => [
      role(u, 'LOGIN'),
      `ALTER ROLE ${ident(u)} LOGIN`,
      `GRANT rds_iam TO ${ident(u)}`,
      `GRANT ${group} TO ${ident(u)}`,
      // Per login user: a role's settings are not inherited through group membership.
      ...(timeout !== undefined ? [`ALTER ROLE ${ident(u)} SET statement_timeout = ${timeout}`] : []),
    ]),
  ];
}

/**
 * Connects, retrying for about two minutes: a writer that has just become available can take a moment to
 * accept connections through its cluster endpoint.
 */
async function connectWithRetries(make: () => Client, attempts = 8): Promise<Client> {
  for (let i = 1; ; i++) {
    const client = make();
    try {
      await client.connect();
      return client;
    } catch (e) {
      await client.end().catch(() => undefined);
      if (i >= attempts) throw new Error(`cannot connect to the writer after ${attempts} attempts: ${(e as Error).message}`, { cause: e });
      await new Promise((resolve) => setTimeout(resolve, 5_000 * i));
    }
  }
}

/** Entry point (Provider framework `onEvent`). */
export async function handler(event: ApplicationUsersEvent): Promise<{ PhysicalResourceId: string; Data: Record<string, string> }> {
  const p = event.ResourceProperties;
  const physicalResourceId = event.PhysicalResourceId ?? `${p.Host}/${p.DatabaseName}/application-users`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalResourceId, Data: {} };
  const removed = (event.OldResourceProperties?.Users ?? []).filter((u) => !p.Users.includes(u));

  const secrets = new SecretsManagerClient({});
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: p.SecretArn }));
  const { username, password } = JSON.parse(secret.SecretString ?? '{}') as { username?: string; password?: string };
  if (!username || !password) throw new Error(`secret ${p.SecretArn} has no username and password`);

  // TLS with the RDS certificate authorities (NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem on Lambda).
  const client = await connectWithRetries(() => new Client({ host: p.Host, port: Number(p.Port), database: p.DatabaseName, user: username, password, ssl: { rejectUnauthorized: true }, connectionTimeoutMillis: 10_000 }));
  try {
    await client.query('BEGIN');
    for (const sql of provisionStatements(p, username)) await client.query(sql);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    // The message names the statement's error, never the password.
    throw new Error(`provisioning the application users failed: ${(e as Error).message}`, { cause: e });
  } finally {
    await client.end();
  }
  console.log(`application users: ${p.Users.join(', ')} in ${p.DatabaseName} (group ${p.GroupRole})${removed.length ? `; no longer listed (left as they are, able to log in; disable them once their fleets are gone): ${removed.join(', ')}` : ''}`);
  return { PhysicalResourceId: physicalResourceId, Data: { Users: p.Users.join(',') } };
}
