/**
 * Reads synthesized stacks (a `cdktf.out` folder or one stack's JSON) and
 * finds every machine's user data, decoded the way the cloud decodes it.
 * Shared by the tests, `npm run validate` and `npm run plan-diff`.
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { gunzipSync, gzipSync } from "zlib";
import { parseVaultUriTemplate } from "../../constructs/internal";

export type Cloud = "azure" | "aws";

/** The synthesized Terraform JSON of one stack. */
export interface TfJson {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, { value: unknown; sensitive?: boolean; description?: string }>;
  provider: Record<string, unknown[]>;
  terraform?: Record<string, unknown>;
}

/** A machine (or pool) and the user data it boots with. */
export interface UserDataNode {
  /** `fixed` machines have static IPs; a `pool` is a scale set / launch template shared by its members. */
  readonly kind: "fixed" | "pool";
  readonly cloud: Cloud;
  /** Terraform address, e.g. `azurerm_linux_virtual_machine.masters_..._vm_795F5A88`. */
  readonly address: string;
  /** Machine name (VM name / Name tag) or pool name. */
  readonly name: string;
  /** The construct path cdktf recorded (e.g. `ha/masters/machines-mesos-ha-masters-1/vm`). */
  readonly constructPath: string;
  /** Static private IP of a fixed machine. */
  readonly privateIp?: string;
  readonly zone?: string;
  /** How the attribute carries the document. */
  readonly encoding: "plain" | "base64" | "gzip+base64";
  /** The attribute holding it (`custom_data`, `user_data`, `user_data_base64`). */
  readonly attribute: string;
  /** Decoded document. */
  readonly text: string;
  /** Bytes the cloud counts against its limit (compressed size when gzipped). */
  readonly countedBytes: number;
  /** The cloud's limit in bytes. */
  readonly limitBytes: number;
}

export const USER_DATA_LIMITS: Record<Cloud, number> = { azure: 64 * 1024, aws: 16 * 1024 };

/** Decodes base64 (then gunzip when gzip's magic bytes lead); returns the text and the decoded byte count. */
export function decodeBase64UserData(value: string): { text: string; bytes: number; gzip: boolean } {
  const bytes = Buffer.from(value, "base64");
  if (bytes.toString("base64") !== value) throw new Error("user data is not canonical base64");
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
  return { text: gzip ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8"), bytes: bytes.length, gzip };
}

function literal(value: unknown, what: string): string {
  if (typeof value !== "string") throw new Error(`${what} is missing or not a string`);
  if (value.includes("${")) throw new Error(`${what} is a Terraform expression, not a literal`);
  return value;
}

/**
 * Azure `custom_data`: a literal, or, on machines that read Key Vault secrets,
 * the synthesized document into which Terraform writes the vault's URI
 * (constructs/cloud/azure.ts customData). Decoded as synthesized: the text
 * holds KEY_VAULT_URI_PLACEHOLDER where the machine gets the URI.
 */
function azureCustomData(value: unknown, what: string): { text: string; bytes: number; gzip: boolean } {
  const template = typeof value === "string" ? parseVaultUriTemplate(value) : undefined;
  if (!template) return decodeBase64UserData(literal(value, what));
  const decoded = decodeBase64UserData(template.base64);
  return template.gzip ? { text: decoded.text, bytes: gzipSync(Buffer.from(decoded.text, "utf8"), { level: 9 }).length, gzip: true } : decoded;
}

function pathOf(resource: Record<string, unknown>): string {
  const meta = (resource["//"] as { metadata?: { path?: string } } | undefined)?.metadata;
  return meta?.path ?? "";
}

/** `${aws_subnet.name.id}` -> the resource it names, or undefined for anything else. */
export function resolveRef(json: TfJson, expression: unknown): Record<string, unknown> | undefined {
  const m = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(String(expression));
  return m ? json.resource[m[1]]?.[m[2]] : undefined;
}

/** Which cloud a stack targets, from its providers. */
export function cloudOf(json: TfJson): Cloud {
  if (json.provider?.azurerm) return "azure";
  if (json.provider?.aws) return "aws";
  throw new Error("the stack has neither an azurerm nor an aws provider");
}

/** Every machine and pool of a stack with its decoded user data, sorted by name. */
export function userDataNodes(json: TfJson): UserDataNode[] {
  const cloud = cloudOf(json);
  const limitBytes = USER_DATA_LIMITS[cloud];
  const nodes: UserDataNode[] = [];
  const each = (type: string, fn: (key: string, r: Record<string, unknown>) => void) => {
    for (const [key, r] of Object.entries(json.resource?.[type] ?? {})) fn(key, r);
  };
  if (cloud === "azure") {
    each("azurerm_linux_virtual_machine", (key, vm) => {
      const decoded = azureCustomData(vm.custom_data, `${vm.name}.custom_data`);
      const nic = resolveRef(json, (vm.network_interface_ids as string[] | undefined)?.[0]);
      const ipc = (nic?.ip_configuration as Record<string, unknown>[] | undefined)?.[0];
      nodes.push({
        kind: "fixed",
        cloud,
        address: `azurerm_linux_virtual_machine.${key}`,
        name: String(vm.name),
        constructPath: pathOf(vm),
        privateIp: ipc ? String(ipc.private_ip_address) : undefined,
        zone: vm.zone === undefined ? undefined : String(vm.zone),
        encoding: decoded.gzip ? "gzip+base64" : "base64",
        attribute: "custom_data",
        text: decoded.text,
        countedBytes: decoded.bytes,
        limitBytes,
      });
    });
    each("azurerm_linux_virtual_machine_scale_set", (key, vmss) => {
      const decoded = azureCustomData(vmss.custom_data, `${vmss.name}.custom_data`);
      nodes.push({
        kind: "pool",
        cloud,
        address: `azurerm_linux_virtual_machine_scale_set.${key}`,
        name: String(vmss.name),
        constructPath: pathOf(vmss),
        encoding: decoded.gzip ? "gzip+base64" : "base64",
        attribute: "custom_data",
        text: decoded.text,
        countedBytes: decoded.bytes,
        limitBytes,
      });
    });
  } else {
    each("aws_instance", (key, inst) => {
      const name = (inst.tags as Record<string, string> | undefined)?.Name ?? key;
      const plain = inst.user_data !== undefined;
      const decoded = plain
        ? { text: literal(inst.user_data, `${name}.user_data`), gzip: false, bytes: Buffer.byteLength(String(inst.user_data)) }
        : decodeBase64UserData(literal(inst.user_data_base64, `${name}.user_data_base64`));
      nodes.push({
        kind: "fixed",
        cloud,
        address: `aws_instance.${key}`,
        name,
        constructPath: pathOf(inst),
        privateIp: inst.private_ip === undefined ? undefined : String(inst.private_ip),
        zone: inst.availability_zone === undefined ? undefined : String(inst.availability_zone),
        encoding: plain ? "plain" : decoded.gzip ? "gzip+base64" : "base64",
        attribute: plain ? "user_data" : "user_data_base64",
        text: decoded.text,
        countedBytes: decoded.bytes,
        limitBytes,
      });
    });
    each("aws_launch_template", (key, lt) => {
      const decoded = decodeBase64UserData(literal(lt.user_data, `${lt.name_prefix ?? key}.user_data`));
      const name = String(lt.name_prefix ?? key).replace(/-$/, "");
      nodes.push({
        kind: "pool",
        cloud,
        address: `aws_launch_template.${key}`,
        name,
        constructPath: pathOf(lt),
        encoding: decoded.gzip ? "gzip+base64" : "base64",
        attribute: "user_data",
        text: decoded.text,
        countedBytes: decoded.bytes,
        limitBytes,
      });
    });
  }
  return nodes.sort((a, b) => a.name.localeCompare(b.name));
}

/** The stacks of a synth output folder (`cdktf.out`), by name. */
export function readSynthOutput(dir: string): Map<string, TfJson> {
  const manifestPath = join(dir, "manifest.json");
  const stacks = new Map<string, TfJson>();
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { stacks: Record<string, { synthesizedStackPath: string }> };
    for (const [name, stack] of Object.entries(manifest.stacks)) {
      stacks.set(name, JSON.parse(readFileSync(join(dir, stack.synthesizedStackPath), "utf8")) as TfJson);
    }
    return stacks;
  }
  throw new Error(`${dir} has no manifest.json: run \`npx cdktf synth\` first (or pass --out DIR)`);
}
