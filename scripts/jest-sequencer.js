// Jest test sequencer: the longest test files start first, also on a machine
// that has no timing cache yet (a fresh clone, CI).
//
// Jest's own sequencer orders by the durations it cached on earlier runs and,
// without them, by file size. Some of our slowest files are among the
// smallest (cli.test.ts runs the cdktf CLI twice, bench.test.ts the
// benchmark): sorted by size they started last and the run waited for them
// with one core idle. Here a file's expected seconds are the cached duration
// when there is one, else the figure below for the files known to be slow,
// else an estimate from its size. Files that failed last time still go first,
// as in jest's sequencer. The order changes nothing a test checks.
"use strict";
const path = require("path");
const Sequencer = require("@jest/test-sequencer").default;

/** Typical seconds of the slow files on a 2-core machine, running beside the rest of the suite. */
const KNOWN_SLOW = {
  "package.test.ts": 30,
  "zookeeper-acl.test.ts": 30,
  "agent-auth.test.ts": 25,
  "plan-diff-cli.test.ts": 20,
  "user-data-validation.test.ts": 20,
  "cli.test.ts": 20,
  "bench.test.ts": 20,
  "zookeeper-live.test.ts": 20,
  "smoke.test.ts": 15,
  "plan-diff.test.ts": 15,
  "validate-cli.test.ts": 12,
  "marathon-app-exec.test.ts": 12,
  "cluster-client-fidelity.test.ts": 10,
  "master-tls-live.test.ts": 10,
  "secret-fetchers.test.ts": 8,
  "smoke-zookeeper.test.ts": 8,
  "engine-firewall.test.ts": 8,
};

class SlowestFirstSequencer extends Sequencer {
  sort(tests) {
    const expected = (test) => {
      const cached = this.time(test);
      if (cached != null) return cached / 1000;
      const known = KNOWN_SLOW[path.basename(test.path)];
      if (known != null) return known;
      // A test file that only synthesizes and asserts: about a second per 5 KB.
      return (test.context.hasteFS.getSize(test.path) ?? 0) / 5000;
    };
    // As jest's sequencer does: the cached duration also tells jest whether a short run goes in band.
    for (const test of tests) test.duration = this.time(test);
    const seconds = new Map(tests.map((test) => [test, expected(test)]));
    return [...tests].sort((a, b) => {
      const failedA = this.hasFailed(a);
      if (failedA !== this.hasFailed(b)) return failedA ? -1 : 1;
      return seconds.get(b) - seconds.get(a);
    });
  }
}

module.exports = SlowestFirstSequencer;
