import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, rootCertificates, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseCertificateAuthorities } from '../../../lib/runtime';

/**
 * Database TLS trusts the RDS bundle the fleets install (Aurora's certificates, which no public CA signs) and
 * keeps Node's own CAs (RDS Proxy endpoints present public ACM certificates): a `ca` of the bundle alone would
 * fail every verified connection to a proxy.
 */
describe('databaseCertificateAuthorities', () => {
  let dir: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    // GIVEN a private CA (standing in for an RDS root) and a server certificate it signed for db.test
    dir = mkdtempSync(join(tmpdir(), 'db-tls-'));
    const openssl = (...args: string[]) => {
      const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      if (r.error || r.status !== 0) throw new Error(`openssl ${args[0]} failed (openssl is needed for this test): ${r.error?.message ?? r.stderr}`);
    };
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test RDS Root CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'db.key', '-out', 'db.csr', '-subj', '/CN=db.test');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:db.test\n');
    openssl('x509', '-req', '-in', 'db.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'db.pem', '-days', '2', '-extfile', 'san.ext');
    server = createServer({ key: readFileSync(join(dir, 'db.key')), cert: readFileSync(join(dir, 'db.pem')) }, (s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  const handshake = (ca: string[] | undefined) => new Promise<string>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'db.test', ...(ca ? { ca } : {}) }, () => {
      socket.end();
      resolve('verified');
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

  it('is undefined (Node\'s own CAs) when the bundle is not installed', () => {
    expect(databaseCertificateAuthorities(join(dir, 'missing.pem'))).toBeUndefined();
  });

  it('keeps every one of Node\'s CAs and adds the bundle', () => {
    const cas = databaseCertificateAuthorities(join(dir, 'ca.pem'))!;
    expect(cas).toEqual([...rootCertificates, readFileSync(join(dir, 'ca.pem'), 'utf8')]);
  });

  it('verifies a server whose certificate the bundle\'s CA signed, which Node\'s CAs alone refuse', async () => {
    expect(await handshake(databaseCertificateAuthorities(join(dir, 'ca.pem')))).toBe('verified');
    expect(await handshake(undefined)).not.toBe('verified');
  });
});
