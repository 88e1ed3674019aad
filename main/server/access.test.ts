import { describe, expect, it } from 'vitest';
import { allowedHostHeaders, checkAccess, type AccessPolicy } from './access.ts';

const TOKEN = 't'.repeat(64);
const policy: AccessPolicy = { allowedHosts: allowedHostHeaders('127.0.0.1', 8123), token: TOKEN, cookieName: 'digits_token_8123' };
const url = (path = '/') => new URL(path, 'http://localhost');
const ours = { host: '127.0.0.1:8123', cookie: `digits_token_8123=${TOKEN}` };

describe('checkAccess (pure: headers and URL in, a decision out)', () => {
  it('lets our own page through with the cookie, or a client with the token in the URL', () => {
    expect(checkAccess(ours, url(), policy)).toBeNull();
    expect(checkAccess({ ...ours, origin: 'http://127.0.0.1:8123', 'sec-fetch-site': 'same-origin' }, url('/ws'), policy)).toBeNull();
    expect(checkAccess({ host: 'localhost:8123' }, url(`/?token=${TOKEN}`), policy)).toBeNull();
  });

  it('refuses with a reason and a fixed sentence, copying nothing from the request', () => {
    const cases: [Record<string, string>, string, string][] = [
      [{ ...ours, host: 'evil.example:8123' }, '/', 'host'],
      [{ ...ours, host: '127.0.0.1:9999' }, '/', 'host'],
      [{ ...ours, origin: 'http://evil.example' }, '/', 'origin'],
      [{ ...ours, 'sec-fetch-site': 'cross-site' }, '/', 'cross-site'],
      [{ host: ours.host }, `/?token=${'x'.repeat(64)}`, 'wrong-token'],
      [{ host: ours.host, cookie: 'digits_token_8123=nope' }, '/', 'no-token'],
      [{ host: ours.host, cookie: `digits_token_9999=${TOKEN}` }, '/', 'no-token'],
    ];
    for (const [headers, path, reason] of cases) {
      const refusal = checkAccess(headers, url(path), policy);
      expect(refusal?.reason, JSON.stringify(headers)).toBe(reason);
      expect(refusal?.message).not.toMatch(/evil|9999|nope|xxxx/);
    }
    expect(checkAccess({ host: ours.host }, url(), policy)?.status).toBe(401);
  });
});
