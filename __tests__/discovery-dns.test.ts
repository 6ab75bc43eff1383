/**
 * Service discovery, the DNS half (issue 14): Mesos-DNS on the masters (its
 * config.json against v0.6.0's Config, the unit, the credentials it reads the
 * masters' state with), the systemd-resolved drop-in on every machine, the
 * rules for 53 and 8123, and the stack's `discovery` knob (off | dns |
 * dns+lb: the edge pool and marathon-lb wired in). Everything is read from
 * the synthesized Terraform JSON and the decoded user data of both clouds.
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack } from "cdktf";
import { AwsTarget, AzureTarget, MesosDns, MesosMasterGroup, NodeGroup, ZookeeperEnsemble } from "../constructs";
import { CLUSTER_DNS_DROP_IN } from "../constructs/nodes";
import { loadAppConfig } from "../stacks/config";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { MESOS_DNS_V060_FIELDS, runtimeFindings } from "../scripts/lib/effective-runtime";
import { appDnsNames } from "../scripts/lib/endpoints";
import { userDataNodes, UserDataNode } from "../scripts/lib/synth-output";
import { nodeGroupOf } from "../scripts/lib/validate-user-data";
import { readUserData } from "../scripts/lib/user-data-model";
import { Cloud, DISCOVERY_STACKS, execStartOf, fileOf, parseCloudConfig, resourcesOf, ruleTable, synthCluster, synthStack, TEST_SSH_KEY, TfJson, warningsOf } from "./helpers/synth";

const CLOUDS: Cloud[] = ["azure", "aws"];
const RESOLVER: Record<Cloud, string> = { azure: "168.63.129.16", aws: "10.20.0.2" };
const CONFIG = "/etc/mesos-cluster/mesos-dns.json";
const ADMIN = "203.0.113.0/24";

const ha = (cloud: Cloud) => synthCluster({ cloud, profile: "ha" }).json;
const dev = (cloud: Cloud) => synthCluster({ cloud, profile: "dev" }).json;
const azureLb = () => synthCluster(DISCOVERY_STACKS.azureHaLb).json;
const awsLb = () => synthCluster(DISCOVERY_STACKS.awsDevLb).json;

/** Every node with its group (`masters`, `agents`, `edge`). */
function nodes(json: TfJson): (UserDataNode & { group: string })[] {
  return userDataNodes(json).map((n) => ({ ...n, group: nodeGroupOf(n) }));
}

function masterIps(json: TfJson): string[] {
  return nodes(json).filter((n) => n.group === "masters").map((n) => n.privateIp!);
}

describe("Mesos-DNS's config.json", () => {
  test.each(CLOUDS)("every key is a field of v0.6.0's Config with its JSON type, and the values are the cluster's (%s ha)", (cloud) => {
    const json = ha(cloud);
    const masters = nodes(json).filter((n) => n.group === "masters");
    expect(masters).toHaveLength(3);
    const fields = new Map(Object.entries(MESOS_DNS_V060_FIELDS).map(([k, t]) => [k.toLowerCase(), t]));
    for (const m of masters) {
      const config = JSON.parse(fileOf(parseCloudConfig(m.text), CONFIG)) as Record<string, unknown>;
      for (const [key, value] of Object.entries(config)) {
        const type = fields.get(key.toLowerCase());
        expect({ key, type: type ?? "not a Config field" }).toEqual({ key, type: expect.any(String) });
        const ok = { int: Number.isInteger(value), bool: typeof value === "boolean", string: typeof value === "string", strings: Array.isArray(value), credentials: false }[type!];
        expect({ key, ok }).toEqual({ key, ok: true });
      }
      expect(config).toEqual({
        Zk: `zk://${masterIps(json).map((ip) => `${ip}:2181`).join(",")}/mesos`,
        Masters: masterIps(json).map((ip) => `${ip}:5050`),
        ZkDetectionTimeout: 30,
        RefreshSeconds: 30,
        TTL: 30,
        StateTimeoutSeconds: 30,
        Domain: "mesos",
        Port: 53,
        Listener: m.privateIp,
        HTTPListener: m.privateIp,
        HttpPort: 8123,
        DnsOn: true,
        HttpOn: true,
        ExternalOn: true,
        Resolvers: [RESOLVER[cloud]],
        Timeout: 5,
        RecurseOn: true,
        IPSources: ["host"],
        EnforceRFC952: false,
        EnumerationOn: false,
        SOAMname: "ns1.mesos",
        SOARname: "root.ns1.mesos",
        MesosHTTPSOn: false,
        // ha authenticates HTTP on the masters: the credentials join at boot, never in user data.
        MesosAuthentication: "basic",
      });
      expect(m.text).not.toMatch(/"Secret":\s*"[^%]/);
    }
  });

  test("without auth (aws dev, dns+lb) the rendered file is the one the container reads: no credentials, no boot script", () => {
    const [master] = nodes(awsLb()).filter((n) => n.group === "masters");
    const doc = parseCloudConfig(master.text);
    const config = JSON.parse(fileOf(doc, CONFIG));
    expect(config.MesosAuthentication).toBeUndefined();
    expect(config.MesosCredentials).toBeUndefined();
    expect(doc.files.has("/usr/local/sbin/mesos-dns-credentials")).toBe(false);
    expect(execStartOf(doc, "mesos-dns")).toContain(`${CONFIG}:/etc/mesos-dns/config.json:ro`);
  });

  test("with auth, the boot script joins the viewer's secret as MesosCredentials into tmpfs (a real bash run), and refuses a secret that is no token", () => {
    const [master] = nodes(ha("aws")).filter((n) => n.group === "masters");
    const doc = parseCloudConfig(master.text);
    const dir = mkdtempSync(join(tmpdir(), "mesos-dns-"));
    try {
      writeFileSync(join(dir, "rendered.json"), fileOf(doc, CONFIG));
      const script = fileOf(doc, "/usr/local/sbin/mesos-dns-credentials")
        .replace("/usr/local/sbin/fetch-cluster-secret mesos-viewer-mesos-dns", 'printf %s "$FAKE_SECRET"')
        .split(CONFIG).join(join(dir, "rendered.json"))
        .split("/run/mesos-cluster/secrets").join(join(dir, "secrets"));
      expect(script).not.toContain("/run/mesos-cluster");
      writeFileSync(join(dir, "script"), script);
      const run = (secret: string) => execFileSync("bash", [join(dir, "script")], { stdio: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", FAKE_SECRET: secret } });
      run("Abc123xyz456Def789ghi012Jkl345mn");
      const written = JSON.parse(readFileSync(join(dir, "secrets", "mesos-dns.json"), "utf8"));
      expect(written).toEqual({ ...JSON.parse(fileOf(doc, CONFIG)), MesosCredentials: { Principal: "mesos-dns", Secret: "Abc123xyz456Def789ghi012Jkl345mn" } });
      rmSync(join(dir, "secrets"), { recursive: true });
      expect(() => run('bad"secret')).toThrow(/not a token/);
      expect(() => readFileSync(join(dir, "secrets", "mesos-dns.json"))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The container reads the tmpfs copy; the unit writes it first.
    const unit = fileOf(doc, "/etc/systemd/system/mesos-dns.service");
    expect(unit).toContain("ExecStartPre=/usr/local/sbin/mesos-dns-credentials\n");
    expect(execStartOf(doc, "mesos-dns")).toEqual(
      "/usr/bin/docker run --rm --name mesos-dns --net=host -v /run/mesos-cluster/secrets/mesos-dns.json:/etc/mesos-dns/config.json:ro mesosphere/mesos-dns:v0.6.0 /usr/bin/mesos-dns -config=/etc/mesos-dns/config.json -logtostderr=true -v=1".split(" "),
    );
  });

  test.each(CLOUDS)("the viewer principal (%s ha): in the masters' credentials file, denied every change, task, agent registration, logs, sandboxes and flags", (cloud) => {
    const json = ha(cloud);
    const doc = parseCloudConfig(nodes(json).find((n) => n.group === "masters")!.text);
    expect(fileOf(doc, "/usr/local/sbin/mesos-master-credentials")).toContain(`printf ',{"principal":"%s","secret":"%s"}' 'mesos-dns' "$viewer_secret_0"`);
    const aclArg = execStartOf(doc, "mesos-master").join(" ").match(/"--acls=(.*)"( |$)/)![1];
    const acls = JSON.parse(aclArg.replace(/\\"/g, '"')) as Record<string, { principals: { values?: string[] } }[]>;
    for (const action of ["register_frameworks", "teardown_frameworks", "reserve_resources", "run_tasks", "get_endpoints", "register_agents", "access_mesos_logs", "access_sandboxes", "view_flags"]) {
      expect({ action, denied: acls[action]?.[0]?.principals.values }).toEqual({ action, denied: expect.arrayContaining(["mesos-dns"]) });
    }
    // Reading the state stays allowed (view_frameworks, view_tasks... have no entry: permissive).
    expect(acls.view_frameworks).toBeUndefined();
    // Its secret lives in the cloud's secret store, like the masters' own.
    const stored = cloud === "azure" ? resourcesOf(json, "azurerm_key_vault_secret") : resourcesOf(json, "aws_ssm_parameter");
    expect(Object.values(stored).map((r) => String(r.name))).toEqual(expect.arrayContaining([expect.stringMatching(/mesos-viewer-mesos-dns$/)]));
  });
});

describe("the runtime check reads Mesos-DNS's config and the resolver drop-in", () => {
  test.each(CLOUDS)("no finding on any document of ha and of dns+lb (%s)", (cloud) => {
    for (const json of [ha(cloud), cloud === "azure" ? azureLb() : awsLb()]) {
      for (const n of userDataNodes(json)) expect({ node: n.name, findings: runtimeFindings(readUserData(n.text)) }).toEqual({ node: n.name, findings: [] });
    }
  });

  const master = () => nodes(awsLb()).find((n) => n.group === "masters")!.text;
  const mutate = (text: string, from: string | RegExp, to: string) => {
    const out = text.replace(from, to);
    if (out === text) throw new Error(`mutation did not apply: ${String(from)}`);
    return out;
  };
  const findings = (text: string) => runtimeFindings(readUserData(text)).map((f) => `${f.where}: ${f.message}`);
  test.each([
    ["a misspelt key", (t: string) => mutate(t, '"Resolvers": [', '"Resolver": ['), /"Resolver" is not a field of Mesos-DNS's Config[\s\S]*no Resolvers: every other name is forwarded to 8\.8\.8\.8/],
    ["the wildcard listener", (t: string) => mutate(t, /"Listener": "[0-9.]+"/, '"Listener": "0.0.0.0"'), /Listener "0\.0\.0\.0": systemd-resolved's stub holds 127\.0\.0\.53:53/],
    ["an empty resolver list", (t: string) => mutate(t, /"Resolvers": \[\n\s*"10\.20\.0\.2"\n\s*\]/, '"Resolvers": []'), /Resolvers \[\]: Mesos-DNS takes \/etc\/resolv\.conf's servers/],
    ["credentials in the zk URL", (t: string) => mutate(t, '"Zk": "zk://', '"Zk": "zk://u:p@'), /Zk "zk:\/\/u:p@.*without credentials/],
    ["a string for a number", (t: string) => mutate(t, '"HttpPort": 8123', '"HttpPort": "8123"'), /"HttpPort" must be a JSON integer/],
    ["an unknown IP source", (t: string) => mutate(t, '"host"\n', '"rkt"\n'), /IPSources entry "rkt"/],
    ["credentials served on every address", (t: string) => mutate(mutate(t, /"HTTPListener": "[0-9.]+"/, '"HTTPListener": "0.0.0.0"'), '"MesosHTTPSOn": false', '"MesosHTTPSOn": false,\n        "MesosCredentials": {"Principal": "p", "Secret": "s"}'), /GET \/v1\/config returns the whole configuration, secret included/],
    ["no restart of systemd-resolved", (t: string) => mutate(t, "  - [systemctl, restart, systemd-resolved]\n", ""), /mesos-dns\.conf: nothing restarts systemd-resolved/],
    ["a drop-in routing another domain", (t: string) => mutate(t, "Domains=~mesos", "Domains=~cluster"), /Domains=~cluster routes a domain this machine's Mesos-DNS does not answer \(it answers mesos\)/],
    ["a key resolved.conf does not have", (t: string) => mutate(t, "Domains=~mesos", "Domains=~mesos\n      Domain=~mesos"), /Domain= is not a resolved\.conf setting of systemd 249/],
  ])("finds %s", (_name, broken, message) => {
    expect(findings(broken(master())).join("\n")).toMatch(message);
  });
});

describe("the resolver drop-in on every machine", () => {
  const dropIn = (ips: string[]) => `[Resolve]\nDNS=${ips.join(" ")}\nDomains=~mesos\n`;
  test.each([
    ["azure ha", () => ha("azure"), ["masters", "agents"]],
    ["aws ha", () => ha("aws"), ["masters", "agents"]],
    ["azure ha dns+lb", azureLb, ["masters", "agents", "edge"]],
    ["aws dev dns+lb", awsLb, ["masters", "agents", "edge"]],
  ] as const)("%s: routes ~mesos to the masters and restarts systemd-resolved before any service starts", (_name, synth, groups) => {
    const json = synth();
    expect([...new Set(nodes(json).map((n) => n.group))].sort()).toEqual([...groups].sort());
    for (const n of nodes(json)) {
      const doc = parseCloudConfig(n.text);
      expect({ node: n.name, dropIn: fileOf(doc, CLUSTER_DNS_DROP_IN) }).toEqual({ node: n.name, dropIn: dropIn(masterIps(json)) });
      const commands = doc.runcmd.map((c) => (Array.isArray(c) ? c.join(" ") : String(c)));
      const restart = commands.indexOf("systemctl restart systemd-resolved");
      expect(restart).toBeGreaterThanOrEqual(0);
      expect(restart).toBeLessThan(commands.indexOf("systemctl daemon-reload"));
    }
  });

  test.each(CLOUDS)("dev keeps discovery off (%s): no drop-in, no Mesos-DNS, no rule for 53 or 8123, and its output says off", (cloud) => {
    const json = dev(cloud);
    for (const n of userDataNodes(json)) {
      expect(n.text).not.toContain("resolved");
      expect(n.text).not.toContain("mesos-dns");
    }
    expect(ruleTable(json, cloud, "mesos-dev").filter((r) => /: (53|8123)(\/udp)?$/.test(r))).toEqual([]);
    expect(json.output.discovery.value).toEqual({ mode: "off" });
  });

  test("the drop-in grows the agents' documents by under 200 bytes (AWS ha: gzipped, about 70)", () => {
    const agents = userDataNodes(ha("aws")).find((n) => n.kind === "pool")!;
    const without = synthCluster({ cloud: "aws", profile: "ha", discovery: "off" }).json;
    const before = userDataNodes(without).find((n) => n.kind === "pool")!;
    expect(Buffer.byteLength(agents.text) - Buffer.byteLength(before.text)).toBeLessThan(200);
    expect(agents.countedBytes - before.countedBytes).toBeLessThan(100);
    expect(agents.countedBytes / agents.limitBytes).toBeLessThan(0.5);
  });
});

describe("rules: 53 and 8123 inside the cluster only; the edge's web ports only when asked", () => {
  const dnsRules = (rows: string[]) => rows.filter((r) => /: (53|53\/udp|8123)$/.test(r));

  test.each(CLOUDS)("ha (%s): 53/udp and 53/tcp from the masters and agents, 8123 from the masters; nothing from a CIDR", (cloud) => {
    expect(dnsRules(ruleTable(ha(cloud), cloud, "mesos-ha"))).toEqual(
      ["masters <- masters : 53", "masters <- masters : 53/udp", "masters <- agents : 53", "masters <- agents : 53/udp", "masters <- masters : 8123"].sort(),
    );
  });

  test.each([
    ["azure", azureLb, "mesos-ha"],
    ["aws", awsLb, "mesos-dev"],
  ] as const)("dns+lb (%s): the edge asks names too; 9090 never from outside; 80/443 from admin networks and the internet only when named", (cloud, synth, name) => {
    const rows = ruleTable(synth(), cloud, name);
    expect(dnsRules(rows)).toEqual(
      ["masters <- masters : 53", "masters <- masters : 53/udp", "masters <- agents : 53", "masters <- agents : 53/udp", "masters <- edge : 53", "masters <- edge : 53/udp", "masters <- masters : 8123"].sort(),
    );
    const outside = (r: string) => /<- (\d+\.\d+\.\d+\.\d+\/\d+|Internet) :/.test(r) && !r.includes("<- 10.20.0.0/16 :");
    expect(rows.filter((r) => r.startsWith("edge") && outside(r))).toEqual(
      cloud === "azure" ? [`edge <- ${ADMIN} : 443`, `edge <- ${ADMIN} : 80`, "edge <- Internet : 443", "edge <- Internet : 80"] : [],
    );
    expect(rows.filter((r) => /: 9090(-9091)?$/.test(r) && outside(r))).toEqual([]);
  });

  test("Azure numbers discovery's rules apart (3000-3990): turning it on renumbers no rule, nor do admin networks added later renumber its rules", () => {
    const priorities = (json: TfJson) => new Map(Object.values(resourcesOf(json, "azurerm_network_security_rule")).map((r) => [String(r.name), Number(r.priority)]));
    const same = (before: Map<string, number>, after: Map<string, number>) => {
      for (const [rule, priority] of before) expect({ rule, priority: after.get(rule) }).toEqual({ rule, priority });
      expect(after.size).toBeGreaterThan(before.size);
    };
    const off = priorities(synthCluster({ cloud: "azure", profile: "ha", discovery: "off" }).json);
    const lb = priorities(synthCluster({ cloud: "azure", profile: "ha", discovery: "dns+lb" }).json);
    same(off, priorities(ha("azure")));
    same(off, lb);
    same(lb, priorities(synthCluster({ cloud: "azure", profile: "ha", discovery: "dns+lb", adminCidrs: [ADMIN] }).json));
    const added = [...lb].filter(([rule]) => !off.has(rule));
    expect(added.map(([rule]) => rule)).toEqual(expect.arrayContaining(["mesos-ha-masters-mesos-dns-udp-from-agents", "mesos-ha-edge-allow-5051-from-masters"]));
    for (const [rule, priority] of added) expect({ rule, inRange: priority >= 3000 && priority <= 3990 }).toEqual({ rule, inRange: true });
    for (const [rule, priority] of off) expect({ rule, below: priority < 3000 || priority === 4000 }).toEqual({ rule, below: true });
  });

  test("the edge agents get public IPs on Azure only when 80/443 open beyond the cluster", () => {
    const publicIp = (json: TfJson) => {
      const edge = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set")).find((r) => String(r.name).endsWith("-edge"))!;
      const ip = ((edge.network_interface as Record<string, unknown>[])[0].ip_configuration as Record<string, unknown>[])[0];
      return ip.public_ip_address !== undefined;
    };
    expect(publicIp(azureLb())).toBe(true);
    expect(publicIp(synthCluster({ cloud: "azure", profile: "ha", discovery: "dns+lb" }).json)).toBe(false);
  });

  test("internetIngress web alone opens the edge, and gives the masters no public IP (nothing would be open on it)", () => {
    const json = synthCluster({ cloud: "azure", profile: "ha", discovery: "dns+lb", internetIngress: ["web"] }).json;
    expect(Object.keys(resourcesOf(json, "azurerm_public_ip")).filter((k) => k.includes("masters"))).toEqual([]);
    expect(json.output.master_public_ips).toBeUndefined();
    expect(ruleTable(json, "azure", "mesos-ha").filter((r) => r.includes("<- Internet"))).toEqual(["edge <- Internet : 443", "edge <- Internet : 80"]);
  });
});

describe("the stack's discovery knob", () => {
  test("defaults: dns in ha, off in dev; the outputs name the domain, the servers and marathon-lb's group and ports", () => {
    expect(ha("azure").output.discovery.value).toEqual({ mode: "dns", domain: "mesos", dns_servers: masterIps(ha("azure")) });
    expect(awsLb().output.discovery.value).toEqual({ mode: "dns+lb", domain: "mesos", dns_servers: masterIps(awsLb()), marathon_lb_hosts: [], marathon_lb_group: "external", marathon_lb_service_ports: [10000, 10100] });
    // The readiness gate and the smoke test count every pool's agents: 2 agents + 1 edge agent.
    expect(awsLb().output.mesos_agent_count.value).toBe(3);
  });

  test.each([
    ["azure", azureLb],
    ["aws", awsLb],
  ] as const)("dns+lb (%s): an edge pool of role slave_public, marathon-lb on it, Marathon registered with the role", (cloud, synth) => {
    const json = synth();
    const edge = nodes(json).find((n) => n.group === "edge")!;
    expect(edge.name).toMatch(/-edge$/);
    const doc = parseCloudConfig(edge.text);
    expect(fileOf(doc, "/etc/mesos-cluster/mesos-agent.env")).toContain("MESOS_DEFAULT_ROLE=slave_public\n");
    expect(doc.enabledUnits).toContain("marathon-lb.service");
    const master = parseCloudConfig(nodes(json).find((n) => n.group === "masters")!.text);
    expect(execStartOf(master, "marathon").join(" ")).toContain("--mesos_role slave_public");
    const count = cloud === "azure" ? Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set")).find((r) => String(r.name).endsWith("-edge"))!.instances : Object.values(resourcesOf(json, "aws_autoscaling_group")).find((r) => String(r.name).endsWith("-edge"))!.desired_capacity;
    expect(count).toBe(1);
  });

  test("CLUSTER_DISCOVERY, CLUSTER_<STACK>_DISCOVERY, the edge knobs and their file keys follow the layers", () => {
    const config = loadAppConfig({
      env: { CLUSTER_DISCOVERY: "dns", CLUSTER_DEV_DISCOVERY: "dns+lb", CLUSTER_EDGE_AGENT_COUNT: "2", CLUSTER_HA_EDGE_VM_SIZE: "Standard_D4s_v5", CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY },
      cwd: mkdtempSync(join(tmpdir(), "discovery-cfg-")),
      homeDir: "/nonexistent",
    });
    expect(config.stacks.dev).toMatchObject({ discovery: "dns+lb", edgeAgentCount: 2 });
    expect(config.stacks.ha).toMatchObject({ discovery: "dns", edgeAgentCount: 2, edgeVmSize: "Standard_D4s_v5" });
    expect(config.sources?.dev.discovery).toBe("CLUSTER_DEV_DISCOVERY");
  });

  test("edge settings without dns+lb warn once and change nothing", () => {
    const stack = new MesosClusterStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "ha", { cloud: "aws", profile: "ha", sshPublicKey: TEST_SSH_KEY, edgeAgentCount: 3 });
    const warnings = warningsOf(stack).filter((w) => w.includes("edgeAgentCount"));
    expect(warnings).toEqual(['ha: edgeAgentCount 3 has no effect while discovery is not "dns+lb" (no edge pool; CLUSTER_DISCOVERY=dns+lb)']);
    expect(stack.edge).toBeUndefined();
  });
});

describe("MesosDns as a library construct", () => {
  function lib(cloud: Cloud, build: (stack: TerraformStack, masters: MesosMasterGroup) => void): TfJson {
    const stack = new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");
    const target = cloud === "azure" ? new AzureTarget(stack, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY }) : new AwsTarget(stack, "aws", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY, addressSpace: "10.30.0.0/16" });
    const nodes = new NodeGroup(stack, "masters", { target, count: 1, vmSize: cloud === "azure" ? "Standard_D2s_v5" : "t3.large" });
    build(stack, new MesosMasterGroup(stack, "mesos", { nodes, zookeeper: new ZookeeperEnsemble(stack, "zk", { nodes }) }));
    return synthStack(stack);
  }

  test("resolvers default to the target's resolver (AWS: the VPC's base + 2); a domain and resolvers of one's own", () => {
    const own = lib("aws", (s, masters) => new MesosDns(s, "dns", { masters, domain: "cluster.internal", resolvers: ["10.30.0.2", "192.0.2.53:5353"], refreshSeconds: 10 }));
    const doc = parseCloudConfig(userDataNodes(own)[0].text);
    expect(JSON.parse(fileOf(doc, CONFIG))).toMatchObject({ Domain: "cluster.internal", Resolvers: ["10.30.0.2", "192.0.2.53:5353"], RefreshSeconds: 10, TTL: 10, SOAMname: "ns1.cluster.internal" });
    expect(fileOf(doc, CLUSTER_DNS_DROP_IN)).toContain("Domains=~cluster.internal\n");
    const byDefault = lib("aws", (s, masters) => new MesosDns(s, "dns", { masters }));
    expect(JSON.parse(fileOf(parseCloudConfig(userDataNodes(byDefault)[0].text), CONFIG)).Resolvers).toEqual(["10.30.0.2"]);
  });

  test("names: Marathon's app id as Mesos-DNS labels it, the same as npm run endpoints computes", () => {
    expect(MesosDns.appHostname("/redis")).toBe("redis.marathon.mesos");
    expect(MesosDns.appSrvName("/redis")).toBe("_redis._tcp.marathon.mesos");
    expect(MesosDns.appHostname("/shop/redis")).toBe("redis-shop.marathon.mesos");
    expect(MesosDns.appSrvName("/shop/Web_Front", "cluster.internal")).toBe("_web-front-shop._tcp.marathon.cluster.internal");
    const ids = ["/redis", "/shop/redis", "/a/b/c", "/my.app", "/-edge-/x_y", `/${"a".repeat(40)}/${"b".repeat(40)}`, "/grp/--x--"];
    for (const id of ids) {
      const names = appDnsNames(id);
      expect({ id, a: MesosDns.appHostname(id), srv: MesosDns.appSrvName(id) }).toEqual({ id, a: names.hostname, srv: names.srv() });
      expect(MesosDns.appHostname(id).split(".")[0].length).toBeLessThanOrEqual(63);
    }
  });
});
