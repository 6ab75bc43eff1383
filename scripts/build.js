#!/usr/bin/env node
// `npm run build` (and `npm pack` / `npm publish`, through prepack): the
// library's JavaScript and declarations in dist/, exactly what the sources
// make today.
//
// tsc builds incrementally (`tsc -b tsconfig.build.json`; the build
// information is dist/.tsbuildinfo, which the package's "files" leave out):
// with no source changed it stops after comparing them (0.3 s instead of a
// 6-second full build). What tsc alone would get wrong, this does:
//   - tsc never deletes: a file no source makes any more (a module renamed or
//     removed) is deleted here, so the tarball cannot ship a stale module;
//   - `tsc -b` calls a project up to date when its newest input is older than
//     the build information, without looking at each output (TypeScript 5.9,
//     measured: a deleted dist/constructs/index.js stayed deleted), so when
//     an output is missing the build starts over (`--force`);
//   - `tsc -b` does not watch the installed packages: after an install newer
//     than the build information (npm rewrites node_modules/.package-lock.json)
//     the build starts over too, as `npm run typecheck` does;
//   - constructs/cluster-client (plain JavaScript the constructs ship into
//     cdktf.out as it is) is copied beside the compiled constructs.
// `node scripts/build.js --clean` deletes dist/ first (a build from nothing).
"use strict";
const fs = require("fs");
const path = require("path");

/**
 * Builds `config` (a tsconfig with outDir and tsBuildInfoFile) under `root`,
 * then copies each `copies` folder (source -> destination, relative to root)
 * and deletes every file under outDir that neither tsc nor a copy made.
 * Returns 0, or 1 with tsc's diagnostics printed.
 */
function build(root, { config, copies = {}, clean = false, log = (line) => process.stderr.write(`${line}\n`) }) {
  const ts = require(require.resolve("typescript", { paths: [root, __dirname] }));
  const configPath = path.resolve(root, config);
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n")); } });
  const outDir = parsed.options.outDir;
  const buildInfo = parsed.options.tsBuildInfoFile && path.resolve(path.dirname(configPath), parsed.options.tsBuildInfoFile);
  if (!outDir || !buildInfo) throw new Error(`${config} must set outDir and tsBuildInfoFile`);
  if (clean) fs.rmSync(outDir, { recursive: true, force: true });

  const outputs = new Set(parsed.fileNames.flatMap((file) => ts.getOutputFileNames(parsed, file, !ts.sys.useCaseSensitiveFileNames)).map((f) => path.resolve(f)));
  const built = mtime(buildInfo) !== undefined;
  const missing = [...outputs].filter((f) => !fs.existsSync(f));
  const force = built && (missing.length > 0 || installedSince(root, buildInfo));
  if (force) log(`build: starting over (${missing.length > 0 ? `${missing.length} output(s) missing, e.g. ${path.relative(root, missing[0])}` : "packages installed since the last build"})`);

  const host = ts.createSolutionBuilderHost(ts.sys, undefined, ts.createDiagnosticReporter(ts.sys, true));
  const status = ts.createSolutionBuilder(host, [configPath], { force }).build();
  if (status !== ts.ExitStatus.Success) return 1;
  // What tsc compiled: the included files and every file of ours they import (the build information lists them).
  const compiled = { ...parsed, fileNames: compiledSources(buildInfo) };
  for (const file of compiled.fileNames) for (const out of ts.getOutputFileNames(compiled, file, !ts.sys.useCaseSensitiveFileNames)) outputs.add(path.resolve(out));

  for (const [from, to] of Object.entries(copies)) {
    const source = path.resolve(root, from);
    const dest = path.resolve(root, to);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.cpSync(source, dest, { recursive: true });
    for (const file of filesUnder(dest)) outputs.add(file);
  }
  outputs.add(buildInfo);
  for (const file of filesUnder(outDir)) {
    if (outputs.has(file)) continue;
    fs.rmSync(file);
    log(`build: removed ${path.relative(root, file)} (no source makes it any more)`);
  }
  removeEmptyFolders(outDir);
  return 0;
}

/** The sources of ours (not declarations, not installed packages) the build information says the program had. */
function compiledSources(buildInfo) {
  const info = JSON.parse(fs.readFileSync(buildInfo, "utf8"));
  return (info.fileNames ?? [])
    .map((f) => path.resolve(path.dirname(buildInfo), f))
    .filter((f) => !f.split(path.sep).includes("node_modules") && /\.(ts|tsx|mts|cts|js|jsx)$/.test(f) && !/\.d\.[cm]?ts$/.test(f));
}

/**
 * True when `buildInfo` exists and packages may have been installed after it
 * was written: npm rewrites node_modules/.package-lock.json on every install,
 * and without that file nothing tells. tsc's build mode compares only our own
 * files, so its state is then stale. (`npm run typecheck` uses it too.)
 */
function installedSince(root, buildInfo) {
  const built = mtime(buildInfo);
  if (built === undefined) return false;
  const installed = mtime(path.join(root, "node_modules", ".package-lock.json"));
  return installed === undefined || installed > built;
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

function removeEmptyFolders(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    removeEmptyFolders(p);
    if (fs.readdirSync(p).length === 0) fs.rmdirSync(p);
  }
}

module.exports = { build, installedSince };

if (require.main === module) {
  const root = path.join(__dirname, "..");
  process.exitCode = build(root, {
    config: "tsconfig.build.json",
    copies: { "constructs/cluster-client": "dist/constructs/cluster-client" },
    clean: process.argv.includes("--clean"),
  });
}
