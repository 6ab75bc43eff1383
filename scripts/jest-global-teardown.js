// Jest global teardown: removes the run's temporary folder made by
// jest-global-setup.js (the synth cache is in it) and gives back the TMPDIR
// the run started with.
"use strict";
const { rmSync } = require("fs");

module.exports = async function globalTeardown() {
  const dir = process.env.MESOS_TEST_RUN_TMPDIR_OWNED;
  if (!dir) return;
  rmSync(dir, { recursive: true, force: true });
  if (process.env.TMPDIR === dir) {
    const before = process.env.MESOS_TEST_TMPDIR_BEFORE;
    if (before === undefined || before === "-") delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
  if (process.env.MESOS_TEST_SYNTH_CACHE?.startsWith(dir + "/")) delete process.env.MESOS_TEST_SYNTH_CACHE;
  for (const name of ["MESOS_TEST_RUN_TMPDIR", "MESOS_TEST_RUN_TMPDIR_OWNED", "MESOS_TEST_MACHINE_TMPDIR", "MESOS_TEST_TMPDIR_BEFORE"]) delete process.env[name];
};
