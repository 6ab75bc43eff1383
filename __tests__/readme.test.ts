/** The README stays true: commands, knobs, pins, and the example config. */
import { readFileSync } from "fs";
import { join } from "path";
import { DEFAULT_IMAGES } from "../constructs/core/container-image";
import { IMAGE_KNOBS, KNOBS, loadAppConfig } from "../stacks/config";
import { buildApp } from "../stacks/app";
import { synthStack } from "./helpers/synth";

const ROOT = join(__dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

test("the quick start states exactly the two commands, and CI runs the test one", () => {
  const quickStart = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("## What it builds"));
  const block = /```sh\n([\s\S]*?)```/.exec(quickStart)![1].trim().split("\n");
  expect(block).toEqual(["npm ci && npx cdktf synth", "npm test"]);
  const ci = readFileSync(join(ROOT, ".ci", "run"), "utf8");
  expect(ci).toMatch(/^npm ci$/m);
  expect(ci).toMatch(/^npm test$/m);
});

test("every configuration knob is documented", () => {
  for (const knob of KNOBS) expect(readme).toContain(`\`CLUSTER_${knob.env}\``);
  for (const env of Object.values(IMAGE_KNOBS)) expect(readme).toContain(`\`CLUSTER_${env}\``);
  for (const env of ["CLUSTER_CLOUD", "CLUSTER_CONFIG", "CLUSTER_NAME_PREFIX", "CLUSTER_HA_NAME"]) expect(readme).toContain(`\`${env}\``);
});

test("the pinned images in the README are the defaults in code", () => {
  for (const image of Object.values(DEFAULT_IMAGES)) expect(readme).toContain(`\`${image}\``);
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const pins = { ...pkg.dependencies, ...pkg.devDependencies };
  for (const version of Object.values(pins)) expect(String(version)).toMatch(/^\d+\.\d+\.\d+$/); // exact pins only
  expect(pins.cdktf).toBe("0.21.0");
  expect(readme).toContain(`| TypeScript | ${pins.typescript} |`);
});

test("the example config file loads and synthesizes", () => {
  const config = loadAppConfig({ env: { CLUSTER_CONFIG: "cluster.config.example.json", CLUSTER_SSH_PUBLIC_KEY: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx7 a@b" }, cwd: ROOT, homeDir: "/nonexistent" });
  const { stacks } = buildApp({ config, outdir: "/tmp/mesos-cluster-test-out" });
  const ha = synthStack(stacks[1]);
  expect(Object.values(ha.resource.azurerm_linux_virtual_machine_scale_set)[0]).toMatchObject({ instances: 6, sku: "Standard_D4s_v5" });
});
