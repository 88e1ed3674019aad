/**
 * The WebSocket wire format of `digits serve`, shared by the server (Node) and the browser client.
 * Browser-safe on purpose: no Node imports, no Buffer, no DOM types.
 *
 *   client -> server  request  { id, method, payload? }
 *   server -> client  reply    { id, result } | { id, error: { message, code? } }
 *   server -> client  push     { event, payload }
 *
 * JSON has no bytes, so every Uint8Array (anywhere in a payload, result or push) travels as
 * `{ "$bytes": "<base64>" }` and is decoded back recursively on the other side.
 */
import type { StudioErrorInfo } from '../app/contract.ts';
import { TRANSPORT_LIMITS } from '../ml/limits.ts';

export type RequestId = number | string;

export interface WireRequest {
  id: RequestId;
  method: string;
  payload?: unknown;
}

export type WireReply = { id: RequestId; result?: unknown } | { id: RequestId | null; error: StudioErrorInfo };

export interface WirePush {
  event: string;
  payload: unknown;
}

export const BYTES_KEY = '$bytes';

/**
 * Largest message the server accepts (its WebSocket maxPayload). Picture uploads travel base64
 * encoded (4/3 of their size), so about 48 MB of files fit in one message; the client splits
 * larger prediction requests.
 */
export const MAX_MESSAGE_BYTES = TRANSPORT_LIMITS.maxMessageBytes;

/** Error codes the transport itself uses (handlers may add their own). */
export const WIRE_ERRORS = {
  badMessage: 'bad-message',
  unknownMethod: 'unknown-method',
  busy: 'busy',
  internal: 'internal',
  disconnected: 'disconnected',
} as const;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENCODE = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const LOOKUP = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();
const PAD = 61; // '='
/** TextDecoder exists in Node and in browsers; ASCII bytes decode to the same characters. */
const ascii = new TextDecoder();

/** Standard base64 with padding (RFC 4648 section 4). */
export function bytesToBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  const full = bytes.length - (bytes.length % 3);
  let o = 0;
  for (let i = 0; i < full; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = ENCODE[v >>> 18];
    out[o++] = ENCODE[(v >>> 12) & 63];
    out[o++] = ENCODE[(v >>> 6) & 63];
    out[o++] = ENCODE[v & 63];
  }
  const rest = bytes.length - full;
  if (rest > 0) {
    const v = (bytes[full] << 16) | (rest === 2 ? bytes[full + 1] << 8 : 0);
    out[o++] = ENCODE[v >>> 18];
    out[o++] = ENCODE[(v >>> 12) & 63];
    out[o++] = rest === 2 ? ENCODE[(v >>> 6) & 63] : PAD;
    out[o++] = PAD;
  }
  return ascii.decode(out);
}

/** Decodes standard padded base64; throws a TypeError on anything else. */
export function base64ToBytes(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new TypeError('invalid base64: length is not a multiple of 4');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const code = text.charCodeAt(i + j);
      let digit = code < 128 ? LOOKUP[code] : -1;
      if (digit < 0 && last && code === PAD && j >= 4 - padding) digit = 0;
      if (digit < 0) throw new TypeError(`invalid base64: unexpected character at ${i + j}`);
      v = (v << 6) | digit;
    }
    out[o++] = v >>> 16;
    if (o < out.length) out[o++] = (v >>> 8) & 255;
    if (o < out.length) out[o++] = v & 255;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Makes a value JSON-ready: Uint8Array -> { $bytes }, other typed arrays -> plain number arrays,
 * recursively through arrays and plain objects. Throws on values JSON would silently mangle.
 */
export function encodeValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return { [BYTES_KEY]: bytesToBase64(value) };
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView) throw new TypeError('cannot send a DataView over the wire');
    return Array.from(value as unknown as ArrayLike<number | bigint>, Number);
  }
  if (Array.isArray(value)) return value.map(encodeValue);
  if (value instanceof ArrayBuffer) return encodeValue(new Uint8Array(value));
  if (isPlainObject(value)) {
    if (BYTES_KEY in value) throw new TypeError(`cannot send an object with a '${BYTES_KEY}' key over the wire`);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, encodeValue(item)]));
  }
  if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
    throw new TypeError(`cannot send a ${typeof value} over the wire`);
  }
  return value;
}

/**
 * Inverse of encodeValue on parsed JSON: every `{ $bytes: string }` becomes a Uint8Array.
 * Builds fresh objects with Object.fromEntries, so a `__proto__` key stays an own property.
 */
export function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === BYTES_KEY) {
      const text = value[BYTES_KEY];
      if (typeof text !== 'string') throw new TypeError(`'${BYTES_KEY}' must be a base64 string`);
      return base64ToBytes(text);
    }
    return Object.fromEntries(keys.map((key) => [key, decodeValue(value[key])]));
  }
  return value;
}

/** Serialises one message (request, reply or push). */
export function encodeMessage(message: WireRequest | WireReply | WirePush): string {
  return JSON.stringify(encodeValue(message));
}

export class WireFormatError extends Error {
  override name = 'WireFormatError';
  readonly code = WIRE_ERRORS.badMessage;
  /** The request's id when it could be read, so the reply reaches the right caller. */
  constructor(
    message: string,
    readonly requestId: RequestId | null = null,
  ) {
    super(message);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new WireFormatError('message is not valid JSON');
  }
}

function decodeOrThrow(value: unknown, requestId: RequestId | null = null): unknown {
  try {
    return decodeValue(value);
  } catch (error) {
    throw new WireFormatError((error as Error).message, requestId);
  }
}

function isRequestId(value: unknown): value is RequestId {
  return (typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && value.length <= 64);
}

/** Parses a client message into a request; throws WireFormatError with a readable reason. */
export function parseRequest(text: string): WireRequest {
  const raw = parseJson(text);
  if (!isPlainObject(raw)) throw new WireFormatError('a request must be a JSON object { id, method, payload }');
  if (!isRequestId(raw.id)) throw new WireFormatError('a request needs an id (a whole number or a short string)');
  if (typeof raw.method !== 'string') throw new WireFormatError('a request needs a method name (a string)', raw.id);
  return { id: raw.id, method: raw.method, payload: decodeOrThrow(raw.payload, raw.id) };
}

/** Parses a server message into a reply or a push; throws WireFormatError otherwise. */
export function parseServerMessage(text: string): WireReply | WirePush {
  const raw = parseJson(text);
  if (!isPlainObject(raw)) throw new WireFormatError('a server message must be a JSON object');
  if (typeof raw.event === 'string') return { event: raw.event, payload: decodeOrThrow(raw.payload) };
  if (raw.id !== null && !isRequestId(raw.id)) throw new WireFormatError('a reply needs an id');
  if ('error' in raw) {
    const error = raw.error;
    if (!isPlainObject(error) || typeof error.message !== 'string') throw new WireFormatError('a reply error needs a message');
    const info: StudioErrorInfo = { message: error.message };
    if (typeof error.code === 'string') info.code = error.code;
    return { id: raw.id as RequestId | null, error: info };
  }
  if (raw.id === null) throw new WireFormatError('a reply needs an id');
  return { id: raw.id as RequestId, result: decodeOrThrow(raw.result) };
}
