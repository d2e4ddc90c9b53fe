import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { CacheClient } from './lib/runtime/cache-client';
const ca = readFileSync('/tmp/rtasync-explore/tls/ca.crt');
const cli = (port: number, ...args: string[]) => execFileSync('redis-cli', ['--tls', '--cacert', '/tmp/rtasync-explore/tls/ca.crt', '-h', 'localhost', '-p', String(port), '--user', 'app', '--pass', 'pw', '--no-auth-warning', ...args], { encoding: 'utf8' }).trim();
const ports = [46001, 46002, 46003];
(async () => {
  for (const p of ports) cli(p, 'ACL', 'SETUSER', 'rot', 'reset', 'on', '>pw1', '~*', '&*', '+@all');
  let current = 'pw1'; let reads = 0;
  const c = await CacheClient.connect({ host: 'localhost', port: 46001, tls: { ca }, username: 'rot', password: () => { reads++; return current; }, onError: (e) => console.log('  err:', e.message) });
  for (let i = 0; i < 20; i++) await c.redis.set(`r${i}`, String(i));
  console.log('ok before', c.stats());
  for (const p of ports) cli(p, 'ACL', 'SETUSER', 'rot', 'resetpass', '>pw2');
  current = 'pw2';
  for (const p of ports) console.log('kill', cli(p, 'CLIENT', 'KILL', 'USER', 'rot'));
  const t0 = Date.now(); let ok = 0, fail = 0;
  while (Date.now() - t0 < 15000) {
    try { await c.redis.get(`r${ok % 20}`); ok++; if (ok > 50) break; } catch (e) { fail++; if (fail < 5) console.log(' cmd fail', (e as Error).message); await new Promise(r => setTimeout(r, 100)); }
  }
  console.log('after', Date.now() - t0, 'ms', { ok, fail, reads }, c.stats());
  await c.close();
})();
