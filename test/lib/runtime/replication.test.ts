import { describe, expect, it } from 'vitest';
import { CircuitBreaker, DbSession, clusterKey, parsePosition, replayablePosition } from '../../../lib/runtime/replication';

describe('parsePosition', () => {
  it.each([
    ['0/16B3748', 0x16b3748n],
    ['16/B374D848', (0x16n << 32n) | 0xb374d848n],
    ['FFFFFFFF/FFFFFFFF', 0xffffffffffffffffn],
    ['123456789012', 123456789012n],
  ])('parses %s', (text, value) => {
    expect(parsePosition(text)).toBe(value);
  });

  it('orders pg_lsn values numerically, not as text', () => {
    expect(parsePosition('0/A0000000') > parsePosition('0/9FFFFFFF')).toBe(true);
    expect(parsePosition('1/0') > parsePosition('0/FFFFFFFF')).toBe(true);
  });

  it.each(['', '0/', '/1', 'x/1', '1.5', '-1', '0/123456789'])('fails on %j, naming the value', (text) => {
    expect(() => parsePosition(text)).toThrow(`(got: ${JSON.stringify(text)})`);
  });
});

describe('replayablePosition', () => {
  const MiB = 1024n * 1024n;
  it.each([
    // a commit that ended on a page boundary: the insert position is past the next page's 24-byte header
    ['a page boundary', 5n * 8192n + 24n, 5n * 8192n],
    ['the first page boundary', 8192n + 24n, 8192n],
    ['a page boundary in a later 4 GiB', (0x16n << 32n) + 3n * 8192n + 24n, (0x16n << 32n) + 3n * 8192n],
    // at a 16 MiB segment's start the header is the long one, 40 bytes
    ['a segment boundary', 16n * MiB + 40n, 16n * MiB],
    ['a later segment boundary', 3n * 16n * MiB + 40n, 3n * 16n * MiB],
    ['a segment boundary past 4 GiB', (1n << 32n) + 40n, 1n << 32n],
    // anywhere else the position is what the standby reports
    ['inside a page', 5n * 8192n + 25n, 5n * 8192n + 25n],
    ['just after a page header with a record', 5n * 8192n + 40n, 5n * 8192n + 40n],
    ['the boundary itself', 5n * 8192n, 5n * 8192n],
    ['inside a segment\'s first page', 16n * MiB + 64n, 16n * MiB + 64n],
  ])('at %s: %s → %s', (_where, position, expected) => {
    expect(replayablePosition(position)).toBe(expected);
  });

  it('matches the insert position PostgreSQL reports for a write ending on a page boundary', () => {
    // pg_current_wal_insert_lsn() after a commit ending at 0/3000000 + 2 pages is 0/3004018
    expect(replayablePosition(parsePosition('0/3004018'))).toBe(parsePosition('0/3004000'));
    expect(replayablePosition(parsePosition('0/3000028'))).toBe(parsePosition('0/3000000'));
  });
});

describe('DbSession', () => {
  const clock = (start = 1_000_000) => {
    const c = { t: start, now: () => c.t };
    return c;
  };
  const a = clusterKey('a.cluster.example', 5432);
  const b = clusterKey('b.cluster.example', 5432);

  it('tracks the highest write position per cluster', () => {
    const c = clock();
    const s = new DbSession(60_000, c.now);
    expect(s.pendingWrite(a)).toBeUndefined();
    s.recordWrite(a, 100n);
    s.recordWrite(a, 50n); // an older position (a concurrent request finishing late) never lowers it
    s.recordWrite(b, 7n);
    expect(s.pendingWrite(a)).toEqual({ position: 100n, at: c.t });
    expect(s.pendingWrite(b)!.position).toBe(7n);
  });

  it('round-trips through its token, and forgets writes older than the window', () => {
    const c = clock();
    const s = new DbSession(60_000, c.now);
    s.recordWrite(a, 0x16b3748n);
    s.recordWrite(b, undefined); // a forwarded write: no position
    const restored = DbSession.fromToken(s.token(), 60_000, c.now);
    expect(restored.pendingWrite(a)).toEqual({ position: 0x16b3748n, at: c.t });
    expect(restored.pendingWrite(b)).toEqual({ position: undefined, at: c.t });
    c.t += 60_001;
    expect(restored.pendingWrite(a)).toBeUndefined();
    expect(restored.hasWrites).toBe(false);
    expect(restored.token()).toBe('v1');
  });

  it('is small: about 35 bytes per cluster written', () => {
    const s = new DbSession();
    s.recordWrite(a, 0xffffffffffffn);
    expect(s.token().length).toBeLessThan(45);
  });

  it.each([undefined, null, '', 'garbage', 'v2.abc', 'v1.nothex~1~1', 'v1.' + 'a'.repeat(12) + '~zz~1'])('starts empty from a malformed or foreign token %j', (token) => {
    const s = DbSession.fromToken(token);
    expect(s.hasWrites).toBe(false);
  });

  it('gives distinct keys to distinct clusters and ports', () => {
    expect(clusterKey('a', 5432)).not.toBe(clusterKey('a', 5433));
    expect(clusterKey('a', 5432)).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe('CircuitBreaker', () => {
  const make = (failureThreshold = 2, cooldownMs = 1000) => {
    const c = { t: 0 };
    return { c, b: new CircuitBreaker({ failureThreshold, cooldownMs, now: () => c.t }) };
  };

  it('opens after the threshold of consecutive failures, and a success in between resets the count', () => {
    const { b } = make(2);
    b.onFailure();
    b.onSuccess();
    b.onFailure();
    expect(b.state).toBe('closed');
    b.onFailure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
  });

  it('lets exactly one trial through after the cooldown; its success closes the circuit', () => {
    const { b, c } = make(1, 1000);
    b.onFailure();
    c.t = 999;
    expect(b.tryAcquire()).toBe(false);
    c.t = 1000;
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    b.onSuccess();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });

  it('reopens for a whole cooldown when the trial fails', () => {
    const { b, c } = make(3, 1000);
    b.onFailure();
    b.onFailure();
    b.onFailure();
    c.t = 1000;
    expect(b.tryAcquire()).toBe(true);
    b.onFailure();
    expect(b.state).toBe('open');
    c.t = 1999;
    expect(b.tryAcquire()).toBe(false);
    c.t = 2000;
    expect(b.tryAcquire()).toBe(true);
  });

  it.each([[0, 1], [1.5, 1], [1, -1]])('fails on threshold %s / cooldown %s', (failureThreshold, cooldownMs) => {
    expect(() => new CircuitBreaker({ failureThreshold, cooldownMs })).toThrow(/got: /);
  });
});
