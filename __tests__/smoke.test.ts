/**
 * `npm run smoke` against fake Mesos masters, Marathon instances and a Swarm
 * manager on loopback (recorded response shapes): it passes on a healthy
 * cluster and fails naming the step in each failure case. In-process for
 * speed; once as a subprocess for the exit codes.
 */
import { execFile } from "child_process";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App } from "cdktf";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { loadOutputs, parseSmokeArgs, resolveEndpoints, smokeMain } from "../scripts/lib/smoke";
import { FakeCluster } from "./helpers/fake-cluster";
import { TEST_SSH_KEY } from "./helpers/synth";

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
    const steps = ["mesos-health", "mesos-leader", "mesos-agents", "marathon-leader", "marathon-apps", "swarm"];
    steps.forEach((s, i) => expect(stepLine(out, s)).toMatch(new RegExp(`^\\[${i + 1}/6\\] ${s} +ok `)));
    expect(stepLine(out, "mesos-health")).toContain("3 of 3 masters healthy");
    expect(stepLine(out, "mesos-leader")).toMatch(/leader master@127\.0\.0\.1:\d+, 2 others redirect to it/);
    expect(stepLine(out, "mesos-agents")).toContain("2 of 2 agents registered (10.20.16.4, 10.20.16.5)");
    expect(stepLine(out, "marathon-leader")).toMatch(/leader 127\.0\.0\.1:\d+; 3 of 3 instances agree/);
    expect(stepLine(out, "swarm")).toContain("primary, 2 Mesos offers");
    const table = out.slice(out.indexOf("") + 1, -1);
    expect(table[0]).toMatch(/^step +result +tries +time +what was checked +detail$/);
    expect(table.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual(steps.map((s) => `${s} ok`));
    expect(out[out.length - 1]).toBe("smoke: all 6 steps passed");
    // Mesos was asked without following the redirect to the leader's private name.
    expect(fake.requestsTo("mesos", "GET", /^\/master\/state$/).map((r) => r.server).sort()).toEqual([0, 0, 1, 1, 2, 2]);
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

describe("each failure names the failing step and why", () => {
  test("no Mesos leader", async () => {
    fake.scenario.mesosLeader = null;
    const { code, out } = await smoke(flags());
    expect(code).toBe(1);
    expect(stepLine(out, "mesos-leader")).toMatch(/FAILED +no leading master; http:\/\/127\.0\.0\.1:\d+ answers HTTP 503: No leader elected/);
    expect(stepLine(out, "mesos-agents")).toContain("FAILED  no leader to ask");
    expect(stepLine(out, "mesos-health")).toContain("ok");
    expect(out[out.length - 1]).toBe("smoke: FAILED at mesos-leader, mesos-agents");
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

  test("no Marathon leader", async () => {
    fake.scenario.marathonLeader = null;
    const { code, out } = await smoke(flags(["--deploy-test-app"]));
    expect(code).toBe(1);
    expect(stepLine(out, "marathon-leader")).toMatch(/FAILED +http:\/\/127\.0\.0\.1:\d+ answers HTTP 503: HTTP ERROR 503 Reason: Could not determine the current leader/);
    expect(stepLine(out, "marathon-apps")).toContain("FAILED  no Marathon instance answers");
    expect(stepLine(out, "test-app")).toContain("skipped not tried: marathon-leader failed");
    expect(fake.requestsTo("marathon", "PUT")).toHaveLength(0);
  });

  test("401 from Marathon: without credentials, with wrong ones, and passing with the right ones; never retried", async () => {
    fake.scenario.marathonAuth = { username: "ops", password: "right" };
    const none = await smoke(flags(["--retries", "3"]));
    expect(none.code).toBe(1);
    expect(stepLine(none.out, "marathon-leader")).toMatch(/FAILED +Marathon at http:\/\/127\.0\.0\.1:\d+\/v2\/info requires credentials and none were given \(HTTP 401: Invalid username or password\.\) \(1 try,/);
    const wrong = await smoke(flags(["--marathon-user", "ops"]), { MARATHON_PASSWORD: "wrong" });
    expect(stepLine(wrong.out, "marathon-apps")).toContain('refused the credentials of user "ops" (HTTP 401');
    expect(wrong.out.join("\n")).not.toContain("wrong");
    const right = await smoke(flags(["--marathon-user", "ops"]), { MARATHON_PASSWORD: "right" });
    expect(right.code).toBe(0);
    expect(fake.requestsTo("marathon").filter((r) => r.user === "ops").length).toBeGreaterThan(0);
  });

  test("401 from Mesos until its credentials are given", async () => {
    fake.scenario.mesosAuth = { username: "ops", password: "m" };
    const none = await smoke(flags());
    expect(stepLine(none.out, "mesos-leader")).toMatch(/FAILED +the Mesos master at http:\/\/127\.0\.0\.1:\d+\/master\/state requires credentials/);
    expect(stepLine(none.out, "mesos-health")).toContain("ok"); // /master/health needs no credentials
    const right = await smoke(flags(["--mesos-user", "ops"]), { MESOS_PASSWORD: "m" });
    expect(right.code).toBe(0);
  });

  test("Swarm without Mesos offers", async () => {
    fake.scenario.swarmOffers = 0;
    const { code, out } = await smoke(flags());
    expect(code).toBe(1);
    expect(stepLine(out, "swarm")).toContain("FAILED  Swarm holds no Mesos offers (2 agents expected)");
  });

  test("a master that does not answer", async () => {
    await fake.stop("mesos", 2);
    const { code, out } = await smoke(flags());
    expect(code).toBe(1);
    expect(stepLine(out, "mesos-health")).toMatch(/FAILED +http:\/\/127\.0\.0\.1:\d+ does not answer \(GET http:\/\/127\.0\.0\.1:\d+\/master\/health: ECONNREFUSED\)/);
    expect(stepLine(out, "mesos-leader")).toMatch(/ok +leader master@127\.0\.0\.1:\d+, 1 other redirect to it; http:\/\/127\.0\.0\.1:\d+ does not answer/);
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

  test("with auth and Swarm TLS (ha's defaults): passwords from the environment, certificates from DOCKER_CERT_PATH", () => {
    const outdir = mkdtempSync(join(tmpdir(), "smoke-synth-"));
    const app = new App({ outdir });
    new MesosClusterStack(app, "ha", { profile: "ha", sshPublicKey: TEST_SSH_KEY });
    app.synth();
    const args = ["ha", "--synth-dir", outdir, "--terraform", "none"];
    const resolve = (env: NodeJS.ProcessEnv) => {
      const options = parseSmokeArgs(args, env);
      return resolveEndpoints(options, () => loadOutputs(options)).endpoints;
    };
    // Without the client certificate or the passwords, smoke says what it needs.
    expect(() => resolve({})).toThrow("the Swarm API has TLS: give --swarm-cert-path (or DOCKER_CERT_PATH)");
    const certs = mkdtempSync(join(tmpdir(), "docker-certs-"));
    for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(certs, f), `${f} pem`);
    expect(() => resolve({ DOCKER_CERT_PATH: certs })).toThrow("a marathon user is given but no password: set MARATHON_PASSWORD");
    const endpoints = resolve({ DOCKER_CERT_PATH: certs, MARATHON_PASSWORD: "m-secret", MESOS_PASSWORD: "s-secret" });
    expect(endpoints.swarm).toEqual(["https://10.20.0.10:2376"]);
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
    expect(ok.stdout.trim().split("\n").pop()).toBe("smoke: all 6 steps passed");
    fake.scenario.mesosLeader = null;
    const failed = await run(flags());
    expect(failed.code).toBe(1);
    expect(failed.stdout.trim().split("\n").pop()).toBe("smoke: FAILED at mesos-leader, mesos-agents");
  });
});
