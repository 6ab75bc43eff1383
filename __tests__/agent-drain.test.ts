/**
 * Agents leave gracefully (issue 15): before the cloud removes a pool
 * member, a unit on the agent sees the cloud's notice, puts its machine in
 * Mesos maintenance and brings it down, waits up to a bound for Marathon to
 * run the apps it had elsewhere, then completes the AWS lifecycle action or
 * acknowledges the Azure event.
 *
 * Proved here: the Terraform JSON per cloud (the hook and its exact IAM
 * policy, the terminate notification, the masters' ACL, none of it in dev),
 * the decoded user data (unit, program, the metadata block's exception), the
 * library's props and refusals, the program exactly as shipped run for real
 * against local fakes of IMDS, Scheduled Events, the Mesos masters (a
 * follower that redirects to the leader) and the Auto Scaling API, its SigV4
 * signer against AWS's published test vector, and the metadata block's
 * exception in a real nftables: the program's own process reaches the
 * metadata service, the host's other processes do not.
 */
import { ChildProcess, execFile, spawn, spawnSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { IncomingMessage } from "http";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack } from "cdktf";
import { AwsTarget, AzureTarget, MesosAgentPool, MesosMasterGroup, NodeGroup, ZookeeperEnsemble } from "../constructs";
import { AGENT_DRAIN_SCRIPT, AGENT_DRAIN_UNIT } from "../constructs/core/agent-drain";
import { AGENT_DRAIN_CLASSID } from "../constructs/core/agent-http-auth";
import { effectiveRuntime, processOf } from "../scripts/lib/effective-runtime";
import { PYTHON3 } from "../scripts/lib/tools";
import { readUserData } from "../scripts/lib/user-data-model";
import { AS_ROOT, deleteNamespaces, netnsTool, reaches, sh } from "./helpers/netns";
import { Cloud, fileOf, machineDocs, parseCloudConfig, poolDoc, resolveRef, resourcesOf, synthCluster, synthStack, TEST_SSH_KEY, TfJson } from "./helpers/synth";
import { closeFakes, reply, serveFake } from "./helpers/http-fake";
import { describeWithTool } from "./helpers/tools";
import { loadAppConfig } from "../stacks/config";
import { userDataNodes } from "../scripts/lib/synth-output";

const BLOCK_SCRIPT = "/usr/local/sbin/mesos-imds-block";
const MAINTENANCE = ["get_maintenance_schedules", "update_maintenance_schedules", "start_maintenances", "stop_maintenances"];

/** A resource's attributes without cdktf's metadata. */
function attributes(resource: Record<string, unknown>): Record<string, unknown> {
  const { "//": _meta, ...rest } = resource;
  return rest;
}

/** The masters' `--acls`, parsed, from each master's document. */
function mastersAcls(json: TfJson, cloud: Cloud): Record<string, unknown[]>[] {
  return machineDocs(json, cloud).map((m) => JSON.parse(processOf(effectiveRuntime(readUserData(m.text)), "mesos-master")!.flags.acls.value));
}

/** The drain program exactly as an agent of the ha stack receives it, in a file. */
function shippedDrain(cloud: Cloud): string {
  const path = join(mkdtempSync(join(tmpdir(), "agent-drain-")), "mesos-agent-drain.py");
  writeFileSync(path, fileOf(parseCloudConfig(poolDoc(synthCluster({ cloud, profile: "ha" }).json, cloud)), AGENT_DRAIN_SCRIPT));
  return path;
}

describe.each(["aws", "azure"] as Cloud[])("%s", (cloud) => {
  const { json } = synthCluster({ cloud, profile: "ha" });
  const { json: dev } = synthCluster({ cloud, profile: "dev" });
  const doc = parseCloudConfig(poolDoc(json, cloud));

  test("ha: the cloud waits for each agent's drain (AWS: hook and CompleteLifecycleAction on exactly this group; Azure: terminate notification)", () => {
    if (cloud === "aws") {
      const [group] = Object.values(resourcesOf(json, "aws_autoscaling_group"));
      const hooks = Object.values(resourcesOf(json, "aws_autoscaling_lifecycle_hook"));
      expect(hooks.map(attributes)).toEqual([
        { name: "drain", autoscaling_group_name: expect.stringMatching(/^\$\{aws_autoscaling_group\.\w+\.name\}$/), lifecycle_transition: "autoscaling:EC2_INSTANCE_TERMINATING", heartbeat_timeout: 660, default_result: "CONTINUE" },
      ]);
      expect(resolveRef(json, hooks[0].autoscaling_group_name)).toBe(group);
      // A destroy terminates the agents through the hook: Terraform waits the 11 minutes plus its default 10.
      expect(group.timeouts).toEqual({ delete: "21m" });
      const poolRole = Object.values(resourcesOf(json, "aws_iam_role")).find((r) => r.name === "mesos-ha-pool-agents")!;
      const policies = Object.values(resourcesOf(json, "aws_iam_role_policy")).filter((p) => resolveRef(json, p.role) === poolRole);
      expect(policies.map((p) => p.name).sort()).toEqual(["complete-lifecycle-action", "read-pool-secrets"]);
      const drain = JSON.parse(String(policies.find((p) => p.name === "complete-lifecycle-action")!.policy));
      expect(drain).toEqual({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "autoscaling:CompleteLifecycleAction", Resource: expect.stringMatching(/^\$\{aws_autoscaling_group\.\w+\.arn\}$/) }] });
      expect(resolveRef(json, drain.Statement[0].Resource)).toBe(group);
      // No other role may touch the group's lifecycle.
      const others = Object.values(resourcesOf(json, "aws_iam_role_policy")).filter((p) => p.name !== "complete-lifecycle-action");
      for (const p of others) expect(String(p.policy)).not.toContain("autoscaling:");
    } else {
      const [vmss] = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"));
      expect(vmss.termination_notification).toEqual({ enabled: true, timeout: "PT11M" });
    }
  });

  test("ha: the masters let the agents' principal do maintenance and nothing else it was denied; Mesos-DNS's principal still may not", () => {
    const all = mastersAcls(json, cloud);
    expect(all).toHaveLength(3);
    for (const acls of all) {
      for (const action of MAINTENANCE) expect(acls[action][0]).toEqual({ principals: { values: ["mesos-agent"] }, machines: { type: "ANY" } });
      for (const action of MAINTENANCE.slice(1)) expect(acls[action].slice(1)).toEqual([{ principals: { values: ["mesos-dns"] }, machines: { type: "NONE" } }]);
      expect(acls.get_maintenance_schedules).toHaveLength(1);
      // Every other denial of the agents' principal stays.
      expect(acls.register_frameworks[0]).toEqual({ principals: { values: ["mesos-agent", "mesos-dns"] }, roles: { type: "NONE" } });
      expect(acls.mark_agents_gone).toEqual([{ principals: { values: ["mesos-agent", "mesos-dns"] }, agents: { type: "NONE" } }]);
      expect(acls.teardown_frameworks).toEqual([{ principals: { values: ["mesos-agent", "mesos-dns"] }, framework_principals: { type: "NONE" } }]);
    }
  });

  test("ha: every agent runs the drain unit; the program carries the masters, the bound and the cloud's notice; the metadata block admits its class only", () => {
    const unit = fileOf(doc, `/etc/systemd/system/${AGENT_DRAIN_UNIT}`);
    expect(unit.split("\n").filter((l) => /^(ExecStart|Restart|RestartSec|RestartPreventExitStatus|WantedBy)=/.test(l))).toEqual([
      `ExecStart=/usr/bin/python3 ${AGENT_DRAIN_SCRIPT}`,
      "Restart=on-failure",
      "RestartSec=10",
      "RestartPreventExitStatus=3",
      "WantedBy=multi-user.target",
    ]);
    expect(doc.runcmd).toContainEqual(expect.arrayContaining(["systemctl", "enable", "--now", AGENT_DRAIN_UNIT]));
    expect(doc.files.get(AGENT_DRAIN_SCRIPT)?.permissions).toBe("0700");
    const program = fileOf(doc, AGENT_DRAIN_SCRIPT);
    const masters = machineDocs(json, cloud).map((m) => `http://${m.privateIp}:5050`);
    expect(program).toContain(`MASTERS = E("MESOS_DRAIN_MASTERS", "${masters.join(" ")}").split()`);
    expect(program).toContain('TIMEOUT = float(E("MESOS_DRAIN_TIMEOUT", "600"))');
    expect(program).toContain('FRAMEWORKS = ["marathon"]');
    if (cloud === "aws") {
      expect(program).toContain('"AutoScalingGroupName": "mesos-ha-agents"');
      expect(program).toContain('"LifecycleHookName": "drain"');
      expect(program).toContain("https://autoscaling.eu-west-1.amazonaws.com");
      expect(program).not.toContain("scheduledevents");
    } else {
      expect(program).toContain("/metadata/scheduledevents?api-version=2020-07-01");
      expect(program).not.toContain("autoscaling");
    }
    const block = fileOf(doc, BLOCK_SCRIPT);
    expect(block).toContain(`'    meta cgroup ${AGENT_DRAIN_CLASSID} ip daddr 169.254.169.254 tcp dport 80 counter accept'`);
    expect(block).toContain(`'    meta cgroup ${AGENT_DRAIN_CLASSID} @nh,128,32 0xa9fea9fe counter accept'`);
  });

  test("dev (agents without a credential): no drain, no hook or notification, no maintenance ACL", () => {
    expect(resourcesOf(dev, "aws_autoscaling_lifecycle_hook")).toEqual({});
    for (const vmss of Object.values(resourcesOf(dev, "azurerm_linux_virtual_machine_scale_set"))) expect(vmss.termination_notification).toBeUndefined();
    const devDoc = parseCloudConfig(poolDoc(dev, cloud));
    expect(devDoc.files.has(AGENT_DRAIN_SCRIPT)).toBe(false);
    expect(devDoc.files.has(`/etc/systemd/system/${AGENT_DRAIN_UNIT}`)).toBe(false);
    for (const acls of mastersAcls(dev, cloud)) for (const action of MAINTENANCE) expect(acls[action]).toBeUndefined();
  });
});

describe("the stack's knob agentDrainSeconds (CLUSTER_AGENT_DRAIN_SECONDS, stacks.<stack>.agentDrainSeconds)", () => {
  test("a bound of its own on every pool, the edge pool included: AWS hooks and the group's delete timeout follow it", () => {
    const { json } = synthCluster({ cloud: "aws", profile: "ha", discovery: "dns+lb", agentDrainSeconds: 900 });
    const hooks = Object.values(resourcesOf(json, "aws_autoscaling_lifecycle_hook"));
    expect(hooks.map((h) => [h.autoscaling_group_name, h.heartbeat_timeout])).toEqual([
      [expect.stringMatching(/^\$\{aws_autoscaling_group\.agents_machines_\w+\.name\}$/), 960],
      [expect.stringMatching(/^\$\{aws_autoscaling_group\.edge_machines_\w+\.name\}$/), 960],
    ]);
    for (const group of Object.values(resourcesOf(json, "aws_autoscaling_group"))) expect(group.timeouts).toEqual({ delete: "26m" });
    for (const pool of ["mesos-ha-agents", "mesos-ha-edge"]) {
      const program = fileOf(parseCloudConfig(userDataNodes(json).find((n) => n.name === pool)!.text), AGENT_DRAIN_SCRIPT);
      expect(program).toContain('TIMEOUT = float(E("MESOS_DRAIN_TIMEOUT", "900"))');
    }
  });

  test("0 turns the drain off where the pools would drain (ha): no hook, no notification, no unit; the masters deny the agents maintenance", () => {
    for (const cloud of ["aws", "azure"] as Cloud[]) {
      const { json } = synthCluster({ cloud, profile: "ha", agentDrainSeconds: 0 });
      expect(resourcesOf(json, "aws_autoscaling_lifecycle_hook")).toEqual({});
      for (const vmss of Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"))) expect(vmss.termination_notification).toBeUndefined();
      expect(parseCloudConfig(poolDoc(json, cloud)).files.has(AGENT_DRAIN_SCRIPT)).toBe(false);
      for (const acls of mastersAcls(json, cloud)) for (const action of MAINTENANCE.slice(1)) expect(acls[action]).toEqual([{ principals: { values: ["mesos-agent", "mesos-dns"] }, machines: { type: "NONE" } }]);
    }
  });

  test("a bound turns it on where the pools would not (dev: masters without auth take maintenance calls from anyone inside)", () => {
    const { json } = synthCluster({ cloud: "azure", profile: "dev", agentDrainSeconds: 300 });
    const vmss = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"))[0];
    expect(vmss.termination_notification).toEqual({ enabled: true, timeout: "PT6M" });
    const doc = parseCloudConfig(poolDoc(json, "azure"));
    expect(doc.files.has(`/etc/systemd/system/${AGENT_DRAIN_UNIT}`)).toBe(true);
  });

  test("read from the environment and the file, per stack", () => {
    const config = loadAppConfig({ env: { CLUSTER_AGENT_DRAIN_SECONDS: "120", CLUSTER_HA_AGENT_DRAIN_SECONDS: "0", CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, CLUSTER_CONFIG: "" }, cwd: tmpdir(), homeDir: tmpdir() });
    expect([config.stacks.dev.agentDrainSeconds, config.stacks.ha.agentDrainSeconds]).toEqual([120, 0]);
    const cwd = mkdtempSync(join(tmpdir(), "drain-config-"));
    writeFileSync(join(cwd, "cluster.config.json"), JSON.stringify({ agentDrainSeconds: 300, stacks: { ha: { agentDrainSeconds: 700 } } }));
    const fromFile = loadAppConfig({ env: { CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY }, cwd, homeDir: cwd });
    expect([fromFile.stacks.dev.agentDrainSeconds, fromFile.stacks.ha.agentDrainSeconds]).toEqual([300, 700]);
    rmSync(cwd, { recursive: true, force: true });
  });
});

describe("library: the pool's drain props", () => {
  const stack = () => new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");
  function masters(s: TerraformStack, cloud: Cloud, props: Partial<ConstructorParameters<typeof MesosMasterGroup>[2]> = {}): MesosMasterGroup {
    const target = cloud === "aws" ? new AwsTarget(s, "aws", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY }) : new AzureTarget(s, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY });
    const nodes = new NodeGroup(s, "masters", { target, count: 1, vmSize: cloud === "aws" ? "t3.large" : "Standard_D2s_v5" });
    return new MesosMasterGroup(s, "mesos", { nodes, zookeeper: new ZookeeperEnsemble(s, "zk", { nodes }), ...props });
  }
  const pool = (m: MesosMasterGroup, drain: ConstructorParameters<typeof MesosAgentPool>[2]["drain"]) =>
    new MesosAgentPool(m, "agents", { target: m.nodes.target, masters: m, count: 1, vmSize: m.nodes.target.cloud === "aws" ? "t3.large" : "Standard_D2s_v5", drain });

  test("AWS without auth, turned on: a role of the pool's own for the drain alone, on the template; heartbeat = bound + 60 s", () => {
    const s = stack();
    pool(masters(s, "aws"), { enabled: true, timeoutSeconds: 120, frameworks: ["marathon", "chronos"] });
    const json = synthStack(s);
    expect(Object.values(resourcesOf(json, "aws_autoscaling_lifecycle_hook")).map((h) => h.heartbeat_timeout)).toEqual([180]);
    const role = Object.values(resourcesOf(json, "aws_iam_role")).find((r) => r.name === "lib-pool-agents")!;
    expect(Object.values(resourcesOf(json, "aws_iam_role_policy")).filter((p) => resolveRef(json, p.role) === role).map((p) => p.name)).toEqual(["complete-lifecycle-action"]);
    const [template] = Object.values(resourcesOf(json, "aws_launch_template"));
    expect(resolveRef(json, (template.iam_instance_profile as { name: string }).name).name).toBe("lib-pool-agents");
    const program = fileOf(parseCloudConfig(poolDoc(json, "aws")), AGENT_DRAIN_SCRIPT);
    expect(program).toContain('FRAMEWORKS = ["marathon","chronos"]');
    expect(program).toContain('TIMEOUT = float(E("MESOS_DRAIN_TIMEOUT", "120"))');
  });

  test("Azure without auth, turned on: the notification never below Azure's 5 minutes, and no identity (Scheduled Events need none)", () => {
    const s = stack();
    pool(masters(s, "azure"), { enabled: true, timeoutSeconds: 60 });
    const [vmss] = Object.values(resourcesOf(synthStack(s), "azurerm_linux_virtual_machine_scale_set"));
    expect(vmss.termination_notification).toEqual({ enabled: true, timeout: "PT5M" });
    expect(vmss.identity).toBeUndefined();
  });

  test("refusals: a bound the cloud cannot wait for, a drain masters cannot authorize, bad values", () => {
    expect(() => pool(masters(stack(), "aws"), { enabled: true, timeoutSeconds: 7141 })).toThrow(
      "lib/mesos/agents: invalid drain.timeoutSeconds 7141; allowed: whole seconds from 30 to 7140 (the group waits the bound plus 60 s, and a lifecycle hook's heartbeat timeout is at most 7200 s)",
    );
    expect(() => pool(masters(stack(), "azure"), { enabled: true, timeoutSeconds: 841 })).toThrow(
      "lib/mesos/agents: invalid drain.timeoutSeconds 841; allowed: whole seconds from 30 to 840 (the scale set waits the bound plus 60 s, and its terminate notification at most 15 minutes)",
    );
    expect(() => pool(masters(stack(), "aws"), { enabled: true, timeoutSeconds: 29 })).toThrow("invalid drain.timeoutSeconds 29");
    expect(() => pool(masters(stack(), "aws", { credentials: { username: "admin", password: "a-long-enough-password-1" } }), { enabled: true })).toThrow(
      "lib/mesos/agents: invalid drain.enabled true; allowed: false, or masters with agentCredentials (lib/mesos authenticates its HTTP API: the drain calls it with the agents' principal)",
    );
    expect(() => pool(masters(stack(), "aws"), { enabled: true, frameworks: [] })).toThrow("lib/mesos/agents: invalid drain.frameworks []");
    expect(() => pool(masters(stack(), "aws"), { enabled: "yes" as unknown as boolean })).toThrow('lib/mesos/agents: invalid drain.enabled "yes"; allowed: true or false');
  });
});

// ---------------------------------------------------------------------------
// The program as shipped, against local fakes.

afterAll(closeFakes);

type Machine = { hostname: string; ip: string };
const ME: Machine = { hostname: "10.20.16.4", ip: "10.20.16.4" };
const AGENT_AUTH = `Basic ${Buffer.from("mesos-agent:agent-s3cret").toString("base64")}`;

/**
 * A leading Mesos master as far as the drain sees it (maintenance schedule,
 * machine down/up, status, state) and a follower that redirects to it, as
 * Mesos 1.7.1 does (`//host:port/path`). This agent (S1) runs one task of
 * `web` and one of `api`, and a Swarm task; S2 another `web` and a `batch`.
 * Bringing the machine down removes S1 and its tasks; Marathon's
 * replacements appear on S2 after `replacementAfter` state reads.
 */
async function fakeMesos(options: { replacementAfter: number; refuseSchedule?: boolean; schedule?: { windows: unknown[] }; down?: Machine[] }) {
  const calls: string[] = [];
  let schedule = options.schedule ?? { windows: [] };
  const down: Machine[] = options.down ?? [];
  const slaves = [
    { id: "S1", hostname: ME.hostname },
    { id: "S2", hostname: "10.20.16.5" },
  ];
  const marathon = [
    { id: "web.instance-1111._app.1", slave_id: "S1", state: "TASK_RUNNING" },
    { id: "web.instance-2222._app.1", slave_id: "S2", state: "TASK_RUNNING" },
    { id: "api.instance-3333._app.2", slave_id: "S1", state: "TASK_RUNNING" },
    { id: "batch.instance-4444._app.1", slave_id: "S2", state: "TASK_RUNNING" },
  ];
  const swarm = [{ id: "swarm-container-1", slave_id: "S1", state: "TASK_RUNNING" }];
  let readsAfterDown = -1;
  const same = (a: Machine, b: Machine) => a.hostname === b.hostname && a.ip === b.ip;
  const scheduled = (m: Machine) => schedule.windows.some((w) => (w as { machine_ids: Machine[] }).machine_ids.some((x) => same(x, m)));
  const leader = await serveFake((req, body, res) => {
    calls.push(`${req.method} ${req.url}${body ? ` ${body}` : ""}`);
    if (req.headers.authorization !== AGENT_AUTH) return reply(res, 401, "");
    const machines = () => JSON.parse(body) as Machine[];
    switch (`${req.method} ${req.url}`) {
      case "GET /master/maintenance/schedule":
        return reply(res, 200, schedule);
      case "POST /master/maintenance/schedule":
        if (options.refuseSchedule) return reply(res, 403, "");
        if (down.some((m) => !JSON.stringify(JSON.parse(body)).includes(JSON.stringify(m)))) return reply(res, 400, "Machine is deactivated and cannot be removed from the schedule");
        schedule = JSON.parse(body);
        return reply(res, 200, "");
      case "POST /master/machine/down":
        if (!machines().every(scheduled)) return reply(res, 400, "Machine is not part of a maintenance schedule");
        down.push(...machines());
        slaves.splice(0, 1);
        for (const list of [marathon, swarm]) list.splice(0, list.length, ...list.filter((t) => t.slave_id !== "S1"));
        readsAfterDown = 0;
        return reply(res, 200, "");
      case "POST /master/machine/up":
        if (!machines().every((m) => down.some((d) => same(d, m)))) return reply(res, 400, "Machine is not in DOWN mode and cannot be brought up");
        down.splice(0, down.length);
        schedule = { windows: [] };
        return reply(res, 200, "");
      case "GET /master/maintenance/status":
        return reply(res, 200, { down_machines: down });
      case "GET /master/state":
        if (readsAfterDown >= 0 && ++readsAfterDown === options.replacementAfter) {
          marathon.push({ id: "web.instance-5555._app.1", slave_id: "S2", state: "TASK_RUNNING" }, { id: "api.instance-6666._app.1", slave_id: "S2", state: "TASK_STAGING" });
        }
        if (readsAfterDown > options.replacementAfter) marathon[marathon.length - 1].state = "TASK_RUNNING";
        return reply(res, 200, { slaves, frameworks: [{ name: "marathon", tasks: marathon }, { name: "swarm", tasks: swarm }] });
    }
    reply(res, 404, "");
  });
  const follower = await serveFake((req, _body, res) => {
    calls.push(`follower ${req.method} ${req.url}`);
    res.writeHead(307, { location: `//${leader.slice("http://".length)}${req.url}` });
    res.end();
  });
  return { masters: `${follower} ${leader}`, calls, posts: () => calls.filter((c) => c.startsWith("POST")), state: () => ({ schedule, down }) };
}

/** A directory standing for /run/mesos-cluster: the agent's env file and its credential (as the agent's boot scripts write them). */
function runDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "agent-drain-run-"));
  mkdirSync(join(dir, "secrets"));
  writeFileSync(join(dir, "mesos-agent.env"), `MESOS_IP=${ME.ip}\nMESOS_HOSTNAME=${ME.hostname}\n`);
  writeFileSync(join(dir, "secrets", "mesos-agent-credential.json"), '{"principal":"mesos-agent","secret":"agent-s3cret"}\n');
  return dir;
}

/** One run of the program: polls once (MESOS_DRAIN_ONCE), and drains when it sees a notice. */
function runDrain(script: string, run: string, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const base = { PATH: process.env.PATH ?? "", MESOS_DRAIN_ONCE: "1", MESOS_DRAIN_POLL: "0.05", MESOS_DRAIN_NET_CLS: "/nonexistent", MESOS_DRAIN_RUN: run, MESOS_DRAIN_STOP_AGENT: `touch ${run}/agent-stopped` };
    execFile("python3", [script], { env: { ...base, ...env }, timeout: 30000 }, (error, _stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr }));
  });
}

describeWithTool(PYTHON3, "the drain program as shipped, against fakes (AWS: IMDSv2, Mesos, Auto Scaling)", () => {
  const creds = { AccessKeyId: "AKIATESTDRAIN", SecretAccessKey: "drain/secret+key", Token: "role-session-token" };
  let script: string;
  let lifecycle = "InService";
  let imds: string;
  let autoscaling: string;
  const completions: { headers: IncomingMessage["headers"]; body: string }[] = [];

  beforeAll(async () => {
    script = shippedDrain("aws");
    imds = await serveFake((req, _body, res) => {
      if (req.method === "PUT" && req.url === "/latest/api/token") return reply(res, req.headers["x-aws-ec2-metadata-token-ttl-seconds"] === "300" ? 200 : 400, "imds-token");
      if (req.headers["x-aws-ec2-metadata-token"] !== "imds-token") return reply(res, 401, "");
      const answers: Record<string, unknown> = {
        "/latest/meta-data/autoscaling/target-lifecycle-state": lifecycle,
        "/latest/meta-data/instance-id": "i-0drain0000000001",
        "/latest/meta-data/iam/security-credentials/": "mesos-ha-pool-agents",
        "/latest/meta-data/iam/security-credentials/mesos-ha-pool-agents": creds,
      };
      return req.url! in answers ? reply(res, 200, answers[req.url!]) : reply(res, 404, "");
    });
    autoscaling = await serveFake((req, body, res) => {
      completions.push({ headers: req.headers, body });
      reply(res, 200, "<CompleteLifecycleActionResponse/>");
    });
  });
  beforeEach(() => {
    completions.length = 0;
  });
  const env = (masters: string, extra: Record<string, string> = {}) => ({ MESOS_DRAIN_MASTERS: masters, MESOS_DRAIN_IMDS: imds, MESOS_DRAIN_AUTOSCALING: autoscaling, MESOS_DRAIN_TIMEOUT: "10", ...extra });

  test("its SigV4 signer gives the signature of AWS's test vector (aws-sig-v4-test-suite post-x-www-form-urlencoded)", async () => {
    const program = [
      "import importlib.machinery, importlib.util, sys",
      "loader = importlib.machinery.SourceFileLoader('drain', sys.argv[1])",
      "m = importlib.util.module_from_spec(importlib.util.spec_from_loader('drain', loader)); loader.exec_module(m)",
      "print(m.sign('https://example.amazonaws.com/', b'Param1=value1', {'content-type': 'application/x-www-form-urlencoded'}, 'us-east-1', 'service',",
      "             'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20150830T123600Z')['authorization'])",
    ].join("\n");
    const out = await new Promise<string>((resolve, reject) => execFile("python3", ["-c", program, script], (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout))));
    expect(out.trim()).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    );
  });

  test("no notice: nothing happens (Mesos is only read)", async () => {
    lifecycle = "InService";
    const mesos = await fakeMesos({ replacementAfter: 1 });
    const run = runDir();
    expect(await runDrain(script, run, env(mesos.masters))).toEqual({ code: 0, stderr: "" });
    expect(mesos.posts()).toEqual([]);
    expect(completions).toEqual([]);
    expect(existsSync(join(run, "agent-stopped"))).toBe(false);
  });

  test("notice seen: maintenance scheduled and the machine down (through the leader), waits until web and api run elsewhere, stops the agent, brings the machine up, completes the lifecycle action", async () => {
    lifecycle = "Terminated";
    const mesos = await fakeMesos({ replacementAfter: 3 });
    const run = runDir();
    const result = await runDrain(script, run, env(mesos.masters));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`mesos-agent-drain: ${ME.ip} is down in Mesos; waiting for ['marathon:api', 'marathon:web']`);
    expect(result.stderr).toContain("every app that ran here runs elsewhere");
    // The follower redirected the first read; every write went to the leader, in this order.
    expect(mesos.calls[0]).toBe("follower GET /master/maintenance/schedule");
    const posts = mesos.posts();
    expect(posts.map((p) => p.split(" ").slice(0, 2).join(" "))).toEqual(["POST /master/maintenance/schedule", "POST /master/machine/down", "POST /master/machine/up"]);
    const window = JSON.parse(posts[0].slice("POST /master/maintenance/schedule ".length)).windows[0];
    expect(window.machine_ids).toEqual([ME]);
    expect(window.unavailability.duration).toEqual({ nanoseconds: 10e9 });
    expect(Math.abs(window.unavailability.start.nanoseconds / 1e6 - Date.now())).toBeLessThan(60000);
    expect(JSON.parse(posts[1].slice("POST /master/machine/down ".length))).toEqual([ME]);
    // It waited for the replacements (TASK_STAGING does not count), not for Swarm's container.
    expect(mesos.calls.filter((c) => c === "GET /master/state").length).toBeGreaterThanOrEqual(5);
    expect(existsSync(join(run, "agent-stopped"))).toBe(true);
    expect(mesos.state()).toEqual({ schedule: { windows: [] }, down: [] });
    expect(completions).toHaveLength(1);
    const { headers, body } = completions[0];
    expect(Object.fromEntries(new URLSearchParams(body))).toEqual({
      Action: "CompleteLifecycleAction",
      AutoScalingGroupName: "mesos-ha-agents",
      InstanceId: "i-0drain0000000001",
      LifecycleActionResult: "CONTINUE",
      LifecycleHookName: "drain",
      Version: "2011-01-01",
    });
    expect(headers["x-amz-security-token"]).toBe("role-session-token");
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIATESTDRAIN\/\d{8}\/eu-west-1\/autoscaling\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    // Drained once: a restart of the unit does nothing more.
    expect(await runDrain(script, run, env(mesos.masters))).toEqual({ code: 0, stderr: "" });
    expect(completions).toHaveLength(1);
  });

  test("bound reached: says which apps are not back, lets the machine go anyway, exits 3 (no restart)", async () => {
    lifecycle = "Terminated";
    const mesos = await fakeMesos({ replacementAfter: Infinity });
    const run = runDir();
    const result = await runDrain(script, run, env(mesos.masters, { MESOS_DRAIN_TIMEOUT: "0.5" }));
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("bound reached; not running elsewhere yet: ['marathon:api', 'marathon:web']");
    expect(mesos.state().down).toEqual([]);
    expect(completions).toHaveLength(1);
  });

  test("failures are reported: masters that refuse the schedule (the machine is let go anyway), metadata out of reach", async () => {
    lifecycle = "Terminated";
    const mesos = await fakeMesos({ replacementAfter: 1, refuseSchedule: true });
    const run = runDir();
    const result = await runDrain(script, run, env(mesos.masters, { MESOS_DRAIN_TIMEOUT: "0.3" }));
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/drain failed: http:\/\/127\.0\.0\.1:\d+\/master\/maintenance\/schedule: HTTP 403/);
    expect(mesos.posts().filter((p) => p.startsWith("POST /master/machine"))).toEqual([]);
    expect(existsSync(join(run, "agent-stopped"))).toBe(false);
    expect(completions).toHaveLength(1);
    const unreachable = await runDrain(script, runDir(), env(mesos.masters, { MESOS_DRAIN_IMDS: "http://127.0.0.1:9" }));
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/^mesos-agent-drain: <urlopen error \[Errno 111\] Connection refused>\n$/);
  });

  test("at start, a machine left down in Mesos (an address used again) is brought up", async () => {
    lifecycle = "InService";
    const mesos = await fakeMesos({ replacementAfter: 1, schedule: { windows: [{ machine_ids: [ME], unavailability: { start: { nanoseconds: 1 } } }] }, down: [ME] });
    const result = await runDrain(script, runDir(), env(mesos.masters));
    expect(result).toEqual({ code: 0, stderr: `mesos-agent-drain: ${ME.ip} is up in Mesos again\n` });
    expect(mesos.posts().map((p) => [p.split(" ")[1], JSON.parse(p.split(" ").slice(2).join(" "))])).toEqual([["/master/machine/up", [ME]]]);
  });
});

describeWithTool(PYTHON3, "the drain program as shipped, against fakes (Azure: Scheduled Events)", () => {
  let script: string;
  let events: unknown[] = [];
  let imds: string;
  const acks: string[] = [];

  beforeAll(async () => {
    script = shippedDrain("azure");
    imds = await serveFake((req, body, res) => {
      if (req.headers.metadata !== "true") return reply(res, 400, "");
      if (req.url === "/metadata/instance/compute/name?api-version=2020-09-01&format=text") return reply(res, 200, "mesos-ha-agents_3");
      if (req.url !== "/metadata/scheduledevents?api-version=2020-07-01") return reply(res, 404, "");
      if (req.method === "POST") acks.push(body);
      reply(res, 200, req.method === "POST" ? "" : { DocumentIncarnation: 2, Events: events });
    });
  });
  const event = (id: string, type: string, resources: string[], inSeconds: number) => ({
    EventId: id,
    EventType: type,
    ResourceType: "VirtualMachine",
    Resources: resources,
    EventStatus: "Scheduled",
    NotBefore: new Date(Date.now() + inSeconds * 1000).toUTCString(),
  });

  test("a Terminate event for this VM alone: drained, then acknowledged; another VM's event is left alone", async () => {
    events = [event("other-vm", "Terminate", ["mesos-ha-agents_7"], 660), event("this-vm", "Terminate", ["mesos-ha-agents_3"], 660)];
    const mesos = await fakeMesos({ replacementAfter: 2 });
    const result = await runDrain(script, runDir(), { MESOS_DRAIN_MASTERS: mesos.masters, MESOS_DRAIN_IMDS: imds });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/draining it for (599|600)s at most/);
    expect(mesos.posts().map((p) => p.split(" ")[1])).toEqual(["/master/maintenance/schedule", "/master/machine/down", "/master/machine/up"]);
    expect(acks.map((a) => JSON.parse(a))).toEqual([{ StartRequests: [{ EventId: "this-vm" }] }]);
  });

  test("a Preempt event naming other VMs too: the wait ends before its NotBefore, and it is not acknowledged (that would let every VM go)", async () => {
    acks.length = 0;
    events = [event("batch", "Preempt", ["mesos-ha-agents_3", "mesos-ha-agents_4"], 6)];
    const mesos = await fakeMesos({ replacementAfter: Infinity });
    const result = await runDrain(script, runDir(), { MESOS_DRAIN_MASTERS: mesos.masters, MESOS_DRAIN_IMDS: imds });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/draining it for [01]s at most/);
    expect(result.stderr).toContain("event batch also names ['mesos-ha-agents_3', 'mesos-ha-agents_4']: Azure goes on at");
    expect(acks).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// The metadata block's exception, in a real nftables.

const NETNS = netnsTool("drainprobe", { name: "python3", debianPackage: "python3", check: "python3 --version" });

/** The metadata service of the tests' cloud namespace: IMDSv2's token and an instance in service. */
const FAKE_IMDS = String.raw`
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, body):
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_PUT(self): self.answer(b"token")
    def do_GET(self): self.answer(b"InService")
    def log_message(self, *args): pass
server = http.server.HTTPServer(("169.254.169.254", 80), H)
print("ready", flush=True)
server.serve_forever()
`;

describeWithTool(NETNS, "the metadata block admits the drain's net_cls class only (network namespaces, real nftables)", () => {
  const id = `${process.pid % 10000}`;
  const ns = { cloud: `drc${id}`, agent: `dra${id}` };
  let dir: string;
  let netCls: string;
  let mounted = false;
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "drain-netns-"));
    writeFileSync(join(dir, "block.sh"), fileOf(parseCloudConfig(poolDoc(synthCluster({ cloud: "aws", profile: "ha" }).json, "aws")), BLOCK_SCRIPT));
    writeFileSync(join(dir, "imds.py"), FAKE_IMDS);
    // The net_cls v1 hierarchy where it is mounted (hybrid hosts, as the agents boot), else mounted here.
    netCls = sh("awk '$3 == \"cgroup\" && $4 ~ /(^|,)net_cls(,|$)/ { print $2; exit }' /proc/mounts").trim();
    if (!netCls) {
      netCls = join(dir, "net_cls");
      sh(`mkdir -p ${netCls} && mount -t cgroup -o net_cls net_cls ${netCls}`);
      mounted = true;
    }
    // The agent's uplink to the cloud's metadata service; bridge containers behind the block are agent-auth.test.ts's (same script).
    sh(`
      for n in ${ns.cloud} ${ns.agent}; do ip netns add "$n"; ip -n "$n" link set lo up; done
      ip link add ens5 netns ${ns.agent} type veth peer name eth0 netns ${ns.cloud}
      ip -n ${ns.cloud} addr add 169.254.169.254/32 dev eth0 && ip -n ${ns.cloud} link set eth0 up && ip -n ${ns.cloud} route add 10.20.16.0/24 dev eth0
      ip -n ${ns.agent} addr add 10.20.16.4/24 dev ens5 && ip -n ${ns.agent} link set ens5 up && ip -n ${ns.agent} route add default dev ens5
      ip netns exec ${ns.agent} bash ${join(dir, "block.sh")}
    `);
    const [cmd, ...args] = [...AS_ROOT, "ip", "netns", "exec", ns.cloud, "python3", join(dir, "imds.py")];
    server = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.once("data", () => resolve());
      server!.once("exit", (status) => reject(new Error(`the fake metadata service exited ${status}`)));
    });
  }, 30000);

  afterAll(() => {
    server?.kill();
    deleteNamespaces(Object.values(ns));
    if (existsSync(join(netCls, "mesos-agent-drain"))) sh(`rmdir ${join(netCls, "mesos-agent-drain")}`);
    if (mounted) sh(`umount ${netCls}`);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The shipped program, polling once from the agent's namespace; `netCls` is where it looks for the net_cls hierarchy. */
  function drainOnce(netClsRoot: string): { status: number | null; stderr: string } {
    const run = mkdtempSync(join(dir, "run-"));
    const env = ["MESOS_DRAIN_ONCE=1", `MESOS_DRAIN_NET_CLS=${netClsRoot}`, `MESOS_DRAIN_RUN=${run}`];
    const [cmd, ...args] = [...AS_ROOT, "ip", "netns", "exec", ns.agent, "env", ...env, "python3", shippedDrain("aws")];
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return { status: r.status, stderr: r.stderr };
  }

  test("the drain, in its class, reads instance metadata through the block; without the class it is refused like everything else", async () => {
    expect(drainOnce(netCls)).toEqual({ status: 0, stderr: "" });
    expect(readFileSync(join(netCls, "mesos-agent-drain", "net_cls.classid"), "utf8").trim()).toBe(String(Number(AGENT_DRAIN_CLASSID)));
    const refused = drainOnce("/nonexistent");
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("Connection refused");
    // The host's other processes are still refused.
    expect(await reaches(ns.agent, "169.254.169.254", 80)).toBe(false);
    const counters = sh(`ip netns exec ${ns.agent} nft list ruleset`);
    expect(counters).toMatch(new RegExp(`meta cgroup ${Number(AGENT_DRAIN_CLASSID)} ip daddr 169\\.254\\.169\\.254 tcp dport 80 counter packets [1-9]\\d* bytes \\d+ accept`));
    expect(counters).toMatch(new RegExp(`meta cgroup ${Number(AGENT_DRAIN_CLASSID)} @nh,128,32 0xa9fea9fe counter packets [1-9]\\d* bytes \\d+ accept`));
  }, 30000);
});
