import { Construct } from "constructs";
import { CloudConfig } from "./core/cloud-config";
import { ContainerImage, DEFAULT_IMAGES, imageProp } from "./core/container-image";
import { Port } from "./core/network-rules";
import { addContainerService, addScript, CONFIG_DIR } from "./core/systemd";
import { checkInteger, fail } from "./core/validation";
import { MesosAgentPool } from "./mesos-agent-pool";
import { MesosMasterGroup } from "./mesos-master-group";
import { INodeRole, NodeContext, SECRETS_DIR } from "./nodes";
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
 * client certificates required), and the manager listens on loopback only.
 */
export class SwarmManager extends Construct implements INodeRole {
  public readonly roleName = "swarm-manager";
  public readonly masters: MesosMasterGroup;
  public readonly image: ContainerImage;
  public readonly port: number;
  public readonly schedulerPort: number;
  public readonly agentEnginePort: number;
  public readonly managerIndex: number;
  /** The CA, server and client certificates when TLS is on. */
  public readonly tlsCertificates?: SwarmTlsCertificates;
  public readonly tlsPort: number;
  private readonly pools: MesosAgentPool[] = [];
  /** Commands that print the TLS CA, certificate and key on a master. */
  private readonly tlsCommands?: { ca: string; cert: string; key: string };

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
    const taken = new Map<number, string>([[this.masters.port, "the Mesos master"], [this.masters.zookeeper.clientPort, "ZooKeeper"]]);
    for (const [prop, port] of [["port", this.port], ["schedulerPort", this.schedulerPort]] as const) {
      if (taken.has(port)) fail(this, prop, port, `a port not used by ${taken.get(port)} on the masters`);
    }
    if (this.port === this.schedulerPort) fail(this, "schedulerPort", this.schedulerPort, `a port other than port ${this.port}`);
    this.tlsPort = checkInteger(this, "tlsPort", props.tlsPort ?? 2376, 1, 65535);
    if (props.tls) {
      if ([this.port, this.schedulerPort, ...taken.keys()].includes(this.tlsPort)) {
        fail(this, "tlsPort", this.tlsPort, "a port not used by the manager, its scheduler, the Mesos master or ZooKeeper");
      }
      const nodes = this.masters.nodes;
      this.tlsCertificates = new SwarmTlsCertificates(this, "tls", { ipAddresses: [...nodes.privateIps, ...nodes.publicIps] });
      const store = (name: string, value: string) => nodes.storeSecret(this, `tls-${name}-secret`, `${this.node.id}-tls-${name}`, value);
      this.tlsCommands = {
        ca: store("ca", this.tlsCertificates.caCertPem),
        cert: store("cert", this.tlsCertificates.serverCertPem),
        key: store("key", this.tlsCertificates.serverKeyPem),
      };
    }

    this.masters.nodes.addRole(this);
    this.masters.zookeeper.allowClients(this.masters.nodes);
    this.masters.nodes.allowFromGroup(this.masters.nodes, Port.tcp(this.schedulerPort), "Swarm scheduler endpoint for the Mesos master");
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

  /** `tcp://ip:2375` (or `:2376` with TLS): what `DOCKER_HOST` should be. */
  public get dockerHost(): string {
    return `tcp://${this.managerIp}:${this.apiPort}`;
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
    pool.attachSwarmEngine(this.agentEnginePort);
    this.pools.push(pool);
    pool.nodes.addRole(new SwarmEngineRole(this.agentEnginePort, this.masters.nodes.privateIps));
    pool.nodes.allowFromGroup(this.masters.nodes, Port.tcp(this.agentEnginePort), "Docker engine API for the Swarm manager");
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
      environment: { SWARM_MESOS_USER: "root" },
      args: this.argsFor(node.privateIp),
      enable: active,
    });
    if (this.tlsCommands) this.configureTls(config, active);
  }

  /** The mutual-TLS proxy in front of the manager (stunnel from Ubuntu's archive). */
  private configureTls(config: CloudConfig, active: boolean): void {
    const dir = `${SECRETS_DIR}/swarm-tls`;
    const conf = `${CONFIG_DIR}/swarm-tls.conf`;
    config.addPackage("stunnel4");
    config.addFile({
      path: conf,
      content: [
        "; Mutual TLS in front of the Swarm manager: clients must present a certificate of the cluster CA.",
        "foreground = yes",
        "pid =",
        "setuid = stunnel4",
        "setgid = stunnel4",
        "[swarm-api]",
        `accept = 0.0.0.0:${this.tlsPort}`,
        `connect = 127.0.0.1:${this.port}`,
        `cert = ${dir}/cert.pem`,
        `key = ${dir}/key.pem`,
        `CAfile = ${dir}/ca.pem`,
        "verifyChain = yes",
        "requireCert = yes",
        "sslVersionMin = TLSv1.2",
        "",
      ].join("\n"),
    });
    const prepare = addScript(
      config,
      "swarm-tls-prepare",
      `
# Fetches the Swarm API's CA, certificate and key from the cloud's secret store
# to tmpfs, readable by root only (stunnel reads them before dropping privileges).
# With --restart-if-changed (the hourly timer), a certificate Terraform has
# reissued (renewal, a new public IP) is installed and stunnel restarted.
umask 077
mkdir -p ${dir}
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
${this.tlsCommands!.ca} > "$fresh/ca.pem"
${this.tlsCommands!.cert} > "$fresh/cert.pem"
${this.tlsCommands!.key} > "$fresh/key.pem"
changed=no
for f in ca.pem cert.pem key.pem; do
  if ! cmp -s "$fresh/$f" "${dir}/$f"; then
    mv "$fresh/$f" "${dir}/$f"
    changed=yes
  fi
done
if [ "$changed" = yes ] && [ "$*" = --restart-if-changed ]; then
  systemctl restart swarm-tls.service
fi`,
    );
    config.addFile({
      path: "/etc/systemd/system/swarm-tls-refresh.service",
      content: ["[Unit]", "Description=Install a reissued Swarm API certificate", "", "[Service]", "Type=oneshot", `ExecStart=${prepare} --restart-if-changed`, ""].join("\n"),
    });
    config.addFile({
      path: "/etc/systemd/system/swarm-tls-refresh.timer",
      content: ["[Unit]", "Description=Check hourly for a reissued Swarm API certificate", "", "[Timer]", "OnBootSec=15min", "OnUnitActiveSec=1h", "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
    });
    config.addFile({
      path: "/etc/systemd/system/swarm-tls.service",
      content: [
        "[Unit]",
        `Description=Mutual TLS for the Swarm API on ${this.tlsPort}`,
        "After=network-online.target swarm-manager.service",
        "Wants=network-online.target",
        "BindsTo=swarm-manager.service",
        "",
        "[Service]",
        "Restart=always",
        "RestartSec=10",
        `ExecStartPre=${prepare}`,
        `ExecStart=/usr/bin/stunnel4 ${conf}`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
      ].join("\n"),
    });
    if (active) {
      config.enableUnit("swarm-tls.service");
      config.enableUnit("swarm-tls-refresh.timer");
    }
  }
}

/** The drop-in that makes an agent's Docker engine serve Swarm over TCP. */
export const SWARM_ENGINE_DROP_IN = "/etc/systemd/system/docker.service.d/10-swarm-tcp.conf";
/** The host firewall that keeps the engine's TCP API for the Swarm manager's machines. */
export const ENGINE_FIREWALL_RULES = "/etc/mesos-cluster/engine-firewall.nft";
/** Its unit, which docker.service requires and starts after. */
export const ENGINE_FIREWALL_UNIT = "mesos-engine-firewall.service";

/**
 * The nftables ruleset that admits the engine's TCP port from the masters'
 * addresses only, on the host itself.
 *
 * Security groups and NSGs filter traffic between machines; a task reaches
 * its own agent's engine without crossing them: from a bridge container at
 * 172.17.0.1 or the agent's IP, from a host-network task at 127.0.0.1. Each of
 * those arrives at the host's `input` hook (traffic to a local address is
 * never forwarded, so Docker's DOCKER-USER chain, which filters FORWARD, does
 * not see it). A drop in any base chain at a hook is final, so this table
 * holds whatever Docker's own iptables rules accept. IPv6 to the port is
 * dropped outright (the engine listens on IPv4 only).
 */
export function engineFirewallRules(port: number, allowed: readonly string[]): string {
  return [
    "#!/usr/sbin/nft -f",
    `# Docker's TCP API (${port}) answers the Swarm manager's machines only; a task must not reach its own`,
    "# agent's engine (docker run --privileged -v /:/host would be root). Loaded before dockerd starts.",
    "table inet mesos_cluster_engine",
    "delete table inet mesos_cluster_engine",
    "table inet mesos_cluster_engine {",
    "  set swarm_managers {",
    "    type ipv4_addr",
    `    elements = { ${allowed.join(", ")} }`,
    "  }",
    "  chain input {",
    "    type filter hook input priority filter - 10; policy accept;",
    `    tcp dport ${port} ip saddr @swarm_managers accept`,
    `    tcp dport ${port} counter drop`,
    "  }",
    "}",
    "",
  ].join("\n");
}

class SwarmEngineRole implements INodeRole {
  public readonly roleName = "swarm-engine";

  constructor(
    private readonly port: number,
    private readonly managers: readonly string[],
  ) {}

  public configure(config: CloudConfig): void {
    config.addPackage("nftables");
    config.addFile({ path: ENGINE_FIREWALL_RULES, permissions: "0600", content: engineFirewallRules(this.port, this.managers) });
    config.addFile({
      path: `/etc/systemd/system/${ENGINE_FIREWALL_UNIT}`,
      content: [
        "[Unit]",
        "Description=Host firewall: the Docker engine's TCP API for the Swarm manager's machines only",
        "DefaultDependencies=no",
        "Before=docker.service network-pre.target",
        "Wants=network-pre.target",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        `ExecStart=/usr/sbin/nft -f ${ENGINE_FIREWALL_RULES}`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
      ].join("\n"),
    });
    config.enableUnit(ENGINE_FIREWALL_UNIT);
    // Written before the engine is installed, so its first start (at package install) already
    // listens on TCP and already requires the firewall: dockerd never serves the port unfiltered.
    config.addFile({
      path: SWARM_ENGINE_DROP_IN,
      content: [
        "# Classic Swarm reaches this engine over TCP with API 1.15; Docker 25.0.x accepts APIs",
        "# below 1.24 only with DOCKER_MIN_API_VERSION (26+ refuse to start). The host firewall",
        `# (${ENGINE_FIREWALL_UNIT}) admits the port from the masters only, locally too.`,
        "[Unit]",
        `Requires=${ENGINE_FIREWALL_UNIT}`,
        `After=${ENGINE_FIREWALL_UNIT}`,
        "",
        "[Service]",
        "Environment=DOCKER_MIN_API_VERSION=1.12",
        "ExecStart=",
        `ExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:${this.port} --containerd=/run/containerd/containerd.sock`,
        "",
      ].join("\n"),
    });
  }
}
