/**
 * What happens to tests whose tool is missing: skipped with a loud warning
 * naming the Debian package on a developer's machine, a failure under CI.
 * Runs a fixture in a separate jest process, once with CI unset and once set.
 */
import { execFile } from "child_process";
import { join } from "path";
import { toolAvailable } from "./helpers/tools";

const ROOT = join(__dirname, "..");

interface JestRun {
  readonly code: number;
  readonly output: string;
  readonly summary: { numPassedTests: number; numFailedTests: number; numPendingTests: number };
}

function runFixture(ci: boolean): Promise<JestRun> {
  const env = { ...process.env };
  delete env.CI;
  if (ci) env.CI = "1";
  const config = JSON.stringify({
    rootDir: ROOT,
    roots: ["<rootDir>/__tests__/fixtures"],
    testMatch: ["**/missing-tool.fixture.ts"],
    testEnvironment: "node",
    transform: { "^.+\\.ts$": "<rootDir>/scripts/jest-sucrase.js" },
  });
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, "node_modules", "jest", "bin", "jest.js"), "--config", config, "--json"], { cwd: ROOT, env, timeout: 60000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stderr, summary: JSON.parse(stdout) }),
    );
  });
}

describe("describeWithTool with a tool that is not installed", () => {
  let local: Promise<JestRun>;
  let ci: Promise<JestRun>;
  beforeAll(() => {
    // Both at once: each is a jest process.
    local = runFixture(false);
    ci = runFixture(true);
  });

  test("the probe says the tool is missing", () => {
    expect(toolAvailable(["no-such-tool-for-mesos-cluster-tests", "--version"])).toBe(false);
    expect(toolAvailable([process.execPath, "--version"])).toBe(true);
  });

  test("without CI: the tests are skipped, with a loud warning naming the tool and its package", async () => {
    const r = await local;
    expect(r.summary).toMatchObject({ numPassedTests: 0, numFailedTests: 0, numPendingTests: 1 });
    expect(r.output).toContain('SKIPPED: "checks that need no-such-tool"');
    expect(r.output).toContain("install the Debian package `no-such-package`");
    expect(r.code).toBe(0);
  });

  test("with CI set: a failing test says the tool is missing", async () => {
    const r = await ci;
    expect(r.summary).toMatchObject({ numPassedTests: 0, numFailedTests: 1 });
    expect(r.output).toContain("no-such-tool is installed (required when CI is set)");
    expect(r.output).toContain("CI is set, so its tests fail instead of being skipped");
    expect(r.code).toBe(1);
  });
});
