/**
 * marathon-lb on an edge pool (issue 14): the edge agents' role and ports,
 * Marathon's role flags and the masters' role ACL, the marathon-lb unit and
 * how it gets Marathon's credential and CA, the network rules (9090 never
 * public, 80/443 closed until opened), and how apps opt in.
 * Stacks are built with the library directly, on both clouds.
 */
import { spawnSync } from "child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { gzipSync } from "zlib";
import { join } from "path";
import { App, TerraformStack } from "cdktf";
import {
  AwsTarget,
  AzureTarget,
  MarathonApp,
  MarathonService,
  MasterTlsProxy,
  MesosAgentPool,
  MesosMasterGroup,
  NodeGroup,
  Peer,
  ZookeeperEnsemble,
} from "../constructs";
import { AppNetwork, renderAppDefinition } from "../constructs/core/marathon-app-definition";
import { checkRole, mesosAcls } from "../constructs/core/mesos-acls";
import { EDGE_ROLE, MARATHON_LB_IMAGE, MarathonLb } from "../constructs/marathon-lb";
import { IMAGE_FACTS } from "../constructs/core/image-facts";
import { effectiveRuntime, processOf } from "../scripts/lib/effective-runtime";
import { userDataNodes } from "../scripts/lib/synth-output";
import { containerRuns, fileAt, readUserData, UserDataModel } from "../scripts/lib/user-data-model";
import { Cloud, ruleTable, synthStack, TEST_SSH_KEY, TfJson, warningsOf } from "./helpers/synth";

const PASSWORD = { mesos: "mesos-Pa55word-0123456789", marathon: "marathon-Pa55word-0123456789", framework: "framework-Pa55word-0123456789", agent: "agent-Pa55word-0123456789" };

interface EdgeOptions {
  /** Credentials everywhere, framework and agent authentication, and TLS in front of Marathon. */
  readonly secure: boolean;
  readonly edgeTaskPorts?: [number, number];
  readonly edgeRole?: string;
  /** Masters without agentCredentials while Marathon has credentials. */
  readonly noAgentCredentials?: boolean;
  readonly lb?: Partial<ConstructorParameters<typeof MarathonLb>[2]>;
  /** The TLS proxy after the MarathonLb. */
  readonly lateTls?: boolean;
}

/** A cluster with an ordinary and an edge pool and a MarathonLb, built with the library. */
function edgeCluster(cloud: Cloud, options: EdgeOptions) {
  const s = new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lb");
  const target = cloud === "aws" ? new AwsTarget(s, "aws", { clusterName: "lb", sshPublicKey: TEST_SSH_KEY }) : new AzureTarget(s, "azure", { clusterName: "lb", sshPublicKey: TEST_SSH_KEY });
  const vmSize = cloud === "aws" ? "t3.large" : "Standard_D2s_v5";
  const nodes = new NodeGroup(s, "masters", { target, count: 3, vmSize });
  const zookeeper = new ZookeeperEnsemble(s, "zk", { nodes });
  const secure = options.secure;
  const framework = { username: "marathon", password: PASSWORD.framework };
  const mesos = new MesosMasterGroup(s, "mesos", {
    nodes,
    zookeeper,
    taskUsers: ["nobody"],
    ...(secure
      ? {
          credentials: { username: "admin", password: PASSWORD.mesos },
          frameworkCredentials: [framework],
          ...(options.noAgentCredentials ? {} : { agentCredentials: { username: "mesos-agent", password: PASSWORD.agent } }),
        }
      : {}),
  });
  const marathon = new MarathonService(s, "marathon", {
    masters: mesos,
    mesosRole: EDGE_ROLE,
    ...(secure ? { credentials: { username: "admin", password: PASSWORD.marathon }, mesosAuthentication: framework } : {}),
  });
  const agents = new MesosAgentPool(s, "agents", { target, masters: mesos, count: 2, vmSize, httpAuthentication: secure });
  const edge = new MesosAgentPool(s, "edge", { target, masters: mesos, name: "edge", count: 1, vmSize, role: options.edgeRole ?? EDGE_ROLE, taskPorts: options.edgeTaskPorts, httpAuthentication: secure });
  const tls = () => new MasterTlsProxy(s, "api-tls", { masters: mesos, marathon });
  if (secure && !options.lateTls) tls();
  const lb = new MarathonLb(s, "marathon-lb", { marathon, edgePool: edge, ...options.lb });
  if (options.lateTls) tls();
  return { stack: s, marathon, agents, edge, lb, mesos };
}

/** The decoded user data of a pool (`lb-edge`, `lb-agents`) or a master (`lb-masters-1`). */
function docOf(json: TfJson, name: string): { text: string; model: UserDataModel } {
  const node = userDataNodes(json).find((n) => n.name === name);
  if (!node) throw new Error(`no user data for ${name}`);
  return { text: node.text, model: readUserData(node.text) };
}

function file(model: UserDataModel, path: string) {
  const f = fileAt(model, path);
  if (!f) throw new Error(`no file ${path}`);
  return f;
}

/** The Mesos 1.7.1 local authorizer for one request (apache/mesos 1.7.1 src/authorizer/local/authorizer.cpp `matches`, `allows`, first match decides, else permissive). */
function authorized(acls: Record<string, { principals: Entity; roles?: Entity }[]>, principal: string | undefined, role: string): boolean {
  const kind = (e: Entity) => e.type ?? "SOME";
  const subject: Entity = principal === undefined ? { type: "ANY" } : { values: [principal] };
  const object: Entity = { values: [role] };
  const matches = (req: Entity, acl: Entity) => (kind(req) === "SOME" ? kind(acl) !== "SOME" || req.values!.every((v) => acl.values!.includes(v)) : kind(acl) !== "SOME");
  const allows = (req: Entity, acl: Entity) => (kind(req) === "SOME" ? kind(acl) === "ANY" || (kind(acl) === "SOME" && req.values!.every((v) => acl.values!.includes(v))) : kind(acl) === "ANY");
  for (const acl of acls.register_frameworks ?? []) {
    if (matches(subject, acl.principals) && matches(object, acl.roles!)) return allows(subject, acl.principals) && allows(object, acl.roles!);
  }
  return true;
}
type Entity = { type?: "SOME" | "ANY" | "NONE"; values?: string[] };

/** The secure cluster of a cloud with three apps, built and synthesized once per file. */
const SECURE = new Map<Cloud, ReturnType<typeof buildSecure>>();
function buildSecure(cloud: Cloud) {
  const built = edgeCluster(cloud, { secure: true });
  const web = new MarathonApp(built.stack, "web", {
    marathon: built.marathon,
    id: "/shop/web",
    container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80 }] },
    loadBalancer: { servicePort: 10001, vhost: "shop.example.com" },
  });
  const redis = new MarathonApp(built.stack, "redis", { marathon: built.marathon, id: "redis", cmd: "redis-server --port $PORT0", portDefinitions: [{ port: 0 }], loadBalancer: { servicePort: 10002, mode: "tcp" } });
  const onEdge = new MarathonApp(built.stack, "edge-app", { marathon: built.marathon, id: "edge-app", cmd: "sleep 1000", acceptedResourceRoles: [EDGE_ROLE] });
  const json = synthStack(built.stack);
  return { built, web, redis, onEdge, json, edge: docOf(json, "lb-edge"), agents: docOf(json, "lb-agents") };
}
function secure(cloud: Cloud) {
  if (!SECURE.has(cloud)) SECURE.set(cloud, buildSecure(cloud));
  return SECURE.get(cloud)!;
}

describe.each(["aws", "azure"] as Cloud[])("%s, with auth and TLS", (cloud) => {
  const { built, web, redis, onEdge, json, edge, agents } = secure(cloud);

  test("the edge agents offer everything to slave_public and no LB port; the ordinary agents keep role * and get nothing of marathon-lb", () => {
    const agent = processOf(effectiveRuntime(edge.model), "mesos-agent")!;
    expect(agent.flags.default_role.value).toBe("slave_public");
    expect(agent.flags.resources.value).toBe("ports:[31000-32000]");
    const plain = processOf(effectiveRuntime(agents.model), "mesos-agent")!;
    expect(plain.flags.default_role).toBeUndefined();
    expect(agents.text).not.toMatch(/marathon-lb|slave_public/);
    expect(containerRuns(agents.model).map((r) => r.unit.unit)).toEqual(["mesos-agent.service"]);
    // What marathon-lb adds to the edge document, gzipped as AWS carries it (the ordinary pool's document is the same but for it).
    const gz = (text: string) => gzipSync(text, { level: 9 }).length;
    expect(gz(edge.text) - gz(agents.text)).toBeLessThan(700);
  });

  test("marathon-lb: the pinned image on the host network, not privileged, sse, its group, every Marathon over https with the CA, the credential from a file", () => {
    const [run] = containerRuns(edge.model).filter((r) => r.unit.unit === "marathon-lb.service");
    expect(run.image).toBe(MARATHON_LB_IMAGE);
    const unit = file(edge.model, "/etc/systemd/system/marathon-lb.service").content;
    const execStart = unit.split("\n").find((l) => l.startsWith("ExecStart="))!;
    expect(execStart).toContain(" --net=host ");
    expect(execStart).not.toMatch(/--privileged|--pid=host|-p /);
    const ips = built.marathon.nodes.privateIps;
    expect(run.args).toEqual([
      "sse",
      "--health-check",
      "--group",
      "external",
      "--marathon",
      ...ips.map((ip) => `https://${ip}:8443`),
      "--min-serv-port-ip-per-task",
      "10000",
      "--max-serv-port-ip-per-task",
      "10100",
      "--marathon-auth-credential-file",
      "/etc/marathon-lb/credentials",
      "--marathon-ca-cert",
      "/etc/marathon-lb/ca.pem",
    ]);
    expect(run.volumes).toEqual(["/run/mesos-cluster/secrets/marathon-lb:/etc/marathon-lb:ro"]);
    expect(file(edge.model, "/etc/mesos-cluster/marathon-lb.env").content).toBe("PORTS=9090\n");
    expect(edge.model.enabledUnits).toContain("marathon-lb.service");
    // No secret travels in user data.
    for (const doc of userDataNodes(json)) for (const pw of Object.values(PASSWORD)) expect(doc.text).not.toContain(pw);
    expect(IMAGE_FACTS[MARATHON_LB_IMAGE].entrypoint).toEqual(["tini", "-g", "--", "/marathon-lb/run"]);
  });

  test("the credential and CA are read before instance metadata closes, and marathon-lb starts only with them", () => {
    const dropIn = file(edge.model, "/etc/systemd/system/mesos-imds-block.service.d/20-marathon-lb.conf").content;
    expect(dropIn).toContain("Wants=marathon-lb-secrets.service\nAfter=marathon-lb-secrets.service\n");
    const unit = file(edge.model, "/etc/systemd/system/marathon-lb.service").content;
    expect(unit).toMatch(/^Requires=docker\.service marathon-lb-secrets\.service$/m);
    expect(unit).toMatch(/^After=docker\.service network-online\.target marathon-lb-secrets\.service$/m);
    // The pool's identity reads exactly Marathon's password and the CA besides the agents' secret.
    const script = file(edge.model, "/usr/local/sbin/marathon-lb-secrets").content;
    expect(script.match(/fetch-cluster-secret [\w.-]+/g)).toEqual(["fetch-cluster-secret marathon-password", "fetch-cluster-secret marathon-lb-marathon-ca"]);
  });

  test("network rules: 9090-9091 and the service ports from the cluster's network only, 80/443 from nowhere, the edge reaches Marathon's TLS port and the tasks", () => {
    const rows = ruleTable(json, cloud, "lb");
    const toEdge = rows.filter((r) => r.startsWith("edge <-"));
    expect(toEdge).toEqual(
      expect.arrayContaining(["edge <- 10.20.0.0/16 : 9090-9091", "edge <- 10.20.0.0/16 : 10000-10100"]),
    );
    for (const r of toEdge) expect(r).not.toMatch(/0\.0\.0\.0\/0|Internet|\* :/);
    expect(toEdge.filter((r) => /: (80|443)$/.test(r))).toEqual([]);
    expect(rows).toContain("masters <- edge : 8443");
    expect(rows).not.toContain("masters <- edge : 8080");
    expect(rows).toContain("agents <- edge : 31000-32000");
  });

  test("Marathon registers with slave_public and accepts * by default; the masters keep slave_public for Marathon's principal", () => {
    const master = docOf(json, "lb-masters-1").model;
    const runtime = effectiveRuntime(master);
    const marathon = processOf(runtime, "marathon")!;
    expect(marathon.flags.mesos_role.value).toBe("slave_public");
    expect(marathon.flags.default_accepted_resource_roles.value).toBe("*");
    const acls = JSON.parse(processOf(runtime, "mesos-master")!.flags.acls.value);
    expect(authorized(acls, "marathon", "slave_public")).toBe(true);
    expect(authorized(acls, "admin", "slave_public")).toBe(false);
    expect(authorized(acls, undefined, "slave_public")).toBe(false);
    expect(authorized(acls, "mesos-agent", "slave_public")).toBe(false);
    expect(authorized(acls, "marathon", "*")).toBe(true);
    expect(authorized(acls, undefined, "*")).toBe(true);
  });

  test("apps opt in with typed props: HAPROXY_* labels and the first port's service port; acceptedResourceRoles places an app on the edge", () => {
    expect(web.definition.labels).toEqual({ HAPROXY_GROUP: "external", HAPROXY_0_VHOST: "shop.example.com" });
    expect(web.definition.container!.portMappings![0]).toMatchObject({ containerPort: 80, hostPort: 0, servicePort: 10001 });
    expect(redis.definition.labels).toEqual({ HAPROXY_GROUP: "external", HAPROXY_0_MODE: "tcp" });
    expect(redis.definition.portDefinitions).toEqual([{ port: 10002, protocol: "tcp" }]);
    expect(onEdge.definition.acceptedResourceRoles).toEqual(["slave_public"]);
    expect(web.definition.acceptedResourceRoles).toBeUndefined();
    expect(MarathonLb.of(built.marathon)).toHaveLength(1);
    expect(MarathonLb.of(built.marathon)[0]).toBe(built.lb);
  });
});

describe("without auth or TLS", () => {
  const built = edgeCluster("aws", { secure: false });
  built.lb.allowWebFrom(Peer.anyIpv4(), "marathon-lb web frontends from the internet", "web-internet");
  new MarathonApp(built.stack, "internal", { marathon: built.marathon, id: "internal", cmd: "x", portDefinitions: [{ port: 0 }], loadBalancer: { group: "internal", servicePort: 10003 } });
  const json = synthStack(built.stack);
  const edge = docOf(json, "lb-edge");

  test("plain http to every Marathon on 8080, no secrets, no pool identity; opening the web opens 80 and 443 only; an unserved group warns", () => {
    const [run] = containerRuns(edge.model).filter((r) => r.unit.unit === "marathon-lb.service");
    expect(run.args.slice(4, 8)).toEqual(["--marathon", ...built.marathon.nodes.privateIps.map((ip) => `http://${ip}:8080`)]);
    expect(run.args.join(" ")).not.toMatch(/credential|ca-cert/);
    expect(run.volumes).toEqual([]);
    expect(fileAt(edge.model, "/usr/local/sbin/marathon-lb-secrets")).toBeUndefined();
    expect(built.edge.nodes.readsSecrets).toBe(false);
    const rows = ruleTable(json, "aws", "lb");
    expect(rows).toContain("masters <- edge : 8080");
    expect(rows.filter((r) => r.startsWith("edge <- 0.0.0.0/0"))).toEqual(["edge <- 0.0.0.0/0 : 443", "edge <- 0.0.0.0/0 : 80"]);
    // Labels for a group no MarathonLb serves expose nothing: said at synth.
    expect(warningsOf(built.stack)).toContain('lb/internal: no MarathonLb of lb/marathon serves group "internal": the app is not exposed');
    // Without framework authentication no ACL can keep the role (any framework may claim any principal).
    expect(processOf(effectiveRuntime(docOf(json, "lb-masters-1").model), "mesos-master")!.flags.acls.value).not.toContain("slave_public");
  });
});

describe("the boot script that writes the credential", () => {
  const script = file(secure("aws").edge.model, "/usr/local/sbin/marathon-lb-secrets").content;

  function run(password: string): { status: number | null; stderr: string; dir: string } {
    const work = mkdtempSync(join(tmpdir(), "marathon-lb-secrets-"));
    const fetcher = join(work, "fetch");
    writeFileSync(fetcher, `#!/bin/sh\ncase "$1" in marathon-password) printf '%s' '${password}' ;; *) echo CA-PEM ;; esac\n`);
    chmodSync(fetcher, 0o755);
    const dir = join(work, "secrets");
    const body = script.replaceAll("/run/mesos-cluster/secrets/marathon-lb", dir).replaceAll("/usr/local/sbin/fetch-cluster-secret", fetcher);
    const r = spawnSync("bash", ["-c", body], { encoding: "utf8" });
    return { status: r.status, stderr: r.stderr, dir };
  }

  test("root-only files: user:password on one line and the CA; a password holding ':' is refused", () => {
    const ok = run("good-Pa55word");
    try {
      expect(ok.status).toBe(0);
      expect(readFileSync(join(ok.dir, "credentials"), "utf8")).toBe("admin:good-Pa55word\n");
      expect(readFileSync(join(ok.dir, "ca.pem"), "utf8")).toBe("CA-PEM\n");
      expect(statSync(ok.dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(ok.dir, "credentials")).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(join(ok.dir, ".."), { recursive: true, force: true });
    }
    const bad = run("bad:password");
    try {
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain("marathon-lb-secrets: Marathon's password is empty or holds ':'");
      expect(() => statSync(join(bad.dir, "credentials"))).toThrow();
    } finally {
      rmSync(join(bad.dir, ".."), { recursive: true, force: true });
    }
  });
});

describe("refusals name the construct, the property, the value and what is allowed", () => {
  test("roles: Mesos' rules on agent pools, Marathon's (no '/') on Marathon and apps", () => {
    for (const bad of ["", ".", "a/../b", "-edge", "edge public", "a//b", "a/*"]) expect(() => checkRole("p", "role", bad)).toThrow(`p: invalid role ${JSON.stringify(bad)}; allowed: a Mesos role`);
    expect(checkRole("p", "role", "eng/web")).toBe("eng/web");
    expect(() => checkRole("p", "mesosRole", "eng/web", { forMarathon: true })).toThrow("without '/' (Marathon 1.8 refuses it)");
    expect(() => renderAppDefinition("a", { id: "x", cmd: "x", acceptedResourceRoles: [] })).toThrow("a: invalid acceptedResourceRoles []; allowed: a non-empty list of Mesos roles");
    expect(() => renderAppDefinition("a", { id: "x", cmd: "x", acceptedResourceRoles: ["*", "*"] })).toThrow("allowed: distinct roles");
  });

  test("an edge pool without role slave_public, a task range over the LB's ports, a bad group or range", () => {
    expect(() => edgeCluster("aws", { secure: false, edgeRole: "*" })).toThrow('lb/marathon-lb: invalid edgePool "lb/edge"; allowed: an agent pool with role "slave_public" (lb/edge offers its resources to role "*"');
    expect(() => edgeCluster("aws", { secure: false, edgeTaskPorts: [9000, 11000] })).toThrow("lb/marathon-lb: invalid statsPort \"9090-9091\"; allowed: a port not used by the agents' task ports");
    expect(() => edgeCluster("aws", { secure: false, lb: { group: "*" } })).toThrow('lb/marathon-lb: invalid group "*"; allowed: 1-63 characters');
    expect(() => edgeCluster("aws", { secure: false, lb: { group: "a,b" } })).toThrow('invalid group "a,b"');
    expect(() => edgeCluster("aws", { secure: false, lb: { servicePorts: [10100, 10000] } })).toThrow("lb/marathon-lb: invalid servicePorts [10100,10000]; allowed: [first, last] with first <= last");
    expect(() => edgeCluster("aws", { secure: false, lb: { servicePorts: [9000, 9095] } })).toThrow("lb/marathon-lb: invalid servicePorts \"9000-9095\"; allowed: a port not used by marathon-lb's stats");
  });

  test("Marathon's password on an edge pool that keeps instance metadata open; a TLS proxy created after the LB", () => {
    expect(() => edgeCluster("aws", { secure: true, noAgentCredentials: true })).toThrow("lb/marathon-lb: invalid edgePool \"lb/edge\"; allowed: an edge pool whose agents close instance metadata after boot");
    const late = edgeCluster("aws", { secure: true, lateTls: true });
    expect(() => synthStack(late.stack)).toThrow("lb/marathon-lb: invalid marathon \"lb/marathon\"; allowed: a Marathon whose MasterTlsProxy exists before this MarathonLb");
  });

  test("app exposure: a service port outside the LB's range or taken, no port to expose, a tcp vhost, a hand-set label; roles Marathon gets no offers for", () => {
    const app = (id: string, loadBalancer: object, extra: object = {}) => ({ id, container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80 }] }, loadBalancer, ...extra });
    expect(() => renderAppDefinition("a", { id: "x", cmd: "x", loadBalancer: { servicePort: 10001 } })).toThrow('a: invalid loadBalancer "(no port)"; allowed: an app with a port to expose');
    expect(() => renderAppDefinition("a", app("x", {}))).toThrow("a: invalid loadBalancer.servicePort (undefined); allowed: a service port within the MarathonLb's servicePorts (e.g. 10000), or a vhost");
    expect(() => renderAppDefinition("a", app("x", { vhost: "a.example.com", mode: "tcp" }))).toThrow('a: invalid loadBalancer.mode "tcp"; allowed: "http" or unset with a vhost');
    expect(() => renderAppDefinition("a", app("x", { vhost: "A_B" }))).toThrow('a: invalid loadBalancer.vhost "A_B"');
    expect(() => renderAppDefinition("a", app("x", { servicePort: 10001 }, { labels: { HAPROXY_GROUP: "internal" } }))).toThrow('a: invalid labels.HAPROXY_GROUP "internal"; allowed: unset: loadBalancer sets HAPROXY_GROUP');
    expect(() => renderAppDefinition("a", { id: "x", cmd: "x", network: AppNetwork.host(), portDefinitions: [{ port: 10001 }], requirePorts: true, loadBalancer: { servicePort: 10001 } })).toThrow(
      "a: invalid requirePorts true; allowed: false with loadBalancer.servicePort",
    );

    const built = edgeCluster("aws", { secure: false });
    new MarathonApp(built.stack, "outside", { marathon: built.marathon, ...app("outside", { servicePort: 10200 }) });
    expect(() => synthStack(built.stack)).toThrow('lb/outside: invalid loadBalancer.servicePort 10200; allowed: a port within the service ports of the MarathonLb serving "external": 10000-10100 (lb/marathon-lb)');
    const twice = edgeCluster("aws", { secure: false });
    new MarathonApp(twice.stack, "one", { marathon: twice.marathon, ...app("one", { servicePort: 10005 }) });
    new MarathonApp(twice.stack, "two", { marathon: twice.marathon, ...app("two", { servicePort: 10005 }) });
    expect(() => synthStack(twice.stack)).toThrow("lb/two: invalid loadBalancer.servicePort 10005; allowed: a service port no other app uses (lb/one has it");
    const roles = edgeCluster("aws", { secure: false });
    new MarathonApp(roles.stack, "elsewhere", { marathon: roles.marathon, id: "elsewhere", cmd: "x", acceptedResourceRoles: ["gpu"] });
    expect(() => synthStack(roles.stack)).toThrow('lb/elsewhere: invalid acceptedResourceRoles ["gpu"]; allowed: roles lb/marathon gets offers for: "slave_public", "*"');
  });

  test("the ACL for a reserved role, and nothing new without one", () => {
    expect(mesosAcls({ agentOnlyPrincipals: ["mesos-agent"] })).not.toContain("slave_public");
    const acls = JSON.parse(mesosAcls({ roleOwners: { slave_public: ["marathon"] } })!);
    expect(acls).toEqual({ register_frameworks: [{ principals: { values: ["marathon"] }, roles: { values: ["slave_public"] } }, { principals: { type: "NONE" }, roles: { values: ["slave_public"] } }] });
  });
});
