/// <reference types="svelte" />
import type { StudioApi } from './lib/contract.ts';

declare global {
  interface Window {
    /** Set by the Electron preload (contextBridge); absent in the browser mode. */
    studio?: StudioApi;
  }
}

export {};
