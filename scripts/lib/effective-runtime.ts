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
import { containerEnvironment, containerRuns, ContainerRun, fileAt, imageName, splitExecLine, unitFiles, UserDataModel } from "./user-data-model";

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
  return { unit: run.unit.unit, image: run.image, facts, argv, env, flags, clusterOpts, volumes: run.volumes, notes };
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
