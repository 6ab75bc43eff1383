#!/usr/bin/env node
// `npm test`: the type-check (`npm run typecheck`) and jest, side by side.
//
// They used to run one after the other, and the type-check (one process,
// about 20 s of CPU from a cold start) left the second core of a 2-core
// machine idle meanwhile. Now tsc starts with jest at a lower priority, so
// it takes the CPU time jest's workers leave while they wait on JVMs, tools
// and child processes, and jest's own work is not slowed. Nothing is
// checked less: both run to the end, tsc's messages are printed when it
// ends, and the exit status is jest's, or tsc's when jest passed and tsc
// did not. Arguments go to jest (`npm test -- __tests__/x.test.ts`).
"use strict";
const { spawn } = require("child_process");
const os = require("os");
const path = require("path");

const root = path.join(__dirname, "..");
const typecheck = require(path.join(root, "package.json")).scripts.typecheck;

// npm puts node_modules/.bin on PATH for its scripts; so does this, for a direct `node scripts/...`.
const env = { ...process.env, PATH: [path.join(root, "node_modules", ".bin"), process.env.PATH].join(path.delimiter) };

const tsc = spawn(typecheck, { cwd: root, env, shell: true, stdio: ["ignore", "pipe", "pipe"] });
try {
  os.setPriority(tsc.pid, 10);
} catch {
  // Not allowed here: it then competes with jest as an equal.
}
const tscOutput = [];
tsc.stdout.on("data", (c) => tscOutput.push(c));
tsc.stderr.on("data", (c) => tscOutput.push(c));
const tscDone = new Promise((resolve) => {
  tsc.on("error", (e) => resolve({ code: 1, error: e }));
  tsc.on("close", (code, signal) => resolve({ code: code ?? 1, signal }));
}).then((r) => {
  const text = Buffer.concat(tscOutput).toString();
  if (r.code === 0) {
    process.stderr.write(`npm run typecheck: passed (${typecheck})\n${text}`);
  } else {
    process.stderr.write(`npm run typecheck: FAILED (${typecheck}${r.signal ? `, ${r.signal}` : ""}${r.error ? `, ${r.error.message}` : ""}):\n${text}\n`);
  }
  return r.code;
});

const jest = spawn(process.execPath, [require.resolve("jest/bin/jest", { paths: [root] }), ...process.argv.slice(2)], { cwd: root, env: process.env, stdio: "inherit" });
const jestDone = new Promise((resolve) => {
  jest.on("error", (e) => {
    process.stderr.write(`jest did not start: ${e.message}\n`);
    resolve(1);
  });
  jest.on("close", (code) => resolve(code ?? 1));
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    tsc.kill(signal);
    jest.kill(signal);
  });
}

Promise.all([jestDone, tscDone]).then(([jestCode, tscCode]) => {
  process.exitCode = jestCode !== 0 ? jestCode : tscCode;
});
