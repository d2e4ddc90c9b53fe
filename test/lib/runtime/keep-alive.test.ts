import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvironmentError, readEnvironment } from '../../../lib/runtime/env';
import { SERVE_DEFAULTS, keepAliveTimeoutFor, serveHttp } from '../../../lib/runtime/http';
import { createRuntime } from '../../../lib/runtime/runtime';

/**
 * Behind a load balancer, the server must keep an idle connection open longer than the load balancer does, or the
 * load balancer sends the next request on a connection the server is closing and answers 502 (ELB User Guide, "HTTP
 * 502: Bad gateway"). The fleet publishes the ALB's idle timeout (web.idleTimeoutSeconds, up to 4000 s).
 */
const dir = mkdtempSync(join(tmpdir(), 's2m-keep-alive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function envFile(lines: string[]): string {
  const file = join(dir, `env-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('keepAliveTimeoutFor', () => {
  it.each<[string, { loadBalancerIdleTimeoutMs?: number; keepAliveTimeoutMs?: number }, number]>([
    ['no idle timeout given: above an ALB\'s default 60 s', {}, SERVE_DEFAULTS.keepAliveTimeoutMs],
    ['a short idle timeout: never below 65 s', { loadBalancerIdleTimeoutMs: 10_000 }, 65_000],
    ['the ALB default', { loadBalancerIdleTimeoutMs: 60_000 }, 65_000],
    ['15 minutes', { loadBalancerIdleTimeoutMs: 900_000 }, 905_000],
    ['the ALB maximum, 4000 s', { loadBalancerIdleTimeoutMs: 4_000_000 }, 4_005_000],
    ['an explicit keep-alive above the idle timeout', { loadBalancerIdleTimeoutMs: 120_000, keepAliveTimeoutMs: 121_000 }, 121_000],
  ])('%s', (_, options, expected) => {
    expect(keepAliveTimeoutFor(options)).toBe(expected);
  });

  it.each<[string, { loadBalancerIdleTimeoutMs?: number; keepAliveTimeoutMs?: number }, RegExp]>([
    ['a keep-alive at or below the idle timeout', { loadBalancerIdleTimeoutMs: 300_000, keepAliveTimeoutMs: 300_000 }, /keepAliveTimeoutMs must be whole ms above the load balancer's idle timeout \(300000 ms\).*\(got: 300000\)/],
    ['an idle timeout above an ALB\'s range', { loadBalancerIdleTimeoutMs: 4_001_000 }, /loadBalancerIdleTimeoutMs must be whole ms from 1000 to 4000000.*\(got: 4001000\)/],
  ])('fails on %s, naming the option and the value', (_, options, message) => {
    expect(() => keepAliveTimeoutFor(options)).toThrow(message);
  });
});

describe('serveHttp behind a load balancer with a long idle timeout', () => {
  it('keeps connections open longer than the load balancer, and waits for headers longer still', async () => {
    const service = await serveHttp((_req, res) => { res.end(); }, { port: 0, host: '127.0.0.1', loadBalancerIdleTimeoutMs: 900_000 });
    try {
      expect(service.server.keepAliveTimeout).toBe(905_000);
      expect(service.server.headersTimeout).toBeGreaterThan(service.server.keepAliveTimeout);
    } finally {
      await service.close();
    }
  });

  it('refuses, before listening, a keep-alive the load balancer would outlast', () => {
    expect(() => serveHttp(() => undefined, { port: 0, loadBalancerIdleTimeoutMs: 120_000, keepAliveTimeoutMs: 65_000 })).toThrow(RangeError);
  });
});

describe('the environment file\'s S2M_LOAD_BALANCER_IDLE_TIMEOUT', () => {
  const base = ['S2M_PARAMETER_PREFIX=/shop', 'S2M_REGION=eu-west-1'];

  it('is read as seconds, and absent for workers', () => {
    expect(readEnvironment({ file: envFile([...base, 'S2M_LOAD_BALANCER_IDLE_TIMEOUT=900']), env: {} }).loadBalancerIdleTimeoutSeconds).toBe(900);
    expect(readEnvironment({ file: envFile(base), env: {} }).loadBalancerIdleTimeoutSeconds).toBeUndefined();
  });

  it.each([['0'], ['4001'], ['60s'], ['1.5']])('fails on %j, naming the variable and the file', (value) => {
    const file = envFile([...base, `S2M_LOAD_BALANCER_IDLE_TIMEOUT=${value}`]);
    expect(() => readEnvironment({ file, env: {} })).toThrow(EnvironmentError);
    expect(() => readEnvironment({ file, env: {} })).toThrow(`${file} (S2M_LOAD_BALANCER_IDLE_TIMEOUT): expected whole seconds 1-4000 (got: ${JSON.stringify(value)})`);
  });

  it('reads S2M_STOP_TIMEOUT as seconds, naming the variable and the file when it is not', () => {
    expect(readEnvironment({ file: envFile([...base, 'S2M_STOP_TIMEOUT=60']), env: {} }).stopTimeoutSeconds).toBe(60);
    expect(readEnvironment({ file: envFile(base), env: {} }).stopTimeoutSeconds).toBeUndefined();
    const file = envFile([...base, 'S2M_STOP_TIMEOUT=60s']);
    expect(() => readEnvironment({ file, env: {} })).toThrow(`${file} (S2M_STOP_TIMEOUT): expected whole seconds 1-86400 (got: "60s")`);
  });

  it('sets Runtime.serve\'s keep-alive above it', async () => {
    // GIVEN an instance whose load balancer keeps idle connections 15 minutes, and a topology with one queue only
    const ssm = mockClient(SSMClient);
    ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    ssm.on(GetParametersByPathCommand, { Path: '/shop/queues' }).resolves({ Parameters: [
      { Name: '/shop/queues/jobs/url', Value: 'https://sqs.eu-west-1.amazonaws.com/111111111111/shop-jobs' },
      { Name: '/shop/queues/jobs/arn', Value: 'arn:aws:sqs:eu-west-1:111111111111:shop-jobs' },
      { Name: '/shop/queues/jobs/name', Value: 'shop-jobs' },
    ] });
    const rt = await createRuntime({
      environmentFile: envFile([...base, 'S2M_ROLE=web', 'S2M_SERVICE=web', 'S2M_LOAD_BALANCER_IDLE_TIMEOUT=900', 'S2M_STOP_TIMEOUT=60']),
      topology: { ssm: new SSMClient({ region: 'eu-west-1' }), refreshIntervalMs: 3_600_000 },
      sessions: false,
      cache: false,
      signals: false,
    });
    try {
      // WHEN it serves
      const service = await rt.serve((_req, res) => { res.end(); }, { port: 0, host: '127.0.0.1' });
      // THEN an idle connection outlives the load balancer's
      expect(service.server.keepAliveTimeout).toBe(905_000);
      expect(service.server.headersTimeout).toBeGreaterThan(905_000);
      // AND in-flight requests may finish within the unit's stop timeout less 5 s (not the fixed 10 s)
      expect((service as unknown as { options: { drainTimeoutMs?: number } }).options.drainTimeoutMs).toBe(55_000);
    } finally {
      await rt.close();
      ssm.restore();
    }
  });
});
