/**
 * Test helpers: synthesize stacks and read what a machine would receive.
 * Everything here works on the synthesized Terraform JSON, never on our
 * construct objects, so the tests see exactly what Terraform would.
 */
import { gunzipSync } from "zlib";
import { App, TerraformStack, Testing } from "cdktf";
import { parse } from "yaml";
import { MesosClusterStack, MesosClusterStackProps } from "../../stacks/mesos-cluster-stack";
import { parseEnvFile } from "../../constructs/core/systemd";

export type Cloud = "azure" | "aws";
export type TfJson = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, { value: unknown; sensitive?: boolean; description?: string }>;
  provider: Record<string, unknown[]>;
};

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

export function resourcesOf(json: TfJson, type: string): Record<string, Record<string, unknown>> {
  return json.resource[type] ?? {};
}

export function resourceCounts(json: TfJson): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [type, resources] of Object.entries(json.resource)) counts[type] = Object.keys(resources).length;
  return counts;
}

/** `${aws_subnet.name.id}` -> ["aws_subnet", "name"] */
export function refOf(expression: unknown): [string, string] {
  const m = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(String(expression));
  if (!m) throw new Error(`not a plain reference: ${String(expression)}`);
  return [m[1], m[2]];
}

export function resolveRef(json: TfJson, expression: unknown): Record<string, unknown> {
  const [type, name] = refOf(expression);
  const resource = json.resource[type]?.[name];
  if (!resource) throw new Error(`no resource ${type}.${name}`);
  return resource;
}

/** Decodes user data the way the cloud does: base64, then gunzip when gzip's magic bytes lead. */
export function decodeBase64UserData(value: string): string {
  const bytes = Buffer.from(value, "base64");
  if (bytes.toString("base64") !== value) throw new Error("user data is not canonical base64");
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
}

export interface MachineDoc {
  readonly name: string;
  readonly privateIp: string;
  readonly zone: string;
  readonly text: string;
  readonly resource: Record<string, unknown>;
}

function literal(value: unknown, what: string): string {
  if (typeof value !== "string") throw new Error(`${what} is not a string`);
  if (value.includes("${")) throw new Error(`${what} is a Terraform expression, not a literal`);
  return value;
}

/** Every master's decoded user data, in name order. */
export function machineDocs(json: TfJson, cloud: Cloud): MachineDoc[] {
  if (cloud === "azure") {
    return Object.values(resourcesOf(json, "azurerm_linux_virtual_machine"))
      .map((vm) => {
        const nic = resolveRef(json, (vm.network_interface_ids as string[])[0]);
        const ipc = (nic.ip_configuration as Record<string, unknown>[])[0];
        return {
          name: String(vm.name),
          privateIp: String(ipc.private_ip_address),
          zone: String(vm.zone),
          text: decodeBase64UserData(literal(vm.custom_data, `${vm.name}.custom_data`)),
          resource: vm,
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }
  return Object.values(resourcesOf(json, "aws_instance"))
    .map((inst) => {
      const tags = inst.tags as Record<string, string>;
      const text =
        inst.user_data !== undefined
          ? literal(inst.user_data, `${tags.Name}.user_data`)
          : decodeBase64UserData(literal(inst.user_data_base64, `${tags.Name}.user_data_base64`));
      return { name: tags.Name, privateIp: String(inst.private_ip), zone: String(inst.availability_zone), text, resource: inst };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The agent pool's decoded user data. */
export function poolDoc(json: TfJson, cloud: Cloud): string {
  if (cloud === "azure") {
    const vmss = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"));
    if (vmss.length !== 1) throw new Error(`expected one scale set, found ${vmss.length}`);
    return decodeBase64UserData(literal(vmss[0].custom_data, "scale set custom_data"));
  }
  const lts = Object.values(resourcesOf(json, "aws_launch_template"));
  if (lts.length !== 1) throw new Error(`expected one launch template, found ${lts.length}`);
  return decodeBase64UserData(literal(lts[0].user_data, "launch template user_data"));
}

export interface CloudConfigDoc {
  readonly raw: Record<string, unknown>;
  /** write_files by path. */
  readonly files: Map<string, { content: string; permissions?: string }>;
  readonly runcmd: unknown[];
}

/** Parses a cloud-config document with a real YAML parser. */
export function parseCloudConfig(text: string): CloudConfigDoc {
  if (!text.startsWith("#cloud-config\n")) throw new Error("user data does not begin with #cloud-config");
  const raw = parse(text) as Record<string, unknown>;
  const files = new Map<string, { content: string; permissions?: string }>();
  for (const f of (raw.write_files as { path: string; content: string; permissions?: string }[]) ?? []) {
    files.set(f.path, { content: f.content, permissions: f.permissions });
  }
  return { raw, files, runcmd: (raw.runcmd as unknown[]) ?? [] };
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
  return doc.runcmd
    .filter((c): c is string[] => Array.isArray(c) && c[0] === "systemctl" && c[1] === "enable")
    .flatMap((c) => c.slice(2).filter((w) => w !== "--now"));
}

/** One ingress rule as "destination <- source : port", groups by short name, CIDRs literally. */
export function ruleTable(json: TfJson, cloud: Cloud, clusterName: string): string[] {
  const short = (name: string) => name.replace(`${clusterName}-`, "");
  const rows: string[] = [];
  if (cloud === "azure") {
    for (const r of Object.values(resourcesOf(json, "azurerm_network_security_rule"))) {
      if (r.access !== "Allow") continue;
      expect(r.direction).toBe("Inbound");
      expect(r.protocol).toBe("Tcp");
      const to = (r.destination_application_security_group_ids as string[]).map((id) => short(String(resolveRef(json, id).name)));
      const from = r.source_application_security_group_ids
        ? (r.source_application_security_group_ids as string[]).map((id) => short(String(resolveRef(json, id).name)))
        : ((r.source_address_prefixes as string[]) ?? [String(r.source_address_prefix)]);
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
