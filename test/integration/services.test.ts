import { execFileSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { lockReplica, waitForReplica } from './services/pg';

// The servers every integration test relies on are up, on loopback, and the replica streams from the primary.
describe('integration services', () => {
  const services = inject('services');
  const psql = (port: number, sql: string): string => execFileSync(`${services.postgres.binDir}/psql`, [
    '-h', '127.0.0.1', '-p', String(port), '-U', services.postgres.user, '-d', services.postgres.database, '-At', '-c', sql,
  ], { env: { ...process.env, PGPASSWORD: services.postgres.password }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

  it('runs a primary and a hot standby that replays its writes', async () => {
    // The standby is shared: hold it, so no other file's injected lag or stopped standby is in the way.
    const release = await lockReplica(services);
    try {
      expect(psql(services.postgres.primary.port, 'SELECT pg_is_in_recovery()')).toBe('f');
      expect(psql(services.postgres.replica.port, 'SELECT pg_is_in_recovery()')).toBe('t');
      psql(services.postgres.primary.port, 'CREATE TABLE IF NOT EXISTS it_probe (v int); INSERT INTO it_probe VALUES (42)');
      // Replication is asynchronous: until the standby has replayed the CREATE TABLE, the table is not there.
      await waitForReplica(services);
      expect(psql(services.postgres.replica.port, "SELECT coalesce(max(v)::text, '') FROM it_probe")).toBe('42');
    } finally {
      await release();
    }
  });

  it('runs an independent second primary', () => {
    expect(psql(services.postgres.shard2.port, 'SELECT pg_is_in_recovery()')).toBe('f');
  });

  it('runs moto on loopback', async () => {
    const res = await fetch(`${services.moto.endpoint}/moto-api/`);
    expect(res.status).toBeLessThan(500);
    expect(services.moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('runs a standalone Redis and a three-master cluster', () => {
    const cli = (port: number, ...args: string[]) => execFileSync('/usr/bin/redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--user', services.redis.user, '--pass', services.redis.password, '--no-auth-warning', ...args], { encoding: 'utf8' }).trim();
    expect(cli(services.redis.standalone.port, 'PING')).toBe('PONG');
    expect(cli(services.redis.cluster[0].port, 'CLUSTER', 'INFO')).toMatch(/cluster_known_nodes:3/);
  });
});
