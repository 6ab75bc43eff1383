/**
 * The masters' TLS proxy for real: Debian's stunnel4 runs the config
 * MasterTlsProxy renders (renderStunnelConfig: the same global options,
 * ciphers and sections; only ports and paths differ, and no setuid) in front
 * of the fake cluster, with certificates made by openssl as the tls provider
 * makes them (ECDSA P-256, the server's for 127.0.0.1). Through it run the
 * readiness gate and MarathonApp's commands exactly as synthesized for `ha`
 * (auth and TLS on), and `npm run smoke`; a wrong CA fails them at once,
 * naming the certificate. openssl s_client checks what stunnel negotiates.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { request as httpsRequest } from "https";
import { Socket } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { App } from "cdktf";
import { ClusterReadinessGate } from "../constructs/cluster-readiness-gate";
import { MarathonApp } from "../constructs/marathon-app";
import { renderStunnelConfig, StunnelService } from "../constructs/master-tls-proxy";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { readSynthOutput } from "../scripts/lib/synth-output";
import { smokeMain } from "../scripts/lib/smoke";
import { OPENSSL } from "../scripts/lib/tools";
import { FakeCluster } from "./helpers/fake-cluster";
import { LocalExec, localExecs, nullResource, plannedInstance, runLocalExec } from "./helpers/local-exec";
import { TEST_SSH_KEY } from "./helpers/synth";
import { describeWithTool, ToolSpec } from "./helpers/tools";
import { freePort } from "./helpers/ports";

/** Debian/Ubuntu's stunnel (what the masters install). */
const STUNNEL: ToolSpec = { name: "stunnel4", debianPackage: "stunnel4", probe: ["stunnel4", "-version"] };

interface Pki {
  readonly dir: string;
  readonly ca: string;
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** Signed by the same CA, but not on the admins' list the servers hold: a revoked admin. */
  readonly revokedCert: string;
  readonly revokedKey: string;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate (ECDSA P-256), in a temp folder. */
function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "master-tls-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = (name: string) => run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`);
  key("ca");
  run("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=mesos-cluster swarm CA", "-days", "1", "-out", "ca.pem");
  for (const [name, ext] of [["server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"], ["client", "extendedKeyUsage=clientAuth\n"], ["revoked", "extendedKeyUsage=clientAuth\n"]]) {
    key(name);
    run("req", "-new", "-key", `${name}.key`, "-subj", `/CN=swarm ${name}`, "-out", `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    run("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", `${name}.ext`, "-out", `${name}.pem`);
  }
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  // stunnel reads cert.pem, key.pem and ca.pem from one folder, as on the masters.
  writeFileSync(join(dir, "cert.pem"), read("server.pem"));
  writeFileSync(join(dir, "key.pem"), read("server.key"));
  // What the masters hold as ca.pem: the CA, then the allowed admins' certificates (SwarmTlsCertificates.allowedClientsPem).
  const ca = read("ca.pem");
  writeFileSync(join(dir, "ca.pem"), ca + read("client.pem"));
  return {
    dir,
    ca,
    caFile: join(dir, "ca.pem"),
    serverCert: read("server.pem"),
    serverKey: read("server.key"),
    clientCert: read("client.pem"),
    clientKey: read("client.key"),
    revokedCert: read("revoked.pem"),
    revokedKey: read("revoked.key"),
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.connect(port, "127.0.0.1");
  });
}

const portOf = (url: string) => Number(new URL(url).port);

describeWithTool(OPENSSL, "TLS in front of the fake cluster (openssl)", () => {
  describeWithTool(STUNNEL, "stunnel4 as MasterTlsProxy configures it", () => {
    let pki: Pki;
    let stranger: Pki;
    let fake: FakeCluster;
    let stunnel: ChildProcess;
    let stunnelLog = "";
    const tls = { mesos: [] as string[], marathon: [] as string[], swarm: "" };

    beforeAll(async () => {
      pki = makePki();
      stranger = makePki();
      fake = await FakeCluster.start(3, { agents: 2, mesosAuth: { username: "admin", password: "mesos-secret" }, marathonAuth: { username: "admin", password: "marathon-secret" }, deploymentPolls: 1 });
      // One stunnel for the three "masters": a Mesos and a Marathon section each, and the Swarm API's.
      const services: StunnelService[] = [];
      for (const [i, url] of fake.mesosUrls.entries()) services.push({ name: `mesos-${i}`, accept: await freePort(), connect: `127.0.0.1:${portOf(url)}` });
      for (const [i, url] of fake.marathonUrls.entries()) services.push({ name: `marathon-${i}`, accept: await freePort(), connect: `127.0.0.1:${portOf(url)}` });
      services.push({ name: "swarm-api", accept: await freePort(), connect: `127.0.0.1:${portOf(fake.swarmUrl)}`, clientCertificates: true });
      tls.mesos = services.filter((s) => s.name.startsWith("mesos")).map((s) => `https://127.0.0.1:${s.accept}`);
      tls.marathon = services.filter((s) => s.name.startsWith("marathon")).map((s) => `https://127.0.0.1:${s.accept}`);
      tls.swarm = `https://127.0.0.1:${services[services.length - 1].accept}`;
      const conf = join(pki.dir, "stunnel.conf");
      // No setuid here (the tests need not run as root); everything else as on the masters.
      writeFileSync(conf, renderStunnelConfig(pki.dir, services));
      stunnel = spawn("stunnel4", [conf], { stdio: ["ignore", "pipe", "pipe"] });
      stunnel.stderr!.on("data", (c: Buffer) => (stunnelLog += c.toString("utf8")));
      stunnel.stdout!.on("data", (c: Buffer) => (stunnelLog += c.toString("utf8")));
      for (let i = 0; i < 200; i++) {
        if (stunnel.exitCode !== null) throw new Error(`stunnel4 exited ${stunnel.exitCode}:\n${stunnelLog}`);
        const up = await Promise.all(services.map((s) => accepts(s.accept)));
        if (up.every(Boolean)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`stunnel4 did not listen within 10 s:\n${stunnelLog}`);
    }, 30000);

    afterAll(async () => {
      if (stunnel && stunnel.exitCode === null) {
        const exited = new Promise((resolve) => stunnel.once("exit", resolve));
        stunnel.kill("SIGTERM");
        await exited;
      }
      await fake?.close();
    });

    /** The ha stack (auth and TLS on) with a gate and an app pointed at stunnel, synthesized with its assets. */
    function synthHa(gateProps: { timeoutSeconds: number }): { dir: string; gate: Record<string, any>; app: { address: string; config: Record<string, any> }; deploy: Record<string, any>; text: string } {
      const outdir = mkdtempSync(join(tmpdir(), "master-tls-gate-"));
      const app = new App({ outdir });
      const stack = new MesosClusterStack(app, "ha", { profile: "ha", agentCount: 2, readinessGate: "off", sshPublicKey: TEST_SSH_KEY });
      new ClusterReadinessGate(stack, "tunnel", {
        mesos: stack.mesos,
        marathon: stack.marathon,
        swarm: stack.swarm,
        agentPools: [stack.agents],
        // An address that refuses (a private IP this machine cannot reach) beside the one that answers.
        mesosUrls: tls.mesos.map((u) => `https://127.0.0.1:1|${u}`),
        marathonUrls: tls.marathon,
        swarmUrl: tls.swarm,
        pollIntervalSeconds: 0.05,
        ...gateProps,
      });
      new MarathonApp(stack, "web", { marathon: stack.marathon, id: "/web", cmd: "sleep 3600", cpus: 0.1, mem: 32, marathonUrls: tls.marathon, pollIntervalSeconds: 0.02, deployTimeoutSeconds: 10 });
      app.synth();
      const json = readSynthOutput(outdir).get("ha")!;
      return {
        dir: join(outdir, "stacks", "ha"),
        gate: nullResource(json, "tunnel/gate").config,
        app: nullResource(json, "web/app"),
        deploy: nullResource(json, "web/deploy").config,
        text: readFileSync(join(outdir, "stacks", "ha", "cdk.tf.json"), "utf8"),
      };
    }

    /** What Terraform would put in for the CA, the admins' client certificate and the passwords. */
    function references(text: string, ca: Pki): Record<string, string> {
      const refs: Record<string, string> = {};
      for (const m of text.matchAll(/\b(tls_self_signed_cert|tls_locally_signed_cert|tls_private_key|random_password)\.([A-Za-z0-9_-]+)\.(cert_pem|private_key_pem|result)\b/g)) {
        const [ref, type, name] = m;
        if (type === "tls_self_signed_cert") refs[ref] = ca.ca;
        else if (type === "tls_locally_signed_cert") refs[ref] = pki.clientCert;
        else if (type === "tls_private_key") refs[ref] = pki.clientKey;
        else refs[ref] = name.startsWith("mesos") ? "mesos-secret" : name.startsWith("marathon") ? "marathon-secret" : "other";
      }
      return refs;
    }

    function runGate(s: ReturnType<typeof synthHa>, ca: Pki, env?: NodeJS.ProcessEnv) {
      const [exec] = localExecs(s.gate, "create");
      return runLocalExec(exec, { cwd: s.dir, self: plannedInstance({ triggers: { expected_agents: s.gate.triggers.expected_agents } }, "gate-1"), references: references(s.text, ca), env });
    }

    test("the readiness gate as synthesized for ha passes through stunnel: https with the CA, basic auth inside TLS, Swarm's client certificate", async () => {
      const s = synthHa({ timeoutSeconds: 20 });
      const env = localExecs(s.gate, "create")[0].environment!;
      expect(env.MESOS_TLS_CA).toMatch(/^\$\{tls_self_signed_cert\./);
      const result = await runGate(s, pki);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/cluster-ready: ready after \d+ s \(6 checks pass\)/);
      // The credentials reached the services (decrypted by stunnel), and the masters were asked over TLS only.
      expect(fake.requestsTo("mesos", "GET", /^\/master\/state$/).every((r) => r.user === "admin")).toBe(true);
      expect(fake.requestsTo("marathon", "GET", /^\/v2\/info$/).length).toBeGreaterThan(0);
      expect(fake.requestsTo("marathon", "GET", /^\/v2\/info$/).every((r) => r.user === "admin")).toBe(true);
      expect(stunnelLog).toMatch(/Service \[mesos-\d\] accepted connection/);
      expect(stunnelLog).toMatch(/Service \[swarm-api\] accepted connection/);
    }, 30000);

    test("MarathonApp's put-app and delete-app as synthesized, through https with the CA", async () => {
      const s = synthHa({ timeoutSeconds: 20 });
      const refs = references(s.text, pki);
      const app = plannedInstance(s.app.config, "null-app-1", refs);
      expect(app.triggers.marathon_tls_ca).toBe(pki.ca);
      const deploy = plannedInstance(s.deploy, "null-deploy-1", { ...refs, [`${s.app.address}[0].id`]: app.id });
      const created = await runLocalExec(localExecs(s.deploy, "create")[0], { cwd: s.dir, self: deploy, references: refs });
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(/created \/web on https:\/\/127\.0\.0\.1:\d+ \(deployment/);
      expect(fake.apps.has("/web")).toBe(true);
      // The destroy-time command reads the CA from the app's state with lookup(); this evaluator knows
      // only self.triggers.NAME, which is what lookup() gives for an app whose state has the CA.
      const [del] = localExecs(s.app.config, "destroy");
      expect(del.environment!.MARATHON_TLS_CA).toBe('${lookup(self.triggers, "marathon_tls_ca", "")}');
      const asEvaluated: LocalExec = { ...del, environment: { ...del.environment!, MARATHON_TLS_CA: "${self.triggers.marathon_tls_ca}" } };
      const deleted = await runLocalExec(asEvaluated, { cwd: s.dir, self: app });
      expect(deleted.stderr).toBe("");
      expect(deleted.code).toBe(0);
      expect(fake.apps.has("/web")).toBe(false);
      expect(fake.requestsTo("marathon", "DELETE").every((r) => r.user === "admin")).toBe(true);
    }, 30000);

    test("a CA that did not sign the masters' certificate fails the gate and the deploy at once, naming the certificate", async () => {
      const s = synthHa({ timeoutSeconds: 600 });
      const started = fake.requests.length;
      // The gate would wait 600 s for anything else; runLocalExec kills it after 20 s.
      const gate = await runGate(s, stranger);
      expect(gate.code).toBe(1);
      expect(gate.stderr).toMatch(
        /^wait-ready failed: mesos-health: GET https:\/\/127\.0\.0\.1:\d+\/master\/health: the server's certificate is not signed by the CA given \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN): /,
      );
      const refs = references(s.text, stranger);
      const app = plannedInstance(s.app.config, "null-app-2", refs);
      const deploy = plannedInstance(s.deploy, "null-deploy-2", { ...refs, [`${s.app.address}[0].id`]: app.id });
      const put = await runLocalExec(localExecs(s.deploy, "create")[0], { cwd: s.dir, self: deploy, references: refs });
      expect(put.code).toBe(1);
      expect(put.stderr).toMatch(/^put-app failed: GET https:\/\/127\.0\.0\.1:\d+\/v2\/info: the server's certificate is not signed by the CA given/);
      // Nothing reached the services: no credentials were sent to a server the CA does not vouch for.
      expect(fake.requests.slice(started)).toEqual([]);
    }, 30000);

    test("https without a CA says none was given; a plain http URL of a service with a CA is refused before any request", async () => {
      // The shipped client (the gate's interpreter), run directly with the environment chosen here.
      const s = synthHa({ timeoutSeconds: 600 });
      const [exec] = localExecs(s.gate, "create");
      const cli = join(s.dir, exec.interpreter![1]);
      const base = { PATH: process.env.PATH, MESOS_EXPECTED_AGENTS: "2", CLUSTER_CLIENT_TIMEOUT_SECONDS: "600", CLUSTER_CLIENT_POLL_SECONDS: "0.05", MESOS_USERNAME: "admin", MESOS_PASSWORD: "mesos-secret", MARATHON_USERNAME: "admin", MARATHON_PASSWORD: "marathon-secret" };
      const noCa = spawnSync(process.execPath, [cli, "wait-ready"], { env: { ...base, MESOS_URLS: tls.mesos.join(","), MARATHON_URLS: tls.marathon.join(","), MARATHON_TLS_CA: pki.ca }, encoding: "utf8", timeout: 20000 });
      expect(noCa.status).toBe(1);
      expect(noCa.stderr).toMatch(/the server's certificate is not signed by any CA this machine trusts \(no CA was given: pass the cluster's, output tls_ca_pem\)/);
      const started = fake.requests.length;
      const plain = spawnSync(process.execPath, [cli, "wait-ready"], {
        env: { ...base, MESOS_URLS: tls.mesos.join(","), MESOS_TLS_CA: pki.ca, MARATHON_URLS: "http://10.255.255.1:8080", MARATHON_TLS_CA: pki.ca },
        encoding: "utf8",
        timeout: 20000,
      });
      expect(plain.status).toBe(2);
      expect(plain.stderr).toBe(
        "wait-ready failed: MARATHON_URLS has http://10.255.255.1:8080, plain http, while MARATHON_TLS_CA is set: the service has TLS, and its credentials must not travel in clear text (use its https URL)\n",
      );
      expect(fake.requests.slice(started)).toEqual([]);
    }, 30000);

    test("npm run smoke through TLS: https URLs, --tls-ca, the Swarm client certificate", async () => {
      const certs = mkdtempSync(join(tmpdir(), "docker-certs-"));
      writeFileSync(join(certs, "ca.pem"), pki.ca);
      writeFileSync(join(certs, "cert.pem"), pki.clientCert);
      writeFileSync(join(certs, "key.pem"), pki.clientKey);
      const out: string[] = [];
      const err: string[] = [];
      const argv = ["ha", "--mesos", tls.mesos.join(","), "--marathon", tls.marathon.join(","), "--swarm", tls.swarm, "--swarm-cert-path", certs, "--tls-ca", pki.caFile, "--agents", "2"];
      const users = ["--mesos-user", "admin", "--marathon-user", "admin", "--skip", "zookeeper", "--retries", "0", "--request-timeout", "2"];
      const env = { MESOS_PASSWORD: "mesos-secret", MARATHON_PASSWORD: "marathon-secret" };
      const code = await smokeMain([...argv, ...users], env, (l) => out.push(l), (l) => err.push(l));
      expect(err).toEqual([]);
      expect(out[out.length - 1]).toBe("smoke: all 7 steps passed");
      expect(code).toBe(0);
      // The wrong CA: every Mesos and Marathon step fails at once (no retries), naming the certificate.
      const wrong: string[] = [];
      const failed = await smokeMain([...argv.slice(0, -4), "--tls-ca", stranger.caFile, "--agents", "2", ...users, "--retries", "3"], env, (l) => wrong.push(l), () => undefined);
      expect(failed).toBe(1);
      expect(wrong.find((l) => l.startsWith("[1/"))).toMatch(/mesos-health +FAILED +GET https:\/\/127\.0\.0\.1:\d+\/master\/health: the server's certificate is not signed by the CA given .*\(1 try,/);
    }, 60000);

    /** `openssl s_client` against a port: exit status and what it negotiated. */
    function handshake(url: string, ...args: string[]): { ok: boolean; text: string } {
      const r = spawnSync("openssl", ["s_client", "-connect", new URL(url).host, "-CAfile", pki.caFile, ...args], { input: "", encoding: "utf8", timeout: 10000 });
      return { ok: r.status === 0, text: `${r.stdout}${r.stderr}` };
    }

    test("stunnel negotiates TLS 1.3 and TLS 1.2 with AEAD ciphers only; TLS 1.1 and CBC ciphers are refused", () => {
      const url = tls.mesos[0];
      const v13 = handshake(url, "-tls1_3");
      expect(v13.ok).toBe(true);
      // TLS 1.3: stunnel's default ciphersuites, all AEAD (options.c stunnel_ciphersuites).
      expect(v13.text).toMatch(/New, TLSv1\.3, Cipher is TLS_(AES_256_GCM_SHA384|AES_128_GCM_SHA256|CHACHA20_POLY1305_SHA256)/);
      expect(v13.text).toContain("Verify return code: 0 (ok)");
      for (const cipher of ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]) {
        const r = handshake(url, "-tls1_2", "-cipher", cipher);
        expect(r.ok).toBe(true);
        expect(r.text).toContain(`Cipher is ${cipher}`);
      }
      for (const cipher of ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-SHA256"]) {
        const r = handshake(url, "-tls1_2", "-cipher", `${cipher}@SECLEVEL=0`);
        expect(r.ok).toBe(false);
        expect(r.text).toMatch(/alert handshake failure|no shared cipher/);
      }
      // The client offers TLS 1.1 (SECLEVEL 0 lets this OpenSSL do so): stunnel answers with a protocol version alert.
      const v11 = handshake(url, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
      expect(v11.ok).toBe(false);
      expect(v11.text).toContain("alert protocol version");
    });

    test("Mesos and Marathon need no client certificate; the Swarm API refuses a client without one or with another CA's", async () => {
      const get = (url: string, options: { cert?: string; key?: string }) =>
        new Promise<number>((resolve, reject) => {
          const req = httpsRequest(url, { ca: pki.ca, ...options }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on("error", reject);
          req.end();
        });
      // Marathon's and Mesos' basic auth answer through TLS without a client certificate.
      await expect(get(`${tls.marathon[0]}/v2/info`, {})).resolves.toBe(401);
      await expect(get(`${tls.mesos[0]}/master/health`, {})).resolves.toBe(200);
      await expect(get(`${tls.swarm}/info`, { cert: pki.clientCert, key: pki.clientKey })).resolves.toBe(200);
      await expect(get(`${tls.swarm}/info`, {})).rejects.toThrow(/certificate required|ECONNRESET|socket hang up|alert/i);
      await expect(get(`${tls.swarm}/info`, { cert: stranger.clientCert, key: stranger.clientKey })).rejects.toThrow(/unknown ca|ECONNRESET|socket hang up|alert|certificate/i);
      // Signed by the cluster's CA but no longer on the admins' list (its name was removed): refused (verifyPeer).
      await expect(get(`${tls.swarm}/info`, { cert: pki.revokedCert, key: pki.revokedKey })).rejects.toThrow(/ECONNRESET|socket hang up|alert|certificate/i);
    });
  });
});
