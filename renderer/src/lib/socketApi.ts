/**
 * StudioApi over a WebSocket, for the browser mode (`digits serve`): one method per request of the
 * contract, events pushed by the server, reconnection with backoff. Browser code: no Node imports
 * (Node tests pass the `ws` package's WebSocket in).
 *
 * A request made while connecting waits for the connection; when the connection drops, every
 * request still waiting is rejected with a message saying so (the server may or may not have
 * done the work), and the client reconnects by itself.
 */
import {
  EVENT_NAMES,
  REQUEST_NAMES,
  type RequestName,
  type StudioApi,
  type StudioEvents,
} from '../../../main/app/contract.ts';
import type { ImageUpload, PredictionItem } from '../../../main/app/contract.ts';
import { MAX_MESSAGE_BYTES, WIRE_ERRORS, encodeMessage, parseServerMessage } from '../../../main/server/wire.ts';

/** The part of the WebSocket interface used here (browsers' WebSocket and the `ws` package both fit). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}
export type SocketConstructor = new (url: string) => SocketLike;

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface SocketApiOptions {
  /** Default: the global WebSocket. */
  WebSocket?: SocketConstructor;
  /** First reconnection delay; doubles up to maxDelayMs (each with up to 25% jitter). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** The server's message limit (default MAX_MESSAGE_BYTES); larger uploads are split to fit. */
  maxMessageBytes?: number;
}

/** StudioApi plus what only a socket has: its state (to refetch a snapshot after a reconnect) and close(). */
export type SocketStudioApi = StudioApi & {
  readonly connection: ConnectionState;
  /** Called with each state change; returns the unsubscribe function. */
  onConnection(listener: (state: ConnectionState) => void): () => void;
  /** Closes for good: pending requests are rejected, no reconnection. */
  close(): void;
};

/** An error from the other side, with the machine-readable code when there is one. */
export class StudioRequestError extends Error {
  override name = 'StudioRequestError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const OPEN = 1;
/** Room left in a message for everything but the pictures' base64 (ids, names, JSON). */
const MESSAGE_OVERHEAD = 64 * 1024;
const MB = 1024 * 1024;

/** UTF-8 size of a string, counted only when it could matter (it is at most 3 bytes a character). */
function utf8Length(text: string, limit: number): number {
  if (text.length * 3 <= limit) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    bytes += code < 0x80 ? 1 : code < 0x800 || (code >= 0xd800 && code < 0xe000) ? 2 : 3;
  }
  return bytes;
}

/** Bytes a file takes inside a message: base64 of its content plus its name. */
const uploadSize = (file: ImageUpload) => Math.ceil(file.bytes.length / 3) * 4 + file.name.length * 3 + 64;
const DEFAULT_MIN_DELAY_MS = 250;
const DEFAULT_MAX_DELAY_MS = 5000;

interface Pending {
  method: RequestName;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** ws://host/ws of the page that loaded us. */
function defaultUrl(): string {
  const location = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (!location) throw new Error('createSocketApi needs a URL outside a browser page');
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

export function createSocketApi(url: string = defaultUrl(), options: SocketApiOptions = {}): SocketStudioApi {
  const found = options.WebSocket ?? (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
  if (!found) throw new Error('this environment has no WebSocket');
  const Socket: SocketConstructor = found;
  const minDelay = options.minDelayMs ?? DEFAULT_MIN_DELAY_MS;
  const maxDelay = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;

  let socket: SocketLike | null = null;
  let state: ConnectionState = 'closed';
  let closedForGood = false;
  let delay = minDelay;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  /** Requests made before the socket opened, sent on open. */
  let queue: string[] = [];
  const eventListeners = new Map<string, Set<(payload: unknown) => void>>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();

  function setState(next: ConnectionState) {
    if (next === state) return;
    state = next;
    for (const listener of [...connectionListeners]) safely(() => listener(next));
  }

  function safely(call: () => void) {
    try {
      call();
    } catch (error) {
      console.error('Digit Studio: a listener failed', error);
    }
  }

  function rejectAll(reason: string, code: string) {
    const waiting = [...pending.values()];
    pending.clear();
    queue = [];
    for (const request of waiting) request.reject(new StudioRequestError(`${request.method}: ${reason}`, code));
  }

  function connect() {
    if (closedForGood || socket) return;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    setState('connecting');
    const current = new Socket(url);
    socket = current;
    current.addEventListener('open', () => {
      if (socket !== current) return;
      delay = minDelay;
      setState('open');
      const toSend = queue;
      queue = [];
      for (const text of toSend) current.send(text);
    });
    current.addEventListener('message', (event) => {
      if (socket !== current) return;
      if (typeof event.data !== 'string') return;
      let message;
      try {
        message = parseServerMessage(event.data);
      } catch (error) {
        console.error('Digit Studio: unreadable message from the server', error);
        return;
      }
      if ('event' in message) {
        for (const listener of [...(eventListeners.get(message.event) ?? [])]) safely(() => listener(message.payload));
        return;
      }
      if (message.id === null || typeof message.id !== 'number') {
        if ('error' in message) console.error(`Digit Studio: the server refused a message: ${message.error.message}`);
        return;
      }
      const request = pending.get(message.id);
      if (!request) return;
      pending.delete(message.id);
      if ('error' in message) request.reject(new StudioRequestError(message.error.message, message.error.code));
      else request.resolve(message.result);
    });
    current.addEventListener('close', () => {
      if (socket !== current) return;
      socket = null;
      rejectAll(
        'lost the connection to the Digit Studio server (digits serve) before it answered. ' +
          'If the server stopped, start it again and reload this page; otherwise it reconnects by itself.',
        WIRE_ERRORS.disconnected,
      );
      setState('closed');
      if (closedForGood) return;
      const wait = delay * (1 + Math.random() * 0.25);
      delay = Math.min(delay * 2, maxDelay);
      retryTimer = setTimeout(connect, wait);
    });
    // 'error' is always followed by 'close', which does the work.
    current.addEventListener('error', () => undefined);
  }

  function request(method: RequestName, payload: unknown): Promise<unknown> {
    if (closedForGood) return Promise.reject(new StudioRequestError(`${method}: the connection is closed`, WIRE_ERRORS.disconnected));
    return new Promise((resolve, reject) => {
      const id = nextId++;
      let text: string;
      try {
        text = encodeMessage(payload === undefined ? { id, method } : { id, method, payload });
      } catch (error) {
        reject(error);
        return;
      }
      const size = utf8Length(text, maxMessageBytes);
      if (size > maxMessageBytes) {
        reject(
          new StudioRequestError(
            `${method}: the request is too large to send (${(size / MB).toFixed(1)} MB; ` +
              `the server takes at most ${(maxMessageBytes / MB).toFixed(0)} MB at once)`,
            'too-large',
          ),
        );
        return;
      }
      pending.set(id, { method, resolve, reject });
      if (socket && socket.readyState === OPEN) socket.send(text);
      else {
        queue.push(text);
        if (!socket) connect(); // a user action need not wait for the backoff timer
      }
    });
  }

  const api = {
    get connection() {
      return state;
    },
    on<E extends keyof StudioEvents>(event: E, listener: (payload: StudioEvents[E]) => void): () => void {
      if (!(EVENT_NAMES as readonly string[]).includes(event)) throw new Error(`unknown event '${String(event)}'`);
      const set = eventListeners.get(event) ?? new Set();
      eventListeners.set(event, set);
      const wrapped = listener as (payload: unknown) => void;
      set.add(wrapped);
      return () => void set.delete(wrapped);
    },
    onConnection(listener: (state: ConnectionState) => void): () => void {
      connectionListeners.add(listener);
      return () => void connectionListeners.delete(listener);
    },
    close() {
      closedForGood = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      const current = socket;
      socket = null;
      rejectAll('the connection is closed', WIRE_ERRORS.disconnected);
      current?.close(1000, 'closed by the page');
      setState('closed');
    },
  } as Record<string, unknown>;
  for (const method of REQUEST_NAMES) api[method] = (payload?: unknown) => request(method, payload);
  api.predictImages = (payload: { files: ImageUpload[] }) => predictInParts(payload);

  /**
   * predictImages with any number of pictures: split into requests that fit in one message, sent
   * one after the other, answers joined in order. A picture too large for any message gets its
   * own error item, like any other unreadable file.
   */
  async function predictInParts(payload: { files: ImageUpload[] }): Promise<PredictionItem[]> {
    const files = Array.isArray(payload?.files) ? payload.files : null;
    if (!files) return request('predictImages', payload) as Promise<PredictionItem[]>;
    const budget = maxMessageBytes - MESSAGE_OVERHEAD;
    const items: (PredictionItem | null)[] = files.map(() => null);
    let group: number[] = [];
    let groupSize = 0;
    const send = async () => {
      if (group.length === 0) return;
      const indices = group;
      group = [];
      groupSize = 0;
      const answers = (await request('predictImages', { files: indices.map((i) => files[i]) })) as PredictionItem[];
      indices.forEach((fileIndex, k) => (items[fileIndex] = answers[k]));
    };
    for (let i = 0; i < files.length; i++) {
      const size = uploadSize(files[i]);
      if (size > budget) {
        const mb = (files[i].bytes.length / MB).toFixed(1);
        const max = ((budget * 3) / 4 / MB).toFixed(0);
        items[i] = { name: files[i].name, ok: false, error: `${files[i].name}: the file is ${mb} MB; the browser mode sends pictures up to ${max} MB.`, code: 'too-large' };
        continue;
      }
      if (groupSize + size > budget) await send();
      group.push(i);
      groupSize += size;
    }
    await send();
    return items as PredictionItem[];
  }

  connect();
  return api as unknown as SocketStudioApi;
}
