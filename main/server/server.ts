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
 * - the Host header must name this server (DNS rebinding), an Origin header must be our own
 *   (access.ts decides, purely from the headers and URL);
 * - only GET/HEAD, no request bodies, bounded WebSocket messages, bounded work per connection,
 *   bounded replies queued for a client that stops reading;
 * - static files only from the built renderer folder, never outside it (staticFiles.ts); strict
 *   security headers, the same CSP as the desktop window, nothing from the request copied into them;
 * - one log line per refusal or failure, no stack traces; replies never carry the server's paths.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { EVENT_NAMES, REQUEST_NAMES, type StudioErrorInfo, type StudioEvents, type StudioHandlers } from '../app/contract.ts';
import { toErrorInfo } from '../app/errors.ts';
import { TRANSPORT_LIMITS } from '../ml/limits.ts';
import { allowedHostHeaders, checkAccess, hostForUrl, isWildcard, type AccessPolicy, type Refusal } from './access.ts';
import { CONTENT_SECURITY_POLICY } from './contentSecurityPolicy.ts';
import { findStaticFile } from './staticFiles.ts';
import { MAX_MESSAGE_BYTES, WIRE_ERRORS, WireFormatError, encodeMessage, parseRequest, type RequestId, type WireReply } from './wire.ts';

/** Image uploads travel base64-encoded inside one message: 64 MB is about 48 MB of files. */
export const DEFAULT_MAX_MESSAGE_BYTES = MAX_MESSAGE_BYTES;
export const MAX_IN_FLIGHT = TRANSPORT_LIMITS.maxInFlight;
export const MAX_CONNECTIONS = TRANSPORT_LIMITS.maxConnections;
const HEARTBEAT_MS = 30_000;
export const WS_PATH = '/ws';

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
  /** Replies and events queued unread for one client before it is dropped (default TRANSPORT_LIMITS). */
  maxBufferedBytes?: number;
  /** Where to report refusals, failures and dropped clients, one line each (default: nowhere). */
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

/** Control characters and overlong text out of what goes into a log line. */
function printable(text: string, max = 120): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/** A Node system error (ENOENT, EACCES, ...): its message names the server's files. */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  if (!(error instanceof Error)) return false;
  const { syscall, errno } = error as NodeJS.ErrnoException;
  return typeof syscall === 'string' || typeof errno === 'number';
}

/** Absolute paths in a message become their last part: "/home/me/x/model.json" -> "model.json". */
export function hideServerPaths(message: string): string {
  return message.replace(/(^|[\s'"(=[])\/(?:[^\s'"()[\]/]+\/)*([^\s'"()[\]/]*)/g, (_match, before: string, last: string) => `${before}${last || '(folder)'}`);
}

/**
 * What a client sees of a failure: messages written for users as they are (minus any server path);
 * a system error is replaced by its code, as its text names the server's files and folders.
 */
export function publicErrorInfo(error: unknown): StudioErrorInfo {
  if (isSystemError(error)) {
    const code = typeof error.code === 'string' ? error.code : 'an I/O error';
    return { message: `The server could not use a file it needed (${code}); the server's log has the details.`, code: 'internal' };
  }
  const info = toErrorInfo(error);
  return { ...info, message: hideServerPaths(info.message) };
}

/** Starts serving; resolves once listening. Throws ServerError when staticDir has no built renderer. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('hex');
  if (token.length < 16) throw new ServerError('the access token must be at least 16 characters long');
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxBufferedBytes = options.maxBufferedBytes ?? TRANSPORT_LIMITS.maxBufferedBytes;
  const log = options.log ?? (() => undefined);

  let root: string;
  try {
    root = await realpath(options.staticDir);
    await stat(path.join(root, 'index.html'));
  } catch {
    throw new ServerError(`${options.staticDir} holds no built renderer (index.html missing): run \`npm run build\` first`);
  }

  let port = 0;
  const policy: AccessPolicy = { allowedHosts: new Set<string>(), token, cookieName: '' };

  /** One line per refused request: what was asked and why, nothing else from the request. */
  function logRefusal(req: http.IncomingMessage, url: URL | null, status: number, reason: string) {
    log(`digits serve: refused ${printable(req.method ?? '?', 10)} ${printable(url?.pathname ?? '(bad URL)')}: ${status} ${reason}`);
  }

  function securityHeaders(res: http.ServerResponse) {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
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
    const found = await findStaticFile(root, pathname);
    if (!found) return sendText(res, 404, 'Not Found.');
    res.writeHead(200, {
      'Content-Type': found.type,
      'Content-Length': found.size,
      'Cache-Control': found.type.startsWith('text/html') ? 'no-store' : 'no-cache',
    });
    if (req.method === 'HEAD') return res.end();
    const stream = createReadStream(found.file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse) {
    securityHeaders(res);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      logRefusal(req, null, 400, 'malformed URL');
      return sendText(res, 400, 'Bad Request.');
    }
    const refused: Refusal | null = checkAccess(req.headers, url, policy);
    if (refused) {
      logRefusal(req, url, refused.status, refused.reason);
      return sendText(res, refused.status, refused.message);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      logRefusal(req, url, 405, 'method');
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, 'Method Not Allowed.');
    }
    const length = Number(req.headers['content-length'] ?? 0);
    if (req.headers['transfer-encoding'] !== undefined || length > 0) {
      logRefusal(req, url, 413, 'request body');
      res.setHeader('Connection', 'close');
      return sendText(res, 413, 'Payload Too Large: requests carry no body here.');
    }
    if (url.searchParams.has('token')) {
      // Swap the token for a cookie and take it out of the address bar and history.
      url.searchParams.delete('token');
      res.setHeader('Set-Cookie', `${policy.cookieName}=${token}; Path=/; HttpOnly; SameSite=Strict`);
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
      logRefusal(req, null, 400, 'malformed URL');
      return refuseUpgrade(socket, 400, 'Bad Request.');
    }
    const refused = checkAccess(req.headers, url, policy);
    if (refused) {
      logRefusal(req, url, refused.status, `${refused.reason} (WebSocket)`);
      return refuseUpgrade(socket, refused.status, refused.message);
    }
    if (url.pathname !== WS_PATH) return refuseUpgrade(socket, 404, 'Not Found.');
    if (wss.clients.size >= MAX_CONNECTIONS) {
      logRefusal(req, url, 503, 'too many connections');
      return refuseUpgrade(socket, 503, 'Too many connections.');
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  }

  /**
   * Whether `ws` may be sent more. A client that has let maxBufferedBytes pile up unread is
   * dropped (it reconnects and asks for a snapshot) rather than the server growing without bound.
   */
  function canSend(ws: WebSocket): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount <= maxBufferedBytes) return true;
    log(`digits serve: dropped a client that stopped reading (${Math.round(ws.bufferedAmount / 1024 / 1024)} MB unread)`);
    ws.terminate();
    return false;
  }

  function reply(ws: WebSocket, message: WireReply) {
    if (!canSend(ws)) return;
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
      if (!canSend(ws)) return; // its replies would only pile up
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
      const info = toErrorInfo(error);
      // One line, no stack: the full message (with any server path) stays here, not in the reply.
      log(`digits serve: request ${printable(String(id), 40)} ${info.code ?? 'failed'}: ${printable(info.message.replace(/\s+/g, ' '), 300)}`);
      reply(ws, { id, error: publicErrorInfo(error) });
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
    for (const ws of wss.clients) if (canSend(ws)) ws.send(text);
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
  policy.allowedHosts = allowedHostHeaders(host, port);
  policy.cookieName = `digits_token_${port}`; // cookies ignore ports: one name per server
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
