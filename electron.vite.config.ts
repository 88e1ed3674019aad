import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import { resolve } from 'node:path';

// Our process folders are at the top level, so every entry is named here.
// out/main/index.js + out/main/trainingWorker.js + out/main/gradientWorker.js (ESM), out/preload/index.cjs, out/renderer/.
export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: resolve('main/electron/index.ts'),
          // The training worker runs in a utilityProcess: its own entry, forked by path.
          trainingWorker: resolve('main/app/trainingWorker.ts'),
          // Data-parallel training's worker threads (main/ml/parallelGradients.ts), started by path.
          gradientWorker: resolve('main/ml/gradientWorker.ts'),
        },
        // Native addons are loaded from node_modules (unpacked from the asar), never bundled.
        external: ['@tensorflow/tfjs-node', 'sharp'],
      },
    },
  },
  preload: {
    build: {
      rollupOptions: {
        input: { index: resolve('preload/index.ts') },
        // Sandboxed preloads cannot be ES modules (Electron's ESM support matrix).
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'renderer',
    build: {
      rollupOptions: { input: { index: resolve('renderer/index.html') } },
    },
    plugins: [svelte()],
  },
});
