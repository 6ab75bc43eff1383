/**
 * Secure by default: nothing open to the world, explicit and loud internet
 * opt-in, authentication with secrets that never enter user data, TLS for
 * the Swarm API, hardened hosts, and no data lost when the agents change.
 */
import { App, TerraformStack } from "cdktf";
import { AzureTarget, NodeGroup } from "../constructs";
import { MesosClusterStack, MesosClusterStackProps } from "../stacks/mesos-cluster-stack";
import { Cloud, execStartOf, fileOf, machineDocs, parseCloudConfig, poolDoc, resolveRef, resourcesOf, ruleTable, synthCluster, synthStack, TEST_SSH_KEY, TfJson, warningsOf } from "./helpers/synth";

const CLOUDS: Cloud[] = ["azure", "aws"];
const PROFILES = ["dev", "ha"] as const;

/** Every ingress opening whose source is the internet. */
function internetRules(json: TfJson, cloud: Cloud): string[] {
  const open: string[] = [];
  if (cloud === "azure") {
    for (const r of Object.values(resourcesOf(json, "azurerm_network_security_rule"))) {
      if (r.access !== "Allow" || r.direction !== "Inbound") continue;
      const sources = [r.source_address_prefix, ...((r.source_address_prefixes as string[]) ?? [])].filter((x) => x !== undefined);
      if (!r.source_application_security_group_ids && sources.length === 0) open.push(`${r.name}: no source`);
      for (const src of sources) if (["*", "Internet", "0.0.0.0/0", "Any"].includes(String(src))) open.push(`${r.name}: ${r.destination_port_range}`);
    }
    for (const nsg of Object.values(resourcesOf(json, "azurerm_network_security_group"))) {
      expect(nsg.security_rule).toBeUndefined(); // no inline rules hiding beside the separate ones
    }
  } else {
    for (const r of Object.values(resourcesOf(json, "aws_vpc_security_group_ingress_rule"))) {
      if (r.cidr_ipv4 === "0.0.0.0/0" || r.cidr_ipv6 === "::/0" || (!r.cidr_ipv4 && !r.referenced_security_group_id)) open.push(`${r.description}: ${r.from_port}`);
    }
    for (const sg of Object.values(resourcesOf(json, "aws_security_group"))) expect(sg.ingress).toBeUndefined();
  }
  return open;
}


describe.each(CLOUDS)("%s", (cloud) => {
  describe.each(PROFILES)("%s defaults", (profile) => {
    let json: TfJson;
    beforeAll(() => {
      json = synthCluster({ cloud, profile }).json;
    });

    test("open nothing to the internet", () => {
      expect(internetRules(json, cloud)).toEqual([]);
      if (cloud === "aws") {
        // The VPC's default group is emptied: no rule lets its members in.
        const [def] = Object.values(resourcesOf(json, "aws_default_security_group"));
        expect(def.ingress).toBeUndefined();
        expect(def.egress).toBeUndefined();
      }
    });

    test("agents have no public IP; SSH takes keys only", () => {
      if (cloud === "azure") {
        const [vmss] = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"));
        const ipc = ((vmss.network_interface as Record<string, unknown>[])[0].ip_configuration as Record<string, unknown>[])[0];
        expect(ipc.public_ip_address).toBeUndefined();
        for (const r of [vmss, ...Object.values(resourcesOf(json, "azurerm_linux_virtual_machine"))]) {
          expect(r.disable_password_authentication).toBe(true);
          expect(r.admin_password).toBeUndefined();
          expect((r.admin_ssh_key as { public_key: string }[])[0].public_key).toBe(TEST_SSH_KEY);
        }
      } else {
        const [lt] = Object.values(resourcesOf(json, "aws_launch_template"));
        expect((lt.network_interfaces as Record<string, unknown>[])[0].associate_public_ip_address).toBe("false");
        for (const r of [lt, ...Object.values(resourcesOf(json, "aws_instance"))]) expect(String(r.key_name)).toContain("aws_key_pair");
      }
      for (const text of [...machineDocs(json, cloud).map((d) => d.text), poolDoc(json, cloud)]) {
        const doc = parseCloudConfig(text);
        expect(doc.raw.ssh_pwauth).toBe(false);
        expect(doc.raw.disable_root).toBe(true);
      }
    });

    test("disks are encrypted; AWS requires IMDSv2 tokens", () => {
      if (cloud === "aws") {
        for (const inst of Object.values(resourcesOf(json, "aws_instance"))) {
          expect(inst.metadata_options).toMatchObject({ http_tokens: "required" });
          expect(inst.root_block_device).toMatchObject({ encrypted: true });
        }
        for (const vol of Object.values(resourcesOf(json, "aws_ebs_volume"))) expect(vol.encrypted).toBe(true);
        const [lt] = Object.values(resourcesOf(json, "aws_launch_template"));
        expect(lt.metadata_options).toMatchObject({ http_tokens: "required" });
        expect((lt.block_device_mappings as { ebs: Record<string, unknown> }[])[0].ebs.encrypted).toBe("true");
      } else {
        // Azure managed disks are encrypted at rest by the platform; no unmanaged (blob VHD) disks are used.
        expect(Object.keys(resourcesOf(json, "azurerm_managed_disk")).length).toBeGreaterThan(0);
        for (const vm of Object.values(resourcesOf(json, "azurerm_linux_virtual_machine"))) expect(vm.os_disk).toMatchObject({ storage_account_type: "StandardSSD_LRS" });
      }
    });
  });

  test("an internet opening needs internetIngress by name, and warns at synth", () => {
    const app = new App({ outdir: "/tmp/mesos-cluster-test-out" });
    // dev runs Marathon without auth: the opening takes the explicit opt-in, and warns twice.
    const stack = new MesosClusterStack(app, "dev", { cloud, profile: "dev", sshPublicKey: TEST_SSH_KEY, internetIngress: ["marathon"], insecure: true });
    const json = synthStack(stack);
    expect(internetRules(json, cloud)).toHaveLength(1);
    expect(ruleTable(json, cloud, "mesos-dev").filter((r) => /0\.0\.0\.0\/0|Internet/.test(r))).toEqual([`masters <- ${cloud === "azure" ? "Internet" : "0.0.0.0/0"} : 8080`]);
    expect(warningsOf(stack).sort()).toEqual([
      "dev/masters: port 8080 (Marathon UI and API from the internet (internetIngress)) is open to the whole internet (0.0.0.0/0)",
      "dev: internetIngress opens Marathon (auth is off) without authentication (insecure: true)",
    ]);
    // An admin CIDR of the whole internet is refused, pointing at the explicit opt-in.
    expect(() => new MesosClusterStack(app, "x", { cloud, sshPublicKey: TEST_SSH_KEY, adminCidrs: ["0.0.0.0/0"] })).toThrow(
      'x: invalid adminCidrs[0] "0.0.0.0/0"; allowed: a block narrower than the whole internet (to open a service to everyone, name it in internetIngress)',
    );
  });

  test("opening a service whose authentication is off is refused, in dev too, unless insecure accepts it", () => {
    const app = new App({ outdir: "/tmp/mesos-cluster-test-out" });
    const make = (id: string, props: Partial<MesosClusterStackProps>) => () => new MesosClusterStack(app, id, { cloud, sshPublicKey: TEST_SSH_KEY, ...props });
    // dev: no auth, no Swarm TLS.
    expect(make("d1", { profile: "dev", adminCidrs: ["203.0.113.0/24"] })).toThrow(
      /^d1: invalid adminCidrs \["203\.0\.113\.0\/24"\]; allowed: openings of authenticated services only: the Mesos API \(auth is off\), Marathon \(auth is off\), the Swarm API \(swarmTls is off\) would serve anyone/,
    );
    expect(make("d2", { profile: "dev", internetIngress: ["swarm"] })).toThrow(/d2: invalid internetIngress \["swarm"\]; .*the Swarm API \(swarmTls is off\)/);
    // ha with auth but Swarm TLS switched off: the Swarm API alone is the problem.
    expect(make("h1", { profile: "ha", adminCidrs: ["203.0.113.0/24"], swarmTls: false })).toThrow(/only: the Swarm API \(swarmTls is off\) would/);
    // SSH needs no opt-in; ha's defaults (auth and TLS on) need none either; dev with auth on needs none.
    expect(make("d3", { profile: "dev", internetIngress: ["ssh"] })).not.toThrow();
    expect(make("h2", { profile: "ha", adminCidrs: ["203.0.113.0/24"] })).not.toThrow();
    expect(make("d4", { profile: "dev", auth: true, adminCidrs: ["203.0.113.0/24"] })).not.toThrow();
    // The opt-in synthesizes, with one warning per unprotected service.
    const accepted = make("d5", { profile: "dev", adminCidrs: ["203.0.113.0/24"], insecure: true })();
    synthStack(accepted);
    expect(warningsOf(accepted).sort()).toEqual([
      "d5: adminCidrs opens Marathon (auth is off) without authentication (insecure: true)",
      "d5: adminCidrs opens the Mesos API (auth is off) without authentication (insecure: true)",
      "d5: adminCidrs opens the Swarm API (swarmTls is off) without authentication (insecure: true)",
    ]);
  });

  describe("authentication (on in ha)", () => {
    let json: TfJson;
    beforeAll(() => {
      json = synthCluster({ cloud, profile: "ha" }).json;
    });

    test("passwords are generated, kept in the secret store, and only sensitive outputs show them", () => {
      const passwords = Object.keys(resourcesOf(json, "random_password")).sort();
      // dns_password: Mesos-DNS's read-only principal on the masters (ha runs discovery "dns"; constructs/mesos-dns.ts).
      expect(passwords).toEqual(["dns_password_9E4D8E8A", "marathon-password", "marathon-zk-password", "mesos-agent-password", "mesos-password", "mesos-zk-password"]);
      for (const p of Object.values(resourcesOf(json, "random_password"))) expect(p).toMatchObject({ length: 32, special: false });
      const stored =
        cloud === "azure"
          ? Object.values(resourcesOf(json, "azurerm_key_vault_secret")).map((s) => [s.name, s.value])
          : Object.values(resourcesOf(json, "aws_ssm_parameter")).map((s) => [String(s.name).replace("/mesos-cluster/mesos-ha/", ""), s.value, s.type]);
      expect(stored).toEqual(
        expect.arrayContaining([
          expect.arrayContaining(["marathon-password", "${random_password.marathon-password.result}"]),
          expect.arrayContaining(["mesos-password", "${random_password.mesos-password.result}"]),
          expect.arrayContaining(["mesos-viewer-mesos-dns", "${random_password.dns_password_9E4D8E8A.result}"]),
        ]),
      );
      if (cloud === "aws") for (const s of Object.values(resourcesOf(json, "aws_ssm_parameter"))) expect(s.type).toBe("SecureString");
      for (const name of ["marathon_password", "mesos_password", "swarm_client_key_pem", "swarm_client_cert_pem"]) {
        expect(json.output[name]).toMatchObject({ sensitive: true });
      }
      expect(json.output.marathon_username.value).toBe("admin");
      // No secret, and no reference to one, is in any machine's user data (which is a literal: checked by machineDocs).
      for (const d of machineDocs(json, cloud)) {
        expect(d.text).not.toMatch(/random_password|tls_private_key|\$\{(data|var|azurerm|aws|tls|random)/);
        expect(d.text).not.toContain("PRIVATE KEY");
      }
    });

    test("masters read their secrets with the cluster's identity at boot", () => {
      for (const d of machineDocs(json, cloud)) {
        const doc = parseCloudConfig(d.text);
        expect(fileOf(doc, "/usr/local/sbin/marathon-credentials")).toContain("password=$(/usr/local/sbin/fetch-cluster-secret marathon-password)");
        expect(fileOf(doc, "/usr/local/sbin/mesos-master-credentials")).toContain(`printf '{"credentials":[{"principal":"%s","secret":"%s"}' 'admin' "$password"`);
        expect(execStartOf(doc, "mesos-master")).toContain("/run/mesos-cluster/secrets/mesos-credentials.json:/etc/mesos/credentials.json:ro");
        if (cloud === "azure") {
          const vm = d.resource;
          expect(vm.identity).toEqual({ type: "UserAssigned", identity_ids: [expect.stringContaining("azurerm_user_assigned_identity")] });
          // The vault comes with the user data (its URI, written by Terraform), never from a tag (azure-vault.test.ts).
          expect(vm.custom_data).toContain("azurerm_key_vault.azure_vault_");
          expect(JSON.stringify(vm.tags)).not.toContain("vault");
        } else {
          expect(String(d.resource.iam_instance_profile)).toContain("aws_iam_instance_profile");
        }
      }
      if (cloud === "azure") {
        // Read only ("Key Vault Secrets User"), on the masters' vault only.
        const reads = Object.values(resourcesOf(json, "azurerm_role_assignment")).filter((r) => String(r.principal_id).includes("azure_machine-identity"));
        expect(reads.map((r) => [r.role_definition_name, r.scope])).toEqual([["Key Vault Secrets User", expect.stringMatching(/^\$\{azurerm_key_vault\.azure_vault_\w+\.id\}$/)]]);
      } else {
        const policy = Object.values(resourcesOf(json, "aws_iam_role_policy")).find((p) => p.name === "read-cluster-secrets")!;
        expect(JSON.parse(String(policy.policy)).Statement).toEqual([
          // The account and partition come from data sources: no wildcard account.
          {
            Effect: "Allow",
            Action: "ssm:GetParameter",
            Resource: expect.stringMatching(/^arn:\$\{data\.aws_partition\.[\w]+\.partition\}:ssm:eu-west-1:\$\{data\.aws_caller_identity\.[\w]+\.account_id\}:parameter\/mesos-cluster\/mesos-ha\/\*$/),
          },
        ]);
      }
      // Agents never get the masters' identity: their pool has its own, which reads the agent credential only (agent-auth.test.ts).
      if (cloud === "azure") expect(JSON.stringify(Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"))[0].identity)).not.toContain("azure_machine-identity");
      else expect(JSON.stringify(Object.values(resourcesOf(json, "aws_launch_template"))[0].iam_instance_profile)).not.toContain("aws_machine-profile");
    });

    test("off in dev: no secrets, no identities but Session Manager's on AWS, no passwords", () => {
      const { json: dev } = synthCluster({ cloud, profile: "dev" });
      for (const type of ["random_password", "azurerm_key_vault", "aws_ssm_parameter", "azurerm_user_assigned_identity", "tls_locally_signed_cert"]) {
        expect(resourcesOf(dev, type)).toEqual({});
      }
      // AWS masters keep the machines' role for Session Manager (aws-edges.test.ts): no secrets policy on it.
      if (cloud === "aws") expect(Object.values(resourcesOf(dev, "aws_iam_role_policy")).map((p) => p.name)).toEqual(["session-manager"]);
      for (const d of machineDocs(dev, cloud)) {
        expect(d.resource.identity).toBeUndefined();
        expect(parseCloudConfig(d.text).files.has("/usr/local/sbin/fetch-cluster-secret")).toBe(false);
      }
    });

    test("passwords from sensitive Terraform variables instead, validated by Terraform", () => {
      const { json: vars } = synthCluster({ cloud, profile: "ha", authPasswords: "variables", authUsername: "ops" });
      const variables = (vars as unknown as { variable: Record<string, Record<string, unknown>> }).variable;
      expect(Object.keys(variables).sort()).toEqual(["marathon_password", "mesos_password"]);
      expect(variables.marathon_password).toMatchObject({ sensitive: true, type: "string" });
      expect(JSON.stringify(variables.marathon_password.validation)).toContain("{16,128}");
      // The ZooKeeper, agent and Mesos-DNS passwords are machine-only: generated either way.
      expect(Object.keys(resourcesOf(vars, "random_password")).sort()).toEqual(["dns_password_9E4D8E8A", "marathon-zk-password", "mesos-agent-password", "mesos-zk-password"]);
      expect(vars.output.marathon_username.value).toBe("ops");
      expect(fileOf(parseCloudConfig(machineDocs(vars, cloud)[0].text), "/usr/local/sbin/marathon-credentials")).toContain("'ops'");
    });
  });

  test("Swarm API over mutual TLS: manager on loopback, stunnel demands client certificates", () => {
    const { json } = synthCluster({ cloud, profile: "ha" });
    const [master] = machineDocs(json, cloud);
    const doc = parseCloudConfig(master.text);
    expect(execStartOf(doc, "swarm-manager")).toContain("tcp://127.0.0.1:2375");
    // One stunnel per master (the Mesos and Marathon TLS ports too, master-tls.test.ts): the Swarm API is its section with client certificates.
    const conf = fileOf(doc, "/etc/mesos-cluster/master-tls.conf");
    const swarmSection = conf.slice(conf.indexOf("[swarm-api]"));
    for (const line of ["accept = 2376", "connect = 127.0.0.1:2375", "verifyChain = yes", "verifyPeer = yes", "requireCert = yes"]) expect(swarmSection).toContain(line);
    expect(conf).toContain("sslVersionMin = TLSv1.2");
    const prepare = fileOf(doc, "/usr/local/sbin/master-tls-prepare");
    expect(prepare).toContain('/usr/local/sbin/fetch-cluster-secret swarm-tls-key > "$fresh/key.pem"');
    expect(prepare).toContain('mv "$fresh/$f" "/run/mesos-cluster/secrets/master-tls/$f"');
    expect(doc.raw.packages).toContainEqual("stunnel4");
    // A reissued certificate (renewal, a new public IP) reaches stunnel within the hour, without a reboot.
    expect(fileOf(doc, "/etc/systemd/system/master-tls-refresh.timer")).toContain("OnUnitActiveSec=1h");
    expect(fileOf(doc, "/etc/systemd/system/master-tls-refresh.service")).toContain("ExecStart=/usr/local/sbin/master-tls-prepare --restart-if-changed");
    expect(doc.runcmd).toContainEqual(["systemctl", "enable", "--now", "mesos-data-disk.service", "zookeeper.service", "mesos-master.service", "marathon.service", "swarm-manager.service", "master-tls.service", "master-tls-refresh.timer", "mesos-dns.service"]);
    // The server certificate names every master; the client certificate is for clients only.
    const certs = Object.values(resourcesOf(json, "tls_locally_signed_cert"));
    const uses = certs.map((c) => (c.allowed_uses as string[]).filter((u) => u.endsWith("_auth"))).sort();
    expect(uses).toEqual([["client_auth"], ["server_auth"]]);
    const requests = Object.values(resourcesOf(json, "tls_cert_request"));
    const server = requests.find((r) => r.ip_addresses);
    expect(server!.ip_addresses).toEqual(expect.arrayContaining(["127.0.0.1", ...machineDocs(json, cloud).map((d) => d.privateIp)]));
    // Without adminCidrs nobody outside reaches 2376; nothing inside needs the manager's API either.
    expect(ruleTable(json, cloud, "mesos-ha").filter((r) => r.startsWith("masters") && /: 237[56]$/.test(r))).toEqual([]);
    // Small ECDSA keys: each PEM fits a standard SSM parameter (4 KB).
    for (const key of Object.values(resourcesOf(json, "tls_private_key"))) expect(key).toMatchObject({ algorithm: "ECDSA", ecdsa_curve: "P256" });
  });
});

describe("nothing lost on change", () => {
  /**
   * The stateful resources of a stack: machines with static IPs, their NICs,
   * data disks and attachments. A NIC's public IP reference is left out: it
   * changes in place when adminCidrs first gives Azure masters a public IP.
   */
  function statefulResources(json: TfJson): Record<string, unknown> {
    const types = [
      "azurerm_linux_virtual_machine",
      "azurerm_network_interface",
      "azurerm_managed_disk",
      "azurerm_virtual_machine_data_disk_attachment",
      "aws_instance",
      "aws_ebs_volume",
      "aws_volume_attachment",
    ];
    const picked: Record<string, unknown> = {};
    for (const t of types) {
      for (const [name, r] of Object.entries(resourcesOf(json, t))) {
        picked[`${t}.${name}`] =
          t === "azurerm_network_interface"
            ? { ...r, ip_configuration: (r.ip_configuration as Record<string, unknown>[]).map(({ public_ip_address_id: _ignored, ...rest }) => rest) }
            : r;
      }
    }
    return picked;
  }

  const CHANGES: [string, Partial<MesosClusterStackProps>][] = [
    ["agent count", { agentCount: 9 }],
    ["agent VM size", { agentVmSize: "BIGGER" }],
    ["agent image tag", { images: { mesosAgent: "mesosphere/mesos-slave:1.7.0" } }],
    ["admin CIDRs", { adminCidrs: ["198.51.100.0/24", "203.0.113.7/32"], insecure: true }],
  ];

  describe.each(CLOUDS.flatMap((c) => PROFILES.map((p) => [c, p] as [Cloud, "dev" | "ha"])))("%s %s", (cloud, profile) => {
    let before: TfJson;
    beforeAll(() => {
      before = synthCluster({ cloud, profile }).json;
    });

    test.each(CHANGES)("changing the %s leaves masters and data disks untouched", (_name, change) => {
      const props: MesosClusterStackProps = { cloud, profile, ...change };
      if (change.agentVmSize) (props as { agentVmSize: string }).agentVmSize = cloud === "azure" ? "Standard_D8s_v5" : "m6i.2xlarge";
      const after = synthCluster(props).json;
      // AWS masters get a public IP only once adminCidrs gives it a purpose: the first list replaces
      // them (associate_public_ip_address is ForceNew; their data volumes stay, re-attached). Another
      // list after that changes nothing of theirs (below).
      const firstPublicIp = cloud === "aws" && change.adminCidrs !== undefined;
      const strip = (json: TfJson) => {
        const picked = statefulResources(json);
        if (!firstPublicIp) return picked;
        return Object.fromEntries(Object.entries(picked).map(([k, r]) => [k, k.startsWith("aws_instance.") ? { ...(r as object), associate_public_ip_address: "(first adminCidrs)" } : r]));
      };
      if (firstPublicIp) {
        const flags = (json: TfJson) => Object.values(resourcesOf(json, "aws_instance")).map((i) => i.associate_public_ip_address);
        expect(new Set(flags(before))).toEqual(new Set([false]));
        expect(new Set(flags(after))).toEqual(new Set([true]));
      }
      const stateful = strip(before);
      expect(Object.keys(stateful).length).toBeGreaterThan(0);
      expect(strip(after)).toEqual(stateful);
      // ... while the change did reach the stack.
      expect(after).not.toEqual(before);
    });

    test("changing adminCidrs once they are set leaves masters and data disks untouched", () => {
      const from = synthCluster({ cloud, profile, adminCidrs: ["203.0.113.0/24"], insecure: true }).json;
      const to = synthCluster({ cloud, profile, adminCidrs: ["198.51.100.0/24", "203.0.113.7/32"], insecure: true }).json;
      expect(statefulResources(to)).toEqual(statefulResources(from));
      expect(to).not.toEqual(from);
    });

    test("the data disks are separate resources attached to the machines, not OS disks", () => {
      const machines = machineDocs(before, cloud);
      if (cloud === "azure") {
        const attachments = Object.values(resourcesOf(before, "azurerm_virtual_machine_data_disk_attachment"));
        expect(attachments).toHaveLength(machines.length);
        for (const a of attachments) {
          expect(resolveRef(before, a.managed_disk_id)).toMatchObject({ create_option: "Empty" });
          expect(String(a.virtual_machine_id)).toContain("azurerm_linux_virtual_machine");
        }
      } else {
        const attachments = Object.values(resourcesOf(before, "aws_volume_attachment"));
        expect(attachments).toHaveLength(machines.length);
        for (const a of attachments) {
          const volume = resolveRef(before, a.volume_id);
          const instance = resolveRef(before, a.instance_id);
          expect(volume.availability_zone).toBe(instance.availability_zone);
        }
      }
      // ZooKeeper and the replicated log live on that disk's mount point.
      const doc = parseCloudConfig(machines[0].text);
      expect(execStartOf(doc, "zookeeper")).toContain("/var/lib/mesos-cluster/zookeeper/data:/data");
      expect(execStartOf(doc, "mesos-master")).toContain("/var/lib/mesos-cluster/mesos:/var/lib/mesos");
      expect(fileOf(doc, "/etc/systemd/system/zookeeper.service")).toContain("Requires=docker.service mesos-data-disk.service");
      // Formatted only when blank: mkfs runs only where blkid finds no filesystem.
      expect(fileOf(doc, "/usr/local/sbin/mount-data-disk")).toMatch(/if ! blkid "\$device" >\/dev\/null 2>&1; then\n\s*mkfs\.ext4/);
    });
  });
});

describe("Azure machines: Trusted Launch by default, encryption at host and a pinned image on request", () => {
  test("every VM and the scale set boot with secure boot and a vTPM; false keeps a cluster made without it", () => {
    const { json } = synthCluster({ cloud: "azure", profile: "ha" });
    const machines = [...Object.values(resourcesOf(json, "azurerm_linux_virtual_machine")), ...Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"))];
    expect(machines.length).toBe(4);
    for (const m of machines) {
      expect(m).toMatchObject({ secure_boot_enabled: true, vtpm_enabled: true, source_image_reference: { sku: "22_04-lts-gen2", version: "latest" } });
      expect(m.encryption_at_host_enabled).toBeUndefined();
    }
    const off = synthCluster({ cloud: "azure", profile: "ha", trustedLaunch: false }).json;
    for (const m of Object.values(resourcesOf(off, "azurerm_linux_virtual_machine"))) expect(m).toMatchObject({ secure_boot_enabled: false, vtpm_enabled: false });
    expect(() => synthCluster({ cloud: "aws", profile: "ha", trustedLaunch: true })).toThrow('ha: invalid trustedLaunch true; allowed: unset on aws (Trusted Launch is an Azure feature)');
  });

  test("the library: encryption at host and an image version on the target; a malformed version is refused", () => {
    const stack = new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");
    const target = new AzureTarget(stack, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY, encryptionAtHost: true, imageVersion: "22.04.202411190" });
    new NodeGroup(stack, "m", { target, count: 1, vmSize: "Standard_D2s_v5" });
    const [vm] = Object.values(resourcesOf(synthStack(stack), "azurerm_linux_virtual_machine"));
    expect(vm).toMatchObject({ encryption_at_host_enabled: true, secure_boot_enabled: true, source_image_reference: { version: "22.04.202411190" } });
    expect(() => new AzureTarget(new TerraformStack(new App(), "x"), "azure", { clusterName: "xy", sshPublicKey: TEST_SSH_KEY, imageVersion: "jammy" })).toThrow(
      'x/azure: invalid imageVersion "jammy"; allowed: "latest" or an image version such as 22.04.202411190',
    );
  });
});

describe("Swarm API client certificates per admin, revoked by removing the name", () => {
  test("one certificate per name; the masters hold the CA and exactly these certificates; the output lists them by name", () => {
    const { stack, json } = synthCluster({ cloud: "aws", profile: "ha", swarmClientNames: ["alice", "bob"] });
    const tls = stack.swarm!.tlsCertificates!;
    expect(tls.clients.map((c) => c.name)).toEqual(["alice", "bob"]);
    const certs = Object.entries(resourcesOf(json, "tls_cert_request")).map(([, r]) => (r.subject as { common_name: string }[])[0].common_name).sort();
    expect(certs).toEqual(["swarm client", "swarm client bob", "swarm server"]);
    // The first admin keeps the Terraform addresses of the single client certificate of earlier versions.
    expect(Object.keys(resourcesOf(json, "tls_locally_signed_cert")).filter((k) => k.includes("client")).sort()).toEqual([
      expect.stringMatching(/^swarm_tls_client-bob-cert_/),
      expect.stringMatching(/^swarm_tls_client-cert_/),
    ]);
    // What the masters verify against: the CA, then every allowed client certificate.
    const caParameter = Object.values(resourcesOf(json, "aws_ssm_parameter")).find((p) => String(p.name).endsWith("swarm-tls-ca"))!;
    expect(caParameter.value).toMatch(/^\$\{join\("", \[tls_self_signed_cert\.[^,]+\.cert_pem, tls_locally_signed_cert\.swarm_tls_client-cert_[^,]+\.cert_pem, tls_locally_signed_cert\.swarm_tls_client-bob-cert_[^\]]+\.cert_pem\]\)\}$/);
    expect(json.output.swarm_clients).toMatchObject({ sensitive: true });
    expect(Object.keys(json.output.swarm_clients.value as object)).toEqual(["alice", "bob"]);
  });

  test("names that are not a short list of distinct names are refused", () => {
    expect(() => synthCluster({ cloud: "aws", profile: "ha", swarmClientNames: ["a", "b", "c", "d", "e"] })).toThrow(
      'ha/swarm/tls: invalid clientNames ["a","b","c","d","e"]; allowed: 1 to 4 distinct admin names',
    );
    expect(() => synthCluster({ cloud: "aws", profile: "ha", swarmClientNames: ["Alice"] })).toThrow('ha/swarm/tls: invalid clientNames[0] "Alice"; allowed: a name of lower-case letters');
  });
});

test("Azure Key Vaults: purge protection and 90 days of soft delete; an older vault's retention is left as it is, not failed", () => {
  const { json } = synthCluster({ cloud: "azure", profile: "ha" });
  const vaults = Object.values(resourcesOf(json, "azurerm_key_vault"));
  expect(vaults).toHaveLength(2); // the masters' and the agents' pool's
  for (const v of vaults) {
    expect(v).toMatchObject({ purge_protection_enabled: true, soft_delete_retention_days: 90 });
    expect((v.lifecycle as { ignore_changes: string[] }).ignore_changes).toEqual(["soft_delete_retention_days"]);
  }
});
