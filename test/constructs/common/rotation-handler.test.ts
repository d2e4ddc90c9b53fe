import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ROTATION_HANDLER_SOURCE } from '../../../constructs/common';

type Call = [string, Record<string, unknown>];
interface Secret { versions: Record<string, { stages: string[]; value?: string }>; rotationEnabled: boolean }

/** Loads the inline source as Lambda would (CommonJS), with its environment. */
function load(env: Record<string, string>) {
  const module = { exports: {} as Record<string, unknown> };
  runInNewContext(ROTATION_HANDLER_SOURCE, { module, exports: module.exports, require: () => ({}), process: { env }, console, setTimeout, JSON, Object, Error, Number });
  return module.exports.rotate as (event: Record<string, string>, clients: unknown, sleep: (ms: number) => Promise<void>) => Promise<void>;
}

/** An in-memory Secrets Manager and ElastiCache: enough of each API for the four steps. */
function fakeAws(secret: Secret, user?: { statuses: string[]; passwordCount: number }) {
  const calls: Call[] = [];
  const notFound = () => Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
  const sm = async (op: string, input: Record<string, unknown>) => {
    calls.push([op, input]);
    switch (op) {
      case 'DescribeSecret':
        return { RotationEnabled: secret.rotationEnabled, VersionIdsToStages: Object.fromEntries(Object.entries(secret.versions).map(([v, x]) => [v, [...x.stages]])) };
      case 'GetSecretValue': {
        const found = Object.entries(secret.versions).find(([v, x]) => (input.VersionId === undefined || v === input.VersionId) && x.stages.includes(input.VersionStage as string));
        if (!found || found[1].value === undefined) throw notFound();
        return { SecretString: found[1].value };
      }
      case 'GetRandomPassword':
        return { RandomPassword: 'N'.repeat(input.PasswordLength as number) };
      case 'PutSecretValue':
        secret.versions[input.ClientRequestToken as string] = { stages: input.VersionStages as string[], value: input.SecretString as string };
        return {};
      case 'UpdateSecretVersionStage': {
        for (const x of Object.values(secret.versions)) x.stages = x.stages.filter((s) => s !== 'AWSCURRENT');
        secret.versions[input.RemoveFromVersionId as string].stages.push('AWSPREVIOUS');
        secret.versions[input.MoveToVersionId as string].stages = ['AWSCURRENT'];
        return {};
      }
      default:
        throw new Error(`unexpected ${op}`);
    }
  };
  const ec = async (op: string, input: Record<string, unknown>) => {
    calls.push([op, input]);
    if (!user) throw new Error('no ElastiCache expected');
    if (op === 'DescribeUsers') {
      const status = user.statuses.length > 1 ? user.statuses.shift()! : user.statuses[0];
      return { Users: [{ UserId: input.UserId, Status: status, Authentication: { Type: 'password', PasswordCount: user.passwordCount } }] };
    }
    if (op === 'ModifyUser') {
      user.passwordCount = (input.AuthenticationMode as { Passwords: string[] }).Passwords.length;
      return {};
    }
    throw new Error(`unexpected ${op}`);
  };
  return { calls, clients: { sm, ec }, sleeps: [] as number[] };
}

const event = (Step: string) => ({ SecretId: 'arn:secret', ClientRequestToken: 'v2', Step });
const current = () => ({ v1: { stages: ['AWSCURRENT'], value: JSON.stringify({ username: 'app', password: 'old-password' }) } });

describe('the generated-secret rotation function (inline source, run as Lambda would)', () => {
  it('rotates an ElastiCache user\'s password through the four steps, the old password valid until the next rotation', async () => {
    const rotate = load({ FIELD: 'password', USER_ID: 'shop-cache-app', LENGTH: '32' });
    const secret: Secret = { rotationEnabled: true, versions: { ...current(), v2: { stages: ['AWSPENDING'] } } };
    const user = { statuses: ['modifying', 'active'], passwordCount: 1 };
    const aws = fakeAws(secret, user);
    const sleep = async (ms: number) => { aws.sleeps.push(ms); };
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) await rotate(event(step), aws.clients, sleep);

    // the new version keeps the other keys and holds a generated password of the configured length
    expect(JSON.parse(secret.versions.v2.value!)).toEqual({ username: 'app', password: 'N'.repeat(32) });
    expect(aws.calls.find(([op]) => op === 'GetRandomPassword')![1]).toEqual({ PasswordLength: 32, ExcludePunctuation: true, IncludeSpace: false });
    // the user holds both passwords: connected clients and clients that read the secret before keep working
    const modify = aws.calls.find(([op]) => op === 'ModifyUser')![1];
    expect(modify).toEqual({ UserId: 'shop-cache-app', AuthenticationMode: { Type: 'password', Passwords: ['old-password', 'N'.repeat(32)] } });
    // it waited for the user to leave 'modifying' before changing it
    expect(aws.sleeps).toEqual([5000]);
    expect(secret.versions.v2.stages).toEqual(['AWSCURRENT']);
    expect(secret.versions.v1.stages).toEqual(['AWSPREVIOUS']);
  });

  it('generates a key with no ElastiCache call when no user is given', async () => {
    const rotate = load({ FIELD: 'key', LENGTH: '64' });
    const secret: Secret = { rotationEnabled: true, versions: { v1: { stages: ['AWSCURRENT'], value: JSON.stringify({ key: 'k1' }) }, v2: { stages: ['AWSPENDING'] } } };
    const aws = fakeAws(secret);
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) await rotate(event(step), aws.clients, async () => undefined);
    expect(JSON.parse(secret.versions.v2.value!)).toEqual({ key: 'N'.repeat(64) });
    expect(aws.calls.map(([op]) => op)).not.toContain('ModifyUser');
    expect(secret.versions.v2.stages).toEqual(['AWSCURRENT']);
  });

  it('does not generate a second value when createSecret is retried', async () => {
    const rotate = load({ FIELD: 'key' });
    const secret: Secret = { rotationEnabled: true, versions: { v1: { stages: ['AWSCURRENT'], value: '{"key":"k1"}' }, v2: { stages: ['AWSPENDING'], value: '{"key":"k2"}' } } };
    const aws = fakeAws(secret);
    await rotate(event('createSecret'), aws.clients, async () => undefined);
    expect(aws.calls.map(([op]) => op)).not.toContain('PutSecretValue');
    expect(secret.versions.v2.value).toBe('{"key":"k2"}');
  });

  it('does nothing for a version that is already current, and refuses one that is not pending or rotation that is off', async () => {
    const rotate = load({ FIELD: 'key' });
    const done = fakeAws({ rotationEnabled: true, versions: { v2: { stages: ['AWSCURRENT'], value: '{"key":"k"}' } } });
    await rotate(event('finishSecret'), done.clients, async () => undefined);
    expect(done.calls.map(([op]) => op)).toEqual(['DescribeSecret']);
    await expect(rotate(event('createSecret'), fakeAws({ rotationEnabled: true, versions: { v2: { stages: ['AWSPREVIOUS'] } } }).clients, async () => undefined)).rejects.toThrow(/is not AWSPENDING/);
    await expect(rotate(event('createSecret'), fakeAws({ rotationEnabled: false, versions: {} }).clients, async () => undefined)).rejects.toThrow(/rotation is not enabled/);
  });

  it('fails the test step when the user does not hold both passwords, and gives up on a user that stays busy', async () => {
    const rotate = load({ FIELD: 'password', USER_ID: 'u' });
    const secret = (): Secret => ({ rotationEnabled: true, versions: { ...current(), v2: { stages: ['AWSPENDING'], value: '{"password":"p2"}' } } });
    await expect(rotate(event('testSecret'), fakeAws(secret(), { statuses: ['active'], passwordCount: 1 }).clients, async () => undefined)).rejects.toThrow(/does not hold the current and the pending password/);
    const busy = fakeAws(secret(), { statuses: ['modifying'], passwordCount: 1 });
    await expect(rotate(event('setSecret'), busy.clients, async (ms) => { busy.sleeps.push(ms); })).rejects.toThrow(/not active after 3 minutes/);
    expect(busy.sleeps).toHaveLength(36);
    expect(busy.calls.map(([op]) => op)).not.toContain('ModifyUser');
  });
});
