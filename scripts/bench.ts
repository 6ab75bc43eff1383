/**
 * `npm run bench [-- --json] [-- --runs N] [-- --skip-tests] [-- --quick]`: measures what a
 * user feels, as ratios taken in one run (never as timed tests):
 *
 *   floor  node loading cdktf + constructs (nothing of ours)
 *   1      the cdktf.json app command synthesizing every stack of one cloud:
 *          median time <= 3x the floor, peak memory < 400 MB
 *   2      cost flat in cluster size: 1000 agents and 7 masters within 1.2x
 *          of the defaults' time; resource count independent of agent count
 *   3      `npm test` (everything, real tools included) within 90 s, with
 *          type-checking once
 *   4      every node's user data below half its cloud's limit
 *
 * Runs are interleaved (floor, then each case, N times) so that a busy
 * machine slows all of them alike; medians are compared, min/max reported.
 *
 * `--quick` (what the test runs): no warm-up round, no type-check or install
 * size measure, no "(2)" rows (both stacks scaled, for information), and the
 * flatness check reuses the default cases' 3 agents.
 * Its timings are rough; its deterministic rows (resource counts, user data
 * shares) are exactly those of a full run.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readdirSync, readFileSync, lstatSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { readSynthOutput, userDataNodes } from "./lib/synth-output";

const ROOT = join(__dirname, "..");
const args = process.argv.slice(2);
const asJson = args.includes("--json");
const runsIndex = args.indexOf("--runs");
const RUNS = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 5;
const quick = args.includes("--quick");
const skipTests = args.includes("--skip-tests") || quick;
const RSS_PRELOAD = join(__dirname, "lib", "report-max-rss.js");

interface Sample {
  readonly seconds: number;
  readonly maxRssMb: number;
}

/** Runs a shell command with a preload that reports the node process's peak RSS. */
function timed(command: string, env: Record<string, string> = {}): Sample {
  const rssFile = join(mkdtempSync(join(tmpdir(), "bench-rss-")), "rss");
  const start = process.hrtime.bigint();
  const result = spawnSync("sh", ["-c", command], {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_OPTIONS: `--require ${RSS_PRELOAD}`, BENCH_RSS_FILE: rssFile, CHECKPOINT_DISABLE: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr.toString().slice(-2000)}`);
  let maxRssMb = 0;
  try {
    maxRssMb = Math.max(...readFileSync(rssFile, "utf8").trim().split("\n").map(Number)) / 1024;
  } catch {
    // The command ran no node process of its own.
  }
  return { seconds, maxRssMb };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Series {
  readonly name: string;
  readonly samples: Sample[];
}

function summary(s: Series): { median: number; min: number; max: number; maxRssMb: number } {
  const t = s.samples.map((x) => x.seconds);
  return { median: median(t), min: Math.min(...t), max: Math.max(...t), maxRssMb: Math.max(...s.samples.map((x) => x.maxRssMb)) };
}

function dirSizeBytes(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) stack.push(p);
      else if (entry.isFile()) total += lstatSync(p).size;
    }
  }
  return total;
}

const appCommand: string = JSON.parse(readFileSync(join(ROOT, "cdktf.json"), "utf8")).app;
const FLOOR = `node -e 'require("cdktf"); require("constructs")'`;
// Every knob that could come from a developer's machine is pinned, so runs compare like with like.
const BASE_ENV = { CLUSTER_SSH_PUBLIC_KEY: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx7nq2W3tB3YpV8m8QvQK2v2Ykq3YwQ5p7l8y0P3Xh1 bench", CLUSTER_CONFIG: "" };
// One cluster (the ha stack) grown to 1000 agents and 7 masters; dev stays a dev cluster.
const SCALE_ENV = { CLUSTER_HA_AGENT_COUNT: "1000", CLUSTER_HA_MASTER_COUNT: "7" };
// For information: both stacks at 7 masters and 1000 agents.
const SCALE_BOTH_ENV = { CLUSTER_AGENT_COUNT: "1000", CLUSTER_MASTER_COUNT: "7" };

const outDirs: Record<string, string> = {};
function synthCase(name: string, env: Record<string, string>): () => Sample {
  return () => {
    const out = mkdtempSync(join(tmpdir(), `bench-${name}-`));
    const sample = timed(appCommand, { ...BASE_ENV, ...env, CDKTF_OUTDIR: out });
    if (outDirs[name]) rmSync(outDirs[name], { recursive: true, force: true });
    outDirs[name] = out;
    return sample;
  };
}

const cases: [string, () => Sample][] = [
  ["floor", () => timed(FLOOR)],
  ["azure", synthCase("azure", { CLUSTER_CLOUD: "azure" })],
  ["aws", synthCase("aws", { CLUSTER_CLOUD: "aws" })],
  ["azure-scale", synthCase("azure-scale", { CLUSTER_CLOUD: "azure", ...SCALE_ENV })],
  ["aws-scale", synthCase("aws-scale", { CLUSTER_CLOUD: "aws", ...SCALE_ENV })],
  // For information only (row "(2)"): not measured by --quick.
  ...(quick
    ? []
    : ([
        ["azure-scale-both", synthCase("azure-scale-both", { CLUSTER_CLOUD: "azure", ...SCALE_BOTH_ENV })],
        ["aws-scale-both", synthCase("aws-scale-both", { CLUSTER_CLOUD: "aws", ...SCALE_BOTH_ENV })],
      ] as [string, () => Sample][])),
];

// One warm-up round (fills the type-stripping cache and the OS file cache), not counted.
if (!quick) for (const [, run] of cases) run();
const series: Record<string, Series> = {};
for (const [name] of cases) series[name] = { name, samples: [] };
for (let i = 0; i < RUNS; i++) for (const [name, run] of cases) series[name].samples.push(run());

const stats = Object.fromEntries(Object.values(series).map((s) => [s.name, summary(s)]));
const floor = stats.floor.median;

/** Resource counts of one stack in a synth output. */
function resourceCount(dir: string, stack: string): number {
  const json = readSynthOutput(dir).get(stack)!;
  return Object.values(json.resource).reduce((n, r) => n + Object.keys(r).length, 0);
}
// Agent count alone must not change the resource count: synthesize 0, 3 and 1000 agents at equal masters.
// Nothing is timed here, so one process synthesizes them all (the app's own buildApp, as main.ts runs it),
// loading cdktf once instead of once per configuration.
const flatness: Record<string, number[]> = {};
{
  const configs = ["azure", "aws"].flatMap((cloud) =>
    ["0", "3", "1000"]
      // The default case is the ha stack at 3 agents and 3 masters.
      .filter((agents) => !(quick && agents === "3"))
      .map((agents) => ({ cloud, agents, out: mkdtempSync(join(tmpdir(), "bench-flat-")) })),
  );
  const program = [
    `require(${JSON.stringify(join(__dirname, "run-ts.js"))}).register();`,
    `const { buildApp } = require(${JSON.stringify(join(ROOT, "stacks", "app.ts"))});`,
    `const { loadAppConfig } = require(${JSON.stringify(join(ROOT, "stacks", "config.ts"))});`,
    `for (const c of ${JSON.stringify(configs)}) {`,
    `  const env = { ...${JSON.stringify(BASE_ENV)}, CLUSTER_CLOUD: c.cloud, CLUSTER_HA_AGENT_COUNT: c.agents };`,
    `  buildApp({ config: loadAppConfig({ env, cwd: c.out, homeDir: c.out }), outdir: c.out }).app.synth();`,
    `}`,
  ].join("\n");
  try {
    const result = spawnSync(process.execPath, ["-e", program], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    if (result.status !== 0) throw new Error(`the flatness synths failed (${result.status}): ${result.stderr.toString().slice(-2000)}`);
    for (const cloud of ["azure", "aws"]) {
      flatness[cloud] = ["0", "3", "1000"].map((agents) => resourceCount(configs.find((c) => c.cloud === cloud && c.agents === agents)?.out ?? outDirs[cloud], "ha"));
    }
  } finally {
    for (const c of configs) rmSync(c.out, { recursive: true, force: true });
  }
}

// 4: user data shares, over every output synthesized above.
const userData = Object.entries(outDirs).flatMap(([name, dir]) =>
  [...readSynthOutput(dir).entries()].flatMap(([stack, json]) =>
    userDataNodes(json).map((n) => ({ case: name, stack, name: n.name, share: n.countedBytes / n.limitBytes, bytes: n.countedBytes, limit: n.limitBytes, encoding: n.encoding })),
  ),
);
const worst = userData.reduce((a, b) => (b.share > a.share ? b : a));

const tsc = quick ? undefined : timed("npx tsc --noEmit -p tsconfig.json");
const tests = skipTests ? undefined : timed("npm test", { CI: process.env.CI ?? "" });
const installMb = quick ? undefined : dirSizeBytes(join(ROOT, "node_modules")) / 1024 / 1024;

for (const dir of Object.values(outDirs)) rmSync(dir, { recursive: true, force: true });

const fmt = (s: number) => `${s.toFixed(3)} s`;
const range = (name: string) => `${fmt(stats[name].median)} (${stats[name].min.toFixed(3)}-${stats[name].max.toFixed(3)})`;
type Row = { target: string; measure: string; value: string; goal: string; met: boolean | null };
const rows: Row[] = [
  { target: "floor", measure: "node loads cdktf + constructs", value: range("floor"), goal: "-", met: null },
];
for (const cloud of ["azure", "aws"]) {
  const ratio = stats[cloud].median / floor;
  rows.push({ target: "1", measure: `synth dev+ha (${cloud})`, value: `${range(cloud)} = ${ratio.toFixed(2)}x floor`, goal: "<= 3x floor", met: ratio <= 3 });
  rows.push({ target: "1", measure: `peak memory (${cloud})`, value: `${stats[cloud].maxRssMb.toFixed(0)} MB`, goal: "< 400 MB", met: stats[cloud].maxRssMb < 400 });
}
for (const cloud of ["azure", "aws"]) {
  const ratio = stats[`${cloud}-scale`].median / stats[cloud].median;
  rows.push({ target: "2", measure: `ha at 1000 agents + 7 masters (${cloud})`, value: `${range(`${cloud}-scale`)} = ${ratio.toFixed(2)}x defaults`, goal: "<= 1.2x defaults", met: ratio <= 1.2 });
  if (stats[`${cloud}-scale-both`]) {
    const both = stats[`${cloud}-scale-both`].median / stats[cloud].median;
    rows.push({ target: "(2)", measure: `dev and ha both at 1000 agents + 7 masters (${cloud})`, value: `${range(`${cloud}-scale-both`)} = ${both.toFixed(2)}x defaults`, goal: "-", met: null });
  }
  const counts = flatness[cloud];
  rows.push({ target: "2", measure: `ha resources at 0 / 3 / 1000 agents (${cloud})`, value: counts.join(" / "), goal: "equal", met: counts.every((c) => c === counts[0]) });
}
if (tests) rows.push({ target: "3", measure: "npm test (typecheck once + jest, real tools)", value: fmt(tests.seconds), goal: "<= 90 s", met: tests.seconds <= 90 });
if (tsc) rows.push({ target: "3", measure: "tsc --noEmit (the one type-check)", value: fmt(tsc.seconds), goal: "-", met: null });
rows.push({
  target: "4",
  measure: "largest user data share of its cloud's limit",
  value: `${(worst.share * 100).toFixed(1)}% (${worst.case} ${worst.stack} ${worst.name}: ${worst.bytes} of ${worst.limit} B, ${worst.encoding})`,
  goal: "< 50%",
  met: worst.share < 0.5,
});
if (installMb !== undefined) rows.push({ target: "-", measure: "install size (node_modules)", value: `${installMb.toFixed(0)} MB`, goal: "-", met: null });

if (asJson) {
  console.log(JSON.stringify({ runs: RUNS, node: process.version, stats, flatness, userData, tsc: tsc?.seconds, tests: tests?.seconds, installMb, rows }, null, 2));
} else {
  console.log(`Benchmark: ${RUNS} interleaved runs${quick ? " (quick: no warm-up)" : " after one warm-up"}, medians (min-max); node ${process.version}\n`);
  console.log("| target | measure | value | goal | met |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.target} | ${r.measure} | ${r.value} | ${r.goal} | ${r.met === null ? "" : r.met ? "yes" : "NO"} |`);
}
process.exitCode = rows.every((r) => r.met !== false) ? 0 : 1;
