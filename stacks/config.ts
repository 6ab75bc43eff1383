import { existsSync, readFileSync } from "fs";
import { homedir } from "os";
import { isAbsolute, join, resolve } from "path";
import { CloudName } from "../constructs/cloud/target";
import { ClusterConfigError, describeValue } from "../constructs/core/validation";
import { ClusterImages, ClusterProfile, InternetService, MesosClusterStackProps, PasswordSource } from "./mesos-cluster-stack";
import { backendFromEnv, BackendSettings, checkBackendKeys, mergeBackend } from "./backend";

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
  internetIngress?: InternetService[];
  insecure?: boolean;
  /** Where the state lives: `{ "type": "azurerm" | "s3" | "local", ... }` (stacks/backend.ts). */
  backend?: BackendSettings;
  // issue 7: operating the cluster
  readinessGate?: "auto" | "on" | "off";
  exampleApps?: string[];
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
  { key: "internetIngress", env: "INTERNET_INGRESS", kind: "list" },
  { key: "insecure", env: "INSECURE", kind: "bool" },
  // issue 7: operating the cluster
  { key: "readinessGate", env: "READINESS_GATE", kind: "string" },
  { key: "exampleApps", env: "EXAMPLE_APPS", kind: "list" },
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
    try {
      file = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      configError(path, "(file)", (e as Error).message, "valid JSON");
    }
    const sections: [string, Record<string, unknown> | undefined][] = [
      ["", file as Record<string, unknown>],
      ...CLOUDS.map((c): [string, Record<string, unknown> | undefined] => [`${c}.`, file[c] as Record<string, unknown> | undefined]),
      ...Object.entries(file.stacks ?? {}).map(([n, v]): [string, Record<string, unknown> | undefined] => [`stacks.${n}.`, v as Record<string, unknown>]),
    ];
    checkRetired({}, path, sections);
    checkKeys(path, "", file as Record<string, unknown>, FILE_KEYS);
    for (const cloud of CLOUDS) if (file[cloud]) checkKeys(path, `${cloud}.`, file[cloud] as Record<string, unknown>, SECTION_KEYS);
    for (const [name, section] of Object.entries(file.stacks ?? {})) {
      if (!PROFILES.includes(name as ClusterProfile)) configError(path, `stacks.${name}`, name, `a stack name: ${PROFILES.join(", ")}`);
      checkKeys(path, `stacks.${name}.`, section as Record<string, unknown>, STACK_KEYS);
    }
  }

  checkRetired(env, path, []);
  const cloudText = env.CLUSTER_CLOUD !== undefined && env.CLUSTER_CLOUD !== "" ? env.CLUSTER_CLOUD : file.cloud ?? "azure";
  if (!CLOUDS.includes(cloudText as CloudName)) {
    configError("app", env.CLUSTER_CLOUD !== undefined ? "CLUSTER_CLOUD" : "cloud", cloudText, `${CLOUDS.map((c) => describeValue(c)).join(" or ")} (default azure)`);
  }
  const cloud = cloudText as CloudName;
  const prefix = env.CLUSTER_NAME_PREFIX ?? file.namePrefix ?? "mesos";

  const stacks = {} as Record<ClusterProfile, MesosClusterStackProps>;
  for (const profile of PROFILES) {
    const layers: KnobValues[] = [
      stripName(file),
      file[cloud] ?? {},
      stripName(file.stacks?.[profile] ?? {}),
      fromEnv(env, "CLUSTER_"),
      fromEnv(env, `CLUSTER_${profile.toUpperCase()}_`),
    ];
    const merged: KnobValues = {};
    for (const layer of layers) {
      for (const [k, v] of Object.entries(layer)) {
        if (v === undefined) continue;
        if (k === "images") merged.images = { ...(merged.images ?? {}), ...(v as Partial<ClusterImages>) };
        else if (k === "backend") merged.backend = mergeBackend(merged.backend, v as BackendSettings);
        else (merged as Record<string, unknown>)[k] = v;
      }
    }
    const name = env[`CLUSTER_${profile.toUpperCase()}_NAME`] ?? file.stacks?.[profile]?.name ?? `${prefix}-${profile}`;
    const { sshPublicKeyFile, sshPublicKey, ...rest } = merged;
    stacks[profile] = {
      ...rest,
      cloud,
      profile,
      clusterName: name,
      sshPublicKey: sshPublicKey ?? readKeyFile(sshPublicKeyFile, cwd, home) ?? findUserKey(home, cloud),
    };
  }
  return { cloud, source, stacks };
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
    if (!allowed.has(key)) configError(path, `${prefix}${key}`, key, `one of ${[...allowed].join(", ")}`);
  }
  const images = object.images as Record<string, unknown> | undefined;
  for (const key of Object.keys(images ?? {})) {
    if (!(key in IMAGE_KNOBS)) configError(path, `${prefix}images.${key}`, key, `one of ${Object.keys(IMAGE_KNOBS).join(", ")}`);
  }
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

function readKeyFile(file: string | undefined, cwd: string, home: string): string | undefined {
  if (!file) return undefined;
  const path = file.startsWith("~/") ? join(home, file.slice(2)) : isAbsolute(file) ? file : resolve(cwd, file);
  if (!existsSync(path)) configError("app", "sshPublicKeyFile", file, "the path of an existing OpenSSH public key file");
  return readFileSync(path, "utf8").trim();
}

/** The user's own public key, when one is in ~/.ssh (Azure takes RSA and Ed25519 only). */
function findUserKey(home: string, cloud: CloudName): string | undefined {
  const names = cloud === "azure" ? ["id_ed25519.pub", "id_rsa.pub"] : ["id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"];
  for (const name of names) {
    const path = join(home, ".ssh", name);
    if (existsSync(path)) return readFileSync(path, "utf8").trim();
  }
  return undefined;
}
