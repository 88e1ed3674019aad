/**
 * The few browser globals the specs touch inside `page.evaluate` callbacks, typed by hand: the
 * root tsconfig has no DOM lib (main-side code must not see browser globals). Use as
 * `const g = globalThis as unknown as PageGlobals;` inside the callback (a type-only import).
 */
export interface PageSocket {
  onopen: (() => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: string): void;
  close(): void;
}

export interface PageGlobals {
  document: { body: { dispatchEvent(event: unknown): boolean }; cookie: string };
  location: { host: string };
  DataTransfer: new () => { items: { add(file: unknown): unknown } };
  DragEvent: new (type: string, init: { dataTransfer: unknown; bubbles: boolean; cancelable: boolean }) => unknown;
  File: new (parts: Uint8Array[], name: string, options: { type: string }) => unknown;
  WebSocket: new (url: string) => PageSocket;
  /** The Electron preload's api (absent in the browser mode). */
  studio?: Record<string, (payload?: unknown) => Promise<unknown>>;
}
