import { Construct } from "constructs";
import { ROLE_NAMES } from "./core/role-header";
import { CloudTarget } from "./cloud/target";
import {
  addAgentCredential,
  addAgentHttpCredentials,
  AGENT_CREDENTIAL_FLAGS,
  AGENT_CREDENTIAL_IN_CONTAINER,
  AGENT_HTTP_AUTH_FLAGS,
  agentCredentialCheck,
  agentHttpAuthFlags,
} from "./core/agent-http-auth";
import { addAgentDrain, AgentDrainConfig, AgentDrainOptions, DEFAULT_DRAIN_TIMEOUT_SECONDS, DRAIN_MARGIN_SECONDS } from "./core/agent-drain";
import { CloudConfig, RunPhase } from "./core/cloud-config";
import { AGENT_DOCKER_ENGINE_VERSION, ContainerImage, DEFAULT_IMAGES, imageProp } from "./core/container-image";
import { imageFacts } from "./core/image-facts";
import { checkExtraFlags, mesosEnvName } from "./core/flags";
import { checkRole } from "./core/mesos-acls";
import { Port } from "./core/network-rules";
import { addContainerService, addScript, addUnit, RUNTIME_DIR } from "./core/systemd";
import { checkInteger, checkPattern, checkPortRange, fail } from "./core/validation";
import { MesosMasterGroup } from "./mesos-master-group";
import { Connections, INodeRole, NodeContext, NodePool, SECRETS_DIR } from "./nodes";

/** Properties of a {@link MesosAgentPool}. */
export interface MesosAgentPoolProps {
  /** The cloud to create the agents in. */
  readonly target: CloudTarget;
  /** The masters agents register with. */
  readonly masters: MesosMasterGroup;
  /**
   * Pool name in machine and rule names.
   * @default "agents"
   */
  readonly name?: string;
  /** Number of agents (0 to 1000). */
  readonly count: number;
  /** VM size or instance type. */
  readonly vmSize: string;
  /** OS disk size in GiB (holds images and sandboxes). @default 64 */
  readonly osDiskGb?: number;
  /** Mesos agent image, an exact tag. @default "mesosphere/mesos-slave:1.7.1" */
  readonly image?: string;
  /** Agent port. @default 5051 */
  readonly port?: number;
  /**
   * Host port range offered to tasks, inclusive: the agents' only `ports`
   * resource (`--resources=ports:[from-to]`; without it Mesos offers
   * [31000-32000] too: apache/mesos 1.7.1 src/slave/constants.hpp
   * DEFAULT_PORTS). Every port on the machines is claimed by one owner, so a
   * range that overlaps a port a role of the pool uses is refused: on an
   * edge pool a {@link MarathonLb}'s 80, 443, 9090, 9091 and service ports
   * (10000-10100), which its tasks are therefore never offered.
   * @default [31000, 32000]
   */
  readonly taskPorts?: [number, number];
  /**
   * The Mesos role every resource of these agents is offered to
   * (`--default_role`: "Any resources in the `--resources` flag that omit a
   * role, as well as any resources that are not present in `--resources` but
   * that are automatically detected, will be assigned to this role",
   * apache/mesos 1.7.1 src/slave/flags.cpp). `slave_public` makes an edge
   * pool: only a framework registered with that role (Marathon with
   * `mesosRole: "slave_public"`) gets its offers, and Marathon places there
   * only apps whose `acceptedResourceRoles` name it. A role name as Mesos
   * accepts it (src/common/roles.cpp). Changing it on a running agent makes
   * its recovery fail (`--reconfiguration_policy=equal`, flags.cpp): new
   * machines take it, an existing one needs its work_dir wiped.
   * @default "*"
   */
  readonly role?: string;
  /**
   * Mesos attributes of every agent, `key:value;key:value`.
   * @default none
   */
  readonly attributes?: string;
  /**
   * Exact Docker CE version of the agents' engine: 25 to 28 (the agent
   * image's own docker CLI speaks API 1.29), and 25.0.x when a
   * {@link SwarmManager} drives the pool (Swarm's API 1.15 needs
   * `DOCKER_MIN_API_VERSION=1.12`, which 26.0 and later refuse).
   * @default "25.0.5"
   */
  readonly dockerEngineVersion?: string;
  /** Public IPs on agents. @default false */
  readonly publicIp?: boolean;
  /**
   * More Mesos agent flags (name without dashes to value), passed as
   * `MESOS_<NAME>`. Flags this construct manages are refused.
   * @default {}
   */
  readonly extraFlags?: Record<string, string>;
  /**
   * Turn on HTTP basic authentication of the agents' own API on `port`,
   * read-write and read-only (`authenticate_http_readwrite`,
   * `authenticate_http_readonly`, `http_credentials`): without it any task
   * on an agent reads every sandbox (`/files/read`), lists the containers and
   * their environment (`/containers`, `/state`) and kills or enters other
   * tasks' containers (`/api/v1`). Each agent generates its own credential at
   * boot (principal `operator`, 32 random bytes, root-only in
   * `/run/mesos-cluster/secrets/mesos-agent-http-credentials.json`, mounted
   * read-only into the agent's container); agents read no secret store, and
   * no secret is in user data. `/health` stays open (the health relay), and
   * the master, executors and frameworks talk to agents through libprocess
   * messages, which no HTTP realm covers (apache/mesos 1.7.1 src/slave/slave.cpp,
   * 3rdparty/libprocess/src/process.cpp; see core/agent-http-auth.ts).
   * Marathon pods (task groups) do not run with it unless the agent issues
   * executor tokens, which takes an SSL build of Mesos (README).
   * @default false
   */
  readonly httpAuthentication?: boolean;
  /**
   * Leaving gracefully: before the cloud removes an agent (scale-in, an
   * instance refresh or rolling upgrade, an eviction), a unit on the agent
   * sees the cloud's notice, puts its machine in Mesos maintenance and
   * brings it down (its tasks are killed and reported lost; Marathon starts
   * them elsewhere), waits up to `timeoutSeconds` until every Marathon app
   * that ran there runs as many tasks again, then lets the cloud remove it.
   * AWS: a lifecycle hook on the group and `autoscaling:CompleteLifecycleAction`
   * on exactly that group for the pool's own role; Azure: the scale set's
   * terminate notification. The masters' ACL lets the agents' principal do
   * Mesos maintenance (on any machine: Mesos 1.7 cannot narrow it). See
   * core/agent-drain.ts and the README ("Agents leave gracefully").
   * @default enabled where the agents authenticate to the masters, 600 s, Marathon's tasks
   */
  readonly drain?: AgentDrainOptions;
}

export type { AgentDrainOptions } from "./core/agent-drain";

/** Mesos agent flags this construct sets itself. */
export const MANAGED_AGENT_FLAGS = [
  "master",
  "containerizers",
  "work_dir",
  "log_dir",
  "port",
  "ip",
  "hostname",
  "resources",
  "default_role",
  "attributes",
  "executor_registration_timeout",
  "systemd_enable_support",
  "docker_mesos_image",
] as const;

/** The agent attribute classic Swarm reads for the port of the agent's Docker engine (classicswarm cluster/mesos). */
export const SWARM_DOCKER_PORT_ATTRIBUTE = "docker_port";

/**
 * Loopback port of the agent's health relay: it answers `/health` with the
 * agent's own `/health` (which listens on the private IP only), so that a
 * rolling upgrade waits for each upgraded agent (Azure's Application Health
 * extension probes loopback).
 */
export const AGENT_HEALTH_PORT = 5052;

/** The kernel switch Mesos 1.x's docker containerizer needs (cgroup v1 `cpu` hierarchy). */
export const CGROUP_V1_KERNEL_ARG = "systemd.unified_cgroup_hierarchy=0";

/**
 * Mesos agents in a scale set / auto scaling group. Each agent boots once
 * into cgroup v1 (one reboot on first boot), learns its IP at boot and runs
 * the agent container with the docker and mesos containerizers.
 */
export class MesosAgentPool extends Construct implements INodeRole {
  /** The agent pools that register with `masters`, anywhere in the app. */
  public static of(masters: MesosMasterGroup): MesosAgentPool[] {
    return masters.node.root.node.findAll().filter((c): c is MesosAgentPool => c instanceof MesosAgentPool && c.masters === masters);
  }

  public readonly roleName = ROLE_NAMES.mesosAgent;
  public readonly nodes: NodePool;
  public readonly masters: MesosMasterGroup;
  public readonly image: ContainerImage;
  public readonly port: number;
  public readonly taskPorts: Port;
  /** The Mesos role the agents' resources are offered to (`--default_role`); `*` for every framework. */
  public readonly role: string;
  public readonly attributes?: string;
  public readonly extraFlags: Record<string, string>;
  /** True when the agents authenticate their HTTP API with a credential each generates at boot. */
  public readonly httpAuthentication: boolean;
  /**
   * The command that prints the agents' secret on an agent, when the masters
   * have `agentCredentials` (the agents then authenticate with `--credential`).
   */
  private readonly agentSecretCommand?: string;
  /** The engine port Swarm reaches on these agents, once a {@link SwarmManager} drives the pool. */
  private swarmEnginePort?: number;
  /** What each agent's drain is rendered from; undefined when the pool does not drain. */
  public readonly drain?: AgentDrainConfig;

  constructor(scope: Construct, id: string, props: MesosAgentPoolProps) {
    super(scope, id);
    this.masters = props.masters;
    this.image = imageProp(this, "image", props.image ?? DEFAULT_IMAGES.mesosAgent);
    this.port = checkInteger(this, "port", props.port ?? 5051, 1, 65535);
    this.taskPorts = Port.tcpRange(...checkPortRange(this, "taskPorts", props.taskPorts ?? [31000, 32000]));
    this.role = checkRole(this, "role", props.role ?? "*");
    if (props.attributes !== undefined) {
      this.attributes = checkPattern(
        this,
        "attributes",
        props.attributes,
        /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.\-[\]{},]+(;[A-Za-z0-9_.-]+:[A-Za-z0-9_.\-[\]{},]+)*$/,
        "key:value pairs separated by ';', e.g. rack:r1;disk:ssd",
      );
    }
    this.httpAuthentication = props.httpAuthentication ?? false;
    if (typeof this.httpAuthentication !== "boolean") fail(this, "httpAuthentication", this.httpAuthentication, "true or false");
    // With authentication on, its flags are the construct's too: a user value would break the generated credential's wiring.
    const managed: string[] = [...MANAGED_AGENT_FLAGS, ...(this.httpAuthentication ? AGENT_HTTP_AUTH_FLAGS : []), ...(this.masters.agentCredentials ? AGENT_CREDENTIAL_FLAGS : [])];
    this.extraFlags = checkExtraFlags(this, "extraFlags", props.extraFlags, managed);

    this.nodes = new NodePool(this, "machines", {
      target: props.target,
      name: props.name ?? "agents",
      count: props.count,
      vmSize: props.vmSize,
      osDiskGb: props.osDiskGb,
      dockerEngineVersion: props.dockerEngineVersion ?? AGENT_DOCKER_ENGINE_VERSION,
      publicIp: props.publicIp,
      healthEndpoint: { port: AGENT_HEALTH_PORT, path: "/health" },
    });
    this.nodes.claimPort(this, "healthPort", Port.tcp(AGENT_HEALTH_PORT), "the agent's loopback health relay");
    this.nodes.claimPort(this, "taskPorts", this.taskPorts, "the agents' task ports");
    this.nodes.claimPort(this, "port", Port.tcp(this.port), "the Mesos agent");
    // The agent image's own docker CLI talks to the host's engine through the socket.
    const cli = imageFacts(this.image.reference)?.dockerCli;
    const clientProblem = cli && this.nodes.dockerEngine.clientProblem(cli.apiVersion);
    if (clientProblem) fail(this, "dockerEngineVersion", this.nodes.dockerEngine.version, `an engine that accepts ${this.image.reference}'s docker CLI (API ${cli!.apiVersion}): ${clientProblem}`);
    this.nodes.addRole(this);
    // The masters' agent credential: this pool reads it with an identity of its own that can read only it.
    if (this.masters.agentSecret) this.agentSecretCommand = this.nodes.useSecret(this.masters.agentSecret);

    const masters = this.masters.nodes;
    this.masters.connections.allowDefaultPortFrom(this.nodes, "Mesos agents register with the masters");
    this.masters.zookeeper.connections.allowDefaultPortFrom(this.nodes, `ZooKeeper clients (${this.nodes.groupName})`);
    this.nodes.connections.allowFrom(masters, Port.tcp(this.port), "Mesos master to agent");
    this.nodes.connections.allowFrom(masters, this.taskPorts, "Task ports: health checks from the masters");
    this.nodes.connections.allowFrom(this.nodes, this.taskPorts, "Task ports: between agents");
    this.nodes.connections.allowFrom(masters, Port.tcp(22), "SSH from the masters (jump host)");
    this.drain = this.enableDrain(props.target, props.drain ?? {});
  }

  /**
   * Checks the drain's props and asks the cloud for its notice; the masters'
   * ACL then admits the agents' principal to maintenance. Masters that
   * authenticate their HTTP API take the maintenance calls only from a
   * principal: the agents' (`agentCredentials`).
   */
  private enableDrain(target: CloudTarget, options: AgentDrainOptions): AgentDrainConfig | undefined {
    const enabled = options.enabled ?? this.authenticatesToMasters;
    if (typeof enabled !== "boolean") fail(this, "drain.enabled", enabled, "true or false");
    if (!enabled) return undefined;
    if (this.masters.credentials && !this.authenticatesToMasters) {
      fail(this, "drain.enabled", enabled, `false, or masters with agentCredentials (${this.masters.node.path} authenticates its HTTP API: the drain calls it with the agents' principal)`);
    }
    if (!target.enablePoolDrain) fail(this, "drain.enabled", enabled, `false on ${target.node.path}, which cannot make its pools wait for a drain`);
    const frameworks = options.frameworks ?? ["marathon"];
    if (!Array.isArray(frameworks) || frameworks.length === 0 || frameworks.some((f) => typeof f !== "string" || !/^[A-Za-z0-9_.-]+$/.test(f))) {
      fail(this, "drain.frameworks", frameworks, "a non-empty list of Mesos framework names (letters, digits, '.', '_' and '-'), e.g. [\"marathon\"]");
    }
    const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_DRAIN_TIMEOUT_SECONDS;
    const notice = target.enablePoolDrain(this, this.nodes.resources, { timeoutSeconds, marginSeconds: DRAIN_MARGIN_SECONDS });
    if (this.authenticatesToMasters) this.masters.allowAgentMaintenance();
    return { notice: notice.kind, settings: notice.settings, masters: this.masters.urls, timeoutSeconds, frameworks: [...frameworks] };
  }

  /** Who may reach the agents: the default port is the agent port. */
  public get connections(): Connections {
    return new Connections(this.nodes, Port.tcp(this.port));
  }

  /** Number of agents in the pool. */
  public get count(): number {
    return this.nodes.count;
  }

  /** True when the agents authenticate to the masters (`--credential`, the masters' `agentCredentials`). */
  public get authenticatesToMasters(): boolean {
    return this.agentSecretCommand !== undefined;
  }

  /**
   * Called by {@link SwarmManager.addAgentPool}: Swarm reaches these agents'
   * engines on `port`, which it learns from the agent attribute `docker_port`
   * (classicswarm cluster/mesos; without it Swarm assumes 2375). The engine
   * must be one that serves Swarm's API 1.15.
   */
  public attachSwarmEngine(port: number): void {
    const problem = this.nodes.dockerEngine.swarmProblem();
    if (problem) fail(this, "dockerEngineVersion", this.nodes.dockerEngine.version, `25.0.x on agents that classic Swarm drives (${problem})`);
    if (this.attributes?.split(";").some((a) => a.split(":")[0] === SWARM_DOCKER_PORT_ATTRIBUTE)) {
      fail(this, "attributes", this.attributes, `attributes without ${SWARM_DOCKER_PORT_ATTRIBUTE} (the Swarm manager sets it to the engine port ${port})`);
    }
    this.swarmEnginePort = port;
  }

  /** The agent's static `MESOS_*` environment (the machine's IP is added at boot). */
  public environment(): Record<string, string> {
    const env: Record<string, string> = {
      MESOS_MASTER: this.masters.zkUrl,
      MESOS_CONTAINERIZERS: "docker,mesos",
      MESOS_WORK_DIR: "/var/lib/mesos",
      MESOS_LOG_DIR: "/var/log/mesos",
      MESOS_PORT: String(this.port),
      MESOS_RESOURCES: `ports:[${this.taskPorts.from}-${this.taskPorts.to}]`,
      // Every resource without a role (the ports above, the detected cpus, mem, disk) goes to this role.
      ...(this.role !== "*" ? { MESOS_DEFAULT_ROLE: this.role } : {}),
      // Docker image pulls on a fresh agent can take minutes.
      MESOS_EXECUTOR_REGISTRATION_TIMEOUT: "10mins",
      // The agent runs in a container: it cannot talk to the host's systemd.
      MESOS_SYSTEMD_ENABLE_SUPPORT: "false",
      // Executors run in their own containers of this image; without it they are forked inside
      // the agent's container and, with --pid=host, die with it at every agent restart
      // (apache/mesos docs/configuration/agent.md; src/slave/containerizer/docker.cpp).
      MESOS_DOCKER_MESOS_IMAGE: this.image.reference,
    };
    const attributes = [this.attributes, this.swarmEnginePort !== undefined ? `${SWARM_DOCKER_PORT_ATTRIBUTE}:${this.swarmEnginePort}` : undefined].filter(Boolean);
    if (attributes.length > 0) env.MESOS_ATTRIBUTES = attributes.join(";");
    if (this.httpAuthentication) for (const [flag, value] of Object.entries(agentHttpAuthFlags())) env[mesosEnvName(flag)] = value;
    // A Path flag: /flags and the log show the path, never the secret (apache/mesos 1.7.1 src/slave/flags.hpp).
    if (this.authenticatesToMasters) env[mesosEnvName("credential")] = AGENT_CREDENTIAL_IN_CONTAINER;
    for (const [flag, value] of Object.entries(this.extraFlags)) env[mesosEnvName(flag)] = value;
    return env;
  }

  /** Role contribution: cgroup v1 boot switch, boot-time address, the agent unit. */
  public configure(config: CloudConfig, node: NodeContext): void {
    config.addFile({
      path: "/etc/default/grub.d/99-mesos-cgroup-v1.cfg",
      content: [
        "# Mesos 1.x's docker containerizer needs the cgroup v1 cpu hierarchy (Ubuntu 22.04 boots cgroup v2).",
        `GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX ${CGROUP_V1_KERNEL_ARG}"`,
        "",
      ].join("\n"),
    });
    config.addCommand(RunPhase.PREPARE, "update-grub");
    config.rebootWhen('[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]');
    const runtimeEnv = `${RUNTIME_DIR}/mesos-agent.env`;
    const prestart = addScript(
      config,
      "mesos-agent-prestart",
      `
# The agent needs cgroup v1; first boot runs cgroup v2 until cloud-init reboots.
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  echo "mesos-agent-prestart: cgroup v2 is active; waiting for the reboot into cgroup v1" >&2
  exit 1
fi
${this.authenticatesToMasters ? `${agentCredentialCheck(SECRETS_DIR)}
` : ""}ip=$(/usr/local/sbin/cluster-host-ip)
if [ -z "$ip" ]; then
  echo "mesos-agent-prestart: could not tell this machine's private IP" >&2
  exit 1
fi
mkdir -p ${RUNTIME_DIR} /var/lib/mesos /var/log/mesos
printf 'MESOS_IP=%s\\nMESOS_HOSTNAME=%s\\n' "$ip" "$ip" > ${runtimeEnv}`,
    );
    const preStart = [prestart];
    const volumes = [
      // The image's own docker CLI (API 1.29) drives the host's engine. The host's CLI is not
      // mounted: docker-ce builds it against jammy's glibc (docker-ce-packaging deb/common/rules).
      "/var/run/docker.sock:/var/run/docker.sock",
      "/sys/fs/cgroup:/sys/fs/cgroup",
      // Same path inside and out: the docker containerizer hands host paths to dockerd.
      "/var/lib/mesos:/var/lib/mesos",
      "/var/log/mesos:/var/log/mesos",
    ];
    if (this.agentSecretCommand) {
      // Read from the secret store before instance metadata closes; the agent reads it once, at start
      // (apache/mesos 1.7.1 src/slave/slave.cpp Slave::initialize: EXIT on a missing or empty file).
      volumes.push(...addAgentCredential(config, SECRETS_DIR, this.masters.agentCredentials!.username, this.agentSecretCommand).volumes);
    }
    if (this.httpAuthentication) {
      // After the prestart above: it creates the runtime directory world-readable (the health relay reads its env file).
      const auth = addAgentHttpCredentials(config, SECRETS_DIR);
      preStart.push(auth.script);
      volumes.push(...auth.volumes);
    }
    addContainerService(config, {
      name: "mesos-agent",
      description: `Mesos agent of ${node.name}`,
      image: this.image,
      environment: this.environment(),
      runtimeEnvFiles: [runtimeEnv],
      privileged: true,
      hostPid: true,
      volumes,
      preStart,
    });
    if (this.drain) addAgentDrain(config, this.drain);
    config.addFile({ path: AGENT_HEALTH_SCRIPT, permissions: "0755", content: agentHealthRelaySource(this.port) });
    addUnit(
      config,
      "mesos-agent-health.service",
      {
        Unit: { Description: "Loopback health relay of the Mesos agent (rolling upgrades wait for it)", After: "network-online.target", Wants: "network-online.target" },
        Service: { Restart: "always", RestartSec: "5", DynamicUser: "yes", ExecStart: `/usr/bin/python3 ${AGENT_HEALTH_SCRIPT}` },
        Install: { WantedBy: "multi-user.target" },
      },
    );
    config.enableUnit("mesos-agent-health.service");
  }
}

/** Where the health relay lives on an agent. */
export const AGENT_HEALTH_SCRIPT = "/usr/local/lib/mesos-cluster/mesos-agent-health.py";

/**
 * The health relay (Python 3 standard library, which Ubuntu's cloud-init
 * itself runs on). Paths and ports come from the environment in tests.
 */
export function agentHealthRelaySource(agentPort: number): string {
  return `#!/usr/bin/python3
"""Answers GET /health on 127.0.0.1:${AGENT_HEALTH_PORT} with 200 while the Mesos agent's own
/health (on its private address, from the env file its unit writes) answers 200, else 503."""
import http.server
import os
import urllib.request

ENV_FILE = os.environ.get("AGENT_HEALTH_ENV_FILE", "${RUNTIME_DIR}/mesos-agent.env")
LISTEN_PORT = int(os.environ.get("AGENT_HEALTH_LISTEN_PORT", "${AGENT_HEALTH_PORT}"))
AGENT_PORT = int(os.environ.get("AGENT_HEALTH_AGENT_PORT", "${agentPort}"))


def agent_ip():
    with open(ENV_FILE) as f:
        env = dict(line.rstrip("\\n").split("=", 1) for line in f if "=" in line)
    return env["MESOS_IP"]


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/health":
            status = 404
        else:
            try:
                url = "http://%s:%d/health" % (agent_ip(), AGENT_PORT)
                with urllib.request.urlopen(url, timeout=3) as response:
                    status = 200 if response.status == 200 else 503
            except Exception:
                status = 503
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", LISTEN_PORT), Health).serve_forever()
`;
}
