/**
 * `npm run validate` as users run it after `cdktf synth`: one line per node
 * group, details of failures, and the exit status (0 good, 1 a check failed
 * or could not run, 2 usage error).
 */
import { execFile } from "child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { gzipSync } from "zlib";
import { buildApp } from "../stacks/app";
import { loadAppConfig } from "../stacks/config";
import { decodeBase64UserData, TfJson } from "../scripts/lib/synth-output";
import { CHECK_TOOLS, CHECKS } from "../scripts/lib/validate-user-data";
import { toolAvailable } from "../scripts/lib/tools";
import { TEST_SSH_KEY } from "./helpers/synth";

const ROOT = join(__dirname, "..");

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** At most two runs at a time: each is a node process running tools, and CI machines have few cores. */
let running = 0;
const queue: (() => void)[] = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((resolve) => queue.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    queue.shift()?.();
  }
}

/** Runs the validate script exactly as `npm run validate -- ARGS` does. */
function validate(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return slot(() => runValidate(args, env));
}

function runValidate(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, "scripts", "run-ts.js"), join(ROOT, "scripts", "validate.ts"), ...args], { cwd: ROOT, env, timeout: 60000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Checks whose tool is missing here (the tool's own tests already say so loudly, and fail under CI). */
const missing = Object.entries(CHECK_TOOLS)
  .filter(([, tool]) => !toolAvailable(tool!.probe))
  .map(([check]) => check);
const skipMissing = missing.length > 0 ? ["--skip", missing.join(",")] : [];

const LINE = /^(dev|ha)\s+(masters|agents)\s+(mesos-(?:dev|ha)-\S+)\s+aws\s+(OK|FAIL)\s+\d+\.\d KiB of 16\.0 KiB \(\d+% free, (plain|base64|gzip\+base64)(, \d+\.\d KiB decoded)?\)$/;

const USAGE_ERRORS: [string[], RegExp][] = [
  [["--out", "/nonexistent/cdktf.out"], /--out \/nonexistent\/cdktf.out: no such directory/],
  [["--out", ROOT], /no manifest.json, not a synth output/],
  [["--skip", "spelling"], /--skip spelling: unknown check \(checks: schema, size, shellcheck, flags, systemd, runtime\)/],
  [["--out"], /--out needs a value/],
  [["--verbose"], /unknown argument --verbose/],
];

/** Temporary folders of this file, removed after it. */
const temporary: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** Copies a synth output and breaks one flag inside the gzipped user data of ha's second master. */
function brokenCopy(out: string): string {
  const broken = tempDir("validate-cli-broken-");
  cpSync(out, broken, { recursive: true });
  const file = join(broken, "stacks", "ha", "cdk.tf.json");
  const json = JSON.parse(readFileSync(file, "utf8")) as TfJson;
  const instance = Object.values(json.resource.aws_instance).find((i) => (i.tags as Record<string, string>).Name === "mesos-ha-masters-2")!;
  const decoded = decodeBase64UserData(String(instance.user_data_base64));
  expect(decoded.gzip).toBe(true);
  const text = decoded.text.replace("--quorum=2", "--quorumm=2");
  expect(text).not.toBe(decoded.text);
  instance.user_data_base64 = gzipSync(Buffer.from(text), { level: 9 }).toString("base64");
  writeFileSync(file, JSON.stringify(json));
  return broken;
}

describe("npm run validate on an AWS synth output", () => {
  // Every run starts at once (each is a process), the tests then read their results.
  let runs: Record<"good" | "broken" | "noTools" | "skipped" | "explain", Promise<CliResult>>;
  let usage: Promise<CliResult>[];
  beforeAll(() => {
    const out = tempDir("validate-cli-out-");
    const config = loadAppConfig({ env: { CLUSTER_CLOUD: "aws", CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY }, cwd: ROOT, homeDir: "/nonexistent" });
    buildApp({ config, outdir: out }).app.synth();
    // An empty PATH hides every tool (node is started by its absolute path).
    const noPath = { ...process.env, PATH: "/nonexistent" };
    runs = {
      good: validate(["--out", out, ...skipMissing]),
      // Only the flags check is aimed at here; the tools' checks are proven on the good output.
      broken: validate(["--out", brokenCopy(out), "--skip", "schema,shellcheck,systemd"]),
      noTools: validate(["--out", out], noPath),
      skipped: validate(["--out", out, "--skip", "schema,shellcheck,systemd"], noPath),
      explain: validate(["--out", out, "--skip", "schema,shellcheck,systemd", "--explain"]),
    };
    usage = USAGE_ERRORS.map(([args]) => validate(args));
  });

  test("prints one OK line per node group with its size and exits 0", async () => {
    const r = await runs.good;
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n").filter((l) => LINE.test(l));
    expect(lines.map((l) => LINE.exec(l)!.slice(1, 5).join(" "))).toEqual([
      "dev agents mesos-dev-agents OK",
      "dev masters mesos-dev-masters-1 OK",
      "ha agents mesos-ha-agents OK",
      "ha masters mesos-ha-masters-1 OK",
      "ha masters mesos-ha-masters-2 OK",
      "ha masters mesos-ha-masters-3 OK",
    ]);
    expect(r.stdout).toMatch(/^6 node groups, 0 failed; checks run: /m);
    expect(r.code).toBe(0);
  });

  test("--explain prints each node group's engine and each process's effective argv and flags with their source", async () => {
    const r = await runs.explain;
    expect(r.code).toBe(0);
    const block = (name: string) => {
      const start = r.stdout.indexOf(`\n${name} (aws):\n`);
      expect(start).toBeGreaterThanOrEqual(0);
      const rest = r.stdout.slice(start + 1);
      return rest.slice(0, rest.indexOf("\n\n") > 0 ? rest.indexOf("\n\n") : undefined);
    };
    const agents = block("ha agents mesos-ha-agents");
    expect(agents).toContain("docker engine 25.0.5: API floor 1.12 (DOCKER_MIN_API_VERSION=1.12), TCP 2375");
    expect(agents).toContain("--docker_mesos_image=mesosphere/mesos-slave:1.7.1  [environment]");
    const master = block("ha masters mesos-ha-masters-1");
    expect(master).toContain("docker engine 27.5.1: API floor 1.24 (default)");
    // ha has auth: the zk URL with ZooKeeper's password is a root-only file written at boot.
    expect(master).toMatch(/argv: mesos-master --zk=file:\/\/\/etc\/mesos\/zk --quorum=2 --work_dir=\/var\/lib\/mesos/);
    expect(master).toContain("--registry=replicated_log  [command line]");
    expect(master).toContain("argv: /marathon/bin/marathon --master zk://");
    expect(master).toContain("cluster-opt mesos.checkpointfailover=true");
  });

  test("a broken document inside a gzipped attribute fails with its node named, the finding below, and exit 1", async () => {
    const r = await runs.broken;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ha\s+masters\s+mesos-ha-masters-2\s+aws\s+FAIL\s/m);
    expect(r.stdout).toMatch(/^ha\s+masters\s+mesos-ha-masters-1\s+aws\s+OK\s/m);
    expect(r.stdout).toContain('ha mesos-ha-masters-2 (aws):\n  flags      mesos-master.service: --quorumm sets "quorumm", which is not a documented mesos master flag');
    expect(r.stdout).toMatch(/^6 node groups, 1 failed;/m);
  });

  test("a check whose tool is missing makes exit 1 and says what to install; --skip opts out", async () => {
    const r = await runs.noTools;
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("NOT RUN shellcheck: shellcheck is not installed");
    expect(r.stdout).toContain("apt-get install shellcheck");
    expect(r.stdout).toContain("NOT RUN systemd: systemd-analyze is not installed");
    const skipped = await runs.skipped;
    expect(skipped.stdout).toMatch(/checks run: size, flags, runtime /);
    expect(skipped.code).toBe(0);
  });

  test.each(USAGE_ERRORS.map(([args, reason], i) => [args, reason, i] as const))("usage error %j exits 2 with the reason and the usage", async (_args, reason, i) => {
    const r = await usage[i];
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(reason);
    expect(r.stderr).toContain("usage: npm run validate");
    expect(r.stdout).toBe("");
  });
});

test("the README documents every check, option and exit status, and its example output has the format printed", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Checking the user data (`npm run validate`)"), readme.indexOf("## Deploying"));
  for (const check of CHECKS) expect(section).toContain(`| \`${check}\` |`);
  for (const option of ["--out DIR", "--flags FILE", "--skip CHECK,...", "**0**", "**1**", "**2**"]) expect(section).toContain(option);
  const example = /```\n(dev {2}agents[\s\S]*?)```/.exec(section)![1].split("\n");
  const lines = example.filter((l) => /^(dev|ha)\s+(masters|agents)\s/.test(l));
  expect(lines).toHaveLength(6);
  for (const l of lines) expect(l).toMatch(LINE);
});
