/**
 * `npm run smoke` against fake Mesos masters, Marathon instances, a Swarm
 * manager, Mesos agents and their Docker engines on loopback (recorded
 * response shapes): it passes on a healthy cluster and fails naming the step
 * in each failure case. In-process for speed; once as a subprocess for the
 * exit codes.
 */
import { execFile } from "child_process";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App } from "cdktf";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { clusterChecks } from "../constructs/cluster-client/checks";
import { loadOutputs, parseSmokeArgs, resolveEndpoints, smokeMain } from "../scripts/lib/smoke";
import { FakeCluster, FakeScenario, SWARM_OFFER_HOLD_MS } from "./helpers/fake-cluster";
import { TEST_SSH_KEY } from "./helpers/synth";
import { freePort } from "./helpers/ports";

const ROOT = join(__dirname, "..");

let fake: FakeCluster;

beforeEach(async () => {
  fake = await FakeCluster.start(3, { agents: 2 });
});

afterEach(async () => {
  await fake.close();
});

/** Flags pointing at the fake; fast retries. */
function flags(extra: string[] = []): string[] {
  return [
    "ha",
    "--mesos", fake.mesosUrls.join(","),
    "--marathon", fake.marathonUrls.join(","),
    "--swarm", fake.swarmUrl,
    "--agents", "2",
    "--skip", "zookeeper",
    "--retries", "0",
    "--retry-interval", "0.02",
    "--request-timeout", "1",
    ...extra,
  ];
}

async function smoke(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await smokeMain(argv, env, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

/** The progress line of a step, e.g. `[3/6] mesos-agents     FAILED  1 of 2 agents registered (1 try, 0.0 s)`. */
function stepLine(out: string[], step: string): string {
  const line = out.find((l) => new RegExp(`^\\[\\d+/\\d+\\] ${step} `).test(l));
  if (!line) throw new Error(`no progress line for ${step} in:\n${out.join("\n")}`);
  return line;
}

describe("a healthy cluster", () => {
  test("passes every step, with a progress line per step and a closing table", async () => {
    const { code, out } = await smoke(flags());
    expect(code).toBe(0);
    expect(out[0]).toBe("smoke: stack ha; endpoints from flags");
    const steps = ["mesos-health", "mesos-leader", "mesos-agents", "marathon-leader", "marathon-apps", "swarm", "runtime"];
    steps.forEach((s, i) => expect(stepLine(out, s)).toMatch(new RegExp(`^\\[${i + 1}/7\\] ${s} +ok `)));
    expect(stepLine(out, "mesos-health")).toContain("3 of 3 masters healthy");
    expect(stepLine(out, "mesos-leader")).toMatch(/leader master@127\.0\.0\.1:\d+, 2 others redirect to it/);
    expect(stepLine(out, "mesos-agents")).toContain("2 of 2 agents registered (10.20.16.4, 10.20.16.5)");
    expect(stepLine(out, "marathon-leader")).toMatch(/leader 127\.0\.0\.1:\d+; 3 of 3 instances agree/);
    expect(stepLine(out, "swarm")).toContain("primary, 2 Mesos offers");
    const table = out.slice(out.indexOf("") + 1, -1);
    expect(table[0]).toMatch(/^step +result +tries +time +what was checked +detail$/);
    expect(table.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual(steps.map((s) => `${s} ok`));
    expect(out[out.length - 1]).toBe("smoke: all 7 steps passed");
    // Mesos was asked without following the redirect to the leader's private name.
    expect(fake.requestsTo("mesos", "GET", /^\/master\/state$/).map((r) => r.server).sort()).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
  });

  test("deploys a test app through Marathon, waits until it runs, and removes it", async () => {
    const { code, out } = await smoke(flags(["--deploy-test-app", "--deploy-timeout", "10"]));
    expect(code).toBe(0);
    const line = stepLine(out, "test-app");
    expect(line).toMatch(/test-app +ok +\/smoke-test\/probe-[0-9a-f]{8} ran 1 task on busybox:1\.36\.1, then was removed/);
    const [put] = fake.requestsTo("marathon", "PUT");
    expect(put.path).toMatch(/^\/v2\/apps\/smoke-test\/probe-[0-9a-f]{8}$/);
    expect(JSON.parse(put.body)).toMatchObject({ cmd: "sleep 3600", container: { type: "DOCKER", docker: { image: "busybox:1.36.1" } } });
    expect(fake.requestsTo("marathon", "DELETE").map((r) => r.path)).toEqual([put.path]);
    expect(fake.apps.size).toBe(0);
  });

  test("retries a step until it passes: agents that register late", async () => {
    fake.scenario.agents = 1;
    fake.onRequest = () => {
      if (fake.requestsTo("mesos", "GET", /^\/master\/state$/).length === 9) fake.scenario.agents = 2; // after a failed try of mesos-agents
    };
    const { code, out } = await smoke(flags(["--retries", "50", "--retry-interval", "0.05"]));
    expect(code).toBe(0);
    expect(out.some((l) => /^ +mesos-agents: 1 of 2 agents registered .*; retry 1 of 50 in 0\.05 s$/.test(l))).toBe(true);
    expect(stepLine(out, "mesos-agents")).toMatch(/ok +2 of 2 agents registered .*\(\d+ tries,/);
  });
});

describe("the services' real semantics (project issue 16)", () => {
  test("a single try in Swarm's offer gap passes: the swarm step looks again within its window", async () => {
    // Swarm declined its offers just now; Mesos offers them again 1.5 s later (really 5-6 s).
    fake.scenario.swarmOfferCycle = { holdMs: SWARM_OFFER_HOLD_MS, gapMs: 1500, startedAt: Date.now() - SWARM_OFFER_HOLD_MS };
    const { code, out } = await smoke(flags(["--skip", "zookeeper,runtime"]));
    expect(stepLine(out, "swarm")).toMatch(/ok +primary, 2 Mesos offers \(seen at look [23], after [12]\.\d s with none\) \(1 try,/);
    expect(code).toBe(0);
  });

  test("masters that advertise a DNS name: non-leaders redirect to it, not to the leader's pid address", async () => {
    fake.scenario.mesosLeader = 2;
    fake.scenario.mesosHostnames = ["m0.mesos.internal", "m1.mesos.internal", "m2.mesos.internal"];
    const { code, out } = await smoke(flags());
    expect(stepLine(out, "mesos-leader")).toMatch(/ok +leader master@127\.0\.0\.1:\d+ \(hostname m2\.mesos\.internal:\d+\), 2 others redirect to it/);
    expect(code).toBe(0);
  });

  test("the test app waits out Marathon's 403 (too many deployments) and says why", async () => {
    fake.scenario.tooManyDeployments = 1;
    const { code, out } = await smoke(flags(["--deploy-test-app", "--deploy-timeout", "10", "--skip", "zookeeper,runtime"]));
    expect(out.some((l) => /PUT \/smoke-test\/probe-[0-9a-f]{8}: Marathon at \S+ takes no new deployment now \(HTTP 403: Max number \(100\) of running deployments is achieved\./.test(l))).toBe(true);
    expect(stepLine(out, "test-app")).toContain("ok");
    expect(code).toBe(0);
  });
});

describe("each failure names the failing step and why", () => {
  test("no Mesos leader", async () => {
    fake.scenario.mesosLeader = null;
    const { code, out } = await smoke(flags());
    expect(code).toBe(1);
    expect(stepLine(out, "mesos-leader")).toMatch(/FAILED +no leading master; http:\/\/127\.0\.0\.1:\d+ answers HTTP 503: No leader elected/);
    expect(stepLine(out, "mesos-agents")).toContain("FAILED  no leader to ask");
    expect(stepLine(out, "mesos-health")).toContain("ok");
    expect(stepLine(out, "runtime")).toContain("FAILED  no leader to ask");
    expect(out[out.length - 1]).toBe("smoke: FAILED at mesos-leader, mesos-agents, runtime");
  });

  test("missing agents", async () => {
    fake.scenario.agents = 1;
    const { code, out } = await smoke(flags());
    expect(code).toBe(1);
    expect(stepLine(out, "mesos-agents")).toContain("FAILED  1 of 2 agents registered (10.20.16.4)");
    expect(out[out.length - 1]).toBe("smoke: FAILED at mesos-agents");
  });

  test("more agents than the pool has", async () => {
    fake.scenario.agents = 3;
    const { out } = await smoke(flags());
    expect(stepLine(out, "mesos-agents")).toMatch(/FAILED +3 agents registered .*, the pool has 2/);
  });

  test("no Marathon leader: Marathon's 502 after its 2.75 s wait, reported even with a 1 s request timeout", async () => {
    // The fake waits as long as Marathon does (LeaderProxyFilter: 11 x 250 ms); flags() asks for --request-timeout 1.
    fake.scenario.marathonLeader = null;
    const { code, out } = await smoke(flags(["--deploy-test-app"]));
    expect(code).toBe(1);
    expect(stepLine(out, "marathon-leader")).toMatch(/FAILED +http:\/\/127\.0\.0\.1:\d+ answers HTTP 502: Could not determine the current leader; .* \(1 try, [2-4]\.\d s\)$/);
    expect(stepLine(out, "marathon-leader")).not.toContain("no answer within");
    expect(stepLine(out, "marathon-apps")).toContain("FAILED  no Marathon instance answers");
    expect(stepLine(out, "test-app")).toContain("skipped not tried: marathon-leader failed");
    expect(fake.requestsTo("marathon", "PUT")).toHaveLength(0);
  });

  test("401 from Marathon: without credentials, with wrong ones, and passing with the right ones; never retried", async () => {
    fake.scenario.marathonAuth = { username: "ops", password: "right" };
    const none = await smoke(flags(["--retries", "3"]));
    expect(none.code).toBe(1);
    // Marathon's 401 is Jetty's error page (reason "Unauthorized"), not JSON.
    expect(stepLine(none.out, "marathon-leader")).toMatch(/FAILED +Marathon at http:\/\/127\.0\.0\.1:\d+\/v2\/info requires credentials and none were given \(HTTP 401: Unauthorized\) \(1 try,/);
    const wrong = await smoke(flags(["--marathon-user", "ops"]), { MARATHON_PASSWORD: "wrong" });
    expect(stepLine(wrong.out, "marathon-apps")).toContain('refused the credentials of user "ops" (HTTP 401');
    expect(wrong.out.join("\n")).not.toContain("wrong");
    const right = await smoke(flags(["--marathon-user", "ops"]), { MARATHON_PASSWORD: "right" });
    expect(right.code).toBe(0);
    expect(fake.requestsTo("marathon").filter((r) => r.user === "ops").length).toBeGreaterThan(0);
  });

  test("401 from Mesos (authenticate_http_readonly, as ha's auth sets it) until its credentials are given", async () => {
    fake.scenario.mesosAuth = { username: "ops", password: "m" };
    const none = await smoke(flags());
    expect(stepLine(none.out, "mesos-leader")).toMatch(/FAILED +the Mesos master at http:\/\/127\.0\.0\.1:\d+\/master\/state requires credentials/);
    expect(stepLine(none.out, "runtime")).toMatch(/FAILED +the Mesos master at http:\/\/127\.0\.0\.1:\d+\/master\/state requires credentials/);
    expect(stepLine(none.out, "mesos-health")).toContain("ok"); // /master/health is routed without an authentication realm
    const right = await smoke(flags(["--mesos-user", "ops"]), { MESOS_PASSWORD: "m" });
    expect(right.code).toBe(0);
  });

  test("Swarm without Mesos offers", async () => {
    fake.scenario.swarmOffers = 0;
    const { code, out } = await smoke(flags());
    expect(code).toBe(1);
    // It looked for offers over the whole window (about 8 s) before saying so.
    expect(stepLine(out, "swarm")).toMatch(/FAILED +Swarm holds no Mesos offers \(2 agents expected; none in [5-9] looks over [67]\.\d s\) \(1 try, [67]\.\d s\)$/);
  });

  test("a master that does not answer", async () => {
    await fake.stop("mesos", 2);
    const { code, out } = await smoke(flags());
    expect(code).toBe(1);
    expect(stepLine(out, "mesos-health")).toMatch(/FAILED +http:\/\/127\.0\.0\.1:\d+ does not answer \(GET http:\/\/127\.0\.0\.1:\d+\/master\/health: ECONNREFUSED\)/);
    expect(stepLine(out, "mesos-leader")).toMatch(/ok +leader master@127\.0\.0\.1:\d+, 1 other redirect to it; http:\/\/127\.0\.0\.1:\d+ does not answer/);
  });
});

describe("the runtime step: the facts the cluster depends on, through the services' own APIs", () => {
  /** Runs smoke with the fake switched to `scenario`; the runtime step's progress line and the last line. */
  async function runtime(scenario: Partial<FakeScenario> = {}, extra: string[] = []): Promise<{ code: number; line: string; last: string; out: string[] }> {
    Object.assign(fake.scenario, scenario);
    const { code, out } = await smoke(flags(extra));
    return { code, line: stepLine(out, "runtime"), last: out[out.length - 1], out };
  }
  const agentPorts = () => fake.requestsTo("agent").map((r) => r.server);

  test("a healthy cluster: registry, quorum, versions, Swarm's checkpointing and every agent and engine", async () => {
    const { code, line } = await runtime();
    expect(code).toBe(0);
    expect(line).toMatch(/^\[7\/7\] runtime +ok +registry replicated_log; quorum 2 of 3 masters; work_dir \/var\/lib\/mesos; Mesos 1\.7\.1 with Marathon 1\.8\.244; swarm framework checkpoint true; 2 of 2 agents checked \(docker_mesos_image mesosphere\/mesos-slave:1\.7\.1, containerizers docker,mesos, engine MinAPIVersion 1\.12\) \(1 try,/);
    // The leader's /flags, each agent's /flags and each engine's /version, once each.
    expect(fake.requestsTo("mesos", "GET", /^\/flags$/).map((r) => r.server)).toEqual([0]);
    expect(fake.requestsTo("agent", "GET", /^\/flags$/).map((r) => r.server).sort()).toEqual([0, 1]);
    expect(fake.requestsTo("docker", "GET", /^\/version$/).map((r) => r.server).sort()).toEqual([0, 1]);
    expect(agentPorts()).toHaveLength(2);
  });

  test("a single master needs quorum 1; a Mesos 1.9 master takes Marathon 1.11", async () => {
    const single = await FakeCluster.start(1, { agents: 1, mesosVersion: "1.9.0", marathonVersion: "1.11.24" });
    try {
      const { code, out } = await smoke(["dev", "--mesos", single.mesosUrls[0], "--marathon", single.marathonUrls[0], "--swarm", single.swarmUrl, "--agents", "1", "--skip", "zookeeper", "--retries", "0", "--request-timeout", "1"]);
      expect(code).toBe(0);
      expect(stepLine(out, "runtime")).toMatch(/ok +registry replicated_log; quorum 1 of 1 master; .*Mesos 1\.9\.0 with Marathon 1\.11\.24; .*1 of 1 agent checked/);
    } finally {
      await single.close();
    }
  });

  test.each<[string, Partial<FakeScenario>, RegExp]>([
    ["the image's --registry=in_memory", { masterRegistry: "in_memory" }, /FAILED +master registry in_memory, not replicated_log: the masters forget agents and frameworks when they restart/],
    ["a quorum that is not a majority of the masters", { masterQuorum: 1 }, /FAILED +registry replicated_log; quorum 1, expected 2 for 3 masters;/],
    ["no work_dir", { masterWorkDir: "" }, /; master has no work_dir/],
    [
      "Marathon 1.11.24 on Mesos 1.7.1",
      { marathonVersion: "1.11.24" },
      /; Marathon 1\.11\.24 on Mesos 1\.7\.1: Marathon 1\.9\+ suppresses\/revives offers with UPDATE_FRAMEWORK, which Mesos added in 1\.9 \(MESOS-9793\); this master drops it;/,
    ],
    ["Swarm registered without checkpointing", { swarmCheckpoint: false }, /; swarm framework checkpoint false: an agent restart kills Swarm's containers/],
    ["no Swarm framework", { swarmFramework: false }, /; no framework named swarm is registered \(frameworks: marathon\)/],
    [
      "agents without docker_mesos_image",
      { agentDockerMesosImage: "" },
      /; no docker_mesos_image on agents 10\.20\.16\.4 \(127\.0\.0\.1:\d+\), 10\.20\.16\.5 \(127\.0\.0\.1:\d+\): executors are forked inside the agent's container and die at every agent restart; 2 of 2 agents checked \(docker_mesos_image unset, containerizers/,
    ],
    ["agents without the docker containerizer", { agentContainerizers: "mesos" }, /; containerizers "mesos", without docker on agents 10\.20\.16\.4 \(127\.0\.0\.1:\d+\), 10\.20\.16\.5 .*: the Docker tasks of Marathon and Swarm cannot run/],
    ["engines that refuse API 1.15 (Docker 25's default floor)", { engineMinApi: "1.24" }, /; engine MinAPIVersion 1\.24, above 1\.15 on agents 10\.20\.16\.4 \(127\.0\.0\.1:\d+\), 10\.20\.16\.5 \(127\.0\.0\.1:\d+\): it refuses classic Swarm's calls/],
  ])("%s fails the step, naming it", async (_, scenario, expected) => {
    const { code, line, last } = await runtime(scenario);
    expect(code).toBe(1);
    expect(line).toMatch(/^\[7\/7\] runtime +FAILED /);
    expect(line).toMatch(expected);
    expect(last).toBe("smoke: FAILED at runtime");
  });

  test("a wrong value it read is not retried; a Swarm framework that registers late is waited for", async () => {
    const wrong = await runtime({ masterRegistry: "in_memory" }, ["--retries", "3"]);
    expect(wrong.line).toMatch(/FAILED .* \(1 try,/);
    fake.scenario.masterRegistry = "replicated_log";
    fake.scenario.swarmFramework = false;
    fake.onRequest = (r) => {
      if (r.service === "agent") fake.scenario.swarmFramework = true; // after the first runtime try read the state
    };
    const late = await runtime({}, ["--retries", "3"]);
    expect(late.code).toBe(0);
    expect(late.out.some((l) => /^ +runtime: .*no framework named swarm is registered .*; retry 1 of 3 in 0\.02 s$/.test(l))).toBe(true);
    expect(late.line).toMatch(/ok +.*swarm framework checkpoint true; .* \(2 tries,/);
  });

  test("agents this machine cannot reach are listed, not failed", async () => {
    const one = await runtime({ unreachableAgents: 1 });
    expect(one.code).toBe(0);
    expect(one.line).toMatch(/ok +.*; 1 of 2 agents checked \(.*\), 1 unreachable: 10\.20\.16\.5 \(127\.0\.0\.1:\d+\) not reachable from this machine \(run smoke inside the network to check it\) \(1 try,/);
    expect(agentPorts()).toEqual([0]);
    const none = await runtime({ unreachableAgents: 2 });
    expect(none.code).toBe(0);
    expect(none.line).toMatch(/0 of 2 agents checked \(docker_mesos_image -, containerizers -, engine MinAPIVersion -\), 2 unreachable: 10\.20\.16\.4 \(127\.0\.0\.1:\d+\), 10\.20\.16\.5 \(127\.0\.0\.1:\d+\) not reachable from this machine \(run smoke inside the network to check them\)/);
  });

  test("a reachable agent with a wrong value still fails beside an unreachable one", async () => {
    const { code, line } = await runtime({ unreachableAgents: 1, agentDockerMesosImage: "" });
    expect(code).toBe(1);
    expect(line).toMatch(/FAILED .*; no docker_mesos_image on agent 10\.20\.16\.4 \(127\.0\.0\.1:\d+\): executors .*; 1 of 2 agents checked .*1 unreachable: 10\.20\.16\.5/);
  });

  test("the masters' /flags get the Mesos credentials; agents' do not (each has its own), and an agent that asks for one is listed, not failed", async () => {
    const ops = { username: "ops", password: "m" };
    fake.scenario.mesosAuth = ops;
    const { code, out } = await smoke(flags(["--mesos-user", "ops"]), { MESOS_PASSWORD: "m" });
    expect(code).toBe(0);
    expect(stepLine(out, "runtime")).toContain("2 of 2 agents checked");
    expect(fake.requestsTo("agent").map((r) => r.user)).toEqual([undefined, undefined]);
    expect(fake.requestsTo("mesos", "GET", /^\/flags$/).map((r) => r.user)).toEqual(["ops"]);
    // Agents with HTTP authentication (MesosAgentPool httpAuthentication) answer 401: read on the agent, not a failure.
    fake.scenario.agentAuth = { username: "operator", password: "generated-on-the-agent" };
    const locked = await smoke(flags(["--mesos-user", "ops"]), { MESOS_PASSWORD: "m" });
    expect(locked.code).toBe(0);
    expect(stepLine(locked.out, "runtime")).toMatch(/ ok .*0 of 2 agents checked .*, 2 with HTTP authentication \(their \/flags need each agent's own credential, root-only on the agent\): 10\.20\.16\.4 \(127\.0\.0\.1:\d+\), 10\.20\.16\.5/);
  });

  test("--skip runtime leaves it out; so does skipping every Mesos step", async () => {
    const skipped = await smoke(flags(["--skip", "zookeeper,runtime"]));
    expect(skipped.code).toBe(0);
    expect(skipped.out.some((l) => / runtime /.test(l))).toBe(false);
    expect(skipped.out[skipped.out.length - 1]).toBe("smoke: all 6 steps passed");
    expect(fake.requestsTo("mesos", "GET", /^\/flags$/)).toHaveLength(0);
    expect(fake.requestsTo("agent")).toHaveLength(0);
    const noMesos = await smoke(flags(["--skip", "zookeeper,mesos-health,mesos-leader,mesos-agents"]));
    expect(noMesos.out.some((l) => / runtime /.test(l))).toBe(false);
    expect(noMesos.out[noMesos.out.length - 1]).toBe("smoke: all 3 steps passed");
  });

  test("with the swarm step skipped it still checks Swarm's framework when --swarm is given, else says Swarm was not checked", async () => {
    const given = await smoke(flags(["--skip", "zookeeper,swarm"]));
    expect(stepLine(given.out, "runtime")).toMatch(/ok .*swarm framework checkpoint true; .*engine MinAPIVersion 1\.12/);
    const argv = flags(["--skip", "zookeeper,swarm"]);
    argv.splice(argv.indexOf("--swarm"), 2);
    fake.requests.length = 0;
    const none = await smoke(argv);
    expect(none.code).toBe(0);
    expect(stepLine(none.out, "runtime")).toMatch(/ok .*Swarm not checked \(no Swarm endpoint\); 2 of 2 agents checked \(docker_mesos_image mesosphere\/mesos-slave:1\.7\.1, containerizers docker,mesos\)/);
    expect(fake.requestsTo("docker")).toHaveLength(0);
  });

  test("only smoke asks for it: the readiness gate's checks have no runtime step", () => {
    const names = (checkRuntime?: boolean) => clusterChecks({ mesos: [], marathon: [], swarm: ["http://127.0.0.1:1"], expectedAgents: 0, checkRuntime }).map((c) => c.name);
    expect(names()).not.toContain("runtime");
    expect(names(true)).toEqual(["mesos-health", "mesos-leader", "mesos-agents", "marathon-leader", "marathon-apps", "swarm", "runtime"]);
  });
});

describe("the discovery walk: a Redis app through Marathon, Mesos-DNS and marathon-lb (project issue 14)", () => {
  const WALK = ["redis-deploy", "redis-tasks", "endpoints", "dns-srv", "ping-direct", "ping-lb", "redis-remove"];

  /** Smoke with the fake's Mesos-DNS and marathon-lb; the walk's lines by step. */
  async function walk(extra: string[] = [], withLb = true): Promise<{ code: number; out: string[]; line: (step: string) => string; servicePort: number }> {
    const { dns, lbHost } = await fake.startDiscovery();
    const servicePort = await freePort();
    const lb = withLb ? ["--lb", lbHost, "--lb-service-port", String(servicePort)] : [];
    const { code, out } = await smoke(flags(["--skip", "zookeeper,runtime", "--dns", dns, ...lb, "--discovery-timeout", "0.3", ...extra]));
    return { code, out, line: (step) => stepLine(out, step), servicePort };
  }

  test("passes: deployed, both tasks running, listed, resolved through Mesos-DNS, PINGed directly and through marathon-lb, removed", async () => {
    const { code, out, line, servicePort } = await walk();
    expect(code).toBe(0);
    WALK.forEach((step, i) => expect(line(step)).toMatch(new RegExp(`^\\[${7 + i}/13\\] ${step} +ok `)));
    const put = fake.requestsTo("marathon", "PUT")[0];
    const id = put.path.replace("/v2/apps", "");
    expect(id).toMatch(/^\/smoke-test\/redis-[0-9a-f]{6}$/);
    const label = `${id.split("/")[2]}-smoke-test`;
    expect(JSON.parse(put.body)).toMatchObject({
      instances: 2,
      args: ["redis-server", "--save", "", "--appendonly", "no"],
      container: { docker: { image: "redis:7.2.5", parameters: [{ key: "user", value: "65534:65534" }] }, portMappings: [{ containerPort: 6379, hostPort: 0, servicePort, name: "redis" }] },
      networks: [{ mode: "container/bridge" }],
      labels: { HAPROXY_GROUP: "external" },
    });
    expect(line("redis-deploy")).toContain(`created ${id}: 2 instances of redis:7.2.5, container port 6379 on a host port, service port ${servicePort} for marathon-lb group external`);
    expect(line("redis-tasks")).toMatch(/ok +2 of 2 tasks running: 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ /);
    // The endpoints step prints the table npm run endpoints prints.
    expect(out).toContain(`      ${id}: 2 of 2 instances running (redis:7.2.5, container/bridge)`);
    expect(out.some((l) => new RegExp(`^ {8}dns SRV +_${label}\\._tcp\\.marathon\\.mesos +each task's host port \\(tcp\\)$`).test(l))).toBe(true);
    expect(line("endpoints")).toContain(`; Mesos-DNS ${label}.marathon.mesos, SRV _${label}._tcp.marathon.mesos; marathon-lb 127.0.0.1:${servicePort}`);
    expect(line("dns-srv")).toMatch(new RegExp(`ok +_${label}\\._tcp\\.marathon\\.mesos at 127\\.0\\.0\\.1:\\d+: 2 SRV records 127\\.0\\.0\\.1:\\d+, 127\\.0\\.0\\.1:\\d+, the tasks' host ports`));
    expect(fake.dnsQueries).toContain(`SRV _${label}._tcp.marathon.mesos`);
    expect(line("ping-direct")).toMatch(/ok +\+PONG from instance smoke-test_redis-[0-9a-f]{6}\.instance-[0-9a-f-]+\._app\.1 at 127\.0\.0\.1:\d+ /);
    expect(line("ping-lb")).toContain(`ok      +PONG from marathon-lb (group external, service port ${servicePort}) at 127.0.0.1:${servicePort}`);
    expect(line("redis-remove")).toContain(`ok      removed ${id}`);
    expect(fake.requestsTo("marathon", "DELETE").map((r) => r.path)).toEqual([put.path]);
    expect(fake.apps.size).toBe(0);
    expect(out[out.length - 1]).toBe("smoke: all 13 steps passed");
  });

  test("SRV record missing (Mesos-DNS has not read the tasks): dns-srv fails saying what it expected and saw; the app is removed", async () => {
    fake.scenario.mesosDns = "stale";
    const { code, out, line } = await walk();
    expect(code).toBe(1);
    expect(line("dns-srv")).toMatch(
      /FAILED +expected _redis-[0-9a-f]{6}-smoke-test\._tcp\.marathon\.mesos to list the tasks' 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+; saw _redis-[0-9a-f]{6}-smoke-test\._tcp\.marathon\.mesos at 127\.0\.0\.1:\d+: no record \(NOERROR, empty answer\), after \d+\.\d s \(Mesos-DNS reads Mesos every refreshSeconds; --discovery-timeout waits longer\)/,
    );
    expect(line("ping-direct")).toContain(" ok ");
    expect(line("redis-remove")).toContain(" ok ");
    expect(fake.apps.size).toBe(0);
    expect(out[out.length - 1]).toBe("smoke: FAILED at dns-srv");
  });

  test("PING fails: a reply other than +PONG, directly and through marathon-lb; marathon-lb without backends closes the connection", async () => {
    fake.scenario.redisReply = "-NOAUTH Authentication required.\r\n";
    const refused = await walk();
    expect(refused.code).toBe(1);
    expect(refused.line("ping-direct")).toMatch(/FAILED +expected \+PONG from instance \S+; saw 127\.0\.0\.1:\d+ replied "-NOAUTH Authentication required\." \(for \d+\.\d s\)/);
    expect(refused.line("ping-lb")).toMatch(/FAILED +expected \+PONG from marathon-lb \(group external, service port \d+\); saw 127\.0\.0\.1:\d+ replied "-NOAUTH Authentication required\."/);
    expect(refused.out[refused.out.length - 1]).toBe("smoke: FAILED at ping-direct, ping-lb");
    fake.scenario.redisReply = "+PONG\r\n";
    fake.scenario.lbServes = false;
    const empty = await walk();
    expect(empty.line("ping-direct")).toContain(" ok ");
    expect(empty.line("ping-lb")).toMatch(/FAILED +expected \+PONG from marathon-lb \(group external, service port \d+\); saw 127\.0\.0\.1:\d+ the connection closed without a reply/);
  });

  test("Mesos-DNS that does not answer: skipped (not checked from here) when the outputs named it, FAILED when --dns did", async () => {
    fake.scenario.mesosDns = "silent";
    const { dns } = await fake.startDiscovery();
    const named = await walk(["--request-timeout", "0.2"], false);
    expect(named.line("dns-srv")).toMatch(new RegExp(`FAILED +no Mesos-DNS server answered \\(127\\.0\\.0\\.1:\\d+: no answer to SRV \\S+ within 200 ms\\): expected an answer from --dns ${dns.replace(/\./g, "\\.")}`));
    expect(named.line("ping-lb")).toContain("skipped the stack runs no marathon-lb (discovery dns): nothing to PING through");
    const file = join(mkdtempSync(join(tmpdir(), "smoke-outputs-")), "outputs.json");
    writeFileSync(file, JSON.stringify({ discovery: { value: { domain: "mesos", dns_servers: [dns] } } }));
    const argv = flags(["--skip", "zookeeper,runtime", "--outputs", file, "--request-timeout", "0.2", "--discovery-timeout", "0.5"]);
    const fromOutputs = await smoke(["ha", "--outputs", file, ...argv.slice(1)]);
    expect(stepLine(fromOutputs.out, "dns-srv")).toMatch(/skipped not checked from this machine: no Mesos-DNS server answered .*; port 53 is open inside the cluster only: run smoke on a machine inside its network, or give --dns HOST:PORT/);
    expect(fromOutputs.code).toBe(0);
  });

  test("a deployment Marathon refuses: the walk stops there, names why, and still removes what it may have created", async () => {
    fake.scenario.refuseDefinitions = true;
    const { code, line, out } = await walk();
    expect(code).toBe(1);
    expect(line("redis-deploy")).toMatch(/FAILED +Marathon at \S+ refused the definition of \/smoke-test\/redis-[0-9a-f]{6} \(HTTP 422\)/);
    for (const step of ["redis-tasks", "endpoints", "dns-srv", "ping-direct", "ping-lb"]) expect(line(step)).toContain("skipped not tried: redis-deploy failed");
    expect(line("redis-remove")).toMatch(/ok +\/smoke-test\/redis-[0-9a-f]{6} was already gone/);
    expect(out[out.length - 1]).toBe("smoke: FAILED at redis-deploy");
  });

  test("only with discovery: a run without --dns or a discovery output has no walk; --skip discovery leaves it out", async () => {
    const plain = await smoke(flags(["--skip", "zookeeper,runtime"]));
    expect(plain.out.some((l) => / redis-deploy /.test(l))).toBe(false);
    const { dns } = await fake.startDiscovery();
    const skipped = await smoke(flags(["--skip", "zookeeper,runtime,discovery", "--dns", dns]));
    expect(skipped.out[skipped.out.length - 1]).toBe("smoke: all 6 steps passed");
    expect(fake.requestsTo("marathon", "PUT")).toHaveLength(0);
  });
});

describe("where the cluster is", () => {
  test("from `terraform output -json`: public and private addresses are both tried, credentials come from the outputs", async () => {
    fake.scenario.marathonAuth = { username: "admin", password: "from-state" };
    const port = (url: string) => new URL(url).port;
    const outputs = {
      master_private_ips: { sensitive: false, type: ["list", "string"], value: ["127.0.0.1"] },
      // A public address where nothing listens: the private one answers.
      master_public_ips: { sensitive: false, type: ["list", "string"], value: ["127.0.0.2"] },
      zookeeper_connect_string: { sensitive: false, type: "string", value: "127.0.0.1:1" },
      mesos_urls: { sensitive: false, type: ["list", "string"], value: fake.mesosUrls },
      marathon_urls: { sensitive: false, type: ["list", "string"], value: fake.marathonUrls },
      docker_host: { sensitive: false, type: "string", value: `tcp://127.0.0.1:${port(fake.swarmUrl)}` },
      mesos_agent_count: { sensitive: false, type: "number", value: 2 },
      marathon_username: { sensitive: false, type: "string", value: "admin" },
      marathon_password: { sensitive: true, type: "string", value: "from-state" },
    };
    const file = join(mkdtempSync(join(tmpdir(), "smoke-outputs-")), "outputs.json");
    writeFileSync(file, JSON.stringify(outputs));
    const options = parseSmokeArgs(["ha", "--outputs", file], {});
    const { endpoints, source } = resolveEndpoints(options, () => loadOutputs(options));
    expect(source).toBe(file);
    expect(endpoints.mesos[0]).toEqual([fake.mesosUrls[0], fake.mesosUrls[0].replace("127.0.0.1", "127.0.0.2")]);
    expect(endpoints.swarm).toEqual([`http://127.0.0.1:${port(fake.swarmUrl)}`, `http://127.0.0.2:${port(fake.swarmUrl)}`]);
    expect(endpoints.zookeeper).toEqual([["127.0.0.1:1", "127.0.0.2:1"]]);
    expect(endpoints.marathonCredentials).toEqual({ username: "admin", password: "from-state" });
    const { code, out } = await smoke(["ha", "--outputs", file, "--skip", "zookeeper", "--retries", "0", "--request-timeout", "1"]);
    expect(out.join("\n")).not.toContain("from-state");
    expect(code).toBe(0);
  });

  test("from cdktf's outputs file (values by stack, then output name)", () => {
    const file = join(mkdtempSync(join(tmpdir(), "smoke-outputs-")), "cdktf-outputs.json");
    writeFileSync(file, JSON.stringify({ dev: { mesos_urls: ["http://10.20.0.10:5050"], marathon_urls: ["http://10.20.0.10:8080"], mesos_agent_count: 2 } }));
    const options = parseSmokeArgs(["dev", "--outputs", file, "--skip", "zookeeper,swarm"], {});
    const { endpoints } = resolveEndpoints(options, () => loadOutputs(options));
    expect(endpoints).toMatchObject({ mesos: [["http://10.20.0.10:5050"]], marathon: [["http://10.20.0.10:8080"]], expectedAgents: 2 });
  });

  test("from the synthesized stack when there is no state: the literal private addresses", () => {
    const outdir = mkdtempSync(join(tmpdir(), "smoke-synth-"));
    const app = new App({ outdir });
    new MesosClusterStack(app, "ha", { profile: "ha", auth: false, sshPublicKey: TEST_SSH_KEY });
    app.synth();
    const options = parseSmokeArgs(["ha", "--synth-dir", outdir, "--terraform", "none"], {});
    const { endpoints, source } = resolveEndpoints(options, () => loadOutputs(options));
    expect(source).toContain("literal values only");
    expect(endpoints.mesos).toEqual([["http://10.20.0.10:5050"], ["http://10.20.0.11:5050"], ["http://10.20.0.12:5050"]]);
    expect(endpoints.marathon.map((s) => s[0])).toEqual(["http://10.20.0.10:8080", "http://10.20.0.11:8080", "http://10.20.0.12:8080"]);
    expect(endpoints.zookeeper).toEqual([["10.20.0.10:2181"], ["10.20.0.11:2181"], ["10.20.0.12:2181"]]);
    expect(endpoints.swarm).toEqual(["http://10.20.0.10:2375"]);
    expect(endpoints.swarmTls).toBeUndefined();
    expect(endpoints.expectedAgents).toBe(3);
  });

  test("a stack never deployed from here (local backend, no state file) fails at once, exit 2, saying what to do", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "smoke-synth-"));
    const app = new App({ outdir });
    new MesosClusterStack(app, "dev", { profile: "dev", sshPublicKey: TEST_SSH_KEY });
    app.synth();
    const { code, out, err } = await smoke(["dev", "--synth-dir", outdir]);
    expect(code).toBe(2);
    expect(err[0]).toMatch(/^smoke: stack dev was never deployed from here: no state at \S+terraform\.dev\.tfstate \(run `npx cdktf deploy dev`, or give --outputs FILE or the endpoints as flags/);
    // It failed before any step: no progress line, so nothing was tried or retried.
    expect(out.filter((l) => /^\[\d+\/\d+\]/.test(l))).toEqual([]);
  });

  test("with auth and Swarm TLS (ha's defaults): passwords from the environment, certificates from DOCKER_CERT_PATH", () => {
    const outdir = mkdtempSync(join(tmpdir(), "smoke-synth-"));
    const app = new App({ outdir });
    new MesosClusterStack(app, "ha", { profile: "ha", sshPublicKey: TEST_SSH_KEY });
    app.synth();
    // ha's Mesos and Marathon URLs are https (the masters' TLS proxy): their CA comes from --tls-ca or the tls_ca_pem output.
    const caFile = join(mkdtempSync(join(tmpdir(), "cluster-ca-")), "ca.pem");
    writeFileSync(caFile, "cluster ca pem");
    const args = ["ha", "--synth-dir", outdir, "--terraform", "none", "--tls-ca", caFile];
    const resolve = (env: NodeJS.ProcessEnv, argv = args) => {
      const options = parseSmokeArgs(argv, env);
      return resolveEndpoints(options, () => loadOutputs(options)).endpoints;
    };
    expect(() => resolve({}, args.slice(0, -2))).toThrow("--mesos URLs are https: give --tls-ca FILE (the cluster's CA), or outputs with tls_ca_pem");
    // Without the client certificate or the passwords, smoke says what it needs.
    expect(() => resolve({})).toThrow("the Swarm API has TLS: give --swarm-cert-path (or DOCKER_CERT_PATH)");
    const certs = mkdtempSync(join(tmpdir(), "docker-certs-"));
    for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(certs, f), `${f} pem`);
    expect(() => resolve({ DOCKER_CERT_PATH: certs })).toThrow("a marathon user is given but no password: set MARATHON_PASSWORD");
    const endpoints = resolve({ DOCKER_CERT_PATH: certs, MARATHON_PASSWORD: "m-secret", MESOS_PASSWORD: "s-secret" });
    expect(endpoints.swarm).toEqual(["https://10.20.0.10:2376"]);
    expect(endpoints.mesos).toEqual(["10.20.0.10", "10.20.0.11", "10.20.0.12"].map((ip) => [`https://${ip}:5443`]));
    expect(endpoints.marathon).toEqual(["10.20.0.10", "10.20.0.11", "10.20.0.12"].map((ip) => [`https://${ip}:8443`]));
    expect(endpoints.mesosTls).toEqual({ ca: "cluster ca pem" });
    expect(endpoints.marathonTls).toEqual({ ca: "cluster ca pem" });
    expect(endpoints.swarmTls).toEqual({ ca: "ca.pem pem", cert: "cert.pem pem", key: "key.pem pem" });
    expect(endpoints.marathonCredentials).toEqual({ username: "admin", password: "m-secret" });
    expect(endpoints.mesosCredentials).toEqual({ username: "admin", password: "s-secret" });
  });

  test("--help prints the usage and succeeds", async () => {
    const { code, out } = await smoke(["--help"]);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^usage: npm run smoke -- <stack> \[options\]/);
  });

  test("misuse exits 2 with the reason and the usage", async () => {
    for (const [argv, reason] of [
      [[], "smoke: name the stack, e.g. dev"],
      [["dev", "--bogus"], "smoke: unknown option --bogus"],
      [["dev", "--via", "vpn"], 'smoke: --via must be both, private or public, not "vpn"'],
      [["dev", "--skip", "mesos"], 'smoke: --skip: no step "mesos"'],
      [["dev", "--synth-dir", "/nonexistent"], "smoke: no synthesized stack dev at /nonexistent/stacks/dev/cdk.tf.json"],
      [["dev", "--marathon-user", "ops", "--mesos", "x", "--marathon", "y", "--agents", "1", "--skip", "zookeeper,swarm"], "smoke: a marathon user is given but no password: set MARATHON_PASSWORD"],
    ] as [string[], string][]) {
      const { code, err } = await smoke(argv);
      expect(code).toBe(2);
      expect(err[0]).toContain(reason);
      expect(err[1]).toMatch(/^usage: npm run smoke -- <stack>/);
    }
  });
});

describe("as a command", () => {
  function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [join(ROOT, "scripts", "run-ts.js"), join(ROOT, "scripts", "smoke.ts"), ...args], { cwd: ROOT, timeout: 30000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (error as NodeJS.ErrnoException & { code?: number }).code ?? 1 : 0, stdout, stderr }),
      );
    });
  }

  test("exits 0 when every step passes and 1 naming the failing steps", async () => {
    const ok = await run(flags());
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim().split("\n").pop()).toBe("smoke: all 7 steps passed");
    fake.scenario.mesosLeader = null;
    const failed = await run(flags());
    expect(failed.code).toBe(1);
    expect(failed.stdout.trim().split("\n").pop()).toBe("smoke: FAILED at mesos-leader, mesos-agents, runtime");
  });
});
