/**
 * Errors a user can act on, and how they cross a process boundary.
 *
 * Electron's IPC and contextBridge keep only an Error's message (custom fields such as `code` are
 * dropped), so the main side never lets a handler throw across IPC: it returns an envelope,
 * `{ ok: true, value }` or `{ ok: false, error: { message, code? } }`, and the preload turns a
 * failed envelope back into a rejection. Pure module (no Node imports): the preload bundles it.
 */
import type { StudioErrorInfo } from './contract.ts';

export type StudioErrorCode =
  | 'invalid-payload'
  | 'no-model'
  | 'busy'
  | 'not-running'
  | 'not-found'
  | 'conflict'
  | 'unavailable'
  | 'forbidden'
  | 'internal';

/** An error whose message is meant for the user, with a stable code for programs. */
export class StudioError extends Error {
  readonly code: StudioErrorCode;
  constructor(code: StudioErrorCode, message: string) {
    super(message);
    this.name = 'StudioError';
    this.code = code;
  }
}

/** What a handler's result becomes on the wire (Electron IPC). */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: StudioErrorInfo };

/** The {message, code} of anything thrown; non-Error values get a generic message. */
export function toErrorInfo(error: unknown): StudioErrorInfo {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? { message: error.message, code } : { message: error.message };
  }
  if (error && typeof error === 'object' && typeof (error as StudioErrorInfo).message === 'string') {
    const { message, code } = error as StudioErrorInfo;
    return typeof code === 'string' ? { message, code } : { message };
  }
  return { message: `Unexpected error: ${String(error)}` };
}

/** Runs a handler and wraps its outcome in an envelope; never throws. */
export async function toEnvelope<T>(run: () => Promise<T>): Promise<Envelope<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error: toErrorInfo(error) };
  }
}

/**
 * The value a failed request rejects with on the renderer side: a plain `{ message, code? }`
 * object (StudioErrorInfo), because an Error passed through contextBridge loses its `code`.
 * Renderer code reads `error.message` / `error.code` and never relies on `instanceof Error`.
 */
export function fromEnvelope<T>(envelope: unknown): T {
  if (envelope && typeof envelope === 'object' && 'ok' in envelope) {
    const result = envelope as Envelope<T>;
    if (result.ok) return result.value;
    throw toErrorInfo(result.error);
  }
  throw { message: 'The main process sent a malformed reply', code: 'internal' } satisfies StudioErrorInfo;
}
