/**
 * Compares two synth outputs (base and head) the way a reviewer needs it:
 * resources added, removed and changed with their attribute paths, the
 * decoded user data of every machine and pool that changed, which masters
 * and data disks Terraform will REPLACE, and what that does to the
 * ZooKeeper quorum. No terraform, no state, no credentials: the synthesized
 * JSON is the whole input, so the report is about the configuration change
 * (what `terraform plan` would add on top is drift, which needs the state).
 *
 * It fails safe. What the replacement table cannot judge (a type it does not
 * know, an attribute without a rule) counts as "may be replaced", and that
 * verdict travels through references exactly like a replacement: a master
 * whose ForceNew attribute names something that may be replaced may be
 * replaced itself, with the chain of reasons that leads there.
 */
import { parseRoleHeader, STATEFUL_ROLES } from "../../constructs/internal";
import { META_ATTRIBUTES, normalizePath, REPLACEMENT_TABLE, ruleFor, verdictOf } from "./replacement-rules";
import { Cloud, cloudOf, TfJson, UserDataNode, userDataNodes } from "./synth-output";
import { unifiedDiff } from "./text-diff";

/**
 * What happens to a resource. `unassessed`: MAY BE REPLACED, because the
 * replacement table cannot judge a change of it or of something it names;
 * `read`: a data source whose arguments changed, read again with results
 * that may differ.
 */
export type ResourceAction = "create" | "destroy" | "replace" | "update" | "unassessed" | "read";

/** One changed attribute of a resource present in base and head. */
export interface AttributeChange {
  /** Path such as `custom_data`, `os_disk.disk_size_gb`, `ip_configuration[0].private_ip_address`. */
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
  /**
   * `unassessed`: the replacement table does not know this attribute (or
   * type), so it may replace the resource; `fail`: the provider or the cloud
   * refuses this change and the apply stops there.
   */
  readonly effect: "replace" | "update" | "unassessed" | "fail";
  /** The table's note on what the provider does. */
  readonly note?: string;
  /** The note explains a consequence (a restart, a rolling replacement, a refusal): the report prints it. */
  readonly consequence?: boolean;
  /** The in-place update stops the machine (or the machine the disk is attached to) and starts it again. */
  readonly restarts?: boolean;
  /** The attribute carries user data (its decoded diff is in {@link StackDiff.userData}). */
  readonly userData: boolean;
  /** Set when the configuration is the same but names an attribute of this resource that gets a new value (known after apply). */
  readonly recomputedFrom?: string;
  /** With {@link recomputedFrom}: how that resource changes (`is replaced`, `may be replaced`, `is read again`, `changes`). */
  readonly recomputedHow?: string;
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
  /** Why it is replaced: forcing attributes, or `<attr> names <address>, which is replaced` for a resource it references. */
  readonly replaceReasons: string[];
  /**
   * Why it is replaced or may be replaced, as chains a reviewer can follow:
   * `aws/subnet-masters-1 cidr_block changed (ForceNew) -> mesos-ha-masters-1 subnet_id`.
   */
  readonly reasonChains: string[];
  /** The in-place update stops and starts a machine (this one, or the master a data disk is attached to). */
  readonly restarts: boolean;
  /** Set on masters (machines of the ZooKeeper ensemble / Mesos masters) and their data disks. */
  readonly stateful?: StatefulKind;
  /** Machine name for machines and their disks. */
  readonly machine?: string;
}

/** A master that an apply stops and leaves stopped (a volume attachment destroyed with stop_instance_before_detaching). */
export interface StoppedMachine {
  readonly machine: string;
  readonly address: string;
  /** The resource whose destroy stops it. */
  readonly by: string;
  /** False when `by` only may be replaced. */
  readonly certain: boolean;
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
  /** Existing members replaced (or possibly replaced) by this apply (machine names). */
  readonly replaced: string[];
  /** Members removed. */
  readonly destroyed: string[];
  /** Members added. */
  readonly added: string[];
  /** Members stopped and started again by an in-place update (only when there are any). */
  readonly restarted?: string[];
  /** Members stopped and NOT started again (only when there are any). */
  readonly stopped?: string[];
  /** More members down at once (replaced, restarted or stopped) than the ensemble tolerates. */
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
  /** Masters (or their data disks) updated in place in a way that stops and starts the master. */
  readonly restarts: ResourceChange[];
  /** Masters stopped and left stopped. */
  readonly stopped: StoppedMachine[];
  /** Resources with a change the provider or the cloud refuses: the apply fails there. */
  readonly failures: ResourceChange[];
  readonly quorum?: QuorumImpact;
}

export interface PlanDiff {
  readonly stacks: StackDiff[];
  /** 0 no change, 2 changes, 3 changes that replace (or may replace) or destroy masters or their data disks, or lose the quorum. */
  readonly exitCode: 0 | 2 | 3;
}

/** Resource attributes that carry user data (compared as decoded documents). */
const USER_DATA_ATTRIBUTES: Record<string, string[]> = {
  azurerm_linux_virtual_machine: ["custom_data"],
  azurerm_linux_virtual_machine_scale_set: ["custom_data"],
  aws_instance: ["user_data", "user_data_base64"],
  aws_launch_template: ["user_data"],
};


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

/** The replacement table's key of an address: the type, or `data.<type>`. */
function tableKey(address: string): string {
  const parts = address.split(".");
  return parts[0] === "data" ? `data.${parts[1]}` : parts[0];
}

function isData(address: string): boolean {
  return address.startsWith("data.");
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

/** The leaves of a resource's configuration, cut the way {@link changedPaths} cuts them (meta-arguments left out). */
function leaves(value: unknown, prefix = ""): { path: string; value: unknown }[] {
  if (isPlainObject(value)) {
    return Object.entries(value).flatMap(([k, v]) => (prefix === "" && META_ATTRIBUTES.has(k) ? [] : leaves(v, prefix ? `${prefix}.${k}` : k)));
  }
  if (Array.isArray(value) && value.length > 0 && value.every(isPlainObject)) return value.flatMap((v, i) => leaves(v, `${prefix}[${i}]`));
  return [{ path: prefix, value }];
}

/** `lifecycle.ignore_changes` of a resource as normalized attribute paths (`triggers["x"]` -> `triggers.x`), or `all`. */
function ignoredPaths(resource: Record<string, unknown>): string[] | "all" {
  const ignore = (resource.lifecycle as { ignore_changes?: unknown } | undefined)?.ignore_changes;
  if (ignore === "all") return "all";
  return (Array.isArray(ignore) ? ignore.map(String) : []).map((p) => p.replace(/\["([^"]*)"\]/g, ".$1").replace(/\[\d+\]/g, ""));
}

function isIgnored(path: string, ignored: string[]): boolean {
  const normalized = normalizePath(path);
  return ignored.some((i) => normalized === i || normalized.startsWith(`${i}.`));
}

/** Same attribute, or one inside the other. */
function overlaps(a: string, b: string): boolean {
  const x = normalizePath(a);
  const y = normalizePath(b);
  return x === y || x.startsWith(`${y}.`) || y.startsWith(`${x}.`);
}

/** The Terraform expressions (`${...}`) inside a string, nesting and quoted strings respected; `$${` is a literal. */
function expressions(text: string): string[] {
  const found: string[] = [];
  let i = text.indexOf("${");
  while (i >= 0) {
    if (i > 0 && text[i - 1] === "$") {
      i = text.indexOf("${", i + 2);
      continue;
    }
    let depth = 0;
    let quoted = false;
    let j = i + 1;
    for (; j < text.length; j++) {
      const c = text[j];
      if (quoted) {
        if (c === "\\") j++;
        else if (c === '"') quoted = false;
        continue;
      }
      if (c === '"') quoted = true;
      else if (c === "{") depth++;
      else if (c === "}" && --depth === 0) break;
    }
    found.push(text.slice(i + 2, j));
    i = text.indexOf("${", j);
  }
  return found;
}

/** A reference to another resource: its address and the attribute named (undefined: the whole object). */
interface Reference {
  readonly address: string;
  readonly attribute?: string;
}

/**
 * Every reference inside a value, also inside function calls
 * (`${join(",", [aws_instance.a.id, ...])}`, `${sensitive(random_password.p.result)}`)
 * and with indices (`null_resource.x[count.index].id`). Only addresses that
 * exist (`known`) count, so `self.`, `count.`, `var.` and functions never do.
 */
function references(value: unknown, known: (address: string) => boolean): Reference[] {
  const found: Reference[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === "string") {
      for (const expression of expressions(v)) {
        for (const m of expression.matchAll(/(?<![\w.\-])(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?(?:\.([a-z_][a-z0-9_]*))?/g)) {
          const address = `${m[1] ?? ""}${m[2]}.${m[3]}`;
          if (known(address)) found.push({ address, attribute: m[4] });
        }
      }
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (isPlainObject(v)) Object.values(v).forEach(visit);
  };
  visit(value);
  return found;
}

function rolesOf(node: UserDataNode): string[] {
  return parseRoleHeader(node.text);
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
    if (node.kind === "fixed" && rolesOf(node).some((r) => (STATEFUL_ROLES as readonly string[]).includes(r))) result.set(node.address, { kind: "master", machine: node.name });
  }
  // A data disk belongs to the master its attachment names.
  const known = (a: string) => resources.has(a);
  for (const [address, r] of resources) {
    const type = typeOf(address);
    if (type !== "azurerm_virtual_machine_data_disk_attachment" && type !== "aws_volume_attachment") continue;
    const [machineRef] = references(type === "aws_volume_attachment" ? r.instance_id : r.virtual_machine_id, known);
    const [diskRef] = references(type === "aws_volume_attachment" ? r.volume_id : r.managed_disk_id, known);
    const master = machineRef && result.get(machineRef.address);
    if (master && master.kind === "master" && diskRef) result.set(diskRef.address, { kind: "data-disk", machine: master.machine });
  }
  return result;
}

/** A resource's change while the diff is worked out. */
interface Change {
  action: ResourceAction;
  attributes: AttributeChange[];
  /** Replace reasons (attribute paths, or `x names y, which is replaced`). */
  reasons: string[];
  /** Reason chains; `certain` ones lead to a replacement, the others to "may be replaced". */
  chains: { text: string; certain: boolean }[];
  restarts: boolean;
}

const SEVERITY: Record<ResourceAction, number> = { create: 0, destroy: 0, read: 1, update: 1, unassessed: 2, replace: 3 };

/** `ForceNew`, `RequiresReplace`, or what a decided replacement says. */
function forcingTag(note: string | undefined): string {
  const m = /^(ForceNew|RequiresReplace)/.exec(note ?? "");
  return m ? m[1] : "forces replacement";
}

/** Readable names for reason chains: masters by machine name, the rest by construct path without the stack. */
type Labeler = (address: string) => string;

function compareResource(address: string, before: Record<string, unknown>, after: Record<string, unknown>, label: Labeler): Change | undefined {
  const key = tableKey(address);
  const entry = REPLACEMENT_TABLE[key];
  const ignored = ignoredPaths(after);
  const userDataAttrs = USER_DATA_ATTRIBUTES[typeOf(address)] ?? [];
  const change: Change = { action: "update", attributes: [], reasons: [], chains: [], restarts: false };
  if (ignored === "all") return undefined;
  for (const c of changedPaths(before, after)) {
    const top = c.path.split(/[.[]/)[0];
    // Terraform keeps the state's value for ignored attributes: no change at all.
    if (isIgnored(c.path, ignored)) continue;
    const userData = userDataAttrs.includes(top);
    const rule = ruleFor(key, c.path);
    if (!entry || !rule) {
      const note = entry ? "not in the replacement table" : `${key} is not in the replacement table`;
      change.attributes.push({ ...c, effect: "unassessed", note, userData });
      change.chains.push({ text: `${label(address)} ${c.path} changed (${note}: may be replaced)`, certain: false });
      continue;
    }
    const v = verdictOf(rule, c.before, c.after, after);
    if (isData(address)) {
      change.attributes.push({ ...c, effect: "update", note: v.note, consequence: v.consequence, userData });
      continue;
    }
    change.attributes.push({ ...c, effect: v.effect, note: v.note, consequence: v.consequence, restarts: v.effect === "update" && v.restarts ? true : undefined, userData });
    if (v.effect === "replace") {
      change.reasons.push(c.path);
      change.chains.push({ text: `${label(address)} ${c.path} changed (${userData ? "user data, " : ""}${forcingTag(v.note)})`, certain: true });
    }
    if (v.effect === "update" && v.restarts) change.restarts = true;
  }
  if (change.attributes.length === 0) return undefined;
  change.action = change.reasons.length > 0 ? "replace" : change.attributes.some((a) => a.effect === "unassessed") ? "unassessed" : isData(address) ? "read" : "update";
  return change;
}

/** How a source changes when what names it may (or may not) get a new value. */
const UNCERTAIN = ["may be replaced", "is read again"];

/** How the value of a reference changes: certainly (`yes`), possibly (`maybe`), or not; and why, for the chain. */
function newValue(
  ref: Reference,
  source: Change,
  sourceHead: Record<string, unknown> | undefined,
  sourceAddress: string,
  label: Labeler,
): { how: "yes" | "maybe"; verb: string; chain: string } | undefined {
  const attribute = ref.attribute;
  // The shortest chain that explains the source's verdict.
  const shortest = (chains: Change["chains"]) =>
    chains
      .filter((c) => c.certain || source.action !== "replace")
      .map((c) => c.text)
      .sort((a, b) => a.length - b.length)[0];
  // A configured attribute keeps its value through a replacement; it changes when its configuration does.
  if (attribute !== undefined && sourceHead && attribute in sourceHead) {
    const changed = source.attributes.find((a) => a.path.split(/[.[]/)[0] === attribute);
    if (!changed) return undefined;
    if (changed.recomputedFrom) {
      const uncertain = UNCERTAIN.includes(changed.recomputedHow ?? "");
      return { how: uncertain ? "maybe" : "yes", verb: "changes", chain: shortest(source.chains) ?? `${label(sourceAddress)} ${attribute} changes` };
    }
    return { how: "yes", verb: "changes", chain: `${label(sourceAddress)} ${changed.path} changed` };
  }
  // Computed attributes (ids, addresses, PEMs) are new when the resource is.
  switch (source.action) {
    case "replace":
      return { how: "yes", verb: "is replaced", chain: shortest(source.chains) ?? `${label(sourceAddress)} is replaced` };
    case "unassessed":
      return { how: "maybe", verb: "may be replaced", chain: shortest(source.chains) ?? `${label(sourceAddress)} may be replaced` };
    case "read":
      return {
        how: "maybe",
        verb: "is read again",
        chain: `${label(sourceAddress)} ${source.attributes.map((a) => a.path).join(", ")} changed (read again: its results may differ)`,
      };
    case "update": {
      // Attributes that change (in the configuration, or because they name something new) can make computed ones new.
      const recomputed = REPLACEMENT_TABLE[tableKey(sourceAddress)]?.recomputedOnUpdate?.(source.attributes.map((a) => a.path)) ?? [];
      if (attribute === undefined || !recomputed.includes(attribute)) return undefined;
      const certain = source.attributes.find((a) => !a.recomputedFrom || !UNCERTAIN.includes(a.recomputedHow ?? ""));
      const first = certain ?? source.attributes[0];
      return { how: certain ? "yes" : "maybe", verb: `gets a new ${attribute}`, chain: `${label(sourceAddress)} ${first?.path ?? "configuration"} changed (new ${attribute})` };
    }
    default:
      return undefined;
  }
}

/** Diffs one stack; either side may be missing (stack added or removed). */
export function diffStack(stack: string, base: TfJson | undefined, head: TfJson | undefined): StackDiff {
  const baseResources = resourcesOf(base);
  const headResources = resourcesOf(head);
  const stateful = new Map([...statefulResources(base, baseResources), ...statefulResources(head, headResources)]);
  const label: Labeler = (address) => {
    const s = stateful.get(address);
    if (s) return s.kind === "master" ? s.machine : `${s.machine} data disk`;
    const path = constructPathOf(headResources.get(address) ?? baseResources.get(address));
    return path ? path.split("/").slice(1).join("/") : address;
  };

  const changes = new Map<string, Change>();
  for (const address of new Set([...baseResources.keys(), ...headResources.keys()])) {
    const b = baseResources.get(address);
    const h = headResources.get(address);
    if (!b) changes.set(address, { action: "create", attributes: [], reasons: [], chains: [], restarts: false });
    else if (!h) changes.set(address, { action: "destroy", attributes: [], reasons: [], chains: [], restarts: false });
    else {
      const change = compareResource(address, b, h, label);
      if (change) changes.set(address, change);
    }
  }

  // A replaced resource gets new ids: a resource naming one in a ForceNew attribute is replaced too, and in
  // other attributes updated ("known after apply"). "May be replaced" travels the same way, as "may be".
  const known = (a: string) => headResources.has(a);
  const seen = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const [address, h] of headResources) {
      // Created resources have nothing to replace; replaced ones (before this pass) need no more reasons.
      if (!baseResources.has(address) || changes.get(address)?.action === "replace") continue;
      const ignored = ignoredPaths(h);
      if (ignored === "all") continue;
      const key = tableKey(address);
      for (const leaf of leaves(h)) {
        if (isIgnored(leaf.path, ignored)) continue;
        for (const ref of references(leaf.value, known)) {
          if (ref.address === address) continue;
          const source = changes.get(ref.address);
          if (!source) continue;
          const current = changes.get(address);
          const once = `${address}|${leaf.path}|${ref.address}|${source.action}|${source.attributes.length}`;
          if (seen.has(once)) continue;
          seen.add(once);
          // The attribute's own text changed: compareResource judged it already.
          if (current?.attributes.some((a) => !a.recomputedFrom && overlaps(a.path, leaf.path))) continue;
          const value = newValue(ref, source, headResources.get(ref.address), ref.address, label);
          if (!value) continue;
          if (propagate(changes, address, key, h, leaf.path, ref.address, value, label)) grew = true;
        }
      }
    }
  }

  const resources: ResourceChange[] = [...changes.entries()]
    .map(([address, c]) => ({
      address,
      type: typeOf(address),
      constructPath: constructPathOf(headResources.get(address) ?? baseResources.get(address)),
      action: c.action,
      attributes: c.attributes,
      replaceReasons: c.action === "replace" ? c.reasons : [],
      reasonChains: c.action === "replace" || c.action === "unassessed" ? [...new Set(c.chains.filter((ch) => ch.certain || c.action === "unassessed").map((ch) => ch.text))] : [],
      restarts: c.action === "update" && c.restarts,
      stateful: stateful.get(address)?.kind,
      machine: stateful.get(address)?.machine,
    }))
    .sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : 0));
  const down = (r: ResourceChange | undefined) => r !== undefined && (r.action === "replace" || r.action === "destroy" || r.action === "unassessed");
  const byAddress = new Map(resources.map((r) => [r.address, r]));
  const statefulReplacements = resources.filter((r) => r.stateful && down(r));

  // In-place updates that stop and start a master: its own (a resize) or its data disk's (a storage type).
  const masterAddress = (machine: string) => [...stateful.entries()].find(([, s]) => s.kind === "master" && s.machine === machine)?.[0];
  const restarts = resources.filter((r) => r.stateful && r.restarts && r.machine && !down(byAddress.get(masterAddress(r.machine) ?? "")));

  // Destroying an attachment with stop_instance_before_detaching stops the instance; the provider never starts it again.
  const stopped: StoppedMachine[] = [];
  for (const r of resources) {
    if (!down(r)) continue;
    const b = baseResources.get(r.address);
    const attribute = b && REPLACEMENT_TABLE[tableKey(r.address)]?.destroyStops?.(b);
    if (!attribute) continue;
    for (const ref of references(b[attribute], (a) => baseResources.has(a))) {
      const s = stateful.get(ref.address);
      if (s?.kind !== "master" || down(byAddress.get(ref.address))) continue;
      stopped.push({ machine: s.machine, address: ref.address, by: r.address, certain: r.action !== "unassessed" });
    }
  }
  const failures = resources.filter((r) => r.attributes.some((a) => a.effect === "fail"));

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
    restarts,
    stopped,
    failures,
    quorum: quorumImpact(base, head, changes, restarts.map((r) => r.machine!), stopped.map((s) => s.machine)),
  };
}

/** Applies what a changed reference does to the resource naming it; true when that changed anything. */
function propagate(
  changes: Map<string, Change>,
  address: string,
  key: string,
  resource: Record<string, unknown>,
  path: string,
  source: string,
  value: { how: "yes" | "maybe"; verb: string; chain: string },
  label: Labeler,
): boolean {
  const entry = REPLACEMENT_TABLE[key];
  const rule = ruleFor(key, path);
  let effect: AttributeChange["effect"];
  let note: string | undefined;
  let consequence: boolean | undefined;
  let restarts = false;
  if (isData(address)) effect = "update";
  else if (!entry || !rule) {
    effect = "unassessed";
    note = entry ? "not in the replacement table" : `${key} is not in the replacement table`;
  } else {
    const v = verdictOf(rule, undefined, undefined, resource);
    effect = v.effect === "fail" ? "update" : v.effect;
    note = v.note;
    consequence = v.consequence;
    restarts = v.effect === "update" && v.restarts === true;
  }
  if (effect === "replace" && value.how === "maybe") effect = "unassessed";

  const current = changes.get(address) ?? { action: isData(address) ? "read" : "update", attributes: [], reasons: [], chains: [], restarts: false };
  const before = JSON.stringify(current);
  const table = !entry || !rule ? ` (${note})` : "";
  if (effect === "replace" || effect === "unassessed") {
    const action: ResourceAction = effect === "replace" ? "replace" : "unassessed";
    if (effect === "replace") current.reasons.push(`${path} names ${source}, which ${value.verb}`);
    current.chains.push({ text: `${value.chain} -> ${label(address)} ${path}${table}`, certain: effect === "replace" });
    if (SEVERITY[action] > SEVERITY[current.action]) current.action = action;
    if (!current.attributes.some((a) => a.path === path && a.recomputedFrom === source)) {
      current.attributes.push({ path, before: undefined, after: undefined, effect, note, consequence, userData: false, recomputedFrom: source, recomputedHow: value.verb });
    }
  } else {
    if (!current.attributes.some((a) => a.path === path)) {
      current.attributes.push({ path, before: undefined, after: undefined, effect: "update", note, consequence, restarts: restarts || undefined, userData: false, recomputedFrom: source, recomputedHow: value.verb });
    }
    if (restarts) current.restarts = true;
  }
  changes.set(address, current);
  return JSON.stringify(current) !== before;
}

/** The backend block without local paths, which differ between checkouts. */
function describeBackend(json: TfJson | undefined): string {
  const backend = json?.terraform?.backend as Record<string, Record<string, unknown>> | undefined;
  if (!backend) return "local (default)";
  const [type, settings] = Object.entries(backend)[0];
  if (type === "local") return settings?.path ? `local (${String(settings.path).split("/").pop()})` : "local (default)";
  return `${type} ${JSON.stringify(settings)}`;
}

function quorumImpact(
  base: TfJson | undefined,
  head: TfJson | undefined,
  changes: Map<string, { action: ResourceAction }>,
  restartedMachines: string[],
  stoppedMachines: string[],
): QuorumImpact | undefined {
  const members = (json: TfJson | undefined) => (json ? userDataNodes(json).filter((n) => n.kind === "fixed" && rolesOf(n).includes("zookeeper")) : []);
  const baseMembers = members(base);
  const headMembers = members(head);
  if (baseMembers.length === 0 && headMembers.length === 0) return undefined;
  const headIds = new Set(headMembers.flatMap((n) => [...zooServerIds(n.text)]));
  const ensembleSize = headIds.size > 0 ? headIds.size : headMembers.length;
  const baseAddresses = new Set(baseMembers.map((n) => n.address));
  const headAddresses = new Set(headMembers.map((n) => n.address));
  const existing = headMembers.filter((n) => baseAddresses.has(n.address));
  const replaced = existing.filter((n) => ["replace", "unassessed"].includes(changes.get(n.address)?.action ?? "")).map((n) => n.name);
  const restarted = existing.map((n) => n.name).filter((name) => restartedMachines.includes(name) && !replaced.includes(name));
  const stopped = existing.map((n) => n.name).filter((name) => stoppedMachines.includes(name) && !replaced.includes(name) && !restarted.includes(name));
  const destroyed = baseMembers.filter((n) => !headAddresses.has(n.address)).map((n) => n.name);
  const added = headMembers.filter((n) => !baseAddresses.has(n.address)).map((n) => n.name);
  if (replaced.length + restarted.length + stopped.length + destroyed.length + added.length === 0) return undefined;
  const tolerated = Math.floor((ensembleSize - 1) / 2);
  return {
    ensembleSize,
    quorum: Math.floor(ensembleSize / 2) + 1,
    tolerated,
    replaced,
    destroyed,
    added,
    ...(restarted.length > 0 ? { restarted } : {}),
    ...(stopped.length > 0 ? { stopped } : {}),
    losesQuorum: replaced.length + restarted.length + stopped.length > tolerated,
  };
}

/** Diffs every stack of two synth outputs (stack name to JSON, as `readSynthOutput` returns). */
export function diffSynthOutputs(base: Map<string, TfJson>, head: Map<string, TfJson>): PlanDiff {
  const names = [...new Set([...base.keys(), ...head.keys()])].sort();
  const stacks = names.map((name) => diffStack(name, base.get(name), head.get(name)));
  const changed = stacks.filter((s) => s.resources.length + s.outputs.length + s.settings.length + s.userData.length > 0);
  const exitCode = stacks.some((s) => s.statefulReplacements.length > 0 || s.quorum?.losesQuorum) ? 3 : changed.length > 0 ? 2 : 0;
  return { stacks: changed, exitCode };
}
