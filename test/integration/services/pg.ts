/** Raw `pg` access to the test servers, to observe on the server side what the SDK did. */
import { Client } from 'pg';
import type { PgServer, TestServices } from './index';
import { sleep } from './index';

/** Runs `sql` on `server` (database `database`, default the app database) with a fresh connection. */
export async function onServer<R = Record<string, unknown>>(services: TestServices, server: PgServer, sql: string, params: unknown[] = [], database = services.postgres.database): Promise<R[]> {
  const client = new Client({ host: server.host, port: server.port, user: services.postgres.user, password: services.postgres.password, database });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as R[];
  } finally {
    await client.end();
  }
}

/** Waits (bounded) until the standby has replayed everything the primary has written so far. */
export async function waitForReplica(services: TestServices, timeoutMs = 20_000): Promise<void> {
  const [{ lsn }] = await onServer<{ lsn: string }>(services, services.postgres.primary, 'SELECT pg_current_wal_insert_lsn()::text AS lsn');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ done }] = await onServer<{ done: boolean }>(services, services.postgres.replica, 'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn]);
    if (done) return;
    if (Date.now() > deadline) throw new Error(`the replica did not replay ${lsn} within ${timeoutMs} ms`);
    await sleep(50);
  }
}
