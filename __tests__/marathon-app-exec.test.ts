/**
 * MarathonApp's local-exec commands, taken exactly as synthesized and run the
 * way Terraform runs them (see helpers/local-exec.ts) against a fake Marathon
 * on loopback that records every request: create, update after a change,
 * destroy, and the ways they fail.
 */
import { createHash } from "crypto";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App } from "cdktf";
import { Password } from "@cdktf/provider-random/lib/password";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { HealthCheck } from "../constructs/core/marathon-app-definition";
import { MarathonApp, MarathonAppProps } from "../constructs/marathon-app";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { readSynthOutput } from "../scripts/lib/synth-output";
import { FakeCluster } from "./helpers/fake-cluster";
import { InstanceState, localExecs, nullResource, plannedInstance, runLocalExec } from "./helpers/local-exec";
import { TEST_SSH_KEY, TfJson } from "./helpers/synth";

type AppProps = Omit<MarathonAppProps, "marathon">;

interface Synthesized {
  readonly json: TfJson;
  /** The stack's folder: Terraform's working directory, where the asset's relative path resolves. */
  readonly dir: string;
  readonly app: MarathonApp;
}

/** Synthesizes the dev stack with one app to a fresh folder (assets included), as `cdktf synth` does. */
function synthWithApp(props: AppProps, configure?: (stack: MesosClusterStack) => Partial<MarathonAppProps>): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), "marathon-app-"));
  const cdkApp = new App({ outdir });
  const stack = new MesosClusterStack(cdkApp, "dev", { sshPublicKey: TEST_SSH_KEY });
  const app = new MarathonApp(stack, "web", { marathon: stack.marathon, ...props, ...(configure?.(stack) ?? {}) });
  cdkApp.synth();
  return { json: readSynthOutput(outdir).get("dev")!, dir: join(outdir, "stacks", "dev"), app };
}

const WEB: AppProps = {
  id: "/web",
  instances: 1,
  cpus: 0.1,
  mem: 64,
  container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80, name: "http" }] },
  healthChecks: [HealthCheck.http({ path: "/" })],
  pollIntervalSeconds: 0.02,
  deployTimeoutSeconds: 10,
};

let fake: FakeCluster;

beforeEach(async () => {
  fake = await FakeCluster.start(1, { deploymentPolls: 2 });
});

afterEach(async () => {
  await fake.close();
});

/** Terraform's create of `app` then `deploy` (app has no create-time command). */
async function create(s: Synthesized, appId = "null-app-1"): Promise<{ app: InstanceState; deploy: InstanceState; result: Awaited<ReturnType<typeof runLocalExec>> }> {
  const appRes = nullResource(s.json, "web/app");
  const deployRes = nullResource(s.json, "web/deploy");
  expect(localExecs(appRes.config, "create")).toHaveLength(0);
  const app = plannedInstance(appRes.config, appId);
  const deploy = plannedInstance(deployRes.config, `null-deploy-${Date.now()}`, { [`${appRes.address}[0].id`]: app.id });
  const [put] = localExecs(deployRes.config, "create");
  const result = await runLocalExec(put, { cwd: s.dir, self: deploy });
  return { app, deploy, result };
}

describe("MarathonApp commands as synthesized, against a fake Marathon", () => {
  test("create, update after a change, destroy", async () => {
    // create
    const first = synthWithApp(WEB, () => ({ marathonUrls: fake.marathonUrls }));
    const created = await create(first);
    expect(created.result.stderr).toBe("");
    expect(created.result.code).toBe(0);
    expect(created.result.stdout).toMatch(/created \/web on http:\/\/127\.0\.0\.1:\d+ \(deployment [0-9a-f-]+/);
    const puts = fake.requestsTo("marathon", "PUT");
    expect(puts).toHaveLength(1);
    expect(puts[0].path).toBe("/v2/apps/web");
    expect(puts[0].query).toBe("?partialUpdate=false");
    expect(puts[0].body).toBe(first.app.definitionJson);
    expect(JSON.parse(puts[0].body)).toEqual(first.app.definition);
    // It waited: deployments were listed until the one it started was gone.
    expect(fake.requestsTo("marathon", "GET", /^\/v2\/deployments$/).length).toBeGreaterThanOrEqual(2);
    expect(fake.deployments).toHaveLength(0);
    expect(created.deploy.triggers.definition_sha256).toBe(first.app.definitionSha256);

    // update: a changed definition changes `deploy`'s triggers (Terraform replaces it and runs the PUT again), not `app`'s
    const second = synthWithApp({ ...WEB, instances: 2, env: { GREETING: "hello" } }, () => ({ marathonUrls: fake.marathonUrls }));
    const secondApp = plannedInstance(nullResource(second.json, "web/app").config, created.app.id);
    expect(secondApp.triggers).toEqual(created.app.triggers);
    expect(second.app.definitionSha256).not.toBe(first.app.definitionSha256);
    expect(localExecs(nullResource(second.json, "web/deploy").config, "destroy")).toHaveLength(0); // replacing `deploy` deletes nothing
    const updated = await create(second, created.app.id);
    expect(updated.result.code).toBe(0);
    expect(updated.result.stdout).toContain("updated /web");
    const secondPut = fake.requestsTo("marathon", "PUT")[1];
    expect(JSON.parse(secondPut.body)).toMatchObject({ id: "/web", instances: 2, env: { GREETING: "hello" } });
    // Marathon keeps the definition, with a service port assigned where it says 0 (from local_port_min, 10000).
    const stored = JSON.parse(JSON.stringify(second.app.definition));
    stored.container.portMappings[0].servicePort = 10000;
    expect(fake.apps.get("/web")).toEqual(stored);
    expect(fake.requestsTo("marathon", "DELETE")).toHaveLength(0);

    // destroy: `app`'s destroy-time command, with the triggers it was created with (state)
    const [del] = localExecs(nullResource(second.json, "web/app").config, "destroy");
    const destroyed = await runLocalExec(del, { cwd: second.dir, self: created.app });
    expect(destroyed.code).toBe(0);
    expect(destroyed.stdout).toMatch(/deletion of \/web: deployment [0-9a-f-]+ finished/);
    expect(fake.requestsTo("marathon", "DELETE").map((r) => r.path)).toEqual(["/v2/apps/web"]);
    expect(fake.apps.size).toBe(0);
    expect(fake.deployments).toHaveLength(0);

    // destroying again (already gone) succeeds without a second DELETE deployment
    const again = await runLocalExec(del, { cwd: second.dir, self: created.app });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("does not exist");
  });

  test("credentials reach Marathon through the environment only, also from a generated password", async () => {
    const s = synthWithApp(WEB, (stack) => {
      new RandomProvider(stack, "random");
      const password = new Password(stack, "marathon-password", { length: 24, special: false });
      return { marathonUrls: fake.marathonUrls, credentials: { username: "deployer", password: password.result } };
    });
    const text = readFileSync(join(s.dir, "cdk.tf.json"), "utf8");
    const passwordRef = /random_password\.[A-Za-z0-9_-]+\.result/.exec(text)![0];
    const deployRes = nullResource(s.json, "web/deploy");
    const [put] = localExecs(deployRes.config, "create");
    expect(put.environment!.MARATHON_PASSWORD).toBe(`\${nonsensitive(sensitive(${passwordRef}))}`);
    expect(JSON.stringify([put.command, put.interpreter])).not.toContain("password");
    const appRes = nullResource(s.json, "web/app");
    expect(appRes.config.triggers.marathon_password).toBe(`\${sensitive(${passwordRef})}`);

    const secret = "s3cret-generated-value";
    fake.scenario.marathonAuth = { username: "deployer", password: secret };
    const references = { [passwordRef]: secret, [`${appRes.address}[0].id`]: "null-app-1" };
    const app = plannedInstance(appRes.config, "null-app-1", references);
    const deploy = plannedInstance(deployRes.config, "null-deploy-1", references);
    const ok = await runLocalExec(put, { cwd: s.dir, self: deploy, references });
    expect(ok.code).toBe(0);
    expect(ok.argv.join(" ")).not.toContain(secret);
    expect(ok.stdout + ok.stderr).not.toContain(secret);
    expect(fake.requestsTo("marathon", "PUT")[0].user).toBe("deployer");

    // a wrong password fails at once, naming the user: one question to Marathon, no retries until the timeout
    const asked = fake.requests.length;
    const refused = await runLocalExec(put, { cwd: s.dir, self: deploy, references: { ...references, [passwordRef]: "wrong" } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/put-app failed: Marathon at http:\/\/127\.0\.0\.1:\d+\/v2\/info refused the credentials of user "deployer" \(HTTP 401: Unauthorized\)/);
    expect(fake.requests.slice(asked).map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v2/info"]);

    // destroy uses the credentials recorded in the triggers
    const [del] = localExecs(appRes.config, "destroy");
    expect(del.environment!.MARATHON_PASSWORD).toBe("${nonsensitive(sensitive(self.triggers.marathon_password))}");
    const deleted = await runLocalExec(del, { cwd: s.dir, self: app });
    expect(deleted.code).toBe(0);
    expect(fake.requestsTo("marathon", "DELETE")[0].user).toBe("deployer");
  });

  test("a deployment that does not finish fails the apply with the app, the deployment and the timeout named; destroy cancels it", async () => {
    fake.scenario.stuckDeployments = true;
    const s = synthWithApp({ ...WEB, deployTimeoutSeconds: 1 }, () => ({ marathonUrls: fake.marathonUrls }));
    const { app, result } = await create(s);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/creation of \/web: deployment [0-9a-f-]+ did not finish within 1 s \(step 1 of 1: StartApplication \/web\)/);
    // `cdktf destroy`: Marathon's DELETE is forced (its default, sent explicitly): it cancels the stuck
    // deployment instead of answering 409, and the deletion's own deployment only stops tasks.
    const stuck = fake.deployments.map((d) => d.id);
    const [del] = localExecs(nullResource(s.json, "web/app").config, "destroy");
    const destroyed = await runLocalExec(del, { cwd: s.dir, self: app });
    expect(destroyed.stderr).toBe("");
    expect(destroyed.code).toBe(0);
    expect(destroyed.stdout).toMatch(/deletion of \/web: deployment [0-9a-f-]+ finished/);
    expect(fake.cancelledDeployments).toEqual(stuck);
    expect(fake.requestsTo("marathon", "DELETE").map((r) => r.query)).toEqual(["?force=true"]);
    expect(fake.apps.size).toBe(0);
  });

  test("Marathon's 403 (as many deployments running as --max_running_deployments) is waited out, with Marathon's message", async () => {
    fake.scenario.tooManyDeployments = 2;
    const { result } = await create(synthWithApp(WEB, () => ({ marathonUrls: fake.marathonUrls })));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/PUT \/web: Marathon at http:\/\/127\.0\.0\.1:\d+ takes no new deployment now \(HTTP 403: Max number \(100\) of running deployments is achieved\..*\); waiting for running deployments to finish/);
    expect(fake.requestsTo("marathon", "PUT")).toHaveLength(3);
  });

  test("waits while another deployment locks the app, and for Marathon to answer at all", async () => {
    fake.scenario.lockedChanges = 2;
    fake.scenario.marathonLeader = null;
    fake.onRequest = (r) => {
      if (r.path === "/v2/info" && fake.requestsTo("marathon", "GET", /^\/v2\/info$/).length === 3) fake.scenario.marathonLeader = 0;
    };
    const s = synthWithApp(WEB, () => ({ marathonUrls: ["http://127.0.0.1:1", ...fake.marathonUrls] }));
    const { result } = await create(s);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Could not determine the current leader");
    expect(result.stdout).toContain("is locked by deployment 97c136bf-5a28-4821-9d94-480d9fbb01c8; waiting for it to finish");
    expect(fake.requestsTo("marathon", "PUT").length).toBe(3);
  });

  test("a definition Marathon refuses fails at once with Marathon's reasons", async () => {
    fake.scenario.refuseDefinitions = true;
    const { result } = await create(synthWithApp(WEB, () => ({ marathonUrls: fake.marathonUrls })));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /refused the definition of \/web \(HTTP 422\): Object is not valid \(\/upgradeStrategy\/minimumHealthCapacity: is greater than 1\)/,
    );
    expect(fake.requestsTo("marathon", "PUT")).toHaveLength(1);
  });

  test("a definition that is not what Terraform recorded is not sent", async () => {
    const s = synthWithApp(WEB, () => ({ marathonUrls: fake.marathonUrls }));
    const deployRes = nullResource(s.json, "web/deploy");
    const deploy = plannedInstance(deployRes.config, "d", { [`${nullResource(s.json, "web/app").address}[0].id`]: "a" });
    // The recorded sha256 is of another definition (the state says one thing, the configuration another).
    const altered = { ...deploy, triggers: { ...deploy.triggers, definition_sha256: createHash("sha256").update("another definition").digest("hex") } };
    const result = await runLocalExec(localExecs(deployRes.config, "create")[0], { cwd: s.dir, self: altered });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the definition's sha256 is [0-9a-f]{64}, not the [0-9a-f]{64} Terraform recorded/);
    expect(fake.requestsTo("marathon", "PUT")).toHaveLength(0);
  });

  test("CLUSTER_SKIP_APP_DELETE=1 in the deploying shell leaves the app in Marathon", async () => {
    const s = synthWithApp(WEB, () => ({ marathonUrls: fake.marathonUrls }));
    const { app } = await create(s);
    const [del] = localExecs(nullResource(s.json, "web/app").config, "destroy");
    const result = await runLocalExec(del, { cwd: s.dir, self: app, env: { ...process.env, CLUSTER_SKIP_APP_DELETE: "1" } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("leaving the app in Marathon");
    expect(fake.requestsTo("marathon", "DELETE")).toHaveLength(0);
  });
});
