/**
 * plan-diff on real synth outputs of our dev and ha stacks, before and after
 * concrete changes: what is reported as created, changed, replaced, and what
 * that does to the ZooKeeper quorum.
 */
import { diffHunks, unifiedDiff } from "../scripts/lib/text-diff";
import { diffSynthOutputs, PlanDiff, ResourceChange, StackDiff } from "../scripts/lib/plan-diff";
import { renderReport } from "../scripts/lib/plan-diff-report";
import { decodeBase64UserData, readSynthOutput, TfJson } from "../scripts/lib/synth-output";
import { Cloud, synthApp } from "./helpers/synth";


const synthesized = new Map<string, Map<string, TfJson>>();
/**
 * `npx cdktf synth` in-process: the app of main.ts with this environment, written to a folder and read
 * back. Several tests diff the same environment: it is synthesized once in the run (synthApp: tests read
 * a synth output and never change it; a test that edits one clones it first). `fresh` synthesizes anew.
 */
function synthOutput(env: Record<string, string>, fresh = false): Map<string, TfJson> {
  const key = JSON.stringify(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1)));
  const known = synthesized.get(key);
  if (known && !fresh) return known;
  const output = readSynthOutput(synthApp(env, { fresh }));
  if (!known) synthesized.set(key, output);
  return output;
}

const base = (cloud: Cloud): Map<string, TfJson> => synthOutput({ CLUSTER_CLOUD: cloud });

function diffOf(cloud: Cloud, change: Record<string, string>): PlanDiff {
  return diffSynthOutputs(base(cloud), synthOutput({ CLUSTER_CLOUD: cloud, ...change }));
}

function stackOf(diff: PlanDiff, name: string): StackDiff {
  const stack = diff.stacks.find((s) => s.stack === name);
  if (!stack) throw new Error(`no changes reported for stack ${name} (have ${diff.stacks.map((s) => s.stack).join(", ")})`);
  return stack;
}

/** `action type construct-path-tail`, readable in a failing assertion. */
function rows(stack: StackDiff, action?: ResourceChange["action"]): string[] {
  return stack.resources.filter((r) => !action || r.action === action).map((r) => `${r.action} ${r.type} ${r.constructPath.split("/").slice(1).join("/")}`);
}

function attrs(r: ResourceChange): string[] {
  return r.attributes.map((a) => `${a.path}: ${JSON.stringify(a.before)} -> ${JSON.stringify(a.after)} (${a.effect})`);
}

describe("the four changes of the issue", () => {
  test.each(["azure", "aws"] as Cloud[])("ha agent count 3 -> 5 on %s: the pool scales in place, nothing else", (cloud) => {
    const diff = diffOf(cloud, { CLUSTER_HA_AGENT_COUNT: "5" });
    expect(diff.exitCode).toBe(2);
    expect(diff.stacks.map((s) => s.stack)).toEqual(["ha"]);
    const ha = stackOf(diff, "ha");
    expect(ha.resources).toHaveLength(1);
    expect(ha.resources[0].action).toBe("update");
    expect(attrs(ha.resources[0])).toEqual(
      cloud === "azure"
        ? ["instances: 3 -> 5 (update)"]
        : ["desired_capacity: 3 -> 5 (update)", "max_size: 3 -> 5 (update)", "min_size: 3 -> 5 (update)"],
    );
    expect(ha.userData).toEqual([]);
    expect(ha.statefulReplacements).toEqual([]);
    expect(ha.quorum).toBeUndefined();
  });

  test.each(["azure", "aws"] as Cloud[])("an agent image change on %s rolls through the pool in batches, and the report says so", (cloud) => {
    const diff = diffOf(cloud, { CLUSTER_HA_IMAGE_MESOS_AGENT: "mesosphere/mesos-slave:1.7.0" });
    expect(diff.exitCode).toBe(2);
    const ha = stackOf(diff, "ha");
    const pool = ha.resources.find((r) => r.type === (cloud === "azure" ? "azurerm_linux_virtual_machine_scale_set" : "aws_launch_template"))!;
    const userData = pool.attributes.find((a) => a.path === (cloud === "azure" ? "custom_data" : "user_data"))!;
    expect(userData.effect).toBe("update");
    expect(userData.note).toMatch(cloud === "azure" ? /^ROLLING: .*at most 34% a batch.*\/health/ : /^ROLLING: .*instance refresh.*keeping 66% in service/);
    expect(renderReport(diff, { format: "text", baseLabel: "main", headLabel: "head" })).toContain("ROLLING: ");
    expect(ha.statefulReplacements).toEqual([]);
  });

  test.each(["azure", "aws"] as Cloud[])("Marathon image tag on %s: every master is replaced, data disks stay, quorum lost", (cloud) => {
    const diff = diffOf(cloud, { CLUSTER_IMAGE_MARATHON: "mesosphere/marathon:v1.8.243" });
    expect(diff.exitCode).toBe(3);
    const ha = stackOf(diff, "ha");
    const machine = cloud === "azure" ? "azurerm_linux_virtual_machine" : "aws_instance";
    const attachment = cloud === "azure" ? "azurerm_virtual_machine_data_disk_attachment" : "aws_volume_attachment";
    const vm = cloud === "azure" ? "vm" : "instance";
    const att = cloud === "azure" ? "data-disk-attachment" : "data-volume-attachment";
    // Nothing else: without adminCidrs the masters of neither cloud have public IPs, and the Swarm server
    // certificate names only their fixed private IPs, so new machines keep the certificate and its secret.
    expect(rows(ha)).toEqual([
      ...[1, 2, 3].map((i) => `replace ${machine} masters/machines-mesos-ha-masters-${i}/${vm}`),
      ...[1, 2, 3].map((i) => `replace ${attachment} masters/machines-mesos-ha-masters-${i}/${att}`),
    ]);
    // Replaced because of the user data; the attachments because they name the replaced machine's id.
    const userDataAttr = cloud === "azure" ? "custom_data" : "user_data_base64";
    for (const r of ha.resources.filter((x) => x.type === machine)) expect(r.replaceReasons).toEqual([userDataAttr]);
    for (const r of ha.resources.filter((x) => x.type === attachment)) expect(r.replaceReasons[0]).toMatch(new RegExp(`^(virtual_machine_id|instance_id) names ${machine}\\.`));
    expect(ha.statefulReplacements.map((r) => `${r.stateful} ${r.machine}`)).toEqual(["master mesos-ha-masters-1", "master mesos-ha-masters-2", "master mesos-ha-masters-3"]);
    // Only the masters' documents changed, exactly in the Marathon unit.
    expect(ha.userData.map((u) => `${u.name} ${u.action}`)).toEqual(["mesos-ha-masters-1 changed", "mesos-ha-masters-2 changed", "mesos-ha-masters-3 changed"]);
    const changedLines = ha.userData[0].diff!.split("\n").filter((l) => /^[-+](?![-+]{2} )/.test(l));
    expect(changedLines).toHaveLength(2);
    expect(changedLines.filter((l) => l.startsWith("-")).every((l) => l.includes("mesosphere/marathon:v1.8.244"))).toBe(true);
    expect(changedLines.filter((l) => l.startsWith("+")).every((l) => l.includes("mesosphere/marathon:v1.8.243"))).toBe(true);
    expect(ha.quorum).toEqual({ ensembleSize: 3, quorum: 2, tolerated: 1, replaced: ["mesos-ha-masters-1", "mesos-ha-masters-2", "mesos-ha-masters-3"], destroyed: [], added: [], losesQuorum: true });
    const dev = stackOf(diff, "dev");
    expect(dev.quorum).toMatchObject({ ensembleSize: 1, replaced: ["mesos-dev-masters-1"], losesQuorum: true });

    const text = renderReport(diff, { format: "text", baseLabel: "main", headLabel: "head" });
    expect(text).toContain("QUORUM LOST: 3 of 3 ZooKeeper members are replaced at once, but an ensemble of 3 tolerates only 1 down (quorum 2).");
    expect(text).toContain("ZOOKEEPER DOWN: the only member is replaced");
    expect(text).toContain("The masters' data disks are kept");
    expect(text).toMatch(/\n\+ {6}ExecStart=\/usr\/bin\/docker run .* mesosphere\/marathon:v1\.8\.243 /);
  });

  test.each(["azure", "aws"] as Cloud[])("master count 3 -> 5 on %s: 2 new masters, the 3 existing ones REPLACED, quorum lost", (cloud) => {
    const diff = diffOf(cloud, { CLUSTER_HA_MASTER_COUNT: "5" });
    expect(diff.exitCode).toBe(3);
    expect(diff.stacks.map((s) => s.stack)).toEqual(["ha"]);
    const ha = stackOf(diff, "ha");
    const created = cloud === "azure"
      ? ["azurerm_linux_virtual_machine", "azurerm_managed_disk", "azurerm_network_interface", "azurerm_virtual_machine_data_disk_attachment"]
      : ["aws_ebs_volume", "aws_instance", "aws_volume_attachment"];
    expect(rows(ha, "create")).toEqual(
      created.flatMap((type) => [4, 5].map((i) => `create ${type} ${ha.resources.find((r) => r.type === type && r.constructPath.includes(`masters-${i}/`))!.constructPath.split("/").slice(1).join("/")}`)),
    );
    // The Swarm server certificate names every master's IP: a new request and certificate, stored anew.
    expect(ha.resources.filter((r) => r.action === "replace").map((r) => r.type)).toEqual(
      cloud === "azure"
        ? [...Array(3).fill("azurerm_linux_virtual_machine"), ...Array(3).fill("azurerm_virtual_machine_data_disk_attachment"), "tls_cert_request", "tls_locally_signed_cert"]
        : [...Array(3).fill("aws_instance"), ...Array(3).fill("aws_volume_attachment"), "tls_cert_request", "tls_locally_signed_cert"],
    );
    // The agents learn the new masters: their pool's user data changes, in place.
    // On Azure, rules name the masters by their IPs: every rule that names them gains the new ones, in place.
    // On AWS the group follows the template's new version (launch_template.version = latest_version): an instance refresh.
    const updated = ha.resources.filter((r) => r.action === "update" && r.type !== "azurerm_network_security_rule");
    const pool = cloud === "azure" ? "azurerm_linux_virtual_machine_scale_set" : "aws_launch_template";
    expect(updated.map((r) => r.type)).toEqual(cloud === "azure" ? ["azurerm_key_vault_secret", pool] : ["aws_autoscaling_group", pool, "aws_ssm_parameter"]);
    if (cloud === "aws") {
      const group = updated.find((r) => r.type === "aws_autoscaling_group")!;
      expect(group.attributes.map((a) => `${a.path} <- ${a.recomputedFrom?.split(".")[0]} (${a.recomputedHow})`)).toEqual(["launch_template.version <- aws_launch_template (gets a new latest_version)"]);
      expect(group.attributes[0].note).toMatch(/^ROLLING: the group starts an instance refresh that replaces the agents, keeping 66% in service \(1 of 3 at a time\) and 600 s of warm-up each/);
    }
    const ruleUpdates = ha.resources.filter((r) => r.type === "azurerm_network_security_rule");
    if (cloud === "azure") {
      expect(ruleUpdates.length).toBeGreaterThan(0);
      for (const r of ruleUpdates) {
        expect(r.action).toBe("update");
        expect(attrs(r).every((a) => /^(source|destination)_address_prefixes: .*10\.20\.0\.14.* \(update\)$/.test(a))).toBe(true);
      }
    } else {
      expect(ruleUpdates).toEqual([]);
    }
    const poolChange = updated.find((r) => r.type === pool)!;
    expect(poolChange.attributes.map((a) => [a.path, a.userData])).toEqual([[cloud === "azure" ? "custom_data" : "user_data", true]]);
    expect(updated.find((r) => /secret|parameter/.test(r.type))!.attributes.map((a) => `${a.path} <- ${a.recomputedFrom?.split("_")[0]}`)).toEqual(["value <- tls"]);

    expect(ha.statefulReplacements.map((r) => `${r.action} ${r.stateful} ${r.machine}`)).toEqual([1, 2, 3].map((i) => `replace master mesos-ha-masters-${i}`));
    expect(ha.quorum).toEqual({
      ensembleSize: 5,
      quorum: 3,
      tolerated: 2,
      replaced: ["mesos-ha-masters-1", "mesos-ha-masters-2", "mesos-ha-masters-3"],
      destroyed: [],
      added: ["mesos-ha-masters-4", "mesos-ha-masters-5"],
      losesQuorum: true,
    });
    expect(ha.userData.map((u) => `${u.name} ${u.action}`)).toEqual([
      "mesos-ha-agents changed",
      "mesos-ha-masters-1 changed",
      "mesos-ha-masters-2 changed",
      "mesos-ha-masters-3 changed",
      "mesos-ha-masters-4 added",
      "mesos-ha-masters-5 added",
    ]);
    const master1 = ha.userData.find((u) => u.name === "mesos-ha-masters-1")!.diff!.split("\n");
    // Azure masters share one regional subnet; AWS masters get one subnet per zone.
    const [ip4, ip5] = cloud === "azure" ? ["10.20.0.13", "10.20.0.14"] : ["10.20.0.11", "10.20.1.11"];
    expect(master1.filter((l) => /^[-+]\s+server\./.test(l))).toEqual([`+      server.4=${ip4}:2888:3888;2181`, `+      server.5=${ip5}:2888:3888;2181`]);
    // The master's flags are arguments of its ExecStart line (see runtime-fidelity.test.ts).
    const quorumLines = master1.filter((l) => /^[-+]\s+ExecStart=.*mesos-master/.test(l));
    expect(quorumLines.map((l) => `${l[0]} ${/--quorum=\d/.exec(l)![0]}`)).toEqual(["- --quorum=2", "+ --quorum=3"]);
    // Without adminCidrs the masters of neither cloud have public IPs (no master_public_ips output);
    // on AWS they are reached through Session Manager, one command per master. Mesos-DNS runs on every
    // master (ha's discovery "dns"), so the discovery output lists the two new servers.
    expect(ha.outputs.map((o) => o.name)).toEqual(
      ["discovery", "marathon_urls", "master_private_ips", ...(cloud === "aws" ? ["master_session_commands"] : []), "mesos_urls", "mesos_zk_url", "zookeeper_connect_string"],
    );

    const md = renderReport(diff, { format: "markdown", baseLabel: "main", headLabel: "head" });
    expect(md).toContain("> [!CAUTION]");
    expect(md).toContain("**QUORUM LOST: 3 of 5 ZooKeeper members are replaced at once, but an ensemble of 5 tolerates only 2 down (quorum 3).");
    // One targeted apply per existing master: its machine and its attachment.
    const targeted = md.split("\n").filter((l) => l.startsWith("> terraform -chdir=cdktf.out/stacks/ha apply"));
    expect(targeted).toHaveLength(3);
    for (const [i, line] of targeted.entries()) expect(line.match(/-target='[^']*masters-(\d)[^']*'/g)!.map((t) => /masters-(\d)/.exec(t)![1])).toEqual([String(i + 1), String(i + 1)]);
    // npm run rollout comes first; the targeted applies are the way by hand.
    expect(md).toContain("> npm run rollout -- ha --base-ref <deployed ref>");
    expect(md.indexOf("> npm run rollout -- ha")).toBeLessThan(md.indexOf("> terraform -chdir=cdktf.out/stacks/ha init"));
  });

  // Admin networks give the masters public IPs on both clouds. Azure attaches them to the NICs in place;
  // on AWS associate_public_ip_address is ForceNew (terraform-provider-aws internal/service/ec2/ec2_instance.go):
  // every master is replaced, and its subnet moves from the NAT gateway's route table to the internet gateway's.
  test.each([
    ["azure", "no machine replaced (public IPs attach to the NICs in place)"],
    ["aws", "every master REPLACED for its public IP (ForceNew), its subnet routed to the internet gateway, quorum lost"],
  ] as [Cloud, string][])("admin CIDRs on %s: four rules per stack added, %s", (cloud) => {
    // dev has no auth: opening its Mesos, Marathon and Swarm APIs to admin networks takes `insecure` (synth warnings only).
    const insecure = { CLUSTER_INSECURE: "on" };
    const diff = diffOf(cloud, { CLUSTER_ADMIN_CIDRS: "203.0.113.0/24", ...insecure });
    expect(diff.exitCode).toBe(cloud === "azure" ? 2 : 3);
    const type = cloud === "azure" ? "azurerm_network_security_rule" : "aws_vpc_security_group_ingress_rule";
    for (const name of ["dev", "ha"]) {
      const stack = stackOf(diff, name);
      const machines = name === "dev" ? [1] : [1, 2, 3];
      const master = (i: number) => `masters/machines-mesos-${name}-masters-${i}`;
      // The masters get their public IPs now. Azure: new IP resources, NICs updated in place.
      // AWS: new instances (the data volumes stay, re-attached), each master subnet's association updated in place.
      const publicIps =
        cloud === "azure"
          ? machines.flatMap((i) => [`update azurerm_network_interface ${master(i)}/nic`, `create azurerm_public_ip ${master(i)}/public-ip`])
          : machines.flatMap((i) => [
              `replace aws_instance ${master(i)}/instance`,
              `replace aws_volume_attachment ${master(i)}/data-volume-attachment`,
              `update aws_route_table_association aws/public-routes-${i}`,
            ]);
      // ... and in ha, whose Swarm API has TLS, the server certificate names the new public IPs: reissued and stored anew.
      const certificate =
        name === "ha"
          ? [
              "replace tls_cert_request swarm/tls/server-request",
              "replace tls_locally_signed_cert swarm/tls/server-cert",
              `update ${cloud === "azure" ? "azurerm_key_vault_secret" : "aws_ssm_parameter"} swarm/tls-cert-secret`,
            ]
          : [];
      // With admin networks the readiness gate turns on (auto): cdktf deploy now waits for a working cluster.
      const gate = ["create null_resource readiness/gate"];
      expect(rows(stack).sort()).toEqual([...["marathon", "mesos", "ssh", "swarm"].map((s) => `create ${type} masters/admin-${s}`), ...publicIps, ...certificate, ...gate].sort());
      expect(stack.userData).toEqual([]);
      if (cloud === "azure") {
        expect(stack.statefulReplacements).toEqual([]);
        expect(stack.quorum).toBeUndefined();
        continue;
      }
      for (const r of stack.resources.filter((x) => x.type === "aws_instance")) {
        expect(r.replaceReasons).toEqual(["associate_public_ip_address"]);
        expect(attrs(r)).toEqual(["associate_public_ip_address: false -> true (replace)"]);
      }
      for (const r of stack.resources.filter((x) => x.type === "aws_route_table_association")) {
        expect(attrs(r)).toEqual([expect.stringMatching(/^route_table_id: "\$\{aws_route_table\.aws_private-routes_\w+\.id\}" -> "\$\{aws_route_table\.aws_public-routes_\w+\.id\}" \(update\)$/)]);
      }
      expect(stack.statefulReplacements.map((r) => `${r.action} ${r.machine}: ${r.reasonChains.join("; ")}`)).toEqual(
        machines.map((i) => `replace mesos-${name}-masters-${i}: mesos-${name}-masters-${i} associate_public_ip_address changed (ForceNew)`),
      );
      expect(stack.quorum).toEqual({
        ensembleSize: machines.length,
        quorum: machines.length === 1 ? 1 : 2,
        tolerated: machines.length === 1 ? 0 : 1,
        replaced: machines.map((i) => `mesos-${name}-masters-${i}`),
        destroyed: [],
        added: [],
        losesQuorum: true,
      });
      expect(stack.outputs).toEqual([{ name: "master_public_ips", action: "create" }]);
    }
    if (cloud === "aws") {
      // The new certificate names the new instances' public IPs besides the fixed private ones.
      const request = stackOf(diff, "ha").resources.find((r) => r.type === "tls_cert_request")!;
      expect(request.replaceReasons).toEqual(["ip_addresses"]);
      const ips = request.attributes.find((a) => a.path === "ip_addresses")!;
      expect(ips.before).toEqual(["127.0.0.1", "10.20.0.10", "10.20.1.10", "10.20.2.10"]);
      expect(ips.after).toEqual([
        "127.0.0.1",
        "10.20.0.10",
        "10.20.1.10",
        "10.20.2.10",
        ...[1, 2, 3].map((i) => expect.stringMatching(new RegExp(`^\\$\\{aws_instance\\.masters_machines-mesos-ha-masters-${i}_instance_\\w+\\.public_ip\\}$`))),
      ]);
      const text = renderReport(diff, { format: "text", baseLabel: "a", headLabel: "b" });
      expect(text).toContain("QUORUM LOST: 3 of 3 ZooKeeper members are replaced at once, but an ensemble of 3 tolerates only 1 down (quorum 2).");
      expect(text).toContain("ZOOKEEPER DOWN: the only member is replaced");
    }
    // Moving to another network changes those rules in place.
    const moved = diffSynthOutputs(
      synthOutput({ CLUSTER_CLOUD: cloud, CLUSTER_ADMIN_CIDRS: "203.0.113.0/24", ...insecure }),
      synthOutput({ CLUSTER_CLOUD: cloud, CLUSTER_ADMIN_CIDRS: "198.51.100.0/24", ...insecure }),
    );
    expect(moved.exitCode).toBe(2);
    const ha = stackOf(moved, "ha");
    expect(ha.resources.map((r) => `${r.action} ${attrs(r).join("; ")}`)).toEqual(
      Array(4).fill(cloud === "azure" ? 'update source_address_prefixes: ["203.0.113.0/24"] -> ["198.51.100.0/24"] (update)' : 'update cidr_ipv4: "203.0.113.0/24" -> "198.51.100.0/24" (update)'),
    );
  });
});

describe("replacement rules on other changes", () => {
  test("no change: exit 0 and a one-line report", () => {
    // Two separate synths of one configuration: what plan-diff sees when nothing changed.
    const diff = diffSynthOutputs(base("azure"), synthOutput({ CLUSTER_CLOUD: "azure" }, true));
    expect(diff).toEqual({ stacks: [], exitCode: 0 });
    expect(renderReport(diff, { format: "text", baseLabel: "a", headLabel: "b" })).toContain("No changes");
  });

  test("scaling the masters down destroys members and their data disks: loud, exit 3", () => {
    const diff = diffSynthOutputs(synthOutput({ CLUSTER_CLOUD: "aws", CLUSTER_HA_MASTER_COUNT: "5" }), base("aws"));
    expect(diff.exitCode).toBe(3);
    const ha = stackOf(diff, "ha");
    expect(ha.statefulReplacements.map((r) => `${r.action} ${r.stateful} ${r.machine}`)).toEqual([
      "destroy data-disk mesos-ha-masters-4",
      "destroy data-disk mesos-ha-masters-5",
      "replace master mesos-ha-masters-1",
      "replace master mesos-ha-masters-2",
      "replace master mesos-ha-masters-3",
      "destroy master mesos-ha-masters-4",
      "destroy master mesos-ha-masters-5",
    ]);
    expect(ha.quorum).toMatchObject({ ensembleSize: 3, replaced: ["mesos-ha-masters-1", "mesos-ha-masters-2", "mesos-ha-masters-3"], destroyed: ["mesos-ha-masters-4", "mesos-ha-masters-5"], losesQuorum: true });
    expect(renderReport(diff, { format: "text", baseLabel: "a", headLabel: "b" })).toContain("THEIR DATA (ZooKeeper snapshots and logs, the Mesos replicated log) IS LOST");
  });

  test("a smaller data disk is refused on both clouds (the apply fails, nothing is replaced); a larger one grows in place", () => {
    // azurerm 4.55.0 managed_disk_resource.go: "Shrinking disks is not supported on Azure"; EC2 ModifyVolume refuses a smaller size.
    const shrink = diffOf("azure", { CLUSTER_MASTER_DATA_DISK_GB: "16" });
    expect(shrink.exitCode).toBe(2);
    const ha = stackOf(shrink, "ha");
    expect(ha.statefulReplacements).toEqual([]);
    expect(ha.failures.map((r) => `${r.action} ${r.stateful} ${r.machine} ${attrs(r).join("")}`)).toEqual(
      [1, 2, 3].map((i) => `update data-disk mesos-ha-masters-${i} disk_size_gb: 32 -> 16 (fail)`),
    );
    expect(ha.resources.map((r) => r.type)).toEqual(Array(3).fill("azurerm_managed_disk"));
    const report = renderReport(shrink, { format: "text", baseLabel: "a", headLabel: "b" });
    expect(report).toContain("The apply FAILS at 3 resources");
    expect(report).toContain("Azure refuses to shrink a disk");
    expect(report).not.toContain("IS LOST");

    const grow = diffOf("azure", { CLUSTER_MASTER_DATA_DISK_GB: "64" });
    expect(grow.exitCode).toBe(2);
    expect(rows(stackOf(grow, "ha"))).toEqual([1, 2, 3].map((i) => `update azurerm_managed_disk masters/machines-mesos-ha-masters-${i}/data-disk`));

    const ebs = diffOf("aws", { CLUSTER_MASTER_DATA_DISK_GB: "16" });
    expect(ebs.exitCode).toBe(2);
    expect(stackOf(ebs, "ha").resources.map((r) => `${r.action} ${r.type} ${attrs(r).join("")}`)).toEqual(Array(3).fill("update aws_ebs_volume size: 32 -> 16 (fail)"));
    expect(stackOf(ebs, "ha").failures).toHaveLength(3);
    expect(renderReport(ebs, { format: "text", baseLabel: "a", headLabel: "b" })).toContain("EC2 refuses to shrink a volume");
  });

  test("a VM size change updates every master in place, but stops and starts them all at once: flagged like a quorum loss", () => {
    for (const cloud of ["azure", "aws"] as Cloud[]) {
      const diff = diffOf(cloud, { CLUSTER_MASTER_VM_SIZE: cloud === "azure" ? "Standard_D4s_v5" : "m6i.large" });
      expect(diff.exitCode).toBe(3);
      const ha = stackOf(diff, "ha");
      expect(ha.resources.map((r) => `${r.action} ${r.attributes.map((a) => a.path).join(",")}`)).toEqual(Array(3).fill(`update ${cloud === "azure" ? "size" : "instance_type"}`));
      expect(ha.statefulReplacements).toEqual([]);
      expect(ha.restarts.map((r) => r.machine)).toEqual([1, 2, 3].map((i) => `mesos-ha-masters-${i}`));
      expect(ha.quorum).toMatchObject({ replaced: [], restarted: [1, 2, 3].map((i) => `mesos-ha-masters-${i}`), losesQuorum: true });
      const text = renderReport(diff, { format: "text", baseLabel: "a", headLabel: "b" });
      expect(text).toContain("QUORUM LOST: 3 of 3 ZooKeeper members are stopped and started again at once");
      expect(text).toContain("ZOOKEEPER DOWN: the only member is stopped and started again");
      // One master at a time: a targeted apply per machine.
      expect(text.split("\n").filter((l) => /terraform -chdir=cdktf.out\/stacks\/ha apply -target='[^']*masters-\d[^']*'$/.test(l.trim()))).toHaveLength(3);
    }
  });

  test("lifecycle.ignore_changes hides a change; without it the same change replaces", () => {
    const before = base("aws").get("dev")!;
    const withAmi = (ami: string, ignore: boolean): Map<string, TfJson> => {
      const json = JSON.parse(JSON.stringify(before)) as TfJson;
      for (const instance of Object.values(json.resource.aws_instance)) {
        instance.ami = ami;
        instance.lifecycle = ignore ? { ignore_changes: ["ami"] } : undefined;
      }
      return new Map([["dev", json]]);
    };
    expect(diffSynthOutputs(withAmi("ami-0123456789abcdef0", true), withAmi("ami-0fedcba9876543210", true)).exitCode).toBe(0);
    const pinned = diffSynthOutputs(withAmi("ami-0123456789abcdef0", false), withAmi("ami-0fedcba9876543210", false));
    expect(pinned.exitCode).toBe(3);
    expect(stackOf(pinned, "dev").statefulReplacements[0].replaceReasons).toEqual(["ami"]);
  });

  test("user_data without user_data_replace_on_change is an update (stop/start), with it a replacement", () => {
    const before = base("aws").get("dev")!;
    const variant = (userData: string, replaceOnChange: boolean) => {
      const json = JSON.parse(JSON.stringify(before)) as TfJson;
      for (const instance of Object.values(json.resource.aws_instance)) {
        instance.user_data = `${String(instance.user_data ?? decodeBase64UserData(String(instance.user_data_base64)).text)}# ${userData}\n`;
        delete instance.user_data_base64;

        instance.user_data_replace_on_change = replaceOnChange;
      }
      return new Map([["dev", json]]);
    };
    // Stopped and started by the provider: the only member of dev's ensemble is down meanwhile.
    const restarted = diffSynthOutputs(variant("a", false), variant("b", false));
    expect(restarted.exitCode).toBe(3);
    expect(stackOf(restarted, "dev").statefulReplacements).toEqual([]);
    expect(stackOf(restarted, "dev").quorum).toMatchObject({ replaced: [], restarted: ["mesos-dev-masters-1"], losesQuorum: true });
    const replaced = diffSynthOutputs(variant("a", true), variant("b", true));
    expect(replaced.exitCode).toBe(3);
    expect(stackOf(replaced, "dev").statefulReplacements.map((r) => r.action)).toEqual(["replace"]);
  });

  test("an attribute the table does not know counts as a possible replacement on a master", () => {
    const before = base("azure").get("dev")!;
    const after = JSON.parse(JSON.stringify(before)) as TfJson;
    for (const vm of Object.values(after.resource.azurerm_linux_virtual_machine)) vm.patch_mode = "AutomaticByPlatform";
    const diff = diffSynthOutputs(new Map([["dev", before]]), new Map([["dev", after]]));
    expect(diff.exitCode).toBe(3);
    // The data disk attachment names the VM's id: it may be replaced too ("may be replaced" travels like a replacement).
    expect(stackOf(diff, "dev").resources.map((r) => `${r.action} ${r.type}`)).toEqual(["unassessed azurerm_linux_virtual_machine", "unassessed azurerm_virtual_machine_data_disk_attachment"]);
    expect(stackOf(diff, "dev").statefulReplacements[0].reasonChains).toEqual(["mesos-dev-masters-1 patch_mode changed (not in the replacement table: may be replaced)"]);
    expect(renderReport(diff, { format: "text", baseLabel: "a", headLabel: "b" })).toContain("POSSIBLY REPLACED");
  });

  test("a backend change is reported; local state paths of two checkouts are not", () => {
    const local = synthOutput({ CLUSTER_CLOUD: "aws" });
    const s3 = synthOutput({ CLUSTER_CLOUD: "aws", CLUSTER_BACKEND: "s3", CLUSTER_BACKEND_BUCKET: "acme-state", CLUSTER_BACKEND_REGION: "eu-west-1" });
    const elsewhere = JSON.parse(JSON.stringify(local.get("dev"))) as TfJson;
    elsewhere.terraform = { ...elsewhere.terraform, backend: { local: { path: "/tmp/other-checkout/terraform.dev.tfstate" } } };
    expect(diffSynthOutputs(local, new Map([...local, ["dev", elsewhere]])).exitCode).toBe(0);
    const diff = diffSynthOutputs(local, s3);
    expect(diff.exitCode).toBe(2);
    expect(stackOf(diff, "ha").settings).toEqual([
      'backend changed: local (terraform.ha.tfstate) -> s3 {"bucket":"acme-state","encrypt":true,"key":"mesos-cluster/aws/mesos-ha.tfstate","region":"eu-west-1","use_lockfile":true} (run `terraform init -migrate-state` / `cdktf deploy --migrate-state` once)',
    ]);
  });
});

/** A deep copy of one stack's JSON, to change by hand. */
function clone(json: TfJson): TfJson {
  return JSON.parse(JSON.stringify(json)) as TfJson;
}

describe("fail safe (issue 11): what plan-diff cannot judge counts as a replacement, and replacements are followed into the masters", () => {
  const masters = [1, 2, 3];

  test("narrowing the AWS master subnets replaces the subnets, and with them every master: exit 3 with the reason chain", () => {
    const diff = diffOf("aws", { CLUSTER_MASTER_SUBNET_CIDRS: "10.20.0.0/25,10.20.1.0/25,10.20.2.0/25" });
    expect(diff.exitCode).toBe(3);
    const ha = stackOf(diff, "ha");
    // The masters' documents do not change (their IPs stay inside the /25s): only the subnet replacement reaches them.
    expect(ha.userData).toEqual([]);
    expect(ha.statefulReplacements.map((r) => `${r.action} ${r.machine}: ${r.reasonChains.join("; ")}`)).toEqual(
      masters.map((i) => `replace mesos-ha-masters-${i}: aws/subnet-masters-${i} cidr_block changed (ForceNew) -> mesos-ha-masters-${i} subnet_id`),
    );
    expect(ha.quorum).toMatchObject({ replaced: masters.map((i) => `mesos-ha-masters-${i}`), losesQuorum: true });
    const text = renderReport(diff, { format: "text", baseLabel: "a", headLabel: "b" });
    expect(text).toContain("Masters or their data disks are REPLACED or destroyed (exit code 3).");
    expect(text).toContain("mesos-ha-masters-1: REPLACED (aws_instance.masters_machines-mesos-ha-masters-1_instance_E8D24212) because aws/subnet-masters-1 cidr_block changed (ForceNew) -> mesos-ha-masters-1 subnet_id");
    // The subnet row's note says what it does.
    expect(text).toContain("cidr_block: 10.20.0.0/24 -> 10.20.0.0/25 [forces replacement] [ForceNew: a new subnet; every instance in it is recreated]");
    // The data volumes stay: the attachments are replaced because the instances are.
    expect(ha.resources.filter((r) => r.type === "aws_volume_attachment").map((r) => r.action)).toEqual(["replace", "replace", "replace"]);
    expect(ha.resources.some((r) => r.type === "aws_ebs_volume")).toBe(false);
  });

  test("a new AWS VPC block with the same subnets replaces the VPC, the subnets and the masters: the chain starts at the VPC", () => {
    const diff = diffOf("aws", {
      CLUSTER_ADDRESS_SPACE: "10.20.0.0/15",
      CLUSTER_MASTER_SUBNET_CIDRS: "10.20.0.0/24,10.20.1.0/24,10.20.2.0/24",
      CLUSTER_AGENT_SUBNET_CIDRS: "10.20.16.0/20,10.20.32.0/20,10.20.48.0/20",
    });
    expect(diff.exitCode).toBe(3);
    const ha = stackOf(diff, "ha");
    expect(ha.resources.find((r) => r.type === "aws_vpc")).toMatchObject({ action: "replace", replaceReasons: ["cidr_block"] });
    // The subnets the plan keeps are replaced with the VPC; the NAT gateway's /28 sits at the end of the address space, so it moves too.
    const subnets = ha.resources.filter((r) => r.type === "aws_subnet");
    expect(subnets.map((r) => `${r.action} ${r.constructPath.split("/").slice(1).join("/")}: ${r.replaceReasons[0]}`)).toEqual([
      ...["agents-1", "agents-2", "agents-3", "masters-1", "masters-2", "masters-3"].map((s) => expect.stringMatching(new RegExp(`^replace aws/subnet-${s}: vpc_id names aws_vpc\\.`))),
      "replace aws/subnet-public-1: cidr_block",
    ]);
    expect(attrs(subnets.find((r) => r.constructPath.endsWith("/subnet-public-1"))!)).toEqual(['cidr_block: "10.20.255.240/28" -> "10.21.255.240/28" (replace)']);
    expect(ha.statefulReplacements.map((r) => `${r.action} ${r.machine}: ${r.reasonChains.join("; ")}`)).toEqual(
      masters.map((i) => `replace mesos-ha-masters-${i}: aws/vpc cidr_block changed (ForceNew) -> aws/subnet-masters-${i} vpc_id -> mesos-ha-masters-${i} subnet_id`),
    );
    expect(stackOf(diff, "dev").statefulReplacements[0].reasonChains).toEqual(["aws/vpc cidr_block changed (ForceNew) -> aws/subnet-masters-1 vpc_id -> mesos-dev-masters-1 subnet_id"]);
  });

  test("an Azure address space that moves the masters replaces them (new IPs in their documents); subnets and VNet are updated in place, with what Azure refuses", () => {
    const diff = diffOf("azure", { CLUSTER_ADDRESS_SPACE: "10.30.0.0/16" });
    expect(diff.exitCode).toBe(3);
    const ha = stackOf(diff, "ha");
    expect(ha.statefulReplacements.map((r) => `${r.action} ${r.machine}: ${r.reasonChains.join("; ")}`)).toEqual(
      masters.map((i) => `replace mesos-ha-masters-${i}: mesos-ha-masters-${i} custom_data changed (user data, ForceNew)`),
    );
    const byType = (type: string) => ha.resources.filter((r) => r.type === type);
    expect(byType("azurerm_virtual_network").map((r) => `${r.action} ${attrs(r).join("")}`)).toEqual(['update address_space: ["10.20.0.0/16"] -> ["10.30.0.0/16"] (update)']);
    expect(byType("azurerm_subnet").map((r) => r.action)).toEqual(["update", "update"]);
    expect(byType("azurerm_network_interface").map((r) => attrs(r).join(""))).toEqual(masters.map((i) => `ip_configuration[0].private_ip_address: "10.20.0.${9 + i}" -> "10.30.0.${9 + i}" (update)`));
    expect(byType("azurerm_virtual_machine_data_disk_attachment").map((r) => r.reasonChains[0])).toEqual(
      masters.map((i) => `mesos-ha-masters-${i} custom_data changed (user data, ForceNew) -> masters/machines-mesos-ha-masters-${i}/data-disk-attachment virtual_machine_id`),
    );
    const text = renderReport(diff, { format: "text", baseLabel: "a", headLabel: "b" });
    expect(text).toContain("QUORUM LOST: 3 of 3 ZooKeeper members are replaced at once");
    expect(text).toContain("Azure refuses to remove a range a subnet still uses");
    // A narrower Azure master subnet keeps the masters' addresses: an in-place update, not a replacement (unlike AWS).
    const narrower = diffOf("azure", { CLUSTER_MASTER_SUBNET_CIDRS: "10.20.0.0/25" });
    expect(narrower.exitCode).toBe(2);
    expect(stackOf(narrower, "ha").resources.map((r) => `${r.action} ${r.type} ${attrs(r).join("")}`)).toEqual(['update azurerm_subnet address_prefixes: ["10.20.0.0/24"] -> ["10.20.0.0/25"] (update)']);
  });

  test("a type the table does not know, named by a master's ForceNew attribute (also inside join() or sensitive()), makes the master possibly replaced: exit 3", () => {
    const before = base("aws").get("dev")!;
    const withGroup = (strategy: string, expression: string, attribute = "placement_group"): Map<string, TfJson> => {
      const json = clone(before);
      json.resource.aws_placement_group = { masters: { name: "mesos-dev-masters", strategy } };
      for (const instance of Object.values(json.resource.aws_instance)) instance[attribute] = expression;
      return new Map([["dev", json]]);
    };
    for (const expression of ["${aws_placement_group.masters.id}", '${join("", [aws_placement_group.masters.id])}', "${sensitive(aws_placement_group.masters.arn)}"]) {
      const diff = diffSynthOutputs(withGroup("spread", expression), withGroup("cluster", expression));
      expect(diff.exitCode).toBe(3);
      const dev = stackOf(diff, "dev");
      const group = dev.resources.find((r) => r.type === "aws_placement_group")!;
      expect(group).toMatchObject({ action: "unassessed", attributes: [expect.objectContaining({ path: "strategy", effect: "unassessed", note: "aws_placement_group is not in the replacement table" })] });
      expect(dev.statefulReplacements.map((r) => `${r.action} ${r.machine}: ${r.reasonChains.join("; ")}`)).toEqual([
        "unassessed mesos-dev-masters-1: aws_placement_group.masters strategy changed (aws_placement_group is not in the replacement table: may be replaced) -> mesos-dev-masters-1 placement_group",
      ]);
      const text = renderReport(diff, { format: "text", baseLabel: "a", headLabel: "b" });
      expect(text).toContain("MAY BE REPLACED (plan-diff cannot rule it out: confirm with cdktf diff) (exit code 3).");
      expect(text).toContain("mesos-dev-masters-1: POSSIBLY REPLACED");
      expect(text).toContain("npx cdktf diff dev");
    }
    // A configured attribute (the group's name) keeps its value even through a replacement: nothing follows.
    expect(diffSynthOutputs(withGroup("spread", "${aws_placement_group.masters.name}"), withGroup("cluster", "${aws_placement_group.masters.name}")).exitCode).toBe(2);
    // Named by an attribute the provider updates in place, the same change stays an update.
    const tagged = diffSynthOutputs(withGroup("spread", "${aws_placement_group.masters.id}", "tags"), withGroup("cluster", "${aws_placement_group.masters.id}", "tags"));
    expect(tagged.exitCode).toBe(2);
    expect(stackOf(tagged, "dev").resources.find((r) => r.type === "aws_instance")).toMatchObject({ action: "update", attributes: [expect.objectContaining({ path: "tags", recomputedHow: "may be replaced" })] });
  });

  test("replacements travel through function calls: the readiness gate's join() of machine ids, a Marathon app's sensitive() password", () => {
    // ${join(",", [azurerm_linux_virtual_machine.x.id, ...])} in the gate's triggers: new masters, a new gate run.
    const gate = diffSynthOutputs(synthOutput({ CLUSTER_CLOUD: "azure", CLUSTER_READINESS_GATE: "on" }), synthOutput({ CLUSTER_CLOUD: "azure", CLUSTER_READINESS_GATE: "on", CLUSTER_IMAGE_MARATHON: "mesosphere/marathon:v1.8.243" }));
    const gateChange = stackOf(gate, "ha").resources.find((r) => r.type === "null_resource")!;
    expect(gateChange.action).toBe("replace");
    expect(gateChange.replaceReasons).toEqual(masters.map((i) => expect.stringMatching(new RegExp(`^triggers\\.machines names azurerm_linux_virtual_machine\\.masters_machines-mesos-ha-masters-${i}_vm_\\w+, which is replaced$`))));
    expect(gateChange.attributes[0].note).toMatch(/^RequiresReplace: its provisioners run again/);

    // ${sensitive(random_password.marathon-password.result)} in the app's triggers: a new password deletes and puts the app again.
    const env = { CLUSTER_CLOUD: "aws", CLUSTER_DEV_AUTH: "on", CLUSTER_EXAMPLE_APPS: "web" };
    const before = synthOutput(env).get("dev")!;
    const after = clone(before);
    after.resource.random_password["marathon-password"].length = 40;
    const diff = diffSynthOutputs(new Map([["dev", before]]), new Map([["dev", after]]));
    expect(diff.exitCode).toBe(2);
    const rows = stackOf(diff, "dev").resources.map((r) => `${r.action} ${r.type} ${r.constructPath.split("/").slice(1).join("/")}`);
    expect(rows).toEqual(expect.arrayContaining(["replace random_password marathon-password", "replace null_resource example-web/app", "replace null_resource example-web/deploy", "update aws_ssm_parameter marathon/password"]));
    const app = stackOf(diff, "dev").resources.find((r) => r.constructPath.endsWith("example-web/app"))!;
    expect(app.replaceReasons).toEqual(["triggers.marathon_password names random_password.marathon-password, which is replaced"]);
  });

  test("an AWS attachment replaced on its own stops the master (stop_instance_before_detaching) and leaves it stopped", () => {
    const before = base("aws").get("dev")!;
    const after = clone(before);
    for (const attachment of Object.values(after.resource.aws_volume_attachment)) attachment.device_name = "/dev/sdg";
    const diff = diffSynthOutputs(new Map([["dev", before]]), new Map([["dev", after]]));
    expect(diff.exitCode).toBe(3);
    const dev = stackOf(diff, "dev");
    expect(dev.statefulReplacements).toEqual([]);
    expect(dev.stopped).toEqual([expect.objectContaining({ machine: "mesos-dev-masters-1", certain: true, by: expect.stringMatching(/^aws_volume_attachment\./) })]);
    expect(dev.quorum).toMatchObject({ replaced: [], stopped: ["mesos-dev-masters-1"], losesQuorum: true });
    const text = renderReport(diff, { format: "text", baseLabel: "a", headLabel: "b" });
    expect(text).toContain("mesos-dev-masters-1: STOPPED and left stopped");
    expect(text).toContain("aws ec2 start-instances");
  });

  test("a data source whose arguments change is read again: what names its results may change with them", () => {
    const before = base("aws").get("ha")!;
    const after = clone(before);
    for (const ami of Object.values(after.data!.aws_ami)) ami.owners = ["099720109477", "123456789012"];
    const diff = diffSynthOutputs(new Map([["ha", before]]), new Map([["ha", after]]));
    const ha = stackOf(diff, "ha");
    // The masters ignore ami (lifecycle.ignore_changes); the agents' template follows the image: a rolling refresh.
    expect(ha.resources.map((r) => `${r.action} ${r.type}`)).toEqual(["update aws_autoscaling_group", "update aws_launch_template", "read aws_ami"]);
    expect(diff.exitCode).toBe(2);
    expect(ha.resources.find((r) => r.type === "aws_launch_template")!.attributes[0]).toMatchObject({ path: "image_id", recomputedHow: "is read again", note: expect.stringMatching(/^ROLLING:/) });
  });
});

describe("the report", () => {
  test("markdown stays under the size limit: user data diffs are cut with a note, the warnings stay whole", () => {
    const diff = diffOf("aws", { CLUSTER_HA_MASTER_COUNT: "5" });
    const full = renderReport(diff, { format: "markdown", baseLabel: "main", headLabel: "head" });
    expect(full.length).toBeLessThan(60000);
    expect(full.match(/<details>/g)).toHaveLength(4);
    const cut = renderReport(diff, { format: "markdown", baseLabel: "main", headLabel: "head", maxChars: 9000 });
    expect(cut.length).toBeLessThanOrEqual(9000);
    expect(cut).toContain("**QUORUM LOST: 3 of 5");
    expect(cut).toMatch(/(more lines not shown|more user data diffs? not shown)[^\n]*npm run plan-diff/);
    // Fences stay balanced, so the comment renders.
    expect((cut.match(/^(> )?```/gm) ?? []).length % 2).toBe(0);
  });

  test("a diff that itself holds backticks gets a longer fence", () => {
    const before = base("azure").get("dev")!;
    const after = JSON.parse(JSON.stringify(before)) as TfJson;
    for (const vm of Object.values(after.resource.azurerm_linux_virtual_machine)) {
      const text = Buffer.from(String(vm.custom_data), "base64").toString("utf8");
      vm.custom_data = Buffer.from(`${text}# a comment with \`\`\` in it\n`).toString("base64");
    }
    const md = renderReport(diffSynthOutputs(new Map([["dev", before]]), new Map([["dev", after]])), { format: "markdown", baseLabel: "a", headLabel: "b" });
    expect(md).toContain("````diff\n");
    expect(md).toContain("+# a comment with ``` in it\n");
  });
});

describe("unified diff", () => {
  /** Applies hunks to the old lines: must give the new lines. */
  function apply(oldText: string, newText: string): string {
    const lines = oldText.split("\n");
    let offset = 0;
    for (const h of diffHunks(oldText, newText, 2)) {
      const start = (h.oldLines === 0 ? h.oldStart : h.oldStart - 1) + offset;
      const removed = h.lines.filter((l) => l[0] !== "+").map((l) => l.slice(1));
      expect(lines.slice(start, start + removed.length)).toEqual(removed);
      const added = h.lines.filter((l) => l[0] !== "-").map((l) => l.slice(1));
      lines.splice(start, removed.length, ...added);
      offset += added.length - removed.length;
    }
    return lines.join("\n");
  }

  test("hunks turn the old text into the new one", () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    for (let round = 0; round < 200; round++) {
      const a = Array.from({ length: rand(40) }, () => `line ${rand(8)}`);
      const b = a.filter(() => rand(5) > 0).flatMap((l) => (rand(6) === 0 ? [l, `new ${rand(8)}`] : [l]));
      const oldText = a.join("\n");
      const newText = b.join("\n");
      expect(apply(oldText, newText)).toEqual(newText);
    }
  });

  test("the headers are those of diff -u", () => {
    const a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
    const b = "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\neleven\n";
    expect(unifiedDiff(a, b, "a", "b")).toBe(
      ["--- a", "+++ b", "@@ -1,6 +1,6 @@", " 1", " 2", "-3", "+three", " 4", " 5", " 6", "@@ -8,3 +8,4 @@", " 8", " 9", " 10", "+eleven", ""].join("\n"),
    );
    expect(unifiedDiff("", "x\n", "a", "b")).toBe("--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n");
    expect(unifiedDiff("same\n", "same\n", "a", "b")).toBe("");
  });
});
