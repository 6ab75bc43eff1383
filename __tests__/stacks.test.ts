/**
 * The dev and ha stacks on both clouds: resources, placement, rules, outputs
 * and the decoded user data of every machine.
 */
import { Cidr } from "../constructs/core/net";
import { parseVaultUriTemplate } from "../constructs/cloud/secret-fetchers/azure";
import {
  Cloud,
  enabledUnits,
  envOf,
  execStartOf,
  fileOf,
  imageOf,
  machineDocs,
  parseCloudConfig,
  poolDoc,
  resolveRef,
  resourceCounts,
  resourcesOf,
  ruleTable,
  synthCluster,
  TfJson,
} from "./helpers/synth";

const AZURE_COMMON = {
  // The agents' group; masters are named by their static IPs in the rules.
  azurerm_application_security_group: 1,
  azurerm_linux_virtual_machine_scale_set: 1,
  azurerm_nat_gateway: 1,
  azurerm_nat_gateway_public_ip_association: 1,
  azurerm_network_security_group: 1,
  azurerm_resource_group: 1,
  azurerm_subnet: 2,
  azurerm_subnet_nat_gateway_association: 2,
  azurerm_subnet_network_security_group_association: 2,
  azurerm_virtual_network: 1,
};
const AWS_COMMON = {
  aws_autoscaling_group: 1,
  aws_eip: 1,
  aws_internet_gateway: 1,
  aws_key_pair: 1,
  aws_launch_template: 1,
  aws_nat_gateway: 1,
  aws_route: 2,
  aws_route_table: 2,
  // 3 master, 3 agent and 1 public subnet (the NAT gateway's), each associated with a route table.
  aws_route_table_association: 7,
  aws_security_group: 2,
  aws_subnet: 7,
  aws_vpc: 1,
  aws_vpc_security_group_egress_rule: 2,
  aws_default_security_group: 1,
  // The masters' role, its Session Manager policy and profile (aws-edges.test.ts), with or without auth.
  aws_iam_role: 1,
  aws_iam_role_policy: 1,
  aws_iam_instance_profile: 1,
};

/** What authentication (on in ha) adds: passwords, the Swarm CA and certificates, and their secret store. */
const AUTH_COMMON = {
  random_password: 5,
  tls_private_key: 3,
  tls_self_signed_cert: 1,
  tls_cert_request: 2,
  tls_locally_signed_cert: 2,
};
// Secrets: the Marathon and Mesos HTTP and ZooKeeper passwords, the agents' credential, the Swarm API's CA, certificate and key.
// The agent pool reads the agents' credential with an identity of its own (Azure: its own vault with a copy; agent-auth.test.ts).
// Each vault: its reader's and the deployer's role assignment, and the wait for the latter (azure-vault.test.ts).
const AUTH_AZURE = { ...AUTH_COMMON, azurerm_key_vault: 2, azurerm_key_vault_secret: 9, azurerm_user_assigned_identity: 2, random_string: 2, azurerm_role_assignment: 4, null_resource: 2 };
// With auth the masters' role also reads the cluster's parameters, and the pool gets a role and profile of its own; the pool
// drains its agents (on by default where they authenticate: agent-drain.test.ts), with a lifecycle hook and a CompleteLifecycleAction policy.
// Azure's drain is a block of the scale set (termination_notification): no resource of its own.
const AUTH_AWS = { ...AUTH_COMMON, aws_ssm_parameter: 8, aws_iam_role: 2, aws_iam_role_policy: 4, aws_iam_instance_profile: 2, aws_autoscaling_lifecycle_hook: 1 };
// Mesos-DNS on the masters (discovery "dns", ha's default): with auth, its read-only principal's password and that
// secret in the store (constructs/mesos-dns.ts); the 5 rules of DNS_RULES either way.
const DNS_AUTH_AZURE = { ...AUTH_AZURE, random_password: 6, azurerm_key_vault_secret: 10 };
const DNS_AUTH_AWS = { ...AUTH_AWS, random_password: 6, aws_ssm_parameter: 9 };

function expectedCounts(cloud: Cloud, masters: number, auth: boolean, dns: boolean): Record<string, number> {
  // 12 allows (+2 quorum ports with an ensemble, +5 for Mesos-DNS)
  const allows = (masters > 1 ? 14 : 12) + (dns ? 5 : 0);
  if (cloud === "azure") {
    return {
      ...AZURE_COMMON,
      ...(auth ? (dns ? DNS_AUTH_AZURE : AUTH_AZURE) : {}),
      azurerm_linux_virtual_machine: masters,
      azurerm_managed_disk: masters,
      azurerm_virtual_machine_data_disk_attachment: masters,
      azurerm_network_interface: masters,
      azurerm_public_ip: 1, // the NAT gateway's; masters get one only with adminCidrs or internetIngress
      // the allows and the deny-VNet rule
      azurerm_network_security_rule: allows + 1,
    };
  }
  return {
    ...AWS_COMMON,
    ...(auth ? (dns ? DNS_AUTH_AWS : AUTH_AWS) : {}),
    aws_instance: masters,
    aws_ebs_volume: masters,
    aws_volume_attachment: masters,
    aws_vpc_security_group_ingress_rule: allows,
  };
}

const BASE_RULES = [
  "agents <- agents : 31000-32000",
  "agents <- masters : 22",
  "agents <- masters : 2375",
  "agents <- masters : 31000-32000",
  "agents <- masters : 5051",
  "masters <- agents : 2181",
  "masters <- agents : 5050",
  "masters <- masters : 15101",
  "masters <- masters : 2181",
  "masters <- masters : 3375",
  "masters <- masters : 5050",
  "masters <- masters : 8080",
];
const QUORUM_RULES = ["masters <- masters : 2888", "masters <- masters : 3888"];
// Mesos-DNS: DNS (UDP and TCP) for the machines it serves, its HTTP API (which returns its configuration) to the masters only.
const DNS_RULES = [
  "masters <- agents : 53",
  "masters <- agents : 53/udp",
  "masters <- masters : 53",
  "masters <- masters : 53/udp",
  "masters <- masters : 8123",
];

const COMBOS: [Cloud, "dev" | "ha", number, number][] = [
  ["azure", "dev", 1, 2],
  ["azure", "ha", 3, 3],
  ["aws", "dev", 1, 2],
  ["aws", "ha", 3, 3],
];

describe.each(COMBOS)("%s %s stack", (cloud, profile, masterCount, agentCount) => {
  const clusterName = `mesos-${profile}`;
  // ha turns authentication and the Swarm API's TLS on by default; dev leaves them off.
  const auth = profile === "ha";
  const swarmPort = auth ? 2376 : 2375;
  // ha runs Mesos-DNS on the masters by default (discovery "dns"); dev runs none (discovery-dns.test.ts).
  const dns = profile === "ha";
  let json: TfJson;
  beforeAll(() => {
    json = synthCluster({ cloud, profile }).json;
  });

  test("has exactly the expected resources", () => {
    expect(resourceCounts(json)).toEqual(expectedCounts(cloud, masterCount, auth, dns));
  });

  test("places one master per zone with a static IP inside its subnet", () => {
    const docs = machineDocs(json, cloud);
    expect(docs).toHaveLength(masterCount);
    const zones = docs.map((d) => d.zone);
    expect(new Set(zones).size).toBe(masterCount);
    expect(zones).toEqual(cloud === "azure" ? ["1", "2", "3"].slice(0, masterCount) : ["eu-west-1a", "eu-west-1b", "eu-west-1c"].slice(0, masterCount));
    for (const d of docs) {
      if (cloud === "azure") {
        const nic = resolveRef(json, (d.resource.network_interface_ids as string[])[0]);
        const ipc = (nic.ip_configuration as Record<string, unknown>[])[0];
        expect(ipc.private_ip_address_allocation).toBe("Static");
        const subnet = resolveRef(json, ipc.subnet_id);
        expect(subnet.name).toBe("masters");
        expect(Cidr.parse((subnet.address_prefixes as string[])[0]).contains(d.privateIp)).toBe(true);
      } else {
        const subnet = resolveRef(json, d.resource.subnet_id);
        expect(subnet.availability_zone).toBe(d.zone);
        expect(Cidr.parse(String(subnet.cidr_block)).contains(d.privateIp)).toBe(true);
      }
    }
    expect(docs.map((d) => d.privateIp)).toEqual(
      cloud === "azure" ? ["10.20.0.10", "10.20.0.11", "10.20.0.12"].slice(0, masterCount) : ["10.20.0.10", "10.20.1.10", "10.20.2.10"].slice(0, masterCount),
    );
  });

  test("spreads the agent pool over every zone with the default count", () => {
    if (cloud === "azure") {
      const [vmss] = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"));
      expect(vmss.instances).toBe(agentCount);
      expect(vmss.zones).toEqual(["1", "2", "3"]);
      expect(vmss.zone_balance).toBe(true);
      expect(vmss.overprovision).toBe(false);
      const ipc = ((vmss.network_interface as Record<string, unknown>[])[0].ip_configuration as Record<string, unknown>[])[0];
      expect(resolveRef(json, ipc.subnet_id).name).toBe("agents");
      expect(ipc.public_ip_address).toBeUndefined();
    } else {
      const [asg] = Object.values(resourcesOf(json, "aws_autoscaling_group"));
      expect([asg.min_size, asg.max_size, asg.desired_capacity]).toEqual([agentCount, agentCount, agentCount]);
      const zones = (asg.vpc_zone_identifier as string[]).map((id) => resolveRef(json, id).availability_zone);
      expect(zones).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
    }
  });

  test("opens exactly the ports the roles need, between the cluster's own groups", () => {
    expect(ruleTable(json, cloud, clusterName)).toEqual([...BASE_RULES, ...(masterCount > 1 ? QUORUM_RULES : []), ...(dns ? DNS_RULES : [])].sort());
    if (cloud === "azure") {
      const deny = Object.values(resourcesOf(json, "azurerm_network_security_rule")).filter((r) => r.access === "Deny");
      expect(deny).toHaveLength(1);
      expect(deny[0]).toMatchObject({ source_address_prefix: "VirtualNetwork", destination_port_range: "*", priority: 4000 });
    }
  });

  test("admin CIDRs open SSH, the UIs and the Swarm API on the masters only", () => {
    // dev has no auth: it opens to admin networks only with the explicit opt-in (see security.test.ts).
    const { json: withAdmins } = synthCluster({ cloud, profile, adminCidrs: ["203.0.113.0/24"], insecure: profile === "dev" });
    const extra = ruleTable(withAdmins, cloud, clusterName).filter((r) => !ruleTable(json, cloud, clusterName).includes(r));
    expect(extra).toEqual(
      // With auth (ha) the Mesos and Marathon APIs are opened only behind TLS (5443, 8443), never 5050/8080.
      [`masters <- 203.0.113.0/24 : 22`, `masters <- 203.0.113.0/24 : ${swarmPort}`, `masters <- 203.0.113.0/24 : ${auth ? 5443 : 5050}`, `masters <- 203.0.113.0/24 : ${auth ? 8443 : 8080}`].sort(),
    );
  });

  test("outputs the cluster's addresses", () => {
    const ips = machineDocs(json, cloud).map((d) => d.privateIp);
    const out = (name: string) => json.output[name]?.value;
    expect(out("master_private_ips")).toEqual(ips);
    expect(out("zookeeper_connect_string")).toBe(ips.map((ip) => `${ip}:2181`).join(","));
    expect(out("mesos_zk_url")).toBe(`zk://${ips.map((ip) => `${ip}:2181`).join(",")}/mesos`);
    // With auth (ha) clients reach Mesos and Marathon through the masters' TLS proxy, its CA an output.
    const [mesos, marathon] = auth ? ["https://%s:5443", "https://%s:8443"] : ["http://%s:5050", "http://%s:8080"];
    expect(out("mesos_url")).toBe(mesos.replace("%s", ips[0]));
    expect(out("mesos_urls")).toEqual(ips.map((ip) => mesos.replace("%s", ip)));
    expect(out("marathon_url")).toBe(marathon.replace("%s", ips[0]));
    expect(out("marathon_urls")).toEqual(ips.map((ip) => marathon.replace("%s", ip)));
    if (auth) expect(out("tls_ca_pem")).toMatch(/^\$\{tls_self_signed_cert\..*\.cert_pem\}$/);
    else expect(out("tls_ca_pem")).toBeUndefined();
    expect(out("docker_host")).toBe(`tcp://${ips[0]}:${swarmPort}`);
    expect(out("docker_tls_verify")).toBe(auth ? "1" : "0");
    expect(out("ssh_user")).toBe(cloud === "azure" ? "azureuser" : "ubuntu");
    // Masters get public IPs only with adminCidrs or internetIngress; AWS offers Session Manager instead.
    expect(out("master_public_ips")).toBeUndefined();
    if (cloud === "aws") expect(Object.keys(out("master_session_commands") as object)).toHaveLength(masterCount);
    else expect(out("master_session_commands")).toBeUndefined();
    // What `npm run endpoints` reads: Mesos-DNS's domain and servers (the masters); dev says discovery is off.
    expect(out("discovery")).toEqual(dns ? { mode: "dns", domain: "mesos", dns_servers: ips } : { mode: "off" });
  });

  test("every master runs a ZooKeeper member with its myid and the shared server list", () => {
    const docs = machineDocs(json, cloud);
    const ips = docs.map((d) => d.privateIp);
    const serverLines = ips.map((ip, i) => `server.${i + 1}=${ip}:2888:3888;2181`);
    docs.forEach((d, i) => {
      const doc = parseCloudConfig(d.text);
      const zooCfg = fileOf(doc, "/etc/mesos-cluster/zookeeper/zoo.cfg");
      expect(zooCfg.split("\n").filter((l) => l.startsWith("server."))).toEqual(serverLines);
      expect(zooCfg).toContain("admin.enableServer=false");
      expect(zooCfg).not.toMatch(/^clientPort=/m);
      expect(envOf(doc, "zookeeper").ZOO_MY_ID).toBe(String(i + 1));
      expect(fileOf(doc, "/usr/local/sbin/zookeeper-prepare")).toContain(`echo ${i + 1} > "$myid_file"`);
      const run = execStartOf(doc, "zookeeper");
      expect(run).toContain("--net=host");
      expect(run).toContain("/etc/mesos-cluster/zookeeper/zoo.cfg:/conf/zoo.cfg:ro");
      expect(run).toContain("/var/lib/mesos-cluster/zookeeper/data:/data");
      expect(run[run.length - 1]).toBe("zookeeper:3.8.4");
    });
  });

  test("every master runs a Mesos master with the quorum and a zk URL naming exactly the masters", () => {
    const docs = machineDocs(json, cloud);
    const ips = docs.map((d) => d.privateIp);
    const zk = `zk://${ips.map((ip) => `${ip}:2181`).join(",")}/mesos`;
    for (const d of docs) {
      // Every flag on the command line: the image's CMD --registry=in_memory would otherwise win
      // over any MESOS_* environment (stout flags.hpp), so no master flag travels as environment.
      expect(parseCloudConfig(d.text).files.has("/etc/mesos-cluster/mesos-master.env")).toBe(false);
      const args = execStartOf(parseCloudConfig(d.text), "mesos-master");
      expect(args.slice(args.indexOf("mesosphere/mesos-master:1.7.1") + 1)).toEqual([
        // With auth, the URL with the ZooKeeper password is a root-only file written at boot (zookeeper-acl.test.ts).
        auth ? "--zk=file:///etc/mesos/zk" : `--zk=${zk}`,
        `--quorum=${Math.floor(masterCount / 2) + 1}`,
        "--work_dir=/var/lib/mesos",
        "--log_dir=/var/log/mesos",
        `--cluster=${clusterName}`,
        `--hostname=${d.privateIp}`,
        `--ip=${d.privateIp}`,
        "--port=5050",
        "--registry=replicated_log",
        ...(auth ? ["--authenticate_http_readwrite=true", "--authenticate_http_readonly=true", "--authenticate_http_frameworks=true", "--http_authenticators=basic", "--http_framework_authenticators=basic", "--authenticate_agents=true", "--credentials=/etc/mesos/credentials.json"] : []),
        // Tasks run as nobody only (mesos-acls.test.ts decodes the ACL).
        expect.stringMatching(/^"--acls=\{.*\}"$/),
      ]);
      const run = execStartOf(parseCloudConfig(d.text), "mesos-master");
      expect(run).toContain("/var/lib/mesos-cluster/mesos:/var/lib/mesos");
      expect(run).toContain("mesosphere/mesos-master:1.7.1");
    }
  });

  test("every master runs Marathon with --master and --zk through ZooKeeper", () => {
    const docs = machineDocs(json, cloud);
    const hosts = docs.map((d) => `${d.privateIp}:2181`).join(",");
    for (const d of docs) {
      const doc = parseCloudConfig(d.text);
      const run = execStartOf(doc, "marathon");
      const image = run.indexOf("mesosphere/marathon:v1.8.244");
      expect(image).toBeGreaterThan(0);
      // With auth, MARATHON_ZK (with the ZooKeeper password) comes from a boot-time env file, not the command line.
      expect(run.slice(image + 1)).toEqual(["--master", `zk://${hosts}/mesos`, ...(auth ? [] : ["--zk", `zk://${hosts}/marathon`]), "--hostname", d.privateIp, "--http_port", "8080", "--mesos_user", "nobody"]);
      expect(run.includes("/run/mesos-cluster/secrets/marathon-zk.env")).toBe(auth);
      expect(envOf(doc, "marathon")).toEqual({ LIBPROCESS_IP: d.privateIp, LIBPROCESS_PORT: "15101" });
      // With auth, the credentials come from a boot-time env file, never from user data or the command line.
      expect(run.includes("/run/mesos-cluster/secrets/marathon.env")).toBe(auth);
      expect(run.join(" ")).not.toContain("http_credentials");
    }
  });

  test("the first master runs the Swarm manager on Mesos; the others hold a disabled standby", () => {
    const docs = machineDocs(json, cloud);
    const hosts = docs.map((d) => `${d.privateIp}:2181`).join(",");
    docs.forEach((d, i) => {
      const doc = parseCloudConfig(d.text);
      const run = execStartOf(doc, "swarm-manager");
      const image = run.indexOf("swarm:1.2.8");
      expect(run.slice(image + 1)).toEqual([
        "manage", "-H", auth ? "tcp://127.0.0.1:2375" : "tcp://0.0.0.0:2375", "-c", "mesos-experimental",
        "--cluster-opt", `mesos.address=${d.privateIp}`, "--cluster-opt", "mesos.port=3375",
        // Checkpointing: an agent restart keeps Swarm's containers.
        "--cluster-opt", "mesos.checkpointfailover=true",
        `zk://${hosts}/mesos`,
      ]);
      expect(envOf(doc, "swarm-manager")).toEqual({ SWARM_MESOS_USER: "nobody" });
      const units = enabledUnits(doc);
      expect(units).toEqual(expect.arrayContaining(["mesos-data-disk.service", "zookeeper.service", "mesos-master.service", "marathon.service"]));
      expect(units.includes("swarm-manager.service")).toBe(i === 0);
      // With auth one stunnel per master serves Mesos, Marathon and the Swarm API over TLS.
      expect(units.includes("master-tls.service")).toBe(auth);
      expect(units.includes("swarm-tls.service")).toBe(false);
      // ha runs one Mesos-DNS per master.
      expect(units.includes("mesos-dns.service")).toBe(dns);
    });
  });

  test("agents boot into cgroup v1 and run the docker containerizer against the masters", () => {
    const ips = machineDocs(json, cloud).map((d) => d.privateIp);
    const doc = parseCloudConfig(poolDoc(json, cloud));
    expect(fileOf(doc, "/etc/default/grub.d/99-mesos-cgroup-v1.cfg")).toContain('GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX systemd.unified_cgroup_hierarchy=0"');
    expect(doc.runcmd).toContainEqual(["update-grub"]);
    expect(doc.raw.power_state).toMatchObject({ mode: "reboot" });
    expect(JSON.stringify((doc.raw.power_state as { condition: unknown }).condition)).toContain("cgroup2fs");
    const env = envOf(doc, "mesos-agent");
    expect(env.MESOS_MASTER).toBe(`zk://${ips.map((ip) => `${ip}:2181`).join(",")}/mesos`);
    expect(env.MESOS_CONTAINERIZERS).toBe("docker,mesos");
    expect(env.MESOS_WORK_DIR).toBe("/var/lib/mesos");
    expect(env.MESOS_RESOURCES).toBe("ports:[31000-32000]");
    expect(env.MESOS_SYSTEMD_ENABLE_SUPPORT).toBe("false");
    expect(env.MESOS_EXECUTOR_REGISTRATION_TIMEOUT).toBe("10mins");
    const run = execStartOf(doc, "mesos-agent");
    expect(run).toEqual(expect.arrayContaining(["--net=host", "--pid=host", "--privileged", "/var/run/docker.sock:/var/run/docker.sock", "/sys/fs/cgroup:/sys/fs/cgroup", "/var/lib/mesos:/var/lib/mesos", "/run/mesos-cluster/mesos-agent.env"]));
    // The image carries its own docker CLI; the host's (built for jammy's glibc) is never mounted.
    expect(run.some((w) => w.startsWith("/usr/bin/docker:"))).toBe(false);
    // Executors in containers of the agent's own image survive an agent restart.
    expect(env.MESOS_DOCKER_MESOS_IMAGE).toBe("mesosphere/mesos-slave:1.7.1");
    // Swarm finds the engine port through the agent attribute.
    expect(env.MESOS_ATTRIBUTES).toBe("docker_port:2375");
    expect(run[run.length - 1]).toBe("mesosphere/mesos-slave:1.7.1");
    // The IP is learned at boot: the pre-start script writes it for the agent.
    expect(fileOf(doc, "/usr/local/sbin/mesos-agent-prestart")).toContain("MESOS_IP=%s");
    expect(fileOf(doc, "/usr/local/sbin/cluster-host-ip")).toContain("ip -4 -o route get 10.20.0.1");
    const dropIn = fileOf(doc, "/etc/systemd/system/docker.service.d/10-swarm-tcp.conf");
    expect(dropIn).toContain("Environment=DOCKER_MIN_API_VERSION=1.12");
    expect(dropIn).toContain("ExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375");
  });

  test("every machine installs its role's pinned Docker engine (agents 25.0.5, masters 27.5.1) and refuses SSH passwords", () => {
    const docs = [...machineDocs(json, cloud).map((d) => [d.text, "27.5.1"]), [poolDoc(json, cloud), "25.0.5"]];
    for (const [text, version] of docs) {
      const doc = parseCloudConfig(text);
      expect((doc.raw.packages as unknown[]).slice(0, 3)).toEqual([
        ["docker-ce", `5:${version}-1~ubuntu.22.04~jammy`],
        ["docker-ce-cli", `5:${version}-1~ubuntu.22.04~jammy`],
        ["containerd.io", "1.7.27-1"],
      ]);
      expect(doc.raw.ssh_pwauth).toBe(false);
    }
  });

  test("user data is a literal in the JSON, readable without Terraform", () => {
    if (cloud === "azure") {
      for (const vm of Object.values(resourcesOf(json, "azurerm_linux_virtual_machine"))) {
        // With secrets, Terraform writes only the vault's URI into the literal document (azure-vault.test.ts).
        const literal = parseVaultUriTemplate(String(vm.custom_data))?.base64 ?? vm.custom_data;
        expect(parseVaultUriTemplate(String(vm.custom_data)) !== undefined).toBe(auth);
        expect(literal).toMatch(/^[A-Za-z0-9+/]+=*$/);
        expect(vm.disable_password_authentication).toBe(true);
      }
    } else {
      for (const inst of Object.values(resourcesOf(json, "aws_instance"))) {
        const value = String(inst.user_data ?? inst.user_data_base64);
        expect(value).not.toContain("${");
        expect(inst.user_data_replace_on_change).toBe(true);
        expect(inst.metadata_options).toEqual({ http_endpoint: "enabled", http_put_response_hop_limit: 1, http_tokens: "required" });
        expect(inst.root_block_device).toMatchObject({ encrypted: true });
      }
    }
  });
});

test("images and the engine are pinned to the documented defaults", () => {
  const { json } = synthCluster({ cloud: "azure", profile: "dev" });
  const doc = parseCloudConfig(machineDocs(json, "azure")[0].text);
  expect(["zookeeper", "mesos-master", "marathon", "swarm-manager"].map((s) => imageOf(doc, s))).toEqual([
    "zookeeper:3.8.4",
    "mesosphere/mesos-master:1.7.1",
    "mesosphere/marathon:v1.8.244",
    "swarm:1.2.8",
  ]);
  expect(imageOf(parseCloudConfig(poolDoc(json, "azure")), "mesos-agent")).toBe("mesosphere/mesos-slave:1.7.1");
});
