import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

// Unit tests live beside the code. Training tests are slow on the portable backends, so
// timeouts are generous; speed targets belong in `npm run bench`, never in a test.
// Two projects: the Node side (ML core, CLI, app, server) and the Svelte renderer in jsdom.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['main/**/*.test.ts', 'preload/**/*.test.ts', 'bench/**/*.test.ts', 'test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        plugins: [svelte(), svelteTesting()],
        resolve: { conditions: ['browser'] },
        test: {
          name: 'renderer',
          include: ['renderer/**/*.test.ts'],
          environment: 'jsdom',
          setupFiles: ['renderer/src/test/setup.ts'],
          testTimeout: 20_000,
        },
      },
    ],
  },
});
