import { IConstruct } from "constructs";
import { ContainerImage } from "./container-image";
import { checkRole } from "./mesos-acls";
import { checkInteger, describeValue, fail, isUnresolved } from "./validation";

/**
 * Marathon app definitions as typed values: what `MarathonApp` deploys and
 * `npm run smoke` uses for its test app. Rendering checks Marathon's rules at
 * synth (those of its app JSON schema, 1.7, and of its validators) so that a
 * mistake fails `cdktf synth` with the construct path instead of a 422 from
 * Marathon during `cdktf deploy`. Values that are unresolved tokens are not
 * checked.
 */

/** The JSON Marathon takes at `PUT /v2/apps/{id}` (the fields this project renders). */
export interface MarathonAppDefinition {
  id: string;
  cmd?: string;
  args?: string[];
  user?: string;
  instances: number;
  cpus: number;
  mem: number;
  disk: number;
  container?: {
    type: "DOCKER";
    docker: { image: string; forcePullImage: boolean; privileged: boolean; parameters: { key: string; value: string }[] };
    portMappings?: Record<string, unknown>[];
    volumes?: { containerPath: string; hostPath: string; mode: "RO" | "RW" }[];
  };
  networks: { mode: "host" | "container/bridge" | "container"; name?: string }[];
  portDefinitions?: Record<string, unknown>[];
  requirePorts?: boolean;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  constraints?: string[][];
  acceptedResourceRoles?: string[];
  healthChecks?: Record<string, unknown>[];
  upgradeStrategy: { minimumHealthCapacity: number; maximumOverCapacity: number };
  fetch?: { uri: string; executable: boolean; extract: boolean; cache: boolean }[];
  backoffSeconds?: number;
  backoffFactor?: number;
  maxLaunchDelaySeconds?: number;
  taskKillGracePeriodSeconds?: number;
}

/** A health check protocol Marathon knows: which side probes (Marathon or the Mesos agent) and how. */
export class HealthCheckProtocol {
  /** Marathon sends HTTP GETs; 200-399 is healthy. */
  public static readonly HTTP = new HealthCheckProtocol("HTTP", "http");
  public static readonly HTTPS = new HealthCheckProtocol("HTTPS", "http");
  /** Marathon opens a TCP connection. */
  public static readonly TCP = new HealthCheckProtocol("TCP", "tcp");
  /** The Mesos agent runs a command in the task; exit 0 is healthy. */
  public static readonly COMMAND = new HealthCheckProtocol("COMMAND", "command");
  /** The Mesos agent probes (scales better than Marathon-side checks). */
  public static readonly MESOS_HTTP = new HealthCheckProtocol("MESOS_HTTP", "http");
  public static readonly MESOS_HTTPS = new HealthCheckProtocol("MESOS_HTTPS", "http");
  public static readonly MESOS_TCP = new HealthCheckProtocol("MESOS_TCP", "tcp");

  public static readonly ALL: readonly HealthCheckProtocol[] = [
    HealthCheckProtocol.HTTP,
    HealthCheckProtocol.HTTPS,
    HealthCheckProtocol.TCP,
    HealthCheckProtocol.COMMAND,
    HealthCheckProtocol.MESOS_HTTP,
    HealthCheckProtocol.MESOS_HTTPS,
    HealthCheckProtocol.MESOS_TCP,
  ];

  /** The protocol named `name` (e.g. from configuration); throws naming the allowed ones. */
  public static of(name: string): HealthCheckProtocol {
    const found = HealthCheckProtocol.ALL.find((p) => p.name === name);
    if (!found) throw new Error(`unknown health check protocol ${describeValue(name)}; allowed: ${HealthCheckProtocol.ALL.map((p) => p.name).join(", ")}`);
    return found;
  }

  private constructor(
    /** Marathon's name, e.g. `MESOS_HTTP`. */
    public readonly name: string,
    /** What is probed: an HTTP path, a TCP port, or a command. */
    public readonly kind: "http" | "tcp" | "command",
  ) {}

  /** Run by the Mesos agent (`MESOS_*`, `COMMAND`) rather than by Marathon. */
  public get mesosSide(): boolean {
    return this.name.startsWith("MESOS_") || this.name === "COMMAND";
  }

  public toString(): string {
    return this.name;
  }
}

/** Timing of a health check; Marathon's defaults apply to what is left out. */
export interface HealthCheckOptions {
  /** Failures are ignored this long after a task starts, or until it is first healthy (seconds). @default 300 */
  readonly gracePeriodSeconds?: number;
  /** Seconds between checks. @default 60 */
  readonly intervalSeconds?: number;
  /** A check taking longer fails (seconds). @default 20 */
  readonly timeoutSeconds?: number;
  /** Consecutive failures after which the task is killed; 0 never kills. @default 3 */
  readonly maxConsecutiveFailures?: number;
  /** Seconds before the first check (agent-side protocols only). @default 15 */
  readonly delaySeconds?: number;
}

/** Which port a network health check probes: one of the app's ports by index, or a fixed port. */
export interface HealthCheckPortOptions extends HealthCheckOptions {
  /** Index into the app's port mappings (or port definitions). @default 0 unless `port` is given */
  readonly portIndex?: number;
  /** A fixed port instead of `portIndex`. */
  readonly port?: number;
}

/** Options of an HTTP(S) health check: the port to probe, the path, and how to read 1xx answers. */
export interface HttpHealthCheckOptions extends HealthCheckPortOptions {
  /** Path requested. @default "/" */
  readonly path?: string;
  /** Treat 1xx answers as neither healthy nor unhealthy. @default false */
  readonly ignoreHttp1xx?: boolean;
}

/** One health check of an app; create with the static factories. */
export class HealthCheck {
  /** Marathon-side HTTP GET of `path` on a task port. */
  public static http(options: HttpHealthCheckOptions = {}): HealthCheck {
    return new HealthCheck(HealthCheckProtocol.HTTP, options);
  }

  public static https(options: HttpHealthCheckOptions = {}): HealthCheck {
    return new HealthCheck(HealthCheckProtocol.HTTPS, options);
  }

  /** Marathon-side TCP connect to a task port. */
  public static tcp(options: HealthCheckPortOptions = {}): HealthCheck {
    return new HealthCheck(HealthCheckProtocol.TCP, options);
  }

  /** Agent-side HTTP GET (scales with the cluster; needs Mesos 1.1+). */
  public static mesosHttp(options: HttpHealthCheckOptions = {}): HealthCheck {
    return new HealthCheck(HealthCheckProtocol.MESOS_HTTP, options);
  }

  public static mesosHttps(options: HttpHealthCheckOptions = {}): HealthCheck {
    return new HealthCheck(HealthCheckProtocol.MESOS_HTTPS, options);
  }

  public static mesosTcp(options: HealthCheckPortOptions = {}): HealthCheck {
    return new HealthCheck(HealthCheckProtocol.MESOS_TCP, options);
  }

  /** The agent runs `command` in the task's sandbox/container; exit 0 is healthy. */
  public static command(command: string, options: HealthCheckOptions = {}): HealthCheck {
    return new HealthCheck(HealthCheckProtocol.COMMAND, options, command);
  }

  private constructor(
    public readonly protocol: HealthCheckProtocol,
    public readonly options: HttpHealthCheckOptions,
    public readonly command?: string,
  ) {}

  /** Marathon's JSON for this check; `ports` is how many ports the app has. */
  public render(scope: IConstruct | string, property: string, ports: number): Record<string, unknown> {
    const o = this.options;
    const json: Record<string, unknown> = { protocol: this.protocol.name };
    if (this.protocol.kind === "command") {
      if (!this.command || (!isUnresolved(this.command) && this.command.trim() === "")) fail(scope, `${property}.command`, this.command, "a non-empty shell command");
      json.command = { value: this.command };
    } else {
      if (o.port !== undefined && o.portIndex !== undefined) fail(scope, `${property}.port`, o.port, "either port or portIndex, not both");
      if (o.port !== undefined) {
        json.port = checkInteger(scope, `${property}.port`, o.port, 1, 65535);
      } else {
        const index = o.portIndex ?? 0;
        if (ports === 0) fail(scope, `${property}.portIndex`, index, "a port to probe: map a container port (or define a host port), or give a fixed port");
        json.portIndex = checkInteger(scope, `${property}.portIndex`, index, 0, ports - 1);
      }
      if (this.protocol.kind === "http") {
        const path = o.path ?? "/";
        if (!isUnresolved(path) && !/^\/\S*$/.test(path)) fail(scope, `${property}.path`, path, "an absolute path such as /health (no spaces)");
        json.path = path;
        if (o.ignoreHttp1xx !== undefined) json.ignoreHttp1xx = o.ignoreHttp1xx;
      }
    }
    if (o.path !== undefined && this.protocol.kind !== "http") fail(scope, `${property}.path`, o.path, `no path: ${this.protocol.name} checks probe no URL`);
    json.gracePeriodSeconds = checkInteger(scope, `${property}.gracePeriodSeconds`, o.gracePeriodSeconds ?? 300, 0);
    json.intervalSeconds = checkInteger(scope, `${property}.intervalSeconds`, o.intervalSeconds ?? 60, 1);
    json.timeoutSeconds = checkInteger(scope, `${property}.timeoutSeconds`, o.timeoutSeconds ?? 20, 1);
    json.maxConsecutiveFailures = checkInteger(scope, `${property}.maxConsecutiveFailures`, o.maxConsecutiveFailures ?? 3, 0);
    if (this.protocol.mesosSide) json.delaySeconds = checkInteger(scope, `${property}.delaySeconds`, o.delaySeconds ?? 15, 0);
    else if (o.delaySeconds !== undefined) fail(scope, `${property}.delaySeconds`, o.delaySeconds, `no delaySeconds: only agent-side checks (MESOS_*, COMMAND) take it, not ${this.protocol.name}`);
    return json;
  }
}

/** Where an app's tasks may run: Marathon's constraint operators. */
export class PlacementConstraint {
  /** At most one task per distinct value of `field`, e.g. one per `hostname`. */
  public static unique(field: string): PlacementConstraint {
    return new PlacementConstraint(field, "UNIQUE");
  }

  /** Only where `field` equals `value` (or, without a value, all tasks where `field` is the same). */
  public static cluster(field: string, value?: string): PlacementConstraint {
    return new PlacementConstraint(field, "CLUSTER", value);
  }

  /** Spread evenly over the values of `field` (e.g. a zone attribute), optionally over `groups` values. */
  public static groupBy(field: string, groups?: number): PlacementConstraint {
    return new PlacementConstraint(field, "GROUP_BY", groups === undefined ? undefined : groups, true);
  }

  /** Only where `field` matches the regular expression. */
  public static like(field: string, regex: string): PlacementConstraint {
    return new PlacementConstraint(field, "LIKE", regex);
  }

  /** Only where `field` does not match the regular expression. */
  public static unlike(field: string, regex: string): PlacementConstraint {
    return new PlacementConstraint(field, "UNLIKE", regex);
  }

  /** At most `max` tasks per value of `field`. */
  public static maxPer(field: string, max: number): PlacementConstraint {
    return new PlacementConstraint(field, "MAX_PER", max, true);
  }

  private constructor(
    public readonly field: string,
    public readonly operator: "UNIQUE" | "CLUSTER" | "GROUP_BY" | "LIKE" | "UNLIKE" | "MAX_PER",
    public readonly value?: string | number,
    private readonly numeric = false,
  ) {}

  /** `[field, OPERATOR, value?]` as Marathon takes it. */
  public render(scope: IConstruct | string, property: string): string[] {
    if (!isUnresolved(this.field) && !/^\S+$/.test(this.field ?? "")) fail(scope, `${property}.field`, this.field, "an attribute name such as hostname");
    if (this.value === undefined) {
      if (this.operator === "LIKE" || this.operator === "UNLIKE" || this.operator === "MAX_PER") {
        fail(scope, `${property}.value`, this.value, `a value: ${this.operator} needs one`);
      }
      return [this.field, this.operator];
    }
    if (this.numeric) {
      checkInteger(scope, `${property}.value`, this.value as number, 1);
    } else if (this.operator === "LIKE" || this.operator === "UNLIKE") {
      try {
        new RegExp(String(this.value));
      } catch (e) {
        fail(scope, `${property}.value`, this.value, `a regular expression (${(e as Error).message})`);
      }
    }
    return [this.field, this.operator, String(this.value)];
  }
}

/** The network an app's tasks join. */
export class AppNetwork {
  /** The agent's network namespace: tasks bind host ports (`portDefinitions`). */
  public static host(): AppNetwork {
    return new AppNetwork("host");
  }

  /** Docker's bridge: container ports are mapped to host ports (`portMappings`). */
  public static bridge(): AppNetwork {
    return new AppNetwork("container/bridge");
  }

  /** A named container network (CNI / Docker user network): a task gets its own IP. */
  public static container(name: string): AppNetwork {
    return new AppNetwork("container", name);
  }

  private constructor(
    public readonly mode: "host" | "container/bridge" | "container",
    public readonly name?: string,
  ) {}

  /** Whether ports are mapped from container to host (bridge, container networks) rather than bound on the host. */
  public get mapsPorts(): boolean {
    return this.mode !== "host";
  }
}

/** One container port made reachable (bridge or container networks). */
export interface PortMapping {
  /** Port the process listens on inside the container (0: the same as the host port). */
  readonly containerPort: number;
  /** Host port; 0 lets Mesos pick one from the agent's offered range (31000-32000). @default 0 */
  readonly hostPort?: number;
  /** A cluster-wide port for load balancers; 0 lets Marathon assign one. @default 0 */
  readonly servicePort?: number;
  /** @default "tcp" */
  readonly protocol?: "tcp" | "udp" | "udp,tcp";
  /** A name for service discovery: lower-case letters, digits and '-'. */
  readonly name?: string;
  readonly labels?: Record<string, string>;
}

/** A host port for an app on host networking. */
export interface PortDefinition {
  /** With `requirePorts` this exact host port; else a service port (0: Marathon assigns one). @default 0 */
  readonly port?: number;
  /** @default "tcp" */
  readonly protocol?: "tcp" | "udp";
  readonly name?: string;
  readonly labels?: Record<string, string>;
}

/** A host directory mounted into the container. */
export interface ContainerVolume {
  readonly containerPath: string;
  readonly hostPath: string;
  /** @default "RW" */
  readonly mode?: "RO" | "RW";
}

/** A Docker container for the app's tasks (run by the agents' Docker containerizer). */
export interface DockerContainerSpec {
  /** Image pinned by an exact tag or digest (never `latest`). */
  readonly image: string;
  /** Container ports to expose (bridge or container networks). @default [] */
  readonly portMappings?: PortMapping[];
  /** Extra `docker run` options as key/value pairs, e.g. `{ key: "log-opt", value: "max-size=10m" }`; keys may repeat. @default [] */
  readonly parameters?: { readonly key: string; readonly value: string }[];
  /** Pull the image even when the agent has it. @default false */
  readonly forcePullImage?: boolean;
  /** @default false */
  readonly privileged?: boolean;
  /** Host directories to mount. @default [] */
  readonly volumes?: ContainerVolume[];
}

/** How instances are replaced when the definition changes. */
export interface UpgradeStrategy {
  /** Share of instances (0 to 1) that must stay healthy during an upgrade. @default 1 */
  readonly minimumHealthCapacity?: number;
  /** Share of instances (0 to 1) that may run in excess during an upgrade. @default 1 */
  readonly maximumOverCapacity?: number;
}

/** An artifact the Mesos fetcher downloads into the sandbox before the task starts. */
export interface FetchUri {
  readonly uri: string;
  /** @default false */
  readonly executable?: boolean;
  /** Unpack archives. @default true */
  readonly extract?: boolean;
  /** @default false */
  readonly cache?: boolean;
}

/**
 * marathon-lb's defaults, shared by {@link MarathonLb} and the apps it
 * serves: the group its image serves by default (mesosphere/marathon-lb
 * v1.15.0 Dockerfile `CMD ["sse", "--health-check", "--group", "external"]`)
 * and the service-port range its README reserves ("service ports within the
 * reserved range (which is 10000 to 10100 by default)", README.md).
 */
export const MARATHON_LB_DEFAULTS = { group: "external", servicePorts: [10000, 10100] as const } as const;

/**
 * A marathon-lb group name: what `--group` and an app's `HAPROXY_GROUP` label
 * carry. marathon-lb splits the label on `,` (marathon_lb.py `get_apps`) and
 * treats `*` as every app (`has_group`), so neither is allowed in a name.
 */
export const LB_GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** What {@link LB_GROUP_PATTERN} allows, for error messages. */
export const LB_GROUP_ALLOWED = "1-63 characters: letters, digits, '_', '.' and '-', starting with a letter or digit (no ',' or '*': marathon-lb splits groups on ',' and '*' would take every app)";

/**
 * How an app is exposed through marathon-lb ({@link MarathonLb}), rendered to
 * the labels marathon-lb reads (mesosphere/marathon-lb v1.15.0 config.py
 * `Label` names; marathon_lb.py `get_apps` reads `HAPROXY_GROUP`) and to the
 * service port of the app's first port. marathon-lb binds the service port
 * on every edge agent and balances over the app's tasks (their host ports);
 * with a `vhost` also on 80/443 by Host header.
 */
export interface LoadBalancerExposure {
  /** The marathon-lb group that serves the app (`HAPROXY_GROUP`). @default "external" (a MarathonLb's default group) */
  readonly group?: string;
  /**
   * The service port of the app's first port (`portDefinitions[0].port` on
   * host networking, `portMappings[0].servicePort` on bridge): marathon-lb
   * listens on it (utils.py `get_service_ports`). Must lie within the
   * serving MarathonLb's `servicePorts` (10000-10100), which are reachable
   * from inside the cluster only. Marathon keeps service ports unique over
   * the cluster. Required unless a `vhost` is given (Marathon would pick one
   * between 10000 and 20000, `--local_port_min/max`, mostly outside the LB's
   * range).
   * @default none (needs a vhost)
   */
  readonly servicePort?: number;
  /** Host names served on 80 and 443 for the first port, comma-separated (`HAPROXY_0_VHOST`; the mode is then http). @default none */
  readonly vhost?: string;
  /** `tcp` or `http` (`HAPROXY_0_MODE`); http is needed for a vhost. @default marathon-lb's: http with a vhost, else tcp */
  readonly mode?: "tcp" | "http";
}

/** A Marathon app, as code. Leaving a field out means Marathon's default (rendered explicitly where it matters). */
export interface MarathonAppSpec {
  /**
   * The app id: a path of names separated by `/` (e.g. `web` or `/shop/web`);
   * each name lower-case letters, digits, `-` and `.`, not starting or ending
   * with `-` or `.`. Rendered absolute (`/shop/web`).
   */
  readonly id: string;
  /** Shell command (`/bin/sh -c`); either this or `args`, or a container's own entrypoint. */
  readonly cmd?: string;
  /** Arguments (to the container's entrypoint); either this or `cmd`. */
  readonly args?: string[];
  /** Tasks to run (0 keeps the app defined but stopped). @default 1 */
  readonly instances?: number;
  /** CPU shares per task, greater than 0. @default 1 */
  readonly cpus?: number;
  /** Memory per task in MiB, greater than 0. @default 128 */
  readonly mem?: number;
  /** Disk per task in MiB. @default 0 */
  readonly disk?: number;
  /** Run in a Docker container. @default none (a command on the agent, Mesos containerizer) */
  readonly container?: DockerContainerSpec;
  /** @default AppNetwork.bridge() when the container maps ports, else AppNetwork.host() */
  readonly network?: AppNetwork;
  /** Host ports, on host networking only. @default [] */
  readonly portDefinitions?: PortDefinition[];
  /** Use the `portDefinitions` ports as the exact host ports. @default false */
  readonly requirePorts?: boolean;
  /** Environment of each task. @default {} */
  readonly env?: Record<string, string>;
  /** Labels (metadata for load balancers, dashboards). @default {} */
  readonly labels?: Record<string, string>;
  /** Placement constraints. @default [] */
  readonly constraints?: PlacementConstraint[];
  /** @default [] */
  readonly healthChecks?: HealthCheck[];
  /** @default { minimumHealthCapacity: 1, maximumOverCapacity: 1 } */
  readonly upgradeStrategy?: UpgradeStrategy;
  /** User the tasks run as on the agent. @default Marathon's `--mesos_user` (else the user Marathon runs as) */
  readonly user?: string;
  /** Artifacts to fetch into the sandbox. @default [] */
  readonly fetch?: FetchUri[];
  /** Initial delay after a failed launch (seconds). @default 1 */
  readonly backoffSeconds?: number;
  /** Factor the delay grows by per failure, at least 1. @default 1.15 */
  readonly backoffFactor?: number;
  /** Upper bound of the delay (seconds). @default 300 */
  readonly maxLaunchDelaySeconds?: number;
  /** Seconds between SIGTERM and SIGKILL when a task is stopped. @default Mesos' default (3) */
  readonly taskKillGracePeriodSeconds?: number;
  /**
   * The Mesos roles whose offers may run the app's tasks, e.g.
   * `["slave_public"]` to run on an edge pool (Marathon must register with
   * that role: `MarathonServiceProps.mesosRole`). Role names as Marathon 1.8
   * accepts them (mesosphere/marathon v1.8.244 state/ResourceRole.scala).
   * @default Marathon's `--default_accepted_resource_roles` (`*` when Marathon has a role)
   */
  readonly acceptedResourceRoles?: string[];
  /** Expose the app's first port through marathon-lb. @default not exposed */
  readonly loadBalancer?: LoadBalancerExposure;
}

const APP_ID_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const PORT_NAME = /^[a-z][a-z0-9-]*$/;
const NETWORK_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The absolute app id, or a synth error: names of lower-case letters, digits,
 * `-` and `.` separated by `/`; no `.` or `..` names (relative paths).
 */
export function normalizeAppId(scope: IConstruct | string, id: string): string {
  if (isUnresolved(id)) fail(scope, "id", id, "a literal app id (it names the app in Marathon and in Terraform)");
  const names = typeof id === "string" ? id.replace(/^\//, "").split("/") : [];
  const allowed = "a path such as /shop/web: names of lower-case letters, digits, '-' and '.', each starting and ending with a letter or digit";
  if (names.length === 0 || names.some((n) => !APP_ID_NAME.test(n))) fail(scope, "id", id, allowed);
  return `/${names.join("/")}`;
}

function checkNumber(scope: IConstruct | string, property: string, value: number, min: number, max: number, exclusiveMin: boolean): number {
  if (isUnresolved(value)) return value;
  const below = exclusiveMin ? value <= min : value < min;
  if (typeof value !== "number" || !Number.isFinite(value) || below || value > max) {
    const range = `${exclusiveMin ? "greater than" : "at least"} ${min}${max === Number.MAX_VALUE ? "" : ` and at most ${max}`}`;
    fail(scope, property, value, `a number ${range}`);
  }
  return value;
}

function checkStringMap(scope: IConstruct | string, property: string, map: Record<string, string> | undefined, keyPattern?: RegExp, keyRule?: string): Record<string, string> | undefined {
  if (map === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) {
    if (keyPattern ? !keyPattern.test(key) : key.length === 0) fail(scope, `${property}.${key}`, key, keyRule ?? "a non-empty key");
    if (typeof value !== "string") fail(scope, `${property}.${key}`, value, "a string value");
    out[key] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Renders and checks an app: the JSON Marathon will receive, or a
 * ClusterConfigError naming `scope`, the property, the value and the rule.
 */
export function renderAppDefinition(scope: IConstruct | string, spec: MarathonAppSpec): MarathonAppDefinition {
  const id = normalizeAppId(scope, spec.id);
  if (spec.cmd !== undefined && spec.args !== undefined) fail(scope, "args", spec.args, "either cmd or args, not both (Marathon refuses both)");
  if (spec.cmd === undefined && spec.args === undefined && spec.container === undefined) {
    fail(scope, "cmd", spec.cmd, "a command: cmd, args, or a container whose image has an entrypoint");
  }
  if (spec.cmd !== undefined && !isUnresolved(spec.cmd) && (typeof spec.cmd !== "string" || spec.cmd.trim() === "")) fail(scope, "cmd", spec.cmd, "a non-empty shell command");
  if (spec.args !== undefined && (!Array.isArray(spec.args) || spec.args.some((a) => typeof a !== "string"))) fail(scope, "args", spec.args, "a list of strings");

  const network = spec.network ?? (spec.container?.portMappings?.length ? AppNetwork.bridge() : AppNetwork.host());
  if (network.mode === "container" && !isUnresolved(network.name) && !NETWORK_NAME.test(network.name ?? "")) {
    fail(scope, "network.name", network.name, "a network name of lower-case letters, digits and '-'");
  }
  if (network.mapsPorts && !spec.container) fail(scope, "network", network.mode, `host networking for an app without a container (${network.mode} needs a Docker container)`);
  const mappings = spec.container?.portMappings ?? [];
  const definitions = spec.portDefinitions ?? [];
  if (mappings.length > 0 && !network.mapsPorts) {
    fail(scope, "container.portMappings", mappings, "no port mappings on host networking: use AppNetwork.bridge() (the default with mappings) or portDefinitions");
  }
  if (definitions.length > 0 && network.mapsPorts) fail(scope, "portDefinitions", definitions, `no portDefinitions on ${network.mode} networking: map container ports with container.portMappings`);

  const def: MarathonAppDefinition = {
    id,
    ...(spec.cmd !== undefined ? { cmd: spec.cmd } : {}),
    ...(spec.args !== undefined ? { args: [...spec.args] } : {}),
    ...(spec.user !== undefined ? { user: spec.user } : {}),
    instances: checkInteger(scope, "instances", spec.instances ?? 1, 0),
    cpus: checkNumber(scope, "cpus", spec.cpus ?? 1, 0, Number.MAX_VALUE, true),
    mem: checkNumber(scope, "mem", spec.mem ?? 128, 0, Number.MAX_VALUE, true),
    disk: checkNumber(scope, "disk", spec.disk ?? 0, 0, Number.MAX_VALUE, false),
    networks: [network.mode === "container" ? { mode: network.mode, name: network.name } : { mode: network.mode }],
    upgradeStrategy: {
      minimumHealthCapacity: checkNumber(scope, "upgradeStrategy.minimumHealthCapacity", spec.upgradeStrategy?.minimumHealthCapacity ?? 1, 0, 1, false),
      maximumOverCapacity: checkNumber(scope, "upgradeStrategy.maximumOverCapacity", spec.upgradeStrategy?.maximumOverCapacity ?? 1, 0, 1, false),
    },
  };

  if (spec.container) def.container = renderContainer(scope, spec.container, mappings);
  if (definitions.length > 0) {
    const names = new Set<string>();
    def.portDefinitions = definitions.map((p, i) => {
      const property = `portDefinitions[${i}]`;
      const json: Record<string, unknown> = {
        port: checkInteger(scope, `${property}.port`, p.port ?? 0, 0, 65535),
        protocol: checkProtocol(scope, `${property}.protocol`, p.protocol ?? "tcp", ["tcp", "udp"]),
      };
      if (p.name !== undefined) json.name = checkPortName(scope, `${property}.name`, p.name, names);
      const labels = checkStringMap(scope, `${property}.labels`, p.labels);
      if (labels) json.labels = labels;
      return json;
    });
  }
  if (spec.requirePorts !== undefined) {
    if (spec.requirePorts && definitions.length === 0) fail(scope, "requirePorts", spec.requirePorts, "true only with portDefinitions (host networking)");
    def.requirePorts = spec.requirePorts;
  }
  const env = checkStringMap(scope, "env", spec.env, ENV_NAME, "a variable name of letters, digits and '_', not starting with a digit");
  if (env) def.env = env;
  const labels = checkStringMap(scope, "labels", spec.labels);
  if (labels) def.labels = labels;
  if (spec.constraints?.length) def.constraints = spec.constraints.map((c, i) => c.render(scope, `constraints[${i}]`));
  if (spec.acceptedResourceRoles !== undefined) def.acceptedResourceRoles = checkAcceptedRoles(scope, spec.acceptedResourceRoles);
  if (spec.loadBalancer !== undefined) exposeThroughLb(scope, spec.loadBalancer, def);
  if (spec.healthChecks?.length) {
    const ports = mappings.length || definitions.length;
    def.healthChecks = spec.healthChecks.map((h, i) => h.render(scope, `healthChecks[${i}]`, ports));
  }
  if (spec.fetch?.length) {
    def.fetch = spec.fetch.map((f, i) => {
      if (!isUnresolved(f.uri) && !/^\S+$/.test(f.uri ?? "")) fail(scope, `fetch[${i}].uri`, f.uri, "a URI without spaces");
      return { uri: f.uri, executable: f.executable ?? false, extract: f.extract ?? true, cache: f.cache ?? false };
    });
  }
  if (spec.backoffSeconds !== undefined) def.backoffSeconds = checkInteger(scope, "backoffSeconds", spec.backoffSeconds, 0);
  if (spec.backoffFactor !== undefined) def.backoffFactor = checkNumber(scope, "backoffFactor", spec.backoffFactor, 1, Number.MAX_VALUE, false);
  if (spec.maxLaunchDelaySeconds !== undefined) def.maxLaunchDelaySeconds = checkInteger(scope, "maxLaunchDelaySeconds", spec.maxLaunchDelaySeconds, 0);
  if (spec.taskKillGracePeriodSeconds !== undefined) def.taskKillGracePeriodSeconds = checkInteger(scope, "taskKillGracePeriodSeconds", spec.taskKillGracePeriodSeconds, 0);
  return def;
}

function renderContainer(scope: IConstruct | string, c: DockerContainerSpec, mappings: PortMapping[]): NonNullable<MarathonAppDefinition["container"]> {
  if (!isUnresolved(c.image)) {
    const problem = ContainerImage.problem(c.image);
    if (problem) fail(scope, "container.image", c.image, `a pinned image reference (${problem})`);
  }
  const parameters = (c.parameters ?? []).map((p, i) => {
    if (!isUnresolved(p.key) && !/^[a-z][a-z0-9-]*$/.test(p.key ?? "")) fail(scope, `container.parameters[${i}].key`, p.key, "a docker run option name without dashes, e.g. log-opt");
    if (typeof p.value !== "string") fail(scope, `container.parameters[${i}].value`, p.value, "a string");
    return { key: p.key, value: p.value };
  });
  const container: NonNullable<MarathonAppDefinition["container"]> = {
    type: "DOCKER",
    docker: { image: c.image, forcePullImage: c.forcePullImage ?? false, privileged: c.privileged ?? false, parameters },
  };
  if (mappings.length > 0) {
    const names = new Set<string>();
    container.portMappings = mappings.map((m, i) => {
      const property = `container.portMappings[${i}]`;
      const json: Record<string, unknown> = {
        containerPort: checkInteger(scope, `${property}.containerPort`, m.containerPort, 0, 65535),
        hostPort: checkInteger(scope, `${property}.hostPort`, m.hostPort ?? 0, 0, 65535),
        servicePort: checkInteger(scope, `${property}.servicePort`, m.servicePort ?? 0, 0, 65535),
        protocol: checkProtocol(scope, `${property}.protocol`, m.protocol ?? "tcp", ["tcp", "udp", "udp,tcp"]),
      };
      if (m.name !== undefined) json.name = checkPortName(scope, `${property}.name`, m.name, names);
      const labels = checkStringMap(scope, `${property}.labels`, m.labels);
      if (labels) json.labels = labels;
      return json;
    });
  }
  if (c.volumes?.length) {
    container.volumes = c.volumes.map((v, i) => {
      for (const key of ["containerPath", "hostPath"] as const) {
        if (!isUnresolved(v[key]) && !/^\/\S*$/.test(v[key] ?? "")) fail(scope, `container.volumes[${i}].${key}`, v[key], "an absolute path");
      }
      const mode = checkProtocol(scope, `container.volumes[${i}].mode`, v.mode ?? "RW", ["RO", "RW"]);
      return { containerPath: v.containerPath, hostPath: v.hostPath, mode };
    });
  }
  return container;
}

function checkProtocol<T extends string>(scope: IConstruct | string, property: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) fail(scope, property, value, allowed.map((a) => describeValue(a)).join(", "));
  return value;
}

function checkPortName(scope: IConstruct | string, property: string, name: string, seen: Set<string>): string {
  if (!PORT_NAME.test(name)) fail(scope, property, name, "a lower-case name of letters, digits and '-', starting with a letter");
  if (seen.has(name)) fail(scope, property, name, "a name unique among the app's ports");
  seen.add(name);
  return name;
}

/** Marathon's rule: a non-empty set of valid role names (AppValidation.scala `validAcceptedResourceRoles ... and notEmpty`). */
function checkAcceptedRoles(scope: IConstruct | string, roles: string[]): string[] {
  if (!Array.isArray(roles) || roles.length === 0) fail(scope, "acceptedResourceRoles", roles, "a non-empty list of Mesos roles, e.g. [\"slave_public\"]");
  roles.forEach((r, i) => checkRole(scope, `acceptedResourceRoles[${i}]`, r, { forMarathon: true }));
  if (new Set(roles).size !== roles.length) fail(scope, "acceptedResourceRoles", roles, "distinct roles");
  return [...roles];
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The marathon-lb labels and the first port's service port, into `def`. */
function exposeThroughLb(scope: IConstruct | string, lb: LoadBalancerExposure, def: MarathonAppDefinition): void {
  const group = lb.group ?? MARATHON_LB_DEFAULTS.group;
  if (typeof group !== "string" || !LB_GROUP_PATTERN.test(group)) fail(scope, "loadBalancer.group", group, LB_GROUP_ALLOWED);
  if (lb.mode !== undefined) checkProtocol(scope, "loadBalancer.mode", lb.mode, ["tcp", "http"]);
  if (lb.vhost !== undefined) {
    if (typeof lb.vhost !== "string" || !lb.vhost.split(",").every((h) => HOSTNAME.test(h))) fail(scope, "loadBalancer.vhost", lb.vhost, "host names separated by ',' (lower case, e.g. shop.example.com)");
    // HAProxy's port-80/443 frontends are http: a tcp backend there is refused, and marathon-lb drops the app.
    if (lb.mode === "tcp") fail(scope, "loadBalancer.mode", lb.mode, "\"http\" or unset with a vhost (the 80/443 frontends route by Host header)");
  } else if (lb.servicePort === undefined) {
    fail(scope, "loadBalancer.servicePort", lb.servicePort, "a service port within the MarathonLb's servicePorts (e.g. 10000), or a vhost");
  }
  const mappings = def.container?.portMappings;
  const first = mappings?.[0] ?? def.portDefinitions?.[0];
  const portKey = mappings?.length ? "servicePort" : "port";
  const where = mappings?.length ? "container.portMappings[0].servicePort" : "portDefinitions[0].port";
  if (!first) fail(scope, "loadBalancer", "(no port)", "an app with a port to expose: container.portMappings or portDefinitions");
  if (lb.servicePort !== undefined) {
    const port = checkInteger(scope, "loadBalancer.servicePort", lb.servicePort, 1, 65535);
    if (first[portKey] !== 0 && first[portKey] !== port) fail(scope, where, first[portKey], `0 or ${port} (loadBalancer.servicePort sets it)`);
    // With requirePorts the port is a host port too: tasks would need the LB's own port on their agent.
    if (def.requirePorts && portKey === "port") fail(scope, "requirePorts", def.requirePorts, "false with loadBalancer.servicePort (the service port would be the task's host port too)");
    first[portKey] = port;
  }
  const labels: Record<string, string> = { HAPROXY_GROUP: group, ...(lb.vhost ? { HAPROXY_0_VHOST: lb.vhost } : {}), ...(lb.mode ? { HAPROXY_0_MODE: lb.mode } : {}) };
  for (const key of Object.keys(labels)) {
    if (def.labels?.[key] !== undefined) fail(scope, `labels.${key}`, def.labels[key], `unset: loadBalancer sets ${key}`);
  }
  def.labels = { ...(def.labels ?? {}), ...labels };
}
