/**
 * "No way from a task to root", item 2: agents register only with the
 * cluster's agent credential (`authenticate_agents`, Mesos 1.7.1 CRAM-MD5).
 * With `auth` the masters list the `mesos-agent` principal in their
 * credentials file and require it; the agents read its secret at boot with an
 * identity of their pool's own that can read exactly that secret, into a
 * root-only tmpfs file, then close the instance metadata service to everything
 * on the host before Docker (and so any task) starts.
 *
 * Proved here: the Terraform JSON per cloud (the pool's identity and its exact
 * scope; none without auth), the decoded user data (unit order, mount, flag,
 * no secret), the boot scripts run for real with a stub fetcher, the
 * metadata block loaded into a real nftables in network namespaces and
 * probed from the host, a bridge container and with raw AF_PACKET frames, and
 * the library's refusals. Needs root, nftables, iproute2 and python3 for the
 * namespace part (CI runs as root).
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { createInterface } from "readline";
import { App, TerraformStack } from "cdktf";
import { AwsTarget, AzureTarget, MesosAgentPool, MesosMasterGroup, NodeGroup, ZookeeperEnsemble } from "../constructs";
import {
  AGENT_CREDENTIAL_FILE,
  AGENT_CREDENTIAL_IN_CONTAINER,
  AGENT_CREDENTIAL_UNIT,
  AGENT_PRINCIPAL,
  IMDS_BLOCK_DROP_IN,
  IMDS_BLOCK_UNIT,
  imdsBlockRules,
} from "../constructs/core/agent-http-auth";
import { parseVaultUriTemplate } from "../constructs/cloud/secret-fetchers/azure";
import { SECRETS_DIR } from "../constructs/nodes";
import { effectiveRuntime, processOf, runtimeFindings } from "../scripts/lib/effective-runtime";
import { userDataNodes } from "../scripts/lib/synth-output";
import { buildApp } from "../stacks/app";
import { loadAppConfig } from "../stacks/config";
import { readUserData } from "../scripts/lib/user-data-model";
import { Cloud, execStartOf, fileOf, machineDocs, parseCloudConfig, poolDoc, resolveRef, resourcesOf, synthCluster, synthStack, TEST_SSH_KEY } from "./helpers/synth";
import { AS_ROOT, deleteNamespaces, listenIn, netnsTool, reaches, sh } from "./helpers/netns";
import { describeWithTool } from "./helpers/tools";

const FETCHER = "/usr/local/sbin/fetch-cluster-secret";
const CREDENTIAL_SCRIPT = "/usr/local/sbin/mesos-agent-credential";
const BLOCK_SCRIPT = "/usr/local/sbin/mesos-imds-block";
const CREDENTIAL_ON_HOST = `${SECRETS_DIR}/${AGENT_CREDENTIAL_FILE}`;

/** A unit file's `Key=` values (space-separated lists flattened). */
function unitValues(unit: string, key: string): string[] {
  return unit
    .split("\n")
    .filter((l) => l.startsWith(`${key}=`))
    .flatMap((l) => l.slice(key.length + 1).split(/\s+/))
    .filter(Boolean);
}

/** Runs a shell script text with bash; returns its status and stderr. */
function runBash(script: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, ...env } });
  return { status: r.status, stderr: r.stderr };
}

describe.each(["aws", "azure"] as Cloud[])("%s", (cloud) => {
  const { json } = synthCluster({ cloud, profile: "ha" });
  const { json: dev } = synthCluster({ cloud, profile: "dev" });
  const doc = parseCloudConfig(poolDoc(json, cloud));

  test("ha: the pool has an identity of its own that reads exactly the agent secret; dev: no identity at all", () => {
    if (cloud === "aws") {
      const roles = resourcesOf(json, "aws_iam_role");
      const poolRole = Object.values(roles).find((r) => r.name === "mesos-ha-pool-agents")!;
      expect(JSON.parse(String(poolRole.assume_role_policy)).Statement).toEqual([
        { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
      // Besides the drain's CompleteLifecycleAction on its own group (agent-drain.test.ts), the pool's one policy.
      const policies = Object.values(resourcesOf(json, "aws_iam_role_policy")).filter((p) => resolveRef(json, p.role) === poolRole && p.name !== "complete-lifecycle-action");
      expect(policies).toHaveLength(1);
      const [statement, ...rest] = JSON.parse(String(policies[0].policy)).Statement;
      expect(rest).toEqual([]);
      expect(statement).toMatchObject({ Effect: "Allow", Action: "ssm:GetParameter" });
      // Exactly one ARN, the agent secret's own parameter resource: its account and region, no wildcard.
      expect(statement.Resource).toHaveLength(1);
      expect(statement.Resource[0]).toMatch(/^\$\{aws_ssm_parameter\.[^.]+\.arn\}$/);
      expect(statement.Resource[0]).not.toContain("*");
      const parameter = resolveRef(json, statement.Resource[0]);
      expect(parameter.name).toBe("/mesos-cluster/mesos-ha/mesos-agent-secret");
      expect(parameter.value).toBe("${random_password.mesos-agent-password.result}");
      // The launch template carries the pool's profile (not the masters'), IMDSv2 with hop limit 1 as before.
      const [template] = Object.values(resourcesOf(json, "aws_launch_template"));
      const profile = resolveRef(json, (template.iam_instance_profile as { name: string }).name);
      expect(profile.name).toBe("mesos-ha-pool-agents");
      expect(resolveRef(json, profile.role)).toBe(poolRole);
      expect(template.metadata_options).toEqual({ http_endpoint: "enabled", http_put_response_hop_limit: 1, http_tokens: "required" });
      // The masters keep their own role, which reads the cluster's prefix (the agent secret included: they write it into their file).
      const masterRole = Object.values(roles).find((r) => r.name === "mesos-ha-machines")!;
      // Besides Session Manager's policy (aws-edges.test.ts), which no pool role has.
      const policiesOf = (tf: typeof json, role: unknown) => Object.values(resourcesOf(tf, "aws_iam_role_policy")).filter((p) => resolveRef(tf, p.role) === role).map((p) => p.name).sort();
      expect(policiesOf(json, masterRole)).toEqual(["read-cluster-secrets", "session-manager"]);
      // Exactly these two (no Session Manager): the filter above leaves out the drain's policy and nothing else.
      expect(policiesOf(json, poolRole)).toEqual(["complete-lifecycle-action", "read-pool-secrets"]);
      expect(Object.values(roles)).toHaveLength(2);
      // dev (auth off): the masters' role has Session Manager's policy only; no pool role, no parameter, and the agents' template has no profile.
      const devRoles = Object.values(resourcesOf(dev, "aws_iam_role"));
      expect(devRoles.map((r) => r.name)).toEqual(["mesos-dev-machines"]);
      expect(policiesOf(dev, devRoles[0])).toEqual(["session-manager"]);
      expect(resourcesOf(dev, "aws_ssm_parameter")).toEqual({});
      expect(Object.values(resourcesOf(dev, "aws_launch_template"))[0].iam_instance_profile).toBeUndefined();
    } else {
      const [vmss] = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"));
      const identity = vmss.identity as { type: string; identity_ids: string[] };
      expect(identity.type).toBe("UserAssigned");
      expect(identity.identity_ids).toHaveLength(1);
      const poolIdentity = resolveRef(json, identity.identity_ids[0]);
      expect(poolIdentity.name).toBe("mesos-ha-pool-agents");
      // The vault the agents read is the one whose URI Terraform writes into the scale set's user data; it is not the masters' vault.
      const vault = resolveRef(json, parseVaultUriTemplate(String(vmss.custom_data))?.vaultUri);
      const vaults = Object.values(resourcesOf(json, "azurerm_key_vault"));
      expect(vaults).toHaveLength(2);
      // The pool's identity may read its own vault only ("Key Vault Secrets User" scoped to it); the deployer writes it as it does the masters'.
      const assignments = Object.values(resourcesOf(json, "azurerm_role_assignment"));
      const poolPrincipal = identity.identity_ids[0].replace(/\.id\}$/, ".principal_id}");
      expect(assignments.filter((a) => a.principal_id === poolPrincipal).map((a) => [a.role_definition_name, resolveRef(json, a.scope)])).toEqual([["Key Vault Secrets User", vault]]);
      const onVault = assignments.filter((a) => resolveRef(json, a.scope) === vault).map((a) => a.principal_id);
      expect(onVault).toHaveLength(2);
      expect(onVault).toEqual(expect.arrayContaining([poolPrincipal, expect.stringContaining("data.azurerm_client_config")]));
      // That vault holds exactly one secret: the agent secret (a copy of the masters').
      const inVault = Object.values(resourcesOf(json, "azurerm_key_vault_secret")).filter((s) => resolveRef(json, s.key_vault_id) === vault);
      expect(inVault.map((s) => [s.name, s.value])).toEqual([["mesos-agent-secret", "${random_password.mesos-agent-password.result}"]]);
      // Key Vault names: 3-24 characters, letters, digits and single '-'.
      expect(String(vault.name).replace(/\$\{[^}]+\}/, "abcdef")).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(String(vault.name).replace(/\$\{[^}]+\}/, "abcdef").length).toBeLessThanOrEqual(24);
      // dev (auth off): no vault, no identity, no role, and the user data is a plain literal.
      for (const type of ["azurerm_key_vault", "azurerm_user_assigned_identity", "azurerm_key_vault_secret", "azurerm_role_assignment"]) expect(resourcesOf(dev, type)).toEqual({});
      const [devVmss] = Object.values(resourcesOf(dev, "azurerm_linux_virtual_machine_scale_set"));
      expect(devVmss.identity).toBeUndefined();
      expect(devVmss.custom_data).toMatch(/^[A-Za-z0-9+/]+=*$/);
    }
  });

  test("the masters require agent authentication and list the agent principal in their credentials file", () => {
    for (const m of machineDocs(json, cloud)) {
      const master = processOf(effectiveRuntime(readUserData(m.text)), "mesos-master")!;
      expect(master.flags.authenticate_agents).toEqual({ value: "true", source: "command line" });
      expect(master.flags.credentials.value).toBe("/etc/mesos/credentials.json");
      const writer = fileOf(parseCloudConfig(m.text), "/usr/local/sbin/mesos-master-credentials");
      expect(writer).toContain(`agent_secret=$(${FETCHER} mesos-agent-secret)`);
      expect(writer).toContain(`printf ',{"principal":"%s","secret":"%s"}' '${AGENT_PRINCIPAL}' "$agent_secret"`);
    }
    for (const m of machineDocs(dev, cloud)) {
      expect(processOf(effectiveRuntime(readUserData(m.text)), "mesos-master")!.flags.authenticate_agents).toBeUndefined();
      expect(m.text).not.toContain("mesos-agent-secret");
    }
  });

  test("the masters' credentials writer, run: every principal with its secret; a failed fetch writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "agent-auth-master-"));
    try {
      const stub = join(dir, "fetch");
      writeFileSync(stub, '#!/bin/bash\ncase "$1" in\n  mesos-password) printf pw-admin ;;\n  mesos-agent-secret) [ -n "${FAIL_AGENT:-}" ] && exit 1; printf pw-agent ;;\n  mesos-viewer-mesos-dns) [ -n "${FAIL_DNS:-}" ] && exit 1; printf pw-dns ;;\n  *) exit 1 ;;\nesac\n');
      chmodSync(stub, 0o755);
      const writer = fileOf(parseCloudConfig(machineDocs(json, cloud)[0].text), "/usr/local/sbin/mesos-master-credentials")
        .split(FETCHER)
        .join(stub)
        .split(SECRETS_DIR)
        .join(join(dir, "secrets"));
      expect(runBash(writer).status).toBe(0);
      const file = join(dir, "secrets", "mesos-credentials.json");
      expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
        credentials: [
          { principal: "admin", secret: "pw-admin" },
          { principal: AGENT_PRINCIPAL, secret: "pw-agent" },
          // Mesos-DNS's read-only principal (ha runs discovery "dns"; constructs/mesos-dns.ts).
          { principal: "mesos-dns", secret: "pw-dns" },
        ],
      });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      rmSync(file);
      // Never the principal with an empty secret (anyone could then authenticate as an agent).
      expect(runBash(writer, { FAIL_AGENT: "1" }).status).not.toBe(0);
      expect(existsSync(file)).toBe(false);
      expect(runBash(writer, { FAIL_DNS: "1" }).status).not.toBe(0);
      expect(existsSync(file)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("boot order: credential, then the metadata block, then Docker; the agent needs the credential and presents it", () => {
    const fetchUnit = fileOf(doc, `/etc/systemd/system/${AGENT_CREDENTIAL_UNIT}`);
    expect(unitValues(fetchUnit, "After")).toEqual(["network-online.target"]);
    expect(unitValues(fetchUnit, "Wants")).toEqual(["network-online.target"]);
    expect(unitValues(fetchUnit, "ExecStart")).toEqual([CREDENTIAL_SCRIPT]);
    expect(fetchUnit).toContain("Type=oneshot\nRemainAfterExit=yes");
    const blockUnit = fileOf(doc, `/etc/systemd/system/${IMDS_BLOCK_UNIT}`);
    // Wants, not Requires: the block loads even when the fetch failed (the agent then refuses to start).
    expect(unitValues(blockUnit, "Wants")).toEqual([AGENT_CREDENTIAL_UNIT]);
    expect(unitValues(blockUnit, "Requires")).toEqual([]);
    expect(unitValues(blockUnit, "After")).toEqual(expect.arrayContaining([AGENT_CREDENTIAL_UNIT]));
    expect(unitValues(blockUnit, "ExecStart")).toEqual([BLOCK_SCRIPT]);
    // Neither unit runs before the normal boot (cloud-init reads instance metadata before sysinit.target).
    expect(fetchUnit + blockUnit).not.toContain("DefaultDependencies=no");
    const dropIn = fileOf(doc, IMDS_BLOCK_DROP_IN);
    expect(unitValues(dropIn, "Requires")).toEqual([IMDS_BLOCK_UNIT]);
    expect(unitValues(dropIn, "After")).toEqual([IMDS_BLOCK_UNIT]);
    // The drop-in is written by write_files, before packages: docker-ce's first start already waits.
    expect(doc.raw.packages).toContain("nftables");
    const agentUnit = fileOf(doc, "/etc/systemd/system/mesos-agent.service");
    expect(unitValues(agentUnit, "Requires")).toContain("docker.service");
    expect(unitValues(agentUnit, "After")).toContain("docker.service");
    // The order as a chain of After= edges: mesos-agent > docker > block > credential > network-online.
    const after = (unit: string) => unitValues(unit, "After");
    expect(after(agentUnit)).toContain("docker.service");
    expect(after(dropIn)).toContain(IMDS_BLOCK_UNIT);
    expect(after(blockUnit)).toContain(AGENT_CREDENTIAL_UNIT);
    expect(after(fetchUnit)).toContain("network-online.target");
    expect(doc.enabledUnits).toEqual(expect.arrayContaining([AGENT_CREDENTIAL_UNIT, IMDS_BLOCK_UNIT]));
    // --credential (a path: /flags shows the path), mounted read-only from tmpfs.
    const agent = processOf(effectiveRuntime(readUserData(poolDoc(json, cloud))), "mesos-agent")!;
    expect(agent.flags.credential).toEqual({ value: AGENT_CREDENTIAL_IN_CONTAINER, source: "environment" });
    expect(agent.volumes).toContain(`${CREDENTIAL_ON_HOST}:${AGENT_CREDENTIAL_IN_CONTAINER}:ro`);
    expect(execStartOf(doc, "mesos-agent")).toContain(`${CREDENTIAL_ON_HOST}:${AGENT_CREDENTIAL_IN_CONTAINER}:ro`);
    expect(fileOf(doc, "/usr/local/sbin/mesos-agent-prestart")).toContain(`[ ! -f ${CREDENTIAL_ON_HOST} ] || [ ! -s ${CREDENTIAL_ON_HOST} ]`);
    expect(doc.files.get(FETCHER)!.permissions).toBe("0700");
    expect(fileOf(doc, CREDENTIAL_SCRIPT)).toContain(`${FETCHER} mesos-agent-secret`);
    expect(runtimeFindings(readUserData(poolDoc(json, cloud)))).toEqual([]);
    // The runtime check refuses a document whose Docker does not wait for the block.
    const broken = readUserData(poolDoc(json, cloud));
    const brokenDropIn = broken.files.find((f) => f.path === IMDS_BLOCK_DROP_IN)!;
    (brokenDropIn as { content: string }).content = brokenDropIn.content.replace(/^Requires=.*$/m, "");
    expect(runtimeFindings(broken)).toEqual([expect.objectContaining({ message: expect.stringContaining("docker.service does not require mesos-imds-block.service") })]);
    // dev: none of it.
    const devDoc = parseCloudConfig(poolDoc(dev, cloud));
    for (const path of [`/etc/systemd/system/${AGENT_CREDENTIAL_UNIT}`, `/etc/systemd/system/${IMDS_BLOCK_UNIT}`, IMDS_BLOCK_DROP_IN, FETCHER]) expect(devDoc.files.has(path)).toBe(false);
    expect(processOf(effectiveRuntime(readUserData(poolDoc(dev, cloud))), "mesos-agent")!.flags.credential).toBeUndefined();
  });

  test("no secret, and no reference to one, in the agents' user data", () => {
    const text = poolDoc(json, cloud);
    expect(text).not.toMatch(/random_password|\$\{(data|var|azurerm|aws|random)/);
    expect(text).not.toMatch(/"secret":"[^%]/);
    const pool = userDataNodes(json).find((n) => n.kind === "pool")!;
    const resource = Object.values(resourcesOf(json, cloud === "aws" ? "aws_launch_template" : "azurerm_linux_virtual_machine_scale_set"))[0];
    // The attribute is one literal (base64), no interpolation of anything the state holds; on Azure, but the URI
    // of the pool's vault, which Terraform writes into that literal (azure-vault.test.ts).
    const template = cloud === "azure" ? parseVaultUriTemplate(String(resource[pool.attribute])) : undefined;
    if (cloud === "azure") expect(template?.vaultUri).toMatch(/^\$\{azurerm_key_vault\.agents_machines_pool-vault_\w+\.vault_uri\}$/);
    expect(template?.base64 ?? String(resource[pool.attribute])).not.toContain("${");
  });

  test("every document (the agents' included) stays under half the cloud's limit, at 7 masters too", () => {
    const big = synthCluster({ cloud, profile: "ha", masterCount: 7 }).json;
    for (const n of userDataNodes(big)) expect(n.countedBytes / n.limitBytes).toBeLessThan(0.5);
  });
});

describe("the agents' boot scripts, run with a stub secret fetcher", () => {
  const doc = parseCloudConfig(poolDoc(synthCluster({ cloud: "aws", profile: "ha" }).json, "aws"));
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "agent-auth-agent-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The shipped script with the fetcher and the secrets directory moved into the test's directory. */
  function local(path: string): string {
    const stub = join(dir, "fetch");
    writeFileSync(stub, '#!/bin/bash\n[ "$1" = mesos-agent-secret ] && [ -z "${FAIL:-}" ] && printf s3cr3t-agent && exit 0\nexit 1\n');
    chmodSync(stub, 0o755);
    return fileOf(doc, path).split(FETCHER).join(stub).split(SECRETS_DIR).join(join(dir, "secrets"));
  }

  test("the credential: JSON the agent reads, root-only, kept once written; a failed fetch writes nothing", () => {
    const file = join(dir, "secrets", AGENT_CREDENTIAL_FILE);
    expect(runBash(local(CREDENTIAL_SCRIPT), { FAIL: "1" }).status).not.toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(runBash(local(CREDENTIAL_SCRIPT)).status).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ principal: AGENT_PRINCIPAL, secret: "s3cr3t-agent" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "secrets")).mode & 0o777).toBe(0o700);
    // A second run (the metadata service is closed by then) keeps the file and reads nothing.
    expect(runBash(local(CREDENTIAL_SCRIPT), { FAIL: "1" }).status).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8")).secret).toBe("s3cr3t-agent");
  });

  test("the agent refuses to start without the file, with an empty one, or with a directory in its place", () => {
    const prestart = local("/usr/local/sbin/mesos-agent-prestart");
    const check = /^if \[ ! -f [\s\S]*?\nfi$/m.exec(prestart)![0];
    const file = join(dir, "secrets", AGENT_CREDENTIAL_FILE);
    mkdirSync(join(dir, "secrets"));
    const missing = runBash(check);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("the agent does not start without it");
    writeFileSync(file, "");
    expect(runBash(check).status).toBe(1);
    rmSync(file);
    // What docker run -v makes of a missing source.
    mkdirSync(file);
    expect(runBash(check).status).toBe(1);
    rmSync(file, { recursive: true });
    writeFileSync(file, '{"principal":"mesos-agent","secret":"x"}');
    expect(runBash(check).status).toBe(0);
  });
});

describe("library", () => {
  const KEY = TEST_SSH_KEY;
  const stack = () => new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");
  const creds = { username: "admin", password: "a-long-enough-password-1" };
  const agent = { username: "mesos-agent", password: "another-long-password-2" };
  function cluster(s: TerraformStack, cloud: Cloud, props: Partial<ConstructorParameters<typeof MesosMasterGroup>[2]>): MesosMasterGroup {
    const target = cloud === "aws" ? new AwsTarget(s, "aws", { clusterName: "lib", sshPublicKey: KEY }) : new AzureTarget(s, "azure", { clusterName: "lib", sshPublicKey: KEY });
    const nodes = new NodeGroup(s, "masters", { target, count: 3, vmSize: cloud === "aws" ? "t3.large" : "Standard_D2s_v5" });
    const zookeeper = new ZookeeperEnsemble(s, "zk", { nodes });
    return new MesosMasterGroup(s, "mesos", { nodes, zookeeper, ...props });
  }

  test("refusals: agent credentials without the credentials file, a principal taken, a requirement without credentials, a managed flag", () => {
    expect(() => cluster(stack(), "aws", { agentCredentials: agent })).toThrow(
      'lib/mesos: invalid agentCredentials "mesos-agent"; allowed: agent credentials together with credentials (the masters\' credentials file carries both)',
    );
    expect(() => cluster(stack(), "aws", { credentials: creds, agentCredentials: { ...agent, username: "admin" } })).toThrow(
      'lib/mesos: invalid agentCredentials.username "admin"; allowed: a principal other than admin (credentials and frameworkCredentials)',
    );
    expect(() => cluster(stack(), "aws", { credentials: creds, agentCredentials: { ...agent, password: "short" } })).toThrow("lib/mesos: invalid agentCredentials.password");
    expect(() => cluster(stack(), "aws", { credentials: creds, requireAgentAuthentication: true })).toThrow(
      "lib/mesos: invalid requireAgentAuthentication true; allowed: false or unset without agentCredentials (no agent could register)",
    );
    const s = stack();
    const m = cluster(s, "aws", { credentials: creds, agentCredentials: agent });
    expect(() => new MesosAgentPool(s, "agents", { target: m.nodes.target, masters: m, count: 1, vmSize: "t3.large", extraFlags: { credential: "/tmp/x" } })).toThrow(
      "lib/agents: invalid extraFlags",
    );
  });

  test("accept without requiring (the first step on a running cluster): principal in the file, no authenticate_agents, agents present it", () => {
    for (const cloud of ["aws", "azure"] as Cloud[]) {
      const s = stack();
      const m = cluster(s, cloud, { credentials: creds, agentCredentials: agent, requireAgentAuthentication: false });
      const pool = new MesosAgentPool(s, "agents", { target: m.nodes.target, masters: m, count: 1, vmSize: cloud === "aws" ? "t3.large" : "Standard_D2s_v5" });
      expect(m.flagsFor("10.0.0.4").authenticate_agents).toBeUndefined();
      expect(m.flagsFor("10.0.0.4").credentials).toBe("/etc/mesos/credentials.json");
      expect(pool.authenticatesToMasters).toBe(true);
      expect(pool.environment().MESOS_CREDENTIAL).toBe(AGENT_CREDENTIAL_IN_CONTAINER);
      // Two pools of the same masters: each its own identity, each reading the one secret.
      new MesosAgentPool(s, "gpu", { name: "gpu", target: m.nodes.target, masters: m, count: 1, vmSize: cloud === "aws" ? "t3.large" : "Standard_D2s_v5" });
      const json = synthStack(s);
      if (cloud === "aws") expect(Object.values(resourcesOf(json, "aws_iam_role")).map((r) => r.name).sort()).toEqual(["lib-machines", "lib-pool-agents", "lib-pool-gpu"]);
      else expect(Object.values(resourcesOf(json, "azurerm_user_assigned_identity")).map((r) => r.name).sort()).toEqual(["lib-machines", "lib-pool-agents", "lib-pool-gpu"]);
    }
  });

  test("the stack's agentAuthentication: accept keeps the principal and drops the requirement; anything else is refused", () => {
    const { json } = synthCluster({ cloud: "aws", profile: "ha", agentAuthentication: "accept" });
    const master = processOf(effectiveRuntime(readUserData(machineDocs(json, "aws")[0].text)), "mesos-master")!;
    expect(master.flags.authenticate_agents).toBeUndefined();
    expect(fileOf(parseCloudConfig(machineDocs(json, "aws")[0].text), "/usr/local/sbin/mesos-master-credentials")).toContain(`'${AGENT_PRINCIPAL}' "$agent_secret"`);
    expect(processOf(effectiveRuntime(readUserData(poolDoc(json, "aws"))), "mesos-agent")!.flags.credential.value).toBe(AGENT_CREDENTIAL_IN_CONTAINER);
    expect(() => synthCluster({ cloud: "aws", profile: "ha", agentAuthentication: "maybe" as never })).toThrow('invalid agentAuthentication "maybe"');
  });

  test("the knob: CLUSTER_HA_AGENT_AUTHENTICATION reaches the ha stack; a wrong value names the variable", () => {
    const root = mkdtempSync(join(tmpdir(), "agent-auth-knob-"));
    const env = { CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, CLUSTER_CONFIG: "" };
    expect(loadAppConfig({ env: { ...env, CLUSTER_HA_AGENT_AUTHENTICATION: "accept" }, cwd: root, homeDir: root }).stacks.ha.agentAuthentication).toBe("accept");
    const config = loadAppConfig({ env: { ...env, CLUSTER_AGENT_AUTHENTICATION: "maybe" }, cwd: root, homeDir: root });
    expect(() => buildApp({ config, outdir: join(root, "out") })).toThrow('ha: invalid agentAuthentication "maybe" (from CLUSTER_AGENT_AUTHENTICATION); allowed: "accept", "require"');
    rmSync(root, { recursive: true, force: true });
  });
});

// ---------------------------------------------------------------------------
// The metadata block in a real nftables.

const NETNS_NFT = netnsTool("imdsprobe", { name: "python3", debianPackage: "python3", check: "python3 -c 'import socket; socket.AF_PACKET'" });

/**
 * Sends one hand-built UDP frame to 169.254.169.254 through an AF_PACKET
 * socket (what a host-network task with Docker's default CAP_NET_RAW can do),
 * then a control frame to the gateway through a plain one, for each line it
 * reads. A line's fields: device, destination MAC, source IP, socket type
 * (raw|dgram), protocol the socket is bound to (hex), qdisc bypass (0|1),
 * VLAN tag (0|1).
 */
const SEND_FRAME = String.raw`
import socket, struct, sys
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return (~t) & 0xffff
def ipv4(dst):
    udp = struct.pack("!HHHH", 40000, 40999, 8 + 5, 0) + b"probe"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + udp
def send(dev, mac, src_ip, kind, proto, bypass, vlan):
    global src
    src, mac, proto, bypass, vlan = src_ip, bytes.fromhex(mac.replace(":", "")), int(proto, 16), bypass == "1", vlan == "1"
    own = open("/sys/class/net/%s/address" % dev).read().strip().replace(":", "")
    head = mac + bytes.fromhex(own)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW if kind == "raw" else socket.SOCK_DGRAM, socket.htons(proto))
    if bypass:
        s.setsockopt(263, 20, 1)  # SOL_PACKET, PACKET_QDISC_BYPASS
    s.bind((dev, proto))
    inner = (b"\x00\x05\x08\x00" if vlan else b"") + ipv4("169.254.169.254")
    try:
        if kind == "raw":
            s.send(head + (b"\x81\x00" if vlan else b"\x08\x00") + inner)
        else:
            s.sendto(inner, (dev, 0x8100 if vlan else proto, 0, 0, mac))
        result = "sent"
    except OSError as e:
        result = "refused errno %d" % e.errno
    s.close()
    c = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    c.bind((dev, 0))
    c.send(head + b"\x08\x00" + ipv4("10.20.16.1"))
    c.close()
    return result
# One process for every frame of a test (a python start per frame cost most of this file's CPU):
# a line of arguments in, a line out per frame; sockets are made anew for each, so rules loaded
# between two frames apply to the second.
for line in sys.stdin:
    print(send(*line.split()), flush=True)
`;

describeWithTool(NETNS_NFT, "the metadata block in a real nftables (network namespaces)", () => {
  const id = `${process.pid % 10000}`;
  const ns = { cloud: `imc${id}`, agent: `ima${id}`, task: `imt${id}`, bare: `imb${id}` };
  let dir: string;
  let server: ChildProcess | undefined;
  let blockScript: string;
  let gatewayMac: string;

  /** Frames that reached the cloud's side, per destination, as its ingress counters say. */
  function arrived(): { imds: number; control: number } {
    const out = sh(`ip netns exec ${ns.cloud} nft list chain netdev probe in`);
    const count = (comment: string) =>
      [...out.matchAll(new RegExp(`counter packets (\\d+) bytes \\d+ comment "${comment}"`, "g"))].reduce((sum, m) => sum + Number(m[1]), 0);
    return { imds: count("imds"), control: count("control") };
  }

  /** The frame sender (SEND_FRAME) in the agent's namespace, started on first use: one frame per call, its answer line. */
  let sender: { send(line: string): Promise<string>; stop(): void } | undefined;
  function frameSender(): NonNullable<typeof sender> {
    if (sender) return sender;
    const [cmd, ...args] = [...AS_ROOT, "ip", "netns", "exec", ns.agent, "python3", join(dir, "send.py")];
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (c) => (stderr += c));
    const waiting: { resolve(line: string): void; reject(e: Error): void }[] = [];
    createInterface({ input: child.stdout! }).on("line", (line) => waiting.shift()?.resolve(line));
    child.on("exit", (code) => {
      for (const w of waiting.splice(0)) w.reject(new Error(`the frame sender exited (${code}): ${stderr}`));
    });
    sender = {
      send: (line) =>
        new Promise((resolve, reject) => {
          waiting.push({ resolve, reject });
          child.stdin!.write(`${line}\n`);
        }),
      stop: () => child.kill(),
    };
    return sender;
  }

  /** Sends a probe frame from the agent's namespace; waits for its control frame; says whether the probe arrived. */
  async function frameArrives(variant: { kind: "raw" | "dgram"; proto: string; bypass: 0 | 1; vlan: 0 | 1 }): Promise<boolean> {
    const before = arrived();
    expect(await frameSender().send(`ens5 ${gatewayMac} 10.20.16.4 ${variant.kind} ${variant.proto} ${variant.bypass} ${variant.vlan}`)).toMatch(/^(sent|refused errno \d+)$/);
    // The control frame left after the probe on the same device: once it is counted, the probe would have been too.
    for (let i = 0; i < 50 && arrived().control === before.control; i++) await new Promise((r) => setTimeout(r, 100));
    const after = arrived();
    expect(after.control).toBe(before.control + 1);
    return after.imds > before.imds;
  }

  const VARIANTS = [
    ...(["0", "0800", "1234", "86dd"] as const).flatMap((proto) =>
      ([0, 1] as const).flatMap((bypass) => ([0, 1] as const).map((vlan) => ({ kind: "raw" as const, proto, bypass, vlan }))),
    ),
    ...([0, 1] as const).flatMap((bypass) => ([0, 1] as const).map((vlan) => ({ kind: "dgram" as const, proto: "0800", bypass, vlan }))),
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "imds-block-"));
    writeFileSync(join(dir, "send.py"), SEND_FRAME);
    // The block script exactly as the ha stack ships it to the agents.
    blockScript = fileOf(parseCloudConfig(poolDoc(synthCluster({ cloud: "azure", profile: "ha" }).json, "azure")), BLOCK_SCRIPT);
    writeFileSync(join(dir, "block.sh"), blockScript);
    writeFileSync(join(dir, "rules.nft"), imdsBlockRules(["ens5"]));
    sh(`
      for n in ${Object.values(ns).join(" ")}; do ip netns add "$n"; ip -n "$n" link set lo up; done
      # The cloud: the subnet's gateway and the metadata service on one link; a route back to the bridge network.
      ip link add ens5 netns ${ns.agent} type veth peer name eth0 netns ${ns.cloud}
      ip -n ${ns.cloud} addr add 10.20.16.1/24 dev eth0 && ip -n ${ns.cloud} addr add 169.254.169.254/32 dev eth0 && ip -n ${ns.cloud} link set eth0 up
      ip -n ${ns.cloud} route add 172.17.0.0/16 via 10.20.16.4
      ip netns exec ${ns.cloud} nft -f - <<'EOF'
table netdev probe {
  chain in {
    type filter hook ingress device "eth0" priority 0; policy accept;
    @ll,240,32 0xa9fea9fe @ll,288,16 40999 counter comment "imds"
    @ll,272,32 0xa9fea9fe @ll,320,16 40999 counter comment "imds"
    @ll,240,32 0x0a141001 @ll,288,16 40999 counter comment "control"
  }
}
EOF
      # The agent: its uplink ens5 with the default route, forwarding, a docker0-like bridge with a task behind it.
      ip -n ${ns.agent} addr add 10.20.16.4/24 dev ens5 && ip -n ${ns.agent} link set ens5 up && ip -n ${ns.agent} route add default via 10.20.16.1
      ip netns exec ${ns.agent} sysctl -qw net.ipv4.ip_forward=1
      ip -n ${ns.agent} link add docker0 type bridge && ip -n ${ns.agent} addr add 172.17.0.1/16 dev docker0 && ip -n ${ns.agent} link set docker0 up
      ip link add vtask netns ${ns.agent} type veth peer name eth0 netns ${ns.task}
      ip -n ${ns.agent} link set vtask master docker0 up
      ip -n ${ns.task} addr add 172.17.0.2/16 dev eth0 && ip -n ${ns.task} link set eth0 up && ip -n ${ns.task} route add default via 172.17.0.1
    `);
    gatewayMac = sh(`ip netns exec ${ns.cloud} cat /sys/class/net/eth0/address`).trim();
    // The metadata service (and the gateway) answering TCP 80.
    server = await listenIn(ns.cloud, [80]);
  }, 30000);

  afterAll(() => {
    server?.kill();
    sender?.stop();
    deleteNamespaces(Object.values(ns));
    rmSync(dir, { recursive: true, force: true });
  });

  // Ordered: the probes first prove they can see the service, then the block closes it.
  test("before the block: the host, a bridge container and raw frames all reach 169.254.169.254 (the probes work)", async () => {
    expect(await reaches(ns.agent, "169.254.169.254", 80)).toBe(true);
    expect(await reaches(ns.task, "169.254.169.254", 80)).toBe(true);
    for (const v of VARIANTS.filter((x) => x.vlan === 0)) expect([v, await frameArrives(v)]).toEqual([v, true]);
    // Tagged frames reach the wire too (whether a cloud would answer them is the cloud's business).
    expect(await frameArrives({ kind: "raw", proto: "0", bypass: 0, vlan: 1 })).toBe(true);
  }, 60000);

  test("the shipped script finds the uplink by the default route and loads what imdsBlockRules renders; loading twice works", () => {
    sh(`ip netns exec ${ns.agent} bash ${join(dir, "block.sh")} && ip netns exec ${ns.agent} bash ${join(dir, "block.sh")}`);
    const list = () => sh(`ip netns exec ${ns.agent} nft -s list table inet mesos_cluster_imds; ip netns exec ${ns.agent} nft -s list table netdev mesos_cluster_imds_egress`);
    const loaded = list();
    expect(loaded).toContain('device "ens5"');
    expect(loaded).not.toContain("docker0");
    sh(`ip netns exec ${ns.agent} nft -f ${join(dir, "rules.nft")}`);
    expect(list()).toBe(loaded);
  });

  test("after the block: neither the host nor a bridge container reaches it, and no raw frame leaves for it; other traffic flows", async () => {
    expect(await reaches(ns.agent, "169.254.169.254", 80)).toBe(false);
    expect(await reaches(ns.task, "169.254.169.254", 80)).toBe(false);
    for (const v of VARIANTS) expect([v, await frameArrives(v)]).toEqual([v, false]);
    // The gateway (everything but the metadata service) still answers, from the host and from the task.
    expect(await reaches(ns.agent, "10.20.16.1", 80)).toBe(true);
    expect(await reaches(ns.task, "10.20.16.1", 80)).toBe(true);
    const counters = sh(`ip netns exec ${ns.agent} nft list ruleset`);
    expect(counters).toMatch(/chain output \{[^}]*ip daddr 169\.254\.169\.254 counter packets [1-9]\d* bytes \d+ reject/);
    expect(counters).toMatch(/chain forward \{[^}]*ip daddr 169\.254\.169\.254 counter packets [1-9]\d* bytes \d+ reject/);
    expect(counters).toMatch(/@nh,128,32 0xa9fea9fe counter packets [1-9]\d* bytes \d+ drop/);
  }, 60000);

  test("without an uplink the script fails, so Docker (which requires it) stays down", () => {
    const [cmd, ...args] = [...AS_ROOT, "ip", "netns", "exec", ns.bare, "bash", join(dir, "block.sh")];
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("no uplink found");
  });
});
