/**
 * Checks every machine's and pool's user data with the real tools a CI
 * machine can run — cloud-init's schema validator, shellcheck and
 * systemd-analyze — plus the size limits, the documented Mesos and Marathon
 * flags and the ordering of the units. Used by `npm run validate`
 * (scripts/validate.ts) and by the tests, so the tests exercise exactly what
 * users run.
 */
import { spawn } from "child_process";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, Stats, writeFileSync } from "fs";
import { cpus, tmpdir } from "os";
import { dirname, join, posix } from "path";
import { DATA_DISK_UNIT, DATA_ROOT } from "../../constructs/internal";
import { Cloud, TfJson, UserDataNode, userDataNodes } from "./synth-output";
import { imageProcess, runtimeFindings } from "./effective-runtime";
import { CLOUD_INIT, missingToolMessage, SHELLCHECK, SYSTEMD_ANALYZE, toolAvailable, ToolSpec } from "./tools";
import {
  containerEnvironment,
  containerRuns,
  readUserData,
  shellScripts,
  splitExecLine,
  unitFiles,
  unitList,
  UNIT_DIR,
  UserDataModel,
} from "./user-data-model";

/** The six checks, in the order they are reported. */
export const CHECKS = ["schema", "size", "shellcheck", "flags", "systemd", "runtime"] as const;
export type CheckId = (typeof CHECKS)[number];

/** The tool each check needs (size and flags need none). */
export const CHECK_TOOLS: Partial<Record<CheckId, ToolSpec>> = { schema: CLOUD_INIT, shellcheck: SHELLCHECK, systemd: SYSTEMD_ANALYZE };

/** One problem found in one document. */
export interface Finding {
  readonly check: CheckId;
  /** Where in the document: a file path, a unit, `runcmd`, or `document`. */
  readonly where: string;
  readonly message: string;
}

/** A decoded user data document and where it comes from. */
export interface UserDataDocument {
  /** Stack name, e.g. `dev`. */
  readonly stack: string;
  /** Node group, e.g. `masters` or `agents`. */
  readonly group: string;
  /** Machine or pool name. */
  readonly name: string;
  readonly cloud: Cloud;
  /** The decoded document. */
  readonly text: string;
  readonly encoding: UserDataNode["encoding"];
  /** Bytes the cloud counts against its limit (the compressed size when gzipped). */
  readonly countedBytes: number;
  readonly limitBytes: number;
}

/** What happened to one check of one document. */
export interface CheckResult {
  readonly check: CheckId;
  /** `skipped`: asked not to run; `unavailable`: its tool or reference is missing. */
  readonly status: "ok" | "failed" | "skipped" | "unavailable";
  readonly findings: Finding[];
}

export interface DocumentReport {
  readonly document: UserDataDocument;
  readonly results: CheckResult[];
  /** Every finding of every check. */
  readonly findings: Finding[];
  /** No check found a problem (checks that did not run are not problems of the document). */
  readonly ok: boolean;
}

/** Flag names documented for Mesos 1.11 and Marathon 1.11, by process. */
export interface FlagReference {
  /** Where the list was read from. */
  readonly source: string;
  readonly mesos_master: ReadonlySet<string>;
  readonly mesos_agent: ReadonlySet<string>;
  readonly marathon: ReadonlySet<string>;
}

export interface ValidateOptions {
  /** Checks not to run. @default none */
  readonly skip?: readonly CheckId[];
  /** The documented flags; without it the flags check is `unavailable`. */
  readonly flags?: FlagReference;
}

/** The copy of ../shared/reference/flags.json this repository ships, so users' CI can check flags too. */
export const VENDORED_FLAGS_PATH = join(__dirname, "documented-flags.json");

export function loadFlagReference(path: string): FlagReference {
  const json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  const list = (key: string): ReadonlySet<string> => {
    const value = json[key];
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new Error(`${path}: "${key}" is not a list of flag names`);
    return new Set(value as string[]);
  };
  return { source: path, mesos_master: list("mesos_master"), mesos_agent: list("mesos_agent"), marathon: list("marathon") };
}

/** The node group of a machine or pool, from its construct path (or logical id): `ha/masters/machines-x/vm` -> `masters`. */
export function nodeGroupOf(node: UserDataNode): string {
  const segments = node.constructPath ? node.constructPath.split("/").slice(1) : node.address.split(".")[1].split("_");
  const end = segments.findIndex((s) => s.startsWith("machines"));
  return (end > 0 ? segments.slice(0, end) : segments.slice(0, -1)).join("/") || node.name;
}

/** The documents of one synthesized stack. */
export function documentsOf(stack: string, json: TfJson): UserDataDocument[] {
  return userDataNodes(json).map((n) => ({
    stack,
    group: nodeGroupOf(n),
    name: n.name,
    cloud: n.cloud,
    text: n.text,
    encoding: n.encoding,
    countedBytes: n.countedBytes,
    limitBytes: n.limitBytes,
  }));
}

// ---------------------------------------------------------------------------
// Running tools

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(argv: string[], timeoutMs = 60000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (c) => out.push(c));
    child.stderr.on("data", (c) => err.push(c));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    child.stdin.end();
  });
}

/** Maps with at most `limit` calls in flight (the tools are processes; a machine has few cores). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const PARALLEL = Math.max(2, cpus().length * 2);

function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

// ---------------------------------------------------------------------------
// 1. cloud-init schema

/** The interpreter of the installed `cloud-init` script (it may not be the first python3 on PATH). */
function cloudInitPython(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const path = join(dir, "cloud-init");
    if (!existsSync(path)) continue;
    const shebang = /^#!\s*(\S+)/.exec(readFileSync(path, "utf8").split("\n")[0]);
    return shebang?.[1];
  }
  return undefined;
}

/**
 * One Python process runs cloud-init's own validator over every document:
 * for each file it does what `cloud-init schema --config-file FILE` does
 * (cloud-init 22.4 cloudinit/config/schema.py handle_schema_args: get_schema(),
 * validate_cloudconfig_file(FILE, schema), then "Valid cloud-config: FILE" on
 * stdout, or cloudinit/util.py error(): "Error:\n<message>" on stderr), with
 * what it prints captured per file. Starting cloud-init once per document
 * cost ~0.4 s of CPU each, about 40 times per test run. It also prints the
 * schema's top-level keys (see cloudInitTopLevelKeys).
 */
const SCHEMA_PROGRAM = [
  "import contextlib, io, json, sys",
  "from cloudinit.config.schema import SchemaValidationError, get_schema, validate_cloudconfig_file",
  "schema = get_schema()",
  "keys = set(schema.get('properties', {}))",
  "for ref in schema.get('allOf', []):",
  "    keys.update(schema['$defs'][ref['$ref'].split('/')[-1]].get('properties', {}))",
  "results = []",
  "for path in sys.argv[1:]:",
  "    out, err, code = io.StringIO(), io.StringIO(), 0",
  "    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):",
  "        try:",
  "            validate_cloudconfig_file(path, schema, False)",
  "        except (SchemaValidationError, RuntimeError) as e:",
  "            print('Error:\\n{}'.format(e), file=sys.stderr)",
  "            code = 1",
  "        else:",
  "            print('Valid cloud-config:', path)",
  "    results.append({'code': code, 'stdout': out.getvalue(), 'stderr': err.getvalue()})",
  "print(json.dumps({'keys': sorted(keys), 'results': results}))",
].join("\n");

interface SchemaRun {
  readonly keys: string[];
  readonly results: RunResult[];
}

/** Runs SCHEMA_PROGRAM over `files` with the installed cloud-init's interpreter; undefined without one. */
async function runSchemaProgram(files: string[]): Promise<SchemaRun | undefined> {
  const python = cloudInitPython();
  if (!python) return undefined;
  const r = await run([python, "-c", SCHEMA_PROGRAM, ...files], 120000);
  if (r.code !== 0) throw new Error(`cloud-init's validator (${python} with cloudinit.config.schema) failed: exit ${r.code}: ${r.stderr.trim().split("\n").slice(-3).join(" ")}`);
  return JSON.parse(r.stdout) as SchemaRun;
}

let topLevelKeys: Promise<Set<string> | undefined> | undefined;

/**
 * Top-level keys the installed cloud-init's own schema defines. cloud-init
 * 22.4 accepts any other top-level key as valid and then ignores it at boot,
 * so a typo such as `runcmnd:` would pass its validator unnoticed.
 */
export function cloudInitTopLevelKeys(): Promise<Set<string> | undefined> {
  topLevelKeys ??= runSchemaProgram([])
    .then((r) => (r ? new Set(r.keys) : undefined))
    .catch(() => undefined);
  return topLevelKeys;
}

/** Validates `texts` as `cloud-init schema --config-file` would, one result per text, in one process. */
export async function cloudInitSchema(texts: readonly string[]): Promise<{ keys: Set<string>; results: RunResult[] } | undefined> {
  return withTempDir("user-data-schema-", async (dir) => {
    const files = texts.map((text, i) => {
      const file = join(dir, `${i}.yaml`);
      writeFileSync(file, text);
      return file;
    });
    const r = await runSchemaProgram(files);
    if (!r) return undefined;
    topLevelKeys ??= Promise.resolve(new Set(r.keys));
    // Messages name the document, not the temporary file.
    const results = r.results.map((res, i) => ({ ...res, stdout: res.stdout.split(files[i]).join("(document)"), stderr: res.stderr.split(files[i]).join("(document)") }));
    return { keys: new Set(r.keys), results };
  });
}

async function checkSchema(docs: readonly UserDataDocument[], models: (UserDataModel | Error)[]): Promise<Finding[][]> {
  const batch = await cloudInitSchema(docs.map((d) => d.text));
  if (!batch) throw new Error("cloud-init's Python interpreter was not found (the cloud-init script on PATH names it)");
  return docs.map((_, i) => {
    const r = batch.results[i];
    const findings: Finding[] = [];
    // 22.4 says "Valid cloud-config: FILE"; later releases say "Valid schema FILE".
    if (r.code !== 0 || !/^\s*Valid (cloud-config|schema)\b/m.test(r.stdout)) {
      // Drop the tool's empty headings ("Error:", a deprecations heading with nothing under it).
      const message = `${r.stdout}\n${r.stderr}`
        .replace(/^(Error:|Cloud config schema deprecations:)\s*$/gm, "")
        .replace(/\s+/g, " ")
        .trim();
      findings.push({ check: "schema", where: "document", message: `cloud-init schema: ${message || `exit ${r.code}`}` });
    }
    const model = models[i];
    if (!(model instanceof Error)) {
      for (const key of Object.keys(model.raw)) {
        if (!batch.keys.has(key)) findings.push({ check: "schema", where: key, message: `top-level key "${key}" is not in cloud-init's schema: cloud-init would ignore it` });
      }
    }
    return findings;
  });
}

// ---------------------------------------------------------------------------
// 2. size

/** `8.4 KiB of 64 KiB (87% free, base64)`. */
export function describeSize(doc: UserDataDocument): string {
  const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  const free = Math.floor(((doc.limitBytes - doc.countedBytes) / doc.limitBytes) * 100);
  const decoded = doc.encoding === "gzip+base64" ? `, ${kib(Buffer.byteLength(doc.text))} decoded` : "";
  const margin = free >= 0 ? `${free}% free` : `${kib(doc.countedBytes - doc.limitBytes)} OVER`;
  return `${kib(doc.countedBytes)} of ${kib(doc.limitBytes)} (${margin}, ${doc.encoding}${decoded})`;
}

function checkSize(doc: UserDataDocument): Finding[] {
  if (doc.countedBytes <= doc.limitBytes) return [];
  const counted = doc.encoding === "gzip+base64" ? "gzipped" : "raw";
  return [
    {
      check: "size",
      where: "document",
      message: `${doc.countedBytes} bytes (${counted}) exceed ${doc.cloud}'s user data limit of ${doc.limitBytes} bytes by ${doc.countedBytes - doc.limitBytes}`,
    },
  ];
}

// ---------------------------------------------------------------------------
// 3. shellcheck

interface ShellcheckComment {
  file: string;
  line: number;
  column: number;
  level: string;
  code: number;
  message: string;
}

/**
 * One shellcheck run over every script of every document (`-S warning`).
 * A script several documents carry (the masters of one stack share most of
 * theirs: half the scripts of a dev+ha synth) is checked once and its
 * findings go to each document.
 */
async function checkShell(models: (UserDataModel | Error)[]): Promise<Finding[][]> {
  const findings: Finding[][] = models.map(() => []);
  return withTempDir("user-data-shell-", async (dir) => {
    type Owner = { doc: number; where: string; headerLines: number; exclude: string[] };
    const files = new Map<string, string>();
    const owners = new Map<string, Owner[]>();
    models.forEach((model, doc) => {
      if (model instanceof Error) return;
      for (const script of shellScripts(model)) {
        let file = files.get(script.text);
        if (!file) {
          file = join(dir, `${files.size}.sh`);
          writeFileSync(file, script.text);
          files.set(script.text, file);
          owners.set(file, []);
        }
        owners.get(file)!.push({ doc, where: script.where, headerLines: script.headerLines, exclude: script.exclude });
      }
    });
    if (owners.size === 0) return findings;
    const r = await run(["shellcheck", "-S", "warning", "-f", "json1", ...owners.keys()]);
    if (r.code !== 0 && r.code !== 1) throw new Error(`shellcheck failed (exit ${r.code}): ${r.stderr.trim()}`);
    for (const c of (JSON.parse(r.stdout) as { comments: ShellcheckComment[] }).comments) {
      for (const owner of owners.get(c.file) ?? []) {
        if (owner.exclude.includes(`SC${c.code}`)) continue;
        findings[owner.doc].push({
          check: "shellcheck",
          where: owner.where,
          message: `line ${c.line - owner.headerLines}: SC${c.code} (${c.level}): ${c.message}`,
        });
      }
    }
    return findings;
  });
}

// ---------------------------------------------------------------------------
// 4. documented flags

/** The flag list of the process an image runs (effective-runtime.ts knows which image runs what). */
const FLAG_LISTS: Partial<Record<string, "mesos_master" | "mesos_agent" | "marathon">> = {
  "mesos-master": "mesos_master",
  "mesos-agent": "mesos_agent",
  marathon: "marathon",
};

function processOf(image: string): "mesos_master" | "mesos_agent" | "marathon" | undefined {
  const proc = imageProcess(image);
  return proc ? FLAG_LISTS[proc] : undefined;
}

/**
 * Flags the processes define in their source that the documented lists leave
 * out, each with where it is defined. The documented lists stay a verbatim
 * copy of the reference; these are added to them.
 */
export const UNDOCUMENTED_FLAGS: Record<"mesos_master" | "mesos_agent" | "marathon", Record<string, string>> = {
  mesos_master: {},
  mesos_agent: {},
  marathon: {
    // `toggle("mesos_authentication", prefix = "disable_")`; the driver sends the principal and
    // secret only when it is on: MarathonSchedulerDriver `if (config.mesosAuthentication()) credentials else None`.
    mesos_authentication: "mesosphere/marathon v1.8.244 src/main/scala/mesosphere/marathon/MarathonConf.scala",
    // `opt[String]("default_accepted_resource_roles", ...)`, validated against the roles Marathon gets offers
    // for (`--mesos_role` and `*`); what an edge pool (discovery dns+lb) sets to `*`.
    default_accepted_resource_roles: "mesosphere/marathon v1.8.244 src/main/scala/mesosphere/marathon/MarathonConf.scala l.142-165",
  },
};

/**
 * Every `MESOS_*` / `MARATHON_*` variable and `--flag` a Mesos or Marathon
 * container gets must be a documented flag of that process, and set once.
 * (`LIBPROCESS_*` and other variables configure libraries, not flags.)
 */
function checkFlags(model: UserDataModel, ref: FlagReference): Finding[] {
  const findings: Finding[] = [];
  for (const run of containerRuns(model)) {
    const proc = processOf(run.image);
    if (!proc) continue;
    const where = run.unit.unit;
    const known = new Set([...ref[proc], ...Object.keys(UNDOCUMENTED_FLAGS[proc])]);
    const prefix = proc === "marathon" ? "MARATHON_" : "MESOS_";
    const seen = new Map<string, string>();
    const note = (flag: string, how: string) => {
      if (!known.has(flag) && !(proc !== "marathon" && flag.startsWith("no_") && known.has(flag.slice(3)))) {
        findings.push({ check: "flags", where, message: `${how} sets "${flag}", which is not a documented ${proc.replace("_", " ")} flag` });
      }
      const before = seen.get(flag);
      if (before) findings.push({ check: "flags", where, message: `"${flag}" is set twice (${before} and ${how})` });
      seen.set(flag, how);
    };
    const { env, unresolved } = containerEnvironment(model, run);
    for (const path of unresolved) findings.push({ check: "flags", where, message: `--env-file ${path} is neither in the document nor written by a script in it` });
    for (const key of Object.keys(env)) if (key.startsWith(prefix)) note(key.slice(prefix.length).toLowerCase(), key);
    for (const arg of run.args) {
      if (!arg.startsWith("--")) continue;
      // Mesos negates a boolean as --no-flag.
      const name = arg.slice(2).split("=")[0];
      note(proc === "marathon" ? name : name.replace(/^no-/, "no_"), arg.split("=")[0]);
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------
// 5. systemd units

/**
 * What the packages a document installs put on an Ubuntu machine, stubbed in
 * the verification root: the executables units run and the units they name.
 */
const PACKAGE_STUBS: Record<string, { executables: string[]; units: Record<string, string> }> = {
  "docker-ce": {
    executables: ["/usr/bin/dockerd"],
    units: {
      "docker.service": [
        "[Unit]",
        "Description=Docker Application Container Engine (stub of docker-ce's unit)",
        "After=network-online.target docker.socket containerd.service",
        "Wants=network-online.target containerd.service",
        "Requires=docker.socket",
        "[Service]",
        "Type=notify",
        "ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
      ].join("\n"),
      "docker.socket": ["[Unit]", "Description=Docker Socket (stub)", "[Socket]", "ListenStream=/run/docker.sock", "[Install]", "WantedBy=sockets.target", ""].join("\n"),
    },
  },
  "docker-ce-cli": { executables: ["/usr/bin/docker"], units: {} },
  "containerd.io": {
    executables: ["/usr/bin/containerd"],
    units: { "containerd.service": ["[Unit]", "Description=containerd (stub)", "[Service]", "ExecStart=/usr/bin/containerd", ""].join("\n") },
  },
  // Debian/Ubuntu's stunnel4 (dpkg -c): the daemon as /usr/bin/stunnel4, /usr/bin/stunnel links to it.
  stunnel4: { executables: ["/usr/bin/stunnel4", "/usr/bin/stunnel"], units: {} },
  // Debian/Ubuntu's nftables (dpkg -L nftables): the nft command in /usr/sbin; its nftables.service stays disabled.
  nftables: { executables: ["/usr/sbin/nft"], units: {} },
};

/**
 * The executables a package this table does not know is assumed to provide:
 * one named after it in a system bin directory (nginx: /usr/sbin/nginx).
 * Anything else a unit runs must come from the document, a known package or
 * the base system.
 */
function assumedExecutables(pkg: string): string[] {
  return PACKAGE_STUBS[pkg] ? [] : ["/usr/bin", "/usr/sbin", "/bin", "/sbin"].map((dir) => `${dir}/${pkg}`);
}

const PACKAGED_EXECUTABLES = new Set(Object.values(PACKAGE_STUBS).flatMap((p) => p.executables));

/** The host's own systemd units (targets, basic services), standing in for the Ubuntu image's. */
function systemUnitDir(): string {
  return ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => existsSync(join(d, "multi-user.target"))) ?? "/usr/lib/systemd/system";
}

const BASE_UNITS = "usr/lib/systemd/system";

/**
 * A root for `systemd-analyze verify --root`: the host's units under
 * usr/lib/systemd/system, plus one document's files at a time. Copying the
 * host's unit tree (about 300 files and links) for every document was most
 * of this check's cost (0.2 CPU-seconds a document, mostly the kernel's), so
 * a root is made once per process and concurrent check and kept in a pool:
 * `write` records what it adds, `release` takes it away again and copies back
 * any host unit a document replaced, so the next document sees the host's
 * tree and nothing else. The roots are removed when the process exits.
 */
class UnitRoot {
  private static readonly idle: UnitRoot[] = [];
  private static readonly made: string[] = [];

  static get madeCount(): number {
    return UnitRoot.made.length;
  }

  /** An idle root, or a new one. (A root whose folder is gone, e.g. with the temporary folder of an earlier jest run, is dropped.) */
  static take(): UnitRoot {
    for (let idle = UnitRoot.idle.pop(); idle; idle = UnitRoot.idle.pop()) {
      if (existsSync(join(idle.dir, BASE_UNITS))) return idle;
    }
    const dir = mkdtempSync(join(tmpdir(), "user-data-units-"));
    if (UnitRoot.made.length === 0) process.once("exit", () => UnitRoot.made.forEach((d) => rmSync(d, { recursive: true, force: true })));
    UnitRoot.made.push(dir);
    cpSync(systemUnitDir(), join(dir, BASE_UNITS), { recursive: true, verbatimSymlinks: true });
    return new UnitRoot(dir);
  }

  /** Files written, and the host units among them. (The directories made for them stay: empty, they change nothing.) */
  private readonly written = new Set<string>();
  private readonly replaced = new Set<string>();

  private constructor(readonly dir: string) {}

  /** The host's own file behind a path of the root's unit folder; undefined elsewhere in the root. */
  private hostPathOf(full: string): string | undefined {
    const base = join(this.dir, BASE_UNITS) + "/";
    return full.startsWith(base) ? join(systemUnitDir(), full.slice(base.length)) : undefined;
  }

  /** Writes `path` (absolute on the machine) into the root. Whatever is there is removed first: a host unit may be a link to /dev/null or outside the root. */
  write(path: string, content: string, mode = 0o644): void {
    const full = join(this.dir, path);
    if (!full.startsWith(this.dir + "/")) throw new Error(`${path}: a path that leaves the machine's root`);
    mkdirSync(dirname(full), { recursive: true });
    // A host unit is copied back by release(); anything else there is a folder an earlier document's files left (empty).
    if (!this.written.has(full) && lstatOrUndefined(full) && lstatOrUndefined(this.hostPathOf(full))) this.replaced.add(full);
    rmSync(full, { force: true, recursive: true });
    writeFileSync(full, content);
    chmodSync(full, mode);
    this.written.add(full);
  }

  /** Back to the host's units alone, and into the pool. */
  release(): void {
    for (const f of this.written) rmSync(f, { force: true });
    for (const f of this.replaced) cpSync(this.hostPathOf(f)!, f, { recursive: true, verbatimSymlinks: true });
    this.written.clear();
    this.replaced.clear();
    UnitRoot.idle.push(this);
  }
}

/** How many systemd check roots this process has made (the tests check that documents share them). */
export function unitRootsMade(): number {
  return UnitRoot.madeCount;
}

function lstatOrUndefined(path: string | undefined): Stats | undefined {
  if (path === undefined) return undefined;
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Adds to a root (UnitRoot) the document's files (as cloud-init writes them)
 * and the installed packages' stubs, then runs `systemd-analyze verify
 * --root` on every unit the document writes or extends. Any line it prints
 * is a finding.
 */
async function verifyUnits(model: UserDataModel): Promise<Finding[]> {
  const units = unitFiles(model);
  if (units.length === 0) return [];
  const unitRoot = UnitRoot.take();
  const root = unitRoot.dir;
  try {
    for (const pkg of model.packages) {
      const stub = PACKAGE_STUBS[pkg] ?? { executables: assumedExecutables(pkg), units: {} };
      for (const exe of stub.executables) unitRoot.write(exe, "#!/bin/sh\n", 0o755);
      for (const [name, text] of Object.entries(stub.units)) unitRoot.write(join("/", BASE_UNITS, name), text);
    }
    const findings: Finding[] = [];
    for (const f of model.files) {
      if (posix.normalize(f.path) === f.path && f.path.startsWith("/")) unitRoot.write(f.path, f.content, parseInt(f.permissions, 8));
      else findings.push({ check: "systemd", where: f.path, message: "write_files path is not absolute and normal (no \"..\", \".\" or doubled \"/\"): not written into the check's root" });
    }
    // systemd-analyze verify checks only the first command of each Exec kind (and none marked "-"), so every one is checked here.
    for (const unit of units) {
      for (const [key, values] of unit.sections.get("Service") ?? []) {
        if (!key.startsWith("Exec")) continue;
        for (const value of values) {
          const exe = splitExecLine(value)[0];
          if (!exe?.startsWith("/") || existsSync(join(root, exe))) continue;
          // Executables of the base system (e.g. /bin/sh) exist on Ubuntu as on this host; packaged ones only when installed.
          if (existsSync(exe) && !PACKAGED_EXECUTABLES.has(exe)) unitRoot.write(exe, "#!/bin/sh\n", 0o755);
          else findings.push({ check: "systemd", where: unit.unit, message: `${key}= runs ${exe}, which neither the document, an installed package nor the base system provides` });
        }
      }
    }
    const names = [...new Set(units.map((u) => u.unit))];
    const r = await run(["systemd-analyze", "verify", `--root=${root}`, "--man=no", "--generators=no", ...names]);
    const lines = `${r.stdout}\n${r.stderr}`.split("\n").map((l) => l.split(root).join("").trim()).filter(Boolean);
    findings.push(...lines.map((line): Finding => ({ check: "systemd", where: names.find((n) => line.includes(n)) ?? "units", message: `systemd-analyze verify: ${line}` })));
    if (r.code !== 0 && findings.length === 0) findings.push({ check: "systemd", where: "units", message: `systemd-analyze verify exited ${r.code}` });
    return findings;
  } finally {
    unitRoot.release();
  }
}

/**
 * What verify does not judge: a container unit must start after docker and
 * the network (and pull the network in), and after the data disk when it
 * keeps data there; every unit the document enables must exist.
 */
export function checkUnitOrdering(model: UserDataModel): Finding[] {
  const findings: Finding[] = [];
  const units = unitFiles(model).filter((u) => !u.dropIn);
  const hasDataDisk = units.some((u) => u.unit === DATA_DISK_UNIT);
  for (const run of containerRuns(model)) {
    const unit = run.unit;
    if (unit.dropIn) continue;
    const after = unitList(unit, "Unit", "After");
    const requires = [...unitList(unit, "Unit", "Requires"), ...unitList(unit, "Unit", "BindsTo")];
    const wants = [...unitList(unit, "Unit", "Wants"), ...requires];
    const need = (list: string[], dep: string, key: string, why: string) => {
      if (!list.includes(dep)) findings.push({ check: "systemd", where: unit.unit, message: `${key} lacks ${dep}: ${why}` });
    };
    need(after, "docker.service", "After=", "the container needs the Docker engine up");
    need(requires, "docker.service", "Requires=", "without the engine the container cannot run");
    need(after, "network-online.target", "After=", "the service talks to other machines from its first second");
    need(wants, "network-online.target", "Wants=", "After= alone does not pull network-online.target in");
    const stateful = run.volumes.some((v) => v.split(":")[0] === DATA_ROOT || v.startsWith(`${DATA_ROOT}/`));
    if (hasDataDisk && stateful) {
      need(after, DATA_DISK_UNIT, "After=", `it keeps data under ${DATA_ROOT}, the data disk's mount point`);
      need(requires, DATA_DISK_UNIT, "Requires=", `without the data disk its data would land on the OS disk`);
    }
  }
  const provided = new Set(model.packages.flatMap((p) => Object.keys(PACKAGE_STUBS[p]?.units ?? {})));
  for (const name of model.enabledUnits) {
    if (!units.some((u) => u.unit === name) && !provided.has(name)) {
      findings.push({ check: "systemd", where: name, message: `runcmd enables ${name}, which neither the document (${UNIT_DIR}) nor an installed package provides` });
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------
// All checks

/** Runs the checks on documents; the tools run concurrently across documents. */
export async function validateDocuments(docs: readonly UserDataDocument[], options: ValidateOptions = {}): Promise<DocumentReport[]> {
  const models = docs.map((d) => {
    try {
      return readUserData(d.text);
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  });
  const skip = new Set(options.skip ?? []);
  const available = (check: CheckId): boolean => {
    const tool = CHECK_TOOLS[check];
    return !tool || toolAvailable(tool.probe);
  };
  const wanted = (check: CheckId) => !skip.has(check) && available(check) && (check !== "flags" || options.flags !== undefined);

  const [schema, shell, units] = await Promise.all([
    wanted("schema") ? checkSchema(docs, models) : undefined,
    wanted("shellcheck") ? checkShell(models) : undefined,
    wanted("systemd") ? mapLimit(models, PARALLEL, (m) => (m instanceof Error ? Promise.resolve([]) : verifyUnits(m))) : undefined,
  ]);

  return docs.map((document, i) => {
    const model = models[i];
    const unreadable = (check: CheckId): Finding[] =>
      model instanceof Error ? [{ check, where: "document", message: `cannot read the document: ${model.message.split("\n")[0]}` }] : [];
    const perCheck: Record<CheckId, () => Finding[]> = {
      schema: () => schema![i],
      size: () => checkSize(document),
      shellcheck: () => [...unreadable("shellcheck"), ...shell![i]],
      flags: () => (model instanceof Error ? unreadable("flags") : checkFlags(model, options.flags!)),
      systemd: () => (model instanceof Error ? unreadable("systemd") : [...units![i], ...checkUnitOrdering(model)]),
      runtime: () => (model instanceof Error ? unreadable("runtime") : runtimeFindings(model).map((f) => ({ check: "runtime" as const, ...f }))),
    };
    const results: CheckResult[] = CHECKS.map((check) => {
      if (skip.has(check)) return { check, status: "skipped", findings: [] };
      if (!wanted(check)) return { check, status: "unavailable", findings: [] };
      const findings = perCheck[check]();
      return { check, status: findings.length > 0 ? "failed" : "ok", findings };
    });
    const findings = results.flatMap((r) => r.findings);
    return { document, results, findings, ok: findings.length === 0 };
  });
}

/** Why a check could not run, for the report. */
export function unavailableReason(check: CheckId, options: ValidateOptions): string {
  const tool = CHECK_TOOLS[check];
  if (tool && !toolAvailable(tool.probe)) return `${missingToolMessage(tool)}, or pass --skip ${check}`;
  if (check === "flags" && !options.flags) return "no flag reference was given (--flags FILE), or pass --skip flags";
  return "not run";
}

/** One line per document: stack, group, name, cloud, verdict, size. Columns are aligned across the lines. */
export function summaryLines(reports: readonly DocumentReport[]): string[] {
  const rows = reports.map((r) => [r.document.stack, r.document.group, r.document.name, r.document.cloud, r.ok ? "OK" : "FAIL", describeSize(r.document)]);
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => row[c].length))) ?? [];
  return rows.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join("  "));
}

/** The findings of failed documents, indented under their name. */
export function findingLines(reports: readonly DocumentReport[]): string[] {
  const lines: string[] = [];
  for (const r of reports.filter((x) => !x.ok)) {
    lines.push(`${r.document.stack} ${r.document.name} (${r.document.cloud}):`);
    for (const f of r.findings) lines.push(`  ${f.check.padEnd(10)} ${f.where}: ${f.message}`);
  }
  return lines;
}
