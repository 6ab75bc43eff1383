/**
 * What each process on a machine will really run with, computed from its
 * decoded user data the way the machine computes it:
 *
 * - a container's argv is the image's ENTRYPOINT followed by the arguments
 *   after the image in `docker run`, or by the image's CMD when there are
 *   none (`--entrypoint` replaces the ENTRYPOINT and drops the CMD) — the
 *   image facts come from constructs/core/image-facts.ts;
 * - its environment is its env files in order, then `-e` settings;
 * - a Mesos flag given on the command line beats `MESOS_<FLAG>` in the
 *   environment (apache/mesos 3rdparty/stout/include/stout/flags/flags.hpp,
 *   FlagsBase::load); Marathon takes a flag from `MARATHON_<FLAG>` or the
 *   command line, never both;
 * - the Docker engine's version is the pinned `docker-ce` package, and its
 *   API floor is `DOCKER_MIN_API_VERSION` from its unit (default 1.24 on
 *   25-28; 26.0 and later refuse to start below 1.24: moby v27.5.1
 *   daemon/config/config.go ValidateMinAPIVersion; 25.0.x accepts down to
 *   1.12: moby v25.0.5 daemon/config/config_linux.go).
 *
 * `runtimeFindings` turns these into the `runtime` check of
 * `npm run validate`; `explainLines` prints them (`--explain`).
 */
import { acceptsApiFloorBelowDefault, apiVersionAtLeast, DATA_ROOT, DOCKER_DEFAULT_MIN_API, imageFacts, ImageFacts } from "../../constructs/internal";
import { containerEnvironment, containerRuns, ContainerRun, fileAt, imageName, parseUnit, splitExecLine, unitFiles, UserDataModel } from "./user-data-model";

export { DOCKER_DEFAULT_MIN_API } from "../../constructs/internal";
/** The oldest API a 25.0.x engine accepts through DOCKER_MIN_API_VERSION. */
export const DOCKER_25_LOWEST_MIN_API = "1.12";
/** The API version classic Swarm 1.2.8 pins for StartContainer (samalba/dockerclient). */
export const SWARM_START_CONTAINER_API = "1.15";
/** What classic Swarm assumes an agent's engine listens on without a docker_port attribute. */
export const SWARM_DEFAULT_ENGINE_PORT = 2375;

/** Where a flag's effective value comes from. */
export type FlagSource = "command line" | "image CMD" | "environment";

/** One process a container unit runs. */
export interface EffectiveProcess {
  /** The unit, e.g. `mesos-master.service`. */
  readonly unit: string;
  readonly image: string;
  /** The image's facts, when recorded. */
  readonly facts?: ImageFacts;
  /** ENTRYPOINT + arguments (or CMD); undefined when the image's facts are unknown. */
  readonly argv?: string[];
  /** The arguments after the image in `docker run` (known whatever the image). */
  readonly args: string[];
  /** The container's environment (values written at boot are empty). */
  readonly env: Record<string, string>;
  /** Effective flags of a Mesos or Marathon process (name to value), with their source. */
  readonly flags: Record<string, { value: string; source: FlagSource }>;
  /** `--cluster-opt` values of a Swarm manager. */
  readonly clusterOpts: Record<string, string>;
  /** Bind mounts, `HOST:CONTAINER[:opts]`. */
  readonly volumes: string[];
  /** Problems found while computing (shadowed environment, a flag given twice). */
  readonly notes: string[];
}

/** The Docker engine a machine installs and how its unit starts it. */
export interface EffectiveEngine {
  /** The pinned docker-ce version (upstream form, e.g. `25.0.5`), or undefined when unpinned. */
  readonly version?: string;
  /** `DOCKER_MIN_API_VERSION` from the unit, if set. */
  readonly minApiFromEnv?: string;
  /** The API floor the engine runs with, or undefined when it refuses to start. */
  readonly minApi?: string;
  /** Why dockerd would refuse to start, if it would. */
  readonly refusesToStart?: string;
  /** TCP ports it listens on (`-H tcp://...`). */
  readonly tcpPorts: number[];
  /**
   * TCP ports a host firewall limits before dockerd starts: an nftables file
   * loaded by a unit docker.service requires, with a `tcp dport N ... drop`.
   */
  readonly firewalledPorts: number[];
}

/** Everything the runtime check knows about one machine. */
export interface EffectiveRuntime {
  readonly engine: EffectiveEngine;
  readonly processes: EffectiveProcess[];
}

/** The engine as its package pin and unit (and drop-ins) say. */
export function effectiveEngine(model: UserDataModel): EffectiveEngine {
  const pinned = (model.raw.packages as unknown[] | undefined)?.find((p): p is string[] => Array.isArray(p) && p[0] === "docker-ce");
  const version = pinned ? /^(?:\d+:)?(\d+\.\d+\.\d+)/.exec(String(pinned[1]))?.[1] : undefined;
  let minApiFromEnv: string | undefined;
  let execStart: string[] | undefined;
  const units = unitFiles(model);
  const firewalledPorts: number[] = [];
  for (const unit of units.filter((u) => u.unit === "docker.service")) {
    for (const required of unit.sections.get("Unit")?.get("Requires")?.flatMap((v) => v.split(/\s+/)) ?? []) {
      for (const exec of units.find((u) => u.unit === required && !u.dropIn)?.sections.get("Service")?.get("ExecStart") ?? []) {
        const argv = splitExecLine(exec);
        if (!/(^|\/)nft$/.test(argv[0] ?? "") || argv[1] !== "-f") continue;
        for (const m of (fileAt(model, argv[2])?.content ?? "").matchAll(/^\s*tcp dport (\d+)\b.*\bdrop\s*$/gm)) firewalledPorts.push(Number(m[1]));
      }
    }
    const service = unit.sections.get("Service");
    for (const value of service?.get("Environment") ?? []) {
      for (const m of value.matchAll(/"?DOCKER_MIN_API_VERSION=([0-9.]+)"?/g)) minApiFromEnv = m[1];
    }
    // An empty ExecStart= resets; the last non-empty one is what runs.
    for (const value of service?.get("ExecStart") ?? []) execStart = value === "" ? undefined : splitExecLine(value);
  }
  const tcpPorts: number[] = [];
  const argv = execStart ?? [];
  for (let i = 0; i < argv.length; i++) {
    const host = argv[i] === "-H" || argv[i] === "--host" ? argv[i + 1] : /^(?:-H|--host)=(.*)$/.exec(argv[i])?.[1];
    const port = host && /^tcp:\/\/[^:]*:(\d+)$/.exec(host)?.[1];
    if (port) tcpPorts.push(Number(port));
  }
  let minApi: string | undefined = minApiFromEnv ?? DOCKER_DEFAULT_MIN_API;
  let refusesToStart: string | undefined;
  if (minApiFromEnv && !apiVersionAtLeast(minApiFromEnv, DOCKER_DEFAULT_MIN_API)) {
    if (version !== undefined && !acceptsApiFloorBelowDefault(version)) {
      refusesToStart = `Docker ${version} refuses to start with DOCKER_MIN_API_VERSION=${minApiFromEnv} ("invalid DOCKER_MIN_API_VERSION: minimum supported API version is 1.24"; only 25.0.x accepts values down to 1.12)`;
      minApi = undefined;
    } else if (!apiVersionAtLeast(minApiFromEnv, DOCKER_25_LOWEST_MIN_API)) {
      refusesToStart = `DOCKER_MIN_API_VERSION=${minApiFromEnv} is below 1.12, the lowest any engine accepts`;
      minApi = undefined;
    }
  }
  return { version, minApiFromEnv, minApi, refusesToStart, tcpPorts, firewalledPorts };
}

/** Parses `--name=value`, `--name` (true) and `--no-name` (false), the only forms stout reads. */
function mesosArgFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (const arg of args) {
    if (!arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (arg.startsWith("--no-")) flags.set(arg.slice(5).replace(/-/g, "_"), "false");
    else flags.set(arg.slice(2), "true");
  }
  return flags;
}

/** Parses Marathon's (Scallop's) `--name value` and `--name` switches. */
function marathonArgFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith("--")) continue;
    const eq = args[i].indexOf("=");
    if (eq > 0) flags.set(args[i].slice(2, eq), args[i].slice(eq + 1));
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) flags.set(args[i].slice(2), args[++i]);
    else flags.set(args[i].slice(2), "");
  }
  return flags;
}

/** Computes one container's process. */
export function effectiveProcess(model: UserDataModel, run: ContainerRun): EffectiveProcess {
  const facts = imageFacts(run.image);
  const { env } = containerEnvironment(model, run);
  const notes: string[] = [];
  const argsGiven = run.args.length > 0;
  const entrypointOverride = run.entrypoint;
  let argv: string[] | undefined;
  let fromCmd: string[] = [];
  if (entrypointOverride !== undefined) argv = [entrypointOverride, ...run.args];
  else if (facts) {
    fromCmd = argsGiven ? [] : [...facts.cmd];
    argv = [...facts.entrypoint, ...(argsGiven ? run.args : facts.cmd)];
  }
  const args = argv ? argv.slice(entrypointOverride !== undefined ? 1 : (facts?.entrypoint.length ?? 0)) : run.args;

  const flags: Record<string, { value: string; source: FlagSource }> = {};
  const process = imageProcess(run.image);
  if (process === "mesos-master" || process === "mesos-agent") {
    for (const [key, value] of Object.entries(env)) {
      if (key.startsWith("MESOS_")) flags[key.slice(6).toLowerCase()] = { value, source: "environment" };
    }
    const cmdFlags = mesosArgFlags(fromCmd);
    for (const [name, value] of mesosArgFlags(args)) {
      const source: FlagSource = cmdFlags.has(name) ? "image CMD" : "command line";
      const before = flags[name];
      if (before && before.source === "environment" && before.value !== value) {
        notes.push(`MESOS_${name.toUpperCase()}=${before.value} is overridden by the ${source} --${name}=${value} (a command-line flag beats the environment: stout flags.hpp)`);
      }
      flags[name] = { value, source };
    }
  } else if (process === "marathon") {
    for (const [key, value] of Object.entries(env)) {
      if (key.startsWith("MARATHON_")) flags[key.slice(9).toLowerCase()] = { value, source: "environment" };
    }
    for (const [name, value] of marathonArgFlags(args)) {
      if (flags[name]) notes.push(`--${name} is given both as MARATHON_${name.toUpperCase()} and on the command line (Marathon refuses a flag given twice)`);
      flags[name] = { value, source: "command line" };
    }
  }
  const clusterOpts: Record<string, string> = {};
  if (process === "swarm") {
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "--cluster-opt" && args[i + 1]) {
        const [k, ...v] = args[++i].split("=");
        clusterOpts[k] = v.join("=");
      }
    }
  }
  return { unit: run.unit.unit, image: run.image, facts, argv, args: run.args, env, flags, clusterOpts, volumes: run.volumes, notes };
}

/** The process an image runs: from its recorded facts, else from its repository's name (a user's own build). */
export function imageProcess(image: string): ImageFacts["process"] | undefined {
  const known = imageFacts(image)?.process;
  if (known) return known;
  const name = imageName(image);
  if (name === "mesos-master") return "mesos-master";
  if (name === "mesos-slave" || name === "mesos-agent") return "mesos-agent";
  if (name === "marathon") return "marathon";
  if (name === "swarm") return "swarm";
  if (name === "zookeeper") return "zookeeper";
  return undefined;
}

/** The engine and every container process of a document. */
export function effectiveRuntime(model: UserDataModel): EffectiveRuntime {
  return { engine: effectiveEngine(model), processes: containerRuns(model).map((run) => effectiveProcess(model, run)) };
}

/** The process of a kind, if the document runs one. */
export function processOf(runtime: EffectiveRuntime, kind: ImageFacts["process"]): EffectiveProcess | undefined {
  return runtime.processes.find((p) => imageProcess(p.image) === kind);
}

/** A finding of the runtime check: where (a unit) and what. */
export interface RuntimeFinding {
  readonly where: string;
  readonly message: string;
}

/** The host directory a container path is mounted from, if any. */
function hostPathOf(volumes: readonly string[], containerPath: string): string | undefined {
  for (const v of volumes) {
    const [host, inside] = v.split(":");
    if (inside === containerPath) return host;
  }
  return undefined;
}

/**
 * What would keep the cluster from booting or keeping its state, judged on
 * the effective values. Each rule is one of the defects a static check could
 * not see (issue 10).
 */
export function runtimeFindings(model: UserDataModel, runtime: EffectiveRuntime = effectiveRuntime(model)): RuntimeFinding[] {
  const findings: RuntimeFinding[] = [];
  const { engine } = runtime;
  const hasDataDisk = fileAt(model, "/etc/systemd/system/mesos-data-disk.service") !== undefined;
  for (const port of engine.tcpPorts.filter((p) => !engine.firewalledPorts.includes(p))) {
    findings.push({
      where: "docker.service",
      message: `the engine listens on TCP ${port} with no host firewall loaded before it: a task can reach its own agent's engine (127.0.0.1, the bridge gateway, the agent's IP) and become root; security groups filter only traffic between machines`,
    });
  }
  if (engine.refusesToStart) findings.push({ where: "docker.service", message: `${engine.refusesToStart}; every unit that requires docker.service never starts` });
  // Each apt source needs its key without a keyserver (cc_apt_configure fetches a bare keyid from
  // keyserver.ubuntu.com): an inline key, or a keyring that a bootcmd installs pinned by fingerprint.
  const sources = ((model.raw.apt as Record<string, unknown> | undefined)?.sources ?? {}) as Record<string, Record<string, unknown>>;
  const bootcmd = JSON.stringify(model.raw.bootcmd ?? []);
  for (const [name, source] of Object.entries(sources)) {
    if (typeof source.key === "string") continue;
    if (source.keyid !== undefined) {
      findings.push({ where: `apt.sources.${name}`, message: `keyid ${String(source.keyid)} without key: first boot would fetch the key from a keyserver (cloud-init cc_apt_configure); pin it by fingerprint from the repository's own host` });
      continue;
    }
    const keyring = /signed-by=([^\]\s]+)/.exec(String(source.source ?? ""))?.[1];
    if (!keyring || !bootcmd.includes(`k=${keyring}`) || !/--export [0-9A-F]{40}/.test(bootcmd)) {
      findings.push({ where: `apt.sources.${name}`, message: `no key: nothing installs ${keyring ?? "a signed-by keyring"} before apt runs, so apt refuses the repository (NO_PUBKEY) and its packages are not installed` });
    }
  }

  for (const p of runtime.processes) {
    const where = p.unit;
    const flag = (name: string) => p.flags[name]?.value;
    const kind = imageProcess(p.image);
    // A shadowed MESOS_* value is this check's; a Marathon flag given twice is the flags check's.
    if (kind !== "marathon") for (const note of p.notes) findings.push({ where, message: note });
    if (kind === "mesos-master") {
      const registry = flag("registry") ?? "replicated_log";
      const quorum = Number(flag("quorum") ?? "1");
      if (registry === "in_memory" && p.flags.registry?.source === "image CMD") {
        findings.push({ where, message: "the registry is in_memory from the image's CMD (--registry=in_memory): the masters forget agents and frameworks at every restart; pass the flags as arguments" });
      } else if (registry === "in_memory" && quorum > 1) {
        findings.push({ where, message: `an in_memory registry with quorum ${quorum}: the replicated masters keep no state` });
      }
      if (registry === "replicated_log") {
        const workDir = flag("work_dir");
        if (!workDir) findings.push({ where, message: "registry replicated_log needs --work_dir (mesos-master exits: \"--work_dir needed for replicated log based registry\")" });
        else if (hasDataDisk) {
          const host = hostPathOf(p.volumes, workDir);
          if (!host || !(host === DATA_ROOT || host.startsWith(`${DATA_ROOT}/`))) {
            findings.push({ where, message: `work_dir ${workDir} is not on the data disk (${DATA_ROOT}): the replicated log would not survive replacing the machine` });
          }
        }
        if (flag("zk") && !flag("quorum")) findings.push({ where, message: "with --zk the replicated log needs --quorum" });
      }
    }
    if (kind === "mesos-agent") {
      // The agents' credential is read through instance metadata: Docker, and so every task, must start
      // only after the metadata service is closed (constructs/core/agent-http-auth.ts).
      if (flag("credential") !== undefined) {
        const docker = unitFiles(model).filter((u) => u.unit === "docker.service");
        const requires = docker.flatMap((u) => u.sections.get("Unit")?.get("Requires") ?? []).join(" ").split(/\s+/);
        if (!requires.includes("mesos-imds-block.service")) {
          findings.push({ where, message: "the agent holds a credential read through instance metadata, but docker.service does not require mesos-imds-block.service: a task could read the metadata service (and the agents' identity) before it is closed" });
        }
      }
      const containerizers = (flag("containerizers") ?? "mesos").split(",");
      const inDocker = p.volumes.some((v) => v.split(":")[1] === "/var/run/docker.sock");
      if (containerizers.includes("docker") && inDocker) {
        if (flag("docker_mesos_image") !== p.image) {
          findings.push({ where, message: `docker_mesos_image is ${flag("docker_mesos_image") ? `"${flag("docker_mesos_image")}"` : "not set"}, not the agent's own image ${p.image}: executors fork inside the agent's container and die with it at every agent restart (apache/mesos src/slave/containerizer/docker.cpp)` });
        }
      }
      for (const v of p.volumes) {
        const [host, inside] = v.split(":");
        if (/^\/usr\/(s?bin|local\/s?bin)\//.test(host) && p.facts && !p.facts.base.includes("jammy")) {
          findings.push({ where, message: `the host binary ${host} is mounted at ${inside} in ${p.image} (${p.facts.base}): the host's packages are built for Ubuntu 22.04's glibc (docker-ce-packaging deb/common/rules: GO_LINKMODE=dynamic) and do not run in an older image` });
        }
      }
      const cli = p.facts?.dockerCli;
      if (containerizers.includes("docker") && p.facts && !cli) findings.push({ where, message: `${p.image} carries no docker CLI, which the docker containerizer runs` });
      if (cli && engine.minApi && !apiVersionAtLeast(cli.apiVersion, engine.minApi)) {
        findings.push({ where, message: `the image's docker CLI speaks API ${cli.apiVersion}, below the engine's floor ${engine.minApi}` });
      }
      // Classic Swarm reaches this engine on the docker_port attribute, or 2375.
      const swarmPorts = engine.tcpPorts;
      if (swarmPorts.length > 0) {
        const attr = (flag("attributes") ?? "").split(";").find((a) => a.split(":")[0] === "docker_port");
        const port = attr ? Number(attr.split(":")[1]) : SWARM_DEFAULT_ENGINE_PORT;
        if (!swarmPorts.includes(port)) findings.push({ where, message: `Swarm will reach this engine on ${port} (${attr ? "docker_port attribute" : "no docker_port attribute: Swarm assumes 2375"}), but it listens on ${swarmPorts.join(", ")}` });
        if (engine.minApi && !apiVersionAtLeast(SWARM_START_CONTAINER_API, engine.minApi)) {
          findings.push({ where: "docker.service", message: `the engine's API floor ${engine.minApi} refuses classic Swarm's StartContainer call (API ${SWARM_START_CONTAINER_API}); set DOCKER_MIN_API_VERSION=1.12 on a 25.0.x engine` });
        }
      }
    }
    if (kind === "swarm" && p.argv?.includes("manage") && p.argv.some((a) => a.startsWith("mesos"))) {
      if (p.clusterOpts["mesos.checkpointfailover"] !== "true") {
        findings.push({ where, message: "Swarm's framework registers without checkpointing (no --cluster-opt mesos.checkpointfailover=true): every agent restart kills Swarm's containers (classicswarm cluster/mesos/cluster.go)" });
      }
    }
    if (kind === "swarm" && p.argv && p.argv.length <= p.facts!.entrypoint.length + p.facts!.cmd.length && p.argv.includes("--help")) {
      findings.push({ where, message: "the Swarm container runs the image's CMD --help and exits" });
    }
    if (imageName(p.image) === "mesos-dns") findings.push(...mesosDnsFindings(model, p));
  }
  findings.push(...resolvedDropInFindings(model, runtime));
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Service discovery: Mesos-DNS's config.json and the systemd-resolved drop-in that routes to it.

/**
 * Mesos-DNS v0.6.0's `Config` (mesosphere/mesos-dns v0.6.0 records/config.go
 * `type Config`, l.23-90): JSON key (field name or `json` tag) to the JSON
 * type it takes. `json.Unmarshal` matches keys ignoring case and drops keys
 * it does not know without a word (golang/go encoding/json), so an unknown
 * key is a finding here. Unexported fields (caPool, httpConfigMap) take
 * nothing.
 */
export const MESOS_DNS_V060_FIELDS: Readonly<Record<string, "int" | "bool" | "string" | "strings" | "credentials">> = {
  RefreshSeconds: "int", // l.25
  Port: "int", // l.27
  Timeout: "int", // l.30
  StateTimeoutSeconds: "int", // l.32
  ZkDetectionTimeout: "int", // l.35
  HttpPort: "int", // l.38, json:"HttpPort" (field HTTPPort)
  TTL: "int", // l.40
  SOASerial: "int", // l.42
  SOARefresh: "int", // l.43
  SOARetry: "int", // l.44
  SOAExpire: "int", // l.45
  SOAMinttl: "int", // l.46
  SOAMname: "string", // l.47
  SOARname: "string", // l.48
  Masters: "strings", // l.50
  Resolvers: "strings", // l.52
  IPSources: "strings", // l.54
  Zk: "string", // l.56
  Domain: "string", // l.58
  File: "string", // l.60
  Listener: "string", // l.62
  HTTPListener: "string", // l.64
  RecurseOn: "bool", // l.66
  DnsOn: "bool", // l.68, json:"DnsOn"
  HttpOn: "bool", // l.69, json:"HttpOn"
  ExternalOn: "bool", // l.71
  EnforceRFC952: "bool", // l.73
  EnumerationOn: "bool", // l.75
  MesosHTTPSOn: "bool", // l.77
  CACertFile: "string", // l.79
  MesosCredentials: "credentials", // l.81, httpcli/basic/config.go Credentials{Principal, Secret}
  IAMConfigFile: "string", // l.83
  MesosAuthentication: "string", // l.89, httpcli/config.go: "", "basic", "iam"
};

/** The JSON a Mesos-DNS container is started with: its `-config=` file, as the document writes it (or the file a boot script completes). */
function mesosDnsConfig(model: UserDataModel, p: EffectiveProcess): { path: string; text: string; completedAtBoot: boolean } | string {
  // Go's flag package takes -config=... and --config=... alike.
  const given = p.args.find((a) => /^--?config=/.test(a))?.replace(/^--?config=/, "");
  if (!given) return "no -config= argument: Mesos-DNS reads config.json in its working directory (mesos-dns main.go), which the container does not have";
  const host = hostPathOf(p.volumes, given);
  if (!host) return `-config=${given} is not mounted from the host`;
  const file = fileAt(model, host);
  if (file) return { path: host, text: file.content, completedAtBoot: false };
  // Written at boot (the credentials join it): the script that writes it, and the rendered file it reads.
  const writer = model.files.find((f) => f.content.startsWith("#!") && f.content.includes(`> ${host}`));
  const source = writer && model.files.find((f) => f.path.endsWith(".json") && writer.content.includes(f.path));
  if (!source) return `-config=${given} comes from ${host}, which neither the document nor a script in it writes`;
  return { path: source.path, text: source.content, completedAtBoot: true };
}

/**
 * Mesos-DNS's configuration against what v0.6.0 does with it (mesosphere/mesos-dns
 * v0.6.0 records/config.go SetConfig, records/validation.go; resolver/resolver.go).
 */
function mesosDnsFindings(model: UserDataModel, p: EffectiveProcess): RuntimeFinding[] {
  const where = p.unit;
  const found = mesosDnsConfig(model, p);
  if (typeof found === "string") return [{ where, message: found }];
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(found.text) as Record<string, unknown>;
  } catch (e) {
    return [{ where, message: `${found.path} is not JSON (${(e as Error).message}): Mesos-DNS exits ("failed to unmarshal config file")` }];
  }
  const findings: RuntimeFinding[] = [];
  const at = (message: string) => findings.push({ where, message: `${found.path}: ${message}` });
  const fields = new Map(Object.entries(MESOS_DNS_V060_FIELDS).map(([k, t]) => [k.toLowerCase(), { name: k, type: t }]));
  const value: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(config)) {
    const field = fields.get(key.toLowerCase());
    if (!field) {
      at(`"${key}" is not a field of Mesos-DNS's Config: it is ignored without a word (encoding/json), so its setting never applies`);
      continue;
    }
    const ok =
      field.type === "int" ? Number.isInteger(v) : field.type === "bool" ? typeof v === "boolean" : field.type === "string" ? typeof v === "string"
      : field.type === "strings" ? Array.isArray(v) && v.every((x) => typeof x === "string")
      : typeof v === "object" && v !== null && !Array.isArray(v) && Object.entries(v).every(([k, x]) => /^(principal|secret)$/i.test(k) && typeof x === "string");
    if (!ok) at(`"${key}" must be ${field.type === "strings" ? "a list of strings" : field.type === "credentials" ? '{"Principal": "...", "Secret": "..."}' : `a JSON ${field.type === "int" ? "integer" : field.type === "bool" ? "boolean" : "string"}`}: Mesos-DNS exits ("failed to unmarshal config file")`);
    value[field.name] = v;
  }
  const bool = (name: string, dflt: boolean) => (typeof value[name] === "boolean" ? (value[name] as boolean) : dflt);
  // Defaults: records/config.go NewConfig.
  const listener = (value.Listener as string | undefined) ?? "0.0.0.0";
  const httpListener = (value.HTTPListener as string | undefined) ?? "0.0.0.0";
  if (bool("DnsOn", true) && (listener === "0.0.0.0" || listener === "" || listener.startsWith("127.0.0.53"))) {
    at(`Listener ${JSON.stringify(listener)}: systemd-resolved's stub holds 127.0.0.53:53 and Go's UDP sockets set no SO_REUSEADDR, so the DNS server cannot bind; listen on the machine's own address`);
  }
  if (!bool("DnsOn", true) && !bool("HttpOn", true)) at('DnsOn and HttpOn are both false: Mesos-DNS exits ("Either DNS or HTTP server should be on")');
  const zk = value.Zk as string | undefined;
  const masters = (value.Masters as string[] | undefined) ?? [];
  if (!zk && masters.length === 0) at('neither Zk nor Masters: Mesos-DNS exits ("Specify Mesos masters or Zookeeper")');
  if (zk && !/^zk:\/\/[^/@]+\/\S+$/.test(zk)) at(`Zk ${JSON.stringify(zk)}: a zk://host:port,.../path URL without credentials (the detector exits on another scheme and never authenticates: mesos-go detector/zoo/detect.go parseZk; credentials would be served by /v1/config)`);
  for (const m of masters) if (!/^[^\s:]+:\d{1,5}$/.test(m)) at(`Masters entry ${JSON.stringify(m)} is not host:port: Mesos-DNS exits (validateMasters)`);
  if (bool("ExternalOn", true)) {
    const resolvers = value.Resolvers as string[] | undefined;
    if (resolvers === undefined) at("no Resolvers: every other name is forwarded to 8.8.8.8, the default (NewConfig), outside the cloud's network");
    else if (resolvers.length === 0) at("Resolvers []: Mesos-DNS takes /etc/resolv.conf's servers (GetLocalDNS), systemd-resolved's stub 127.0.0.53, which routes back to it");
    for (const r of resolvers ?? []) if (/^127\./.test(r)) at(`Resolvers entry ${r}: a loopback resolver (systemd-resolved's stub) routes the names back to Mesos-DNS`);
  }
  const sources = (value.IPSources as string[] | undefined) ?? ["netinfo", "mesos", "host"];
  for (const src of sources) if (!["host", "docker", "mesos", "netinfo"].includes(src)) at(`IPSources entry ${JSON.stringify(src)}: Mesos-DNS exits (validateIPSources: host, docker, mesos, netinfo)`);
  if (value.StateTimeoutSeconds !== undefined && !((value.StateTimeoutSeconds as number) > 0)) at("StateTimeoutSeconds must be above 0: Mesos-DNS exits");
  const auth = (value.MesosAuthentication as string | undefined) ?? "";
  if (!["", "basic", "iam"].includes(auth)) at(`MesosAuthentication ${JSON.stringify(auth)}: one of "", "basic", "iam" (httpcli/config.go)`);
  if (auth === "basic" && value.MesosCredentials === undefined && !found.completedAtBoot) at('MesosAuthentication "basic" without MesosCredentials: Mesos-DNS exits ("invalid HTTP Basic configuration")');
  const credentials = value.MesosCredentials !== undefined || found.completedAtBoot;
  if (credentials && bool("HttpOn", true) && (httpListener === "0.0.0.0" || httpListener === "")) {
    at("the HTTP API listens on every address while the file holds Mesos credentials: GET /v1/config returns the whole configuration, secret included (resolver/resolver.go RestConfig); listen on the machine's private address");
  }
  return findings;
}

/** The keys of systemd 249's resolved.conf `[Resolve]` section (systemd/systemd-stable v249.11 man/resolved.conf.xml). */
const RESOLVED_KEYS = ["DNS", "FallbackDNS", "Domains", "LLMNR", "MulticastDNS", "DNSSEC", "DNSOverTLS", "Cache", "CacheFromLocalhost", "DNSStubListener", "DNSStubListenerExtra", "ReadEtcHosts", "ResolveUnicastSingleLabel"];

/**
 * systemd-resolved drop-ins: only `[Resolve]` keys of systemd 249, DNS
 * servers as addresses, routing domains that the document's Mesos-DNS
 * answers, and a restart of systemd-resolved in the document (it reads
 * drop-ins when it starts, before cloud-init writes them).
 */
function resolvedDropInFindings(model: UserDataModel, runtime: EffectiveRuntime): RuntimeFinding[] {
  const findings: RuntimeFinding[] = [];
  const dropIns = model.files.filter((f) => f.path.startsWith("/etc/systemd/resolved.conf.d/"));
  if (dropIns.length === 0) return findings;
  const commands = [...((model.raw.runcmd as unknown[]) ?? []), ...((model.raw.bootcmd as unknown[]) ?? [])].map((c) => (Array.isArray(c) ? c.join(" ") : String(c)));
  const restarts = commands.some((c) => /\bsystemctl\s+(\S+\s+)*(restart|reload-or-restart|try-restart|try-reload-or-restart)\s+(\S+\s+)*systemd-resolved(\.service)?(\s|$)/.test(c));
  const servedDomains = runtime.processes.filter((p) => imageName(p.image) === "mesos-dns").map((p) => {
    const found = mesosDnsConfig(model, p);
    try {
      return typeof found === "string" ? undefined : String((JSON.parse(found.text) as Record<string, unknown>).Domain ?? "mesos").toLowerCase();
    } catch {
      return undefined;
    }
  });
  for (const f of dropIns) {
    const at = (message: string) => findings.push({ where: f.path, message });
    if (!f.path.endsWith(".conf")) at("systemd-resolved reads only *.conf files of resolved.conf.d");
    const sections = parseUnit(f.content);
    for (const [section, keys] of sections) {
      if (section !== "Resolve") {
        at(`[${section}] is not a section of resolved.conf (only [Resolve])`);
        continue;
      }
      for (const key of keys.keys()) if (!RESOLVED_KEYS.includes(key)) at(`${key}= is not a resolved.conf setting of systemd 249`);
      for (const server of (keys.get("DNS") ?? []).join(" ").split(/\s+/).filter(Boolean)) {
        if (!/^(\d{1,3}(\.\d{1,3}){3})(:\d{1,5})?$/.test(server) && !/^\[?[0-9a-fA-F:]+\]?(:\d{1,5})?$/.test(server)) at(`DNS= entry ${JSON.stringify(server)} is not an address`);
      }
      for (const domain of (keys.get("Domains") ?? []).join(" ").split(/\s+/).filter(Boolean)) {
        const name = domain.replace(/^~/, "").replace(/\.$/, "").toLowerCase();
        if (name !== "" && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name)) at(`Domains= entry ${JSON.stringify(domain)} is not a domain name`);
        else if (servedDomains.length > 0 && domain.startsWith("~") && !servedDomains.includes(name)) at(`Domains=${domain} routes a domain this machine's Mesos-DNS does not answer (it answers ${servedDomains.join(", ")})`);
      }
    }
    if (!restarts) at("nothing restarts systemd-resolved after cloud-init writes this file: it applies only from the next boot");
  }
  return findings;
}

/** One block per process: its argv, effective flags (with their source) and the engine. */
export function explainLines(runtime: EffectiveRuntime): string[] {
  const lines: string[] = [];
  const e = runtime.engine;
  lines.push(
    `  docker engine ${e.version ?? "(unpinned)"}: API floor ${e.minApi ?? "none, it refuses to start"}${e.minApiFromEnv ? ` (DOCKER_MIN_API_VERSION=${e.minApiFromEnv})` : " (default)"}${e.tcpPorts.length ? `, TCP ${e.tcpPorts.map((p) => `${p}${e.firewalledPorts.includes(p) ? " (host firewall)" : " (NO host firewall)"}`).join(", ")}` : ""}`,
  );
  for (const p of runtime.processes) {
    lines.push(`  ${p.unit}: ${p.image}${p.facts ? "" : " (no recorded image facts: argv unknown)"}`);
    if (p.argv) lines.push(`    argv: ${p.argv.join(" ")}`);
    const flagNames = Object.keys(p.flags).sort();
    for (const name of flagNames) lines.push(`    --${name}=${p.flags[name].value}  [${p.flags[name].source}]`);
    for (const [k, v] of Object.entries(p.clusterOpts)) lines.push(`    cluster-opt ${k}=${v}`);
    for (const note of p.notes) lines.push(`    ! ${note}`);
  }
  return lines;
}
