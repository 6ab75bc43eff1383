/**
 * `npm run endpoints` and the protocol pieces of smoke's discovery walk:
 * Mesos-DNS's naming (mesosphere/mesos-dns records/labels, generator.go),
 * the DNS client on packets another implementation encoded, the Redis PING,
 * and the command against the fake cluster (its Marathon with tasks, its
 * Mesos-DNS and marathon-lb). In-process but for one run of the real script.
 */
import { execFile } from "child_process";
import { mkdtempSync, writeFileSync } from "fs";
import { createServer, Server } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { putApp } from "../constructs/cluster-client/marathon";
import {
  appDnsNames,
  appEndpoints,
  decodeDnsMessage,
  DnsFormatError,
  DNS_TYPES,
  encodeDnsQuery,
  endpointsMain,
  lbServes,
  mesosDnsLabel,
  queryDns,
  redisPing,
  resolveSrv,
} from "../scripts/lib/endpoints";
import { REDIS_IMAGE as SMOKE_REDIS_IMAGE } from "../scripts/lib/smoke";
import { EXAMPLE_APPS, REDIS_IMAGE as EXAMPLE_REDIS_IMAGE } from "../stacks/example-apps";
import { MesosDns } from "../constructs/mesos-dns";
import { FakeCluster, marathonAppSchemaProblems } from "./helpers/fake-cluster";
import { cdktfLoaded, libraryReportPreload } from "./helpers/loaded-libraries";
import { DISCOVERY_STACKS, synthCluster } from "./helpers/synth";
import { freePort } from "./helpers/ports";

const ROOT = join(__dirname, "..");

describe("Mesos-DNS names (mesosphere/mesos-dns records/labels/labels.go, records/generator.go; Marathon's PathId.toHostname)", () => {
  test("an app at the root and in nested groups: the path reversed, through the RFC 1123 label function", () => {
    expect(appDnsNames("/redis").hostname).toBe("redis.marathon.mesos");
    expect(appDnsNames("/redis").srv()).toBe("_redis._tcp.marathon.mesos");
    const nested = appDnsNames("/shop/backend/redis");
    expect(nested.label).toBe("redis-backend-shop");
    expect(nested.hostname).toBe("redis-backend-shop.marathon.mesos");
    expect(nested.srv("udp")).toBe("_redis-backend-shop._udp.marathon.mesos");
    expect(nested.namedSrv("cache_port")).toBe("_cache-port._redis-backend-shop._tcp.marathon.mesos");
    expect(nested.slaveSrv()).toBe("_redis-backend-shop._tcp.marathon.slave.mesos");
  });

  test("the framework name and the domain: DomainFrag of --framework_name, the domain lower-cased", () => {
    expect(appDnsNames("/web", { framework: "Marathon_Prod", domain: "Cluster.Internal" }).hostname).toBe("web.marathon-prod.cluster.internal");
    expect(appDnsNames("/web", { framework: "marathon.user" }).srv()).toBe("_web._tcp.marathon.user.mesos");
  });

  test("the same names as the MesosDns construct gives (constructs/mesos-dns.ts appHostname, appSrvName)", () => {
    for (const id of ["/redis", "/grp/redis", "/shop/backend/redis-2", "/a.b/c"]) {
      expect(appDnsNames(id).hostname).toBe(MesosDns.appHostname(id));
      expect(appDnsNames(id).srv()).toBe(MesosDns.appSrvName(id));
      expect(appDnsNames(id, { domain: "cluster" }).srv()).toBe(MesosDns.appSrvName(id, "cluster"));
    }
  });

  test("labels: mapped, trimmed and cut as trimCut does (63 characters, or 24 and no leading digit with EnforceRFC952)", () => {
    expect(mesosDnsLabel("-My_App.v2-")).toBe("my-app-v2");
    expect(mesosDnsLabel("a+b~c")).toBe("abc");
    const long = `${"a".repeat(62)}-${"b".repeat(10)}`;
    // Cut at 63, the trailing "-" trimmed, then filled up from what follows (trimCut's tail).
    expect(mesosDnsLabel(long)).toBe(`${"a".repeat(62)}b`);
    expect(mesosDnsLabel("9lives-cat", true)).toBe("lives-cat");
    expect(mesosDnsLabel("abcdefghijklmnopqrstuvwxyz", true)).toBe("abcdefghijklmnopqrstuvwx");
  });
});

describe("the DNS client reads packets another implementation wrote", () => {
  // Encoded by dnspython 2.8.0 (`dns.message.make_query(name, "SRV", use_edns=False, id=0x1234)`;
  // `make_response(q)` with AA and RA, its answer and additional sections as below; `to_wire()`
  // compresses names as Mesos-DNS's miekg/dns does).
  const QUERY = "1234010000010000000000000f5f72656469732d6578616d706c6573045f746370086d61726174686f6e056d65736f730000210001";
  const SRV_REPLY =
    "1234858000010002000000020f5f72656469732d6578616d706c6573045f746370086d61726174686f6e056d65736f730000210001c00c002100010000003c0020000000007c941772656469732d6578616d706c65732d65663267682d7331c021c00c002100010000003c002000000000791d1772656469732d6578616d706c65732d61623163642d7330c021c073000100010000003c00040a141004c047000100010000003c00040a141005";
  // make_query("nothing.marathon.mesos.", "A", id=0xbeef) answered NXDOMAIN with the SOA of ns1.mesos.
  const NX_REPLY =
    "beef85830001000000010000076e6f7468696e67086d61726174686f6e056d65736f730000010001c00c000600010000003c0021036e7331c01d04726f6f74c0346553f1000000003c00000258000151800000003c";

  test("a query is encoded byte for byte as dnspython encodes it", () => {
    expect(encodeDnsQuery(0x1234, "_redis-examples._tcp.marathon.mesos", DNS_TYPES.SRV).toString("hex")).toBe(QUERY);
  });

  test("an SRV answer with compressed targets and their A records in the additional section", () => {
    const m = decodeDnsMessage(Buffer.from(SRV_REPLY, "hex"));
    expect(m).toMatchObject({ id: 0x1234, response: true, authoritative: true, recursionDesired: true, recursionAvailable: true, truncated: false, rcode: 0 });
    expect(m.questions).toEqual([{ name: "_redis-examples._tcp.marathon.mesos", type: 33, class: 1 }]);
    expect(m.answers.map((a) => ({ ttl: a.ttl, ...a.data })).sort((a, b) => (a.port ?? 0) - (b.port ?? 0))).toEqual([
      { ttl: 60, priority: 0, weight: 0, port: 31005, target: "redis-examples-ab1cd-s0.marathon.mesos" },
      { ttl: 60, priority: 0, weight: 0, port: 31892, target: "redis-examples-ef2gh-s1.marathon.mesos" },
    ]);
    expect(m.additionals.map((a) => [a.name, a.data.address])).toEqual([
      ["redis-examples-ab1cd-s0.marathon.mesos", "10.20.16.4"],
      ["redis-examples-ef2gh-s1.marathon.mesos", "10.20.16.5"],
    ]);
  });

  test("NXDOMAIN with the SOA in the authority section", () => {
    const m = decodeDnsMessage(Buffer.from(NX_REPLY, "hex"));
    expect(m.rcode).toBe(3);
    expect(m.answers).toEqual([]);
    expect(m.authorities).toEqual([{ name: "nothing.marathon.mesos", type: 6, class: 1, ttl: 60, data: { mname: "ns1.mesos", rname: "root.ns1.mesos", serial: 1700000000 } }]);
  });

  test("malformed messages are refused, saying why", () => {
    const reply = Buffer.from(SRV_REPLY, "hex");
    expect(() => decodeDnsMessage(reply.subarray(0, 11))).toThrow("a DNS message has a 12-octet header; this one has 11 octets");
    expect(() => decodeDnsMessage(reply.subarray(0, reply.length - 2))).toThrow(/data of record redis-examples-ef2gh-s1\.marathon\.mesos \(A\) runs past the end/);
    // The first answer's owner name points at itself.
    const loop = Buffer.from(reply);
    loop.writeUInt16BE(0xc000 | 53, 53);
    expect(() => decodeDnsMessage(loop)).toThrow(DnsFormatError);
    expect(() => decodeDnsMessage(loop)).toThrow(/compression pointer at offset 53 loops/);
  });
});

describe("Redis PING", () => {
  let server: Server;
  let reply = "+PONG\r\n";
  let received = "";
  beforeAll(async () => {
    server = createServer((socket) =>
      socket.on("data", (chunk) => {
        received += chunk.toString("latin1");
        if (reply === "close") socket.destroy();
        else socket.write(reply);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = () => (server.address() as { port: number }).port;

  test("sends PING as a RESP array and reads +PONG; another reply, a closed connection and a refused one say so", async () => {
    expect(await redisPing("127.0.0.1", port(), 1000)).toEqual({ ok: true, kind: "pong", detail: "+PONG" });
    expect(received).toBe("*1\r\n$4\r\nPING\r\n");
    reply = "-NOAUTH Authentication required.\r\n";
    expect(await redisPing("127.0.0.1", port(), 1000)).toEqual({ ok: false, kind: "reply", detail: "-NOAUTH Authentication required." });
    reply = "close";
    expect(await redisPing("127.0.0.1", port(), 1000)).toMatchObject({ ok: false, kind: "closed" });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", () => resolve()));
    const gone = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await redisPing("127.0.0.1", gone, 1000)).toEqual({ ok: false, kind: "refused", detail: "connection refused" });
  });
});

describe("an app's endpoints from Marathon's app JSON (marathon-lb's reading: utils.py get_service_ports, marathon_lb.py has_group)", () => {
  const bridge = {
    id: "/examples/redis",
    instances: 2,
    networks: [{ mode: "container/bridge" }],
    container: { type: "DOCKER", docker: { image: "redis:7.2.5" }, portMappings: [{ containerPort: 6379, hostPort: 0, servicePort: 10000, protocol: "tcp", name: "redis" }] },
    labels: { HAPROXY_GROUP: "external" },
    tasks: [{ id: "examples_redis.instance-1._app.1", host: "10.20.16.4", ports: [31005], state: "TASK_RUNNING" }],
  };

  test("bridge: the mapping's service port; host networking: portDefinitions; HAPROXY_n_PORT and HAPROXY_n_GROUP win", () => {
    const app = appEndpoints(bridge);
    expect(app.ports).toEqual([{ index: 0, name: "redis", protocols: ["tcp"], containerPort: 6379, servicePort: 10000, lbPort: 10000, lbGroups: ["external"] }]);
    expect(app.tasks).toEqual([{ id: "examples_redis.instance-1._app.1", state: "TASK_RUNNING", host: "10.20.16.4", ports: [31005] }]);
    const host = appEndpoints({ id: "/web", networks: [{ mode: "host" }], portDefinitions: [{ port: 10005, protocol: "udp,tcp" }], labels: { HAPROXY_GROUP: "internal", HAPROXY_0_GROUP: "external", HAPROXY_0_PORT: "10050" } });
    expect(host.ports).toEqual([{ index: 0, protocols: ["udp", "tcp"], servicePort: 10005, lbPort: 10050, lbGroups: ["external"] }]);
  });

  test("who serves a port: the LB's group (or *), a service port, and HAPROXY_n_ENABLED under --strict-mode", () => {
    const [port] = appEndpoints(bridge).ports;
    expect(lbServes(port, { group: "external" })).toEqual({ served: true, why: "group external" });
    expect(lbServes(port, { group: "internal" }).why).toBe("not served: its groups are external, marathon-lb serves group internal");
    expect(lbServes({ ...port, lbGroups: [] }, { group: "external" }).why).toBe("not served: HAPROXY_GROUP is unset, marathon-lb serves group external");
    expect(lbServes({ ...port, lbGroups: [] }, { group: "*" }).served).toBe(true);
    expect(lbServes(port, { group: "external", strictMode: true }).why).toBe("not served: marathon-lb runs --strict-mode and HAPROXY_0_ENABLED is not true");
  });

  test("the redis example and smoke's walk pin the same Redis", () => {
    expect(SMOKE_REDIS_IMAGE).toBe(EXAMPLE_REDIS_IMAGE);
    expect(EXAMPLE_REDIS_IMAGE).toMatch(/^redis:\d+\.\d+\.\d+$/);
  });
});

describe("the redis example app (CLUSTER_EXAMPLE_APPS=redis)", () => {
  test("two tasks as nobody on the bridge, 6379 on a host port; with marathon-lb, its group and first service port; valid for Marathon 1.8 (without: marathon-app.test.ts checks every example)", () => {
    // The shared dns+lb stack of the validators (one synth per run); its marathon-lb and pools.
    const { stack } = synthCluster(DISCOVERY_STACKS.awsDevLb);
    const marathonLb = stack.marathonLb!;
    const exposed = EXAMPLE_APPS.redis(stack, { marathon: stack.marathon, agents: stack.agents, marathonLb }).definition;
    expect(exposed).toMatchObject({
      id: "/examples/redis",
      instances: 2,
      args: ["redis-server", "--save", "", "--appendonly", "no"],
      container: {
        docker: { image: "redis:7.2.5", parameters: [{ key: "user", value: "65534:65534" }], privileged: false },
        portMappings: [{ containerPort: 6379, hostPort: 0, servicePort: marathonLb.servicePorts[0], name: "redis" }],
      },
      networks: [{ mode: "container/bridge" }],
      labels: { HAPROXY_GROUP: marathonLb.group },
      healthChecks: [{ protocol: "TCP", portIndex: 0 }],
    });
    expect(exposed.user).toBeUndefined(); // Marathon's --mesos_user nobody: the sandbox's owner, as the container's user
    expect(marathonAppSchemaProblems(exposed)).toEqual([]);
    // What Mesos-DNS and endpoints call it.
    expect(appDnsNames(exposed.id).srv()).toBe("_redis-examples._tcp.marathon.mesos");
  });
});

describe("npm run endpoints against the fake cluster", () => {
  let fake: FakeCluster;
  let discovery: { dns: string; lbHost: string };
  const target = () => ({ servers: fake.marathonUrls.map((u) => [u]), requestTimeoutMs: 1000 });
  const schedule = () => ({ deadline: Date.now() + 10000, pollMs: 10, log: () => undefined });
  const redis = (servicePort: number, labels: Record<string, string>) => ({
    id: "/examples/redis",
    instances: 2,
    cpus: 0.1,
    mem: 64,
    args: ["redis-server", "--save", "", "--appendonly", "no"],
    container: { type: "DOCKER", docker: { image: "redis:7.2.5", parameters: [{ key: "user", value: "65534:65534" }] }, portMappings: [{ containerPort: 6379, hostPort: 0, servicePort, protocol: "tcp", name: "redis" }] },
    networks: [{ mode: "container/bridge" }],
    labels,
  });

  beforeAll(async () => {
    fake = await FakeCluster.start(1, { agents: 2, edgeAgents: 1 });
    discovery = await fake.startDiscovery();
    await putApp(target(), "/examples/redis", JSON.stringify(redis(await freePort(), { HAPROXY_GROUP: "external" })), schedule());
    await putApp(target(), "/tools/cache", JSON.stringify({ ...redis(0, {}), id: "/tools/cache", instances: 1 }), schedule());
  });
  afterAll(() => fake.close());

  async function endpoints(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await endpointsMain(argv, env, (l) => out.push(l), (l) => err.push(l));
    return { code, out, err };
  }

  test("one table per app: each task's host:port, the Mesos-DNS names, marathon-lb's address for the app in its group", async () => {
    const servicePort = Number((fake.apps.get("/examples/redis") as any).container.portMappings[0].servicePort);
    const { code, out } = await endpoints(["ha", "--marathon", fake.marathonUrls[0], "--dns", discovery.dns, "--lb", discovery.lbHost]);
    expect(code).toBe(0);
    expect(out[0]).toBe(`endpoints: stack ha; Marathon ${fake.marathonUrls[0]} (framework marathon); endpoints from flags`);
    expect(out[1]).toBe(`discovery: Mesos-DNS domain mesos at ${discovery.dns}; marathon-lb group external on 127.0.0.1 (service ports 10000-10100; hosts from --lb)`);
    const table = out.slice(out.indexOf("/examples/redis: 2 of 2 instances running (redis:7.2.5, container/bridge)"));
    const tasks = fake.tasks.get("/examples/redis")!;
    expect(table.slice(1, 4)).toEqual([
      expect.stringMatching(/^ {2}what +endpoint +detail$/),
      expect.stringMatching(new RegExp(`^ {2}instance +127\\.0\\.0\\.1:${tasks[0].ports[0]} +TASK_RUNNING ${tasks[0].id.replace(/\./g, "\\.")}$`)),
      expect.stringMatching(new RegExp(`^ {2}instance +127\\.0\\.0\\.1:${tasks[1].ports[0]} +TASK_RUNNING `)),
    ]);
    expect(table.slice(4, 8)).toEqual([
      expect.stringMatching(/^ {2}dns A +redis-examples\.marathon\.mesos +the agent of each running task$/),
      expect.stringMatching(/^ {2}dns SRV +_redis-examples\._tcp\.marathon\.mesos +each task's host port \(tcp\)$/),
      expect.stringMatching(/^ {2}dns SRV +_redis\._redis-examples\._tcp\.marathon\.mesos +port 0 "redis"$/),
      expect.stringMatching(new RegExp(`^ {2}marathon-lb +127\\.0\\.0\\.1:${servicePort} +port 0 \\(container 6379\\): service port ${servicePort}, group external; outside the LB's service ports 10000-10100, so closed in the firewall$`)),
    ]);
    // An app without HAPROXY_GROUP: Marathon gave it the first free service port, marathon-lb does not serve it.
    expect(out).toContain("/tools/cache: 1 of 1 instance running (redis:7.2.5, container/bridge)");
    expect(out.find((l) => /^ {2}marathon-lb .*port 0 \(container 6379\): not served/.test(l))).toMatch(/ -  +port 0 \(container 6379\): not served: HAPROXY_GROUP is unset, marathon-lb serves group external$/);
  });

  test("the names it prints are the ones the (fake) Mesos-DNS answers, and they lead to the tasks", async () => {
    const [host, port] = discovery.dns.split(":");
    const server = { host, port: Number(port) };
    const srv = await resolveSrv(server, "_redis-examples._tcp.marathon.mesos", 1000);
    const tasks = fake.tasks.get("/examples/redis")!;
    expect(srv.endpoints.map((e) => `${e.address}:${e.port}`).sort()).toEqual(tasks.map((t) => `127.0.0.1:${t.ports[0]}`).sort());
    expect(srv.endpoints.every((e) => /^redis-examples-[a-z0-9]{5}-s[01]\.marathon\.mesos$/.test(e.target))).toBe(true);
    const a = await queryDns(server, "redis-examples.marathon.mesos", DNS_TYPES.A, 1000);
    // Both tasks run on 127.0.0.1: one record (Mesos-DNS keeps a set of values per name).
    expect(a.answers.map((r) => r.data.address)).toEqual(["127.0.0.1"]);
    expect((await queryDns(server, "nothing.marathon.mesos", DNS_TYPES.A, 1000)).rcode).toBe(3);
    expect(await redisPing(srv.endpoints[0].address!, srv.endpoints[0].port, 1000)).toMatchObject({ ok: true });
  });

  test("from the outputs: Mesos-DNS from the discovery output, marathon-lb on the agents with the slave_public role", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "endpoints-outputs-")), "outputs.json");
    const outputs = {
      marathon_urls: { value: fake.marathonUrls },
      mesos_urls: { value: fake.mesosUrls },
      discovery: { value: { domain: "mesos", dns_servers: [discovery.dns], marathon_lb_hosts: [] } },
    };
    writeFileSync(file, JSON.stringify(outputs));
    const { code, out } = await endpoints(["ha", "--outputs", file, "--app", "/examples/redis"]);
    expect(code).toBe(0);
    expect(out[1]).toMatch(/; marathon-lb group external on 10\.20\.16\.5 \(service ports 10000-10100; hosts from the agents with the slave_public role\)$/);
    expect(out.find((l) => l.startsWith("  marathon-lb"))).toMatch(/^ {2}marathon-lb +10\.20\.16\.5:\d+ /);
    expect(out.filter((l) => /^\/[a-z]/.test(l))).toEqual(["/examples/redis: 2 of 2 instances running (redis:7.2.5, container/bridge)"]);
  });

  test("a stack without discovery: instances only, and says so", async () => {
    const { code, out } = await endpoints(["dev", "--marathon", fake.marathonUrls[0], "--app", "/tools/cache"]);
    expect(code).toBe(0);
    expect(out[1]).toBe("discovery: off (no Mesos-DNS, no marathon-lb; the stack's discovery knob, or --dns)");
    expect(out.filter((l) => l.startsWith("  dns"))).toEqual([expect.stringMatching(/^ {2}dns +- +the stack runs no Mesos-DNS \(discovery off\)$/)]);
  });

  test("a missing outputs file fails at once (exit 2), before any request", async () => {
    const before = fake.requests.length;
    const { code, out, err } = await endpoints(["ha", "--outputs", "/nonexistent/outputs.json"]);
    expect(code).toBe(2);
    expect(err[0]).toBe("endpoints: --outputs: no file /nonexistent/outputs.json");
    expect(out).toEqual([]);
    expect(fake.requests.length).toBe(before);
  });

  test("Marathon refusing the credentials: exit 1, saying so", async () => {
    fake.scenario.marathonAuth = { username: "ops", password: "right" };
    try {
      const { code, err } = await endpoints(["ha", "--marathon", fake.marathonUrls[0], "--marathon-user", "ops"], { MARATHON_PASSWORD: "wrong" });
      expect(code).toBe(1);
      expect(err[0]).toMatch(/^endpoints: Marathon could not be read: .*refused the credentials of user "ops" \(HTTP 401/);
    } finally {
      fake.scenario.marathonAuth = undefined;
    }
  });

  test("the real script (npm run endpoints), which loads no cdktf", async () => {
    const dir = mkdtempSync(join(tmpdir(), "endpoints-script-"));
    const file = join(dir, "outputs.json");
    writeFileSync(file, JSON.stringify({ ha: { marathon_urls: fake.marathonUrls, discovery: { domain: "mesos", dns_servers: [discovery.dns] } } }));
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((done) =>
      execFile(process.execPath, ["-r", libraryReportPreload(), join(ROOT, "scripts", "run-ts.js"), join(ROOT, "scripts", "endpoints.ts"), "ha", "--outputs", file, "--request-timeout", "2"], { cwd: ROOT, timeout: 30000 }, (error, stdout, stderr) =>
        done({ code: error ? Number((error as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect(cdktfLoaded(run.stderr)).toEqual({ packages: [], stderr: "" });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("  dns SRV      _redis-examples._tcp.marathon.mesos");
    expect(run.stdout).toContain("discovery: Mesos-DNS domain mesos at 127.0.0.1:");
  });
});

