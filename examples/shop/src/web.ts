/**
 * The shop's web service: `node web.js` on a web fleet (the environment file says where everything is), or locally
 * with `S2M_*` variables (see the README).
 *
 * @module
 */

import { shopHandler } from './app';
import { createShopRuntime, log } from './shop';

async function main(): Promise<void> {
  const rt = await createShopRuntime();
  const service = await rt.serve(shopHandler(rt), {
    // Every interface on a fleet (the load balancer connects to the instance's address); loopback for local runs.
    ...(process.env.SHOP_LISTEN_HOST ? { host: process.env.SHOP_LISTEN_HOST } : {}),
    onError: (error, req, status) => log(status >= 500 ? 'error' : 'info', 'request-failed', { method: req.method, url: req.url, status, error: status >= 500 ? error.stack : error.message }),
  }).catch(async (e: unknown) => {
    await rt.close(); // e.g. the port is taken: release the pools and connections so the process can exit
    throw e;
  });
  log('info', 'listening', {
    port: service.address.port,
    version: rt.environment.version,
    region: rt.environment.region,
    sessions: rt.sessionStore.kind,
    sharded: rt.shards !== undefined,
  });
  // SIGTERM (systemd stopping the unit, an instance leaving the fleet): the runtime stops accepting requests, lets
  // those in flight finish, then closes its pools. The last line carries the counters.
  await rt.closed;
  log('info', 'stopped', { stats: rt.stats() });
}

main().catch((e: unknown) => {
  log('error', 'failed-to-start', { error: (e as Error).stack ?? String(e) });
  process.exitCode = 1;
});
