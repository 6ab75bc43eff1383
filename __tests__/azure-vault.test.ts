/**
 * The Azure Key Vaults (issue 18): reachable only from the subnets of the
 * machines that read them and from the deployer's addresses, Azure RBAC
 * instead of access policies, and the vault's URI in the machines' user data
 * (written by Terraform) instead of a tag read at run time. Everything is
 * asserted on the synthesized JSON and the decoded user data.
 */
import { execFileSync } from "child_process";
import { mkdirSync, mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack } from "cdktf";
import { AzureTarget, AzureTargetProps } from "../constructs/cloud/azure";
import { KEY_VAULT_URI_PLACEHOLDER, parseVaultUriTemplate } from "../constructs/cloud/secret-fetchers/azure";
import { NodeGroup } from "../constructs/nodes";
import { CloudConfig } from "../constructs/core/cloud-config";
import { META_ATTRIBUTES, ruleFor, verdictOf } from "../scripts/lib/replacement-rules";
import { userDataNodes } from "../scripts/lib/synth-output";
import { buildApp } from "../stacks/app";
import { loadAppConfig } from "../stacks/config";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { fileOf, machineDocs, parseCloudConfig, poolDoc, resolveRef, resourcesOf, synthCluster, synthStack, TEST_SSH_KEY, TfJson, warningsOf } from "./helpers/synth";

type Resource = Record<string, unknown>;
const FETCHER = "/usr/local/sbin/fetch-cluster-secret";
const WORKSPACE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/logs/providers/Microsoft.OperationalInsights/workspaces/audit";

/** `${type.name.attr}` of a resource of the stack. */
function refOf(json: TfJson, resource: Resource, attribute: string): string {
  for (const [type, resources] of Object.entries(json.resource)) {
    for (const [name, r] of Object.entries(resources)) if (r === resource) return `\${${type}.${name}.${attribute}}`;
  }
  throw new Error("not a resource of this stack");
}

/** The vaults of a stack: the cluster's (named <cluster>-<suffix>) and the agents' pool's (<cluster>-p-<suffix>). */
function vaults(json: TfJson): { cluster: Resource; pool: Resource } {
  const all = Object.values(resourcesOf(json, "azurerm_key_vault"));
  expect(all).toHaveLength(2);
  const pool = all.find((v) => String(v.name).includes("-p-"))!;
  return { cluster: all.find((v) => v !== pool)!, pool };
}

function subnetNamed(json: TfJson, name: string): Resource {
  return Object.values(resourcesOf(json, "azurerm_subnet")).find((s) => s.name === name)!;
}

describe("the ha stack on Azure (auth on: masters and agents read secrets)", () => {
  let json: TfJson;
  beforeAll(() => {
    json = synthCluster({ cloud: "azure", profile: "ha" }).json;
  });

  test("each vault denies every network but its readers' subnet (and the deployer's addresses, none by default)", () => {
    const { cluster, pool } = vaults(json);
    expect(cluster.network_acls).toEqual({
      default_action: "Deny",
      bypass: "AzureServices",
      ip_rules: [],
      virtual_network_subnet_ids: [refOf(json, subnetNamed(json, "masters"), "id")],
    });
    expect(pool.network_acls).toEqual({
      default_action: "Deny",
      bypass: "AzureServices",
      ip_rules: [],
      virtual_network_subnet_ids: [refOf(json, subnetNamed(json, "agents"), "id")],
    });
    for (const v of [cluster, pool]) expect(v.public_network_access_enabled).toBeUndefined(); // enabled: the rules above restrict it
  });

  test("the readers' subnets carry the Key Vault service endpoint the vaults' network rules need", () => {
    for (const name of ["masters", "agents"]) expect(subnetNamed(json, name).service_endpoints).toEqual(["Microsoft.KeyVault"]);
  });

  test("RBAC, no access policies: the reader may read its own vault, the deployer writes it", () => {
    const { cluster, pool } = vaults(json);
    const client = Object.keys(json.data?.azurerm_client_config ?? {});
    expect(client).toHaveLength(1);
    const deployer = `\${data.azurerm_client_config.${client[0]}.object_id}`;
    const identities = resourcesOf(json, "azurerm_user_assigned_identity");
    const machines = Object.values(identities).find((i) => i.name === "mesos-ha-machines")!;
    const agents = Object.values(identities).find((i) => i.name === "mesos-ha-pool-agents")!;
    const assignments = Object.values(resourcesOf(json, "azurerm_role_assignment"));
    expect(assignments).toHaveLength(4);
    const on = (vault: Resource) =>
      assignments
        .filter((a) => a.scope === refOf(json, vault, "id"))
        .map((a) => [a.role_definition_name, a.principal_id, a.principal_type])
        .sort();
    expect(on(cluster)).toEqual([
      ["Key Vault Secrets Officer", deployer, undefined],
      ["Key Vault Secrets User", refOf(json, machines, "principal_id"), "ServicePrincipal"],
    ]);
    expect(on(pool)).toEqual([
      ["Key Vault Secrets Officer", deployer, undefined],
      ["Key Vault Secrets User", refOf(json, agents, "principal_id"), "ServicePrincipal"],
    ]);
    for (const v of [cluster, pool]) {
      expect(v.rbac_authorization_enabled).toBe(true);
      // An explicit empty list: the policies of a vault made by an earlier version are removed, not kept.
      expect(v.access_policy).toEqual([]);
      expect(v).not.toHaveProperty("enable_rbac_authorization");
      expect(v).toMatchObject({ purge_protection_enabled: true, soft_delete_retention_days: 90 });
    }
  });

  test("every secret waits until the deployer's role assignment on its vault has had time to take effect", () => {
    const waits = resourcesOf(json, "null_resource");
    expect(Object.keys(waits)).toHaveLength(2);
    for (const secret of Object.values(resourcesOf(json, "azurerm_key_vault_secret"))) {
      const vault = resolveRef(json, secret.key_vault_id);
      expect(secret.depends_on).toHaveLength(1);
      const wait = waits[String((secret.depends_on as string[])[0]).replace(/^null_resource\./, "")];
      const assignment = resolveRef(json, (wait.triggers as { role_assignment: string }).role_assignment);
      expect(assignment).toMatchObject({ role_definition_name: "Key Vault Secrets Officer", scope: refOf(json, vault, "id") });
      const [provisioner] = wait.provisioner as { "local-exec": { command: string; interpreter: string[] } }[];
      // Ten minutes: Microsoft's bound for a role assignment to take effect on Key Vault (azure.ts).
      expect(provisioner["local-exec"]).toMatchObject({ command: "600", interpreter: ["node", "-e", expect.any(String)] });
    }
  });

  test("the wait script waits the seconds it is given (run with node, as Terraform's local-exec does)", () => {
    const [wait] = Object.values(resourcesOf(json, "null_resource"));
    const [{ "local-exec": exec }] = wait.provisioner as { "local-exec": { interpreter: string[] } }[];
    const out = execFileSync(exec.interpreter[0], [...exec.interpreter.slice(1), "0"], { encoding: "utf8" });
    expect(out).toBe("Waiting 0 s for the Key Vault role assignment to take effect (Azure: up to 10 minutes)\n");
  });

  test("machines learn their vault from their user data, where Terraform writes its URI; no tag names it", () => {
    const { cluster, pool } = vaults(json);
    const vms = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine"));
    const [vmss] = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"));
    for (const [machine, vault] of [...vms.map((vm) => [vm, cluster]), [vmss, pool]] as [Resource, Resource][]) {
      const template = parseVaultUriTemplate(String(machine.custom_data));
      expect(template).toEqual({ base64: expect.any(String), gzip: false, vaultUri: refOf(json, vault, "vault_uri") });
      expect(machine.tags).toEqual({ cluster: "mesos-ha", "managed-by": "mesos-cluster-cdktf", role: machine === vmss ? "agents" : "masters" });
    }
    // What Terraform does at apply: the placeholder, once in each document (in the fetcher), becomes the URI.
    const uri = "https://mesos-ha-abc123.vault.azure.net/";
    for (const text of [...machineDocs(json, "azure").map((d) => d.text), poolDoc(json, "azure")]) {
      expect(text.split(KEY_VAULT_URI_PLACEHOLDER)).toHaveLength(2);
      const fetcher = fileOf(parseCloudConfig(text.split(KEY_VAULT_URI_PLACEHOLDER).join(uri)), FETCHER);
      expect(fetcher).toContain(`VAULT_URI = "${uri}"`);
      expect(fetcher).not.toContain("tagsList");
      expect(fetcher).not.toContain("mesos-cluster-key-vault");
    }
    // The size checked at synth is an upper bound: no vault URI is longer than the placeholder.
    expect(KEY_VAULT_URI_PLACEHOLDER.length).toBeGreaterThanOrEqual("https://".length + 24 + ".vault.azure.net/".length);
  });

  test("synth warns once that a deploy from outside the readers' subnets is refused without deployerCidrs", () => {
    const { stack } = synthCluster({ cloud: "azure", profile: "ha" });
    const about = warningsOf(stack).filter((w) => w.includes("deployerCidrs"));
    expect(about).toHaveLength(1);
    expect(about[0]).toMatch(/^ha\/azure: deployerCidrs is empty: .*ForbiddenByFirewall\. Set deployerCidrs \(CLUSTER_DEPLOYER_CIDRS\) to that machine's public IPv4 address/);
  });
});

describe("deployerCidrs", () => {
  test("become the vaults' IP rules, a /32 as its address; no warning then", () => {
    const { stack, json } = synthCluster({ cloud: "azure", profile: "ha", deployerCidrs: ["203.0.113.7", "198.51.100.0/24", "192.0.2.9/32"] });
    const { cluster, pool } = vaults(json);
    for (const v of [cluster, pool]) expect((v.network_acls as { ip_rules: string[] }).ip_rules).toEqual(["203.0.113.7", "198.51.100.0/24", "192.0.2.9"]);
    expect(warningsOf(stack).filter((w) => w.includes("deployerCidrs"))).toEqual([]);
  });

  test("the dev stack stores no secret: no vault, no warning, no service endpoint, literal user data", () => {
    const { stack, json } = synthCluster({ cloud: "azure", profile: "dev" });
    expect(resourcesOf(json, "azurerm_key_vault")).toEqual({});
    expect(resourcesOf(json, "azurerm_role_assignment")).toEqual({});
    expect(warningsOf(stack).filter((w) => w.includes("deployerCidrs"))).toEqual([]);
    for (const s of Object.values(resourcesOf(json, "azurerm_subnet"))) expect(s.service_endpoints).toBeUndefined();
    for (const n of userDataNodes(json)) expect(n.text).not.toContain(KEY_VAULT_URI_PLACEHOLDER);
  });

  test.each([
    ["10.1.2.0/24", "not in 10.0.0.0/8: Key Vault's IP rules take public addresses only"],
    ["172.20.0.5", "not in 172.16.0.0/12"],
    ["192.168.1.0/24", "not in 192.168.0.0/16"],
    ["0.0.0.0/0", "not the whole internet"],
    ["203.0.113.1/24", "a public IPv4 address such as 203.0.113.7 or a block such as 203.0.113.0/24 (no host bits set)"],
    ["203.0.113.6/31", "for a /31 list its two addresses (203.0.113.6, 203.0.113.7)"],
    ["2001:db8::/32", "a public IPv4 address such as 203.0.113.7"],
    ["my-laptop", "a public IPv4 address such as 203.0.113.7"],
  ])("%s is refused at synth", (cidr, allowed) => {
    expect(() => synthCluster({ cloud: "azure", profile: "ha", deployerCidrs: ["198.51.100.0/24", cidr] })).toThrow(`ha/azure: invalid deployerCidrs[1] ${JSON.stringify(cidr)}; allowed: `);
    expect(() => synthCluster({ cloud: "azure", profile: "ha", deployerCidrs: ["198.51.100.0/24", cidr] })).toThrow(allowed);
  });

  test("duplicates are refused, and so is the knob on AWS", () => {
    expect(() => synthCluster({ cloud: "azure", profile: "ha", deployerCidrs: ["203.0.113.7", "203.0.113.7/32"] })).toThrow("ha/azure: invalid deployerCidrs");
    expect(() => synthCluster({ cloud: "aws", profile: "ha", deployerCidrs: ["203.0.113.7"] })).toThrow('ha: invalid deployerCidrs ["203.0.113.7"]; allowed: unset on aws');
  });

  test("CLUSTER_DEPLOYER_CIDRS sets it for both stacks, an error names the variable, a misspelling is refused", () => {
    const home = mkdtempSync(join(tmpdir(), "azure-vault-home-"));
    const config = loadAppConfig({ env: { CLUSTER_CLOUD: "azure", CLUSTER_DEPLOYER_CIDRS: "203.0.113.7, 198.51.100.0/24" }, cwd: home, homeDir: home });
    expect(config.stacks.ha.deployerCidrs).toEqual(["203.0.113.7", "198.51.100.0/24"]);
    expect(config.stacks.dev.deployerCidrs).toEqual(["203.0.113.7", "198.51.100.0/24"]);
    const outdir = join(home, "out");
    mkdirSync(outdir);
    expect(() => buildApp({ env: { CLUSTER_CLOUD: "azure", CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, CLUSTER_HA_DEPLOYER_CIDRS: "10.0.0.0/16" }, cwd: home, homeDir: home, outdir })).toThrow(
      'ha/azure: invalid deployerCidrs[0] "10.0.0.0/16" (from CLUSTER_HA_DEPLOYER_CIDRS); allowed: ',
    );
    expect(() => loadAppConfig({ env: { CLUSTER_DEPLOYER_CIDR: "203.0.113.7" }, cwd: home, homeDir: home })).toThrow(/CLUSTER_DEPLOYER_CIDR .*did you mean CLUSTER_DEPLOYER_CIDRS/);
  });
});

/** A library stack: one group of machines that stores a secret, on an AzureTarget with `props`. */
function libraryStack(props: Partial<AzureTargetProps>, configure?: (config: CloudConfig) => void): TfJson {
  const stack = new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");
  const target = new AzureTarget(stack, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY, ...props });
  const nodes = new NodeGroup(stack, "masters", { target, count: 1, vmSize: "Standard_D2s_v5" });
  nodes.storeSecret(stack, "secret", "a-secret", "value");
  if (configure) nodes.addRole({ roleName: "extra", configure });
  return synthStack(stack);
}

describe("library use", () => {
  test("audit logs go to a Log Analytics workspace when one is named, from every vault", () => {
    const json = libraryStack({ keyVaultLogAnalyticsWorkspaceId: WORKSPACE });
    const [vault] = Object.values(resourcesOf(json, "azurerm_key_vault"));
    const settings = Object.values(resourcesOf(json, "azurerm_monitor_diagnostic_setting"));
    expect(settings.map((s) => ({ ...s, "//": undefined }))).toEqual([
      { "//": undefined, name: "key-vault-audit", target_resource_id: refOf(json, vault, "id"), log_analytics_workspace_id: WORKSPACE, enabled_log: [{ category_group: "audit" }] },
    ]);
    // plan-diff knows what a change to each of its attributes does (scripts/lib/replacement-rules.ts).
    for (const key of Object.keys(settings[0]).filter((k) => !META_ATTRIBUTES.has(k))) expect([key, ruleFor("azurerm_monitor_diagnostic_setting", key)?.effect]).toEqual([key, expect.any(String)]);
    expect(ruleFor("azurerm_monitor_diagnostic_setting", "enabled_log[0].category_group")?.effect).toBe("update");
    expect(resourcesOf(libraryStack({}), "azurerm_monitor_diagnostic_setting")).toEqual({});
  });

  test("a workspace that is not a Log Analytics workspace ID is refused", () => {
    expect(() => libraryStack({ keyVaultLogAnalyticsWorkspaceId: "audit-workspace" })).toThrow('lib/azure: invalid keyVaultLogAnalyticsWorkspaceId "audit-workspace"; allowed: a Log Analytics workspace resource ID');
  });

  test("with an existing network the vault admits the given master subnet (its service endpoint is the user's)", () => {
    const masterSubnet = { id: "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/masters", cidr: "10.0.1.0/24" };
    const json = libraryStack({
      existingNetwork: { resourceGroupName: "rg", addressSpace: ["10.0.0.0/16"], masterSubnet, agentSubnet: { id: "/subscriptions/s/.../subnets/agents", cidr: "10.0.16.0/20" } },
      deployerCidrs: ["203.0.113.7"],
    });
    const [vault] = Object.values(resourcesOf(json, "azurerm_key_vault"));
    expect(vault.network_acls).toEqual({ default_action: "Deny", bypass: "AzureServices", ip_rules: ["203.0.113.7"], virtual_network_subnet_ids: [masterSubnet.id] });
    expect(resourcesOf(json, "azurerm_subnet")).toEqual({});
  });

  test("a document over Azure's 64 KiB is completed and gzipped by Terraform, and still decodes", () => {
    const json = libraryStack({}, (config) => config.addFile({ path: "/etc/big", content: "0123456789abcdef\n".repeat(4500) }));
    const [vm] = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine"));
    expect(parseVaultUriTemplate(String(vm.custom_data))).toMatchObject({ gzip: true });
    const [node] = userDataNodes(json);
    expect(node).toMatchObject({ encoding: "gzip+base64" });
    expect(node.countedBytes).toBeLessThan(node.limitBytes);
    expect(node.text).toContain(KEY_VAULT_URI_PLACEHOLDER);
    expect(Buffer.byteLength(node.text)).toBeGreaterThan(64 * 1024);
  });
});

test("a vault made by an earlier version (access policies, no network rules) moves to RBAC and its network rules in place", () => {
  // What plan-diff reports for the changed attributes of azurerm_key_vault: updates, never a replacement.
  for (const path of ["rbac_authorization_enabled", "access_policy", "network_acls.default_action", "network_acls.virtual_network_subnet_ids", "network_acls.ip_rules"]) {
    const rule = ruleFor("azurerm_key_vault", path);
    expect([path, rule && verdictOf(rule, undefined, true, {}).effect]).toEqual([path, "update"]);
  }
  expect(ruleFor("azurerm_subnet", "service_endpoints")?.effect).toBe("update");
  // A new deployer (another object id) makes its role assignment anew.
  expect(ruleFor("azurerm_role_assignment", "principal_id")?.effect).toBe("replace");
});

test("the whole cluster stack with deployerCidrs builds from the app's configuration", () => {
  const home = mkdtempSync(join(tmpdir(), "azure-vault-app-"));
  const { stacks } = buildApp({ env: { CLUSTER_CLOUD: "azure", CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, CLUSTER_DEPLOYER_CIDRS: "203.0.113.7" }, cwd: home, homeDir: home, outdir: join(home, "out") });
  const ha = stacks.find((s) => s.node.id === "ha") as MesosClusterStack;
  const json = synthStack(ha);
  for (const v of Object.values(resourcesOf(json, "azurerm_key_vault"))) expect((v.network_acls as { ip_rules: string[] }).ip_rules).toEqual(["203.0.113.7"]);
});
