/**
 * Compares two synth outputs (base and head) the way a reviewer needs it:
 * resources added, removed and changed with their attribute paths, the
 * decoded user data of every machine and pool that changed, which masters
 * and data disks Terraform will REPLACE, and what that does to the
 * ZooKeeper quorum. No terraform, no state, no credentials: the synthesized
 * JSON is the whole input, so the report is about the configuration change
 * (what `terraform plan` would add on top is drift, which needs the state).
 */
import { META_ATTRIBUTES, ruleFor } from "./replacement-rules";
import { Cloud, cloudOf, TfJson, UserDataNode, userDataNodes } from "./synth-output";
import { unifiedDiff } from "./text-diff";

/** What happens to a resource. */
export type ResourceAction = "create" | "destroy" | "replace" | "update" | "unassessed";

/** One changed attribute of a resource present in base and head. */
export interface AttributeChange {
  /** Path such as `custom_data`, `os_disk.disk_size_gb`, `ip_configuration[0].private_ip_address`. */
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
  /** `unassessed`: the replacement table does not know this attribute of this type. */
  readonly effect: "replace" | "update" | "unassessed";
  /** The table's note on what the provider does. */
  readonly note?: string;
  /** The attribute carries user data (its decoded diff is in {@link StackDiff.userData}). */
  readonly userData: boolean;
  /** Set when the configuration is the same but names a computed attribute of this replaced resource (new after apply). */
  readonly recomputedFrom?: string;

}

/** What a resource is to the cluster's state. */
export type StatefulKind = "master" | "data-disk";

export interface ResourceChange {
  /** Terraform address: `type.logical_id`, or `data.type.logical_id`. */
  readonly address: string;
  readonly type: string;
  /** The construct path cdktf recorded (e.g. `ha/masters/machines-mesos-ha-masters-1/vm`). */
  readonly constructPath: string;
  readonly action: ResourceAction;
  /** Changed attributes (empty for create and destroy). */
  readonly attributes: AttributeChange[];
  /** Why it is replaced: forcing attributes, or a replaced resource it references in a force-new attribute. */
  readonly replaceReasons: string[];
  /** Set on masters (machines of the ZooKeeper ensemble / Mesos masters) and their data disks. */
  readonly stateful?: StatefulKind;
  /** Machine name for machines and their disks. */
  readonly machine?: string;
}

/** A machine or pool whose user data differs. */
export interface UserDataChange {
  readonly address: string;
  readonly name: string;
  readonly kind: "fixed" | "pool";
  /** `changed` carries a diff; `added`/`removed` machines have none. */
  readonly action: "changed" | "added" | "removed";
  /** Unified diff of the decoded cloud-init (base to head). */
  readonly diff?: string;
  readonly roles: string[];
}

/** What an apply does to a ZooKeeper ensemble. */
export interface QuorumImpact {
  /** Members after the change (from the head's zoo.cfg server lines). */
  readonly ensembleSize: number;
  /** Votes needed: floor(N/2)+1. */
  readonly quorum: number;
  /** Members that may be down at once: floor((N-1)/2). */
  readonly tolerated: number;
  /** Existing members replaced by this apply (machine names). */
  readonly replaced: string[];
  /** Members removed. */
  readonly destroyed: string[];
  /** Members added. */
  readonly added: string[];
  /** More members replaced at once than the ensemble tolerates. */
  readonly losesQuorum: boolean;
}

export interface OutputChange {
  readonly name: string;
  readonly action: "create" | "destroy" | "update";
}

export interface StackDiff {
  readonly stack: string;
  readonly cloud?: Cloud;
  /** Every resource and data source that differs, sorted by address. */
  readonly resources: ResourceChange[];
  readonly outputs: OutputChange[];
  /** Provider blocks or the backend that differ, as readable lines. */
  readonly settings: string[];
  readonly userData: UserDataChange[];
  /** Masters and data disks replaced or destroyed (or possibly replaced: `unassessed`). */
  readonly statefulReplacements: ResourceChange[];
  readonly quorum?: QuorumImpact;
}

export interface PlanDiff {
  readonly stacks: StackDiff[];
  /** 0 no change, 2 changes, 3 changes that replace or destroy masters or their data disks. */
  readonly exitCode: 0 | 2 | 3;
}

/** Resource attributes that carry user data (compared as decoded documents). */
const USER_DATA_ATTRIBUTES: Record<string, string[]> = {
  azurerm_linux_virtual_machine: ["custom_data"],
  azurerm_linux_virtual_machine_scale_set: ["custom_data"],
  aws_instance: ["user_data", "user_data_base64"],
  aws_launch_template: ["user_data"],
};

/** Roles that make a fixed machine stateful: it holds ZooKeeper data or the Mesos replicated log. */
const STATEFUL_ROLES = ["zookeeper", "mesos-master"];

type Resources = Map<string, Record<string, unknown>>;

function resourcesOf(json: TfJson | undefined): Resources {
  const map: Resources = new Map();
  if (!json) return map;
  for (const [type, byId] of Object.entries(json.resource ?? {})) for (const [id, r] of Object.entries(byId)) map.set(`${type}.${id}`, r);
  for (const [type, byId] of Object.entries(json.data ?? {})) for (const [id, r] of Object.entries(byId)) map.set(`data.${type}.${id}`, r);
  return map;
}

function typeOf(address: string): string {
  const parts = address.split(".");
  return parts[0] === "data" ? parts[1] : parts[0];
}

function constructPathOf(resource: Record<string, unknown> | undefined): string {
  return ((resource?.["//"] as { metadata?: { path?: string } } | undefined)?.metadata?.path) ?? "";
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Leaf paths where `a` and `b` differ. Objects recurse by key, lists of
 * blocks by position when both have the same length; anything else (lists of
 * values, lists whose length changed) is one change at its own path.
 */
export function changedPaths(a: unknown, b: unknown, prefix = ""): { path: string; before: unknown; after: unknown }[] {
  if (equal(a, b)) return [];
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => (prefix === "" && META_ATTRIBUTES.has(k) ? [] : changedPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k)));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every(isPlainObject) && b.every(isPlainObject)) {
    return a.flatMap((item, i) => changedPaths(item, b[i], `${prefix}[${i}]`));
  }
  return [{ path: prefix, before: a, after: b }];
}

/** `lifecycle.ignore_changes` of a resource: attribute names, or `all`. */
function ignoredAttributes(resource: Record<string, unknown>): Set<string> | "all" {
  const ignore = (resource.lifecycle as { ignore_changes?: unknown } | undefined)?.ignore_changes;
  if (ignore === "all") return "all";
  return new Set(Array.isArray(ignore) ? ignore.map(String) : []);
}

/** `${type.id.attr}` references inside a value, as [address, attribute]. */
function references(value: unknown): [string, string][] {
  const found: [string, string][] = [];
  const text = JSON.stringify(value) ?? "";
  for (const m of text.matchAll(/\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)/g)) {
    if (m[1] !== "data" && m[1] !== "var" && m[1] !== "local") found.push([`${m[1]}.${m[2]}`, m[3]]);
  }
  return found;
}

function rolesOf(node: UserDataNode): string[] {
  const m = /^# Rendered by mesos-cluster-cdktf for .*; roles: (.*)$/m.exec(node.text);
  return m ? m[1].split(",").map((r) => r.trim()).filter((r) => r && r !== "none") : [];
}

/** Server ids of the zoo.cfg inside a decoded document. */
function zooServerIds(text: string): Set<string> {
  return new Set([...text.matchAll(/^\s*server\.(\d+)=/gm)].map((m) => m[1]));
}

/** Masters (machines with a stateful role) and their data disks, by address. */
function statefulResources(json: TfJson | undefined, resources: Resources): Map<string, { kind: StatefulKind; machine: string }> {
  const result = new Map<string, { kind: StatefulKind; machine: string }>();
  if (!json) return result;
  for (const node of userDataNodes(json)) {
    if (node.kind === "fixed" && rolesOf(node).some((r) => STATEFUL_ROLES.includes(r))) result.set(node.address, { kind: "master", machine: node.name });
  }
  // A data disk belongs to the master its attachment names.
  for (const [address, r] of resources) {
    const type = typeOf(address);
    if (type !== "azurerm_virtual_machine_data_disk_attachment" && type !== "aws_volume_attachment") continue;
    const [machineRef] = references(type === "aws_volume_attachment" ? r.instance_id : r.virtual_machine_id);
    const [diskRef] = references(type === "aws_volume_attachment" ? r.volume_id : r.managed_disk_id);
    const master = machineRef && result.get(machineRef[0]);
    if (master && master.kind === "master" && diskRef) result.set(diskRef[0], { kind: "data-disk", machine: master.machine });
  }
  return result;
}

function compareResource(address: string, before: Record<string, unknown>, after: Record<string, unknown>): { attributes: AttributeChange[]; reasons: string[] } {
  const type = typeOf(address);
  const ignored = ignoredAttributes(after);
  const userDataAttrs = USER_DATA_ATTRIBUTES[type] ?? [];
  const attributes: AttributeChange[] = [];
  const reasons: string[] = [];
  if (ignored === "all") return { attributes, reasons };
  for (const change of changedPaths(before, after)) {
    const top = change.path.split(/[.[]/)[0];
    // Terraform keeps the state's value for ignored attributes: no change at all.
    if (ignored.has(top)) continue;
    const rule = ruleFor(type, change.path);
    const effect = rule ? (rule.decide ? rule.decide(change.before, change.after, after) : rule.effect) : "unassessed";
    attributes.push({ ...change, effect, note: rule?.note, userData: userDataAttrs.includes(top) });
    if (effect === "replace") reasons.push(change.path);
  }
  return { attributes, reasons };
}

/** Diffs one stack; either side may be missing (stack added or removed). */
export function diffStack(stack: string, base: TfJson | undefined, head: TfJson | undefined): StackDiff {
  const baseResources = resourcesOf(base);
  const headResources = resourcesOf(head);
  const changes = new Map<string, { action: ResourceAction; attributes: AttributeChange[]; reasons: string[] }>();
  for (const address of new Set([...baseResources.keys(), ...headResources.keys()])) {
    const b = baseResources.get(address);
    const h = headResources.get(address);
    if (!b) changes.set(address, { action: "create", attributes: [], reasons: [] });
    else if (!h) changes.set(address, { action: "destroy", attributes: [], reasons: [] });
    else {
      const { attributes, reasons } = compareResource(address, b, h);
      if (attributes.length === 0) continue;
      const action = reasons.length > 0 ? "replace" : attributes.some((a) => a.effect === "unassessed") ? "unassessed" : "update";
      changes.set(address, { action, attributes, reasons });
    }
  }

  // A replaced resource gets a new id: a resource that names it in a force-new attribute is replaced too.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [address, h] of headResources) {
      const current = changes.get(address);
      if (!baseResources.has(address) || current?.action === "replace") continue;
      const type = typeOf(address);
      const cascade: string[] = [];
      const recomputed: AttributeChange[] = [];
      for (const [key, value] of Object.entries(h)) {
        if (META_ATTRIBUTES.has(key)) continue;
        const rule = ruleFor(type, key);
        const effect = rule ? (rule.decide ? rule.decide(undefined, undefined, h) : rule.effect) : "unassessed";
        for (const [ref, attr] of references(value)) {
          // A configured attribute keeps its value through a replacement; computed ones (ids, PEMs) become new.
          if (changes.get(ref)?.action !== "replace" || attr in (headResources.get(ref) ?? {})) continue;
          if (effect === "replace") cascade.push(`${key} names ${ref}, which is replaced`);
          else if (!current && !recomputed.some((r) => r.path === key)) {
            recomputed.push({ path: key, before: undefined, after: undefined, effect, note: rule?.note, userData: false, recomputedFrom: ref });
          }
        }
      }
      if (cascade.length > 0) {
        changes.set(address, { action: "replace", attributes: current?.attributes ?? [], reasons: [...(current?.reasons ?? []), ...cascade] });
        grew = true;
      } else if (recomputed.length > 0) {
        // Terraform plans these "(known after apply)": an update of this resource that the JSON does not show.
        changes.set(address, { action: recomputed.some((r) => r.effect === "unassessed") ? "unassessed" : "update", attributes: recomputed, reasons: [] });
        grew = true;
      }
    }
  }

  const stateful = new Map([...statefulResources(base, baseResources), ...statefulResources(head, headResources)]);
  const resources: ResourceChange[] = [...changes.entries()]
    .map(([address, c]) => ({
      address,
      type: typeOf(address),
      constructPath: constructPathOf(headResources.get(address) ?? baseResources.get(address)),
      action: c.action,
      attributes: c.attributes,
      replaceReasons: c.reasons,
      stateful: stateful.get(address)?.kind,
      machine: stateful.get(address)?.machine,
    }))
    .sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : 0));
  const statefulReplacements = resources.filter((r) => r.stateful && (r.action === "replace" || r.action === "destroy" || r.action === "unassessed"));

  const outputs: OutputChange[] = [];
  for (const name of [...new Set([...Object.keys(base?.output ?? {}), ...Object.keys(head?.output ?? {})])].sort()) {
    const b = base?.output?.[name];
    const h = head?.output?.[name];
    if (!b) outputs.push({ name, action: "create" });
    else if (!h) outputs.push({ name, action: "destroy" });
    else if (!equal(b, h)) outputs.push({ name, action: "update" });
  }

  const settings: string[] = [];
  for (const provider of [...new Set([...Object.keys(base?.provider ?? {}), ...Object.keys(head?.provider ?? {})])].sort()) {
    if (!equal(base?.provider?.[provider], head?.provider?.[provider])) settings.push(`provider ${provider} configuration changed`);
  }
  const backendBefore = describeBackend(base);
  const backendAfter = describeBackend(head);
  if (base && head && backendBefore !== backendAfter) {
    settings.push(`backend changed: ${backendBefore} -> ${backendAfter} (run \`terraform init -migrate-state\` / \`cdktf deploy --migrate-state\` once)`);
  }

  const baseNodes = new Map((base ? userDataNodes(base) : []).map((n) => [n.address, n]));
  const headNodes = new Map((head ? userDataNodes(head) : []).map((n) => [n.address, n]));
  const userData: UserDataChange[] = [];
  for (const address of [...new Set([...baseNodes.keys(), ...headNodes.keys()])].sort()) {
    const b = baseNodes.get(address);
    const h = headNodes.get(address);
    const node = (h ?? b)!;
    const common = { address, name: node.name, kind: node.kind, roles: rolesOf(node) };
    if (!b) userData.push({ ...common, action: "added" });
    else if (!h) userData.push({ ...common, action: "removed" });
    else if (b.text !== h.text) {
      userData.push({ ...common, action: "changed", diff: unifiedDiff(b.text, h.text, `a/${b.name} (base)`, `b/${h.name} (head)`) });
    }
  }
  userData.sort((x, y) => x.name.localeCompare(y.name, undefined, { numeric: true }));

  return {
    stack,
    cloud: head ? cloudOf(head) : base ? cloudOf(base) : undefined,
    resources,
    outputs,
    settings,
    userData,
    statefulReplacements,
    quorum: quorumImpact(base, head, changes),
  };
}

/** The backend block without local paths, which differ between checkouts. */
function describeBackend(json: TfJson | undefined): string {
  const backend = json?.terraform?.backend as Record<string, Record<string, unknown>> | undefined;
  if (!backend) return "local (default)";
  const [type, settings] = Object.entries(backend)[0];
  if (type === "local") return settings?.path ? `local (${String(settings.path).split("/").pop()})` : "local (default)";
  return `${type} ${JSON.stringify(settings)}`;
}

function quorumImpact(base: TfJson | undefined, head: TfJson | undefined, changes: Map<string, { action: ResourceAction }>): QuorumImpact | undefined {
  const members = (json: TfJson | undefined) => (json ? userDataNodes(json).filter((n) => n.kind === "fixed" && rolesOf(n).includes("zookeeper")) : []);
  const baseMembers = members(base);
  const headMembers = members(head);
  if (baseMembers.length === 0 && headMembers.length === 0) return undefined;
  const headIds = new Set(headMembers.flatMap((n) => [...zooServerIds(n.text)]));
  const ensembleSize = headIds.size > 0 ? headIds.size : headMembers.length;
  const baseAddresses = new Set(baseMembers.map((n) => n.address));
  const headAddresses = new Set(headMembers.map((n) => n.address));
  const replaced = headMembers.filter((n) => baseAddresses.has(n.address) && ["replace", "unassessed"].includes(changes.get(n.address)?.action ?? "")).map((n) => n.name);
  const destroyed = baseMembers.filter((n) => !headAddresses.has(n.address)).map((n) => n.name);
  const added = headMembers.filter((n) => !baseAddresses.has(n.address)).map((n) => n.name);
  if (replaced.length === 0 && destroyed.length === 0 && added.length === 0) return undefined;
  const tolerated = Math.floor((ensembleSize - 1) / 2);
  return {
    ensembleSize,
    quorum: Math.floor(ensembleSize / 2) + 1,
    tolerated,
    replaced,
    destroyed,
    added,
    losesQuorum: replaced.length > tolerated,
  };
}

/** Diffs every stack of two synth outputs (stack name to JSON, as `readSynthOutput` returns). */
export function diffSynthOutputs(base: Map<string, TfJson>, head: Map<string, TfJson>): PlanDiff {
  const names = [...new Set([...base.keys(), ...head.keys()])].sort();
  const stacks = names.map((name) => diffStack(name, base.get(name), head.get(name)));
  const changed = stacks.filter((s) => s.resources.length + s.outputs.length + s.settings.length + s.userData.length > 0);
  const exitCode = stacks.some((s) => s.statefulReplacements.length > 0) ? 3 : changed.length > 0 ? 2 : 0;
  return { stacks: changed, exitCode };
}
