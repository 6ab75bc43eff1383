/**
 * The replacement table (scripts/lib/replacement-rules.ts) covers every
 * resource type, data source and attribute the stacks can emit, on both
 * clouds, with every option on: plan-diff fails safe on anything it does not
 * know (a possible replacement), so a gap would turn harmless changes into
 * exit 3; and every row cites the provider file at the pinned version.
 */
import { readFileSync } from "fs";
import { diffSynthOutputs } from "../scripts/lib/plan-diff";
import { renderReport } from "../scripts/lib/plan-diff-report";
import { META_ATTRIBUTES, normalizePath, REPLACEMENT_TABLE, ruleFor, verdictOf } from "../scripts/lib/replacement-rules";
import { readSynthOutput, TfJson } from "../scripts/lib/synth-output";
import { synthApp, TEST_SSH_KEY } from "./helpers/synth";


function synth(env: Record<string, string>): Map<string, TfJson> {
  return readSynthOutput(synthApp(env));
}

/** Every option on (stacks/config.ts KNOBS, stacks/mesos-cluster-stack.ts props). */
const EVERYTHING = {
  CLUSTER_ADMIN_CIDRS: "203.0.113.0/24",
  CLUSTER_AUTH: "on",
  CLUSTER_SWARM_TLS: "on",
  CLUSTER_INTERNET_INGRESS: "ssh,mesos,marathon,swarm,web",
  CLUSTER_READINESS_GATE: "on",
  CLUSTER_EXAMPLE_APPS: "web,redis",
  CLUSTER_DISCOVERY: "dns+lb",
};
/** Options of one cloud only (refused on the other). */
const CLOUD_OPTIONS = {
  azure: { CLUSTER_DEPLOYER_CIDRS: "203.0.113.7" },
  aws: { CLUSTER_SECRETS_KMS_KEY_ARN: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
};
const BACKENDS = {
  azure: { CLUSTER_BACKEND: "azurerm", CLUSTER_BACKEND_STORAGE_ACCOUNT: "acmestate", CLUSTER_BACKEND_CONTAINER: "tfstate", CLUSTER_BACKEND_RESOURCE_GROUP: "rg-state" },
  aws: { CLUSTER_BACKEND: "s3", CLUSTER_BACKEND_BUCKET: "acme-state", CLUSTER_BACKEND_REGION: "eu-west-1" },
};

/** Each variant synthesizes both stacks, dev and ha. */
const VARIANTS: [string, Record<string, string>][] = (["azure", "aws"] as const).flatMap((cloud): [string, Record<string, string>][] => [
  [`${cloud}, defaults`, { CLUSTER_CLOUD: cloud, CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY }],
  [`${cloud}, every option, remote backend`, { CLUSTER_CLOUD: cloud, CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, ...EVERYTHING, ...CLOUD_OPTIONS[cloud], ...BACKENDS[cloud] }],
  // A generated SSH key, passwords from Terraform variables, auth off but opened on purpose.
  [
    `${cloud}, generated key, password variables, insecure openings`,
    { CLUSTER_CLOUD: cloud, CLUSTER_AUTH_PASSWORDS: "variables", CLUSTER_HA_AUTH: "on", CLUSTER_DEV_AUTH: "off", CLUSTER_SWARM_TLS: "off", CLUSTER_ADMIN_CIDRS: "198.51.100.0/24", CLUSTER_INSECURE: "on", CLUSTER_READINESS_GATE: "off" },
  ],
]);

/** The leaves of a resource's configuration, cut the way plan-diff compares them. */
function leafPaths(value: unknown, prefix = ""): string[] {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => (prefix === "" && META_ATTRIBUTES.has(k) ? [] : leafPaths(v, prefix ? `${prefix}.${k}` : k)));
  }
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "object" && v !== null && !Array.isArray(v))) {
    return value.flatMap((v, i) => leafPaths(v, `${prefix}[${i}]`));
  }
  return [prefix];
}

/** What the table misses in one stack: `type` for a type, `type attribute` for an attribute. */
function gaps(json: TfJson): string[] {
  const missing = new Set<string>();
  const check = (key: string, resources: Record<string, Record<string, unknown>>) => {
    if (!REPLACEMENT_TABLE[key]) {
      missing.add(key);
      return;
    }
    for (const resource of Object.values(resources)) {
      for (const path of leafPaths(resource)) if (!ruleFor(key, path)) missing.add(`${key} ${normalizePath(path)}`);
    }
  };
  for (const [type, resources] of Object.entries(json.resource ?? {})) check(type, resources);
  for (const [type, resources] of Object.entries(json.data ?? {})) check(`data.${type}`, resources);
  return [...missing].sort();
}

const synthesized = new Map<string, Map<string, TfJson>>();
/** A variant's stacks, synthesized once. */
function stacksOf(name: string, env: Record<string, string>): Map<string, TfJson> {
  if (!synthesized.has(name)) synthesized.set(name, synth(env));
  return synthesized.get(name)!;
}

describe.each(VARIANTS)("%s", (name, env) => {
  test("every resource type, data source and attribute of dev and ha has a row", () => {
    const stacks = stacksOf(name, env);
    expect([...stacks.keys()].sort()).toEqual(["dev", "ha"]);
    for (const [stack, json] of stacks) expect({ stack, gaps: gaps(json) }).toEqual({ stack, gaps: [] });
  });
});

test("the variants emit what the options promise (so the coverage above means something)", () => {
  const emitted = new Set<string>();
  for (const [name, env] of VARIANTS) {
    for (const json of stacksOf(name, env).values()) {
      for (const type of Object.keys(json.resource ?? {})) emitted.add(type);
      for (const type of Object.keys(json.data ?? {})) emitted.add(`data.${type}`);
    }
  }
  for (const type of [
    "azurerm_linux_virtual_machine_scale_set",
    "azurerm_key_vault_secret",
    "azurerm_role_assignment",
    "azurerm_public_ip",
    "aws_autoscaling_group",
    "aws_autoscaling_lifecycle_hook",
    "aws_ssm_parameter",
    "aws_volume_attachment",
    "tls_locally_signed_cert",
    "tls_private_key",
    "random_password",
    "random_string",
    "null_resource",
    "data.aws_ami",
    "data.azurerm_client_config",
  ]) {
    expect(emitted).toContain(type);
  }
});

test("a type or an attribute missing from the table is found (the check above can fail)", () => {
  const json = synth({ CLUSTER_CLOUD: "aws", CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY }).get("dev")!;
  json.resource.aws_placement_group = { masters: { name: "m", strategy: "spread" } };
  for (const instance of Object.values(json.resource.aws_instance)) instance.hibernation = true;
  expect(gaps(json)).toEqual(["aws_instance hibernation", "aws_placement_group"]);
});

/** The provider release each @cdktf/provider-* package wraps (its package.json). */
function pinnedVersion(repository: string): string {
  const name = repository.replace(/^hashicorp\/terraform-provider-/, "");
  const pkg = JSON.parse(readFileSync(require.resolve(`@cdktf/provider-${name}/package.json`), "utf8")) as { cdktf: { provider: { name: string; version: string } } };
  expect(pkg.cdktf.provider.name).toBe(`registry.terraform.io/hashicorp/${name}`);
  return pkg.cdktf.provider.version;
}

test("every row cites its provider's resource file at the pinned provider version", () => {
  const versions = new Map<string, string>();
  for (const [type, entry] of Object.entries(REPLACEMENT_TABLE)) {
    const { repository, path, version } = entry.source;
    expect(repository).toMatch(/^hashicorp\/terraform-provider-(aws|azurerm|random|tls|null)$/);
    if (!versions.has(repository)) versions.set(repository, pinnedVersion(repository));
    expect({ type, version }).toEqual({ type, version: versions.get(repository) });
    expect({ type, path }).toEqual({ type, path: expect.stringMatching(/^internal\/(services?|provider)\/[a-z0-9_/]+\.go$/) });
    // The type is named after its provider (data sources as data.<type>).
    const provider = repository.replace(/^hashicorp\/terraform-provider-/, "");
    expect(type.replace(/^data\./, "").split("_")[0]).toBe(provider === "azurerm" ? "azurerm" : provider);
    expect(entry.rules.length).toBeGreaterThan(0);
  }
  expect(Object.fromEntries(versions)).toEqual({
    "hashicorp/terraform-provider-azurerm": "4.55.0",
    "hashicorp/terraform-provider-aws": "6.25.0",
    "hashicorp/terraform-provider-random": "3.7.2",
    "hashicorp/terraform-provider-tls": "4.1.0",
    "hashicorp/terraform-provider-null": "3.2.4",
  });
});

/** `{a: {b: value}}` for the path `a.b`. */
function nested(path: string, value: unknown): Record<string, unknown> {
  return path.split(".").reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

test("a row whose note explains a consequence prints that note next to the change", () => {
  const userDataTypes = ["azurerm_linux_virtual_machine", "azurerm_linux_virtual_machine_scale_set", "aws_instance", "aws_launch_template"];
  let checked = 0;
  for (const [type, entry] of Object.entries(REPLACEMENT_TABLE)) {
    if (type.startsWith("data.") || userDataTypes.includes(type)) continue;
    const provider = type.startsWith("azurerm_") ? { azurerm: [{}] } : { aws: [{}] };
    for (const rule of entry.rules.filter((r) => r.consequence && !r.decide)) {
      const path = rule.path === "*" ? "length" : rule.path;
      const side = (value: string) => new Map([["s", { provider, output: {}, resource: { [type]: { r: nested(path, value) } } } as unknown as TfJson]]);
      const diff = diffSynthOutputs(side("one"), side("two"));
      const text = renderReport(diff, { format: "text", baseLabel: "a", headLabel: "b" });
      expect({ type, path, printed: text.includes(rule.note) }).toEqual({ type, path, printed: true });
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(20);
});

test("the agent pools' notes say how they roll, from the pool's own settings", () => {
  const rolling = {
    instances: 6,
    upgrade_mode: "Rolling",
    rolling_upgrade_policy: { max_batch_instance_percent: 34, maximum_surge_instances_enabled: true, pause_time_between_batches: "PT2M" },
    extension: [{ type: "ApplicationHealthLinux", settings: JSON.stringify({ protocol: "http", port: 5052, requestPath: "/health" }) }],
  };
  const note = (type: string, path: string, resource: Record<string, unknown>) => verdictOf(ruleFor(type, path)!, "a", "b", resource).note;
  expect(note("azurerm_linux_virtual_machine_scale_set", "custom_data", rolling)).toBe(
    "ROLLING: Azure replaces the 6 agents with new ones built from the new model, at most 34% a batch (2 of 6 at a time), 2m between batches, each batch waiting until the new agents' Mesos /health (relayed on loopback port 5052, probed by the Application Health extension) answers (tasks on a replaced agent are killed and rescheduled by their framework)",
  );
  // Without a health signal the pool is Manual: the provider reimages every agent inside the apply.
  expect(note("azurerm_linux_virtual_machine_scale_set", "sku", { instances: 3, upgrade_mode: "Manual" })).toMatch(/^MANUAL: the provider updates and REIMAGES the 3 agents one after the other inside terraform apply/);
  const group = { desired_capacity: 3, instance_refresh: { strategy: "Rolling", preferences: { min_healthy_percentage: 66, instance_warmup: "600" } } };
  expect(note("aws_autoscaling_group", "launch_template.version", group)).toMatch(/^ROLLING: the group starts an instance refresh that replaces the agents, keeping 66% in service \(1 of 3 at a time\) and 600 s of warm-up each/);
  expect(note("aws_autoscaling_group", "launch_template.version", { desired_capacity: 3 })).toMatch(/^NOT ROLLED:/);
  // The drain's terminate notice is in the model only: the platform rolls it out to a Rolling pool; the provider does not to a Manual one.
  expect(note("azurerm_linux_virtual_machine_scale_set", "termination_notification.timeout", rolling)).toMatch(/^ROLLING: Azure replaces the 6 agents with new ones/);
  expect(note("azurerm_linux_virtual_machine_scale_set", "termination_notification.enabled", { instances: 3, upgrade_mode: "Manual" })).toMatch(/^NOT ROLLED: the provider updates the model only/);
});

test("the drain's lifecycle hook: a new name replaces it, every other change is put in place", () => {
  const effect = (path: string) => verdictOf(ruleFor("aws_autoscaling_lifecycle_hook", path)!, "a", "b", {}).effect;
  expect(effect("name")).toBe("replace");
  for (const path of ["autoscaling_group_name", "default_result", "heartbeat_timeout", "lifecycle_transition"]) expect({ path, effect: effect(path) }).toEqual({ path, effect: "update" });
});
