import { defineConfig } from 'vitest/config';

// Forks, not threads: the native addon keeps one thread pool per process, and
// tests that time out must be killable without taking the pool down with them.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
