// Jest global teardown: removes the run's synth cache folder made by jest-global-setup.js.
"use strict";
const { rmSync } = require("fs");

module.exports = async function globalTeardown() {
  const dir = process.env.MESOS_TEST_SYNTH_CACHE_OWNED;
  if (!dir) return;
  rmSync(dir, { recursive: true, force: true });
  delete process.env.MESOS_TEST_SYNTH_CACHE;
  delete process.env.MESOS_TEST_SYNTH_CACHE_OWNED;
};
