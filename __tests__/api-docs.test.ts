/**
 * The API reference is the TSDoc in the .d.ts files a consumer's editor
 * shows: every export of the package entry point has a doc comment, and so
 * does every property of every props interface (`*Props`).
 */
import { spawnSync } from "child_process";
import { join } from "path";
import { cdktfLoaded, libraryReportPreload } from "./helpers/loaded-libraries";
import * as ts from "typescript";

const ENTRIES = [join(__dirname, "..", "constructs", "index.ts"), join(__dirname, "..", "stacks", "index.ts")];

/**
 * One program over both entries, shared by the tests: what an entry exports
 * and documents does not depend on the other. It reads our own sources only:
 * every file under node_modules (cdktf, the providers, @types) stands in as an
 * empty module, and no default lib is loaded. What these tests ask (an entry's
 * exports, their doc comments, the members of props interfaces) lives in our
 * files; types from dependencies would only be resolved, never asked about.
 * Parsing ~500 files instead of ~110 cost about 5 s more CPU, with the same answers.
 */
let shared: ts.Program | undefined;
function program(): ts.Program {
  const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, strict: true, noLib: true, types: [] };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (file, language, ...rest) => (file.includes("/node_modules/") ? ts.createSourceFile(file, "export {};", language) : read(file, language, ...rest));
  shared ??= ts.createProgram(ENTRIES, options, host);
  return shared;
}

test.each(ENTRIES)("every export and every props property of %s is documented", (ENTRY) => {
  const checker = program().getTypeChecker();
  const entry = checker.getSymbolAtLocation(program().getSourceFile(ENTRY)!)!;
  const documented = (symbol: ts.Symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== "";
  const undocumented: string[] = [];
  const exports = checker.getExportsOfModule(entry);
  expect(exports.length).toBeGreaterThan(ENTRY.includes("stacks") ? 3 : 50);
  for (const exported of exports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const where = symbol.declarations?.[0]?.getSourceFile().fileName.replace(`${join(__dirname, "..")}/`, "") ?? "?";
    if (!documented(symbol)) undocumented.push(`${where}: ${exported.name}`);
    if (!exported.name.endsWith("Props")) continue;
    for (const declaration of symbol.declarations ?? []) {
      if (!ts.isInterfaceDeclaration(declaration)) continue;
      for (const member of declaration.members) {
        const property = member.name && checker.getSymbolAtLocation(member.name);
        if (property && !documented(property)) undocumented.push(`${where}: ${exported.name}.${property.name}`);
      }
    }
  }
  expect(undocumented).toEqual([]);
});

test("the package entry exports the library only; the stacks entry the whole-cluster stack without the app's config loading", () => {
  const checker = program().getTypeChecker();
  const names = (entry: string) => checker.getExportsOfModule(checker.getSymbolAtLocation(program().getSourceFile(entry)!)!).map((s) => s.name);
  const [library, stacks] = ENTRIES.map(names);
  for (const appOnly of ["loadAppConfig", "buildApp", "AppConfig", "KnobValues", "backendFromEnv"]) {
    expect(library).not.toContain(appOnly);
    expect(stacks).not.toContain(appOnly);
  }
  expect(library).not.toContain("MesosClusterStack");
  expect(stacks).toEqual(expect.arrayContaining(["MesosClusterStack", "StateBackend"]));
  expect(library).toEqual(expect.arrayContaining(["MesosMasterGroup", "MarathonApp", "MasterTlsProxy", "AzureTarget"]));
  const pkg = JSON.parse(require("fs").readFileSync(join(__dirname, "..", "package.json"), "utf8"));
  expect(Object.keys(pkg.exports)).toEqual([".", "./stacks", "./package.json"]);
});

test("scripts/ reach the library through its entry or constructs/internal.ts only; role names and the header have one definition", () => {
  const { readdirSync, readFileSync } = require("fs") as typeof import("fs");
  const root = join(__dirname, "..");
  const files = ["scripts", join("scripts", "lib")].flatMap((d) => readdirSync(join(root, d)).filter((f: string) => f.endsWith(".ts")).map((f: string) => join(d, f)));
  expect(files.length).toBeGreaterThan(10);
  const reaching: string[] = [];
  for (const file of files) {
    for (const m of readFileSync(join(root, file), "utf8").matchAll(/from "([^"]*\/(constructs|stacks)(\/[^"]*)?)"/g)) {
      // The entry, the documented internal module, or the operations client (plain JavaScript shipped with the library).
      if (!/\/constructs(\/internal|\/cluster-client\/[a-z-]+)?$/.test(m[1])) reaching.push(`${file}: ${m[1]}`);
    }
  }
  expect(reaching).toEqual([]);
  // Every role a construct declares is one of ROLE_NAMES, written through the constant.
  const { ROLE_NAMES } = require("../constructs/core/role-header") as typeof import("../constructs/core/role-header");
  const constructFiles = readdirSync(join(root, "constructs")).filter((f: string) => f.endsWith(".ts"));
  const literal = constructFiles.filter((f: string) => /roleName = "/.test(readFileSync(join(root, "constructs", f), "utf8")));
  expect(literal).toEqual([]);
  expect(Object.values(ROLE_NAMES)).toEqual(expect.arrayContaining(["zookeeper", "mesos-master"]));
});

test("constructs/internal.ts and the tools that read only synth output (validate, plan-diff) load no cdktf: each run of theirs would pay 0.3 s for it", () => {
  const root = join(__dirname, "..");
  const cdktfs = (args: string[]): string[] =>
    cdktfLoaded(spawnSync(process.execPath, ["--require", libraryReportPreload(), join(root, "scripts", "run-ts.js"), ...args], { cwd: root, encoding: "utf8" }).stderr).packages;
  expect(cdktfs(["constructs/internal.ts"])).toEqual([]);
  // Usage errors: the scripts load all their modules before reading their arguments. (rollout.test
  // and endpoints.test check their own scripts.)
  expect(cdktfs(["scripts/validate.ts", "--out"])).toEqual([]);
  expect(cdktfs(["scripts/plan-diff.ts", "--format", "html"])).toEqual([]);
});
