/**
 * The operations client (constructs/cluster-client) against fakes that answer
 * like the pinned services (apache/mesos 1.7.1, mesosphere/marathon v1.8.244,
 * docker-archive/classicswarm v1.2.8; each fake handler cites its upstream
 * file), one block per point of project issue 16:
 *
 * 1. non-leading masters redirect to the leader's advertised hostname, not its pid;
 * 2. Marathon's 403 is "too many deployments", not a credentials problem;
 * 3. Swarm holds each offer 30 s, declines it, and sees none for ~6 s;
 * 4. Marathon's DELETE is forced by default and cancels a deployment in flight;
 * 5. Marathon without a leader waits 2.75 s, then answers 502;
 * 6. Marathon's 401 is Jetty's page with `WWW-Authenticate: basic realm="Mesosphere"`;
 *    `/v2/info` is proxied to the leader from every instance;
 * 7. Marathon checks the body's content type, JSON and definition, and takes the path's id;
 * 8. with `authenticate_http_readonly` the masters' read-only endpoints need credentials, /health does not.
 *
 * CLUSTER_CLIENT_DIR=<folder> runs the client of that folder instead of
 * constructs/cluster-client (e.g. a copy of an older commit's), to show which of
 * these the older client gets wrong.
 */
import { execFile } from "child_process";
import { join, resolve } from "path";
import { FakeCluster, marathonAppSchemaProblems, SWARM_OFFER_GAP_MS, SWARM_OFFER_HOLD_MS } from "./helpers/fake-cluster";

const CLIENT_DIR = process.env.CLUSTER_CLIENT_DIR ? resolve(process.env.CLUSTER_CLIENT_DIR) : join(__dirname, "..", "constructs", "cluster-client");
/* eslint-disable @typescript-eslint/no-var-requires */
const http = require(join(CLIENT_DIR, "http.js")) as typeof import("../constructs/cluster-client/http");
const checks = require(join(CLIENT_DIR, "checks.js")) as typeof import("../constructs/cluster-client/checks");
const marathon = require(join(CLIENT_DIR, "marathon.js")) as typeof import("../constructs/cluster-client/marathon");

const WEB = { id: "/web", cmd: "sleep 3600", instances: 1, cpus: 0.1, mem: 32 };

let fake: FakeCluster;
afterEach(async () => {
  await fake?.close();
});

function schedule(ms = 10000, lines: string[] = []) {
  return { deadline: Date.now() + ms, pollMs: 20, log: (l: string) => lines.push(l) };
}

/** Runs one named check of `clusterChecks` once. */
async function runCheck(name: string, endpoints: Parameters<typeof checks.clusterChecks>[0]) {
  const check = checks.clusterChecks(endpoints).find((c) => c.name === name);
  if (!check) throw new Error(`no check ${name}`);
  return check.run();
}

/** `node cli.js ACTION` of the client under test, with `env` only. */
function cli(action: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(CLIENT_DIR, "cli.js"), action], { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30000 }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const HOSTNAMES = ["mesos-m0.cluster.internal", "mesos-m1.cluster.internal", "mesos-m2.cluster.internal"];

describe("1. the Mesos leader: non-leaders redirect to //<leader_info.hostname>:<port>", () => {
  test("the fake redirects as Mesos' Master::Http::redirect does: the leader's MasterInfo.hostname, its port, the request's path and query", async () => {
    fake = await FakeCluster.start(3, { mesosLeader: 1, mesosHostnames: HOSTNAMES });
    const redirect = await http.request(`${fake.mesosUrls[2]}/master/state?jsonp=cb`);
    expect(redirect.status).toBe(307);
    expect(redirect.headers.location).toBe(`//mesos-m1.cluster.internal:${fake.mesosPort(1)}/master/state?jsonp=cb`);
    const state = JSON.parse((await http.request(`${fake.mesosUrls[1]}/master/state`)).body);
    expect(state).toMatchObject({
      pid: `master@127.0.0.1:${fake.mesosPort(1)}`,
      leader: `master@127.0.0.1:${fake.mesosPort(1)}`,
      hostname: "mesos-m1.cluster.internal",
      leader_info: { pid: `master@127.0.0.1:${fake.mesosPort(1)}`, hostname: "mesos-m1.cluster.internal", port: fake.mesosPort(1) },
    });
  });

  test("a leader whose hostname is not its pid address is found (the old client said 'masters disagree')", async () => {
    fake = await FakeCluster.start(3, { mesosLeader: 1, mesosHostnames: HOSTNAMES });
    const result = await checks.findMesosLeader(fake.mesosUrls.map((u) => [u]), undefined, 2000);
    expect(result.summary).not.toContain("disagree");
    expect(result.ok).toBe(true);
    expect(result.summary).toMatch(/^leader master@127\.0\.0\.1:\d+ \(hostname mesos-m1\.cluster\.internal:\d+\), 2 others redirect to it$/);
    expect((await runCheck("mesos-agents", { mesos: fake.mesosUrls.map((u) => [u]), marathon: [], expectedAgents: 2 })).ok).toBe(true);
  });

  test("the readiness gate's wait-ready passes with such masters", async () => {
    fake = await FakeCluster.start(3, { mesosLeader: 2, mesosHostnames: HOSTNAMES });
    const result = await cli("wait-ready", {
      MESOS_URLS: fake.mesosUrls.join(","),
      MARATHON_URLS: fake.marathonUrls.join(","),
      MESOS_EXPECTED_AGENTS: "2",
      CLUSTER_CLIENT_TIMEOUT_SECONDS: "3",
      CLUSTER_CLIENT_POLL_SECONDS: "0.1",
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  test("the IP as hostname (the stacks set MESOS_HOSTNAME to it) passes as before", async () => {
    fake = await FakeCluster.start(3);
    const result = await checks.findMesosLeader(fake.mesosUrls.map((u) => [u]), undefined, 2000);
    expect(result.summary).toMatch(/^leader master@127\.0\.0\.1:\d+, 2 others redirect to it$/);
  });

  test("masters that redirect to another leader still disagree", async () => {
    fake = await FakeCluster.start(2, { mesosLeader: 0 });
    const other = await FakeCluster.start(2, { mesosLeader: 0, mesosHostnames: ["other-m0.cluster.internal"] });
    try {
      const result = await checks.findMesosLeader([[fake.mesosUrls[0]], [other.mesosUrls[1]]], undefined, 2000);
      expect(result.ok).toBe(false);
      expect(result.summary).toBe(`masters disagree: ${fake.mesosUrls[0]} leads as 127.0.0.1:${fake.mesosPort(0)}, others redirect to other-m0.cluster.internal:${other.mesosPort(0)}`);
    } finally {
      await other.close();
    }
  });
});

describe("2. Marathon's 403 is TooManyRunningDeploymentsException, waited out", () => {
  test("the fake answers 403 with Marathon's message, before looking at the app", async () => {
    fake = await FakeCluster.start(1, { tooManyDeployments: 1 });
    const response = await http.request(`${fake.marathonUrls[0]}/v2/apps/web`, { method: "DELETE" });
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body).message).toMatch(/^Max number \(100\) of running deployments is achieved\. Wait for existing deployments to complete/);
  });

  test("putApp and deleteApp wait while Marathon runs its maximum of deployments, saying Marathon's reason (the old client took it for missing credentials)", async () => {
    fake = await FakeCluster.start(1, { tooManyDeployments: 2 });
    const target = { servers: [fake.marathonUrls], requestTimeoutMs: 2000 };
    const lines: string[] = [];
    await expect(marathon.putApp(target, "/web", JSON.stringify(WEB), schedule(10000, lines))).resolves.toMatchObject({ created: true });
    expect(fake.requestsTo("marathon", "PUT")).toHaveLength(3);
    expect(lines[0]).toMatch(/^PUT \/web: Marathon at http:\/\/127\.0\.0\.1:\d+ takes no new deployment now \(HTTP 403: Max number \(100\) of running deployments is achieved\..*\); waiting for running deployments to finish \(retrying every 0\.02 s\)$/);
    fake.scenario.tooManyDeployments = 1;
    await expect(marathon.deleteApp(target, "/web", schedule())).resolves.toEqual({ deleted: true });
    expect(fake.apps.size).toBe(0);
  });

  test("a 403 that lasts past the deadline fails with Marathon's message, not as a credentials problem", async () => {
    fake = await FakeCluster.start(1, { tooManyDeployments: 1000 });
    const error = await marathon.putApp({ servers: [fake.marathonUrls] }, "/web", JSON.stringify(WEB), schedule(300)).catch((e: Error & { kind?: string }) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as { kind?: string }).kind).toBe("unreachable");
    expect((error as Error).message).toMatch(/^PUT \/web: Marathon did not take the change within \d s: .*HTTP 403: Max number \(100\) of running deployments/);
    expect((error as Error).message).not.toContain("credentials");
  });

  test("401 stays fatal; a Mesos 403 (its authorizer) is a refusal too, a Marathon 403 is not", async () => {
    fake = await FakeCluster.start(1, { marathonAuth: { username: "ops", password: "right" } });
    const refused = await marathon.putApp({ servers: [fake.marathonUrls] }, "/web", JSON.stringify(WEB), schedule()).catch((e: Error & { kind?: string }) => e);
    expect(refused).toMatchObject({ kind: "auth", status: 401 });
    const forbidden = { status: 403, headers: {}, body: "", url: "http://m:5050/master/state" };
    expect(() => http.refuseAuth(forbidden, "the Mesos master", undefined, { forbiddenIsAuth: true })).toThrow("the Mesos master at http://m:5050/master/state does not allow requests without credentials (HTTP 403");
    expect(() => http.refuseAuth({ ...forbidden, url: "http://m:8080/v2/apps/x" }, "Marathon", undefined)).not.toThrow();
  });
});

describe("3. Swarm's offer cycle: 30 s held, declined, offered again after ~6 s", () => {
  test("the fake holds offers 30 s, then shows none until Mesos offers them again (new offer ids)", async () => {
    fake = await FakeCluster.start(1);
    const startedAt = 1_000_000;
    fake.scenario.swarmOfferCycle = { holdMs: SWARM_OFFER_HOLD_MS, gapMs: SWARM_OFFER_GAP_MS, startedAt };
    expect(SWARM_OFFER_HOLD_MS).toBe(30000);
    expect(SWARM_OFFER_GAP_MS).toBe(6000);
    expect([0, 29999, 30000, 35999, 36000].map((t) => fake.swarmOffersNow(startedAt + t))).toEqual([
      { offers: 2, cycle: 0 },
      { offers: 2, cycle: 0 },
      { offers: 0, cycle: 0 },
      { offers: 0, cycle: 0 },
      { offers: 2, cycle: 1 },
    ]);
    fake.scenario.swarmOfferCycle = { ...fake.scenario.swarmOfferCycle, startedAt: Date.now() - 30000 };
    const info = JSON.parse((await http.request(`${fake.swarmUrl}/info`)).body);
    expect(info.SystemStatus.slice(0, 4)).toEqual([["Role", "primary"], ["Strategy", "spread"], ["Filters", expect.any(String)], ["Offers", "0"]]);
  });

  test("a check that starts in the gap passes once a look within the window sees offers (the old client failed at its one look)", async () => {
    fake = await FakeCluster.start(1);
    // The gap began just now and lasts 1.5 s (really 5-6 s: the window is longer than that).
    fake.scenario.swarmOfferCycle = { holdMs: SWARM_OFFER_HOLD_MS, gapMs: 1500, startedAt: Date.now() - SWARM_OFFER_HOLD_MS };
    const result = await runCheck("swarm", { mesos: [], marathon: [], swarm: [fake.swarmUrl], expectedAgents: 2 });
    expect(result.summary).toMatch(/^primary, 2 Mesos offers \(seen at look [23], after [12]\.\d s with none\)$/);
    expect(result.ok).toBe(true);
    expect(fake.requestsTo("swarm", "GET", /^\/info$/).length).toBeGreaterThanOrEqual(2);
  });

  test("the readiness gate's wait-ready passes in the gap too", async () => {
    fake = await FakeCluster.start(1, { swarmOfferCycle: { holdMs: SWARM_OFFER_HOLD_MS, gapMs: 1500, startedAt: Date.now() - SWARM_OFFER_HOLD_MS } });
    const result = await cli("wait-ready", {
      MESOS_URLS: fake.mesosUrls.join(","),
      MARATHON_URLS: fake.marathonUrls.join(","),
      SWARM_URLS: fake.swarmUrl,
      MESOS_EXPECTED_AGENTS: "2",
      // One round only: the swarm check must see the offers within it.
      CLUSTER_CLIENT_TIMEOUT_SECONDS: "4",
      CLUSTER_CLIENT_POLL_SECONDS: "5",
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/ready after \d+ s \(6 checks pass\)/);
  });

  test("no offers within the window fail; the window never runs past the deadline", async () => {
    fake = await FakeCluster.start(1, { swarmOffers: 0 });
    const startedAt = Date.now();
    const result = await runCheck("swarm", { mesos: [], marathon: [], swarm: [fake.swarmUrl], expectedAgents: 2, swarmOfferPollMs: 100, deadline: Date.now() + 500 });
    expect(result).toEqual({ ok: false, summary: expect.stringMatching(/^Swarm holds no Mesos offers \(2 agents expected; none in [3-6] looks over 0\.\d s\)$/) });
    expect(Date.now() - startedAt).toBeLessThan(1500);
  });
});

describe("4. DELETE /v2/apps/{id} is forced by default: it cancels the deployment holding the app", () => {
  test("the fake: a DELETE cancels the app's deployment and starts its own; ?force=false answers 409; an unforced PUT answers 409", async () => {
    fake = await FakeCluster.start(1, { stuckDeployments: true });
    const base = fake.marathonUrls[0];
    const put = await http.request(`${base}/v2/apps/web`, { method: "PUT", body: JSON.stringify(WEB) });
    const { deploymentId } = JSON.parse(put.body);
    const again = await http.request(`${base}/v2/apps/web`, { method: "PUT", body: JSON.stringify({ ...WEB, instances: 2 }) });
    expect(again.status).toBe(409);
    expect(JSON.parse(again.body).deployments).toEqual([{ id: deploymentId }]);
    expect((await http.request(`${base}/v2/apps/web?force=false`, { method: "DELETE" })).status).toBe(409);
    const deleted = await http.request(`${base}/v2/apps/web`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(fake.cancelledDeployments).toEqual([deploymentId]);
    expect(fake.deployments.map((d) => d.action)).toEqual(["StopApplication"]);
  });

  test("deleteApp of an app whose deployment never finishes cancels it and waits for the deletion only", async () => {
    fake = await FakeCluster.start(1, { stuckDeployments: true });
    const target = { servers: [fake.marathonUrls] };
    await expect(marathon.putApp(target, "/web", JSON.stringify(WEB), schedule(300))).rejects.toThrow(/creation of \/web: deployment [0-9a-f-]+ did not finish/);
    const stuck = fake.deployments[0].id;
    await expect(marathon.deleteApp(target, "/web", schedule())).resolves.toEqual({ deleted: true });
    expect(fake.cancelledDeployments).toEqual([stuck]);
    expect(fake.requestsTo("marathon", "DELETE").map((r) => `${r.path}${r.query}`)).toEqual(["/v2/apps/web?force=true"]);
    expect(fake.deployments).toHaveLength(0);
  });
});

describe("5. Marathon without a leader: 502 after about 2.75 s", () => {
  test("the fake holds the request as LeaderProxyFilter does, then answers Jetty's 502 page", async () => {
    fake = await FakeCluster.start(2, { marathonLeader: null });
    const startedAt = Date.now();
    const response = await http.request(`${fake.marathonUrls[1]}/v2/info`, { timeoutMs: 5000 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2700);
    expect(response.status).toBe(502);
    expect(http.messageOf(response)).toBe("Could not determine the current leader");
  });

  test("the client's Marathon timeout stays above that wait, whatever timeout it is given", async () => {
    expect(marathon.MARATHON_NO_LEADER_WAIT_MS).toBe(2750);
    expect(marathon.marathonTimeoutMs(1000)).toBeGreaterThanOrEqual(3750);
    expect(marathon.marathonTimeoutMs(undefined)).toBe(5000);
    expect(marathon.marathonTimeoutMs(30000)).toBe(30000);
    fake = await FakeCluster.start(1, { marathonLeader: null });
    await expect(marathon.pickMarathon({ servers: [fake.marathonUrls], requestTimeoutMs: 1000 })).rejects.toThrow(/^no Marathon instance answers: http:\/\/127\.0\.0\.1:\d+: HTTP 502 Could not determine the current leader$/);
  });
});

describe("6. Marathon's 401 and /v2/info", () => {
  test("401 is Jetty's HTML error page with WWW-Authenticate: basic realm=\"Mesosphere\"; the client names the reason", async () => {
    fake = await FakeCluster.start(1, { marathonAuth: { username: "ops", password: "right" } });
    const response = await http.request(`${fake.marathonUrls[0]}/v2/apps`);
    expect(response.status).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('basic realm="Mesosphere"');
    expect(response.headers["content-type"]).toMatch(/^text\/html/);
    expect(response.body).toContain("<h2>HTTP ERROR 401</h2>");
    expect(http.messageOf(response)).toBe("Unauthorized");
    // Wrong credentials get the same answer: Jetty's basic auth never answers 403.
    expect((await http.request(`${fake.marathonUrls[0]}/v2/apps`, { credentials: { username: "ops", password: "wrong" } })).status).toBe(401);
  });

  test("every instance answers /v2/info as the leader (proxied): the same leader, elected true", async () => {
    fake = await FakeCluster.start(3, { marathonLeader: 2 });
    const infos = await Promise.all(fake.marathonUrls.map(async (u) => JSON.parse((await http.request(`${u}/v2/info`)).body)));
    expect(infos.map((i) => [i.leader, i.elected])).toEqual(fake.marathonUrls.map(() => [fake.marathonUrls[2].replace("http://", ""), true]));
    expect((await checks.checkMarathonLeader(fake.marathonUrls.map((u) => [u]), undefined, 2000)).summary).toMatch(/^leader 127\.0\.0\.1:\d+; 3 of 3 instances agree$/);
  });
});

describe("7. Marathon checks what it is sent, and the path's id wins", () => {
  async function put(body: string, contentType = "application/json", path = "/v2/apps/web") {
    const response = await new Promise<{ status: number; body: string }>((done, fail) => {
      const req = require("http").request(`${fake.marathonUrls[0]}${path}`, { method: "PUT", headers: { "Content-Type": contentType } }, (res: import("http").IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      });
      req.on("error", fail);
      req.end(body);
    });
    return { status: response.status, json: response.body ? JSON.parse(response.body) : undefined };
  }

  beforeEach(async () => {
    fake = await FakeCluster.start(1);
  });

  test("415 without Content-Type application/json, 400 for a body that is not JSON", async () => {
    expect(await put(JSON.stringify(WEB), "text/plain")).toEqual({ status: 415, json: { message: "Unsupported Media Type" } });
    expect(await put("{")).toMatchObject({ status: 400, json: { message: "Invalid JSON" } });
    expect(fake.apps.size).toBe(0);
  });

  test("422 for a definition Marathon 1.8 refuses, with the path of each problem", async () => {
    const bad = await put(JSON.stringify({ ...WEB, cpus: "lots", args: ["x"] }));
    expect(bad.status).toBe(422);
    expect(bad.json.message).toBe("Object is not valid");
    expect(bad.json.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(["/cpus"]));
    const upper = await put(JSON.stringify({ ...WEB }), "application/json", "/v2/apps/Web");
    expect(upper.status).toBe(422);
    expect(upper.json.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: "/id" })]));
  });

  test("the body's id is overwritten by the path's; unknown fields are ignored, as Marathon 1.8's readers do", async () => {
    const created = await put(JSON.stringify({ ...WEB, id: "/elsewhere", notAField: 1 }));
    expect(created.status).toBe(201);
    expect(fake.apps.get("/web")).toMatchObject({ id: "/web", cmd: "sleep 3600" });
    expect(fake.apps.has("/elsewhere")).toBe(false);
  });

  test("the client sends application/json and fails at once on a 422, naming Marathon's reasons", async () => {
    const error = await marathon.putApp({ servers: [fake.marathonUrls] }, "/web", JSON.stringify({ ...WEB, mem: -1 }), schedule()).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^Marathon at http:\/\/127\.0\.0\.1:\d+ refused the definition of \/web \(HTTP 422\): Object is not valid \(\/mem: must be >= 0\)$/);
    expect(fake.requestsTo("marathon", "PUT").map((r) => r.contentType)).toEqual(["application/json"]);
  });

  test("the fake's schema is Marathon 1.8's: the IS operator (new in 1.8) is valid, an unknown operator is not", () => {
    expect(marathonAppSchemaProblems({ ...WEB, constraints: [["hostname", "IS", "a"]] })).toEqual([]);
    expect(marathonAppSchemaProblems({ ...WEB, constraints: [["hostname", "NEAR", "a"]] }).length).toBeGreaterThan(0);
    expect(marathonAppSchemaProblems({ ...WEB, check: { http: { portIndex: 0, path: "/" }, intervalSeconds: 10 } })).toEqual([]);
  });
});

describe("8. authenticate_http_readonly: the masters' read-only endpoints need credentials, /master/health does not", () => {
  const ops = { username: "ops", password: "m" };

  test("the fake: 401 with the read-only realm on /master/state and /flags of every master, leading or not; /master/health open", async () => {
    fake = await FakeCluster.start(2, { mesosAuth: ops });
    for (const base of fake.mesosUrls) {
      for (const path of ["/master/state", "/flags", "/master/flags"]) {
        const response = await http.request(`${base}${path}`);
        expect([path, response.status, response.headers["www-authenticate"]]).toEqual([path, 401, 'Basic realm="mesos-master-readonly"']);
      }
      expect((await http.request(`${base}/master/health`)).status).toBe(200);
    }
    expect((await http.request(`${fake.mesosUrls[1]}/master/state`, { credentials: ops })).status).toBe(307);
    const flags = JSON.parse((await http.request(`${fake.mesosUrls[0]}/flags`, { credentials: ops })).body).flags;
    expect(flags).toMatchObject({ authenticate_http_readonly: "true", authenticate_http_readwrite: "true", authenticate_http_frameworks: "true" });
  });

  test("the checks: with the credentials every Mesos check passes; without, mesos-leader fails at once and mesos-health still passes", async () => {
    fake = await FakeCluster.start(3, { mesosAuth: ops });
    const servers = fake.mesosUrls.map((u) => [u]);
    for (const name of ["mesos-health", "mesos-leader", "mesos-agents"]) {
      expect([name, (await runCheck(name, { mesos: servers, marathon: [], expectedAgents: 2, mesosCredentials: ops })).ok]).toEqual([name, true]);
    }
    expect(await runCheck("mesos-health", { mesos: servers, marathon: [], expectedAgents: 2 })).toMatchObject({ ok: true });
    expect(await runCheck("mesos-leader", { mesos: servers, marathon: [], expectedAgents: 2 })).toMatchObject({
      ok: false,
      fatal: true,
      summary: expect.stringMatching(/^the Mesos master at http:\/\/127\.0\.0\.1:\d+\/master\/state requires credentials and none were given \(HTTP 401/),
    });
  });
});
