// Jest global setup, for one `jest` run:
//   - a temporary folder of its own, made the TMPDIR of everything the run
//     starts (workers, tools, child processes), so what a test leaves in the
//     system temp folder goes with the run: the teardown removes it. (Before,
//     a run left some hundred folders behind, and a developer's /tmp grew by
//     gigabytes over weeks.) Harnesses that coordinate across runs on one
//     machine (ZooKeeper's loopback locks) read MESOS_TEST_MACHINE_TMPDIR;
//   - a folder in it where test files share what they synthesize
//     (__tests__/helpers/synth.ts synthCluster).
// Workers start after this runs, so they inherit these variables. A synth
// folder named from outside (MESOS_TEST_SYNTH_CACHE already set) is used as
// it is and left in place.
"use strict";
const { mkdirSync, mkdtempSync } = require("fs");
const { tmpdir } = require("os");
const { join } = require("path");

module.exports = async function globalSetup() {
  if (!process.env.MESOS_TEST_RUN_TMPDIR) {
    const machine = tmpdir();
    const run = mkdtempSync(join(machine, "mesos-test-run-"));
    // What TMPDIR was, for the teardown ("-" when unset).
    process.env.MESOS_TEST_TMPDIR_BEFORE = process.env.TMPDIR ?? "-";
    process.env.MESOS_TEST_MACHINE_TMPDIR = machine;
    process.env.MESOS_TEST_RUN_TMPDIR = run;
    process.env.MESOS_TEST_RUN_TMPDIR_OWNED = run;
    process.env.TMPDIR = run;
  }
  if (process.env.MESOS_TEST_SYNTH_CACHE) return;
  const dir = join(process.env.MESOS_TEST_RUN_TMPDIR, "synth-cache");
  mkdirSync(dir);
  process.env.MESOS_TEST_SYNTH_CACHE = dir;
};
