/**
 * `npm run plan-diff` as CI runs it: exit codes, formats, and `--base-ref`,
 * which synthesizes a git ref in a temporary worktree and removes it again,
 * also when the ref does not synthesize.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { copyProject, git, ROOT } from "./helpers/project-copy";
import { synthApp } from "./helpers/synth";

const HOME = mkdtempSync(join(tmpdir(), "plan-diff-cli-home-"));
/** The environment of a CI runner: no ~/.ssh key, nothing configured. */
const ENV = { PATH: process.env.PATH ?? "", HOME, CI: "1", CHECKPOINT_DISABLE: "1" };

function planDiff(cwd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(cwd, "scripts", "run-ts.js"), join(cwd, "scripts", "plan-diff.ts"), ...args], {
    cwd,
    env: ENV,
    encoding: "utf8",
    timeout: 120000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("exit codes 0, 2 and 3 for two synth output folders, and 1 for bad input", () => {
  const base = synthApp({ CLUSTER_CLOUD: "azure" });
  // A second synth of the same configuration: what plan-diff sees when nothing changed.
  const same = synthApp({ CLUSTER_CLOUD: "azure" }, { fresh: true });
  const agents = synthApp({ CLUSTER_CLOUD: "azure", CLUSTER_HA_AGENT_COUNT: "4" });
  const masters = synthApp({ CLUSTER_CLOUD: "azure", CLUSTER_HA_MASTER_COUNT: "5" });

  const none = planDiff(ROOT, ["--base", base, "--head", same]);
  expect(none).toMatchObject({ status: 0, stderr: "" });
  expect(none.stdout).toContain("No changes");

  const changed = planDiff(ROOT, ["--base", base, "--head", agents]);
  expect(changed.status).toBe(2);
  expect(changed.stdout).toContain("~   update in place: azurerm_linux_virtual_machine_scale_set.");
  expect(changed.stdout).toContain("instances: 3 -> 4");

  const out = join(mkdtempSync(join(tmpdir(), "plan-diff-md-")), "comment.md");
  const replaced = planDiff(ROOT, ["--base", base, "--head", masters, "--format", "markdown", "--output", out]);
  expect(replaced).toMatchObject({ status: 3, stdout: "" });
  expect(readdirSync(join(out, ".."))).toEqual(["comment.md"]);

  const wrong = planDiff(ROOT, ["--base", base, "--format", "html"]);
  expect(wrong.status).toBe(1);
  expect(wrong.stderr).toContain('plan-diff: invalid --format "html"; allowed: text, markdown');
  const missing = planDiff(ROOT, ["--base", join(base, "nope"), "--head", same]);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toMatch(/^plan-diff: .*nope has no manifest.json/);
});

test("--base-ref synthesizes the ref in a temporary worktree against the working tree, and cleans up", () => {
  const repo = copyProject({ commit: true });
  try {
    checkBaseRef(repo);
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});

function checkBaseRef(repo: string): void {
  // The change under review: uncommitted configuration in the working tree.
  writeFileSync(join(repo, "cluster.config.json"), JSON.stringify({ stacks: { ha: { agentCount: 5 } } }));
  const r = planDiff(repo, ["--base-ref", "HEAD", "--format", "markdown"]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(2);
  expect(r.stdout).toMatch(/^### Plan diff: HEAD \([0-9a-f]{12}\) → working tree\n/);
  expect(r.stdout).toContain("| ha | azure | 0 | 1 | 0 | 0 | none |");
  expect(r.stdout).toContain("- `instances`: 3 -> 5");
  expect(git(repo, "worktree", "list").split("\n")).toHaveLength(1);

  // A ref that does not synthesize: exit 1 with the app's own message, and no worktree left behind.
  git(repo, "checkout", "--quiet", "-b", "broken");
  writeFileSync(join(repo, "cluster.config.json"), JSON.stringify({ masterCount: 4 }));
  git(repo, "add", "cluster.config.json");
  git(repo, "commit", "--quiet", "-m", "an even master count");
  git(repo, "checkout", "--quiet", "main");
  writeFileSync(join(repo, "cluster.config.json"), "{}");
  const broken = planDiff(repo, ["--base-ref", "broken"]);
  expect(broken.status).toBe(1);
  // The app's own message (its wording may name where the value came from).
  expect(broken.stderr).toMatch(/invalid masterCount 4\b.*; allowed: 1, 3, 5 or 7/);
  expect(git(repo, "worktree", "list").split("\n")).toHaveLength(1);

  const unknown = planDiff(repo, ["--base-ref", "no-such-branch"]);
  expect(unknown.status).toBe(1);
  expect(unknown.stderr).toContain("no-such-branch is no commit of");
}

test("narrowing the AWS master subnets: exit 3 and the reason chain, in both formats", () => {
  const base = synthApp({ CLUSTER_CLOUD: "aws" });
  const narrow = synthApp({ CLUSTER_CLOUD: "aws", CLUSTER_MASTER_SUBNET_CIDRS: "10.20.0.0/25,10.20.1.0/25,10.20.2.0/25" });
  const text = planDiff(ROOT, ["--base", base, "--head", narrow]);
  expect(text.stderr).toBe("");
  expect(text.status).toBe(3);
  expect(text.stdout).toContain("Masters or their data disks are REPLACED or destroyed (exit code 3).");
  expect(text.stdout).toContain("because aws/subnet-masters-2 cidr_block changed (ForceNew) -> mesos-ha-masters-2 subnet_id");
  const md = planDiff(ROOT, ["--base", base, "--head", narrow, "--format", "markdown"]);
  expect(md.status).toBe(3);
  expect(md.stdout).toContain("> - mesos-ha-masters-2: REPLACED (`aws_instance.masters_machines-mesos-ha-masters-2_instance_1107C924`) because aws/subnet-masters-2 cidr_block changed (ForceNew) -> mesos-ha-masters-2 subnet_id");
});
