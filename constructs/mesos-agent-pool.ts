import { Construct } from "constructs";
import { CloudTarget } from "./cloud/target";
import { CloudConfig, RunPhase } from "./core/cloud-config";
import { ContainerImage, DEFAULT_IMAGES, imageProp } from "./core/container-image";
import { checkExtraFlags, mesosEnvName } from "./core/flags";
import { Port } from "./core/network-rules";
import { addContainerService, addScript, RUNTIME_DIR } from "./core/systemd";
import { checkInteger, checkPattern, fail } from "./core/validation";
import { MesosMasterGroup } from "./mesos-master-group";
import { INodeRole, NodeContext, NodePool } from "./nodes";

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
   * Host port range offered to tasks, inclusive.
   * @default [31000, 32000]
   */
  readonly taskPorts?: [number, number];
  /**
   * Mesos attributes of every agent, `key:value;key:value`.
   * @default none
   */
  readonly attributes?: string;
  /** Exact Docker CE version. @default "27.5.1" */
  readonly dockerEngineVersion?: string;
  /** Public IPs on agents. @default false */
  readonly publicIp?: boolean;
  /**
   * More Mesos agent flags (name without dashes to value), passed as
   * `MESOS_<NAME>`. Flags this construct manages are refused.
   * @default {}
   */
  readonly extraFlags?: Record<string, string>;
}

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
  "attributes",
  "executor_registration_timeout",
  "systemd_enable_support",
] as const;

/** The kernel switch Mesos 1.x's docker containerizer needs (cgroup v1 `cpu` hierarchy). */
export const CGROUP_V1_KERNEL_ARG = "systemd.unified_cgroup_hierarchy=0";

/**
 * Mesos agents in a scale set / auto scaling group. Each agent boots once
 * into cgroup v1 (one reboot on first boot), learns its IP at boot and runs
 * the agent container with the docker and mesos containerizers.
 */
export class MesosAgentPool extends Construct implements INodeRole {
  public readonly roleName = "mesos-agent";
  public readonly nodes: NodePool;
  public readonly masters: MesosMasterGroup;
  public readonly image: ContainerImage;
  public readonly port: number;
  public readonly taskPorts: Port;
  public readonly attributes?: string;
  public readonly extraFlags: Record<string, string>;

  constructor(scope: Construct, id: string, props: MesosAgentPoolProps) {
    super(scope, id);
    this.masters = props.masters;
    this.image = imageProp(this, "image", props.image ?? DEFAULT_IMAGES.mesosAgent);
    this.port = checkInteger(this, "port", props.port ?? 5051, 1, 65535);
    const [from, to] = props.taskPorts ?? [31000, 32000];
    checkInteger(this, "taskPorts[0]", from, 1024, 65535);
    checkInteger(this, "taskPorts[1]", to, 1024, 65535);
    if (from > to) fail(this, "taskPorts", props.taskPorts, "[first, last] with first <= last");
    if (this.port >= from && this.port <= to) fail(this, "port", this.port, `a port outside the task range ${from}-${to}`);
    this.taskPorts = Port.tcpRange(from, to);
    if (props.attributes !== undefined) {
      this.attributes = checkPattern(
        this,
        "attributes",
        props.attributes,
        /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.\-[\]{},]+(;[A-Za-z0-9_.-]+:[A-Za-z0-9_.\-[\]{},]+)*$/,
        "key:value pairs separated by ';', e.g. rack:r1;disk:ssd",
      );
    }
    this.extraFlags = checkExtraFlags(this, "extraFlags", props.extraFlags, MANAGED_AGENT_FLAGS);

    this.nodes = new NodePool(this, "machines", {
      target: props.target,
      name: props.name ?? "agents",
      count: props.count,
      vmSize: props.vmSize,
      osDiskGb: props.osDiskGb,
      dockerEngineVersion: props.dockerEngineVersion,
      publicIp: props.publicIp,
    });
    this.nodes.addRole(this);

    const masters = this.masters.nodes;
    this.masters.allowFrom(this.nodes, "Mesos agents register with the masters");
    this.masters.zookeeper.allowClients(this.nodes);
    this.nodes.allowFromGroup(masters, Port.tcp(this.port), "Mesos master to agent");
    this.nodes.allowFromGroup(masters, this.taskPorts, "Task ports: health checks from the masters");
    this.nodes.allowFromGroup(this.nodes, this.taskPorts, "Task ports: between agents");
    this.nodes.allowFromGroup(masters, Port.tcp(22), "SSH from the masters (jump host)");
  }

  public get count(): number {
    return this.nodes.count;
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
      // Docker image pulls on a fresh agent can take minutes.
      MESOS_EXECUTOR_REGISTRATION_TIMEOUT: "10mins",
      // The agent runs in a container: it cannot talk to the host's systemd.
      MESOS_SYSTEMD_ENABLE_SUPPORT: "false",
    };
    if (this.attributes) env.MESOS_ATTRIBUTES = this.attributes;
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
ip=$(/usr/local/sbin/cluster-host-ip)
if [ -z "$ip" ]; then
  echo "mesos-agent-prestart: could not tell this machine's private IP" >&2
  exit 1
fi
mkdir -p ${RUNTIME_DIR} /var/lib/mesos /var/log/mesos
printf 'MESOS_IP=%s\\nMESOS_HOSTNAME=%s\\n' "$ip" "$ip" > ${runtimeEnv}`,
    );
    addContainerService(config, {
      name: "mesos-agent",
      description: `Mesos agent of ${node.name}`,
      image: this.image,
      environment: this.environment(),
      runtimeEnvFiles: [runtimeEnv],
      privileged: true,
      hostPid: true,
      volumes: [
        "/var/run/docker.sock:/var/run/docker.sock",
        // The agent image has no docker CLI; the host's is a static binary.
        "/usr/bin/docker:/usr/bin/docker:ro",
        "/sys/fs/cgroup:/sys/fs/cgroup",
        // Same path inside and out: the docker containerizer hands host paths to dockerd.
        "/var/lib/mesos:/var/lib/mesos",
        "/var/log/mesos:/var/log/mesos",
      ],
      preStart: [prestart],
    });
  }
}
