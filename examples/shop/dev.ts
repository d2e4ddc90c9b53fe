/**
 * Runs the shop on this machine against the servers the integration tests use, all on 127.0.0.1: PostgreSQL 15 (a
 * primary, a streaming standby, a second primary for shard s1), a three-master Redis cluster, and moto standing in
 * for SSM, Secrets Manager and SQS. It publishes the parameters a deployed data stack would (named as the
 * `config/sharded.json` data stack names them), runs the migrations as the elevated identity, bundles the two entry
 * points as the fleets do, and starts one web server and one worker.
 *
 *   npx tsx examples/shop/dev.ts [--sealed] [--port 8080]
 *
 * Needs Debian's postgresql and redis-server packages and python3's moto (what `.ci/run` installs). Ctrl-C stops
 * everything, each server by its own pid.
 *
 * @module
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServices, stopServices } from '../../test/integration/services';
import { bundleShop, deployShop, startShopProcess, type ShopProcess } from '../../test/integration/services/shop';

// The AWS SDK's note that its 2027 releases will need Node 22 is for whoever upgrades the SDK, not for a dev loop.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const args = parseArgs({ options: { sealed: { type: 'boolean' }, port: { type: 'string' } }, strict: true }).values;
  const dir = mkdtempSync(join(tmpdir(), 's2m-shop-dev-'));
  console.log('starting PostgreSQL (primary, standby, shard2), Redis (cluster) and moto on 127.0.0.1 …');
  const services = await startServices();
  const processes: ShopProcess[] = [];
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.all(processes.map((p) => p.stop(30_000)));
    await stopServices(services);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  try {
    const [bundles, deployment] = await Promise.all([bundleShop(dir), deployShop(services, { sealedSessions: args.sealed ?? false })]);
    const echo = (kind: string) => (line: string): void => console.log(`${kind} | ${line}`);
    processes.push(await startShopProcess('web', bundles.web, deployment, { S2M_PORT: args.port ?? '8080' }, 30_000, echo('web   ')));
    processes.push(await startShopProcess('worker', bundles.worker, deployment, {}, 30_000, echo('worker')));
    const port = processes[0]!.port;
    console.log([
      '',
      `the shop listens on http://127.0.0.1:${port} (sessions ${args.sealed ? 'sealed into the cookie' : 'in the cache'}); try:`,
      `  curl -si -c /tmp/shop.jar -H 'content-type: application/json' -d '{"user":"alice"}' http://127.0.0.1:${port}/login`,
      `  curl -s http://127.0.0.1:${port}/products`,
      `  curl -s -b /tmp/shop.jar -H 'content-type: application/json' -d '{"productId":"p-mug","quantity":2}' http://127.0.0.1:${port}/orders`,
      `  curl -s -b /tmp/shop.jar http://127.0.0.1:${port}/orders`,
      `  curl -s http://127.0.0.1:${port}/health/deep`,
      '(curl keeps the __Host- cookie over plain http on 127.0.0.1; a browser wants https for it.)',
      '',
      'the environment the processes run with (to run an entry point yourself, e.g. with tsx):',
      ...Object.entries(deployment.env).filter(([k]) => /^(S2M_|AWS_|SHOP_)/.test(k)).map(([k, v]) => `  export ${k}=${v}`),
      // What a fleet's environment file sets per fleet (startShopProcess sets them per process).
      '  # and for src/web.ts (on a port of its own: this one serves the running web process)',
      `  export S2M_ROLE=web S2M_SERVICE=web S2M_PORT=${Number(port) + 1} S2M_HEALTH_PATH=/health S2M_DEEP_HEALTH_PATH=/health/deep`,
      '  # or for src/worker.ts',
      '  export S2M_ROLE=worker S2M_SERVICE=jobs',
      '',
      'Ctrl-C stops everything.',
    ].join('\n'));
  } catch (e) {
    await stop();
    throw e;
  }
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? String(e));
  process.exitCode = 1;
});
