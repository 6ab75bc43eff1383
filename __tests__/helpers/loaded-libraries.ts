/**
 * Which cdktf packages a tool's process loaded: a preload for `node --require`
 * that reports the packages on stderr as the process exits, and the reader of
 * that report. The tools that read synth output only (validate, plan-diff,
 * rollout, endpoints) must load none of them: each run would pay 0.3 s.
 */
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

const CDKTF_FAMILY = /^(cdktf|constructs|@cdktf\/)/;
let preload: string | undefined;

/** The preload's path (written once per test file). */
export function libraryReportPreload(): string {
  if (!preload) {
    preload = join(mkdtempSync(join(tmpdir(), "library-report-")), "report.js");
    writeFileSync(
      preload,
      `process.on("exit", () => process.stderr.write("\\nLOADED " + JSON.stringify([...new Set(Object.keys(require.cache).map((f) => (/node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f) || [])[1]).filter(Boolean))])));`,
    );
  }
  return preload;
}

/**
 * The cdktf packages the report names, and stderr without the report. (On a
 * cold cache run-ts.js loads sucrase and its dependencies: those do not count.)
 */
export function cdktfLoaded(stderr: string): { packages: string[]; stderr: string } {
  const report = /\nLOADED (.*)$/.exec(stderr);
  if (!report) throw new Error(`no library report in: ${stderr}`);
  return { packages: (JSON.parse(report[1]) as string[]).filter((p) => CDKTF_FAMILY.test(p)), stderr: stderr.slice(0, report.index) };
}
