/**
 * The main job as a newcomer runs it: `npx cdktf synth` (the real CLI, which
 * runs the `app` of cdktf.json) writes the dev and ha stacks on the default
 * cloud, Azure. No terraform, no cloud account: synth needs neither.
 *
 * The CLI runs once, on the default cloud: what it adds to the app (its own
 * start-up, about 3 CPU seconds, and the manifest) does not depend on the
 * cloud. The app command of cdktf.json with CLUSTER_CLOUD=aws is run as a
 * process by bench.test.ts (`npm run bench` synthesizes each cloud with that
 * exact command), and in-process by most other files.
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

const ROOT = join(__dirname, "..");

describe.each(["azure"])("npx cdktf synth with CLUSTER_CLOUD=%s", (cloud) => {
  test("writes the dev and ha stacks", () => {
    const out = mkdtempSync(join(tmpdir(), "cdktf-out-"));
    const home = mkdtempSync(join(tmpdir(), "home-"));
    execFileSync(join(ROOT, "node_modules", ".bin", "cdktf"), ["synth", "--output", out], {
      cwd: ROOT,
      env: { ...process.env, CLUSTER_CLOUD: cloud, HOME: home, CHECKPOINT_DISABLE: "1", CI: "1" },
      stdio: "pipe",
      timeout: 120000,
    });
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(Object.keys(manifest.stacks).sort()).toEqual(["dev", "ha"]);
    for (const stack of ["dev", "ha"]) {
      const json = JSON.parse(readFileSync(join(out, "stacks", stack, "cdk.tf.json"), "utf8"));
      const type = cloud === "azure" ? "azurerm_linux_virtual_machine" : "aws_instance";
      expect(Object.keys(json.resource[type])).toHaveLength(stack === "dev" ? 1 : 3);
    }
  });
});
