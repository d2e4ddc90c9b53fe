import { describe, expect, it } from 'vitest';
import { CacheClient, cacheClientOptionsFromParameters, isAuthError } from '../../../lib/runtime';

describe('cacheClientOptionsFromParameters', () => {
  it('maps the published cache parameters to client options', () => {
    const password = async (): Promise<string> => 'p';
    expect(cacheClientOptionsFromParameters(
      { endpoint: 'clustercfg.shop.abc.use1.cache.amazonaws.com', port: '6379', tls: 'required', 'auth-mode': 'rbac', username: 'app', 'secret-arn': 'arn:aws:secretsmanager:us-east-1:1:secret:x' },
      { password },
    )).toEqual({ host: 'clustercfg.shop.abc.use1.cache.amazonaws.com', port: 6379, tls: true, authMode: 'rbac', username: 'app', password });
    expect(cacheClientOptionsFromParameters({ endpoint: 'h', 'auth-mode': 'auth-token' }, { password })).toEqual({ host: 'h', tls: true, authMode: 'auth-token', password });
  });

  it.each([
    [{}, /^cache\/endpoint: the cache endpoint is missing \(got: undefined\)$/],
    [{ endpoint: 'h', port: '63x9' }, /^cache\/port: must be a port number \(got: "63x9"\)$/],
    [{ endpoint: 'h', tls: 'yes' }, /^cache\/tls: must be required, preferred or disabled \(got: "yes"\)$/],
    [{ endpoint: 'h', 'auth-mode': 'iam' }, /^cache\/auth-mode: must be rbac or auth-token \(got: "iam"\)$/],
    [{ endpoint: 'h', 'auth-mode': 'rbac' }, /^cache\/username: auth-mode rbac needs the RBAC user name \(got: undefined\)$/],
  ])('fails for %j naming the parameter and the value', (params, message) => {
    expect(() => cacheClientOptionsFromParameters(params)).toThrow(message);
  });
});

describe('CacheClient options', () => {
  const fakeIoredis = {} as typeof import('ioredis');
  it.each([
    [{ host: '' }, /host must be the cache endpoint host name \(got: ""\)/],
    [{ host: 'h', port: 0 }, /port must be an integer from 1 to 65535 \(got: 0\)/],
    [{ host: 'h', authMode: 'rbac' as const, password: 'p' }, /authMode rbac needs a username \(got: undefined\)/],
    [{ host: 'h', username: 'u' }, /authMode rbac needs a password/],
    [{ host: 'h', authMode: 'auth-token' as const, username: 'u', password: 'p' }, /auth-token takes no username/],
    [{ host: 'h', commandTimeoutMs: -1 }, /commandTimeoutMs must be a positive number of milliseconds \(got: -1\)/],
  ])('fails for %j before connecting', async (options, message) => {
    await expect(CacheClient.create({ ioredis: fakeIoredis, ...options })).rejects.toThrow(message);
  });
});

describe('isAuthError', () => {
  it.each([
    ['WRONGPASS invalid username-password pair or user is disabled.', true],
    ['NOAUTH Authentication required.', true],
    ['ERR invalid password', true],
    ['Connection is closed.', false],
    ['MOVED 3999 127.0.0.1:6381', false],
  ])('%s → %s', (message, expected) => {
    expect(isAuthError(new Error(message))).toBe(expected);
  });

  it('looks into the last node error of a cluster', () => {
    expect(isAuthError(Object.assign(new Error('Failed to refresh slots cache.'), { lastNodeError: new Error('WRONGPASS x') }))).toBe(true);
  });
});

describe('CacheClient connection errors', () => {
  it('passes at most one per 5 s to onError, the application\'s too (an outage reports several a second), and counts them all', async () => {
    const { EventEmitter } = await import('node:events');
    const made: Array<InstanceType<typeof EventEmitter>> = [];
    class Redis extends EventEmitter {
      public status = 'connecting';
      public constructor() {
        super();
        made.push(this);
      }
      public connect(): Promise<void> { return new Promise(() => undefined); }
      public disconnect(): void {}
    }
    const reported: string[] = [];
    const cache = await CacheClient.create({ ioredis: { Redis } as unknown as typeof import('ioredis'), host: 'h', tls: false, clusterMode: false, onError: (e) => reported.push(e.message) });
    for (let i = 0; i < 20; i++) made[0]!.emit('error', new Error(`Connection is closed (${i})`));
    expect(reported).toEqual(['Connection is closed (0)']);
    expect(cache.stats().errors).toBe(20);
    cache.disconnect();
  });
});
