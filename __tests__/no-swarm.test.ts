/**
 * The profile without classic Swarm (issue 17, item 2): with `swarm: false`
 * and `auth`, the masters authenticate every framework (v0 CRAM-MD5,
 * `authenticate_frameworks`), Marathon registers with its own principal and a
 * secret file written at boot, nothing of Swarm is rendered, and the agents'
 * Docker engines do not listen on TCP. Swarm next to such masters is refused:
 * it sends no framework credential.
 */
import { mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack } from "cdktf";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { loadOutputs, parseSmokeArgs, resolveEndpoints } from "../scripts/lib/smoke";
import { AzureTarget, HttpCredentials, MarathonService, MesosMasterGroup, NodeGroup, SwarmManager, ZookeeperEnsemble } from "../constructs";
import { SWARM_ENGINE_DROP_IN } from "../constructs/swarm-manager";
import { effectiveRuntime, processOf, runtimeFindings } from "../scripts/lib/effective-runtime";
import { documentsOf, loadFlagReference, validateDocuments, VENDORED_FLAGS_PATH } from "../scripts/lib/validate-user-data";
import { readUserData } from "../scripts/lib/user-data-model";
import { Cloud, execStartOf, fileOf, machineDocs, parseCloudConfig, poolDoc, synthCluster, TEST_SSH_KEY } from "./helpers/synth";

describe.each(["azure", "aws"] as Cloud[])("%s ha without Swarm", (cloud) => {
  const { stack, json } = synthCluster({ cloud, profile: "ha", swarm: false });

  test("the masters authenticate every framework; Marathon registers with its principal and a secret file", () => {
    expect(stack.swarm).toBeUndefined();
    for (const m of machineDocs(json, cloud)) {
      const runtime = effectiveRuntime(readUserData(m.text));
      const master = processOf(runtime, "mesos-master")!;
      expect(master.flags.authenticate_frameworks).toEqual({ value: "true", source: "command line" });
      expect(master.flags.authenticate_http_frameworks.value).toBe("true");
      const marathon = processOf(runtime, "marathon")!;
      expect(marathon.flags.mesos_authentication).toEqual({ value: "", source: "command line" });
      expect(marathon.flags.mesos_authentication_principal.value).toBe("marathon");
      expect(marathon.flags.mesos_authentication_secret_file.value).toBe("/etc/marathon/mesos-secret");
      expect(marathon.volumes).toContain("/run/mesos-cluster/secrets/marathon-mesos-secret:/etc/marathon/mesos-secret:ro");
      const doc = parseCloudConfig(m.text);
      // The credentials file names both principals; each secret comes from the secret store at boot.
      const writer = fileOf(doc, "/usr/local/sbin/mesos-master-credentials");
      expect(writer).toContain("framework_secret_0=$(/usr/local/sbin/fetch-cluster-secret ");
      expect(writer).toContain(`printf ',{"principal":"%s","secret":"%s"}' 'marathon' "$framework_secret_0"`);
      const secret = fileOf(doc, "/usr/local/sbin/marathon-mesos-secret");
      expect(secret).toContain("umask 077");
      expect(secret).toContain(`printf '%s' "$secret" > /run/mesos-cluster/secrets/marathon-mesos-secret`);
      // Nothing of Swarm on the masters.
      expect(doc.files.has("/etc/systemd/system/swarm-manager.service")).toBe(false);
      expect(runtimeFindings(readUserData(m.text))).toEqual([]);
    }
    expect(Object.keys(json.output)).not.toEqual(expect.arrayContaining(["docker_host"]));
    expect(json.output.swarm.value).toBe("off");
    // No secret value is in the synthesized user data: only the commands that fetch them.
    expect(JSON.stringify(machineDocs(json, cloud).map((m) => m.text))).not.toMatch(/random_password\.|"secret":"[A-Za-z0-9]{16,}"/);
  });

  test("the agents' engines do not listen on TCP: no Swarm drop-in, no engine firewall needed", () => {
    const doc = parseCloudConfig(poolDoc(json, cloud));
    expect(doc.files.has(SWARM_ENGINE_DROP_IN)).toBe(false);
    const runtime = effectiveRuntime(readUserData(poolDoc(json, cloud)));
    expect(runtime.engine.tcpPorts).toEqual([]);
    expect(processOf(runtime, "mesos-agent")!.flags.attributes).toBeUndefined();
    expect(runtimeFindings(readUserData(poolDoc(json, cloud)))).toEqual([]);
    expect(execStartOf(doc, "mesos-agent")).toContain("mesosphere/mesos-slave:1.7.1");
  });

  test("every document passes the flags and runtime checks of npm run validate", async () => {
    const reports = await validateDocuments(documentsOf("ha", json), {
      flags: loadFlagReference(VENDORED_FLAGS_PATH),
      skip: ["schema", "shellcheck", "systemd"],
    });
    expect(reports.flatMap((r) => r.findings)).toEqual([]);
  });
});

test("npm run smoke leaves the Swarm step out for a stack without Swarm (its outputs say swarm = off)", async () => {
  const outdir = mkdtempSync(join(tmpdir(), "no-swarm-smoke-"));
  const app = new App({ outdir });
  new MesosClusterStack(app, "ha", { profile: "ha", auth: false, swarm: false, sshPublicKey: TEST_SSH_KEY });
  app.synth();
  const options = parseSmokeArgs(["ha", "--synth-dir", outdir, "--terraform", "none"], {});
  const { endpoints } = resolveEndpoints(options, () => loadOutputs(options));
  expect(endpoints.swarm).toBeUndefined();
  expect(endpoints.mesos).toHaveLength(3);
});

test("without Swarm an agent engine beyond 25.0 is accepted (nothing speaks API 1.15 to it)", () => {
  const { json } = synthCluster({ cloud: "aws", profile: "ha", swarm: false, agentDockerEngineVersion: "27.5.1" });
  expect(effectiveRuntime(readUserData(poolDoc(json, "aws"))).engine).toMatchObject({ version: "27.5.1", minApi: "1.24", tcpPorts: [] });
});

describe("refusals", () => {
  const cred = (username: string): HttpCredentials => ({ username, password: "p".repeat(24) });
  function masters(stack: TerraformStack, frameworkCredentials?: HttpCredentials[], credentials?: HttpCredentials): MesosMasterGroup {
    const target = new AzureTarget(stack, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY });
    const nodes = new NodeGroup(stack, "masters", { target, count: 3, vmSize: "Standard_D2s_v5" });
    const zookeeper = new ZookeeperEnsemble(stack, "zk", { nodes });
    return new MesosMasterGroup(stack, "mesos", { nodes, zookeeper, credentials, frameworkCredentials });
  }
  const stack = () => new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");

  test("Swarm next to masters that authenticate frameworks", () => {
    const s = stack();
    const m = masters(s, [cred("marathon")], cred("admin"));
    expect(() => new SwarmManager(s, "swarm", { masters: m })).toThrow(
      'lib/swarm: invalid masters "lib/mesos"; allowed: masters that do not authenticate frameworks: classic Swarm 1.2.8 registers with no credential',
    );
  });

  test("Marathon without a principal, or with one the masters do not know", () => {
    const s = stack();
    const m = masters(s, [cred("marathon")], cred("admin"));
    expect(() => new MarathonService(s, "marathon", { masters: m })).toThrow("lib/marathon: invalid mesosAuthentication (undefined); allowed: a principal and secret: the masters authenticate frameworks (marathon)");
    expect(() => new MarathonService(s, "marathon2", { masters: m, mesosAuthentication: cred("chronos"), httpPort: 8081, schedulerPort: 15102 })).toThrow(
      'lib/marathon2: invalid mesosAuthentication.username "chronos"; allowed: a principal the masters accept: marathon',
    );
  });

  test("framework credentials without the masters' credentials file, or a principal twice", () => {
    expect(() => masters(stack(), [cred("marathon")])).toThrow('lib/mesos: invalid frameworkCredentials ["marathon"]; allowed: framework credentials together with credentials');
    expect(() => masters(stack(), [cred("admin")], cred("admin"))).toThrow('lib/mesos: invalid frameworkCredentials ["admin","admin"]; allowed: principals distinct');
  });

  test("internetIngress of the Swarm API while Swarm is off", () => {
    expect(() => synthCluster({ cloud: "azure", profile: "ha", swarm: false, internetIngress: ["swarm"] })).toThrow(
      'ha: invalid internetIngress ["swarm"]; allowed: services this stack runs: Swarm is off (swarm: false)',
    );
  });
});
