import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readFile, symlink as link } from 'node:fs/promises';
import { CONTENT_SECURITY_POLICY } from './contentSecurityPolicy.ts';
import { hideServerPaths, startServer, type RunningServer } from './server.ts';
import { FakeEvents, fakeHandlers, makeStaticDir, rawRequest } from './testServer.ts';
import { encodeMessage, parseServerMessage, type WirePush, type WireReply } from './wire.ts';

const TOKEN = 'a'.repeat(64);
const MAX_MESSAGE = 64 * 1024;

let server: RunningServer;
let events: FakeEvents;
let port: number;
let cookie: string;
let secretPath: string;
let staticDir: string;

beforeAll(async () => {
  ({ dir: staticDir, secretPath } = await makeStaticDir());
  await link(secretPath, path.join(staticDir, 'link.txt'));
  events = new FakeEvents();
  server = await startServer({ handlers: fakeHandlers(), events, staticDir, token: TOKEN, maxMessageBytes: MAX_MESSAGE });
  port = server.port;
  cookie = `digits_token_${port}=${TOKEN}`;
});

afterAll(async () => {
  await server?.close();
});

/** Opens a WebSocket with explicit headers; resolves with the socket, or rejects with the HTTP status. */
function connect(headers: Record<string, string> = {}, query = ''): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws${query}`, {
      headers: { Origin: `http://127.0.0.1:${port}`, Cookie: cookie, ...headers },
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<WireReply | WirePush> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(parseServerMessage(data.toString()))));
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

async function call(ws: WebSocket, method: string, payload?: unknown, id = 1): Promise<WireReply> {
  const reply = nextMessage(ws);
  ws.send(encodeMessage({ id, method, payload }));
  return (await reply) as WireReply;
}

describe('HTTP access control', () => {
  it('answers 401 without a token or cookie', async () => {
    const res = await rawRequest(port, {});
    expect(res.status).toBe(401);
    expect(res.body).toMatch(/URL that `digits serve` printed/);
  });

  it('answers 403 to a wrong token and sets no cookie', async () => {
    const res = await rawRequest(port, { path: `/?token=${'b'.repeat(64)}` });
    expect(res.status).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect((await rawRequest(port, { path: '/?token=short' })).status).toBe(403);
  });

  it('answers 401 to a wrong cookie', async () => {
    const res = await rawRequest(port, { headers: { cookie: `digits_token_${port}=${'b'.repeat(64)}` } });
    expect(res.status).toBe(401);
  });

  it('swaps the token for an HttpOnly SameSite=Strict cookie and redirects it out of the URL', async () => {
    const res = await rawRequest(port, { path: `/?lang=en&token=${TOKEN}` });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/?lang=en');
    const setCookie = res.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toContain(`digits_token_${port}=${TOKEN}`);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
  });

  it('serves index.html and assets with the cookie, with security headers and content types', async () => {
    const index = await rawRequest(port, { headers: { cookie } });
    expect(index.status).toBe(200);
    expect(index.body).toContain('Digit Studio');
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(index.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(index.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(index.headers['referrer-policy']).toBe('no-referrer');
    const js = await rawRequest(port, { path: '/assets/app.js', headers: { cookie } });
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const css = await rawRequest(port, { path: '/assets/app.css', headers: { cookie } });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await rawRequest(port, { path: '/missing.js', headers: { cookie } })).status).toBe(404);
  });

  it('accepts localhost as the Host of a loopback bind', async () => {
    const res = await rawRequest(port, { headers: { cookie, host: `localhost:${port}` } });
    expect(res.status).toBe(200);
  });

  it('refuses a foreign Host header (DNS rebinding), even with the cookie', async () => {
    for (const host of [`evil.example:${port}`, '127.0.0.1:1', 'localhost']) {
      const res = await rawRequest(port, { headers: { cookie, host } });
      expect(res.status, host).toBe(403);
      expect(res.body).toMatch(/Host/);
    }
  });

  it('refuses a foreign Origin and cross-site fetches, even with the cookie', async () => {
    const foreign = await rawRequest(port, { headers: { cookie, origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    const otherPort = await rawRequest(port, { headers: { cookie, origin: `http://127.0.0.1:${port + 1}` } });
    expect(otherPort.status).toBe(403);
    const nullOrigin = await rawRequest(port, { headers: { cookie, origin: 'null' } });
    expect(nullOrigin.status).toBe(403);
    const crossSite = await rawRequest(port, { headers: { cookie, 'sec-fetch-site': 'same-site' } });
    expect(crossSite.status).toBe(403);
    const own = await rawRequest(port, { headers: { cookie, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(200);
  });

  it('refuses other methods and request bodies', async () => {
    expect((await rawRequest(port, { method: 'POST', headers: { cookie } })).status).toBe(405);
    const withBody = await rawRequest(port, { method: 'GET', headers: { cookie, 'content-length': '5' }, body: 'hello' });
    expect(withBody.status).toBe(413);
  });

  it('never serves files outside the renderer folder', async () => {
    const paths = [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/%00index.html',
      '/link.txt',
      '/assets',
      '/%E0%A4%A',
    ];
    for (const p of paths) {
      const res = await rawRequest(port, { path: p, headers: { cookie } });
      expect([400, 404], p).toContain(res.status);
      expect(res.body, p).not.toContain('do not serve');
    }
  });
});

describe('WebSocket', () => {
  it('refuses an upgrade without the cookie, with a wrong token, a foreign Origin or Host', async () => {
    await expect(connect({ Cookie: '' })).rejects.toThrow('HTTP 401');
    await expect(connect({ Cookie: '' }, `?token=${'c'.repeat(64)}`)).rejects.toThrow('HTTP 403');
    await expect(connect({ Origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect({ Host: `evil.example:${port}` })).rejects.toThrow('HTTP 403');
  });

  it('accepts the cookie, or the token in the query (non-browser clients)', async () => {
    const a = await connect();
    const b = await connect({ Cookie: '' }, `?token=${TOKEN}`);
    expect((await call(a, 'listRuns')).id).toBe(1);
    a.close();
    b.close();
  });

  it('answers requests and round-trips bytes', async () => {
    const ws = await connect();
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const reply = await call(ws, 'predictImages', { files: [{ name: 'a.png', bytes }] }, 7);
    expect(reply).toEqual({ id: 7, result: [{ name: 'a.png', ok: true, digit: 5, confidence: 1, probabilities: [], input: bytes, doubts: [], row: [] }] });
    ws.close();
  });

  it('replies with an error to bad messages, unknown methods and invalid payloads, and keeps serving', async () => {
    const ws = await connect();
    const notJson = nextMessage(ws);
    ws.send('{not json');
    expect(await notJson).toEqual({ id: null, error: { message: 'message is not valid JSON', code: 'bad-message' } });

    const noMethod = nextMessage(ws);
    ws.send(JSON.stringify({ id: 2 }));
    expect(await noMethod).toMatchObject({ id: 2, error: { code: 'bad-message' } });

    const binary = nextMessage(ws);
    ws.send(Buffer.from([1, 2, 3]));
    expect(await binary).toMatchObject({ id: null, error: { code: 'bad-message' } });

    const badBytes = nextMessage(ws);
    ws.send(JSON.stringify({ id: 3, method: 'predictImages', payload: { files: [{ name: 'x', bytes: { $bytes: '!!!' } }] } }));
    expect(await badBytes).toMatchObject({ id: 3, error: { code: 'bad-message' } });

    for (const method of ['deleteEverything', 'constructor', '__proto__', 'toString']) {
      expect(await call(ws, method, undefined, 4)).toMatchObject({ id: 4, error: { code: 'unknown-method' } });
    }
    expect(await call(ws, 'startTraining', { nope: 1 }, 5)).toEqual({
      id: 5,
      error: { message: 'Invalid startTraining request: preset: preset must be one of seed, fast, cnn; Unrecognized key: "nope"', code: 'invalid-payload' },
    });
    expect(await call(ws, 'getTestImages', undefined, 6)).toEqual({
      id: 6,
      error: { message: 'Invalid getTestImages request: Invalid input: expected object, received undefined', code: 'invalid-payload' },
    });
    expect(await call(ws, 'startTraining', { preset: 'fast' }, 8)).toEqual({ id: 8, result: { runId: 'run-1' } });
    ws.close();
  });

  it('closes a connection that sends an oversized message (1009), and the server keeps serving', async () => {
    const ws = await connect();
    const code = closed(ws);
    ws.send('x'.repeat(MAX_MESSAGE + 1));
    expect(await code).toBe(1009);
    const again = await connect();
    expect(await call(again, 'listRuns')).toEqual({ id: 1, result: [] });
    again.close();
  });

  it('pushes events to every connected client', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    const gotA = nextMessage(a);
    const gotB = nextMessage(b);
    events.emit('training', { type: 'checkpoint', step: 42 });
    const expected = { event: 'training', payload: { type: 'checkpoint', step: 42 } };
    expect(await gotA).toEqual(expected);
    expect(await gotB).toEqual(expected);
    a.close();
    b.close();
  });
});

describe('lifecycle', () => {
  it('refuses a folder without a built renderer, naming the fix', async () => {
    await expect(
      startServer({ handlers: fakeHandlers(), events: new FakeEvents(), staticDir: '/nonexistent/out/renderer' }),
    ).rejects.toThrow(/npm run build/);
  });

  it('prints a URL with a fresh 32-byte hex token, and close() unsubscribes and ends sockets', async () => {
    const own = new FakeEvents();
    const other = await startServer({ handlers: fakeHandlers(), events: own, staticDir });
    expect(other.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
    expect(other.token).not.toBe(TOKEN);
    expect(own.count('training')).toBe(1);
    const ws = new WebSocket(`ws://127.0.0.1:${other.port}/ws?token=${other.token}`, {
      headers: { Origin: other.origin },
    });
    await new Promise((resolve) => ws.once('open', resolve));
    const code = closed(ws);
    await other.close();
    expect(await code).toBe(1001);
    expect(own.count('training')).toBe(0);
  });
});

describe('a hostile or careless client', () => {
  let quiet: RunningServer;
  let lines: string[];
  const quietCookie = () => `digits_token_${quiet.port}=${TOKEN}`;

  beforeAll(async () => {
    lines = [];
    const handlers = fakeHandlers({
      // 1,000 test images are about 1 MB of JSON: a reply worth not reading.
      getTestImages: async ({ indices }) =>
        indices.map((index) => ({ index, label: 1, pixels: new Uint8Array(784).fill(7), probabilities: [] })),
      // A raw filesystem error, as a model folder that vanished would give.
      importModel: async () => {
        await readFile('/nonexistent-digits-dir/secret-project/model.json');
        return null;
      },
      evaluateModel: async () => {
        throw Object.assign(new Error('cannot evaluate /home/someone/secret-project/model/model.json: bad weights'), { code: 'conflict' });
      },
    });
    quiet = await startServer({ handlers, events: new FakeEvents(), staticDir, token: TOKEN, maxBufferedBytes: 256 * 1024, log: (line) => lines.push(line) });
  });

  afterAll(async () => {
    await quiet?.close();
  });

  function open(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${quiet.port}/ws`, { headers: { Origin: `http://127.0.0.1:${quiet.port}`, Cookie: quietCookie() } });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    if (!check()) throw new Error(`timed out waiting for ${what}`);
  }

  it('copies nothing from the Host header into a refusal (the CSP is the fixed one)', async () => {
    const res = await rawRequest(quiet.port, { headers: { host: `evil.example:${quiet.port}` } });
    expect(res.status).toBe(403);
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(JSON.stringify(res.headers) + res.body).not.toMatch(/evil/);
  });

  it('logs one line per refusal and per failed request, never a stack trace', async () => {
    lines.length = 0;
    await rawRequest(quiet.port, { headers: { host: `evil.example:${quiet.port}` } });
    await rawRequest(quiet.port, { path: `/?token=${'b'.repeat(64)}` });
    await rawRequest(quiet.port, { method: 'POST', headers: { cookie: quietCookie() } });
    const ws = await open();
    await call(ws, 'startTraining', { nope: 1 }, 1);
    await call(ws, 'importModel', {}, 2);
    ws.close();
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      expect(line).not.toMatch(/\n/);
      expect(line).not.toMatch(/^\s+at |\bat .*:\d+:\d+/);
      expect(line).not.toMatch(/evil/);
    }
    expect(lines[0]).toMatch(/refused GET \/: 403 host/);
    expect(lines[1]).toMatch(/refused GET \/: 403 wrong-token/);
    expect(lines[2]).toMatch(/refused POST \/: 405/);
    expect(lines[3]).toMatch(/request 1 invalid-payload: Invalid startTraining request: preset: preset must be one of seed, fast, cnn/);
    // The log keeps the detail the reply leaves out.
    expect(lines[4]).toMatch(/request 2 ENOENT: .*nonexistent-digits-dir/);
  });

  it('never sends the server\'s paths: a filesystem error becomes its code, a path in a message its last part', async () => {
    const ws = await open();
    const io = await call(ws, 'importModel', {}, 1);
    expect(io).toEqual({
      id: 1,
      error: { message: "The server could not use a file it needed (ENOENT); the server's log has the details.", code: 'internal' },
    });
    const worded = await call(ws, 'evaluateModel', undefined, 2);
    expect(worded).toEqual({ id: 2, error: { message: 'cannot evaluate model.json: bad weights', code: 'conflict' } });
    ws.close();
    expect(hideServerPaths("no such folder '/tmp/a/b/' (see /var/log/x.log)")).toBe("no such folder '(folder)' (see x.log)");
    expect(hideServerPaths('give epochs or steps, not both; 3/4 done')).toBe('give epochs or steps, not both; 3/4 done');
  });

  it('drops a client that stops reading once its unread replies pass the bound, and keeps serving others', async () => {
    lines.length = 0;
    const ws = await open();
    const gone = closed(ws);
    // Stop reading: replies pile up in the kernel's buffers, then in the server's.
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const indices = Array.from({ length: 1000 }, (_, i) => i);
    for (let id = 1; id <= 60; id++) ws.send(encodeMessage({ id, method: 'getTestImages', payload: { indices } }));
    await until(() => lines.some((line) => /dropped a client that stopped reading/.test(line)), 'the drop');
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await gone).toBe(1006);
    const other = await open();
    expect(await call(other, 'listRuns', undefined, 1)).toEqual({ id: 1, result: [] });
    other.close();
  });
});
