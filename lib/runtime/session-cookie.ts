/**
 * Cookie helpers for sessions: `Set-Cookie` values with safe defaults, and reading a `Cookie` header.
 *
 * The default cookie is `__Host-s2m-session; Path=/; Secure; HttpOnly; SameSite=Lax`. The `__Host-` prefix makes
 * browsers refuse it unless it is Secure, has `Path=/` and no `Domain`, so a sibling subdomain cannot set or
 * overwrite it. `HttpOnly` keeps it from scripts; `SameSite=Lax` keeps it off cross-site subrequests and form
 * posts (not a full CSRF defence for state-changing GETs: do not have those).
 *
 * @module
 */

import { SESSION_COOKIE_NAME } from './contract';
import type { SessionStore } from './session';

/** Attributes of a cookie. */
export interface CookieOptions {
  /** `Max-Age` in seconds (0 deletes the cookie). @default - a browser-session cookie (no Max-Age) */
  readonly maxAgeSeconds?: number;
  /** `Secure`: sent over HTTPS only. @default true */
  readonly secure?: boolean;
  /** `HttpOnly`: invisible to scripts. @default true */
  readonly httpOnly?: boolean;
  /** `SameSite`. `None` requires `secure`. @default 'Lax' */
  readonly sameSite?: 'Strict' | 'Lax' | 'None';
  /** `Path`. @default '/' */
  readonly path?: string;
  /** `Domain` (not allowed with a `__Host-` name). @default - none: the cookie goes to the host that set it only */
  readonly domain?: string;
}

/** Name and attributes of the session cookie. */
export const SESSION_COOKIE_DEFAULTS = {
  name: SESSION_COOKIE_NAME,
  secure: true,
  httpOnly: true,
  sameSite: 'Lax',
  path: '/',
} as const;

// RFC 6265: token characters for names, cookie-octets for values.
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
const ATTRIBUTE = /^[\x20-\x3A\x3C-\x7E]+$/;

/**
 * A `Set-Cookie` header value.
 *
 * @param name - cookie name
 * @param value - cookie value (cookie-octets only: no spaces, quotes, commas, semicolons or backslashes)
 * @param options - attributes; see {@link CookieOptions}
 * @returns the header value
 * @throws RangeError for an invalid name, value or attribute, or a `__Host-`/`__Secure-` name whose attributes
 *   browsers would reject
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  const secure = options.secure ?? true;
  const httpOnly = options.httpOnly ?? true;
  const sameSite = options.sameSite ?? 'Lax';
  const path = options.path ?? '/';
  if (!NAME.test(name)) throw new RangeError(`serializeCookie: invalid cookie name (got: ${JSON.stringify(name)})`);
  if (!VALUE.test(value)) throw new RangeError(`serializeCookie(${name}): the value has characters a cookie cannot hold (got: ${JSON.stringify(value.slice(0, 40))})`);
  if (sameSite !== 'Strict' && sameSite !== 'Lax' && sameSite !== 'None') throw new RangeError(`serializeCookie(${name}): sameSite must be Strict, Lax or None (got: ${JSON.stringify(sameSite)})`);
  if (sameSite === 'None' && !secure) throw new RangeError(`serializeCookie(${name}): sameSite None requires secure (browsers drop the cookie otherwise) (got: secure false)`);
  if (!ATTRIBUTE.test(path) || !path.startsWith('/')) throw new RangeError(`serializeCookie(${name}): path must start with "/" and hold no ";" (got: ${JSON.stringify(path)})`);
  if (options.domain !== undefined && !ATTRIBUTE.test(options.domain)) throw new RangeError(`serializeCookie(${name}): invalid domain (got: ${JSON.stringify(options.domain)})`);
  if (name.startsWith('__Host-') && (!secure || path !== '/' || options.domain !== undefined)) {
    throw new RangeError(`serializeCookie(${name}): a __Host- cookie needs secure, path "/" and no domain (got: secure ${secure}, path ${JSON.stringify(path)}, domain ${JSON.stringify(options.domain)})`);
  }
  if (name.startsWith('__Secure-') && !secure) throw new RangeError(`serializeCookie(${name}): a __Secure- cookie needs secure (got: secure false)`);
  const parts = [`${name}=${value}`];
  if (options.maxAgeSeconds !== undefined) {
    if (!Number.isInteger(options.maxAgeSeconds) || options.maxAgeSeconds < 0) throw new RangeError(`serializeCookie(${name}): maxAgeSeconds must be a whole number >= 0 (got: ${options.maxAgeSeconds})`);
    parts.push(`Max-Age=${options.maxAgeSeconds}`);
  }
  if (options.domain !== undefined) parts.push(`Domain=${options.domain}`);
  parts.push(`Path=${path}`);
  if (secure) parts.push('Secure');
  if (httpOnly) parts.push('HttpOnly');
  parts.push(`SameSite=${sameSite}`);
  return parts.join('; ');
}

/**
 * The cookies of a `Cookie` request header. The first occurrence of a name wins (browsers send the most specific
 * path first).
 *
 * @param header - the header value (`req.headers.cookie`)
 * @returns name → value
 */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name !== '' && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

/**
 * One cookie of a `Cookie` request header.
 *
 * @param header - the header value
 * @param name - the cookie name
 * @returns its value, or undefined
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  return parseCookies(header).get(name);
}

/**
 * The `Set-Cookie` value carrying a session token, with `Max-Age` = the store's absolute lifetime.
 *
 * @param store - the session store (for `maxAgeSeconds`)
 * @param token - from `create`, `save`, `regenerate` or a renewed `load`
 * @param options - a cookie name and attributes (defaults: {@link SESSION_COOKIE_DEFAULTS})
 * @returns the header value
 */
export function sessionCookie(store: Pick<SessionStore<unknown>, 'maxAgeSeconds'>, token: string, options: CookieOptions & { readonly name?: string } = {}): string {
  const { name = SESSION_COOKIE_DEFAULTS.name, ...attributes } = options;
  return serializeCookie(name, token, { maxAgeSeconds: store.maxAgeSeconds, ...attributes });
}

/**
 * The `Set-Cookie` value that deletes the session cookie (on logout).
 *
 * @param options - the same name and attributes the cookie was set with
 * @returns the header value
 */
export function clearSessionCookie(options: CookieOptions & { readonly name?: string } = {}): string {
  const { name = SESSION_COOKIE_DEFAULTS.name, ...attributes } = options;
  return serializeCookie(name, '', { ...attributes, maxAgeSeconds: 0 });
}
