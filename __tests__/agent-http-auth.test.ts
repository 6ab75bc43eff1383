/**
 * Issue "no way from a task to root", item 4: the agents' own HTTP API (5051:
 * sandboxes, containers, /api/v1 kill and launch) authenticates read-write and
 * read-only requests where the stack's `auth` is on. Each agent generates its
 * credential at boot into root-only tmpfs (agents read no secret store), the
 * agent container reads it through a read-only mount, and /health stays open
 * for the health relay (apache/mesos 1.7.1 src/slave/slave.cpp: `/health` is
 * routed without a realm).
 */
import { execFileSync, spawn } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { createServer, get, IncomingMessage, Server } from "http";
import { AddressInfo } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack } from "cdktf";
import { AzureTarget, MesosAgentPool, MesosMasterGroup, NodeGroup, ZookeeperEnsemble } from "../constructs";
import {
  AGENT_HTTP_CREDENTIALS_IN_CONTAINER,
  AGENT_JWT_KEY_IN_CONTAINER,
  agentHttpCredentialsScript,
} from "../constructs/core/agent-http-auth";
import { agentHealthRelaySource } from "../constructs/mesos-agent-pool";
import { SECRETS_DIR } from "../constructs/nodes";
import { effectiveRuntime, processOf, runtimeFindings } from "../scripts/lib/effective-runtime";
import { userDataNodes } from "../scripts/lib/synth-output";
import { PYTHON3 } from "../scripts/lib/tools";
import { readUserData } from "../scripts/lib/user-data-model";
import { documentsOf, loadFlagReference, validateDocuments, VENDORED_FLAGS_PATH } from "../scripts/lib/validate-user-data";
import { Cloud, envOf, execStartOf, fileOf, parseCloudConfig, poolDoc, synthCluster, TEST_SSH_KEY } from "./helpers/synth";
import { describeWithTool } from "./helpers/tools";

const SCRIPT = "/usr/local/sbin/mesos-agent-http-credentials";
const CREDS_ON_HOST = `${SECRETS_DIR}/mesos-agent-http-credentials.json`;
const KEY_ON_HOST = `${SECRETS_DIR}/mesos-agent-jwt-secret-key`;
const AUTH_ENV = {
  MESOS_AUTHENTICATE_HTTP_READWRITE: "true",
  MESOS_AUTHENTICATE_HTTP_READONLY: "true",
  MESOS_HTTP_CREDENTIALS: AGENT_HTTP_CREDENTIALS_IN_CONTAINER,
};

/** The agent unit's ExecStartPre/ExecStart lines, in order. */
function execLines(unit: string): string[] {
  return unit.split("\n").filter((l) => l.startsWith("ExecStartPre=") || l.startsWith("ExecStart="));
}

describe.each(["azure", "aws"] as Cloud[])("%s", (cloud) => {
  describe("ha (auth on): the agents authenticate their HTTP API", () => {
    const { stack, json } = synthCluster({ cloud, profile: "ha" });
    const text = poolDoc(json, cloud);
    const doc = parseCloudConfig(text);

    test("the pool turns it on with the stack's auth", () => {
      expect(stack.auth).toBe(true);
      expect(stack.agents.httpAuthentication).toBe(true);
    });

    test("flags: read-write and read-only realms with the generated credentials file; http_authenticators left to Mesos (basic)", () => {
      const env = envOf(doc, "mesos-agent");
      expect(env).toMatchObject(AUTH_ENV);
      // Unset on purpose: an explicit `basic` would refuse executors' JWTs on an SSL build (slave.cpp).
      expect(env.MESOS_HTTP_AUTHENTICATORS).toBeUndefined();
      expect(env.MESOS_JWT_SECRET_KEY).toBeUndefined();
      expect(env.MESOS_AUTHENTICATE_HTTP_EXECUTORS).toBeUndefined();
      const agent = processOf(effectiveRuntime(readUserData(text)), "mesos-agent")!;
      expect(agent.flags.authenticate_http_readwrite.value).toBe("true");
      expect(agent.flags.authenticate_http_readonly.value).toBe("true");
      expect(agent.flags.http_credentials.value).toBe(AGENT_HTTP_CREDENTIALS_IN_CONTAINER);
      // The flag names the file the agent's container sees, mounted read-only from the boot-time copy.
      expect(agent.volumes).toEqual(
        expect.arrayContaining([`${CREDS_ON_HOST}:${AGENT_HTTP_CREDENTIALS_IN_CONTAINER}:ro`, `${KEY_ON_HOST}:${AGENT_JWT_KEY_IN_CONTAINER}:ro`]),
      );
      expect(runtimeFindings(readUserData(text))).toEqual([]);
    });

    test("the credential is generated before the agent starts, root-only in tmpfs, and no secret is in user data", () => {
      const unit = fileOf(doc, "/etc/systemd/system/mesos-agent.service");
      const lines = execLines(unit);
      const writer = lines.indexOf(`ExecStartPre=${SCRIPT}`);
      // Not `-`-prefixed: a failure stops the start instead of running the agent without its file.
      expect(writer).toBeGreaterThan(lines.indexOf("ExecStartPre=/usr/local/sbin/mesos-agent-prestart"));
      expect(writer).toBeLessThan(lines.findIndex((l) => l.startsWith("ExecStart=")));
      expect(execStartOf(doc, "mesos-agent")).toContain(`${CREDS_ON_HOST}:${AGENT_HTTP_CREDENTIALS_IN_CONTAINER}:ro`);
      const script = fileOf(doc, SCRIPT);
      expect(doc.files.get(SCRIPT)!.permissions).toBe("0755");
      expect(script).toContain("/dev/urandom");
      expect(script).toContain(`install -d -m 0700 ${SECRETS_DIR}`);
      expect(script).toContain("umask 077");
      // The HTTP credential comes from no secret store (the agents read only their credential towards the masters: agent-auth.test.ts).
      expect(script).not.toContain("fetch-cluster-secret");
      // No secret-looking value anywhere in the document: only the program that makes one.
      expect(text).not.toMatch(/"secret":"[^%]/);
      expect(text).not.toMatch(/[0-9a-f]{32,}/);
    });

    test("the agents' document stays under half the cloud's limit", () => {
      const pool = userDataNodes(json).find((n) => n.kind === "pool")!;
      // The bench's budget (target 4: < 50%, bench.test.ts). With the drain (core/agent-drain.ts) this document is at 49.05%.
      expect(pool.countedBytes / pool.limitBytes).toBeLessThan(0.5);
    });

    test("the document passes the flags and runtime checks of npm run validate", async () => {
      const reports = await validateDocuments(
        documentsOf("ha", json).filter((d) => d.group === "agents"),
        { flags: loadFlagReference(VENDORED_FLAGS_PATH), skip: ["schema", "shellcheck", "systemd"] },
      );
      expect(reports).toHaveLength(1);
      expect(reports.flatMap((r) => r.findings)).toEqual([]);
    });
  });

  test("dev (auth off): no flags, no script, no mounts", () => {
    const { stack, json } = synthCluster({ cloud, profile: "dev" });
    expect(stack.agents.httpAuthentication).toBe(false);
    const text = poolDoc(json, cloud);
    const doc = parseCloudConfig(text);
    const env = envOf(doc, "mesos-agent");
    for (const name of Object.keys(AUTH_ENV)) expect(env[name]).toBeUndefined();
    expect(doc.files.has(SCRIPT)).toBe(false);
    expect(fileOf(doc, "/etc/systemd/system/mesos-agent.service")).not.toContain(SECRETS_DIR);
  });

  test("ha with auth: false leaves the agents open, like the masters", () => {
    const { json } = synthCluster({ cloud, profile: "ha", auth: false });
    const doc = parseCloudConfig(poolDoc(json, cloud));
    expect(envOf(doc, "mesos-agent").MESOS_AUTHENTICATE_HTTP_READWRITE).toBeUndefined();
    expect(doc.files.has(SCRIPT)).toBe(false);
  });
});

describe("the boot script, run for real", () => {
  /** Runs the script with its secrets directory moved under `root`; returns the directory. */
  function run(root: string): string {
    // /run/mesos-cluster exists already: the agent's prestart makes it (world-readable, for the health relay).
    const runtime = join(root, "run", "mesos-cluster");
    mkdirSync(runtime, { recursive: true, mode: 0o755 });
    const dir = join(runtime, "secrets");
    const script = join(root, "mesos-agent-http-credentials");
    writeFileSync(script, `#!/bin/bash\nset -euo pipefail\n${agentHttpCredentialsScript(SECRETS_DIR).split(SECRETS_DIR).join(dir)}\n`, { mode: 0o755 });
    execFileSync("bash", [script], { stdio: "pipe", env: { ...process.env, PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    return dir;
  }
  const roots: string[] = [];
  const root = () => {
    const r = mkdtempSync(join(tmpdir(), "agent-http-"));
    roots.push(r);
    return r;
  };
  afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  test("writes the credentials JSON Mesos reads (src/credentials/credentials.hpp) and a key, 0600 in a 0700 directory", () => {
    const r = root();
    const dir = run(r);
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    expect(mode(dir)).toBe("700");
    // The runtime directory keeps its mode: the health relay (DynamicUser) reads mesos-agent.env there.
    expect(mode(join(r, "run", "mesos-cluster"))).toBe("755");
    const creds = join(dir, "mesos-agent-http-credentials.json");
    const key = join(dir, "mesos-agent-jwt-secret-key");
    expect(mode(creds)).toBe("600");
    expect(mode(key)).toBe("600");
    const parsed = JSON.parse(readFileSync(creds, "utf8"));
    expect(parsed).toEqual({ credentials: [{ principal: "operator", secret: expect.stringMatching(/^[0-9a-f]{64}$/) }] });
    expect(readFileSync(key, "utf8")).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(key, "utf8")).not.toBe(parsed.credentials[0].secret);
  });

  test("keeps the credential across agent restarts (same boot), and two agents (or boots) get different ones", () => {
    const r = root();
    const dir = run(r);
    const first = readFileSync(join(dir, "mesos-agent-http-credentials.json"), "utf8");
    run(r);
    expect(readFileSync(join(dir, "mesos-agent-http-credentials.json"), "utf8")).toBe(first);
    const other = readFileSync(join(run(root()), "mesos-agent-http-credentials.json"), "utf8");
    expect(JSON.parse(other).credentials[0].secret).not.toBe(JSON.parse(first).credentials[0].secret);
  });
});

describe("the pool's props", () => {
  function pool(extra: { httpAuthentication?: unknown; extraFlags?: Record<string, string> }): MesosAgentPool {
    const stack = new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");
    const target = new AzureTarget(stack, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY });
    const nodes = new NodeGroup(stack, "masters", { target, count: 1, vmSize: "Standard_D2s_v5" });
    const zookeeper = new ZookeeperEnsemble(stack, "zk", { nodes });
    const masters = new MesosMasterGroup(stack, "mesos", { nodes, zookeeper });
    return new MesosAgentPool(stack, "agents", { target, masters, count: 2, vmSize: "Standard_D2s_v5", ...(extra as object) });
  }

  test("off by default for library users", () => {
    expect(pool({}).httpAuthentication).toBe(false);
    expect(pool({}).environment().MESOS_AUTHENTICATE_HTTP_READWRITE).toBeUndefined();
  });

  test("its flags are refused in extraFlags while it sets them, and accepted while it is off", () => {
    for (const flag of ["authenticate_http_readwrite", "authenticate_http_readonly", "http_credentials"]) {
      expect(() => pool({ httpAuthentication: true, extraFlags: { [flag]: "x" } })).toThrow(
        new RegExp(`^lib/agents: invalid extraFlags\\.${flag} "${flag}"; allowed: a flag not managed by this construct \\(managed: .*${flag}`),
      );
      expect(pool({ extraFlags: { [flag]: "x" } }).environment()[`MESOS_${flag.toUpperCase()}`]).toBe("x");
    }
  });

  test("an SSL build's executor authentication goes through extraFlags, with the generated key (not set by default)", () => {
    const p = pool({
      httpAuthentication: true,
      extraFlags: { jwt_secret_key: AGENT_JWT_KEY_IN_CONTAINER, authenticate_http_executors: "true", acls: '{"permissive":true}' },
    });
    expect(p.environment()).toMatchObject({ ...AUTH_ENV, MESOS_JWT_SECRET_KEY: AGENT_JWT_KEY_IN_CONTAINER, MESOS_AUTHENTICATE_HTTP_EXECUTORS: "true" });
    expect(pool({ httpAuthentication: true }).environment().MESOS_JWT_SECRET_KEY).toBeUndefined();
  });

  test("a value other than a boolean", () => {
    expect(() => pool({ httpAuthentication: "yes" })).toThrow('lib/agents: invalid httpAuthentication "yes"; allowed: true or false');
  });
});

/** GET a URL; resolves with the status code. */
function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, (res: IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject);
  });
}

describeWithTool(PYTHON3, "the health relay against an agent that authenticates (python3)", () => {
  test("asks only /health, which Mesos 1.7.1 routes without a realm: healthy while every other path answers 401", async () => {
    const asked: string[] = [];
    // What an agent with both switches answers (src/slave/slave.cpp routes; libprocess' 401 challenge).
    const agent: Server = createServer((req, res) => {
      asked.push(req.url ?? "");
      if (req.url === "/health") res.statusCode = 200;
      else {
        res.statusCode = 401;
        res.setHeader("WWW-Authenticate", 'Basic realm="mesos-agent-readonly"');
      }
      res.end();
    });
    await new Promise<void>((r) => agent.listen(0, "127.0.0.1", () => r()));
    const dir = mkdtempSync(join(tmpdir(), "agent-http-relay-"));
    const envFile = join(dir, "mesos-agent.env");
    writeFileSync(envFile, "MESOS_IP=127.0.0.1\nMESOS_HOSTNAME=127.0.0.1\n");
    const script = join(dir, "relay.py");
    writeFileSync(script, agentHealthRelaySource((agent.address() as AddressInfo).port));
    const listenPort = 20000 + Math.floor(Math.random() * 20000);
    const relay = spawn("python3", [script], { env: { ...process.env, AGENT_HEALTH_ENV_FILE: envFile, AGENT_HEALTH_LISTEN_PORT: String(listenPort) }, stdio: "ignore" });
    try {
      let answer = 0;
      for (let i = 0; i < 50 && answer === 0; i++) {
        answer = await status(`http://127.0.0.1:${listenPort}/health`).catch(() => 0);
        if (answer === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(answer).toBe(200);
      expect(new Set(asked)).toEqual(new Set(["/health"]));
    } finally {
      relay.kill();
      agent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
