import { Construct } from "constructs";
import { ROLE_NAMES } from "./core/role-header";
import { CloudConfig } from "./core/cloud-config";
import { ContainerImage, DEFAULT_IMAGES, imageProp } from "./core/container-image";
import { Port } from "./core/network-rules";
import { addContainerService, addScript, CONFIG_DIR } from "./core/systemd";
import { checkInteger, fail } from "./core/validation";
import { Connections, INodeRole, NodeContext, NodeGroup, placeOn, PlacementProps } from "./nodes";

// Digest credentials of the ensemble's clients (MesosMasterGroup and MarathonService `zookeeperCredentials`).
export type { ZookeeperCredentials, ZkAclPolicy } from "./core/zookeeper-auth";

/** Ensemble sizes with a meaningful majority: an even member adds no fault tolerance. */
export const ENSEMBLE_SIZES = [1, 3, 5, 7] as const;

/** Properties of a {@link ZookeeperEnsemble}. */
export interface ZookeeperEnsembleProps extends PlacementProps {
  /**
   * ZooKeeper image (3.8.x; the official image's entrypoint honours our zoo.cfg).
   * @default "zookeeper:3.8.4"
   */
  readonly image?: string;
  /** Client port. @default 2181 */
  readonly clientPort?: number;
  /** Quorum (follower to leader) port. @default 2888 */
  readonly peerPort?: number;
  /** Leader election port. @default 3888 */
  readonly electionPort?: number;
  /** Basic time unit in milliseconds. @default 2000 */
  readonly tickTimeMs?: number;
}

/** One member of the ensemble. */
export interface ZookeeperMember {
  /** The member's `myid` (1-based). */
  readonly myid: number;
  readonly ip: string;
}

/** Where the rendered zoo.cfg lives on a machine (mounted read-only as the image's /conf/zoo.cfg). */
export const ZOO_CFG_PATH = `${CONFIG_DIR}/zookeeper/zoo.cfg`;

/**
 * A ZooKeeper ensemble: one member per machine of a {@link NodeGroup}
 * (standalone with one machine). Members run the official image under
 * systemd with their data on the machine's data disk.
 */
export class ZookeeperEnsemble extends Construct implements INodeRole {
  public readonly roleName = ROLE_NAMES.zookeeper;
  public readonly nodes: NodeGroup;
  public readonly image: ContainerImage;
  public readonly clientPort: number;
  public readonly peerPort: number;
  public readonly electionPort: number;
  public readonly tickTimeMs: number;
  /** Members in myid order. */
  public readonly members: ZookeeperMember[];
  /** `ip:2181,ip:2181,...`, what clients pass to connect. */
  public readonly connectString: string;

  constructor(scope: Construct, id: string, props: ZookeeperEnsembleProps) {
    super(scope, id);
    this.nodes = placeOn(this, props, "zookeeper", 3);
    if (!(ENSEMBLE_SIZES as readonly number[]).includes(this.nodes.count)) {
      fail(this, "count", this.nodes.count, "1, 3, 5 or 7 members (an odd number keeps a majority through failures)");
    }
    this.image = imageProp(this, "image", props.image ?? DEFAULT_IMAGES.zookeeper);
    this.clientPort = checkInteger(this, "clientPort", props.clientPort ?? 2181, 1, 65535);
    this.peerPort = checkInteger(this, "peerPort", props.peerPort ?? 2888, 1, 65535);
    this.electionPort = checkInteger(this, "electionPort", props.electionPort ?? 3888, 1, 65535);
    this.nodes.claimPort(this, "clientPort", Port.tcp(this.clientPort), "ZooKeeper's client port");
    this.nodes.claimPort(this, "peerPort", Port.tcp(this.peerPort), "ZooKeeper's quorum port");
    this.nodes.claimPort(this, "electionPort", Port.tcp(this.electionPort), "ZooKeeper's election port");
    this.tickTimeMs = checkInteger(this, "tickTimeMs", props.tickTimeMs ?? 2000, 100, 60000);

    this.members = this.nodes.machines.map((m) => ({ myid: m.index + 1, ip: m.privateIp }));
    this.connectString = this.members.map((m) => `${m.ip}:${this.clientPort}`).join(",");

    this.nodes.addRole(this);
    this.connections.allowDefaultPortFrom(this.nodes, `ZooKeeper clients (${this.nodes.groupName})`);
    if (this.members.length > 1) {
      this.nodes.connections.allowFrom(this.nodes, Port.tcp(this.peerPort), "ZooKeeper quorum between ensemble members");
      this.nodes.connections.allowFrom(this.nodes, Port.tcp(this.electionPort), "ZooKeeper leader election between ensemble members");
    }
  }

  /**
   * A `zk://` URL for a chroot path, e.g. `zk://a:2181,b:2181/mesos`. Never
   * with credentials: a service with `zookeeperCredentials` gets its
   * `zk://user:password@...` form written at boot, from the secret store.
   */
  public zkUrl(path: string): string {
    if (!/^\/[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(path)) fail(this, "zkUrl path", path, "an absolute znode path such as /mesos");
    return `zk://${this.connectString}${path}`;
  }

  /** The `server.N=host:peer:election;client` lines shared by every member. */
  public get serverLines(): string[] {
    return this.members.map((m) => `server.${m.myid}=${m.ip}:${this.peerPort}:${this.electionPort};${this.clientPort}`);
  }

  /** Who may reach the ensemble: its default port is the client port (`allowDefaultPortFrom(clients, ...)`). */
  public get connections(): Connections {
    return new Connections(this.nodes, Port.tcp(this.clientPort));
  }

  /** The zoo.cfg every member runs (identical on all members; `myid` tells them apart). */
  public renderZooCfg(): string {
    return [
      `# ZooKeeper ensemble of ${this.members.length} for ${this.nodes.target.clusterName}; rendered at synth.`,
      "dataDir=/data",
      "dataLogDir=/datalog",
      `tickTime=${this.tickTimeMs}`,
      "initLimit=10",
      "syncLimit=5",
      "maxClientCnxns=60",
      "autopurge.snapRetainCount=3",
      "autopurge.purgeInterval=24",
      "standaloneEnabled=true",
      // The AdminServer listens on 8080 and would collide with Marathon under host networking.
      "admin.enableServer=false",
      "4lw.commands.whitelist=ruok,srvr,mntr",
      ...this.serverLines,
      "",
    ].join("\n");
  }

  /** @internal role contribution: zoo.cfg, myid, the unit. */
  public configure(config: CloudConfig, node: NodeContext): void {
    if (node.index === undefined) throw new Error("ZooKeeper members need fixed machines");
    const myid = node.index + 1;
    const dataDir = `${node.dataRoot}/zookeeper`;
    config.addFile({ path: ZOO_CFG_PATH, content: this.renderZooCfg() });
    const prepare = addScript(
      config,
      "zookeeper-prepare",
      `
# Creates the data directories and this member's myid on the data disk. A disk
# that already names another member is refused: it would split the ensemble.
mkdir -p ${dataDir}/data ${dataDir}/datalog
myid_file=${dataDir}/data/myid
if [ -f "$myid_file" ] && [ "$(cat "$myid_file")" != "${myid}" ]; then
  echo "zookeeper-prepare: $myid_file holds $(cat "$myid_file"), this machine is member ${myid}" >&2
  exit 1
fi
echo ${myid} > "$myid_file"`,
    );
    addContainerService(config, {
      name: "zookeeper",
      description: `ZooKeeper member ${myid} of ${this.members.length}`,
      image: this.image,
      environment: {
        ZOO_MY_ID: String(myid),
        // The image only generates a config when none is mounted; these keep it consistent if it ever does.
        ZOO_ADMINSERVER_ENABLED: "false",
        ZOO_4LW_COMMANDS_WHITELIST: "ruok,srvr,mntr",
      },
      volumes: [`${ZOO_CFG_PATH}:/conf/zoo.cfg:ro`, `${dataDir}/data:/data`, `${dataDir}/datalog:/datalog`],
      preStart: [prepare],
      requires: node.dataUnits,
    });
  }
}
