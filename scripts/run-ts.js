#!/usr/bin/env node
// Runs a TypeScript entry point without type-checking it: sucrase strips the
// types as files are required (a few milliseconds), so `cdktf synth` does not
// pay for `tsc` on every run. Type-checking happens once in `npm test`
// (`npm run typecheck`) and in `npm run build`.
"use strict";
require("sucrase/register/ts");
const path = require("path");
const entry = process.argv[2];
if (!entry) {
  console.error("usage: node scripts/run-ts.js FILE.ts [args...]");
  process.exit(2);
}
process.argv.splice(1, 2, path.resolve(entry));
require(path.resolve(entry));
