/**
 * Who may talk to `digits serve`: a pure decision over a request's headers and URL, shared by
 * HTTP and WebSocket upgrades. Anything on this machine, and any web page a browser here opens,
 * can reach a local port, so a request passes only when
 * - its Host header names this server (DNS rebinding),
 * - an Origin header, if any, is our own, and the browser says it is not cross-site,
 * - it carries the access token: in the URL (traded for a cookie by the server) or the cookie,
 *   compared in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { networkInterfaces, hostname as machineName } from 'node:os';

export interface AccessPolicy {
  /** Host header values (host:port, lower case) that name this server. */
  allowedHosts: ReadonlySet<string>;
  token: string;
  /** The cookie carrying the token (one name per port: cookies ignore ports). */
  cookieName: string;
}

export interface Refusal {
  status: 401 | 403;
  /** The reply's text: fixed sentences, nothing copied from the request. */
  message: string;
  /** Short reason for the server's log line. */
  reason: 'host' | 'origin' | 'cross-site' | 'wrong-token' | 'no-token';
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The Host header values (host:port, lower case) that name a server bound to `host`. */
export function allowedHostHeaders(host: string, port: number): Set<string> {
  const names = new Set<string>();
  if (isLoopback(host) || isWildcard(host)) for (const name of LOOPBACK_NAMES) names.add(name);
  if (isWildcard(host)) {
    names.add(machineName().toLowerCase());
    for (const list of Object.values(networkInterfaces())) {
      for (const address of list ?? []) names.add(hostForUrl(address.address.toLowerCase()));
    }
  } else {
    names.add(hostForUrl(host.toLowerCase()));
  }
  return new Set([...names].map((name) => `${name}:${port}`));
}

export function tokensEqual(given: string, expected: string): boolean {
  const candidate = Buffer.from(given, 'utf8');
  const wanted = Buffer.from(expected, 'utf8');
  if (candidate.length !== wanted.length) {
    timingSafeEqual(wanted, wanted); // same work either way
    return false;
  }
  return timingSafeEqual(candidate, wanted);
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether a request may pass; null when it may, else the refusal to answer with. */
export function checkAccess(headers: IncomingHttpHeaders, url: URL, policy: AccessPolicy): Refusal | null {
  const hostHeader = (headers.host ?? '').toLowerCase();
  if (!policy.allowedHosts.has(hostHeader)) {
    return { status: 403, reason: 'host', message: 'Forbidden: this server does not answer to that Host name.' };
  }
  const origin = headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${hostHeader}`) {
    return { status: 403, reason: 'origin', message: 'Forbidden: requests from other sites are refused.' };
  }
  // Browsers say where a request comes from; only our own pages and typed-in addresses pass.
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { status: 403, reason: 'cross-site', message: 'Forbidden: requests from other sites are refused.' };
  }
  const queryToken = url.searchParams.get('token');
  if (queryToken !== null) {
    return tokensEqual(queryToken, policy.token) ? null : { status: 403, reason: 'wrong-token', message: 'Forbidden: wrong access token.' };
  }
  const cookie = readCookie(headers.cookie, policy.cookieName);
  if (cookie !== undefined && tokensEqual(cookie, policy.token)) return null;
  return {
    status: 401,
    reason: 'no-token',
    message: 'Unauthorized: open the URL that `digits serve` printed (it carries the access token).',
  };
}
