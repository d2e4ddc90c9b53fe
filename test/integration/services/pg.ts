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

/**
 * Takes the run-wide lock on the standby (a session advisory lock on the primary, held by a connection of its own),
 * for tests that inject replica lag, stop the standby or assert that reads land on it: test files run in parallel,
 * and one file's lag or stopped standby would break another's assertions. Waits (bounded) for the holder.
 *
 * @returns a function that releases the lock
 */
export async function lockReplica(services: TestServices, timeoutMs = 120_000): Promise<() => Promise<void>> {
  const { primary, user, password } = services.postgres;
  const client = new Client({ host: primary.host, port: primary.port, user, password, database: 'postgres', application_name: 'it-replica-lock' });
  await client.connect();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const [{ locked }] = (await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock(hashtext('s2m-it-replica')) AS locked")).rows as [{ locked: boolean }];
      if (locked) break;
      if (Date.now() > deadline) throw new Error(`another test file held the replica lock for more than ${timeoutMs} ms`);
      await sleep(100);
    }
  } catch (e) {
    await client.end();
    throw e;
  }
  return async () => {
    await client.end(); // ends the session, which releases its advisory locks
  };
}
