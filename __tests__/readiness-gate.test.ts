/**
 * The readiness gate: when the stacks create it, what it waits for, and its
 * command as synthesized, run against the fake cluster on loopback.
 */
import { mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App } from "cdktf";
import { ClusterReadinessGate, ClusterReadinessGateProps } from "../constructs/cluster-readiness-gate";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { loadAppConfig } from "../stacks/config";
import { readSynthOutput } from "../scripts/lib/synth-output";
import { FakeCluster } from "./helpers/fake-cluster";
import { localExecs, nullResource, plannedInstance, runLocalExec } from "./helpers/local-exec";
import { synthCluster, TEST_SSH_KEY } from "./helpers/synth";

describe("when the stacks have a gate", () => {
  test.each([
    [{}, false],
    [{ adminCidrs: ["203.0.113.0/24"] }, true],
    [{ adminCidrs: ["203.0.113.0/24"], readinessGate: "off" as const }, false],
    [{ readinessGate: "on" as const }, true],
  ])("%j -> %s", (props, expected) => {
    const { stack, json } = synthCluster({ profile: "ha", ...props });
    expect(stack.readinessGate !== undefined).toBe(expected);
    // Other null resources (Azure's Key Vault role waits) are not the gate.
    expect(Object.keys(json.resource.null_resource ?? {}).filter((k) => k.startsWith("readiness_gate"))).toHaveLength(expected ? 1 : 0);
  });

  test("the knob comes from CLUSTER_READINESS_GATE, and a wrong value is refused", () => {
    const config = loadAppConfig({ env: { CLUSTER_READINESS_GATE: "on", CLUSTER_DEV_EXAMPLE_APPS: "web" }, cwd: "/nonexistent", homeDir: "/nonexistent" });
    expect(config.stacks.dev).toMatchObject({ readinessGate: "on", exampleApps: ["web"] });
    expect(config.stacks.ha.exampleApps).toBeUndefined();
    expect(() => synthCluster({ readinessGate: "maybe" as never })).toThrow('dev: invalid readinessGate "maybe"; allowed: "auto", "on", "off"');
  });

  test("it waits for every machine and the whole pool, and runs again when they are replaced or resized", () => {
    const { json } = synthCluster({ profile: "ha", readinessGate: "on", agentCount: 5 });
    const gate = nullResource(json, "readiness/gate").config;
    expect(gate.depends_on).toEqual([
      ...[0, 1, 2].map(() => expect.stringMatching(/^azurerm_linux_virtual_machine\.masters_/)),
      expect.stringMatching(/^azurerm_linux_virtual_machine_scale_set\.agents_/),
    ]);
    expect(gate.triggers.machines).toMatch(/^\$\{join\(",", \[azurerm_linux_virtual_machine\.[^\]]+\.id, azurerm_linux_virtual_machine_scale_set\.[^\]]+\.id\]\)\}$/);
    expect(gate.triggers.expected_agents).toBe("5");
    const [exec] = localExecs(gate, "create");
    expect(exec).toMatchObject({ command: "wait-ready", interpreter: ["node", expect.stringMatching(/^assets\/cluster-client\/[0-9A-F]+\/cli\.js$/)] });
    expect(exec.environment).toMatchObject({
      MESOS_EXPECTED_AGENTS: "5",
      // Without adminCidrs, Azure masters have private addresses only (a VPN reaches them);
      // ha (auth on) reaches Mesos through the masters' TLS proxy on 5443, verified with its CA.
      MESOS_URLS: "https://10.20.0.10:5443,https://10.20.0.11:5443,https://10.20.0.12:5443",
      MARATHON_URLS: "https://10.20.0.10:8443,https://10.20.0.11:8443,https://10.20.0.12:8443",
      MESOS_TLS_CA: expect.stringMatching(/^\$\{tls_self_signed_cert\..*\.cert_pem\}$/),
      // ha's Swarm API has mutual TLS: https on 2376 with the admins' client certificate.
      SWARM_URLS: "https://10.20.0.10:2376",
      ZOOKEEPER_MEMBERS: "",
      CLUSTER_CLIENT_TIMEOUT_SECONDS: "1200",
      CLUSTER_CLIENT_POLL_SECONDS: "10",
    });
    expect(localExecs(gate, "destroy")).toHaveLength(0);
  });

  test("with auth on (ha's default) it has the Mesos credentials: the masters authenticate their read-only endpoints too", () => {
    const { json } = synthCluster({ profile: "ha", readinessGate: "on" });
    const [exec] = localExecs(nullResource(json, "readiness/gate").config, "create");
    expect(exec.environment).toMatchObject({
      MESOS_USERNAME: "admin",
      MESOS_PASSWORD: expect.stringMatching(/^\$\{nonsensitive\(sensitive\(random_password\.[^)]+\.result\)\)\}$/),
      MARATHON_USERNAME: "admin",
    });
  });

  test("example apps wait for the gate when there is one", () => {
    const { json } = synthCluster({ profile: "dev", readinessGate: "on", exampleApps: ["web"] });
    expect(nullResource(json, "example-web/app").config.depends_on).toEqual([
      expect.stringMatching(/^null_resource\.readiness_gate_/),
      expect.stringMatching(/^azurerm_linux_virtual_machine_scale_set\.agents_/),
    ]);
  });
});

describe("the gate's command as synthesized, against the fake cluster", () => {
  let fake: FakeCluster;
  beforeEach(async () => {
    fake = await FakeCluster.start(3, { agents: 2 });
  });
  afterEach(async () => {
    await fake.close();
  });

  /** The ha stack with a gate pointed at the fake (as through an SSH tunnel). */
  function synthGate(props: Partial<ClusterReadinessGateProps>): { dir: string; config: Record<string, any> } {
    const outdir = mkdtempSync(join(tmpdir(), "gate-"));
    const app = new App({ outdir });
    // Auth off: the fakes answer plain HTTP without credentials (credentials have their own tests).
    const stack = new MesosClusterStack(app, "ha", { profile: "ha", auth: false, agentCount: 2, readinessGate: "off", sshPublicKey: TEST_SSH_KEY });
    new ClusterReadinessGate(stack, "tunnel", {
      mesos: stack.mesos,
      marathon: stack.marathon,
      swarm: stack.swarm,
      agentPools: [stack.agents],
      mesosUrls: fake.mesosUrls.map((u) => `http://127.0.0.1:1|${u}`),
      marathonUrls: fake.marathonUrls,
      swarmUrl: fake.swarmUrl,
      pollIntervalSeconds: 0.05,
      ...props,
    });
    app.synth();
    return { dir: join(outdir, "stacks", "ha"), config: nullResource(readSynthOutput(outdir).get("ha")!, "tunnel/gate").config };
  }

  async function runGate(g: { dir: string; config: Record<string, any> }) {
    const self = plannedInstance({ triggers: { expected_agents: g.config.triggers.expected_agents } }, "gate-1");
    return runLocalExec(localExecs(g.config, "create")[0], { cwd: g.dir, self });
  }

  test("finishes when every check passes", async () => {
    const result = await runGate(synthGate({ timeoutSeconds: 10 }));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("cluster-ready: waiting up to 10 s for: mesos-health, mesos-leader, mesos-agents, marathon-leader, marathon-apps, swarm");
    expect(result.stdout).toMatch(/cluster-ready: ready after \d+ s \(6 checks pass\)/);
  });

  test("waits while the cluster comes up (no leader yet, an agent missing)", async () => {
    fake.scenario.mesosLeader = null;
    fake.scenario.agents = 1;
    // A leader after the first round of asking every master, the second agent a round later.
    fake.onRequest = () => {
      const states = fake.requestsTo("mesos", "GET", /^\/master\/state$/).length;
      if (states === 3) fake.scenario.mesosLeader = 1;
      if (states === 12) fake.scenario.agents = 2;
    };
    const result = await runGate(synthGate({ timeoutSeconds: 10 }));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/waiting for mesos-leader: no leading master; .*503: No leader elected/);
    expect(result.stdout).toContain("mesos-agents: 1 of 2 agents registered");
    expect(result.stdout).toMatch(/ready after \d+ s/);
  });

  test("fails the deploy after its timeout, naming what is not ready", async () => {
    fake.scenario.agents = 1;
    fake.scenario.swarmOffers = 0;
    const result = await runGate(synthGate({ timeoutSeconds: 1 }));
    expect(result.code).toBe(1);
    // The swarm check looks for offers over a window, but never past the gate's timeout.
    expect(result.stderr).toMatch(
      /^wait-ready failed: the cluster was not ready within 1 s; failing: mesos-agents: 1 of 2 agents registered \(10\.20\.16\.4\) \| swarm: Swarm holds no Mesos offers \(2 agents expected; none in 1 look over 0\.\d s\)\n$/,
    );
  });

  test("masters that redirect to the leader's advertised hostname (not its pid address) pass", async () => {
    fake.scenario.mesosLeader = 1;
    fake.scenario.mesosHostnames = ["m0.mesos.internal", "m1.mesos.internal", "m2.mesos.internal"];
    const result = await runGate(synthGate({ timeoutSeconds: 10 }));
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/ready after \d+ s \(6 checks pass\)/);
  });

  test("Mesos read-only authentication: the gate's credentials pass; without them it stops at once, /master/health passing", async () => {
    fake.scenario.mesosAuth = { username: "admin", password: "mesos-secret" };
    const gate = synthGate({ timeoutSeconds: 30 });
    const self = plannedInstance({ triggers: { expected_agents: gate.config.triggers.expected_agents } }, "gate-1");
    // As with auth on (the test above): the stack here has auth off, so its gate's MESOS_USERNAME is empty.
    const exec = localExecs(gate.config, "create")[0];
    const authed = { ...exec, environment: { ...exec.environment, MESOS_USERNAME: "admin", MESOS_PASSWORD: "mesos-secret" } };
    const withCredentials = await runLocalExec(authed, { cwd: gate.dir, self });
    expect(withCredentials.stderr).toBe("");
    expect(withCredentials.code).toBe(0);
    expect(fake.requestsTo("mesos", "GET", /^\/master\/state$/).every((r) => r.user === "admin")).toBe(true);
    const without = await runGate(gate);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/^wait-ready failed: mesos-leader: the Mesos master at http:\/\/127\.0\.0\.1:\d+\/master\/state requires credentials and none were given \(HTTP 401: WWW-Authenticate Basic realm="mesos-master-readonly"\)/);
  });

  test("credentials Marathon refuses end the wait at once", async () => {
    fake.scenario.marathonAuth = { username: "ops", password: "x" };
    const result = await runGate(synthGate({ timeoutSeconds: 30 }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^wait-ready failed: marathon-leader: Marathon at http:\/\/127\.0\.0\.1:\d+\/v2\/info requires credentials and none were given/);
  });
});
