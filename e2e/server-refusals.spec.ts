/**
 * The real `digits serve` refuses what a hostile page or a stray client would try: no token, a
 * wrong token, another site's Origin, a rebound Host name, an oversized message. (Browser mode
 * only: the Electron app has no server.)
 */
import http from 'node:http';
import WebSocket from 'ws';
import { test, expect } from './fixtures.ts';
import type { PageGlobals } from './pageGlobals.ts';

function serverUrl() {
  const url = new URL(process.env.DIGITS_E2E_URL!);
  return { url, origin: url.origin, port: Number(url.port), token: url.searchParams.get('token')! };
}

function get(port: number, headers: Record<string, string>, path = '/'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Status of a WebSocket upgrade: 101 when accepted, else the HTTP status of the refusal. */
function upgrade(port: number, headers: Record<string, string>, query = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws${query}`, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

test.describe('digits serve refuses', () => {
  test('a browser without the token, or with a wrong one', async ({ browser }) => {
    const { origin, token } = serverUrl();
    const context = await browser.newContext();
    const page = await context.newPage();
    const bare = await page.goto(origin + '/');
    expect(bare?.status()).toBe(401);
    await expect(page.locator('body')).toContainText('open the URL that `digits serve` printed');
    const wrong = await page.goto(`${origin}/?token=${'0'.repeat(token.length)}`);
    expect(wrong?.status()).toBe(403);
    expect(await context.cookies()).toEqual([]);
    await context.close();
  });

  test('nothing more once the token became a cookie: the URL loses it and the app connects', async ({ studio }) => {
    const { page } = studio;
    const { port } = serverUrl();
    expect(page.url()).not.toContain('token=');
    const cookies = await page.context().cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: `digits_token_${port}`, httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie)).toBe('');
    await expect(page.getByRole('tab', { name: 'Train' })).toBeVisible();
    await studio.screenshot('train-idle');
  });

  test('a WebSocket from another site, even a page on another port of this machine', async ({ studio }) => {
    const { port } = serverUrl();
    // A hostile page on another local port: same site as ours, so SameSite cookies would go along.
    const evil = http.createServer((_req, res) => res.end('<!doctype html><title>evil</title>'));
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const evilPort = (evil.address() as { port: number }).port;
    try {
      const page = await studio.page.context().newPage();
      await page.goto(`http://127.0.0.1:${evilPort}/`);
      const outcome = await page.evaluate(
        (target) =>
          new Promise<string>((resolve) => {
            const ws = new (globalThis as unknown as PageGlobals).WebSocket(target);
            ws.onopen = () => resolve('open');
            ws.onclose = (event) => resolve(`closed ${event.code}`);
          }),
        `ws://127.0.0.1:${port}/ws`,
      );
      expect(outcome).toBe('closed 1006');
      await page.close();
    } finally {
      evil.close();
    }
    const cookie = `digits_token_${port}=${serverUrl().token}`;
    expect(await upgrade(port, { Origin: 'http://evil.example', Cookie: cookie })).toBe(403);
    expect(await upgrade(port, { Origin: `http://127.0.0.1:${port}`, Cookie: cookie })).toBe(101);
    expect(await get(port, { Host: `127.0.0.1:${port}`, Origin: 'http://evil.example', Cookie: cookie })).toBe(403);
  });

  test('a rebound Host name (DNS rebinding), and clients without the token', async () => {
    const { port, token } = serverUrl();
    const cookie = `digits_token_${port}=${token}`;
    expect(await get(port, { Host: `127.0.0.1:${port}`, Cookie: cookie })).toBe(200);
    expect(await get(port, { Host: `attacker.example:${port}`, Cookie: cookie })).toBe(403);
    expect(await upgrade(port, { Host: `attacker.example:${port}`, Cookie: cookie })).toBe(403);
    expect(await get(port, { Host: `127.0.0.1:${port}` })).toBe(401);
    expect(await upgrade(port, {})).toBe(401);
    expect(await upgrade(port, {}, `?token=${'f'.repeat(64)}`)).toBe(403);
    expect(await get(port, { Host: `127.0.0.1:${port}`, Cookie: cookie }, '/../../etc/passwd')).toBe(404);
  });

  test('an oversized message, and the server keeps serving', async ({ studio }) => {
    const code = await studio.page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const g = globalThis as unknown as PageGlobals;
          const ws = new g.WebSocket(`ws://${g.location.host}/ws`);
          ws.onopen = () => ws.send('x'.repeat(64 * 1024 * 1024 + 16));
          ws.onclose = (event) => resolve(event.code);
        }),
    );
    expect(code).toBe(1009);
    const bad = await studio.page.evaluate(
      () =>
        new Promise<unknown>((resolve) => {
          const g = globalThis as unknown as PageGlobals;
          const ws = new g.WebSocket(`ws://${g.location.host}/ws`);
          ws.onopen = () => ws.send('{"id": 1, "method": "formatDisk"}');
          ws.onmessage = (event) => {
            resolve(JSON.parse(event.data as string));
            ws.close();
          };
        }),
    );
    expect(bad).toMatchObject({ id: 1, error: { code: 'unknown-method' } });
    await studio.page.reload();
    await expect(studio.page.getByRole('tab', { name: 'Train' })).toBeVisible();
    expect((await studio.call('getAppInfo')).shell).toBe('browser');
  });
});
