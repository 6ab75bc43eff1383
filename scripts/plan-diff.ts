/**
 * `npm run plan-diff`: what a change does to the clusters, readable on a pull
 * request, without terraform, state or credentials.
 *
 *   npm run plan-diff -- --base-ref origin/main                # vs. the working tree
 *   npm run plan-diff -- --base base.out --head cdktf.out      # two synth outputs
 *   npm run plan-diff -- --base-ref origin/main --format markdown > comment.md
 *
 * Exit codes: 0 no change, 2 changes, 3 changes that replace, may replace
 * or destroy masters or their data disks, or stop more masters at once than
 * the ZooKeeper quorum tolerates, 1 error. plan-diff fails safe: a change
 * its replacement table cannot judge counts as "may be replaced".
 */
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { diffSynthOutputs } from "./lib/plan-diff";
import { renderReport, ReportFormat } from "./lib/plan-diff-report";
import { synthesizeCheckout, synthesizeRef } from "./lib/synth-checkout";
import { readSynthOutput } from "./lib/synth-output";

const USAGE = `usage: npm run plan-diff -- (--base DIR | --base-ref REF) [--head DIR | --head-ref REF] [options]

  --base DIR        synth output folder (cdktf.out) of the base
  --base-ref REF    or synthesize this git ref (a temporary worktree, current node_modules)
  --head DIR        synth output folder of the head
  --head-ref REF    or synthesize this git ref
                    (neither: synthesize the working tree, with its cluster.config.json and CLUSTER_* environment)
  --format F        text (default) or markdown (for a pull request comment)
  --max-chars N     cut user data diffs to keep the report under N characters
                    (default 60000 for markdown, no limit for text; GitHub comments hold 65536)
  --output FILE     write the report to FILE instead of stdout

exit codes: 0 no change, 2 changes, 3 masters or their data disks replaced, possibly replaced
(a change the replacement table cannot judge) or destroyed, or the ZooKeeper quorum lost, 1 error`;

interface Args {
  base?: string;
  baseRef?: string;
  head?: string;
  headRef?: string;
  format: ReportFormat;
  maxChars?: number;
  output?: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Args = { format: "text" };
  const valueOf = (i: number, name: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    const take = () => (inline !== undefined ? inline : valueOf(i++, name));
    switch (name) {
      case "--base": args.base = take(); break;
      case "--base-ref": args.baseRef = take(); break;
      case "--head": args.head = take(); break;
      case "--head-ref": args.headRef = take(); break;
      case "--output": args.output = take(); break;
      case "--format": {
        const f = take();
        if (f !== "text" && f !== "markdown") throw new UsageError(`invalid --format "${f}"; allowed: text, markdown`);
        args.format = f;
        break;
      }
      case "--max-chars": {
        const n = take();
        if (!/^\d+$/.test(n)) throw new UsageError(`invalid --max-chars "${n}"; allowed: a whole number of characters (0 for no limit)`);
        args.maxChars = Number(n);
        break;
      }
      case "--help":
      case "-h":
        console.log(USAGE);
        process.exit(0);
      default:
        throw new UsageError(`unknown argument "${argv[i]}"`);
    }
  }
  if ((args.base === undefined) === (args.baseRef === undefined)) throw new UsageError("give exactly one of --base DIR or --base-ref REF");
  if (args.head !== undefined && args.headRef !== undefined) throw new UsageError("give at most one of --head DIR or --head-ref REF");
  return args;
}

function main(): number {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`plan-diff: ${e.message}\n\n${USAGE}`);
    return 1;
  }
  const temp = mkdtempSync(join(tmpdir(), "plan-diff-"));
  try {
    const side = (dir: string | undefined, ref: string | undefined, name: string): { dir: string; label: string } => {
      if (dir !== undefined) return { dir, label: dir };
      const out = join(temp, name);
      if (ref !== undefined) {
        const { commit, warning } = synthesizeRef(process.cwd(), ref, out);
        if (warning) console.error(`plan-diff: warning: ${warning}`);
        return { dir: out, label: `${ref} (${commit.slice(0, 12)})` };
      }
      synthesizeCheckout(process.cwd(), out);
      return { dir: out, label: "working tree" };
    };
    const base = side(args.base, args.baseRef, "base");
    const head = side(args.head, args.headRef, "head");
    const diff = diffSynthOutputs(readSynthOutput(base.dir), readSynthOutput(head.dir));
    const report = renderReport(diff, { format: args.format, baseLabel: base.label, headLabel: head.label, maxChars: args.maxChars });
    if (args.output) writeFileSync(args.output, report);
    else process.stdout.write(report);
    return diff.exitCode;
  } catch (e) {
    console.error(`plan-diff: ${(e as Error).message}`);
    return 1;
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

process.exitCode = main();
