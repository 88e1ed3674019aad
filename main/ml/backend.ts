/**
 * Backend selection: native TensorFlow (`@tensorflow/tfjs-node`) when it loads, else the
 * WebAssembly backend, else the plain JavaScript CPU backend. The caller learns which one is in
 * use and why, so the app and the command line can say it in their own words.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { BackendName } from './types.ts';
import { registerWasmTrainingKernels } from './wasmKernels.ts';

export type { BackendName };

export const BACKEND_NAMES: readonly BackendName[] = ['native', 'wasm', 'cpu'];

/** tfjs's own name for each of our backends. */
const TFJS_NAME: Record<BackendName, string> = { native: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

export interface BackendChoice {
  name: BackendName;
  /** One sentence a user can read: why this backend, and why not a faster one. */
  reason: string;
}

// Not named `require`: electron-vite injects its own `require` into the bundled chunks, and a second
// declaration in the same chunk is a syntax error that stops the built app from loading.
const resolver = createRequire(import.meta.url);

async function tryNative(): Promise<string | null> {
  try {
    await import('@tensorflow/tfjs-node' as string);
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return /Cannot find (module|package)/.test(message)
      ? '@tensorflow/tfjs-node is not installed (its install needs to download libtensorflow)'
      : `@tensorflow/tfjs-node failed to load: ${message}`;
  }
}

async function tryWasm(): Promise<string | null> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the backend cannot locate its .wasm files by itself once bundled; point at them.
    const dist = path.dirname(resolver.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dist + path.sep);
    return null;
  } catch (error) {
    return `the WebAssembly backend failed to load: ${error instanceof Error ? error.message : String(error)}`;
  }
}

let current: BackendChoice | null = null;

/**
 * Activates a backend. With `prefer`, only that backend is tried and failure is an error;
 * otherwise native, then wasm, then cpu. Safe to call more than once.
 */
export async function selectBackend(prefer?: BackendName): Promise<BackendChoice> {
  if (current && (!prefer || prefer === current.name)) return current;
  const order: BackendName[] = prefer ? [prefer] : ['native', 'wasm', 'cpu'];
  const skipped: string[] = [];
  for (const name of order) {
    const problem = name === 'native' ? await tryNative() : name === 'wasm' ? await tryWasm() : null;
    if (problem === null) {
      try {
        if (await tf.setBackend(TFJS_NAME[name])) {
          await tf.ready();
          // The WASM backend's own kernels are slow or missing for training (see wasmKernels.ts).
          if (name === 'wasm') registerWasmTrainingKernels();
          const reason = prefer
            ? `${name} backend requested`
            : skipped.length === 0
              ? 'native TensorFlow loaded'
              : skipped.join('; ');
          current = { name, reason };
          return current;
        }
        skipped.push(`${name} backend did not initialise`);
      } catch (error) {
        skipped.push(`${name} backend failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    } else {
      skipped.push(problem);
    }
  }
  throw new Error(`The ${prefer ?? 'requested'} backend is not available: ${skipped.join('; ')}`);
}

/** The backend chosen by the last `selectBackend`, or null before one was chosen. */
export function currentBackend(): BackendChoice | null {
  return current;
}

export function isBackendName(value: string): value is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(value);
}
