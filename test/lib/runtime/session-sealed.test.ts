import { createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SealedSessionStore, SessionStoreUnavailableError, SessionTooLargeError, deriveSessionKey, openSessionToken, sealSessionToken, type SessionSecrets,
} from '../../../lib/runtime';

const OLD = 'old-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const NEW = 'new-secret-0123456789abcdefghijklmnopqrstuvwxyz';

/** A store on a settable clock (ms). */
function store(secrets: SessionSecrets | (() => Promise<SessionSecrets>), clock: { t: number }, extra: Partial<ConstructorParameters<typeof SealedSessionStore>[0]> = {}) {
  return new SealedSessionStore<{ userId: string }>({ secrets, now: () => clock.t, idleTimeoutSeconds: 3_600, absoluteTimeoutSeconds: 86_400, ...extra });
}

/** Flips one bit of the sealed body (its middle character), keeping it valid base64url. */
function tamper(token: string): string {
  const [v, kid, body] = token.split('.');
  const bytes = Buffer.from(body!, 'base64url');
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  return `${v}.${kid}.${bytes.toString('base64url')}`;
}

describe('deriveSessionKey', () => {
  it('derives the same key and id from the same secret, different ones from another', () => {
    const [a, b, c] = [deriveSessionKey(OLD), deriveSessionKey(OLD), deriveSessionKey(NEW)];
    expect(a.key.equals(b.key)).toBe(true);
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(a.key).toHaveLength(32);
    expect(a.key.equals(c.key)).toBe(false);
    expect(a.id).not.toBe(c.id);
  });

  it('refuses a short secret without printing it', () => {
    expect(() => deriveSessionKey('short-secret')).toThrow(/at least 32 characters \(got: 12 characters\)/);
  });
});

describe('sealSessionToken / openSessionToken', () => {
  const key = deriveSessionKey(OLD);
  const keys = new Map([[key.id, key]]);
  const session = { c: 1, i: 2, e: 3, d: { userId: 'u-1', roles: ['admin'] } };

  it('round-trips, and the ciphertext hides the data', () => {
    const token = sealSessionToken(key, session);
    expect(token).toMatch(new RegExp(`^v1\\.${key.id}\\.[A-Za-z0-9_-]+$`));
    expect(token).not.toContain('u-1');
    expect(Buffer.from(token.split('.')[2]!, 'base64url').toString('latin1')).not.toContain('admin');
    expect(openSessionToken(keys, token)).toEqual({ session, keyId: key.id });
  });

  it('uses a fresh IV per token', () => {
    expect(sealSessionToken(key, session)).not.toBe(sealSessionToken(key, session));
  });

  it('rejects a tampered body, a swapped key id and garbage', () => {
    const token = sealSessionToken(key, session);
    expect(openSessionToken(keys, tamper(token))).toEqual({ rejected: 'tampered', keyId: key.id });
    const other = deriveSessionKey(NEW);
    // Relabel the token with another known key id: the associated data no longer matches.
    const relabelled = token.replace(`.${key.id}.`, `.${other.id}.`);
    expect(openSessionToken(new Map([[key.id, key], [other.id, other]]), relabelled)).toMatchObject({ rejected: 'tampered' });
    expect(openSessionToken(keys, relabelled)).toEqual({ rejected: 'unknown-key', keyId: other.id });
    // (v3 is no format; a v2 body too short for its salt, IV and tag is malformed)
    for (const bad of ['', 'v1', 'v3.AAAAAAAA.AAAA', `v1.${key.id}.`, `v1.${key.id}.AAAA`, `v2.${key.id}.${'A'.repeat(48)}`, 'v1.short.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', `v1.${key.id}.a b`]) {
      expect(openSessionToken(keys, bad)).toMatchObject({ rejected: 'malformed' });
    }
  });

  it('seals v2 tokens each with a key of its own, derived from a salt the token carries, and opens both formats', () => {
    // WHEN the same session is sealed as v2 twice and as v1
    const [a, b, v1] = [sealSessionToken(key, session, 2), sealSessionToken(key, session, 2), sealSessionToken(key, session)];
    // THEN v2 tokens name their format and key id, carry 16 bytes more (the salt), and open
    expect(a).toMatch(new RegExp(`^v2\\.${key.id}\\.[A-Za-z0-9_-]+$`));
    expect(Buffer.from(a.split('.')[2]!, 'base64url').length).toBe(Buffer.from(v1.split('.')[2]!, 'base64url').length + 16);
    expect(openSessionToken(keys, a)).toEqual({ session, keyId: key.id });
    expect(openSessionToken(keys, b)).toEqual({ session, keyId: key.id });
    expect(openSessionToken(keys, v1)).toEqual({ session, keyId: key.id });
    // AND their salts differ, and neither is sealed with the secret's key itself (so no key seals two tokens)
    const body = Buffer.from(a.split('.')[2]!, 'base64url');
    expect(body.subarray(0, 16).equals(Buffer.from(b.split('.')[2]!, 'base64url').subarray(0, 16))).toBe(false);
    const direct = createDecipheriv('aes-256-gcm', key.key, body.subarray(16, 28));
    direct.setAAD(Buffer.from(`v2.${key.id}`));
    direct.setAuthTag(body.subarray(body.length - 16));
    expect(() => Buffer.concat([direct.update(body.subarray(28, body.length - 16)), direct.final()])).toThrow();
    // AND a changed salt, a changed body or a token relabelled v1 is rejected
    const salted = Buffer.from(body);
    salted[0]! ^= 0x01;
    expect(openSessionToken(keys, `v2.${key.id}.${salted.toString('base64url')}`)).toEqual({ rejected: 'tampered', keyId: key.id });
    expect(openSessionToken(keys, tamper(a))).toEqual({ rejected: 'tampered', keyId: key.id });
    expect(openSessionToken(keys, a.replace(/^v2\./, 'v1.'))).toEqual({ rejected: 'tampered', keyId: key.id });
  });
});

describe('SealedSessionStore', () => {
  it('round-trips a session and keeps the same token until it is due for renewal', async () => {
    const clock = { t: 1_000_000_000_000 };
    const s = store({ current: OLD }, clock);
    const token = await s.create({ userId: 'u-1' });
    const loaded = await s.load(token);
    expect(loaded).toMatchObject({ data: { userId: 'u-1' }, token, renewed: false });
    expect(loaded!.expiresAt.getTime()).toBe(clock.t + 3_600_000);
    clock.t += 299_000;
    expect((await s.load(token))!.renewed).toBe(false);
  });

  it('slides the idle timeout by re-issuing the token, up to the absolute lifetime', async () => {
    const clock = { t: 1_000_000_000_000 };
    const s = store({ current: OLD }, clock);
    const created = clock.t;
    let token = await s.create({ userId: 'u-1' });
    // Active every 50 minutes: the idle timeout (60 min) never passes...
    for (let i = 0; i < 28; i++) {
      clock.t += 50 * 60_000;
      const loaded = await s.load(token);
      expect(loaded, `load ${i}`).toBeDefined();
      expect(loaded!.renewed).toBe(true);
      expect(loaded!.createdAt.getTime()).toBe(created);
      token = loaded!.token;
    }
    // ...but the absolute lifetime (24 h) does.
    clock.t += 50 * 60_000;
    expect(clock.t - created).toBeGreaterThan(86_400_000);
    expect(await s.load(token)).toBeUndefined();
    expect(s.stats().rejected.expired).toBe(1);
  });

  it('expires an idle session', async () => {
    const clock = { t: 1_000_000_000_000 };
    const s = store({ current: OLD }, clock);
    const token = await s.create({ userId: 'u-1' });
    clock.t += 3_600_000;
    expect(await s.load(token)).toBeUndefined();
  });

  it('accepts a token issued by a server whose clock is ahead within the skew, not beyond', async () => {
    const ahead = { t: 1_000_000_030_000 };
    const far = { t: 1_000_000_120_000 };
    const here = { t: 1_000_000_000_000 };
    const tokenAhead = await store({ current: OLD }, ahead).create({ userId: 'u' });
    const tokenFar = await store({ current: OLD }, far).create({ userId: 'u' });
    const s = store({ current: OLD }, here);
    expect(await s.load(tokenAhead)).toBeDefined();
    expect(await s.load(tokenFar)).toBeUndefined();
    expect(s.stats().rejected['not-yet-valid']).toBe(1);
  });

  it('accepts a token sealed with the previous secret and re-issues it with the current one', async () => {
    const clock = { t: 1_000_000_000_000 };
    const token = await store({ current: OLD }, clock).create({ userId: 'u-1' });
    const rotated = store({ current: NEW, previous: OLD }, clock);
    const loaded = await rotated.load(token);
    expect(loaded).toMatchObject({ data: { userId: 'u-1' }, renewed: true });
    expect(loaded!.token.split('.')[1]).toBe(deriveSessionKey(NEW).id);
    expect(rotated.stats().previousKeyAccepted).toBe(1);
    // Once the previous secret is dropped, old tokens are refused.
    expect(await store({ current: NEW }, clock).load(token)).toBeUndefined();
  });

  it('re-reads the secrets when a token names an unknown key id (another server rotated first), rate-limited', async () => {
    const clock = { t: 1_000_000_000_000 };
    let secrets: SessionSecrets = { current: OLD };
    let reads = 0;
    const lagging = store(async () => { reads++; return secrets; }, clock);
    await lagging.create({ userId: 'warm-up' });
    expect(reads).toBe(1);
    secrets = { current: NEW, previous: OLD };
    const fromRotatedServer = await store({ current: NEW, previous: OLD }, clock).create({ userId: 'u-2' });
    clock.t += 10_000;
    expect((await lagging.load(fromRotatedServer))?.data).toEqual({ userId: 'u-2' });
    expect(reads).toBe(2);
    // A forged key id does not make every request re-read the secret store.
    const forged = fromRotatedServer.replace(/^v1\.[^.]+\./, 'v1.AAAAAAAA.');
    for (let i = 0; i < 5; i++) expect(await lagging.load(forged)).toBeUndefined();
    expect(reads).toBe(2);
    expect(lagging.stats().rejected['unknown-key']).toBe(5);
  });

  it('does not re-read a secret store that failed on every request before any key was read: at most once a second, answering 503', async () => {
    const clock = { t: 1_000_000_000_000 };
    let reads = 0;
    let down = true;
    const s = store(async () => {
      reads++;
      if (down) throw new Error('ThrottlingException: Rate exceeded');
      return { current: NEW };
    }, clock);
    for (let i = 0; i < 20; i++) {
      await expect(s.load('v1.AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(SessionStoreUnavailableError);
      await expect(s.create({ userId: 'u' })).rejects.toThrow(/ThrottlingException/);
      clock.t += 10;
    }
    expect(reads).toBe(1);
    clock.t += 1_000;
    down = false;
    expect(await s.load(await s.create({ userId: 'u' }))).toMatchObject({ data: { userId: 'u' } });
    expect(reads).toBe(2);
  });

  it('rejects tampered tokens and counts them', async () => {
    const clock = { t: 1_000_000_000_000 };
    const s = store({ current: OLD }, clock);
    const token = await s.create({ userId: 'u-1' });
    expect(await s.load(tamper(token))).toBeUndefined();
    expect(await s.load('not-a-token')).toBeUndefined();
    expect(await s.load(undefined)).toBeUndefined();
    expect(s.stats().rejected).toMatchObject({ tampered: 1, malformed: 1 });
  });

  it('saves new data under a new token and keeps the creation time', async () => {
    const clock = { t: 1_000_000_000_000 };
    const s = store({ current: OLD }, clock);
    const token = await s.create({ userId: 'u-1' });
    clock.t += 60_000;
    const saved = await s.save(token, { userId: 'u-2' });
    expect(saved).not.toBe(token);
    const loaded = await s.load(saved!);
    expect(loaded).toMatchObject({ data: { userId: 'u-2' } });
    expect(loaded!.createdAt.getTime()).toBe(1_000_000_000_000);
    expect(await s.save(tamper(token), { userId: 'x' })).toBeUndefined();
  });

  it('lets validate revoke sessions created before a cut-off', async () => {
    const clock = { t: 1_000_000_000_000 };
    const validAfter = new Map([['u-1', new Date(1_000_000_500_000)]]);
    const s = store({ current: OLD }, clock, { validate: ({ data, createdAt }) => createdAt >= (validAfter.get((data as { userId: string }).userId) ?? new Date(0)) });
    const before = await s.create({ userId: 'u-1' });
    clock.t += 600_000;
    const after = await s.create({ userId: 'u-1' });
    expect(await s.load(before)).toBeUndefined();
    expect(await s.load(after)).toBeDefined();
    expect(s.stats().rejected.invalidated).toBe(1);
  });

  it('issues v1 tokens unless tokenVersion is 2, and reads both whatever it issues (a fleet in the middle of a rollout)', async () => {
    const clock = { t: 1_000_000_000_000 };
    const v1 = store({ current: OLD }, clock);
    const v2 = store({ current: OLD }, clock, { tokenVersion: 2 });
    const [t1, t2] = [await v1.create({ userId: 'u-1' }), await v2.create({ userId: 'u-2' })];
    expect(t1).toMatch(/^v1\./);
    expect(t2).toMatch(/^v2\./);
    expect(await v1.load(t2)).toMatchObject({ data: { userId: 'u-2' }, renewed: false });
    expect(await v2.load(t1)).toMatchObject({ data: { userId: 'u-1' }, renewed: false });
    // a renewal re-issues in the store's own format
    clock.t += 301_000;
    expect((await v2.load(t1))!.token).toMatch(/^v2\./);
    expect(() => store({ current: OLD }, clock, { tokenVersion: 3 as never })).toThrow('SealedSessionStore: tokenVersion must be 1 or 2 (got: 3)');
  });

  it('refuses data whose token would not fit a cookie', async () => {
    const s = store({ current: OLD }, { t: 1_000_000_000_000 });
    await expect(s.create({ userId: 'x'.repeat(4_000) })).rejects.toThrow(SessionTooLargeError);
    await expect(s.create({ userId: 'x'.repeat(4_000) })).rejects.toThrow(/above maxTokenBytes \(3800\): keep ids in the session/);
    const token = await s.create({ userId: 'x'.repeat(2_500) });
    expect(token.length).toBeLessThanOrEqual(3_800);
  });

  it.each([
    [{ idleTimeoutSeconds: 0 }, /idleTimeoutSeconds must be a whole number of seconds >= 1 \(got: 0\)/],
    [{ idleTimeoutSeconds: 100, absoluteTimeoutSeconds: 50 }, /absoluteTimeoutSeconds must be a whole number of seconds >= idleTimeoutSeconds \(100\) \(got: 50\)/],
    [{ renewAfterSeconds: 7_200 }, /renewAfterSeconds must not exceed idleTimeoutSeconds \(3600\) \(got: 7200\)/],
    [{ secrets: { current: 'short' } }, /at least 32 characters \(got: 5 characters\)/],
  ])('fails for %j', (extra, message) => {
    expect(() => store({ current: OLD }, { t: 0 }, extra as never)).toThrow(message);
  });
});
