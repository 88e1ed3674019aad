/**
 * The HTTP + WebSocket server of `digits serve`: serves the built renderer and plays the main side
 * over a WebSocket at /ws, using the same handlers as the Electron app.
 *
 * Safe by default, because anything on this machine (and any web page a browser here opens) can
 * reach a local port:
 * - binds 127.0.0.1 unless told otherwise;
 * - every HTTP and WebSocket request needs the access token: in the printed URL once (it is then
 *   swapped for an HttpOnly SameSite=Strict cookie and stripped from the address by a redirect),
 *   or the cookie; compared in constant time;
 * - the Host header must name this server (DNS rebinding), an Origin header must be our own;
 * - only GET/HEAD, no request bodies, bounded WebSocket messages, bounded work per connection;
 * - static files only from the built renderer folder, never outside it; strict security headers.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { networkInterfaces, hostname as machineName } from 'node:os';
import path from 'node:path';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { EVENT_NAMES, REQUEST_NAMES, type StudioEvents, type StudioHandlers } from '../app/contract.ts';
import { toErrorInfo } from '../app/errors.ts';
import { TRANSPORT_LIMITS } from '../ml/limits.ts';
import { MAX_MESSAGE_BYTES, WIRE_ERRORS, WireFormatError, encodeMessage, parseRequest, type RequestId, type WireReply } from './wire.ts';

/** Image uploads travel base64-encoded inside one message: 64 MB is about 48 MB of files. */
export const DEFAULT_MAX_MESSAGE_BYTES = MAX_MESSAGE_BYTES;
export const MAX_IN_FLIGHT = TRANSPORT_LIMITS.maxInFlight;
export const MAX_CONNECTIONS = TRANSPORT_LIMITS.maxConnections;
const MAX_BUFFERED_BYTES = TRANSPORT_LIMITS.maxBufferedBytes;
const HEARTBEAT_MS = 30_000;
export const WS_PATH = '/ws';
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export interface StudioEventSource {
  on<E extends keyof StudioEvents>(event: E, listener: (payload: StudioEvents[E]) => void): (() => void) | void;
}

export interface ServerOptions {
  /** 0 or absent: any free port. */
  port?: number;
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  handlers: StudioHandlers;
  events: StudioEventSource;
  /** The built renderer (out/renderer), with index.html. */
  staticDir: string;
  /** The access token; a random 32-byte hex one when absent. */
  token?: string;
  maxMessageBytes?: number;
  /** Where to report handler failures and dropped clients (default: nowhere). */
  log?: (line: string) => void;
}

export interface RunningServer {
  /** The URL to open, token included: http://127.0.0.1:PORT/?token=... */
  url: string;
  /** http://HOST:PORT, without the token. */
  origin: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export class ServerError extends Error {
  override name = 'ServerError';
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** The renderer's own CSP (renderer/index.html), narrowed to our WebSocket, plus what only a header can say. */
function contentSecurityPolicy(host: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ws://${host}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The Host header values (host:port, lower case) that name this server. */
function allowedHostHeaders(host: string, port: number): Set<string> {
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

function tokensEqual(given: string, expected: Buffer): boolean {
  const candidate = Buffer.from(given, 'utf8');
  if (candidate.length !== expected.length) {
    timingSafeEqual(expected, expected); // same work either way
    return false;
  }
  return timingSafeEqual(candidate, expected);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Starts serving; resolves once listening. Throws ServerError when staticDir has no built renderer. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('hex');
  if (token.length < 16) throw new ServerError('the access token must be at least 16 characters long');
  const expectedToken = Buffer.from(token, 'utf8');
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const log = options.log ?? (() => undefined);

  let root: string;
  try {
    root = await realpath(options.staticDir);
    await stat(path.join(root, 'index.html'));
  } catch {
    throw new ServerError(`${options.staticDir} holds no built renderer (index.html missing): run \`npm run build\` first`);
  }

  let port = 0;
  let allowedHosts = new Set<string>();
  const cookieName = () => `digits_token_${port}`; // cookies ignore ports: one name per server

  /** Host, Origin and token checks shared by HTTP and WebSocket; returns a refusal or null. */
  function refusal(req: http.IncomingMessage, url: URL): { status: number; message: string } | null {
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(hostHeader)) return { status: 403, message: 'Forbidden: this server does not answer to that Host name.' };
    const origin = req.headers.origin;
    if (origin !== undefined && origin.toLowerCase() !== `http://${hostHeader}`) {
      return { status: 403, message: 'Forbidden: requests from other sites are refused.' };
    }
    // Browsers say where a request comes from; only our own pages and typed-in addresses pass.
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return { status: 403, message: 'Forbidden: requests from other sites are refused.' };
    }
    const queryToken = url.searchParams.get('token');
    if (queryToken !== null) {
      return tokensEqual(queryToken, expectedToken) ? null : { status: 403, message: 'Forbidden: wrong access token.' };
    }
    const cookie = readCookie(req.headers.cookie, cookieName());
    if (cookie !== undefined && tokensEqual(cookie, expectedToken)) return null;
    return {
      status: 401,
      message: 'Unauthorized: open the URL that `digits serve` printed (it carries the access token).',
    };
  }

  function securityHeaders(res: http.ServerResponse, hostHeader: string) {
    res.setHeader('Content-Security-Policy', contentSecurityPolicy(hostHeader));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  }

  function sendText(res: http.ServerResponse, status: number, message: string) {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(message + '\n');
  }

  async function serveFile(req: http.IncomingMessage, res: http.ServerResponse, pathname: string) {
    let relative: string;
    try {
      relative = decodeURIComponent(pathname);
    } catch {
      return sendText(res, 400, 'Bad Request: malformed path.');
    }
    if (relative === '/') relative = '/index.html';
    if (relative.includes('\0') || relative.includes('\\')) return sendText(res, 400, 'Bad Request: malformed path.');
    const file = path.resolve(root, '.' + path.posix.normalize(relative));
    if (!file.startsWith(root + path.sep)) return sendText(res, 404, 'Not Found.');
    let real: string;
    let size: number;
    try {
      real = await realpath(file);
      const info = await stat(real);
      if (!info.isFile()) return sendText(res, 404, 'Not Found.');
      size = info.size;
    } catch {
      return sendText(res, 404, 'Not Found.');
    }
    if (!real.startsWith(root + path.sep)) return sendText(res, 404, 'Not Found.'); // a symlink out of the folder
    const type = CONTENT_TYPES[path.extname(real).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': size,
      'Cache-Control': type.startsWith('text/html') ? 'no-store' : 'no-cache',
    });
    if (req.method === 'HEAD') return res.end();
    const stream = createReadStream(real);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse) {
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    securityHeaders(res, hostHeader);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendText(res, 400, 'Bad Request.');
    }
    const refused = refusal(req, url);
    if (refused) return sendText(res, refused.status, refused.message);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, 'Method Not Allowed.');
    }
    const length = Number(req.headers['content-length'] ?? 0);
    if (req.headers['transfer-encoding'] !== undefined || length > 0) {
      res.setHeader('Connection', 'close');
      return sendText(res, 413, 'Payload Too Large: requests carry no body here.');
    }
    if (url.searchParams.has('token')) {
      // Swap the token for a cookie and take it out of the address bar and history.
      url.searchParams.delete('token');
      res.setHeader('Set-Cookie', `${cookieName()}=${token}; Path=/; HttpOnly; SameSite=Strict`);
      res.writeHead(303, { Location: url.pathname + url.search, 'Cache-Control': 'no-store' });
      return res.end();
    }
    if (url.pathname === WS_PATH) return sendText(res, 426, 'Upgrade Required: this address takes WebSocket connections.');
    await serveFile(req, res, url.pathname);
  }

  // ---- WebSocket ----
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes, perMessageDeflate: false });
  const alive = new WeakMap<WebSocket, boolean>();

  function refuseUpgrade(socket: Duplex, status: number, message: string) {
    const reason = http.STATUS_CODES[status] ?? 'Error';
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
    );
  }

  function onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer) {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return refuseUpgrade(socket, 400, 'Bad Request.');
    }
    const refused = refusal(req, url);
    if (refused) return refuseUpgrade(socket, refused.status, refused.message);
    if (url.pathname !== WS_PATH) return refuseUpgrade(socket, 404, 'Not Found.');
    if (wss.clients.size >= MAX_CONNECTIONS) return refuseUpgrade(socket, 503, 'Too many connections.');
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  }

  function reply(ws: WebSocket, message: WireReply) {
    if (ws.readyState !== WebSocket.OPEN) return;
    let text: string;
    try {
      text = encodeMessage(message);
    } catch (error) {
      log(`digits serve: could not encode the reply to request ${String(message.id)}: ${(error as Error).message}`);
      text = encodeMessage({ id: message.id, error: { message: 'the server could not encode its reply', code: WIRE_ERRORS.internal } });
    }
    ws.send(text);
  }

  function onConnection(ws: WebSocket) {
    alive.set(ws, true);
    let inFlight = 0;
    ws.on('pong', () => alive.set(ws, true));
    ws.on('error', (error) => log(`digits serve: WebSocket error: ${error.message}`));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        return reply(ws, { id: null, error: { message: 'binary messages are not accepted; send JSON text', code: WIRE_ERRORS.badMessage } });
      }
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      void handleMessage(ws, text, {
        enter: () => (inFlight < MAX_IN_FLIGHT ? (inFlight++, true) : false),
        leave: () => void inFlight--,
      });
    });
  }

  async function handleMessage(ws: WebSocket, text: string, slots: { enter(): boolean; leave(): void }) {
    let id: RequestId | null = null;
    try {
      const request = parseRequest(text);
      id = request.id;
      if (!(REQUEST_NAMES as readonly string[]).includes(request.method)) {
        return reply(ws, { id, error: { message: `unknown method '${request.method.slice(0, 80)}'`, code: WIRE_ERRORS.unknownMethod } });
      }
      if (!slots.enter()) {
        return reply(ws, { id, error: { message: `too many requests at once (at most ${MAX_IN_FLIGHT})`, code: WIRE_ERRORS.busy } });
      }
      try {
        const handler = options.handlers[request.method as keyof StudioHandlers] as (payload: unknown) => Promise<unknown>;
        const result = await handler(request.payload);
        reply(ws, { id, result });
      } finally {
        slots.leave();
      }
    } catch (error) {
      if (error instanceof WireFormatError) id = error.requestId;
      else log(`digits serve: request ${String(id)} failed: ${(error as Error)?.stack ?? String(error)}`);
      reply(ws, { id, error: toErrorInfo(error) });
    }
  }

  function broadcast(event: string, payload: unknown) {
    let text: string;
    try {
      text = encodeMessage({ event, payload });
    } catch (error) {
      log(`digits serve: could not encode the '${event}' event: ${(error as Error).message}`);
      return;
    }
    for (const ws of wss.clients) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        log('digits serve: dropping a client that stopped reading');
        ws.terminate();
        continue;
      }
      ws.send(text);
    }
  }

  const unsubscribers: (() => void)[] = [];
  for (const event of EVENT_NAMES) {
    const off = options.events.on(event, (payload) => broadcast(event, payload));
    if (typeof off === 'function') unsubscribers.push(off);
  }

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  // ---- HTTP ----
  const server = http.createServer((req, res) => {
    onRequest(req, res).catch((error) => {
      log(`digits serve: ${req.method} ${req.url} failed: ${(error as Error).message}`);
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error.');
      else res.destroy();
    });
  });
  server.on('upgrade', onUpgrade);
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      for (const off of unsubscribers) off();
      clearInterval(heartbeat);
      reject(
        new ServerError(
          error.code === 'EADDRINUSE'
            ? `port ${options.port} on ${host} is already in use: choose another with --port (0 = any free port)`
            : `cannot listen on ${host}:${options.port ?? 0}: ${error.message}`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  allowedHosts = allowedHostHeaders(host, port);
  const urlHost = isWildcard(host) ? '127.0.0.1' : hostForUrl(host);
  const origin = `http://${urlHost}:${port}`;

  let closing: Promise<void> | null = null;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const off of unsubscribers) off();
        clearInterval(heartbeat);
        for (const ws of wss.clients) ws.close(1001, 'server shutting down');
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
        setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
        }, 1000).unref();
      });
      return closing;
    },
  };
}
