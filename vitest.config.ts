import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    // Synthesis is CPU-bound; two cores here, keep forks to that.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**'],
          setupFiles: ['test/helpers/setup.ts'],
        },
      },
      {
        // Runtime SDK against real servers on loopback (PostgreSQL primary + replica + second shard, Redis, moto),
        // started once for the run by the global set-up and stopped by their pids.
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
