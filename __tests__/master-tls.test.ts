/**
 * TLS in front of the Mesos and Marathon APIs (MasterTlsProxy): one stunnel
 * per master with a section per port, server authentication only, TLS 1.2+
 * with AEAD ciphers; admin networks reach the TLS ports and never 5050/8080;
 * the readiness gate, MarathonApp and the outputs speak https with the CA;
 * opening the plain ports while TLS is off is refused unless `insecure`.
 * The real stunnel in front of the fake cluster: master-tls-live.test.ts.
 */
import { App, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { ClusterReadinessGate } from "../constructs/cluster-readiness-gate";
import { MarathonApp } from "../constructs/marathon-app";
import { MarathonService } from "../constructs/marathon-service";
import { MasterTlsProxy, renderStunnelConfig, TLS12_CIPHERS } from "../constructs/master-tls-proxy";
import { MesosMasterGroup } from "../constructs/mesos-master-group";
import { NodeGroup } from "../constructs/nodes";
import { SwarmManager } from "../constructs/swarm-manager";
import { ZookeeperEnsemble } from "../constructs/zookeeper-ensemble";
import { AwsTarget } from "../constructs/cloud/aws";
import { MesosClusterStack, MesosClusterStackProps } from "../stacks/mesos-cluster-stack";
import { clearTextTarget, request } from "../constructs/cluster-client/http";
import { localExecs, nullResource } from "./helpers/local-exec";
import { Cloud, enabledUnits, fileOf, machineDocs, parseCloudConfig, resourcesOf, ruleTable, synthCluster, synthStack, TEST_SSH_KEY, TfJson, warningsOf } from "./helpers/synth";

const CLOUDS: Cloud[] = ["azure", "aws"];
const ADMIN = "203.0.113.0/24";

/** stunnel's config as sections: `global` first, then each `[name]`, as option -> value. */
function sections(conf: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = { global: {} };
  let current = out.global;
  for (const line of conf.split("\n")) {
    if (!line.trim() || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = out[header[1]] = {};
      continue;
    }
    const eq = line.indexOf("=");
    current[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

function secretResources(json: TfJson): string[] {
  return [...Object.keys(resourcesOf(json, "aws_ssm_parameter")), ...Object.keys(resourcesOf(json, "azurerm_key_vault_secret"))].sort();
}

function tlsResources(json: TfJson): string[] {
  return ["tls_private_key", "tls_self_signed_cert", "tls_cert_request", "tls_locally_signed_cert"].flatMap((t) => Object.keys(resourcesOf(json, t)).map((k) => `${t}.${k}`)).sort();
}

describe.each(CLOUDS)("%s ha (auth on)", (cloud) => {
  let json: TfJson;
  beforeAll(() => {
    json = synthCluster({ cloud, profile: "ha" }).json;
  });

  test("every master runs one stunnel: Mesos 5443 -> its --ip:5050, Marathon 8443 -> :8080, the Swarm API 2376 with client certificates", () => {
    machineDocs(json, cloud).forEach((m, i) => {
      const doc = parseCloudConfig(m.text);
      const conf = sections(fileOf(doc, "/etc/mesos-cluster/master-tls.conf"));
      const dir = "/run/mesos-cluster/secrets/master-tls";
      expect(conf.global).toEqual({
        foreground: "yes",
        pid: "",
        setuid: "stunnel4",
        setgid: "stunnel4",
        cert: `${dir}/cert.pem`,
        key: `${dir}/key.pem`,
        sslVersionMin: "TLSv1.2",
        ciphers: "ECDHE+AESGCM:ECDHE+CHACHA20",
      });
      // Server authentication only on the APIs with basic auth; each section inherits the global options.
      expect(conf.mesos).toEqual({ accept: "5443", connect: `${m.privateIp}:5050` });
      expect(conf.marathon).toEqual({ accept: "8443", connect: `${m.privateIp}:8080` });
      expect(conf["swarm-api"]).toEqual({ accept: "2376", connect: "127.0.0.1:2375", CAfile: `${dir}/ca.pem`, verifyChain: "yes", verifyPeer: "yes", requireCert: "yes" });
      // The master binds --ip only: stunnel connects to that address, not loopback.
      expect(doc.files.get("/etc/systemd/system/mesos-master.service")!.content).toContain(`--ip=${m.privateIp}`);
      // Enabled on every master (a standby that takes over Swarm serves 2376 at once); Swarm's own stunnel is gone.
      expect(enabledUnits(doc)).toEqual(expect.arrayContaining(["master-tls.service", "master-tls-refresh.timer"]));
      expect(enabledUnits(doc).includes("swarm-manager.service")).toBe(i === 0);
      expect([...doc.files.keys()].filter((f) => f.includes("swarm-tls"))).toEqual([]);
      const unit = fileOf(doc, "/etc/systemd/system/master-tls.service");
      expect(unit).toContain("ExecStart=/usr/bin/stunnel4 /etc/mesos-cluster/master-tls.conf");
      expect(unit).toContain("ExecStartPre=/usr/local/sbin/master-tls-prepare");
      expect(unit).not.toContain("BindsTo");
      const prepare = fileOf(doc, "/usr/local/sbin/master-tls-prepare");
      for (const [name, file] of [["ca", "ca.pem"], ["cert", "cert.pem"], ["key", "key.pem"]]) {
        expect(prepare).toContain(`/usr/local/sbin/fetch-cluster-secret swarm-tls-${name} > "$fresh/${file}"`);
      }
      expect(doc.raw.packages).toContainEqual("stunnel4");
    });
  });

  test("one CA and one server certificate, the Swarm manager's at their Terraform addresses: no new TLS resource, no new secret", () => {
    const { json: plain } = synthCluster({ cloud, profile: "ha", apiTls: false });
    expect(tlsResources(json)).toEqual(tlsResources(plain));
    expect(tlsResources(json).every((r) => /\.swarm_tls_(ca|server|client)/.test(r))).toBe(true);
    expect(secretResources(json)).toEqual(secretResources(plain));
    // The CA output is the Swarm CA; the server certificate names every master (and loopback).
    expect(json.output.tls_ca_pem.value).toBe(json.output.swarm_ca_pem.value);
    expect(json.output.tls_ca_pem.sensitive).toBeFalsy();
    const server = Object.values(resourcesOf(json, "tls_cert_request")).find((r) => r.ip_addresses)!;
    expect(server.ip_addresses).toEqual(["127.0.0.1", ...machineDocs(json, cloud).map((d) => d.privateIp)]);
  });

  test("adminCidrs open 5443 and 8443, not 5050 or 8080; the rules inside the cluster stay as they are", () => {
    const { json: admins } = synthCluster({ cloud, profile: "ha", adminCidrs: [ADMIN] });
    const rules = ruleTable(admins, cloud, "mesos-ha");
    const fromAdmins = rules.filter((r) => r.includes(ADMIN));
    expect(fromAdmins).toEqual([`masters <- ${ADMIN} : 22`, `masters <- ${ADMIN} : 2376`, `masters <- ${ADMIN} : 5443`, `masters <- ${ADMIN} : 8443`]);
    expect(rules.filter((r) => !r.includes(ADMIN))).toEqual(ruleTable(json, cloud, "mesos-ha"));
    expect(ruleTable(json, cloud, "mesos-ha")).toEqual(expect.arrayContaining(["masters <- masters : 5050", "masters <- agents : 5050", "masters <- masters : 8080"]));
    // Nothing inside needs the TLS ports: without adminCidrs nobody reaches them.
    expect(ruleTable(json, cloud, "mesos-ha").filter((r) => /: (5443|8443)$/.test(r))).toEqual([]);
  });

  test("internetIngress names the service and opens its TLS port", () => {
    const { stack, json: open } = synthCluster({ cloud, profile: "ha", internetIngress: ["mesos", "marathon"] });
    expect(ruleTable(open, cloud, "mesos-ha").filter((r) => r.includes("0.0.0.0/0") || r.includes("Internet") || r.includes("*"))).toEqual(
      expect.arrayContaining([expect.stringMatching(/: 5443$/), expect.stringMatching(/: 8443$/)]),
    );
    expect(ruleTable(open, cloud, "mesos-ha").filter((r) => /(0\.0\.0\.0\/0|Internet|\*) : (5050|8080)$/.test(r))).toEqual([]);
    expect(warningsOf(stack).join("\n")).toMatch(/port 5443 .*open to the whole internet/);
  });

  test("outputs give the https URLs and the CA", () => {
    const ips = machineDocs(json, cloud).map((d) => d.privateIp);
    expect(json.output.mesos_urls.value).toEqual(ips.map((ip) => `https://${ip}:5443`));
    expect(json.output.marathon_urls.value).toEqual(ips.map((ip) => `https://${ip}:8443`));
    expect(json.output.tls_ca_pem.value).toMatch(/^\$\{tls_self_signed_cert\..*\.cert_pem\}$/);
  });
});

describe("the readiness gate and MarathonApp behind TLS", () => {
  test("the gate speaks https to 5443 and 8443 with the CA, for Mesos and Marathon", () => {
    const { json } = synthCluster({ profile: "ha", readinessGate: "on" });
    const env = localExecs(nullResource(json, "readiness/gate").config, "create")[0].environment!;
    expect(env.MESOS_URLS).toBe("https://10.20.0.10:5443,https://10.20.0.11:5443,https://10.20.0.12:5443");
    expect(env.MARATHON_URLS).toBe("https://10.20.0.10:8443,https://10.20.0.11:8443,https://10.20.0.12:8443");
    expect(env.MESOS_TLS_CA).toBe(json.output.tls_ca_pem.value);
    expect(env.MARATHON_TLS_CA).toBe(json.output.tls_ca_pem.value);
  });

  test("with public IPs both addresses of a master are https", () => {
    // AWS masters get public IPs only when adminCidrs asks (aws-edges.test.ts).
    const { json } = synthCluster({ cloud: "aws", profile: "ha", readinessGate: "on", adminCidrs: ["203.0.113.0/24"] });
    const env = localExecs(nullResource(json, "readiness/gate").config, "create")[0].environment!;
    for (const server of env.MARATHON_URLS.split(",")) {
      const alternatives = server.split("|");
      expect(alternatives).toHaveLength(2);
      for (const a of alternatives) expect(a).toMatch(/^https:\/\/.*:8443$/);
    }
  });

  test("a gate given plain http URLs of a service with TLS is refused at synth; http to loopback (an SSH tunnel) is not", () => {
    const { stack } = synthCluster({ profile: "ha" });
    expect(() => new ClusterReadinessGate(stack, "g1", { mesos: stack.mesos, marathon: stack.marathon, mesosUrls: ["http://10.20.0.10:5050"] })).toThrow(
      'ha/g1: invalid mesosUrls "http://10.20.0.10:5050"; allowed: https URLs (or http to loopback, an SSH tunnel)',
    );
    const other = synthCluster({ profile: "ha" }).stack;
    expect(() => new ClusterReadinessGate(other, "g2", { mesos: other.mesos, marathon: other.marathon, mesosUrls: ["http://127.0.0.1:15050"], marathonUrls: ["http://localhost:18080"] })).not.toThrow();
  });

  test("dev (auth off) keeps plain http and no CA", () => {
    const { json } = synthCluster({ profile: "dev", readinessGate: "on" });
    const env = localExecs(nullResource(json, "readiness/gate").config, "create")[0].environment!;
    expect(env.MESOS_URLS).toBe("http://10.20.0.10:5050");
    expect(env.MESOS_TLS_CA).toBeUndefined();
    expect(env.MARATHON_TLS_CA).toBeUndefined();
    expect(json.output.tls_ca_pem).toBeUndefined();
  });

  test("MarathonApp deploys over https with the CA; its destroy reads the CA from state with lookup() (state from before TLS has none)", () => {
    const { json } = synthCluster({ profile: "ha", exampleApps: ["web"] });
    const app = nullResource(json, "example-web/app").config;
    const deploy = nullResource(json, "example-web/deploy").config;
    expect(app.triggers.marathon_urls).toBe("https://10.20.0.10:8443,https://10.20.0.11:8443,https://10.20.0.12:8443");
    expect(app.triggers.marathon_tls_ca).toBe(json.output.tls_ca_pem.value);
    // A CA or URL change never replaces the app (which would DELETE it from Marathon).
    expect(app.lifecycle).toEqual({ ignore_changes: ['triggers["marathon_urls"]', 'triggers["marathon_tls_ca"]'] });
    expect(localExecs(app, "destroy")[0].environment!.MARATHON_TLS_CA).toBe('${lookup(self.triggers, "marathon_tls_ca", "")}');
    expect(localExecs(deploy, "create")[0].environment!.MARATHON_TLS_CA).toBe(json.output.tls_ca_pem.value);
    expect(localExecs(deploy, "create")[0].environment!.MARATHON_URLS).toBe(app.triggers.marathon_urls);
  });

  test("MarathonApp refuses plain http URLs to a Marathon with TLS, and an app made before the proxy", () => {
    const { stack } = synthCluster({ profile: "ha" });
    expect(() => new MarathonApp(stack, "a1", { marathon: stack.marathon, id: "/a1", cmd: "sleep 1", marathonUrls: ["http://10.20.0.10:8080"] })).toThrow(
      'ha/a1: invalid marathonUrls "http://10.20.0.10:8080"; allowed: https URLs (or http to loopback, an SSH tunnel)',
    );
    // A library stack that creates the proxy after an app: refused at synth, not deployed over plain http.
    const app = new App();
    const lib = new TerraformStack(app, "lib");
    const { masters, marathon } = libraryCluster(lib);
    new MarathonApp(lib, "early", { marathon, id: "/early", cmd: "sleep 1" });
    new MasterTlsProxy(lib, "tls", { masters, marathon });
    expect(() => synthStack(lib)).toThrow(/lib\/early: invalid marathon "lib\/marathon"; allowed: a Marathon whose MasterTlsProxy exists before this app \(lib\/tls came later/);
  });
});

/** ZooKeeper, masters and Marathon on three AWS machines: the library pieces without the stack. */
function libraryCluster(scope: Construct): { nodes: NodeGroup; masters: MesosMasterGroup; marathon: MarathonService } {
  const target = new AwsTarget(scope, "aws", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY });
  const nodes = new NodeGroup(scope, "machines", { target, count: 3, vmSize: "t3.large" });
  const zookeeper = new ZookeeperEnsemble(scope, "zk", { nodes });
  const masters = new MesosMasterGroup(scope, "mesos", { nodes, zookeeper });
  const marathon = new MarathonService(scope, "marathon", { masters });
  return { nodes, masters, marathon };
}

describe("MasterTlsProxy on its own", () => {
  test("without Swarm TLS it makes its own CA and server certificate (no client certificate) and stores only the certificate and key", () => {
    const { json } = synthCluster({ cloud: "aws", profile: "ha", swarm: false });
    expect(tlsResources(json)).toEqual(
      [
        expect.stringMatching(/^tls_cert_request\.api-tls_server-request/),
        expect.stringMatching(/^tls_locally_signed_cert\.api-tls_server-cert/),
        expect.stringMatching(/^tls_private_key\.api-tls_ca-key/),
        expect.stringMatching(/^tls_private_key\.api-tls_server-key/),
        expect.stringMatching(/^tls_self_signed_cert\.api-tls_ca/),
      ],
    );
    const ca = Object.values(resourcesOf(json, "tls_self_signed_cert"))[0];
    expect(ca.subject).toEqual([{ common_name: "mesos-cluster masters CA" }]);
    const [doc] = machineDocs(json, "aws").map((m) => parseCloudConfig(m.text));
    const conf = sections(fileOf(doc, "/etc/mesos-cluster/master-tls.conf"));
    expect(Object.keys(conf)).toEqual(["global", "mesos", "marathon"]);
    const prepare = fileOf(doc, "/usr/local/sbin/master-tls-prepare");
    expect(prepare).not.toContain("ca.pem");
    expect(prepare).toContain('/usr/local/sbin/fetch-cluster-secret api-tls-cert > "$fresh/cert.pem"');
    expect(prepare).toContain('/usr/local/sbin/fetch-cluster-secret api-tls-key > "$fresh/key.pem"');
    expect(secretResources(json).filter((r) => r.startsWith("api-tls"))).toEqual([expect.stringMatching(/^api-tls_cert-secret_/), expect.stringMatching(/^api-tls_key-secret_/)]);
    expect(json.output.swarm_ca_pem).toBeUndefined();
    expect(json.output.tls_ca_pem.value).toMatch(/^\$\{tls_self_signed_cert\.api-tls_ca/);
  });

  test("dev with swarmTls and auth off keeps Swarm's own stunnel on the manager only, and no API proxy", () => {
    const { json } = synthCluster({ cloud: "aws", profile: "dev", swarmTls: true });
    const doc = parseCloudConfig(machineDocs(json, "aws")[0].text);
    expect(doc.files.has("/etc/mesos-cluster/master-tls.conf")).toBe(false);
    const conf = sections(fileOf(doc, "/etc/mesos-cluster/swarm-tls.conf"));
    expect(Object.keys(conf)).toEqual(["global", "swarm-api"]);
    expect(conf["swarm-api"]).toMatchObject({ accept: "2376", verifyChain: "yes", verifyPeer: "yes", requireCert: "yes" });
    expect(fileOf(doc, "/etc/systemd/system/swarm-tls.service")).toContain("BindsTo=swarm-manager.service");
    expect(enabledUnits(doc)).toEqual(expect.arrayContaining(["swarm-tls.service", "swarm-tls-refresh.timer"]));
  });

  test("bad input names the construct, the property and what is allowed", () => {
    const make = (f: (scope: Construct, pieces: ReturnType<typeof libraryCluster>) => void) => () => {
      const stack = new TerraformStack(new App(), "lib");
      f(stack, libraryCluster(stack));
    };
    expect(make((s, { masters, marathon }) => new MasterTlsProxy(s, "tls", { masters, marathon, mesosPort: 8080 }))).toThrow(
      "lib/tls: invalid mesosPort 8080; allowed: a port not used by Marathon's HTTP API (lib/marathon httpPort) on lib/machines",
    );
    expect(make((s, { masters, marathon }) => new MasterTlsProxy(s, "tls", { masters, marathon, marathonPort: 2181 }))).toThrow(
      "lib/tls: invalid marathonPort 2181; allowed: a port not used by ZooKeeper's client port (lib/zk clientPort) on lib/machines",
    );
    expect(make((s, { masters, marathon }) => new MasterTlsProxy(s, "tls", { masters, marathon, mesosPort: 9443, marathonPort: 9443 }))).toThrow(
      "lib/tls: invalid marathonPort 9443; allowed: a port not used by the Mesos API's TLS port (lib/tls mesosPort) on lib/machines",
    );
    expect(make((s, { masters }) => new MasterTlsProxy(s, "tls", { masters, marathonPort: 9443 }))).toThrow("lib/tls: invalid marathonPort 9443; allowed: no marathonPort without marathon");
    expect(
      make((s, { masters, marathon }) => {
        new MasterTlsProxy(s, "tls", { masters, marathon });
        new MasterTlsProxy(s, "tls2", { masters });
      }),
    ).toThrow('lib/tls2: invalid masters "lib/mesos"; allowed: masters without another MasterTlsProxy (one stunnel per machine)');
    expect(
      make((s, { masters }) => {
        const swarm = new SwarmManager(s, "swarm", { masters, tls: true });
        new MasterTlsProxy(s, "tls", { masters, swarm, mesosPort: 2376 });
      }),
    ).toThrow("lib/tls: invalid mesosPort 2376; allowed: a port not used by the Swarm API's TLS port (lib/swarm tlsPort) on lib/machines");
  });

  test("the rendered config: global options once, a section per service, client certificates only where asked", () => {
    const conf = renderStunnelConfig("/d", [
      { name: "a", accept: 1, connect: "10.0.0.1:2" },
      { name: "b", accept: 3, connect: "127.0.0.1:4", clientCertificates: true },
    ]);
    expect(conf).toBe(
      [
        "foreground = yes",
        "pid =",
        "cert = /d/cert.pem",
        "key = /d/key.pem",
        "sslVersionMin = TLSv1.2",
        `ciphers = ${TLS12_CIPHERS}`,
        "[a]",
        "accept = 1",
        "connect = 10.0.0.1:2",
        "[b]",
        "accept = 3",
        "connect = 127.0.0.1:4",
        "CAfile = /d/ca.pem",
        "verifyChain = yes",
        "verifyPeer = yes",
        "requireCert = yes",
        "",
      ].join("\n"),
    );
  });
});

describe("opening the plain ports while TLS is off", () => {
  const make = (id: string, props: MesosClusterStackProps) => () => new MesosClusterStack(new App(), id, { sshPublicKey: TEST_SSH_KEY, ...props });

  test("is refused with auth on and apiTls off, to admin networks and to the internet", () => {
    expect(make("t1", { profile: "ha", apiTls: false, adminCidrs: [ADMIN] })).toThrow(
      `t1: invalid adminCidrs ["${ADMIN}"]; allowed: openings over TLS only: the Mesos API over plain HTTP (apiTls is off), Marathon over plain HTTP (apiTls is off) would carry basic-auth credentials in clear text (turn on apiTls; or accept it with insecure: true, CLUSTER_INSECURE=on)`,
    );
    expect(make("t2", { profile: "ha", apiTls: false, internetIngress: ["marathon"] })).toThrow(
      't2: invalid internetIngress ["marathon"]; allowed: openings over TLS only: Marathon over plain HTTP (apiTls is off) would carry',
    );
    // SSH and a Swarm API with mutual TLS are not concerned.
    expect(make("t3", { profile: "ha", apiTls: false, internetIngress: ["ssh", "swarm"] })).not.toThrow();
  });

  test("both reasons at once are both named", () => {
    expect(make("t4", { profile: "ha", apiTls: false, swarmTls: false, adminCidrs: [ADMIN] })).toThrow(
      /allowed: openings of authenticated services only: the Swarm API \(swarmTls is off\) would serve anyone on those networks .*; openings over TLS only: the Mesos API over plain HTTP \(apiTls is off\), Marathon over plain HTTP \(apiTls is off\)/,
    );
  });

  test("insecure accepts it with a warning per service, and opens 5050 and 8080", () => {
    const stack = make("t5", { profile: "ha", apiTls: false, adminCidrs: [ADMIN], insecure: true })();
    const json = synthStack(stack);
    const warnings = warningsOf(stack);
    expect(warnings).toEqual(
      expect.arrayContaining([
        "t5: adminCidrs opens the Mesos API over plain HTTP (apiTls is off): basic-auth credentials in clear text (insecure: true)",
        "t5: adminCidrs opens Marathon over plain HTTP (apiTls is off): basic-auth credentials in clear text (insecure: true)",
      ]),
    );
    expect(ruleTable(json, "azure", "mesos-t5").filter((r) => r.includes(ADMIN))).toEqual(
      [`masters <- ${ADMIN} : 22`, `masters <- ${ADMIN} : 2376`, `masters <- ${ADMIN} : 5050`, `masters <- ${ADMIN} : 8080`],
    );
    expect(json.output.mesos_url.value).toBe("http://10.20.0.10:5050");
    expect(json.output.tls_ca_pem).toBeUndefined();
  });

  test("auth off keeps its own refusal and message (TLS without auth is not the question)", () => {
    expect(make("t6", { profile: "dev", adminCidrs: [ADMIN] })).toThrow(
      `t6: invalid adminCidrs ["${ADMIN}"]; allowed: openings of authenticated services only: the Mesos API (auth is off), Marathon (auth is off), the Swarm API (swarmTls is off) would serve anyone on those networks (turn on auth: CLUSTER_AUTH=on, and swarmTls; or accept it with insecure: true, CLUSTER_INSECURE=on)`,
    );
  });

  test("dev with auth turned on gets TLS too, and may open to admin networks", () => {
    const json = synthStack(make("t7", { profile: "dev", auth: true, adminCidrs: [ADMIN] })());
    expect(ruleTable(json, "azure", "mesos-t7").filter((r) => r.includes(ADMIN))).toEqual(
      [`masters <- ${ADMIN} : 22`, `masters <- ${ADMIN} : 2376`, `masters <- ${ADMIN} : 5443`, `masters <- ${ADMIN} : 8443`],
    );
  });
});

test("the proxy is wired from the stack: MesosMasterGroup and MarathonService know their TLS port and CA", () => {
  const { stack } = synthCluster({ profile: "ha" });
  expect(stack.tlsProxy).toBeInstanceOf(MasterTlsProxy);
  expect(MasterTlsProxy.of(stack.mesos)).toBe(stack.tlsProxy);
  expect(stack.mesos.tls).toEqual({ port: 5443, caCertPem: stack.tlsProxy!.caCertPem });
  expect(stack.marathon.tls).toEqual({ port: 8443, caCertPem: stack.tlsProxy!.caCertPem });
  expect(stack.mesos.clientUrls).toEqual(["https://10.20.0.10:5443", "https://10.20.0.11:5443", "https://10.20.0.12:5443"]);
  expect(stack.mesos.urls).toEqual(["http://10.20.0.10:5050", "http://10.20.0.11:5050", "http://10.20.0.12:5050"]);
});

describe("the cluster client never sends credentials in clear text to a service with TLS", () => {
  test("plain http to anything but loopback is clear text; https and an SSH tunnel are not", () => {
    const cases: [string, boolean][] = [
      ["http://10.20.0.10:8080", true],
      ["http://203.0.113.5:5050", true],
      ["HTTP://master.example:8080", true],
      ["http://[fe80::1]:8080", true],
      ["https://203.0.113.5:8443", false],
      ["http://127.0.0.1:18080", false],
      ["http://localhost:5050", false],
      ["http://[::1]:5050", false],
    ];
    for (const [url, clear] of cases) expect([url, clearTextTarget(url)]).toEqual([url, clear]);
  });

  test("a request with credentials and a CA to a plain http URL is refused before any connection (kind tls: waiting cannot fix it)", async () => {
    const attempt = request("http://10.255.255.1:8080/v2/info", { credentials: { username: "admin", password: "x" }, tls: { ca: "pem" }, timeoutMs: 60000 });
    await expect(attempt).rejects.toMatchObject({
      kind: "tls",
      message: "refusing GET http://10.255.255.1:8080/v2/info: the service has TLS (a CA was given), and plain http would carry its credentials in clear text; use its https URL",
    });
  });
});
