import { defineConfig } from 'vitest/config';

// Unit tests live beside the code. Training tests are slow on the portable backends, so
// timeouts are generous; speed targets belong in `npm run bench`, never in a test.
export default defineConfig({
  test: {
    include: ['main/**/*.test.ts', 'shared/**/*.test.ts', 'preload/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
