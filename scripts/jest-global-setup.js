// Jest global setup: one folder per `jest` run where test files share what
// they synthesize (__tests__/helpers/synth.ts synthCluster). Workers start
// after this runs, so they inherit MESOS_TEST_SYNTH_CACHE; the teardown
// removes the folder. A folder named from outside (the variable already set)
// is used as it is and left in place.
"use strict";
const { mkdtempSync } = require("fs");
const { tmpdir } = require("os");
const { join } = require("path");

module.exports = async function globalSetup() {
  if (process.env.MESOS_TEST_SYNTH_CACHE) return;
  const dir = mkdtempSync(join(tmpdir(), "mesos-test-synth-"));
  process.env.MESOS_TEST_SYNTH_CACHE = dir;
  process.env.MESOS_TEST_SYNTH_CACHE_OWNED = dir;
};
