import { describe, expect, it } from 'vitest';
import { clearSessionCookie, parseCookies, readCookie, serializeCookie, sessionCookie } from '../../../lib/runtime';

describe('serializeCookie', () => {
  it('defaults to Secure, HttpOnly, SameSite=Lax, Path=/', () => {
    expect(serializeCookie('id', 'abc')).toBe('id=abc; Path=/; Secure; HttpOnly; SameSite=Lax');
    expect(serializeCookie('id', 'abc', { maxAgeSeconds: 60, sameSite: 'Strict', domain: 'example.com', path: '/app' }))
      .toBe('id=abc; Max-Age=60; Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=Strict');
  });

  it.each([
    ['bad name', 'v', {}, /invalid cookie name \(got: "bad name"\)/],
    ['id', 'a;b', {}, /characters a cookie cannot hold \(got: "a;b"\)/],
    ['id', 'v', { sameSite: 'None', secure: false }, /sameSite None requires secure/],
    ['id', 'v', { path: 'app' }, /path must start with "\/"/],
    ['__Host-id', 'v', { domain: 'example.com' }, /a __Host- cookie needs secure, path "\/" and no domain/],
    ['__Host-id', 'v', { path: '/x' }, /a __Host- cookie needs secure, path "\/" and no domain/],
    ['__Secure-id', 'v', { secure: false }, /a __Secure- cookie needs secure \(got: secure false\)/],
    ['id', 'v', { maxAgeSeconds: -1 }, /maxAgeSeconds must be a whole number >= 0 \(got: -1\)/],
  ] as const)('refuses %s=%s %j', (name, value, options, message) => {
    expect(() => serializeCookie(name, value, options)).toThrow(message);
  });
});

describe('parseCookies / readCookie', () => {
  it('reads a Cookie header, first occurrence wins, quotes stripped', () => {
    const header = 'a=1; __Host-s2m-session=v1.abc.def; b="2"; a=3; junk; =x';
    expect(Object.fromEntries(parseCookies(header))).toEqual({ 'a': '1', '__Host-s2m-session': 'v1.abc.def', 'b': '2' });
    expect(readCookie(header, '__Host-s2m-session')).toBe('v1.abc.def');
    expect(readCookie(undefined, 'a')).toBeUndefined();
  });
});

describe('sessionCookie / clearSessionCookie', () => {
  it('sets the session cookie for the absolute lifetime and clears it', () => {
    expect(sessionCookie({ maxAgeSeconds: 604_800 }, 'tok')).toBe('__Host-s2m-session=tok; Max-Age=604800; Path=/; Secure; HttpOnly; SameSite=Lax');
    expect(clearSessionCookie()).toBe('__Host-s2m-session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax');
    expect(sessionCookie({ maxAgeSeconds: 10 }, 'tok', { name: 'sid', sameSite: 'Strict' })).toBe('sid=tok; Max-Age=10; Path=/; Secure; HttpOnly; SameSite=Strict');
  });
});
