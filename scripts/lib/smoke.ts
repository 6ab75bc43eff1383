/**
 * `npm run smoke -- <stack>`: checks that a deployed cluster works, step by
 * step, from this machine. The checks are those of the readiness gate
 * (constructs/cluster-client/checks.js) plus `runtime`, which only smoke asks
 * for (`checkRuntime`); this module finds the cluster (flags,
 * else the stack's Terraform outputs), runs each check with retries, prints a
 * progress line per step and a table, and can deploy a tiny test app. On a
 * stack with service discovery it walks the path an app takes (the discovery
 * walk below): Marathon, its tasks, Mesos-DNS's SRV record, the instances and
 * marathon-lb, each a step of its own.
 */
import { execFileSync } from "child_process";
import { isIP } from "net";
import { randomBytes } from "crypto";
import { existsSync, readFileSync } from "fs";
import { join, resolve } from "path";
// Types only: the library (constructs/internal, which loads cdktf) is loaded when an app is rendered,
// so that `npm run endpoints`, which reads outputs through this module, starts without it.
import type { MarathonAppSpec } from "../../constructs/internal";
import { ClusterEndpoints, clusterChecks, retryCheck } from "../../constructs/cluster-client/checks";
import { clearTextTarget, parseServers, sleep } from "../../constructs/cluster-client/http";
import { deleteApp, putApp, waitForRunningTasks } from "../../constructs/cluster-client/marathon";
import {
  appEndpoints,
  AppEndpoints,
  DiscoveryTarget,
  discoveryTarget,
  DnsFormatError,
  DnsNoAnswer,
  DnsServer,
  fetchApps,
  findEdgeAgents,
  lbServes,
  MarathonTarget,
  rcodeName,
  redisPing,
  renderAppEndpoints,
  resolveSrv,
  SrvEndpoint,
} from "./endpoints";
import { readCommandLine } from "./command-line";

/**
 * The pinned Redis of the discovery walk and the `redis` example app
 * (stacks/example-apps.ts, which a test keeps equal): the Docker official
 * image's 7.2.5 (docker-library/redis 7.2/debian/Dockerfile: `FROM
 * debian:bookworm-slim`, `ENV REDIS_VERSION 7.2.5`, `EXPOSE 6379`).
 */
export const REDIS_IMAGE = "redis:7.2.5";

export const SMOKE_USAGE = `usage: npm run smoke -- <stack> [options]

Checks a deployed cluster from this machine: ZooKeeper (ruok/srvr, one leader),
Mesos (/master/health, the leading master, agents = pool size), Marathon
(/v2/info leader, /v2/apps), Swarm (/info with Mesos offers) and the runtime
facts the cluster depends on (the leader's /flags: replicated_log registry,
work_dir, quorum of the masters; no Marathon 1.9+ on a Mesos before 1.9;
Swarm's framework checkpointed; every agent's /flags: docker_mesos_image, the
docker containerizer; its engine's /version: MinAPIVersion <= 1.15; agents
this machine cannot reach are listed, not failed); optionally deploys a test
app through Marathon, waits until it runs and removes it. On a stack with
service discovery (its discovery output, or --dns) it then walks the discovery
path: deploys a Redis app with 2 instances, waits for both tasks, lists their
endpoints, resolves the app's SRV record through Mesos-DNS, PINGs one instance
at its host port and one through marathon-lb at its service port, removes it.

Where the cluster is (default: the stack's Terraform outputs):
  --outputs FILE          outputs as JSON (terraform output -json, or cdktf output --outputs-file)
  --synth-dir DIR         cdktf's output folder (default cdktf.out)
  --terraform PATH|none   terraform binary used to read outputs from state (default terraform)
  --via both|private|public   master addresses to try (default both: the first that answers)
  --zookeeper H:P,...     ZooKeeper members
  --mesos URL,...         Mesos masters (https://host:5443 behind the masters' TLS proxy)
  --marathon URL,...      Marathon instances (https://host:8443 behind it)
  --tls-ca FILE           CA of https Mesos and Marathon URLs (default: output tls_ca_pem)
  --swarm URL             the Swarm manager (http://host:2375, or https://host:2376 behind TLS)
  --swarm-cert-path DIR   ca.pem, cert.pem, key.pem for a Swarm API with mutual TLS
                          (default $DOCKER_CERT_PATH, else outputs swarm_*_pem)
  --agents N              agents that must be registered
  --dns HOST[:PORT],...   Mesos-DNS servers (default: output discovery.dns_servers; port 53)
  --domain NAME           Mesos-DNS's domain (default: output discovery.domain, else mesos)
  --lb HOST,...           marathon-lb hosts (default: output discovery.marathon_lb_hosts, else the
                          agents with the slave_public role, from the leading master)
  --lb-group NAME         the group marathon-lb serves (default: the outputs', else external)
Credentials (when the cluster's HTTP authentication is on):
  --marathon-user NAME    password from MARATHON_PASSWORD (default: outputs marathon_username/_password)
  --mesos-user NAME       password from MESOS_PASSWORD (default: outputs mesos_username/_password)
Steps and timing:
  --skip NAME,...         leave steps out (zookeeper, mesos-health, mesos-leader, mesos-agents,
                          marathon-leader, marathon-apps, swarm, runtime, test-app, discovery);
                          runtime is also left out when every mesos-* step is; discovery is
                          the whole walk (redis-deploy, redis-tasks, endpoints, dns-srv,
                          ping-direct, ping-lb, redis-remove)
  --deploy-test-app       also deploy a test app, wait until it runs, remove it
  --test-app-image REF    its image (default busybox:1.36.1)
  --retries N             retries of a failing step (default 3)
  --retry-interval S      seconds between retries (default 5)
  --request-timeout S     seconds per request (default 5)
  --deploy-timeout S      seconds for the test app to deploy and to go (default 300)
  --redis-image REF       the discovery walk's image (default ${REDIS_IMAGE})
  --lb-service-port N     the walk's service port (default: a free one in the LB's range)
  --discovery-timeout S   seconds for its SRV record and its marathon-lb backend to appear
                          (Mesos-DNS refreshes every refreshSeconds; default 120)

Exit status: 0 every step passed, 1 a step failed (named in the last line), 2 misuse.`;

export class SmokeUsageError extends Error {}

/** `--help`: the usage, and success. */
class HelpRequested extends Error {}

export interface SmokeOptions {
  readonly stack: string;
  readonly outputsFile?: string;
  readonly synthDir: string;
  readonly terraform: string;
  readonly via: "both" | "private" | "public";
  readonly zookeeper?: string;
  readonly mesos?: string;
  readonly marathon?: string;
  readonly swarm?: string;
  readonly swarmCertPath?: string;
  readonly tlsCa?: string;
  readonly agents?: number;
  /** `--dns`, `--lb`, `--domain`, `--lb-group`: discovery endpoints (else the `discovery` output). */
  readonly dns?: string;
  readonly lb?: string;
  readonly domain?: string;
  readonly lbGroup?: string;
  readonly lbServicePort?: number;
  readonly redisImage?: string;
  readonly marathonUser?: string;
  readonly marathonPassword?: string;
  readonly mesosUser?: string;
  readonly mesosPassword?: string;
  readonly skip: string[];
  readonly deployTestApp: boolean;
  readonly testAppImage: string;
  readonly retries: number;
  readonly retryIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly deployTimeoutMs: number;
  /** How long the walk waits for its SRV record and its marathon-lb backend. */
  readonly discoveryTimeoutMs: number;
}

export const STEP_NAMES = ["zookeeper", "mesos-health", "mesos-leader", "mesos-agents", "marathon-leader", "marathon-apps", "swarm", "runtime", "test-app", "discovery"] as const;

const VALUE_FLAGS = new Set([
  "--outputs", "--synth-dir", "--terraform", "--via", "--zookeeper", "--mesos", "--marathon", "--swarm", "--swarm-cert-path", "--tls-ca", "--agents",
  "--marathon-user", "--mesos-user", "--skip", "--test-app-image", "--retries", "--retry-interval", "--request-timeout", "--deploy-timeout",
  "--dns", "--lb", "--domain", "--lb-group", "--lb-service-port", "--redis-image", "--discovery-timeout",
]);

function number(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new SmokeUsageError(`${flag} must be a number >= ${min}, not ${JSON.stringify(text)}`);
  return value;
}

/** Reads the command line; secrets come from the environment only. */
export function parseSmokeArgs(argv: string[], env: NodeJS.ProcessEnv): SmokeOptions {
  const { values, switches, stack } = readCommandLine(argv, {
    values: VALUE_FLAGS,
    switches: ["--deploy-test-app", "--help"],
    alone: ["--help"],
    example: "dev",
    misuse: (m) => new SmokeUsageError(m),
  });
  if (switches.has("--help")) throw new HelpRequested();
  const via = values.get("--via") ?? "both";
  if (via !== "both" && via !== "private" && via !== "public") throw new SmokeUsageError(`--via must be both, private or public, not ${JSON.stringify(via)}`);
  const skip = (values.get("--skip") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of skip) if (!(STEP_NAMES as readonly string[]).includes(s)) throw new SmokeUsageError(`--skip: no step ${JSON.stringify(s)} (steps: ${STEP_NAMES.join(", ")})`);
  const agentsText = values.get("--agents");
  const agents = agentsText === undefined ? undefined : number("--agents", agentsText, 0, 0);
  if (agents !== undefined && !Number.isInteger(agents)) throw new SmokeUsageError("--agents must be a whole number");
  const lbPortText = values.get("--lb-service-port");
  const lbServicePort = lbPortText === undefined ? undefined : number("--lb-service-port", lbPortText, 0, 1);
  if (lbServicePort !== undefined && (!Number.isInteger(lbServicePort) || lbServicePort > 65535)) throw new SmokeUsageError(`--lb-service-port must be a port (1-65535), not ${JSON.stringify(lbPortText)}`);
  return {
    stack,
    outputsFile: values.get("--outputs"),
    synthDir: values.get("--synth-dir") ?? "cdktf.out",
    terraform: values.get("--terraform") ?? "terraform",
    via,
    zookeeper: values.get("--zookeeper"),
    mesos: values.get("--mesos"),
    marathon: values.get("--marathon"),
    swarm: values.get("--swarm"),
    swarmCertPath: values.get("--swarm-cert-path") ?? (env.DOCKER_CERT_PATH || undefined),
    tlsCa: values.get("--tls-ca"),
    agents,
    dns: values.get("--dns"),
    lb: values.get("--lb"),
    domain: values.get("--domain"),
    lbGroup: values.get("--lb-group"),
    lbServicePort,
    redisImage: values.get("--redis-image"),
    marathonUser: values.get("--marathon-user"),
    marathonPassword: env.MARATHON_PASSWORD,
    mesosUser: values.get("--mesos-user"),
    mesosPassword: env.MESOS_PASSWORD,
    skip,
    deployTestApp: switches.has("--deploy-test-app"),
    testAppImage: values.get("--test-app-image") ?? "busybox:1.36.1",
    retries: Math.floor(number("--retries", values.get("--retries"), 3, 0)),
    retryIntervalMs: number("--retry-interval", values.get("--retry-interval"), 5, 0) * 1000,
    requestTimeoutMs: number("--request-timeout", values.get("--request-timeout"), 5, 0.05) * 1000,
    deployTimeoutMs: number("--deploy-timeout", values.get("--deploy-timeout"), 300, 1) * 1000,
    discoveryTimeoutMs: number("--discovery-timeout", values.get("--discovery-timeout"), 120, 0.05) * 1000,
  };
}

/** A stack's outputs by name, and where they were read. */
export interface StackOutputs {
  readonly values: Record<string, unknown>;
  readonly source: string;
}

/** `terraform output -json` (`{name: {value}}`), cdktf's outputs file (`{stack: {name: value}}`) or a plain `{name: value}`. */
function normalizeOutputs(raw: Record<string, unknown>, stack: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const source = raw[stack] && typeof raw[stack] === "object" && !("value" in (raw[stack] as object)) ? (raw[stack] as Record<string, unknown>) : raw;
  for (const [name, v] of Object.entries(source)) {
    values[name] = v && typeof v === "object" && !Array.isArray(v) && "value" in (v as object) ? (v as { value: unknown }).value : v;
  }
  return values;
}

/**
 * The stack's outputs: from `--outputs`, else from Terraform's state
 * (`terraform output -json`, which also shows public IPs and sensitive
 * values), else the literal values in the synthesized JSON (private
 * addresses only; nothing that is known only after deploy).
 */
export function loadOutputs(options: SmokeOptions, cwd = process.cwd()): StackOutputs {
  if (options.outputsFile) {
    const path = resolve(cwd, options.outputsFile);
    if (!existsSync(path)) throw new SmokeUsageError(`--outputs: no file ${path}`);
    return { values: normalizeOutputs(JSON.parse(readFileSync(path, "utf8")), options.stack), source: path };
  }
  const stackDir = resolve(cwd, options.synthDir, "stacks", options.stack);
  const jsonPath = join(stackDir, "cdk.tf.json");
  if (!existsSync(jsonPath)) {
    throw new SmokeUsageError(`no synthesized stack ${options.stack} at ${jsonPath}: run \`npx cdktf synth\`, or give --outputs or the endpoints as flags`);
  }
  const json = JSON.parse(readFileSync(jsonPath, "utf8")) as { output?: Record<string, { value: unknown }>; terraform?: { backend?: { local?: { path?: string } } } };
  const statePath = json.terraform?.backend?.local?.path;
  // A local backend without its state file: the stack was never deployed from here. Say so at once
  // instead of retrying every step against addresses nothing answers on.
  if (options.terraform !== "none" && statePath && !existsSync(resolve(stackDir, statePath))) {
    throw new SmokeUsageError(
      `stack ${options.stack} was never deployed from here: no state at ${resolve(stackDir, statePath)} (run \`npx cdktf deploy ${options.stack}\`, or give --outputs FILE or the endpoints as flags; --terraform none checks the synthesized private addresses)`,
    );
  }
  if (options.terraform !== "none" && statePath && existsSync(resolve(stackDir, statePath))) {
    try {
      const text = execFileSync(options.terraform, ["output", "-json"], { cwd: stackDir, encoding: "utf8", timeout: 60000, stdio: ["ignore", "pipe", "pipe"] });
      return { values: normalizeOutputs(JSON.parse(text), options.stack), source: `terraform output -json in ${stackDir}` };
    } catch {
      // fall back to the synthesized literals
    }
  }
  const values: Record<string, unknown> = {};
  for (const [name, output] of Object.entries(json.output ?? {})) {
    if (!JSON.stringify(output.value).includes("${")) values[name] = output.value;
  }
  return { values, source: `${jsonPath} (literal values only: private addresses; deploy and read state for public ones)` };
}

/**
 * Where the cluster is, from flags first and outputs for the rest; and its
 * discovery endpoints (`--dns`, else the `discovery` output of outputs read
 * anyway or given with `--outputs`: a run given every endpoint as flags and no
 * outputs file walks discovery only with `--dns`).
 */
export function resolveEndpoints(options: SmokeOptions, load: () => StackOutputs): { endpoints: ClusterEndpoints; source: string; discovery?: DiscoveryTarget } {
  // Only what the steps left in need: a skipped step asks for nothing.
  const runs = (...steps: string[]) => steps.some((step) => !options.skip.includes(step));
  // runtime reads the masters the Mesos steps check: skipping all of those leaves it out too.
  const runtime = runs("runtime") && runs("mesos-health", "mesos-leader", "mesos-agents");
  const need = {
    zookeeper: runs("zookeeper"),
    mesos: runs("mesos-health", "mesos-leader", "mesos-agents"),
    marathon: runs("marathon-leader", "marathon-apps") || runtime || (options.deployTestApp && runs("test-app")) || (runs("discovery") && options.dns !== undefined),
    agents: runs("mesos-agents", "swarm"),
    swarm: runs("swarm"),
  };
  const needOutputs =
    (need.mesos && options.mesos === undefined) ||
    (need.marathon && options.marathon === undefined) ||
    (need.agents && options.agents === undefined) ||
    (need.zookeeper && options.zookeeper === undefined) ||
    (need.swarm && options.swarm === undefined);
  const outputs = needOutputs ? load() : { values: {}, source: "flags" };
  const o = outputs.values;
  const privateIps = Array.isArray(o.master_private_ips) ? (o.master_private_ips as string[]) : [];
  const publicIps = Array.isArray(o.master_public_ips) ? (o.master_public_ips as string[]) : [];
  if (options.via === "public" && publicIps.length === 0 && needOutputs) {
    throw new SmokeUsageError(`--via public: the outputs (${outputs.source}) have no master_public_ips`);
  }
  /** A master address from the outputs as the alternatives --via asks for. */
  const alternatives = (address: string): string[] => {
    const ip = privateIps.find((p) => address.includes(`//${p}:`) || address.startsWith(`${p}:`));
    const publicIp = ip ? publicIps[privateIps.indexOf(ip)] : undefined;
    const publicAddress = ip && publicIp ? address.replace(ip, publicIp) : undefined;
    if (options.via === "private" || !publicAddress) return [address];
    return options.via === "public" ? [publicAddress] : [address, publicAddress];
  };
  const fromOutput = (name: string, flag: string): string[][] => {
    const value = o[name];
    const list = Array.isArray(value) ? (value as string[]) : typeof value === "string" ? value.split(",") : undefined;
    if (!list || list.length === 0) throw new SmokeUsageError(`no ${flag}: give it, or outputs with ${name} (read ${outputs.source})`);
    return list.map((a) => alternatives(a.trim()));
  };
  const agents = options.agents ?? (typeof o.mesos_agent_count === "number" ? o.mesos_agent_count : need.agents ? undefined : 0);
  if (agents === undefined) throw new SmokeUsageError(`no --agents: give it, or outputs with mesos_agent_count (read ${outputs.source})`);
  // DOCKER_TLS_VERIFY=1 in the outputs: the Swarm API speaks https with client certificates.
  const swarmTlsOn = o.docker_tls_verify === "1" || options.swarmCertPath !== undefined;
  const dockerHost = typeof o.docker_host === "string" ? o.docker_host.replace(/^tcp:\/\//, swarmTlsOn ? "https://" : "http://") : undefined;
  const credentials = (user: string | undefined, password: string | undefined, service: "marathon" | "mesos") => {
    const username = user ?? (typeof o[`${service}_username`] === "string" ? (o[`${service}_username`] as string) : undefined);
    if (!username) return undefined;
    const fromOutputs = typeof o[`${service}_password`] === "string" ? (o[`${service}_password`] as string) : undefined;
    const secret = password ?? fromOutputs;
    if (secret === undefined) throw new SmokeUsageError(`a ${service} user is given but no password: set ${service.toUpperCase()}_PASSWORD`);
    return { username, password: secret };
  };
  // runtime checks Swarm's framework and the agents' engines when there is a Swarm endpoint:
  // with the swarm step skipped, one from --swarm or from outputs already read, never an error.
  const swarmEndpoint = (): string[] | undefined => {
    if (options.swarm !== undefined && (need.swarm || runtime)) return parseServers(options.swarm)[0];
    if (dockerHost && (need.swarm || runtime)) return alternatives(dockerHost);
    // A stack without Swarm says so in its outputs (swarm = "off"): its step is left out, not failed.
    return need.swarm && o.swarm !== "off" ? fromOutput("docker_host", "--swarm")[0] : undefined;
  };
  const mesos = !need.mesos ? [] : options.mesos !== undefined ? parseServers(options.mesos) : fromOutput("mesos_urls", "--mesos");
  const marathon = !need.marathon ? [] : options.marathon !== undefined ? parseServers(options.marathon) : fromOutput("marathon_urls", "--marathon");
  const endpoints: ClusterEndpoints = {
    zookeeper: !need.zookeeper ? undefined : options.zookeeper !== undefined ? parseServers(options.zookeeper) : fromOutput("zookeeper_connect_string", "--zookeeper"),
    mesos,
    marathon,
    // https URLs (the masters' TLS proxy) are verified with the cluster's CA; the client then refuses plain http for them.
    mesosTls: serviceTls(mesos, "--mesos", options.tlsCa, o),
    marathonTls: serviceTls(marathon, "--marathon", options.tlsCa, o),
    swarm: swarmEndpoint(),
    swarmTls: need.swarm && swarmTlsOn ? swarmTlsMaterial(options.swarmCertPath, o) : undefined,
    expectedAgents: agents,
    marathonCredentials: need.marathon ? credentials(options.marathonUser, options.marathonPassword, "marathon") : undefined,
    mesosCredentials: need.mesos ? credentials(options.mesosUser, options.mesosPassword, "mesos") : undefined,
    requestTimeoutMs: options.requestTimeoutMs,
    checkRuntime: runtime,
  };
  // An outputs file given with every endpoint as flags is still read for its discovery output.
  const discoveryOutputs = needOutputs ? o : options.outputsFile !== undefined && runs("discovery") ? load().values : undefined;
  const discovery = runs("discovery") ? discoveryTarget(discoveryOutputs, { dns: options.dns, lb: options.lb, domain: options.domain, lbGroup: options.lbGroup }) : undefined;
  return { endpoints, source: outputs.source, ...(discovery ? { discovery } : {}) };
}

/**
 * The CA of a service whose URLs are https (`--tls-ca FILE`, else the
 * `tls_ca_pem` output); undefined for plain http URLs. Mixing is refused: a
 * plain http URL (but to loopback) beside https ones would carry the same
 * credentials in clear text.
 */
function serviceTls(servers: string[][], flag: string, caFile: string | undefined, o: Record<string, unknown>): { ca: string } | undefined {
  const urls = servers.flat();
  if (!urls.some((u) => u.startsWith("https://"))) return undefined;
  const plain = urls.find((u) => clearTextTarget(u));
  if (plain) throw new SmokeUsageError(`${flag}: ${plain} is plain http beside https URLs of the same service (its credentials would travel in clear text)`);
  if (caFile !== undefined) {
    if (!existsSync(caFile)) throw new SmokeUsageError(`--tls-ca: no file ${caFile}`);
    return { ca: readFileSync(caFile, "utf8") };
  }
  if (typeof o.tls_ca_pem === "string") return { ca: o.tls_ca_pem };
  throw new SmokeUsageError(`${flag} URLs are https: give --tls-ca FILE (the cluster's CA), or outputs with tls_ca_pem`);
}

/** The Swarm API's client certificate: from a DOCKER_CERT_PATH-style folder, else from the stack's outputs. */
function swarmTlsMaterial(certPath: string | undefined, o: Record<string, unknown>): { ca: string; cert: string; key: string } {
  if (certPath !== undefined) {
    const read = (name: string) => {
      const file = join(certPath, name);
      if (!existsSync(file)) throw new SmokeUsageError(`--swarm-cert-path ${certPath} has no ${name}`);
      return readFileSync(file, "utf8");
    };
    return { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
  }
  const [ca, cert, key] = ["swarm_ca_pem", "swarm_client_cert_pem", "swarm_client_key_pem"].map((name) => o[name]);
  if (typeof ca !== "string" || typeof cert !== "string" || typeof key !== "string") {
    throw new SmokeUsageError("the Swarm API has TLS: give --swarm-cert-path (or DOCKER_CERT_PATH), or outputs with swarm_ca_pem, swarm_client_cert_pem, swarm_client_key_pem");
  }
  return { ca, cert, key };
}

/** The app `--deploy-test-app` runs: a shell sleeping in a small pinned image. */
export function smokeTestApp(id: string, image: string): MarathonAppSpec {
  return { id, cmd: "sleep 3600", instances: 1, cpus: 0.1, mem: 32, container: { image }, labels: { purpose: "smoke-test" } };
}

export interface StepReport {
  readonly name: string;
  readonly title: string;
  readonly result: "ok" | "FAILED" | "skipped";
  readonly summary: string;
  readonly attempts: number;
  readonly seconds: number;
}

type Out = (line: string) => void;

/** Deploys the test app, waits until its task runs, removes it (also after a failure). */
async function testAppStep(options: SmokeOptions, endpoints: ClusterEndpoints, out: Out): Promise<{ ok: boolean; summary: string }> {
  const id = `/smoke-test/probe-${randomBytes(4).toString("hex")}`;
  const { renderAppDefinition } = await import("../../constructs/internal");
  const definition = renderAppDefinition("smoke test app", smokeTestApp(id, options.testAppImage));
  const target = { servers: endpoints.marathon, credentials: endpoints.marathonCredentials, tls: endpoints.marathonTls, requestTimeoutMs: options.requestTimeoutMs };
  const schedule = () => ({ deadline: Date.now() + options.deployTimeoutMs, pollMs: Math.max(options.retryIntervalMs / 5, 50), log: (line: string) => out(`      ${line}`) });
  let running = 0;
  let failure: string | undefined;
  try {
    await putApp(target, id, JSON.stringify(definition), schedule());
    running = (await waitForRunningTasks(target, id, 1, schedule())).tasksRunning;
  } catch (e) {
    failure = (e as Error).message;
  }
  try {
    await deleteApp(target, id, schedule());
  } catch (e) {
    return { ok: false, summary: `${failure ? `${failure}; ` : ""}removing ${id} failed: ${(e as Error).message}` };
  }
  return failure ? { ok: false, summary: `${failure} (${id} removed)` } : { ok: true, summary: `${id} ran ${running} task on ${options.testAppImage}, then was removed` };
}

/** Runs every step (a failing step does not stop the others) and prints progress. */
export async function runSmoke(options: SmokeOptions, endpoints: ClusterEndpoints, out: Out, discovery?: DiscoveryTarget): Promise<StepReport[]> {
  const checks = clusterChecks(endpoints).filter((c) => !options.skip.includes(c.name));
  const withTestApp = options.deployTestApp && !options.skip.includes("test-app");
  const walk = discovery && !options.skip.includes("discovery") ? discovery : undefined;
  const total = checks.length + (withTestApp ? 1 : 0) + (walk ? WALK_STEPS.length : 0);
  const reports: StepReport[] = [];
  const report = (r: StepReport) => {
    reports.push(r);
    out(`[${reports.length}/${total}] ${r.name.padEnd(16)} ${r.result.padEnd(7)} ${r.summary} (${r.attempts} ${r.attempts === 1 ? "try" : "tries"}, ${r.seconds.toFixed(1)} s)`);
  };
  for (const check of checks) {
    const started = Date.now();
    const result = await retryCheck(check.run, {
      attempts: options.retries + 1,
      intervalMs: options.retryIntervalMs,
      onRetry: (r, attempt) => out(`      ${check.name}: ${r.summary}; retry ${attempt} of ${options.retries} in ${options.retryIntervalMs / 1000} s`),
    });
    report({ name: check.name, title: check.title, result: result.ok ? "ok" : "FAILED", summary: result.summary, attempts: result.attempts, seconds: (Date.now() - started) / 1000 });
  }
  if (withTestApp) {
    const title = "deploy a test app through Marathon, wait until it runs, remove it";
    const blocker = reports.find((r) => (r.name === "marathon-leader" || r.name === "mesos-agents") && r.result === "FAILED");
    if (blocker) {
      report({ name: "test-app", title, result: "skipped", summary: `not tried: ${blocker.name} failed`, attempts: 0, seconds: 0 });
    } else {
      const started = Date.now();
      const result = await testAppStep(options, endpoints, out);
      report({ name: "test-app", title, result: result.ok ? "ok" : "FAILED", summary: result.summary, attempts: 1, seconds: (Date.now() - started) / 1000 });
    }
  }
  if (walk) {
    const blocker = reports.find((r) => (r.name === "marathon-leader" || r.name === "mesos-agents") && r.result === "FAILED");
    if (blocker) {
      for (const [name, title] of WALK_STEPS) report({ name, title, result: "skipped", summary: `not tried: ${blocker.name} failed`, attempts: 0, seconds: 0 });
    } else {
      await discoveryWalk(options, endpoints, walk, report, out);
    }
  }
  return reports;
}

// ---------------------------------------------------------------------------------------------
// The discovery walk
// ---------------------------------------------------------------------------------------------

/** The walk's steps, in order, with what each checks. */
export const WALK_STEPS: readonly (readonly [string, string])[] = [
  ["redis-deploy", "deploy a Redis app with 2 instances through Marathon"],
  ["redis-tasks", "wait until both of its tasks run"],
  ["endpoints", "list its endpoints (npm run endpoints)"],
  ["dns-srv", "resolve its SRV record through Mesos-DNS"],
  ["ping-direct", "PING one instance at its host port"],
  ["ping-lb", "PING through marathon-lb at its service port"],
  ["redis-remove", "remove the app"],
];

/**
 * The walk's app: two instances of the pinned Redis on the Docker bridge,
 * container port 6379 mapped to a host port Mesos picks, with the service
 * port and group marathon-lb serves when the stack has one. It keeps nothing
 * (`--save ""`, `--appendonly no`: no dump.rdb in a /data it could not
 * write) and runs as nobody: the Docker containerizer runs the image's user
 * (constructs/core/mesos-acls.ts), the image has none and its entrypoint
 * only drops root to `redis` when started as root (docker-library/redis
 * 7.2/debian/docker-entrypoint.sh "allow the container to be started with
 * `--user`"), so `--user=65534:65534` (Mesos passes each Docker parameter as
 * `--key=value`, apache/mesos 1.7.1 src/docker/docker.cpp `run`).
 */
export function smokeRedisApp(id: string, image: string, lb?: { group: string; servicePort: number }): MarathonAppSpec {
  return {
    id,
    instances: 2,
    cpus: 0.1,
    mem: 64,
    args: ["redis-server", "--save", "", "--appendonly", "no"],
    container: {
      image,
      portMappings: [{ containerPort: 6379, hostPort: 0, name: "redis" }],
      parameters: [{ key: "user", value: "65534:65534" }],
    },
    labels: { purpose: "smoke-test" },
    ...(lb ? { loadBalancer: { group: lb.group, servicePort: lb.servicePort } } : {}),
  };
}

type StepOutcome = { result: StepReport["result"]; summary: string; attempts?: number };

/** Milliseconds as seconds for messages. */
function secondsSince(started: number): string {
  return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

/**
 * A free service port in marathon-lb's range: the highest that no app uses
 * as a service port or an `HAPROXY_{n}_PORT` (Marathon refuses a service
 * port another app holds).
 */
async function freeServicePort(target: MarathonTarget, range: [number, number]): Promise<number> {
  const { apps } = await fetchApps(target);
  const used = new Set(apps.flatMap((a) => appEndpoints(a).ports.flatMap((p) => [p.servicePort, p.lbPort])).filter((p): p is number => p !== undefined));
  for (let port = range[1]; port >= range[0]; port--) if (!used.has(port)) return port;
  throw new Error(`no free service port in marathon-lb's range ${range.join("-")}: every one is taken (give --lb-service-port)`);
}

/** Deploys the Redis app, walks its endpoints, DNS and marathon-lb, and removes it (also after a failure). */
async function discoveryWalk(options: SmokeOptions, endpoints: ClusterEndpoints, discovery: DiscoveryTarget, report: (r: StepReport) => void, out: Out): Promise<void> {
  const id = `/smoke-test/redis-${randomBytes(3).toString("hex")}`;
  const image = options.redisImage ?? REDIS_IMAGE;
  const target: MarathonTarget = { servers: endpoints.marathon, credentials: endpoints.marathonCredentials, tls: endpoints.marathonTls, requestTimeoutMs: options.requestTimeoutMs };
  const pollMs = Math.max(options.retryIntervalMs / 5, 50);
  const schedule = () => ({ deadline: Date.now() + options.deployTimeoutMs, pollMs, log: (line: string) => out(`      ${line}`) });
  const titles = new Map(WALK_STEPS);
  const outcomes = new Map<string, StepOutcome>();
  const step = async (name: string, body: () => Promise<StepOutcome>, blockers: string[] = []) => {
    const started = Date.now();
    const blocker = blockers.find((b) => outcomes.get(b)?.result !== "ok");
    let outcome: StepOutcome;
    // A step skipped for its blocker's sake passes the reason on: "not tried: redis-deploy failed".
    const cause = blocker ? outcomes.get(blocker) : undefined;
    if (blocker) outcome = { result: "skipped", summary: cause?.result === "skipped" && cause.summary.startsWith("not tried:") ? cause.summary : `not tried: ${blocker} ${cause?.result === "FAILED" ? "failed" : "was not checked"}`, attempts: 0 };
    else {
      try {
        outcome = await body();
      } catch (e) {
        outcome = { result: "FAILED", summary: (e as Error).message };
      }
    }
    outcomes.set(name, outcome);
    report({ name, title: titles.get(name) ?? name, result: outcome.result, summary: outcome.summary, attempts: outcome.attempts ?? 1, seconds: (Date.now() - started) / 1000 });
  };
  const lb = discovery.lb;
  let servicePort: number | undefined;
  let app: AppEndpoints | undefined;
  let framework = "marathon";
  let deployed = false;

  await step("redis-deploy", async () => {
    if (lb) servicePort = options.lbServicePort ?? (await freeServicePort(target, lb.servicePorts));
    const { renderAppDefinition } = await import("../../constructs/internal");
    const definition = renderAppDefinition("smoke discovery app", smokeRedisApp(id, image, lb && servicePort !== undefined ? { group: lb.group, servicePort } : undefined));
    deployed = true; // from here on the app may exist: redis-remove deletes it
    await putApp(target, id, JSON.stringify(definition), schedule());
    const exposure = lb ? `, service port ${servicePort} for marathon-lb group ${lb.group}` : "";
    return { result: "ok", summary: `created ${id}: 2 instances of ${image}, container port 6379 on a host port${exposure}` };
  });

  await step(
    "redis-tasks",
    async () => {
      const started = Date.now();
      const deadline = started + options.deployTimeoutMs;
      let attempts = 0;
      let seen = "";
      for (;;) {
        attempts++;
        const fetched = await fetchApps(target, id);
        framework = fetched.framework;
        if (fetched.apps.length === 0) seen = `Marathon has no app ${id}`;
        else {
          app = appEndpoints(fetched.apps[0], { domain: discovery.domain, framework });
          const running = app.tasks.filter((t) => t.state === "TASK_RUNNING" && t.ports.length > 0);
          if (running.length >= 2) return { result: "ok", summary: `2 of 2 tasks running: ${running.map((t) => `${t.host}:${t.ports[0]}`).join(", ")} (after ${secondsSince(started)})`, attempts };
          const states = app.tasks.map((t) => t.state);
          seen = `${running.length} running${states.length > running.length ? ` (tasks: ${states.join(", ")})` : ""}`;
        }
        if (Date.now() > deadline) return { result: "FAILED", summary: `expected 2 tasks of ${id} running with a host port within ${secondsSince(started)}; saw ${seen}`, attempts };
        await sleep(pollMs);
      }
    },
    ["redis-deploy"],
  );
  const running = () => (app?.tasks ?? []).filter((t) => t.state === "TASK_RUNNING" && t.ports.length > 0);

  await step(
    "endpoints",
    async () => {
      const a = app as AppEndpoints;
      for (const line of renderAppEndpoints(a, discovery)) out(`      ${line}`);
      const problems: string[] = [];
      const port = a.ports[0];
      if (!port) problems.push("the app has no port");
      if (lb && port) {
        const served = lbServes(port, lb);
        if (!served.served) problems.push(`marathon-lb: ${served.why}`);
        else if (port.lbPort !== servicePort) problems.push(`marathon-lb port ${port.lbPort}, expected the service port asked for, ${servicePort}`);
      }
      const instances = running().map((t) => `${t.host}:${t.ports[0]}`);
      const lbText = lb && port ? `; marathon-lb ${lb.hosts[0] ?? "<edge agent>"}:${port.lbPort}` : "";
      const summary = `${instances.length} instances ${instances.join(", ")}; Mesos-DNS ${a.dns.hostname}, SRV ${a.dns.srv("tcp")}${lbText}`;
      return problems.length ? { result: "FAILED", summary: `${problems.join("; ")} (${summary})` } : { result: "ok", summary };
    },
    ["redis-tasks"],
  );

  await step("dns-srv", () => checkSrv(options, discovery, app as AppEndpoints, running(), pollMs), ["redis-tasks"]);

  await step(
    "ping-direct",
    async () => {
      const t = running()[0];
      return ping([{ host: t.host, port: t.ports[0] }], options, pollMs, {
        what: `instance ${t.id}`,
        unreachable: "task ports are open to the cluster's own machines only: run smoke on a machine inside its network",
        fromFlags: false,
      });
    },
    ["redis-tasks"],
  );

  await step(
    "ping-lb",
    async () => {
      if (!lb) return { result: "skipped", summary: "the stack runs no marathon-lb (discovery dns): nothing to PING through", attempts: 0 };
      let hosts = lb.hosts;
      if (hosts.length === 0) {
        const found = endpoints.mesos.length ? await findEdgeAgents(endpoints.mesos, endpoints.mesosCredentials, endpoints.mesosTls, options.requestTimeoutMs) : { problem: "no Mesos URL to ask" };
        if (!found.hosts) return { result: "FAILED", summary: `where marathon-lb runs is not known: the outputs name no host and ${found.problem}; give --lb HOST` };
        hosts = found.hosts;
      }
      const port = servicePort as number;
      return ping(
        hosts.map((host) => ({ host, port })),
        options,
        pollMs,
        { what: `marathon-lb (group ${lb.group}, service port ${port})`, unreachable: `marathon-lb's service ports ${lb.servicePorts.join("-")} are open inside the cluster only: run smoke on a machine inside its network, or give --lb`, fromFlags: options.lb !== undefined },
      );
    },
    ["redis-tasks"],
  );

  await step("redis-remove", async () => {
    if (!deployed) return { result: "skipped", summary: "nothing was deployed", attempts: 0 };
    const { deleted } = await deleteApp(target, id, schedule());
    return { result: "ok", summary: deleted ? `removed ${id}` : `${id} was already gone` };
  });
}

/**
 * dns-srv: asks each Mesos-DNS server for the app's SRV name until one
 * answers with exactly the running tasks' host:port (the target's A record
 * from the additional section). Records appear at Mesos-DNS's next refresh
 * (`refreshSeconds`), so a missing or stale answer is asked again until
 * `--discovery-timeout`; servers that never answer (port 53 is open inside
 * the cluster only) make the step `skipped` when they came from the outputs,
 * FAILED when `--dns` named them.
 */
async function checkSrv(options: SmokeOptions, discovery: DiscoveryTarget, app: AppEndpoints, tasks: AppEndpoints["tasks"], pollMs: number): Promise<StepOutcome> {
  const name = app.dns.srv("tcp");
  const byAddress = tasks.every((t) => isIP(t.host) !== 0);
  const expected = tasks.map((t) => (byAddress ? `${t.host}:${t.ports[0]}` : String(t.ports[0]))).sort();
  const started = Date.now();
  const deadline = started + options.discoveryTimeoutMs;
  const servers = discovery.dnsServers.map((s) => `${s.host}:${s.port}`).join(", ");
  let attempts = 0;
  let silentRounds = 0;
  let seen = "";
  for (;;) {
    attempts++;
    const silent: string[] = [];
    for (const server of discovery.dnsServers) {
      let answer: { rcode: number; truncated: boolean; endpoints: SrvEndpoint[] };
      try {
        answer = await resolveSrv(server, name, options.requestTimeoutMs);
      } catch (e) {
        if (e instanceof DnsNoAnswer) {
          silent.push(e.message);
          continue;
        }
        if (e instanceof DnsFormatError) return { result: "FAILED", summary: e.message, attempts };
        throw e;
      }
      const got = answer.endpoints.map((e: SrvEndpoint) => (byAddress ? `${e.address ?? e.target}:${e.port}` : String(e.port))).sort();
      const where = `${name} at ${dnsAddress(server)}`;
      if (got.length === expected.length && got.every((g, i) => g === expected[i])) {
        return { result: "ok", summary: `${where}: ${got.length} SRV records ${got.join(", ")}, the tasks' host ports (after ${secondsSince(started)})`, attempts };
      }
      seen =
        answer.endpoints.length === 0
          ? `${where}: no record (${rcodeName(answer.rcode)}${answer.rcode === 0 ? ", empty answer" : ""}${answer.truncated ? ", truncated" : ""})`
          : `${where}: ${got.join(", ")}`;
    }
    if (silent.length === discovery.dnsServers.length) {
      silentRounds++;
      if (silentRounds > options.retries) {
        const why = `no Mesos-DNS server answered (${silent.join("; ")})`;
        return discovery.dnsSource === "flags"
          ? { result: "FAILED", summary: `${why}: expected an answer from --dns ${servers}`, attempts }
          : { result: "skipped", summary: `not checked from this machine: ${why}; port 53 is open inside the cluster only: run smoke on a machine inside its network, or give --dns HOST:PORT`, attempts };
      }
    }
    if (Date.now() > deadline) {
      const why = seen || `no answer (${silent.join("; ")})`;
      return {
        result: "FAILED",
        summary: `expected ${name} to list the tasks' ${expected.join(", ")}; saw ${why}, after ${secondsSince(started)} (Mesos-DNS reads Mesos every refreshSeconds; --discovery-timeout waits longer)`,
        attempts,
      };
    }
    await sleep(pollMs);
  }
}

function dnsAddress(server: DnsServer): string {
  return isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/**
 * PINGs the first of `targets` that answers +PONG, trying again until
 * `--discovery-timeout` (Redis may still be starting, marathon-lb reloads
 * HAProxy when tasks change); targets that never answer at all (a firewall)
 * after `--retries` rounds make the step `skipped`, unless named by a flag.
 */
async function ping(targets: { host: string; port: number }[], options: SmokeOptions, pollMs: number, how: { what: string; unreachable: string; fromFlags: boolean }): Promise<StepOutcome> {
  const started = Date.now();
  const deadline = started + options.discoveryTimeoutMs;
  let attempts = 0;
  let silentRounds = 0;
  let seen: string[] = [];
  for (;;) {
    attempts++;
    seen = [];
    let silent = 0;
    for (const { host, port } of targets) {
      const result = await redisPing(host, port, options.requestTimeoutMs);
      if (result.ok) return { result: "ok", summary: `+PONG from ${how.what} at ${host}:${port} (after ${secondsSince(started)})`, attempts };
      if (result.kind === "unreachable") silent++;
      seen.push(`${host}:${port} ${result.kind === "reply" ? `replied ${JSON.stringify(result.detail)}` : result.detail}`);
    }
    if (silent === targets.length && ++silentRounds > options.retries) {
      return how.fromFlags
        ? { result: "FAILED", summary: `expected +PONG from ${how.what}; no answer: ${seen.join("; ")}`, attempts }
        : { result: "skipped", summary: `not checked from this machine: ${seen.join("; ")}; ${how.unreachable}`, attempts };
    }
    if (Date.now() > deadline) return { result: "FAILED", summary: `expected +PONG from ${how.what}; saw ${seen.join("; ")} (for ${secondsSince(started)})`, attempts };
    await sleep(pollMs);
  }
}

/** The closing table. */
export function renderTable(reports: StepReport[]): string {
  const rows = [["step", "result", "tries", "time", "what was checked", "detail"], ...reports.map((r) => [r.name, r.result, String(r.attempts), `${r.seconds.toFixed(1)} s`, r.title, r.summary])];
  const widths = rows[0].map((_, c) => (c === rows[0].length - 1 ? 0 : Math.max(...rows.map((row) => row[c].length))));
  return rows.map((row) => row.map((cell, c) => (widths[c] ? cell.padEnd(widths[c]) : cell)).join("  ").trimEnd()).join("\n");
}

/**
 * Runs a command's main (`npm run smoke`, `npm run endpoints`) as a process:
 * its lines to stdout and stderr, its result as the exit status, an
 * unexpected error's stack to stderr with status 1.
 */
export function runCommand(name: string, main: (argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out) => Promise<number>): void {
  main(
    process.argv.slice(2),
    process.env,
    (line) => process.stdout.write(`${line}\n`),
    (line) => process.stderr.write(`${line}\n`),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (e: Error) => {
      process.stderr.write(`${name}: ${e.stack ?? e.message}\n`);
      process.exitCode = 1;
    },
  );
}

/** The whole command: 0 when every step passed, 1 when one failed, 2 on misuse. */
export async function smokeMain(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out, cwd = process.cwd()): Promise<number> {
  let options: SmokeOptions;
  let endpoints: ClusterEndpoints;
  let source: string;
  let discovery: DiscoveryTarget | undefined;
  try {
    options = parseSmokeArgs(argv, env);
    ({ endpoints, source, discovery } = resolveEndpoints(options, () => loadOutputs(options, cwd)));
  } catch (e) {
    if (e instanceof HelpRequested) {
      out(SMOKE_USAGE);
      return 0;
    }
    if (!(e instanceof SmokeUsageError)) throw e;
    if (e.message) err(`smoke: ${e.message}`);
    err(SMOKE_USAGE);
    return 2;
  }
  out(`smoke: stack ${options.stack}; endpoints from ${source}`);
  const reports = await runSmoke(options, endpoints, out, discovery);
  out("");
  for (const line of renderTable(reports).split("\n")) out(line);
  const failed = reports.filter((r) => r.result === "FAILED");
  out(failed.length ? `smoke: FAILED at ${failed.map((r) => r.name).join(", ")}` : `smoke: all ${reports.filter((r) => r.result === "ok").length} steps passed`);
  return failed.length ? 1 : 0;
}
