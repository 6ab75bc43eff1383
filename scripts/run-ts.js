#!/usr/bin/env node
// Runs a TypeScript entry point without type-checking it, so `cdktf synth`
// does not pay for `tsc` on every run (type-checking happens once in
// `npm test` and `npm run build`).
//
// Types are stripped by sucrase, which keeps line numbers, so stack traces
// point at the right lines without source maps. Stripped files are cached
// under node_modules/.cache by content hash: a warm synth never loads sucrase
// at all (transforming every file costs ~120 ms, a third of a synth).
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");

const CACHE_DIR = path.join(__dirname, "..", "node_modules", ".cache", "run-ts");
// The transform's identity: bump the suffix when its options change.
const TRANSFORM_VERSION = `sucrase-${require("sucrase/package.json").version}/typescript+imports/1`;
let sucrase;

function transform(source, filename) {
  sucrase = sucrase || require("sucrase");
  return sucrase.transform(source, { transforms: ["typescript", "imports"], filePath: filename }).code;
}

function compileTs(module, filename) {
  const source = fs.readFileSync(filename, "utf8");
  const key = crypto.createHash("sha1").update(TRANSFORM_VERSION).update("\0").update(filename).update("\0").update(source).digest("hex");
  const cached = path.join(CACHE_DIR, `${key}.js`);
  let code;
  try {
    code = fs.readFileSync(cached, "utf8");
  } catch {
    code = transform(source, filename);
    try {
      fs.mkdirSync(CACHE_DIR, { recursive: true });
      // Write then rename: a concurrent run never reads a half-written file.
      const tmp = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, code);
      fs.renameSync(tmp, cached);
    } catch {
      // A read-only tree only costs speed.
    }
  }
  module._compile(code, filename);
}

/** Lets node's own require load .ts files (jest's workers use it too: scripts/jest-runtime.js). */
function register() {
  Module._extensions[".ts"] = compileTs;
}

if (require.main === module) {
  register();
  const entry = process.argv[2];
  if (!entry) {
    console.error("usage: node scripts/run-ts.js FILE.ts [args...]");
    process.exit(2);
  }
  process.argv.splice(1, 2, path.resolve(entry));
  require(path.resolve(entry));
} else {
  module.exports = { register };
}
