import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    // Synthesis is CPU-bound; two cores here, keep forks to that.
    pool: 'forks',
    maxWorkers: 2,
    // V8 collects garbage on the worker's own thread instead of helper threads. On this 2-core machine the helpers
    // compete with the other worker for the cores and for memory: the unit project took 0.85x the wall time and
    // 0.84x the CPU with it (106 s and 110 s against 124 s and 130 s, alternating). cdk.json's launcher does the same.
    execArgv: ['--single-threaded-gc'],
    // Vitest keeps the modules it transformed (the TypeScript of the library and the tests) on disk, keyed by their
    // content, so a run after an edit transforms only what changed. Alternating warm unit runs: 71.8 and 69.6 s
    // against 74.2 and 73.4 s, CPU 124 and 121 s against 129 and 128 s (transform 0.65 s against 3.2 s, import 5.5-6.1
    // s against 8.5 s). Experimental in vitest 4.1; `npx vitest --clearCache` empties it.
    experimental: { fsModuleCache: true, fsModuleCachePath: 'node_modules/.cache/scale-to-millions/vitest-modules' },
    testTimeout: 120_000,
    hookTimeout: 300_000,
    env: {
      // The AWS SDK warns under Node 20 (the project's runtime, engines >=20.19) that SDK releases after January
      // 2027 will need Node 22: a note for whoever upgrades the pinned SDK clients, not for a test run.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // A synth a test starts (bin/app.ts in a child process) uses an engine of its own, never a validation daemon that
      // would outlive the run; the daemon's own tests start theirs in a directory of their own and stop it by its pid,
      // and the checked synths share the unit run's daemon, which its global set-up stops by its pid at the end.
      S2M_VALIDATION_DAEMON: 'off',
    },
    // aws-cdk-lib prints the validation report (the construct annotations and findings) to stderr at every synth
    // with a warning, also when a test builds a config to assert that warning. Tests assert warnings through
    // `Annotations`/the report file, and a synth that fails on the report throws with it in the error.
    onConsoleLog: (log: string, type: string) => !(type === 'stderr' && log.includes('A copy of this report can be found in:')),
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // The files of a worker share one module graph: aws-cdk-lib and the constructs load once per worker, and an
          // example app built by name once per worker (test/helpers/app.ts). test/helpers/setup.ts gives each file the
          // same start; templates do not depend on what earlier files built (test/lib/token-order.test.ts).
          isolate: false,
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**'],
          setupFiles: ['test/helpers/setup.ts'],
          globalSetup: ['test/helpers/unit-global-setup.ts'],
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
          setupFiles: ['test/integration/scratch.ts'],
          testTimeout: 60_000,
          // Two files at a time (the default above). Four took the project from 84-88 s to 58 s, but left the whole run
          // unchanged (the unit tests are its longer path), and the CI run of the commit that made it four failed; its
          // log did not say where (npm test now repeats a failed step's failures at the end). Not worth the risk that
          // the tests' timing margins (heartbeats, TTLs, timeouts) meet more contention.
        },
      },
    ],
  },
});
