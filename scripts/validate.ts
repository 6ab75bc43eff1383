/**
 * `npm run validate [-- --out DIR] [--flags FILE] [--skip CHECK,...] [--explain]`
 *
 * Checks the user data of every machine and pool in an existing synth output
 * (`cdktf synth` first) and prints one line per node group with its verdict
 * and size, then the details of each failure. Exit status: 0 all good, 1 a
 * check failed or could not run, 2 usage error.
 */
import { existsSync, statSync } from "fs";
import { join, relative, resolve } from "path";
import { effectiveRuntime, explainLines } from "./lib/effective-runtime";
import { readSynthOutput } from "./lib/synth-output";
import { readUserData } from "./lib/user-data-model";
import {
  CHECKS,
  CheckId,
  documentsOf,
  FlagReference,
  findingLines,
  loadFlagReference,
  summaryLines,
  unavailableReason,
  UserDataDocument,
  validateDocuments,
  VENDORED_FLAGS_PATH,
} from "./lib/validate-user-data";

const USAGE = `usage: npm run validate [-- --out DIR] [--flags FILE] [--skip CHECK[,CHECK...]] [--explain]

  --out DIR     synth output to check (default: cdktf.out)
  --flags FILE  documented Mesos/Marathon flag names (default: the copy shipped in scripts/lib/documented-flags.json)
  --skip LIST   checks not to run: ${CHECKS.join(", ")}
  --explain     also print, per node group, the Docker engine and each process with its
                effective command line and flags (what will run, and where each value comes from)

Exit status: 0 every check passed, 1 a check failed or could not run, 2 usage error.`;

class UsageError extends Error {}

interface Args {
  readonly out: string;
  readonly flagsPath: string;
  readonly skip: CheckId[];
  readonly explain: boolean;
}

function parseArgs(argv: string[]): Args {
  let out = "cdktf.out";
  let flagsPath = VENDORED_FLAGS_PATH;
  const skip: CheckId[] = [];
  let explain = false;
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (name === "--out") out = value();
    else if (name === "--flags") flagsPath = value();
    else if (name === "--skip") {
      for (const check of value().split(",")) {
        if (!(CHECKS as readonly string[]).includes(check)) throw new UsageError(`--skip ${check}: unknown check (checks: ${CHECKS.join(", ")})`);
        skip.push(check as CheckId);
      }
    } else if (name === "--explain") {
      explain = true;
    } else if (name === "--help" || name === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new UsageError(`unknown argument ${argv[i]}`);
  }
  return { out, flagsPath, skip, explain };
}

async function main(): Promise<number> {
  let args: Args;
  let docs: UserDataDocument[];
  let flags: FlagReference | undefined;
  try {
    args = parseArgs(process.argv.slice(2));
    const out = resolve(args.out);
    if (!existsSync(out) || !statSync(out).isDirectory()) throw new UsageError(`--out ${args.out}: no such directory (run \`npx cdktf synth\` first)`);
    if (!existsSync(join(out, "manifest.json"))) throw new UsageError(`--out ${args.out}: no manifest.json, not a synth output (run \`npx cdktf synth\` first)`);
    docs = [...readSynthOutput(out)].flatMap(([stack, json]) => documentsOf(stack, json));
    if (docs.length === 0) throw new UsageError(`--out ${args.out}: no machine or pool with user data`);
    if (!args.skip.includes("flags")) {
      if (!existsSync(args.flagsPath)) throw new UsageError(`--flags ${args.flagsPath}: no such file`);
      flags = loadFlagReference(args.flagsPath);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`validate: ${e.message}\n\n${USAGE}`);
    return 2;
  }

  const options = { skip: args.skip, flags };
  const reports = await validateDocuments(docs, options);
  for (const line of summaryLines(reports)) console.log(line);

  if (args.explain) {
    // One block per node group: the pool's document, or each fixed machine's.
    for (const doc of docs) {
      console.log(`\n${doc.stack} ${doc.group} ${doc.name} (${doc.cloud}):`);
      try {
        for (const line of explainLines(effectiveRuntime(readUserData(doc.text)))) console.log(line);
      } catch (e) {
        console.log(`  cannot read the document: ${(e as Error).message.split("\n")[0]}`);
      }
    }
  }

  const details = findingLines(reports);
  if (details.length > 0) console.log(`\n${details.join("\n")}`);

  const notRun = CHECKS.filter((c) => reports.some((r) => r.results.find((x) => x.check === c)?.status === "unavailable"));
  for (const check of notRun) console.log(`\nNOT RUN ${check}: ${unavailableReason(check, options)}`);
  if (args.skip.length > 0) console.log(`\nskipped as asked: ${args.skip.join(", ")}`);

  const failed = reports.filter((r) => !r.ok).length;
  const ran = CHECKS.filter((c) => !args.skip.includes(c) && !notRun.includes(c));
  console.log(`\n${reports.length} node groups, ${failed} failed; checks run: ${ran.join(", ") || "none"}${flags ? ` (flags from ${relative(process.cwd(), flags.source)})` : ""}`);
  return failed > 0 || notRun.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
