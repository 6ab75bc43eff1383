// Jest setup (setupFilesAfterEnv): runs in each test file's context after jest
// has installed source-map-support there.
//
// cdktf and constructs capture a full stack trace for every token and every
// resource they create (cdktf lib/tokens/private/stack-trace.js and constructs
// lib/private/stack-trace.js: Error.captureStackTrace on a plain
// `{ stack: "" }` object, then read `.stack`). Under jest every such read ran
// source-map-support, which decodes and parses the inline source map of each
// cdktf file on the stack, afresh in every test file: about a quarter of the
// CPU of a test file that synthesizes stacks. Those traces are only kept as
// construct metadata and quoted in cdktf's own error messages; no test reads
// them. They are now formatted as V8 formats them without jest (generated
// positions: the same lines for our files, which sucrase keeps, and cdktf's
// .js files). Real errors (Error objects: failed expectations, thrown
// errors) keep their source-mapped stacks.
"use strict";

const mapped = Error.prepareStackTrace;
if (typeof mapped === "function") {
  Error.prepareStackTrace = function prepareStackTrace(error, frames) {
    if (error !== null && typeof error === "object" && Object.getPrototypeOf(error) === Object.prototype) {
      return `Error: ${frames.map((frame) => `\n    at ${frame}`).join("")}`;
    }
    return mapped(error, frames);
  };
}
