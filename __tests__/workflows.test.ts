/**
 * The GitHub Actions workflows, checked at the level of their schema: valid
 * YAML, known keys, every step either `uses` a SHA-pinned action or `run`s a
 * command, expressions that name real contexts and steps, least privilege,
 * and the commands the README and .ci/run promise.
 */
import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { parseDocument } from "yaml";

const ROOT = join(__dirname, "..");
const DIR = join(ROOT, ".github", "workflows");

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
interface Job {
  "runs-on": string;
  "timeout-minutes"?: number;
  permissions?: Record<string, string>;
  steps: Step[];
  env?: Record<string, unknown>;
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const WORKFLOW_KEYS = ["name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"];
const JOB_KEYS = ["name", "runs-on", "needs", "if", "permissions", "environment", "concurrency", "outputs", "env", "defaults", "timeout-minutes", "strategy", "continue-on-error", "container", "services", "steps"];
const STEP_KEYS = ["id", "name", "if", "uses", "run", "with", "env", "shell", "working-directory", "continue-on-error", "timeout-minutes"];
const EVENTS = ["push", "pull_request", "pull_request_target", "workflow_dispatch", "schedule", "release", "merge_group"];
const CONTEXTS = ["github", "env", "vars", "secrets", "steps", "needs", "matrix", "inputs", "runner", "job", "strategy"];
const PERMISSIONS = ["actions", "checks", "contents", "deployments", "id-token", "issues", "packages", "pages", "pull-requests", "security-events", "statuses"];
/** `owner/repo[/path]@<full commit SHA> # vX.Y.Z`: a tag can be moved, a commit cannot; the comment says which release it is. */
const PINNED = /^uses: ([\w.-]+\/[\w.-]+(?:\/[\w./-]+)?)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$/;

function load(file: string): { workflow: Workflow; text: string } {
  const text = readFileSync(join(DIR, file), "utf8");
  const doc = parseDocument(text, { uniqueKeys: true });
  expect(doc.errors.map((e) => e.message)).toEqual([]);
  return { workflow: doc.toJS() as Workflow, text };
}

const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

test("the two workflows are there", () => {
  expect(files).toEqual(["ci.yml", "plan.yml"]);
});

describe.each(files)("%s", (file) => {
  const { workflow, text } = load(file);

  test("top level: name, known events, known keys, read-only by default", () => {
    expect(Object.keys(workflow).filter((k) => !WORKFLOW_KEYS.includes(k))).toEqual([]);
    expect(typeof workflow.name).toBe("string");
    expect(Object.keys(workflow.on).length).toBeGreaterThan(0);
    for (const event of Object.keys(workflow.on)) expect(EVENTS).toContain(event);
    expect(workflow.permissions?.contents).toBe("read");
    for (const [scope, level] of Object.entries(workflow.permissions ?? {})) {
      expect(PERMISSIONS).toContain(scope);
      expect(["read", "write", "none"]).toContain(level);
    }
  });

  test("jobs: a pinned runner image, a timeout, steps of known keys with uses xor run", () => {
    expect(Object.keys(workflow.jobs).length).toBeGreaterThan(0);
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect(`${name}: ${Object.keys(job).filter((k) => !JOB_KEYS.includes(k)).join(",")}`).toBe(`${name}: `);
      expect(job["runs-on"]).toMatch(/^ubuntu-\d+\.\d+$/);
      expect(job["timeout-minutes"]).toBeGreaterThan(0);
      expect(job.steps.length).toBeGreaterThan(0);
      const ids = new Set<string>();
      for (const step of job.steps) {
        const label = `${name}/${step.name ?? step.id ?? step.uses ?? step.run}`;
        expect(`${label}: ${Object.keys(step).filter((k) => !STEP_KEYS.includes(k)).join(",")}`).toBe(`${label}: `);
        expect(`${label}: ${step.uses !== undefined ? "uses" : ""}${step.run !== undefined ? "run" : ""}`).toMatch(/: (uses|run)$/);
        if (step.with !== undefined) expect(`${label}: with needs uses`).toBe(step.uses !== undefined ? `${label}: with needs uses` : "");
        if (step.id) {
          expect(ids.has(step.id)).toBe(false);
          ids.add(step.id);
        }
        // Expressions name real contexts and only steps that come before.
        const expressions = [...JSON.stringify(step).matchAll(/\$\{\{(.*?)\}\}/g)].map((m) => m[1]);
        if (step.if && !step.if.includes("${{")) expressions.push(step.if);
        for (const expression of expressions) {
          for (const m of expression.matchAll(/(?<![\w.'"-])([a-z][\w-]*)\.(?=[\w*])/g)) expect(CONTEXTS).toContain(m[1]);
          for (const m of expression.matchAll(/\bsteps\.([\w-]+)\./g)) expect(`${label} names step ${m[1]}: ${ids.has(m[1]) && m[1] !== step.id}`).toBe(`${label} names step ${m[1]}: true`);
        }
        // Secrets and pull request text reach scripts only through env (no script injection, no secret in a command line).
        if (step.run) expect(step.run).not.toMatch(/\$\{\{\s*(secrets|github\.event)\./);
      }
    }
  });

  test("every action is pinned to a full commit SHA with its release in a comment", () => {
    const lines = text.split("\n").map((l) => l.trim().replace(/^- /, "")).filter((l) => l.startsWith("uses:"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(PINNED);
    // The same action is pinned to the same commit everywhere.
    const pins = new Map<string, string>();
    for (const file2 of files) {
      for (const line of readFileSync(join(DIR, file2), "utf8").split("\n")) {
        const m = PINNED.exec(line.trim().replace(/^- /, ""));
        if (!m) continue;
        expect(`${m[1]}@${pins.get(m[1]) ?? m[2]}`).toBe(`${m[1]}@${m[2]}`);
        pins.set(m[1], m[2]);
      }
    }
  });
});

function runs(workflow: Workflow): string[] {
  return Object.values(workflow.jobs).flatMap((job) => job.steps.map((s) => s.run ?? "")).filter((r) => r);
}

test("ci.yml: on pushes and pull requests, installs the test tools of .ci/run, builds, runs the README's test command", () => {
  const { workflow } = load("ci.yml");
  expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push"]);
  expect(workflow.permissions).toEqual({ contents: "read" });
  const commands = runs(workflow);
  const ciRun = readFileSync(join(ROOT, ".ci", "run"), "utf8");
  const wanted = /apt-get install -y --no-install-recommends ([^\n]+)/.exec(ciRun)![1].trim().split(/\s+/);
  const installed = commands.flatMap((c) => [.../apt-get install [^\n]*/.exec(c) ?? []]).join(" ").split(/\s+/);
  for (const pkg of wanted) expect(`${pkg}: ${installed.includes(pkg)}`).toBe(`${pkg}: true`);
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const quickStart = /## Quick start\n\n```sh\n([\s\S]*?)```/.exec(readme)![1].trim().split("\n");
  expect(commands).toContain("npm ci");
  expect(commands).toContain("npm run build");
  expect(commands).toContain(quickStart[1]);
  expect(commands.indexOf("npm ci")).toBeLessThan(commands.indexOf("npm test"));
  expect(Object.values(workflow.jobs)[0].env).toMatchObject({ CI: "1" });
});

test("plan.yml: plan-diff with no credentials as one comment; cdktf diff only through OIDC, in a protected environment, read-only", () => {
  const { workflow, text } = load("plan.yml");
  expect(Object.keys(workflow.on)).toEqual(["pull_request"]);
  expect(workflow.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  expect(Object.keys(workflow.jobs)).toEqual(["plan", "cloud-diff"]);
  const plan = workflow.jobs.plan;
  const cloud = workflow.jobs["cloud-diff"] as Job & { needs?: string; environment?: string; if?: string };
  // No long-lived cloud secret anywhere: the workflow names no secret at all.
  expect(text).not.toMatch(/secrets\./);
  for (const job of [plan, cloud]) {
    const checkout = job.steps.find((s) => s.uses?.startsWith("actions/checkout@"))!;
    // The job token is not left in .git/config for the pull request's code to read.
    expect(checkout.with?.["persist-credentials"]).toBe(false);
  }
  // plan-diff synthesizes HEAD^1 (the base parent of GitHub's merge commit): it must be fetched.
  expect(plan.steps.find((s) => s.uses?.startsWith("actions/checkout@"))!.with?.["fetch-depth"]).toBeGreaterThanOrEqual(2);
  const planDiff = plan.steps.find((s) => s.run?.includes("npm run --silent plan-diff"))!;
  expect(planDiff.run).toContain("--base-ref 'HEAD^1'");
  expect(planDiff.run).toContain("--format markdown");
  expect(planDiff.run).toMatch(/--max-chars/);
  expect(planDiff.id).toBe("plan_diff");
  expect(JSON.stringify(plan.steps)).not.toMatch(/npx cdktf|ARM_|AWS_ROLE|id-token/);

  // The cloud diff: after plan-diff, same-repository pull requests only, approved in the environment, OIDC token only.
  expect(cloud.needs).toBe("plan");
  expect(cloud.environment).toBe("plan");
  expect(cloud.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
  expect(cloud.permissions).toEqual({ contents: "read", "id-token": "write", "pull-requests": "write" });
  const terraform = cloud.steps.find((s) => s.uses?.startsWith("hashicorp/setup-terraform@"))!;
  expect(String(terraform.with?.terraform_version)).toMatch(/^\d+\.\d+\.\d+$/);
  expect(terraform.with?.terraform_wrapper).toBe(false);
  const diff = cloud.steps.find((s) => s.run?.includes("npx cdktf diff"))!;
  expect(diff.run).toMatch(/for stack in dev ha; do\s+npx cdktf diff "\$stack"/);
  expect(diff.run).toContain('if [ "$backend" = local ]');
  expect(diff.env).toMatchObject({ ARM_USE_OIDC: "true", ARM_CLIENT_ID: "${{ vars.PLAN_AZURE_CLIENT_ID }}", PLAN_AWS_ROLE_ARN: "${{ vars.PLAN_AWS_ROLE_ARN }}", TF_CLI_ARGS_plan: "-lock=false" });
  // AWS: GitHub's OIDC token for sts.amazonaws.com, then AssumeRoleWithWebIdentity by the SDK; the file is removed after.
  expect(diff.run).toContain('"$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com"');
  expect(diff.run).toContain('AWS_WEB_IDENTITY_TOKEN_FILE="$token_file"');
  expect(diff.run).toContain('rm -f "$RUNNER_TEMP/aws-web-identity-token"');

  // One comment: plan-diff writes it afresh on every push; the cloud diff appends its own section to it.
  const comment = plan.steps.find((s) => s.uses?.startsWith("actions/github-script@"))!;
  const script = String(comment.with?.script);
  expect(script).toContain('const marker = "<!-- mesos-cluster-cdktf:plan -->"');
  expect(script).toMatch(/updateComment[\s\S]*createComment/);
  // A fork's token cannot comment: the step is skipped there (the job summary still has the report).
  expect(comment.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
  const append = String(cloud.steps.find((s) => s.uses?.startsWith("actions/github-script@"))!.with?.script);
  expect(append).toContain('const section = "<!-- mesos-cluster-cdktf:cloud-diff -->"');
  expect(append).toContain("split(section)[0]");
  expect(append).toContain("const limit = 65000;");
  expect(text).toContain('cat plan-diff.md >> "$GITHUB_STEP_SUMMARY"');

  const gate = plan.steps[plan.steps.length - 1];
  expect(gate.if).toBe("steps.plan_diff.outputs.exit_code == '3' && !contains(github.event.pull_request.labels.*.name, 'allow-stateful-replacement')");
  expect((workflow.on.pull_request as { types: string[] }).types).toEqual(expect.arrayContaining(["labeled", "unlabeled", "synchronize"]));
});
