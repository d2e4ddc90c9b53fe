import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { motoClients, putParameters } from './services/aws';
import { sleep, spawnEventChild } from './services';

const services = inject('services');

describe('a runtime process on a fleet, after SIGTERM', () => {
  it('exits a second before S2M_STOP_TIMEOUT when closing hangs (systemd would kill it then), saying so', async () => {
    // GIVEN a runtime process whose close never ends (a pool waiting on a database that stopped answering), on a
    // fleet whose unit gives it 3 s after SIGTERM
    const prefix = `/it-shutdown-${randomBytes(4).toString('hex')}`;
    await putParameters(motoClients(services).ssm, { [`${prefix}/queues/jobs/url`]: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs' });
    const { child, events, stderr: errors, exited } = spawnEventChild<{ event: string; message?: string }>(join(__dirname, 'fixtures', 'runtime-child.ts'), {
      MOTO_ENDPOINT: services.moto.endpoint, S2M_PARAMETER_PREFIX: prefix, S2M_REGION: services.moto.region, S2M_STOP_TIMEOUT: '3', S2M_ROLE: 'web', S2M_SERVICE: 'web',
    });
    try {
      for (let i = 0; i < 300 && !events.some((e) => e.event === 'ready' || e.event === 'failed'); i++) await sleep(50);
      expect(events.find((e) => e.event === 'failed'), errors()).toBeUndefined();
      expect(events.some((e) => e.event === 'ready'), errors()).toBe(true);
      // WHEN it gets SIGTERM
      const signalled = Date.now();
      process.kill(child.pid!, 'SIGTERM');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
      // THEN it exits on its own about 2 s later (not never, not at systemd's kill), non-zero, having said why
      expect(code).not.toBe('timeout');
      const took = Date.now() - signalled;
      expect(took).toBeGreaterThanOrEqual(1_800);
      expect(took).toBeLessThan(4_500);
      expect(code).toBe(1);
      expect(events).toContainEqual({ event: 'error', message: 'shutdown did not finish within S2M_STOP_TIMEOUT (3 s) less 1 s: exiting before systemd kills the process' });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
