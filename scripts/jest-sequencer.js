// Jest test sequencer: the longest test files start first, also on a machine
// that has no timing cache yet (a fresh clone, CI).
//
// Jest's own sequencer orders by the durations it cached on earlier runs and,
// without them, by file size. Some of our slowest files are among the
// smallest (cli.test.ts runs the cdktf CLI, bench.test.ts the
// benchmark): sorted by size they started last and the run waited for them
// with one core idle. Here a file's expected seconds are the cached duration
// when there is one, else the figure below for the files known to be slow,
// else an estimate from its size. Files that failed last time still go first,
// as in jest's sequencer.
//
// Files that run a ZooKeeper ensemble (they call startEnsemble) hold the
// loopback addresses 127.0.0.1-3 machine-wide (__tests__/helpers/zookeeper.ts
// lockHost): two of them started side by side, one waited on the other's lock
// with its worker idle. The order is therefore planned on the expected
// seconds: a file that needs the addresses is not started before the one
// ahead of it is expected to release them; other files start meanwhile. The
// order changes nothing a test checks.
"use strict";
const fs = require("fs");
const path = require("path");
const Sequencer = require("@jest/test-sequencer").default;

/** Typical seconds of the slow files on a 2-core machine, running beside the rest of the suite. */
const KNOWN_SLOW = {
  "smoke.test.ts": 29,
  "zookeeper-acl.test.ts": 27,
  "package.test.ts": 26,
  "user-data-validation.test.ts": 17,
  "marathon-app-exec.test.ts": 15,
  "zookeeper-live.test.ts": 16,
  "plan-diff-cli.test.ts": 14,
  "cluster-client-fidelity.test.ts": 12,
  "plan-diff.test.ts": 12,
  "bench.test.ts": 11,
  "agent-auth.test.ts": 9,
  "validate-cli.test.ts": 9,
  "rollout.test.ts": 4,
  "master-tls-live.test.ts": 8,
  "agent-drain.test.ts": 7,
  "bad-input.test.ts": 7,
  "secret-fetchers.test.ts": 7,
  "cli.test.ts": 6,
  "readiness-gate.test.ts": 5,
  "engine-firewall.test.ts": 5,
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
    const sorted = [...tests].sort((a, b) => {
      const failedA = this.hasFailed(a);
      if (failedA !== this.hasFailed(b)) return failedA ? -1 : 1;
      return seconds.get(b) - seconds.get(a);
    });
    return plan(sorted, (test) => seconds.get(test), holdsLoopbackLock, workerCount());
  }
}

/** The number of workers jest was asked for (the sequencer is not told): --runInBand, --maxWorkers, jest.config.js, or jest's default. */
function workerCount() {
  const args = process.argv.slice(2);
  if (args.includes("--runInBand") || args.includes("-i")) return 1;
  let value;
  args.forEach((arg, i) => {
    const m = /^(?:--maxWorkers|-w)(?:=(.+))?$/.exec(arg);
    if (m) value = m[1] ?? args[i + 1];
  });
  if (value === undefined) value = require(path.join(__dirname, "..", "jest.config.js")).maxWorkers;
  const cores = require("os").cpus().length;
  if (value === undefined) return Math.max(1, cores - 1);
  const n = String(value).endsWith("%") ? Math.floor((cores * parseFloat(value)) / 100) : parseInt(value, 10);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

/** True for a test file that starts ZooKeeper ensembles. */
const lockHolders = new Map();
function holdsLoopbackLock(test) {
  if (!lockHolders.has(test.path)) {
    let holds = false;
    try {
      holds = /\bstartEnsemble\(/.test(fs.readFileSync(test.path, "utf8"));
    } catch {
      // Unreadable: jest will say so when it runs it.
    }
    lockHolders.set(test.path, holds);
  }
  return lockHolders.get(test.path);
}

/**
 * `tests` in the given order, as far as the loopback lock allows: the start
 * of each file is planned on `workers` workers from the expected seconds, and
 * a file for which `exclusive` holds is passed over (the next other file
 * starts instead) until the exclusive file ahead of it is expected to end.
 */
function plan(tests, seconds, exclusive, workers) {
  const freeAt = new Array(workers).fill(0);
  const pending = [...tests];
  const out = [];
  let lockFreeAt = 0;
  while (pending.length > 0) {
    const now = Math.min(...freeAt);
    let next = pending.findIndex((t) => !exclusive(t) || lockFreeAt <= now);
    if (next < 0) next = 0; // only files that need the lock are left: the next one waits for it
    const [test] = pending.splice(next, 1);
    const start = exclusive(test) ? Math.max(now, lockFreeAt) : now;
    const end = start + seconds(test);
    if (exclusive(test)) lockFreeAt = end;
    freeAt[freeAt.indexOf(now)] = end;
    out.push(test);
  }
  return out;
}

module.exports = SlowestFirstSequencer;
