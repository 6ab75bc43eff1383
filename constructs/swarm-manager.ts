import { Construct } from "constructs";
import { ROLE_NAMES } from "./core/role-header";
import { CloudConfig } from "./core/cloud-config";
import { ContainerImage, DEFAULT_IMAGES, imageProp } from "./core/container-image";
import { Port } from "./core/network-rules";
import { addContainerService } from "./core/systemd";
import { checkUserAllowed, checkUserName } from "./core/mesos-acls";
import { checkInteger, fail, pathOf } from "./core/validation";
import { addStunnel, StunnelService, TlsSecretCommands } from "./master-tls-proxy";
import type { MasterTlsProxy } from "./master-tls-proxy";
import { MesosAgentPool } from "./mesos-agent-pool";
import { MesosMasterGroup } from "./mesos-master-group";
import { Connections, INodeRole, NodeContext } from "./nodes";
import { SwarmEngineRole } from "./swarm-engine";
import { SwarmTlsCertificates } from "./swarm-tls";

/** Properties of a {@link SwarmManager}. */
export interface SwarmManagerProps {
  /** The Mesos masters; the manager runs on one of their machines. */
  readonly masters: MesosMasterGroup;
  /** Agent pools whose Docker engines Swarm reaches (more with {@link SwarmManager.addAgentPool}). */
  readonly agentPools?: MesosAgentPool[];
  /** Swarm image, an exact tag. @default "swarm:1.2.8" (1.2.9 removed the Mesos driver) */
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
  /**
   * Docker engine TCP port on the agents. Swarm learns it from the agents'
   * `docker_port` attribute, which {@link addAgentPool} sets.
   * @default 2375
   */
  readonly agentEnginePort?: number;
  /**
   * Serve the Swarm API over TLS with client certificates (mutual TLS) on
   * `tlsPort`; the manager itself then listens on loopback only. Clients use
   * the `swarm_*_pem` outputs with `DOCKER_TLS_VERIFY=1`.
   * @default false
   */
  readonly tls?: boolean;
  /** Client-facing TLS port. @default 2376 */
  readonly tlsPort?: number;
  /**
   * With `tls`: one client certificate per admin name; the API accepts
   * exactly these (removing a name revokes its certificate). The first one
   * is also the readiness gate's.
   * @default ["admin"]
   */
  readonly tlsClientNames?: string[];
  /**
   * The framework user Swarm registers with (`SWARM_MESOS_USER`); its tasks
   * carry no user of their own, so Mesos checks this one against the
   * masters' `taskUsers` (docker-archive/classicswarm v1.2.8
   * cluster/mesos/cluster.go, task/task.go). It owns each task's sandbox;
   * the container runs as its image's USER whatever it says. Empty is not
   * allowed: the agent cannot give a sandbox to user "" and the task dies
   * with "Abnormal executor termination".
   * @default "nobody"
   */
  readonly mesosUser?: string;
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
 *
 * TLS: `swarm manage --tlsverify` cannot be used with the Mesos driver,
 * which reuses the manager's TLS configuration for its connections to every
 * agent's engine and moves them to 2376 (cluster/mesos/cluster.go), so each
 * scale-set agent would need a certificate for an IP unknown at synth. With
 * `tls`, mutual TLS is terminated in front of the manager instead (stunnel,
 * client certificates required), and the manager listens on loopback only:
 * its own stunnel on the manager's machine, or, handed to a
 * {@link MasterTlsProxy} ({@link serveTlsThrough}), a section of the
 * proxy's stunnel on every master, which reuses this CA and certificate.
 */
export class SwarmManager extends Construct implements INodeRole {
  public readonly roleName = ROLE_NAMES.swarmManager;
  public readonly masters: MesosMasterGroup;
  public readonly image: ContainerImage;
  public readonly port: number;
  public readonly schedulerPort: number;
  public readonly agentEnginePort: number;
  public readonly managerIndex: number;
  /** The CA, server and client certificates when TLS is on. */
  public readonly tlsCertificates?: SwarmTlsCertificates;
  public readonly tlsPort: number;
  /** The framework user Swarm registers with (`SWARM_MESOS_USER`). */
  public readonly mesosUser: string;
  private readonly pools: MesosAgentPool[] = [];
  /** Commands that print the TLS CA, certificate and key on a master. */
  private readonly tlsCommands?: Required<TlsSecretCommands>;
  /** The proxy that serves the mutual-TLS port in its stunnel, when one does. */
  private tlsProxy?: MasterTlsProxy;

  constructor(scope: Construct, id: string, props: SwarmManagerProps) {
    super(scope, id);
    this.masters = props.masters;
    if (this.masters.requiresFrameworkAuthentication) {
      fail(
        this,
        "masters",
        this.masters.node.path,
        "masters that do not authenticate frameworks: classic Swarm 1.2.8 registers with no credential (docker-archive/classicswarm cluster/mesos/cluster.go); leave Swarm out (stack knob swarm: false) to authenticate every framework",
      );
    }
    this.image = imageProp(this, "image", props.image ?? DEFAULT_IMAGES.swarm);
    this.port = checkInteger(this, "port", props.port ?? 2375, 1, 65535);
    this.schedulerPort = checkInteger(this, "schedulerPort", props.schedulerPort ?? 3375, 1, 65535);
    this.agentEnginePort = checkInteger(this, "agentEnginePort", props.agentEnginePort ?? 2375, 1, 65535);
    this.managerIndex = checkInteger(this, "managerIndex", props.managerIndex ?? 0, 0, this.masters.nodes.count - 1);
    this.tlsPort = checkInteger(this, "tlsPort", props.tlsPort ?? 2376, 1, 65535);
    this.mesosUser = checkUserName(this, "mesosUser", props.mesosUser ?? "nobody");
    checkUserAllowed(this, "mesosUser", this.mesosUser, this.masters);
    if (props.tls) {
      const nodes = this.masters.nodes;
      this.tlsCertificates = new SwarmTlsCertificates(this, "tls", { ipAddresses: [...nodes.privateIps, ...nodes.publicIps], clientNames: props.tlsClientNames });
      const store = (name: string, value: string) => nodes.storeSecret(this, `tls-${name}-secret`, `${this.node.id}-tls-${name}`, value);
      this.tlsCommands = {
        // The CA and every allowed client certificate: stunnel verifies the chain and the certificate itself.
        ca: store("ca", this.tlsCertificates.allowedClientsPem),
        cert: store("cert", this.tlsCertificates.serverCertPem),
        key: store("key", this.tlsCertificates.serverKeyPem),
      };
    }

    this.masters.nodes.claimPort(this, "port", Port.tcp(this.port), "the Swarm manager");
    this.masters.nodes.claimPort(this, "schedulerPort", Port.tcp(this.schedulerPort), "Swarm's scheduler endpoint");
    if (props.tls) this.masters.nodes.claimPort(this, "tlsPort", Port.tcp(this.tlsPort), "the Swarm API's TLS port");
    this.masters.nodes.addRole(this);
    this.masters.zookeeper.connections.allowDefaultPortFrom(this.masters.nodes, `ZooKeeper clients (${this.masters.nodes.groupName})`);
    this.masters.nodes.connections.allowFrom(this.masters.nodes, Port.tcp(this.schedulerPort), "Swarm scheduler endpoint for the Mesos master");
    for (const pool of props.agentPools ?? []) this.addAgentPool(pool);
  }

  /** The private IP of the active manager. */
  public get managerIp(): string {
    return this.masters.nodes.privateIps[this.managerIndex];
  }

  /** The port clients use: the TLS port when TLS is on, else the manager's own. */
  public get apiPort(): number {
    return this.tlsCertificates ? this.tlsPort : this.port;
  }

  /** Who may reach the Swarm API: the default port is {@link apiPort}. */
  public get connections(): Connections {
    return new Connections(this.masters.nodes, Port.tcp(this.apiPort));
  }

  /** `tcp://ip:2375` (or `:2376` with TLS): what `DOCKER_HOST` should be. */
  public get dockerHost(): string {
    return `tcp://${this.managerIp}:${this.apiPort}`;
  }

  /** The stunnel section of the mutual-TLS port: client certificates of the CA, forwarded to the manager on loopback. */
  public get tlsService(): StunnelService {
    return { name: "swarm-api", accept: this.tlsPort, connect: `127.0.0.1:${this.port}`, clientCertificates: true };
  }

  /**
   * Hands the mutual-TLS port to a {@link MasterTlsProxy}: its stunnel serves
   * it on every master (so a standby that takes over serves it too) and this
   * manager installs no stunnel of its own. Returns the commands that print
   * the CA, certificate and key, for the proxy to reuse.
   */
  public serveTlsThrough(proxy: MasterTlsProxy): Required<TlsSecretCommands> {
    if (!this.tlsCommands) fail(this, "tls", false, "true: the Swarm API has no TLS for a proxy to serve");
    if (this.tlsProxy && this.tlsProxy !== proxy) fail(this, "tls", pathOf(proxy), `one proxy (${pathOf(this.tlsProxy)} serves it already)`);
    this.tlsProxy = proxy;
    return this.tlsCommands;
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
    pool.nodes.claimPort(this, "agentEnginePort", Port.tcp(this.agentEnginePort), "the agents' Docker engine (Swarm)");
    pool.attachSwarmEngine(this.agentEnginePort);
    this.pools.push(pool);
    pool.nodes.addRole(new SwarmEngineRole(this.agentEnginePort, this.masters.nodes.privateIps));
    pool.nodes.connections.allowFrom(this.masters.nodes, Port.tcp(this.agentEnginePort), "Docker engine API for the Swarm manager");
  }

  /** The `swarm manage` arguments on the master at `ip`. */
  public argsFor(ip: string): string[] {
    return [
      "manage",
      // Behind TLS the manager only serves the local proxy.
      "-H", `tcp://${this.tlsCertificates ? "127.0.0.1" : "0.0.0.0"}:${this.port}`,
      "-c", "mesos-experimental",
      "--cluster-opt", `mesos.address=${ip}`,
      "--cluster-opt", `mesos.port=${this.schedulerPort}`,
      // Registers the framework with checkpointing, so an agent restart does not kill
      // Swarm's containers (classicswarm cluster/mesos/cluster.go). Swarm 1.2.8 sets no
      // failover timeout: a manager restart or takeover still loses them (README).
      "--cluster-opt", "mesos.checkpointfailover=true",
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
      environment: { SWARM_MESOS_USER: this.mesosUser },
      args: this.argsFor(node.privateIp),
      enable: active,
    });
    // Behind a MasterTlsProxy, its stunnel serves the port (a section of its config).
    if (this.tlsCommands && !this.tlsProxy) {
      addStunnel(config, {
        name: "swarm-tls",
        description: `Mutual TLS for the Swarm API on ${this.tlsPort}`,
        commands: this.tlsCommands,
        services: [this.tlsService],
        enable: active,
        boundTo: "swarm-manager.service",
      });
    }
  }
}

export { ENGINE_FIREWALL_RULES, ENGINE_FIREWALL_UNIT, engineFirewallRules, SWARM_ENGINE_DROP_IN } from "./swarm-engine";
