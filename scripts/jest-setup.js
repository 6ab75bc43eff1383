// Jest setup (setupFilesAfterEnv): runs in each test file's context after jest
// has installed source-map-support there.
//
// cdktf and constructs capture a stack trace for every token they create
// (cdktf lib/tokens/private/stack-trace.js, copied from constructs
// lib/private/stack-trace.js: Error.captureStackTrace on a plain
// `{ stack: "" }` object with Error.stackTraceLimit raised to
// Number.MAX_SAFE_INTEGER, then `.stack` read and split into lines). The
// trace is kept as the token's `creationStack` and only ever quoted in
// cdktf's own error messages ("... created at: ..."); it is not part of any
// synthesized output, and no test reads it. Under jest it was the largest
// single cost of synthesizing a stack:
//   - every `.stack` read ran jest's source-map-support, which decoded and
//     parsed the inline source map of each cdktf file on the stack, afresh in
//     every test file (about a quarter of a synthesizing file's CPU);
//   - each capture walked the whole stack, jest's own frames included.
// So in tests: these captures are formatted as V8 formats them without jest
// (generated positions: the same lines for our files, which sucrase keeps),
// and keep no frames unless JEST_CREATION_FRAMES asks for some
// (`JEST_CREATION_FRAMES=10 npm test -- FILE` when a cdktf error should say
// where its token was made). Ten frames cost about a tenth of a synthesizing
// file's CPU. Real errors (Error objects: failed expectations, thrown errors)
// keep their full, source-mapped stacks.
"use strict";

const CREATION_FRAMES = Number(process.env.JEST_CREATION_FRAMES ?? 0);

const mapped = Error.prepareStackTrace;
if (typeof mapped === "function") {
  Error.prepareStackTrace = function prepareStackTrace(error, frames) {
    if (error !== null && typeof error === "object" && Object.getPrototypeOf(error) === Object.prototype) {
      return `Error: ${frames.map((frame) => `\n    at ${frame}`).join("")}`;
    }
    return mapped(error, frames);
  };
}

/** The libraries' captureStackTrace, with at most `limit` frames. */
function boundedCapture(limit) {
  if (!(limit > 0)) return () => [];
  return function captureStackTrace(below) {
    const object = { stack: "" };
    const previousLimit = Error.stackTraceLimit;
    try {
      Error.stackTraceLimit = limit;
      Error.captureStackTrace(object, below || captureStackTrace);
    } finally {
      Error.stackTraceLimit = previousLimit;
    }
    if (!object.stack) return [];
    return object.stack
      .split("\n")
      .slice(1)
      .map((s) => s.replace(/^\s*at\s+/, ""));
  };
}

// Both modules are called through their exports object (`(0, stack_trace_1.captureStackTrace)(...)`),
// so replacing the export reaches every caller in this test file's module registry.
for (const id of ["cdktf/lib/tokens/private/stack-trace", "constructs/lib/private/stack-trace"]) {
  try {
    const traces = require(id);
    if (typeof traces.captureStackTrace === "function") traces.captureStackTrace = boundedCapture(CREATION_FRAMES);
  } catch {
    // Another layout of the library: its traces stay as they are (only slower).
  }
}
