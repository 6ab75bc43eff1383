/**
 * Test helpers: synthesize stacks and read what a machine would receive.
 * Everything here works on the synthesized Terraform JSON, never on our
 * construct objects, so the tests see exactly what Terraform would.
 */
import { createHash } from "crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack, Testing } from "cdktf";
import { containerRuns, readUserData } from "../../scripts/lib/user-data-model";
import { MesosClusterStack, MesosClusterStackProps } from "../../stacks/mesos-cluster-stack";
import { buildApp } from "../../stacks/app";
import { loadAppConfig } from "../../stacks/config";
import { parseEnvFile } from "../../constructs/core/systemd";

export type { Cloud, TfJson } from "../../scripts/lib/synth-output";
import { Cloud, resolveRef as resolveLibRef, TfJson, userDataNodes } from "../../scripts/lib/synth-output";

/** A fixed public key so synth output does not depend on the test machine's ~/.ssh. */
export const TEST_SSH_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx7nq2W3tB3YpV8m8QvQK2v2Ykq3YwQ5p7l8y0P3Xh1 test@example";

/**
 * The discovery stacks beside the profiles' defaults (ha already runs `dns`):
 * `dns+lb` on Azure ha with the edge open to admin networks and the web, and
 * on AWS dev without auth. Tests that check every document (the validators)
 * and the discovery tests synthesize these same props, so the shared cache
 * builds each once per run.
 */
export const DISCOVERY_STACKS: Readonly<Record<"azureHaLb" | "awsDevLb", MesosClusterStackProps>> = {
  azureHaLb: { cloud: "azure", profile: "ha", discovery: "dns+lb", adminCidrs: ["203.0.113.0/24"], internetIngress: ["web"] },
  awsDevLb: { cloud: "aws", profile: "dev", discovery: "dns+lb" },
};

/** Synthesizes one stack (validations on) and returns its JSON. */
export function synthStack(stack: TerraformStack): TfJson {
  return JSON.parse(Testing.synth(stack, true)) as TfJson;
}

/**
 * Synthesizes a MesosClusterStack with the given props (a test SSH key unless given).
 *
 * Many test files synthesize the same stacks (dev and ha on both clouds), and
 * each file pays for its own (jest loads cdktf and the providers afresh per
 * file). Within one `jest` run, the JSON is shared through the folder
 * scripts/jest-global-setup.js names in MESOS_TEST_SYNTH_CACHE: see
 * cachedSynth. `stack` is then built (and synthesized, as before) only when
 * a test reads it.
 */
export function synthCluster(props: MesosClusterStackProps, id = props.profile ?? "dev"): { stack: MesosClusterStack; json: TfJson } {
  const full: MesosClusterStackProps = { sshPublicKey: TEST_SSH_KEY, ...props };
  const build = () => {
    const app = new App({ outdir: "/tmp/mesos-cluster-test-out" });
    const stack = new MesosClusterStack(app, id, full);
    return { stack, text: Testing.synth(stack, true) };
  };
  const cached = cachedSynth(id, full, build);
  if (!cached) {
    const { stack, text } = build();
    return { stack, json: JSON.parse(text) as TfJson };
  }
  let stack: MesosClusterStack | undefined = cached.stack;
  return {
    json: JSON.parse(cached.text) as TfJson,
    get stack(): MesosClusterStack {
      if (!stack) {
        const built = build();
        // The construct tree behind a cached JSON must be the one that produced it.
        if (built.text !== cached.text) throw new Error(`synthCluster: a fresh synth of ${id} differs from the shared one (was a source file edited during the run?)`);
        stack = built.stack;
      }
      return stack;
    },
  };
}

// ---------------------------------------------------------------------------
// The shared synth cache of one jest run.

/**
 * Props as a cache key, or undefined when they hold anything but plain data
 * (a function, a construct, a token object...: such props are never cached).
 * Top-level keys are sorted (MesosClusterStack reads each prop by name and
 * never iterates over them); nested objects keep their order, and undefined
 * is kept apart from a missing key.
 */
export function propsKey(id: string, props: MesosClusterStackProps): string | undefined {
  const encode = (value: unknown, sortKeys: boolean): string | undefined => {
    if (value === undefined) return '{"$undefined":1}';
    if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
    if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0) ? JSON.stringify(value) : undefined;
    if (Array.isArray(value)) {
      if (Object.getPrototypeOf(value) !== Array.prototype) return undefined;
      const items: string[] = [];
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) return undefined;
        const item = encode(value[i], false);
        if (item === undefined) return undefined;
        items.push(item);
      }
      return `[${items.join(",")}]`;
    }
    if (typeof value === "object") {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return undefined;
      if (Object.getOwnPropertySymbols(value).length > 0) return undefined;
      const keys = Object.keys(value);
      if (sortKeys) keys.sort();
      const entries: string[] = [];
      for (const k of keys) {
        const v = encode((value as Record<string, unknown>)[k], false);
        if (v === undefined) return undefined;
        entries.push(`${JSON.stringify(k)}:${v}`);
      }
      return `{${entries.join(",")}}`;
    }
    return undefined;
  };
  const encoded = encode(props, true);
  return encoded === undefined ? undefined : `${JSON.stringify(id)} ${encoded}`;
}

/**
 * A hash of everything a synth reads besides its props: the constructs, the
 * stacks, the cluster client shipped as an asset, this helper, and the
 * installed packages (the lockfile). An edit during a run only means misses.
 */
let sourceHash: string | undefined;
function sourcesFingerprint(): string {
  if (sourceHash) return sourceHash;
  const root = join(__dirname, "..", "..");
  const hash = createHash("sha256");
  const add = (path: string) => {
    const entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const full = join(path, e.name);
      if (e.isDirectory()) add(full);
      else if (e.isFile()) hash.update(`${full}\0`).update(readFileSync(full)).update("\0");
    }
  };
  for (const dir of ["constructs", "stacks"]) add(join(root, dir));
  for (const file of [join(__dirname, "synth.ts"), join(root, "package-lock.json"), join(root, "package.json")]) {
    if (existsSync(file)) hash.update(`${file}\0`).update(readFileSync(file)).update("\0");
  }
  sourceHash = hash.digest("hex");
  return sourceHash;
}

/**
 * The synthesized JSON text of a cluster for `id` and `props`, shared
 * between the test files of one jest run: read from the run's cache folder,
 * or built with `build` and written there (atomically: a concurrent worker
 * reads a whole file or none). Undefined when there is no cache folder (a
 * test run without scripts/jest-global-setup.js) or the props are not plain
 * data; the caller then synthesizes as usual.
 */
function cachedSynth<S>(id: string, props: MesosClusterStackProps, build: () => { stack: S; text: string }): { text: string; stack?: S } | undefined {
  const dir = process.env.MESOS_TEST_SYNTH_CACHE;
  if (!dir || !existsSync(dir)) return undefined;
  const key = propsKey(id, props);
  if (key === undefined) return undefined;
  const file = join(dir, `${createHash("sha256").update(sourcesFingerprint()).update("\0").update(key).digest("hex")}.json`);
  try {
    return { text: readFileSync(file, "utf8") };
  } catch {
    // Not synthesized yet in this run.
  }
  const built = build();
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, built.text);
  renameSync(tmp, file);
  return built;
}

/**
 * `cdktf synth` of the app (both stacks) with this environment and nothing else
 * configured (a test SSH key unless given, no config file, an empty home): the
 * synth output folder. Shared between the test files of one jest run like
 * {@link synthCluster}'s JSON (plan-diff, plan-diff-cli and replacement-table
 * diff the same configurations); the folder is read, never changed. Without the
 * run's cache folder, or with `fresh` (a second synth of one configuration, for
 * determinism checks), a new temporary folder.
 */
export function synthApp(env: Record<string, string>, options: { fresh?: boolean } = {}): string {
  const full = { CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, ...env };
  const synthTo = (outdir: string) => {
    const home = mkdtempSync(join(tmpdir(), "synth-app-home-"));
    try {
      buildApp({ config: loadAppConfig({ env: full, cwd: home, homeDir: home }), outdir }).app.synth();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  };
  const dir = process.env.MESOS_TEST_SYNTH_CACHE;
  if (options.fresh || !dir || !existsSync(dir)) {
    const outdir = mkdtempSync(join(tmpdir(), "synth-app-out-"));
    synthTo(outdir);
    return outdir;
  }
  const key = JSON.stringify(Object.entries(full).sort(([a], [b]) => (a < b ? -1 : 1)));
  const target = join(dir, `app-${createHash("sha256").update(sourcesFingerprint()).update("\0").update(key).digest("hex")}`);
  if (existsSync(join(target, "manifest.json"))) return target;
  const tmp = `${target}.${process.pid}.tmp`;
  synthTo(tmp);
  try {
    renameSync(tmp, target);
  } catch {
    // Another worker wrote the same output first: its copy is the same.
    rmSync(tmp, { recursive: true, force: true });
  }
  return target;
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

/** The image a unit runs (its `docker run`, read by the user data model). */
export function imageOf(doc: CloudConfigDoc, service: string): string {
  const unit = fileOf(doc, `/etc/systemd/system/${service}.service`);
  const model = readUserData(`#cloud-config\nwrite_files:\n  - path: /etc/systemd/system/${service}.service\n    content: ${JSON.stringify(unit)}\n`);
  const [run] = containerRuns(model);
  if (!run || run.problems.length > 0) throw new Error(`${service}.service: no container run found (${run?.problems.join("; ")})`);
  return run.image;
}

/** Units the document enables (from its `systemctl enable` commands). */
export function enabledUnits(doc: CloudConfigDoc): string[] {
  return doc.enabledUnits;
}

/**
 * One ingress rule as "destination <- source : port", groups by short name,
 * CIDRs literally; a UDP port reads `53/udp` (every other rule is TCP). On
 * Azure, groups of fixed machines are named by their static IPs: an address
 * list equal to a group's machines reads as the group.
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
      expect(["Tcp", "Udp"]).toContain(r.protocol);
      const udp = r.protocol === "Udp" ? "/udp" : "";
      const to = r.destination_address_prefixes
        ? named(r.destination_address_prefixes as string[])
        : (r.destination_application_security_group_ids as string[]).map((id) => short(String(resolveRef(json, id).name)));
      const from = r.source_application_security_group_ids
        ? (r.source_application_security_group_ids as string[]).map((id) => short(String(resolveRef(json, id).name)))
        : r.source_address_prefixes
          ? named(r.source_address_prefixes as string[])
          : [String(r.source_address_prefix)];
      for (const t of to) for (const f of from) rows.push(`${t} <- ${f} : ${r.destination_port_range}${udp}`);
    }
  } else {
    for (const r of Object.values(resourcesOf(json, "aws_vpc_security_group_ingress_rule"))) {
      expect(["tcp", "udp"]).toContain(r.ip_protocol);
      const to = short(String(resolveRef(json, r.security_group_id).name));
      const from = r.referenced_security_group_id ? short(String(resolveRef(json, r.referenced_security_group_id).name)) : String(r.cidr_ipv4);
      const port = r.from_port === r.to_port ? String(r.from_port) : `${r.from_port}-${r.to_port}`;
      rows.push(`${to} <- ${from} : ${port}${r.ip_protocol === "udp" ? "/udp" : ""}`);
    }
  }
  return rows.sort();
}
