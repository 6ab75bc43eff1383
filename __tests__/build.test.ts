/**
 * `npm run build` (scripts/build.js): incremental, yet dist/ holds exactly
 * what the sources make. Run on a small project of its own, so each rule is
 * seen in a second instead of a full build of the library; package.test.ts
 * packs the library itself through the same script.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { build } = require("../scripts/build.js") as {
  build(root: string, options: { config: string; copies?: Record<string, string>; clean?: boolean; log?: (line: string) => void }): number;
};

const ROOT = join(__dirname, "..");

let dir: string;
let logged: string[];
const run = (options: { clean?: boolean } = {}) => {
  logged = [];
  return build(dir, { config: "tsconfig.json", copies: { assets: "out/assets" }, log: (l) => logged.push(l), ...options });
};
const out = (file: string) => join(dir, "out", file);
const write = (file: string, text: string) => {
  mkdirSync(join(dir, file, ".."), { recursive: true });
  writeFileSync(join(dir, file), text);
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "build-"));
  write("tsconfig.json", JSON.stringify({
    compilerOptions: { target: "ES2022", lib: ["ES2022"], module: "commonjs", strict: true, declaration: true, skipLibCheck: true, rootDir: "src", outDir: "out", incremental: true, tsBuildInfoFile: "out/.tsbuildinfo", types: [] },
    include: ["src/**/*.ts"],
  }));
  write("src/a.ts", "export const answer = (): number => 42;\n");
  write("src/lib/b.ts", 'import { answer } from "../a";\nexport const twice = answer() * 2;\n');
  write("assets/client.js", "module.exports = 1;\n");
  write("node_modules/.package-lock.json", "{}");
  utimesSync(join(dir, "node_modules/.package-lock.json"), new Date(Date.now() - 60000), new Date(Date.now() - 60000));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a first build writes the JavaScript, the declarations, the build information and the copies", () => {
  expect(run()).toBe(0);
  for (const f of ["a.js", "a.d.ts", "lib/b.js", "lib/b.d.ts", ".tsbuildinfo", "assets/client.js"]) expect(existsSync(out(f))).toBe(true);
  expect(readFileSync(out("lib/b.d.ts"), "utf8")).toContain("export declare const twice: number;");
});

test("nothing changed: nothing is written (the outputs keep their times)", () => {
  const before = readFileSync(out(".tsbuildinfo"), "utf8");
  utimesSync(out("a.js"), new Date(0), new Date(0));
  expect(run()).toBe(0);
  expect(logged).toEqual([]);
  expect(readFileSync(out(".tsbuildinfo"), "utf8")).toBe(before);
  expect(statSync(out("a.js")).mtimeMs).toBe(0);
});

test("what no source makes any more is deleted, and the folders it leaves empty", () => {
  write("out/retired/old.js", "// from an earlier build\n");
  write("out/old.d.ts", "export {};\n");
  write("out/assets/removed-client.js", "// the copy's source is gone\n");
  expect(run()).toBe(0);
  expect([existsSync(out("retired")), existsSync(out("old.d.ts")), existsSync(out("assets/removed-client.js"))]).toEqual([false, false, false]);
  expect(logged).toEqual(expect.arrayContaining(["build: removed out/retired/old.js (no source makes it any more)"]));
  expect(existsSync(out("a.js"))).toBe(true);
});

test("a missing output makes the build start over (tsc -b alone would call the project up to date)", () => {
  rmSync(out("lib/b.js"));
  expect(run()).toBe(0);
  expect(logged[0]).toBe("build: starting over (1 output(s) missing, e.g. out/lib/b.js)");
  expect(readFileSync(out("lib/b.js"), "utf8")).toContain("(0, a_1.answer)() * 2");
});

test("a changed source is compiled again; a source removed takes its outputs with it", () => {
  write("src/a.ts", "export const answer = (): number => 41;\n");
  write("src/c.ts", "export const c = 1;\n");
  expect(run()).toBe(0);
  expect(readFileSync(out("a.js"), "utf8")).toContain("41");
  rmSync(join(dir, "src/c.ts"));
  expect(run()).toBe(0);
  expect([existsSync(out("c.js")), existsSync(out("c.d.ts"))]).toEqual([false, false]);
});

test("a file of ours outside the include that a source imports is compiled and kept", () => {
  write("tsconfig.json", readFileSync(join(dir, "tsconfig.json"), "utf8").replace('"rootDir":"src"', '"rootDir":"."'));
  write("shared/util.ts", "export const one = 1;\n");
  write("src/uses-shared.ts", 'import { one } from "../shared/util";\nexport const two = one + 1;\n');
  expect(run({ clean: true })).toBe(0);
  expect([existsSync(out("shared/util.js")), existsSync(out("shared/util.d.ts")), existsSync(out("src/uses-shared.js"))]).toEqual([true, true, true]);
  expect(run()).toBe(0);
  expect(existsSync(out("shared/util.js"))).toBe(true);
  rmSync(join(dir, "src/uses-shared.ts"));
  rmSync(join(dir, "shared"), { recursive: true });
  write("tsconfig.json", readFileSync(join(dir, "tsconfig.json"), "utf8").replace('"rootDir":"."', '"rootDir":"src"'));
  expect(run({ clean: true })).toBe(0);
});

test("packages installed since the last build make it start over", () => {
  utimesSync(join(dir, "node_modules/.package-lock.json"), new Date(), new Date(Date.now() + 60000));
  expect(run()).toBe(0);
  expect(logged[0]).toBe("build: starting over (packages installed since the last build)");
});

test("a type error fails the build", () => {
  write("src/a.ts", "export const answer = (): number => 'forty-two';\n");
  expect(run()).toBe(1);
  write("src/a.ts", "export const answer = (): number => 42;\n");
  expect(run()).toBe(0);
});

test("--clean builds from nothing", () => {
  write("out/leftover.txt", "x");
  expect(run({ clean: true })).toBe(0);
  expect(existsSync(out("leftover.txt"))).toBe(false);
  expect(existsSync(out("a.js"))).toBe(true);
});

test("the library's build is this script, and npm pack runs it", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  expect(pkg.scripts.build).toBe("node scripts/build.js");
  expect(pkg.scripts.prepack).toBe("npm run build");
  const config = JSON.parse(readFileSync(join(ROOT, "tsconfig.build.json"), "utf8"));
  // The build information lives in outDir (removed with it) and is not in the package's files.
  expect(config.compilerOptions).toMatchObject({ outDir: "dist", incremental: true, tsBuildInfoFile: "dist/.tsbuildinfo" });
  expect(pkg.files.every((f: string) => /\.(js|d\.ts)$/.test(f))).toBe(true);
});
