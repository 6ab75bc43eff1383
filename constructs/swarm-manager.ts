import { Construct } from "constructs";
import { CloudConfig } from "./core/cloud-config";
import { ContainerImage, DEFAULT_IMAGES, imageProp } from "./core/container-image";
import { Port } from "./core/network-rules";
import { addContainerService } from "./core/systemd";
import { checkInteger, fail } from "./core/validation";
import { MesosAgentPool } from "./mesos-agent-pool";
import { MesosMasterGroup } from "./mesos-master-group";
import { INodeRole, NodeContext } from "./nodes";

/** Properties of a {@link SwarmManager}. */
export interface SwarmManagerProps {
  /** The Mesos masters; the manager runs on one of their machines. */
  readonly masters: MesosMasterGroup;
  /** Agent pools whose Docker engines Swarm reaches (more with {@link SwarmManager.addAgentPool}). */
  readonly agentPools?: MesosAgentPool[];
  /** @default "swarm:1.2.8" (1.2.9 removed the Mesos driver) */
  readonly image?: string;
  /** Docker API port of the manager. @default 2375 */
  readonly port?: number;
  /** Port of Swarm's Mesos scheduler endpoint, which the leading master calls back. @default 3375 */
  readonly schedulerPort?: number;
  /**
   * Index of the master machine that runs the active manager.
   * @default 0
   */
  readonly managerIndex?: number;
  /** Docker engine TCP port on the agents. @default 2375 */
  readonly agentEnginePort?: number;
}

/**
 * Classic Swarm 1.2.8 as a Mesos framework: one active manager on a master.
 *
 * Why one: Swarm's `--replication` elects a leader only after every replica
 * has registered itself with Mesos (cli/manage.go creates the Mesos cluster
 * before setupReplication), so followers also take offers
 * (docker-archive/classicswarm#2000, "does not work"). The other masters carry
 * the same unit, disabled, as a cold standby: `systemctl enable --now
 * swarm-manager` there takes over.
 */
export class SwarmManager extends Construct implements INodeRole {
  public readonly roleName = "swarm-manager";
  public readonly masters: MesosMasterGroup;
  public readonly image: ContainerImage;
  public readonly port: number;
  public readonly schedulerPort: number;
  public readonly agentEnginePort: number;
  public readonly managerIndex: number;
  private readonly pools: MesosAgentPool[] = [];

  constructor(scope: Construct, id: string, props: SwarmManagerProps) {
    super(scope, id);
    this.masters = props.masters;
    this.image = imageProp(this, "image", props.image ?? DEFAULT_IMAGES.swarm);
    this.port = checkInteger(this, "port", props.port ?? 2375, 1, 65535);
    this.schedulerPort = checkInteger(this, "schedulerPort", props.schedulerPort ?? 3375, 1, 65535);
    this.agentEnginePort = checkInteger(this, "agentEnginePort", props.agentEnginePort ?? 2375, 1, 65535);
    this.managerIndex = checkInteger(this, "managerIndex", props.managerIndex ?? 0, 0, this.masters.nodes.count - 1);
    const taken = new Map<number, string>([[this.masters.port, "the Mesos master"], [this.masters.zookeeper.clientPort, "ZooKeeper"]]);
    for (const [prop, port] of [["port", this.port], ["schedulerPort", this.schedulerPort]] as const) {
      if (taken.has(port)) fail(this, prop, port, `a port not used by ${taken.get(port)} on the masters`);
    }
    if (this.port === this.schedulerPort) fail(this, "schedulerPort", this.schedulerPort, `a port other than port ${this.port}`);

    this.masters.nodes.addRole(this);
    this.masters.zookeeper.allowClients(this.masters.nodes);
    this.masters.nodes.allowFromGroup(this.masters.nodes, Port.tcp(this.schedulerPort), "Swarm scheduler endpoint for the Mesos master");
    for (const pool of props.agentPools ?? []) this.addAgentPool(pool);
  }

  /** The private IP of the active manager. */
  public get managerIp(): string {
    return this.masters.nodes.privateIps[this.managerIndex];
  }

  /** `tcp://ip:2375`: what `DOCKER_HOST` should be. */
  public get dockerHost(): string {
    return `tcp://${this.managerIp}:${this.port}`;
  }

  /** Agent pools whose engines Swarm reaches. */
  public get agentPools(): readonly MesosAgentPool[] {
    return this.pools;
  }

  /**
   * Lets Swarm reach a pool's Docker engines: the engine also listens on TCP
   * (accepting Swarm's old API) and the port opens to the masters only.
   */
  public addAgentPool(pool: MesosAgentPool): void {
    if (this.pools.includes(pool)) return;
    this.pools.push(pool);
    pool.nodes.addRole(new SwarmEngineRole(this.agentEnginePort));
    pool.nodes.allowFromGroup(this.masters.nodes, Port.tcp(this.agentEnginePort), "Docker engine API for the Swarm manager");
  }

  /** The `swarm manage` arguments on the master at `ip`. */
  public argsFor(ip: string): string[] {
    return [
      "manage",
      "-H", `tcp://0.0.0.0:${this.port}`,
      "-c", "mesos-experimental",
      "--cluster-opt", `mesos.address=${ip}`,
      "--cluster-opt", `mesos.port=${this.schedulerPort}`,
      this.masters.zkUrl,
    ];
  }

  /** Role contribution: the manager unit, enabled on the manager machine, standby elsewhere. */
  public configure(config: CloudConfig, node: NodeContext): void {
    if (!node.privateIp || node.index === undefined) throw new Error("the Swarm manager needs fixed machines");
    const active = node.index === this.managerIndex;
    addContainerService(config, {
      name: "swarm-manager",
      description: active ? "Classic Swarm manager on Mesos" : "Classic Swarm manager on Mesos (cold standby: enable to take over)",
      image: this.image,
      // Without it Swarm's tasks die with "Abnormal executor termination".
      environment: { SWARM_MESOS_USER: "root" },
      args: this.argsFor(node.privateIp),
      enable: active,
    });
  }
}

/** The drop-in that makes an agent's Docker engine serve Swarm over TCP. */
export const SWARM_ENGINE_DROP_IN = "/etc/systemd/system/docker.service.d/10-swarm-tcp.conf";

class SwarmEngineRole implements INodeRole {
  public readonly roleName = "swarm-engine";

  constructor(private readonly port: number) {}

  public configure(config: CloudConfig): void {
    // Written before the engine is installed, so its first start already listens on TCP.
    config.addFile({
      path: SWARM_ENGINE_DROP_IN,
      content: [
        "# Classic Swarm reaches this engine over TCP with API 1.15; Docker 25-28 accept",
        "# APIs below 1.24 only with DOCKER_MIN_API_VERSION. The port is open to the masters only.",
        "[Service]",
        "Environment=DOCKER_MIN_API_VERSION=1.12",
        "ExecStart=",
        `ExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:${this.port} --containerd=/run/containerd/containerd.sock`,
        "",
      ].join("\n"),
    });
  }
}
