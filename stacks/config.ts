import { existsSync, readFileSync, statSync } from "fs";
import { homedir } from "os";
import { isAbsolute, join, relative, resolve } from "path";
import { didYouMean } from "../constructs/cloud/regions";
import { CloudName } from "../constructs/cloud/target";
import { ClusterConfigError, describeValue, ValueSourceResolver } from "../constructs/core/validation";
import { ClusterImages, ClusterProfile, DiscoveryMode, InternetService, MesosClusterStackProps, PasswordSource } from "./mesos-cluster-stack";
import { BACKEND_KNOBS, backendFromEnv, BackendSettings, checkBackendKeys, mergeBackend } from "./backend";

/**
 * How the `dev` and `ha` stacks are configured without editing code:
 * defaults < config file (top level < `azure`/`aws` section < `stacks.<name>`)
 * < environment (`CLUSTER_<KNOB>` < `CLUSTER_<STACK>_<KNOB>`).
 */
export interface KnobValues {
  region?: string;
  zones?: string[];
  masterCount?: number;
  agentCount?: number;
  masterVmSize?: string;
  agentVmSize?: string;
  addressSpace?: string;
  masterSubnetCidrs?: string[];
  agentSubnetCidrs?: string[];
  adminCidrs?: string[];
  sshPublicKey?: string;
  sshPublicKeyFile?: string;
  images?: Partial<ClusterImages>;
  masterDockerEngineVersion?: string;
  agentDockerEngineVersion?: string;
  masterDataDiskGb?: number;
  auth?: boolean;
  authUsername?: string;
  authPasswords?: PasswordSource;
  swarmTls?: boolean;
  apiTls?: boolean;
  swarmClientNames?: string[];
  trustedLaunch?: boolean;
  /** Azure: public IPv4 addresses or blocks Terraform runs from, admitted by the Key Vaults (`ip_rules`). */
  deployerCidrs?: string[];
  secretsKmsKeyArn?: string;
  agentAuthentication?: "accept" | "require";
  internetIngress?: InternetService[];
  insecure?: boolean;
  swarm?: boolean;
  /** Where the state lives: `{ "type": "azurerm" | "s3" | "local", ... }` (stacks/backend.ts). */
  backend?: BackendSettings;
  // issue 7: operating the cluster
  readinessGate?: "auto" | "on" | "off";
  exampleApps?: string[];
  // issue 14: service discovery
  discovery?: DiscoveryMode;
  edgeAgentCount?: number;
  edgeVmSize?: string;
  // issue 15: day-2 changes
  agentDrainSeconds?: number;
}

/** The config file (cluster.config.json, or the file CLUSTER_CONFIG names). */
export interface ClusterConfigFile extends KnobValues {
  cloud?: CloudName;
  /** Cluster names are `<namePrefix>-<stack>`. @default "mesos" */
  namePrefix?: string;
  azure?: KnobValues;
  aws?: KnobValues;
  stacks?: Partial<Record<ClusterProfile, KnobValues & { name?: string }>>;
}

/** The configuration of both stacks, as {@link loadAppConfig} read it. */
export interface AppConfig {
  readonly cloud: CloudName;
  /** Where the config came from, for messages. */
  readonly source: string;
  readonly stacks: Record<ClusterProfile, MesosClusterStackProps>;
  /**
   * Per stack, where each configured value came from: knob key (`agentCount`,
   * `images.marathon`, `backend.bucket`, `name`, `sshPublicKey`) to the
   * variable (`CLUSTER_HA_AGENT_COUNT`) or file key
   * (`cluster.config.json stacks.ha.agentCount`). Values left at their
   * defaults have no entry. Errors and warnings name it ({@link valueSources}).
   */
  readonly sources?: Record<ClusterProfile, Record<string, string>>;
}

/** Where {@link loadAppConfig} reads from (for tests: anything but the real environment and home). */
export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Directory searched for cluster.config.json. */
  readonly cwd?: string;
  /** Home directory searched for ~/.ssh/*.pub. */
  readonly homeDir?: string;
}

/** One knob: its key in the file and its environment suffix. */
interface Knob {
  readonly key: keyof KnobValues;
  readonly env: string;
  readonly kind: "string" | "int" | "list" | "bool";
}

export const KNOBS: readonly Knob[] = [
  { key: "region", env: "REGION", kind: "string" },
  { key: "zones", env: "ZONES", kind: "list" },
  { key: "masterCount", env: "MASTER_COUNT", kind: "int" },
  { key: "agentCount", env: "AGENT_COUNT", kind: "int" },
  { key: "masterVmSize", env: "MASTER_VM_SIZE", kind: "string" },
  { key: "agentVmSize", env: "AGENT_VM_SIZE", kind: "string" },
  { key: "addressSpace", env: "ADDRESS_SPACE", kind: "string" },
  { key: "masterSubnetCidrs", env: "MASTER_SUBNET_CIDRS", kind: "list" },
  { key: "agentSubnetCidrs", env: "AGENT_SUBNET_CIDRS", kind: "list" },
  { key: "adminCidrs", env: "ADMIN_CIDRS", kind: "list" },
  { key: "sshPublicKey", env: "SSH_PUBLIC_KEY", kind: "string" },
  { key: "sshPublicKeyFile", env: "SSH_PUBLIC_KEY_FILE", kind: "string" },
  { key: "masterDockerEngineVersion", env: "MASTER_DOCKER_ENGINE_VERSION", kind: "string" },
  { key: "agentDockerEngineVersion", env: "AGENT_DOCKER_ENGINE_VERSION", kind: "string" },
  { key: "masterDataDiskGb", env: "MASTER_DATA_DISK_GB", kind: "int" },
  { key: "auth", env: "AUTH", kind: "bool" },
  { key: "authUsername", env: "AUTH_USERNAME", kind: "string" },
  { key: "authPasswords", env: "AUTH_PASSWORDS", kind: "string" },
  { key: "swarmTls", env: "SWARM_TLS", kind: "bool" },
  { key: "apiTls", env: "API_TLS", kind: "bool" },
  { key: "swarmClientNames", env: "SWARM_CLIENT_NAMES", kind: "list" },
  { key: "trustedLaunch", env: "TRUSTED_LAUNCH", kind: "bool" },
  { key: "deployerCidrs", env: "DEPLOYER_CIDRS", kind: "list" },
  { key: "secretsKmsKeyArn", env: "SECRETS_KMS_KEY_ARN", kind: "string" },
  { key: "agentAuthentication", env: "AGENT_AUTHENTICATION", kind: "string" },
  { key: "internetIngress", env: "INTERNET_INGRESS", kind: "list" },
  { key: "insecure", env: "INSECURE", kind: "bool" },
  { key: "swarm", env: "SWARM", kind: "bool" },
  // issue 7: operating the cluster
  { key: "readinessGate", env: "READINESS_GATE", kind: "string" },
  { key: "exampleApps", env: "EXAMPLE_APPS", kind: "list" },
  // issue 14: service discovery
  { key: "discovery", env: "DISCOVERY", kind: "string" },
  { key: "edgeAgentCount", env: "EDGE_AGENT_COUNT", kind: "int" },
  { key: "edgeVmSize", env: "EDGE_VM_SIZE", kind: "string" },
  // issue 15: day-2 changes
  { key: "agentDrainSeconds", env: "AGENT_DRAIN_SECONDS", kind: "int" },
];

const TRUE = ["true", "on", "yes", "1"];
const FALSE = ["false", "off", "no", "0"];

/** Image knobs: `CLUSTER_IMAGE_<NAME>` and `images.<name>` in the file. */
export const IMAGE_KNOBS: Record<keyof ClusterImages, string> = {
  zookeeper: "IMAGE_ZOOKEEPER",
  mesosMaster: "IMAGE_MESOS_MASTER",
  mesosAgent: "IMAGE_MESOS_AGENT",
  marathon: "IMAGE_MARATHON",
  swarm: "IMAGE_SWARM",
  mesosDns: "IMAGE_MESOS_DNS",
  marathonLb: "IMAGE_MARATHON_LB",
};

const CLOUDS: CloudName[] = ["azure", "aws"];
const PROFILES: ClusterProfile[] = ["dev", "ha"];
const FILE_KEYS = new Set<string>([...KNOBS.map((k) => k.key), "images", "backend", "cloud", "namePrefix", "azure", "aws", "stacks"]);
const SECTION_KEYS = new Set<string>([...KNOBS.map((k) => k.key), "images", "backend"]);
const STACK_KEYS = new Set<string>([...SECTION_KEYS, "name"]);

/** Knobs that were split or renamed: a value for one is refused with what replaced it, never ignored. */
const RETIRED_KNOBS: Record<string, { env: string; replacedBy: string }> = {
  dockerEngineVersion: {
    env: "DOCKER_ENGINE_VERSION",
    replacedBy: "masterDockerEngineVersion / agentDockerEngineVersion (CLUSTER_MASTER_DOCKER_ENGINE_VERSION, CLUSTER_AGENT_DOCKER_ENGINE_VERSION): agents need 25.0.x, masters may run a current engine",
  },
};

function checkRetired(env: NodeJS.ProcessEnv, path: string, sections: [string, Record<string, unknown> | undefined][]): void {
  for (const [key, { env: suffix, replacedBy }] of Object.entries(RETIRED_KNOBS)) {
    for (const prefix of ["CLUSTER_", ...PROFILES.map((p) => `CLUSTER_${p.toUpperCase()}_`)]) {
      const name = `${prefix}${suffix}`;
      if (env[name] !== undefined) configError("app", name, env[name], replacedBy);
    }
    for (const [where, section] of sections) {
      if (section && key in section) configError(path, `${where}${key}`, section[key], replacedBy);
    }
  }
}

function configError(where: string, property: string, value: unknown, allowed: string): never {
  throw new ClusterConfigError(where, property, value, allowed);
}

/** Reads the configuration of both stacks from the environment and the config file. */
export function loadAppConfig(options: LoadOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const home = options.homeDir ?? homedir();

  let file: ClusterConfigFile = {};
  let source = "defaults";
  const explicitPath = env.CLUSTER_CONFIG;
  const path = explicitPath ? resolve(cwd, explicitPath) : join(cwd, "cluster.config.json");
  if (explicitPath && !existsSync(path)) configError("app", "CLUSTER_CONFIG", explicitPath, "the path of an existing JSON config file");
  if (existsSync(path)) {
    source = path;
    if (statSync(path).isDirectory()) configError("app", explicitPath ? "CLUSTER_CONFIG" : "cluster.config.json", path, "a JSON config file, not a directory");
    try {
      file = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      configError(path, "(file)", (e as Error).message, "valid JSON");
    }
    if (typeof file !== "object" || file === null || Array.isArray(file)) configError(path, "(file)", file, "a JSON object of settings");
    const sections: [string, Record<string, unknown> | undefined][] = [
      ["", file as Record<string, unknown>],
      ...CLOUDS.map((c): [string, Record<string, unknown> | undefined] => [`${c}.`, file[c] as Record<string, unknown> | undefined]),
      ...Object.entries(file.stacks ?? {}).map(([n, v]): [string, Record<string, unknown> | undefined] => [`stacks.${n}.`, v as Record<string, unknown>]),
    ];
    checkRetired({}, path, sections);
    checkKeys(path, "", file as Record<string, unknown>, FILE_KEYS);
    for (const key of ["cloud", "namePrefix"] as const) {
      if (file[key] !== undefined && typeof file[key] !== "string") configError(path, key, file[key], typeExpected("string", file[key]));
    }
    for (const cloud of CLOUDS) if (file[cloud] !== undefined) checkKeys(path, `${cloud}.`, file[cloud] as Record<string, unknown>, SECTION_KEYS);
    if (file.stacks !== undefined && (typeof file.stacks !== "object" || file.stacks === null || Array.isArray(file.stacks))) {
      configError(path, "stacks", file.stacks, `a JSON object of stacks such as {"ha": {"agentCount": 6}}`);
    }
    for (const [name, section] of Object.entries(file.stacks ?? {})) {
      if (!PROFILES.includes(name as ClusterProfile)) configError(path, `stacks.${name}`, name, `a stack name: ${PROFILES.join(", ")}${didYouMean(name, PROFILES)}`);
      checkKeys(path, `stacks.${name}.`, section as Record<string, unknown>, STACK_KEYS);
      const stackName = (section as { name?: unknown }).name;
      if (stackName !== undefined && typeof stackName !== "string") configError(path, `stacks.${name}.name`, stackName, typeExpected("string", stackName));
    }
  }

  checkRetired(env, path, []);
  checkVariables(env);
  const cloudText = env.CLUSTER_CLOUD !== undefined && env.CLUSTER_CLOUD !== "" ? env.CLUSTER_CLOUD : file.cloud ?? "azure";
  if (!CLOUDS.includes(cloudText as CloudName)) {
    const where = env.CLUSTER_CLOUD ? "app" : path;
    configError(where, env.CLUSTER_CLOUD ? "CLUSTER_CLOUD" : "cloud", cloudText, `${CLOUDS.map((c) => describeValue(c)).join(" or ")} (default azure)${didYouMean(cloudText, CLOUDS)}`);
  }
  const cloud = cloudText as CloudName;
  // Messages name the file relative to the working directory (as the user wrote it).
  const rel = relative(cwd, path);
  const fileLabel = rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
  const prefixOrigin = env.CLUSTER_NAME_PREFIX !== undefined ? "CLUSTER_NAME_PREFIX" : file.namePrefix !== undefined ? `${fileLabel} namePrefix` : undefined;
  const prefix = env.CLUSTER_NAME_PREFIX ?? file.namePrefix ?? "mesos";

  const stacks = {} as Record<ClusterProfile, MesosClusterStackProps>;
  const sources = {} as Record<ClusterProfile, Record<string, string>>;
  for (const profile of PROFILES) {
    const upper = profile.toUpperCase();
    const layers: [KnobValues, (key: string) => string][] = [
      [stripName(file), (k) => `${fileLabel} ${k}`],
      [file[cloud] ?? {}, (k) => `${fileLabel} ${cloud}.${k}`],
      [stripName(file.stacks?.[profile] ?? {}), (k) => `${fileLabel} stacks.${profile}.${k}`],
      [fromEnv(env, "CLUSTER_"), (k) => envNameOf("CLUSTER_", k)],
      [fromEnv(env, `CLUSTER_${upper}_`), (k) => envNameOf(`CLUSTER_${upper}_`, k)],
    ];
    const merged: KnobValues = {};
    const origins: Record<string, string> = {};
    for (const [layer, origin] of layers) {
      for (const [k, v] of Object.entries(layer)) {
        if (v === undefined) continue;
        if (k === "images") {
          merged.images = { ...(merged.images ?? {}), ...(v as Partial<ClusterImages>) };
          for (const image of Object.keys(v as object)) origins[`images.${image}`] = origin(`images.${image}`);
        } else if (k === "backend") {
          const before = merged.backend;
          merged.backend = mergeBackend(before, v as BackendSettings);
          if (merged.backend !== before && (v as BackendSettings).type !== undefined && (v as BackendSettings).type !== before?.type) {
            for (const key of Object.keys(origins)) if (key.startsWith("backend.")) delete origins[key];
          }
          for (const key of Object.keys(v as object)) origins[`backend.${key}`] = origin(`backend.${key}`);
        } else {
          (merged as Record<string, unknown>)[k] = v;
          origins[k] = origin(k);
        }
      }
    }
    const nameVariable = `CLUSTER_${upper}_NAME`;
    const name = env[nameVariable] ?? file.stacks?.[profile]?.name ?? `${prefix}-${profile}`;
    const nameOrigin = env[nameVariable] !== undefined ? nameVariable : file.stacks?.[profile]?.name !== undefined ? `${fileLabel} stacks.${profile}.name` : prefixOrigin && `${prefixOrigin} (${prefix}-${profile})`;
    if (nameOrigin) origins.name = nameOrigin;
    const { sshPublicKeyFile, sshPublicKey, ...rest } = merged;
    let key = sshPublicKey;
    if (key === undefined && sshPublicKeyFile !== undefined) {
      const origin = origins.sshPublicKeyFile;
      const at = origin.startsWith("CLUSTER_") ? { where: "app", property: origin } : { where: path, property: origin.slice(fileLabel.length + 1) };
      key = readKeyFile(sshPublicKeyFile, cwd, home, at.where, at.property, `the file ${JSON.stringify(sshPublicKeyFile)}`);
      origins.sshPublicKey = `${origin} (${sshPublicKeyFile})`;
    } else if (key === undefined) {
      const found = findUserKey(home, cloud);
      if (found) {
        key = found.key;
        origins.sshPublicKey = found.path;
      }
    }
    delete origins.sshPublicKeyFile;
    stacks[profile] = { ...rest, cloud, profile, clusterName: name, sshPublicKey: key };
    sources[profile] = origins;
  }
  return { cloud, source, stacks, sources };
}

/** The variable of a knob key (`agentCount`, `images.marathon`, `backend.bucket`) under a prefix. */
function envNameOf(prefix: string, key: string): string {
  if (key.startsWith("images.")) return `${prefix}${IMAGE_KNOBS[key.slice(7) as keyof ClusterImages]}`;
  if (key.startsWith("backend.")) return `${prefix}${BACKEND_KNOBS.find((k) => k.key === key.slice(8))?.env ?? "BACKEND"}`;
  return `${prefix}${KNOBS.find((k) => k.key === key)?.env ?? key}`;
}

/**
 * The knob behind a construct property, for messages: the construct path
 * relative to the stack (`agents/machines`) and the property (`vmSize`).
 */
const PROPERTY_KNOBS: [RegExp, RegExp, string | ((property: string) => string)][] = [
  [/^$/, /^(masterCount|agentCount|adminCidrs|internetIngress|authPasswords|authUsername|masterSubnetCidrs|agentSubnetCidrs|readinessGate|exampleApps|insecure|auth|swarmTls|apiTls|agentAuthentication|trustedLaunch|secretsKmsKeyArn|swarmClientNames|swarm|discovery|edgeAgentCount|edgeVmSize|agentDrainSeconds)$/, (p) => p],
  [/^$/, /^clusterName$/, "name"],
  [/^$/, /^backend\.(\w+)$/, (p) => p],
  [/^(azure|aws)$/, /^(location|region)$/, "region"],
  [/^(azure|aws)$/, /^(zones|addressSpace|masterSubnetCidrs|agentSubnetCidrs|sshPublicKey)$/, (p) => p],
  [/^aws$/, /^secretsKmsKeyArn$/, (p) => p],
  [/^(azure|aws)$/, /^clusterName$/, "name"],
  [/^$|^azure$/, /^deployerCidrs(\[\d+\])?$/, "deployerCidrs"],
  [/^masters$/, /^vmSize$/, "masterVmSize"],
  [/^masters$/, /^dockerEngineVersion$/, "masterDockerEngineVersion"],
  [/^masters$/, /^dataDiskGb$/, "masterDataDiskGb"],
  [/^masters$/, /^count$/, "masterCount"],
  [/^masters$/, /^zones$/, "zones"],
  [/^agents(\/machines)?$/, /^vmSize$/, "agentVmSize"],
  [/^agents(\/machines)?$/, /^dockerEngineVersion$/, "agentDockerEngineVersion"],
  [/^agents(\/machines)?$/, /^count$/, "agentCount"],
  [/^agents$/, /^image$/, "images.mesosAgent"],
  [/^zookeeper$/, /^image$/, "images.zookeeper"],
  [/^mesos$/, /^image$/, "images.mesosMaster"],
  [/^marathon$/, /^image$/, "images.marathon"],
  [/^swarm$/, /^image$/, "images.swarm"],
  // issue 14: the edge pool and discovery's images
  [/^edge(\/machines)?$/, /^vmSize$/, "edgeVmSize"],
  [/^edge(\/machines)?$/, /^count$/, "edgeAgentCount"],
  [/^edge(\/machines)?$/, /^dockerEngineVersion$/, "agentDockerEngineVersion"],
  [/^edge$/, /^image$/, "images.mesosAgent"],
  [/^dns$/, /^image$/, "images.mesosDns"],
  [/^marathon-lb$/, /^image$/, "images.marathonLb"],
  // issue 15: the pools' drain
  [/^(agents|edge)$/, /^drain\.(enabled|timeoutSeconds)$/, "agentDrainSeconds"],
];

/**
 * Where each value of `config` came from, for errors and warnings of the
 * stacks built from it (stacks/app.ts registers it with the app): a
 * construct path and property map to the knob that set them.
 */
export function valueSources(config: AppConfig): ValueSourceResolver {
  return (stackId, relativePath, property) => {
    const origins = config.sources?.[stackId as ClusterProfile];
    if (!origins) return undefined;
    for (const [path, prop, knob] of PROPERTY_KNOBS) {
      if (!path.test(relativePath) || !prop.test(property)) continue;
      const key = typeof knob === "string" ? knob : knob(property);
      if (origins[key] !== undefined) return origins[key];
    }
    return undefined;
  };
}

function stripName(section: KnobValues & { name?: string }): KnobValues {
  const picked: Record<string, unknown> = {};
  for (const key of SECTION_KEYS) picked[key] = (section as Record<string, unknown>)[key];
  return picked as KnobValues;
}

function checkKeys(path: string, prefix: string, object: Record<string, unknown>, allowed: Set<string>): void {
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    configError(path, prefix.replace(/\.$/, "") || "(file)", object, "a JSON object");
  }
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) configError(path, `${prefix}${key}`, key, `one of ${[...allowed].join(", ")}${didYouMean(key, allowed)}`);
  }
  const images = object.images as Record<string, unknown> | undefined;
  if (images !== undefined && (typeof images !== "object" || images === null || Array.isArray(images))) {
    configError(path, `${prefix}images`, images, 'a JSON object of image references such as {"marathon": "mesosphere/marathon:v1.8.244"}');
  }
  for (const key of Object.keys(images ?? {})) {
    if (!(key in IMAGE_KNOBS)) configError(path, `${prefix}images.${key}`, key, `one of ${Object.keys(IMAGE_KNOBS).join(", ")}${didYouMean(key, Object.keys(IMAGE_KNOBS))}`);
  }
  checkTypes(path, prefix, object);
  if (object.backend !== undefined) checkBackendKeys(path, `${prefix}backend`, object.backend);
}

function fromEnv(env: NodeJS.ProcessEnv, prefix: string): KnobValues {
  const values: Record<string, unknown> = {};
  for (const knob of KNOBS) {
    const name = `${prefix}${knob.env}`;
    const text = env[name];
    if (text === undefined || text === "") continue;
    if (knob.kind === "string") values[knob.key] = text;
    else if (knob.kind === "list") values[knob.key] = text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    else if (knob.kind === "bool") {
      const word = text.trim().toLowerCase();
      if (!TRUE.includes(word) && !FALSE.includes(word)) configError("app", name, text, `${TRUE.join("/")} or ${FALSE.join("/")}`);
      values[knob.key] = TRUE.includes(word);
    }
    else {
      if (!/^-?\d+$/.test(text.trim())) configError("app", name, text, "an integer");
      values[knob.key] = Number(text);
    }
  }
  const images: Record<string, string> = {};
  for (const [key, suffix] of Object.entries(IMAGE_KNOBS)) {
    const text = env[`${prefix}${suffix}`];
    if (text) images[key] = text;
  }
  if (Object.keys(images).length > 0) values.images = images;
  const backend = backendFromEnv(env, prefix);
  if (backend) values.backend = backend;
  return values as KnobValues;
}

/**
 * Reads the admin public key from `file` (`~/` is the home directory,
 * relative paths start at the working directory). A directory, an
 * unreadable file, a private key or anything but one OpenSSH public key
 * line is refused, naming the variable or file key that gave the path.
 */
function readKeyFile(file: string, cwd: string, home: string, where: string, property: string, what: string): string {
  const path = file.startsWith("~/") ? join(home, file.slice(2)) : isAbsolute(file) ? file : resolve(cwd, file);
  if (!existsSync(path)) configError(where, property, file, `the path of an existing OpenSSH public key file such as ~/.ssh/id_ed25519.pub (${path} does not exist)`);
  if (statSync(path).isDirectory()) configError(where, property, file, `the path of a public key file, not a directory (${path} is one; e.g. ${join(file, "id_ed25519.pub")})`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    configError(where, property, file, `a readable public key file (${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const problem = publicKeyProblem(text);
  if (problem) configError(where, property, file, `an OpenSSH public key file (${path}: ${problem})`);
  return text.trim();
}

/** Why the text of a key file is not one OpenSSH public key line, or undefined. Never quotes the text (it may be a private key). */
function publicKeyProblem(text: string): string | undefined {
  if (/PRIVATE KEY-----/.test(text)) return "it holds a private key; give the public half, the .pub file next to it";
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("#"));
  if (lines.length === 0) return "it is empty";
  if (lines.length > 1) return `it holds ${lines.length} lines; give a file with one public key`;
  if (!/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) AAAA[A-Za-z0-9+/]+={0,3}( .*)?$/.test(lines[0])) {
    return 'it is not a public key line such as "ssh-ed25519 AAAA... you@host"';
  }
  return undefined;
}

/**
 * The user's own public key, when one is in ~/.ssh (Azure takes RSA and
 * Ed25519 only). One that is there but unreadable or not a public key is
 * refused rather than passed over for a generated key.
 */
function findUserKey(home: string, cloud: CloudName): { key: string; path: string } | undefined {
  const names = cloud === "azure" ? ["id_ed25519.pub", "id_rsa.pub"] : ["id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"];
  for (const name of names) {
    const path = join(home, ".ssh", name);
    if (!existsSync(path)) continue;
    const allowed = "(found in ~/.ssh because no sshPublicKey or sshPublicKeyFile was configured; set one to choose another key)";
    if (statSync(path).isDirectory()) configError("app", "sshPublicKeyFile", path, `a public key file, not a directory ${allowed}`);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      configError("app", "sshPublicKeyFile", path, `a readable public key file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}) ${allowed}`);
    }
    const problem = publicKeyProblem(text);
    if (problem) configError("app", "sshPublicKeyFile", path, `an OpenSSH public key file (${problem}) ${allowed}`);
    return { key: text.trim(), path: `~/.ssh/${name}` };
  }
  return undefined;
}

/** "a JSON boolean (true or false, without quotes)", with what was given instead. */
function typeExpected(kind: Knob["kind"], value: unknown): string {
  const odd = Array.isArray(value) ? value.find((v) => typeof v !== "string") : undefined;
  const given = Array.isArray(value)
    ? kind === "list" ? `a list holding ${odd === null ? "null" : `a ${typeof odd}`} (${JSON.stringify(odd)})` : "a list"
    : value === null ? "null" : `a ${typeof value}`;
  const expected: Record<Knob["kind"], string> = {
    string: "a JSON string",
    int: "a JSON number such as 3 (an integer, without quotes)",
    list: 'a JSON list of strings such as ["1", "2"] (the comma-separated form is for environment variables)',
    bool: "a JSON boolean: true or false, without quotes",
  };
  return `${expected[kind]}, not ${given}`;
}

/** Each knob value of a file section has the JSON type of its knob. */
function checkTypes(path: string, prefix: string, object: Record<string, unknown>): void {
  for (const knob of KNOBS) {
    const value = object[knob.key];
    if (value === undefined) continue;
    const ok =
      knob.kind === "string" ? typeof value === "string"
      : knob.kind === "int" ? typeof value === "number" && Number.isInteger(value)
      : knob.kind === "bool" ? typeof value === "boolean"
      : Array.isArray(value) && value.every((v) => typeof v === "string");
    if (!ok) configError(path, `${prefix}${knob.key}`, value, typeExpected(knob.kind, value));
  }
  const images = object.images;
  if (images !== undefined && (typeof images !== "object" || images === null || Array.isArray(images))) {
    configError(path, `${prefix}images`, images, 'a JSON object of image references such as {"marathon": "mesosphere/marathon:v1.8.244"}');
  }
  for (const [key, value] of Object.entries((images as Record<string, unknown>) ?? {})) {
    if (typeof value !== "string") configError(path, `${prefix}images.${key}`, value, typeExpected("string", value));
  }
}

/**
 * Variables of other tools and of this project's commands that start with
 * CLUSTER_ but configure no stack: the deploy-time client, `cdktf destroy`,
 * the machines' secret fetcher.
 */
const OTHER_VARIABLES = [
  "CLUSTER_SKIP_APP_DELETE",
  "CLUSTER_CLIENT_TIMEOUT_SECONDS",
  "CLUSTER_CLIENT_POLL_SECONDS",
  "CLUSTER_CLIENT_REQUEST_TIMEOUT_SECONDS",
  "CLUSTER_SECRET_ENDPOINT",
  "CLUSTER_SECRET_TIMEOUT",
  "CLUSTER_IMDS",
];

/** Suffixes every stack has: `CLUSTER_<suffix>` and `CLUSTER_<STACK>_<suffix>`. */
function stackSuffixes(): string[] {
  return [
    ...KNOBS.map((k) => k.env),
    ...Object.values(IMAGE_KNOBS),
    ...BACKEND_KNOBS.map((k) => k.env),
    ...Object.values(RETIRED_KNOBS).map((k) => k.env),
  ];
}

/**
 * Every CLUSTER_* variable must be one this project reads: a misspelled
 * knob (CLUSTER_AGENT_CUONT) or an unknown stack (CLUSTER_PROD_AGENT_COUNT)
 * would otherwise be ignored and the stack built with the default.
 */
function checkVariables(env: NodeJS.ProcessEnv): void {
  const suffixes = stackSuffixes();
  const known = new Set<string>(["CLUSTER_CONFIG", "CLUSTER_CLOUD", "CLUSTER_NAME_PREFIX", ...OTHER_VARIABLES]);
  for (const suffix of suffixes) known.add(`CLUSTER_${suffix}`);
  for (const profile of PROFILES) {
    known.add(`CLUSTER_${profile.toUpperCase()}_NAME`);
    for (const suffix of suffixes) known.add(`CLUSTER_${profile.toUpperCase()}_${suffix}`);
  }
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith("CLUSTER_") || known.has(name)) continue;
    const shown = /PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE/.test(name) ? "(hidden)" : env[name];
    const stack = /^CLUSTER_([A-Z0-9]+)_(.+)$/.exec(name);
    if (stack && (suffixes.includes(stack[2]) || stack[2] === "NAME")) {
      const choices = PROFILES.map((p) => `CLUSTER_${p.toUpperCase()}_${stack[2]}`);
      configError(
        "app",
        name,
        shown,
        `a variable of a stack of this app: ${choices.join(" or ")} ("${stack[1]}" is not a stack; the stacks are ${PROFILES.join(", ")})`,
      );
    }
    const hint = didYouMean(name, known);
    configError("app", name, shown, `a variable this project reads${hint || " (see README, Configuration)"}: an unknown CLUSTER_* variable is refused, not ignored`);
  }
}
