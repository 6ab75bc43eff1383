/**
 * Test helpers: synthesize stacks and read what a machine would receive.
 * Everything here works on the synthesized Terraform JSON, never on our
 * construct objects, so the tests see exactly what Terraform would.
 */
import { App, TerraformStack, Testing } from "cdktf";
import { readUserData } from "../../scripts/lib/user-data-model";
import { MesosClusterStack, MesosClusterStackProps } from "../../stacks/mesos-cluster-stack";
import { parseEnvFile } from "../../constructs/core/systemd";

export type { Cloud, TfJson } from "../../scripts/lib/synth-output";
import { Cloud, resolveRef as resolveLibRef, TfJson, userDataNodes } from "../../scripts/lib/synth-output";

/** A fixed public key so synth output does not depend on the test machine's ~/.ssh. */
export const TEST_SSH_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx7nq2W3tB3YpV8m8QvQK2v2Ykq3YwQ5p7l8y0P3Xh1 test@example";

/** Synthesizes one stack (validations on) and returns its JSON. */
export function synthStack(stack: TerraformStack): TfJson {
  return JSON.parse(Testing.synth(stack, true)) as TfJson;
}

/** Synthesizes a MesosClusterStack with the given props (a test SSH key unless given). */
export function synthCluster(props: MesosClusterStackProps, id = props.profile ?? "dev"): { stack: MesosClusterStack; json: TfJson } {
  const app = new App({ outdir: "/tmp/mesos-cluster-test-out" });
  const stack = new MesosClusterStack(app, id, { sshPublicKey: TEST_SSH_KEY, ...props });
  return { stack, json: synthStack(stack) };
}

/** The synth warnings (annotations) of a stack's constructs, as cdktf prints them. */
export function warningsOf(stack: TerraformStack): string[] {
  return stack.node
    .findAll()
    .flatMap((c) => c.node.metadata)
    .filter((m) => m.type === "@cdktf/warn")
    .map((m) => String(m.data));
}

export function resourcesOf(json: TfJson, type: string): Record<string, Record<string, unknown>> {
  return json.resource[type] ?? {};
}

export function resourceCounts(json: TfJson): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [type, resources] of Object.entries(json.resource)) counts[type] = Object.keys(resources).length;
  return counts;
}

/** The resource a plain reference such as `${aws_subnet.x.id}` names; throws for anything else. */
export function resolveRef(json: TfJson, expression: unknown): Record<string, unknown> {
  const resource = resolveLibRef(json, expression);
  if (!resource) throw new Error(`not a reference to a resource of this stack: ${String(expression)}`);
  return resource;
}

export { decodeBase64UserData } from "../../scripts/lib/synth-output";

export interface MachineDoc {
  readonly name: string;
  readonly privateIp: string;
  readonly zone: string;
  readonly text: string;
  readonly resource: Record<string, unknown>;
}

function resourceAt(json: TfJson, address: string): Record<string, unknown> {
  const [type, name] = address.split(".");
  return json.resource[type][name];
}

/** Every fixed machine's decoded user data, in name order. */
export function machineDocs(json: TfJson, cloud: Cloud): MachineDoc[] {
  return userDataNodes(json)
    .filter((n) => n.kind === "fixed")
    .map((n) => {
      expect(n.cloud).toBe(cloud);
      return { name: n.name, privateIp: n.privateIp!, zone: n.zone!, text: n.text, resource: resourceAt(json, n.address) };
    });
}

/** The agent pool's decoded user data. */
export function poolDoc(json: TfJson, cloud: Cloud): string {
  const pools = userDataNodes(json).filter((n) => n.kind === "pool");
  if (pools.length !== 1) throw new Error(`expected one pool, found ${pools.length}`);
  expect(pools[0].cloud).toBe(cloud);
  return pools[0].text;
}

export interface CloudConfigDoc {
  readonly raw: Record<string, unknown>;
  /** write_files by path. */
  readonly files: Map<string, { content: string; permissions: string }>;
  readonly runcmd: unknown[];
  /** Units the document enables (its `systemctl enable` commands). */
  readonly enabledUnits: string[];
}

/** Parses a cloud-config document the way `npm run validate` reads it (scripts/lib/user-data-model.ts). */
export function parseCloudConfig(text: string): CloudConfigDoc {
  if (!text.startsWith("#cloud-config\n")) throw new Error("user data does not begin with #cloud-config");
  const model = readUserData(text);
  return {
    raw: model.raw,
    files: new Map(model.files.map((f) => [f.path, { content: f.content, permissions: f.permissions }])),
    runcmd: (model.raw.runcmd as unknown[]) ?? [],
    enabledUnits: model.enabledUnits,
  };
}

export function fileOf(doc: CloudConfigDoc, path: string): string {
  const f = doc.files.get(path);
  if (!f) throw new Error(`no file ${path} in user data (have: ${[...doc.files.keys()].join(", ")})`);
  return f.content;
}

export function envOf(doc: CloudConfigDoc, service: string): Record<string, string> {
  return parseEnvFile(fileOf(doc, `/etc/mesos-cluster/${service}.env`));
}

/** The `ExecStart=` command line of a unit, split into words. */
export function execStartOf(doc: CloudConfigDoc, service: string): string[] {
  const unit = fileOf(doc, `/etc/systemd/system/${service}.service`);
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="));
  if (!line) throw new Error(`${service}.service has no ExecStart`);
  return line.slice("ExecStart=".length).split(" ");
}

/** The image a unit runs (from its `docker pull` line). */
export function imageOf(doc: CloudConfigDoc, service: string): string {
  const unit = fileOf(doc, `/etc/systemd/system/${service}.service`);
  const m = /^ExecStartPre=-\/usr\/bin\/docker pull (\S+)$/m.exec(unit);
  if (!m) throw new Error(`${service}.service pulls no image`);
  return m[1];
}

/** Units the document enables (from its `systemctl enable` commands). */
export function enabledUnits(doc: CloudConfigDoc): string[] {
  return doc.enabledUnits;
}

/**
 * One ingress rule as "destination <- source : port", groups by short name,
 * CIDRs literally. On Azure, groups of fixed machines are named by their
 * static IPs: an address list equal to a group's machines reads as the group.
 */
export function ruleTable(json: TfJson, cloud: Cloud, clusterName: string): string[] {
  const short = (name: string) => name.replace(`${clusterName}-`, "");
  const rows: string[] = [];
  if (cloud === "azure") {
    const groups = new Map<string, string[]>();
    for (const n of userDataNodes(json).filter((x) => x.kind === "fixed")) {
      const group = short(n.name).replace(/-\d+$/, "");
      groups.set(group, [...(groups.get(group) ?? []), n.privateIp!]);
    }
    const named = (addresses: string[]): string[] => {
      for (const [group, ips] of groups) if ([...ips].sort().join() === [...addresses].sort().join()) return [group];
      return addresses;
    };
    for (const r of Object.values(resourcesOf(json, "azurerm_network_security_rule"))) {
      if (r.access !== "Allow") continue;
      expect(r.direction).toBe("Inbound");
      expect(r.protocol).toBe("Tcp");
      const to = r.destination_address_prefixes
        ? named(r.destination_address_prefixes as string[])
        : (r.destination_application_security_group_ids as string[]).map((id) => short(String(resolveRef(json, id).name)));
      const from = r.source_application_security_group_ids
        ? (r.source_application_security_group_ids as string[]).map((id) => short(String(resolveRef(json, id).name)))
        : r.source_address_prefixes
          ? named(r.source_address_prefixes as string[])
          : [String(r.source_address_prefix)];
      for (const t of to) for (const f of from) rows.push(`${t} <- ${f} : ${r.destination_port_range}`);
    }
  } else {
    for (const r of Object.values(resourcesOf(json, "aws_vpc_security_group_ingress_rule"))) {
      expect(r.ip_protocol).toBe("tcp");
      const to = short(String(resolveRef(json, r.security_group_id).name));
      const from = r.referenced_security_group_id ? short(String(resolveRef(json, r.referenced_security_group_id).name)) : String(r.cidr_ipv4);
      const port = r.from_port === r.to_port ? String(r.from_port) : `${r.from_port}-${r.to_port}`;
      rows.push(`${to} <- ${from} : ${port}`);
    }
  }
  return rows.sort();
}
