/** Tests run TypeScript through sucrase (types stripped, not checked): `npm test` type-checks once with tsc beside jest (scripts/jest-and-typecheck.js). */
module.exports = {
  testEnvironment: "node",
  // cdktf, constructs and the providers load once per worker, not once per test file (see the file).
  runtime: "<rootDir>/scripts/jest-runtime.js",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": "<rootDir>/scripts/jest-sucrase.js" },
  moduleFileExtensions: ["ts", "js", "json"],
  testTimeout: 60000,
  // One folder per run where test files share the stacks they synthesize (__tests__/helpers/synth.ts).
  globalSetup: "<rootDir>/scripts/jest-global-setup.js",
  globalTeardown: "<rootDir>/scripts/jest-global-teardown.js",
  // cdktf's own stack captures skip jest's source mapping (see the file).
  setupFilesAfterEnv: ["<rootDir>/scripts/jest-setup.js"],
  // The longest files first, also without jest's timing cache (a fresh clone).
  testSequencer: "<rootDir>/scripts/jest-sequencer.js",
  // Many suites wait on real tools, JVMs and npm rather than on the CPU (smoke.test waits
  // out Marathon's and Mesos's timeouts for half a minute). On the 2-core machine, with the
  // libraries loaded once per worker (scripts/jest-runtime.js), `npm test` took 100 s with
  // 3 workers, 94 s with 4 and 97 s with 5 (one quiet run each).
  maxWorkers: 4,
};
