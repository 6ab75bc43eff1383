import { Annotations, Aspects } from "cdktf";
import { Construct, IConstruct } from "constructs";
import { CloudTarget, ClusterSecret, HealthEndpoint, MachineGroupResources, PoolResources, SubnetRef } from "./cloud/target";
import { CloudConfig, EncodedUserData, encodeUserData } from "./core/cloud-config";
import { DockerEngine, MASTER_DOCKER_ENGINE_VERSION } from "./core/container-image";
import { ClusterDnsRole, ClusterDnsSettings, DATA_DISK_UNIT, DATA_ROOT, DataDiskRole, DockerHostRole, SECRET_FETCHER, SecretFetcherRole } from "./base-roles";
import { renderRoleHeader } from "./core/role-header";
import { Cidr, CLOUD_RESERVED_ADDRESSES, isUsableHost, parseIpv4 } from "./core/net";
import { CidrPeer, IngressRule, Peer, Port, SecurityGroupRef } from "./core/network-rules";
import { SCRIPT_DIR } from "./core/systemd";
import { checkInteger, ClusterConfigError, fail, isUnresolved, pathOf, warn } from "./core/validation";
import { describeCapacity } from "./cloud/vm-sizes";

export { CLUSTER_DNS_DROP_IN, type ClusterDnsSettings, DATA_DISK_UNIT, DATA_ROOT, SECRET_FETCHER } from "./base-roles";
/** Where boot-time copies of secrets live (tmpfs, root only). */
export const SECRETS_DIR = "/run/mesos-cluster/secrets";


/** What a role knows about the machine it configures. */
export interface NodeContext {
  /** The group the machine belongs to. */
  readonly group: MachineSet;
  /** Machine name (a pool's name for pool members). */
  readonly name: string;
  /** Index within a fixed group; undefined for pool members. */
  readonly index?: number;
  /** Literal private IP for fixed machines; undefined on pools, where {@link hostIpCommand} tells at boot. */
  readonly privateIp?: string;
  /** The zone of a fixed machine. */
  readonly zone?: string;
  /** Where persistent data goes. */
  readonly dataRoot: string;
  /** Units a stateful service must start after (the data disk mount). */
  readonly dataUnits: string[];
  /** A command that prints the machine's private IP at boot. */
  readonly hostIpCommand: string;
}

/**
 * A role contributes services, files and commands to the cloud-config of the
 * machines it is attached to. Roles are asked at synth time, so a role
 * attached after the machines were created still lands in their user data.
 */
export interface INodeRole {
  /** Unique per machine set, e.g. `zookeeper`. */
  readonly roleName: string;
  configure(config: CloudConfig, node: NodeContext): void;
}

/** Properties shared by fixed groups and pools. */
export interface MachineSetProps {
  /** The cloud to create machines in. */
  readonly target: CloudTarget;
  /**
   * Group name used in machine and rule names.
   * @default the construct id
   */
  readonly name?: string;
  /** VM size (Azure, e.g. `Standard_D2s_v5`) or instance type (AWS, e.g. `t3.large`). */
  readonly vmSize: string;
  /**
   * OS disk size in GiB.
   * @default 64
   */
  readonly osDiskGb?: number;
  /**
   * Exact Docker CE version every machine runs (25 to 28; roles narrow it:
   * see {@link DockerEngine}).
   * @default "27.5.1" (agent pools of a {@link MesosAgentPool}: "25.0.5")
   */
  readonly dockerEngineVersion?: string;
}

const VM_SIZE = /^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$/;
const GROUP_NAME = /^[a-z][a-z0-9-]{0,14}$/;

/**
 * What a machine needs for each role it runs (the largest need of its roles
 * counts). Masters run ZooKeeper, the Mesos master, Marathon and Swarm: the
 * JVMs of ZooKeeper and Marathon and the Mesos master with its replicated
 * log want 2 vCPUs and 8 GiB between them. An agent offers its tasks what is
 * left after the Mesos agent keeps 1 GiB for the system (half below 2 GiB:
 * apache/mesos src/slave/containerizer/containerizer.cpp), so 2 GiB leaves
 * tasks 1 GiB.
 */
export const ROLE_MINIMUMS: Readonly<Record<string, { readonly vcpus: number; readonly memoryGib: number; readonly what: string }>> = {
  zookeeper: { vcpus: 1, memoryGib: 2, what: "ZooKeeper" },
  "mesos-master": { vcpus: 2, memoryGib: 8, what: "the Mesos master" },
  marathon: { vcpus: 2, memoryGib: 8, what: "Marathon" },
  "swarm-manager": { vcpus: 1, memoryGib: 2, what: "Swarm" },
  "mesos-agent": { vcpus: 1, memoryGib: 2, what: "the Mesos agent" },
};

/** Group names in use per cloud target: machine, rule and pool names derive from them, so two groups must not share one. */
const GROUP_NAMES = new WeakMap<IConstruct, Map<string, string>>();

/** Machines of the pools of a target per agent subnet (pools share the network's agent subnets). */
const POOL_USE = new WeakMap<IConstruct, { perSubnet: number; pools: string[] }>();

/** Something whose machines others connect to: a machine set, or a service running on one. */
export interface IConnectable {
  readonly connections: Connections;
}

/**
 * The one way to open a port (after aws-cdk-lib's ec2 `Connections`): every
 * machine set and every service has `connections`, and
 * `x.connections.allowFrom(other, port, description)` opens `port` on x's
 * machines to `other`: another machine set or service (its machines' security
 * group) or CIDRs (`Peer.cidrs([...])`). A service knows its own port:
 * `zookeeper.connections.allowDefaultPortFrom(agents, "...")`. Openings are
 * idempotent: two roles that need the same one get one rule.
 */
export class Connections {
  /** `machines`: where the port opens; `defaultPort`: the service's own port, when this is a service's. */
  constructor(
    public readonly machines: MachineSet,
    public readonly defaultPort?: Port,
  ) {}

  /** Opens `port` on these machines to `other`. `id` names the rule (default: port and peer). */
  public allowFrom(other: IConnectable | Peer, port: Port, description: string, id?: string): void {
    // TCP keeps the ids it always had (`allow-2181-from-agents`); UDP gets its own (`allow-53-udp-from-agents`).
    const ports = port.protocol === "udp" ? `${port.toString()}-udp` : port.toString();
    if (other instanceof Peer) {
      this.machines._addIngress(other, port, description, id ?? `allow-${ports}-from-${other.label}`);
    } else {
      const from = other.connections.machines;
      this.machines._addIngress(Peer.group(from.securityGroup), port, description, id ?? `allow-${ports}-from-${from.groupName}`);
    }
  }

  /** Opens this service's own port to `other`. */
  public allowDefaultPortFrom(other: IConnectable | Peer, description: string, id?: string): void {
    if (!this.defaultPort) throw new Error(`${pathOf(this.machines)}: these connections have no default port (a machine set's own): use allowFrom with a port`);
    this.allowFrom(other, this.defaultPort, description, id);
  }
}

/**
 * Machines that share roles and a security group: the base of
 * {@link NodeGroup} (fixed machines with static IPs) and {@link NodePool}
 * (a scale set / auto scaling group).
 */
export abstract class MachineSet extends Construct {
  public readonly target: CloudTarget;
  /** The group's name in machine, rule and output names. */
  public readonly groupName: string;
  private group?: SecurityGroupRef;
  public readonly dockerEngine: DockerEngine;
  public readonly vmSize: string;
  public readonly osDiskGb: number;
  private readonly roles: INodeRole[] = [];
  private readonly ruleIds = new Set<string>();
  private ownConnections?: Connections;
  private readonly portClaims: { owner: IConstruct; property: string; port: Port; what: string }[] = [];
  private readonly rendered = new Map<string, EncodedUserData>();
  private clusterDns?: { settings: ClusterDnsSettings; owner: IConstruct };

  protected constructor(scope: Construct, id: string, props: MachineSetProps) {
    super(scope, id);
    this.target = props.target;
    this.groupName = props.name ?? id;
    this.claimPort(this, "ssh", Port.tcp(22), "SSH");
    this.node.addValidation({ validate: () => this.checkUserData() });
    if (!GROUP_NAME.test(this.groupName)) {
      fail(this, "name", this.groupName, "1-15 characters: lower-case letters, digits and '-', starting with a letter");
    }
    const names = GROUP_NAMES.get(props.target) ?? new Map<string, string>();
    const taken = names.get(this.groupName);
    if (taken !== undefined) {
      fail(
        this,
        "name",
        this.groupName,
        `a group name no other machine group of cluster ${props.target.clusterName} uses (${taken} is "${this.groupName}"${props.name === undefined ? ", the default name" : ""}: its machine, security group and pool names would collide; pass another name)`,
      );
    }
    names.set(this.groupName, pathOf(this));
    GROUP_NAMES.set(props.target, names);
    if (!isUnresolved(props.vmSize) && !VM_SIZE.test(props.vmSize ?? "")) {
      fail(this, "vmSize", props.vmSize, "a VM size or instance type such as Standard_D2s_v5 or t3.large");
    }
    this.vmSize = props.vmSize;
    this.osDiskGb = checkInteger(this, "osDiskGb", props.osDiskGb ?? 64, 30, 4095);
    const dockerVersion = props.dockerEngineVersion ?? MASTER_DOCKER_ENGINE_VERSION;
    const dockerProblem = DockerEngine.problem(dockerVersion);
    if (dockerProblem) fail(this, "dockerEngineVersion", dockerVersion, "an exact Docker CE version from 25.0.0 to 28.x.y");
    this.dockerEngine = DockerEngine.ce(dockerVersion);
    // The roles are known once everything is attached: the size is checked against them at synth.
    Aspects.of(this).add({
      visit: (node) => {
        if (node === this) this.checkCapacity();
      },
    });
  }

  /** The size's capacity (when the target's table knows it) against what the attached roles need. */
  private checkCapacity(): void {
    if (isUnresolved(this.vmSize)) return;
    const info = this.target.describeVmSize?.(this.vmSize);
    const needs = this.roles.map((r) => ROLE_MINIMUMS[r.roleName]).filter((n) => n !== undefined);
    if (!info || needs.length === 0) return;
    const vcpus = Math.max(...needs.map((n) => n.vcpus));
    const memoryGib = Math.max(...needs.map((n) => n.memoryGib));
    if (info.vcpus >= vcpus && info.memoryGib >= memoryGib) return;
    const whats = [...new Set(needs.map((n) => n.what))];
    const list = whats.length === 1 ? whats[0] : `${whats.slice(0, -1).join(", ")} and ${whats[whats.length - 1]}`;
    fail(this, "vmSize", this.vmSize, `a size with at least ${describeCapacity({ vcpus, memoryGib })} for machines that run ${list} (${this.vmSize} has ${describeCapacity(info)})`);
  }

  /** The cloud group rules use to name these machines (made on first use, once the members' IPs are known). */
  public get securityGroup(): SecurityGroupRef {
    this.group ??= this.target.createSecurityGroup(this, "group", `${this.target.clusterName}-${this.groupName}`, this.memberAddresses());
    return this.group;
  }

  /** Static IPs of the members, or undefined when they are known only at boot. */
  protected abstract memberAddresses(): string[] | undefined;

  /** Attaches a role; its contribution is rendered into the user data at synth. */
  public addRole(role: INodeRole): void {
    if (this.roles.some((r) => r.roleName === role.roleName)) {
      throw new ClusterConfigError(pathOf(this), "roles", role.roleName, "each role at most once per machine group");
    }
    this.roles.push(role);
  }

  public hasRole(roleName: string): boolean {
    return this.roles.some((r) => r.roleName === roleName);
  }

  /** Names of the roles attached, in order. */
  public get roleNames(): string[] {
    return this.roles.map((r) => r.roleName);
  }

  /**
   * Claims a port (or range) on these machines for `owner`'s `property`: the
   * one place where port collisions between roles are found (Marathon and
   * Swarm, the TLS proxy, ZooKeeper, the agent's own ports and its task
   * range...). A port another owner or property claimed is refused, naming
   * both; claiming the same port again for the same owner and property is a
   * no-op. Host networking puts every role of a machine on its addresses, so
   * two claims can never share a port (of one protocol: 53/udp and 53/tcp
   * are two ports).
   */
  public claimPort(owner: IConstruct, property: string, port: Port, what: string): void {
    for (const c of this.portClaims) {
      if (c.port.protocol !== port.protocol || c.port.from > port.to || port.from > c.port.to) continue;
      if (c.owner === owner && c.property === property) return;
      fail(owner, property, port.from === port.to ? port.from : port.toString(), `a port not used by ${c.what} (${pathOf(c.owner)} ${c.property}${c.port.from === c.port.to ? "" : ` ${c.port.toString()}`}) on ${pathOf(this)}`);
    }
    this.portClaims.push({ owner, property, port, what });
  }

  /** What claims `port` (TCP unless `protocol` says otherwise) on these machines, if anything, e.g. "the Mesos agent (dev/agents port)". */
  public portOwner(port: number, protocol: Port["protocol"] = "tcp"): string | undefined {
    const c = this.portClaims.find((x) => x.port.protocol === protocol && port >= x.port.from && port <= x.port.to);
    return c && `${c.what} (${pathOf(c.owner)} ${c.property})`;
  }

  /**
   * Routes the cluster's DNS domain on these machines to `settings.servers`
   * (a systemd-resolved drop-in, {@link ClusterDnsRole}); every other name
   * keeps the cloud's resolver. A {@link MesosDns} calls this for each
   * machine set it serves, together with opening port 53 to them. One
   * cluster DNS per machine set.
   */
  public useClusterDns(owner: IConstruct, settings: ClusterDnsSettings): void {
    if (this.clusterDns && this.clusterDns.owner !== owner) {
      fail(owner, "clients", pathOf(this), `machine sets no other cluster DNS serves (${pathOf(this.clusterDns.owner)} serves ${pathOf(this)})`);
    }
    this.clusterDns = { settings: { domain: settings.domain, servers: [...settings.servers] }, owner };
  }

  /** The domain and servers these machines route to their cluster DNS, if one serves them. */
  public get clusterDnsSettings(): ClusterDnsSettings | undefined {
    return this.clusterDns?.settings;
  }

  /**
   * Who may reach these machines, on which port: `connections.allowFrom(other,
   * port, description)` with another machine set, a service (anything with
   * `connections`) or CIDRs ({@link Peer}).
   */
  public get connections(): Connections {
    this.ownConnections ??= new Connections(this);
    return this.ownConnections;
  }

  /** @internal Creates the ingress rule (Connections calls this; idempotent per id). */
  public _addIngress(from: Peer, port: Port, description: string, id: string): void {
    if (this.ruleIds.has(id)) return;
    this.ruleIds.add(id);
    if (from instanceof CidrPeer && from.isInternet) {
      // Allowed only through an explicit opt-in, and never quietly.
      Annotations.of(this).addWarning(`${pathOf(this)}: port ${port.label} (${description}) is open to the whole internet (0.0.0.0/0)`);
    }
    const rule: IngressRule = { to: this.securityGroup, from, port, description };
    this.target.allowIngress(this, id, rule);
  }

  /** The rendered, unencoded cloud-config for one machine (for tests, the validator and plan diffs). */
  public abstract renderUserData(index?: number): string;

  /** Renders a node's document: base configuration, then every role in the order attached. */
  protected renderDocument(node: NodeContext): string {
    const config = new CloudConfig();
    config.addComment(
      renderRoleHeader(pathOf(this), node.name, this.roles.map((r) => r.roleName)),
    );
    for (const role of [...this.baseRoles(), ...this.roles]) role.configure(config, node);
    return config.render();
  }

  /**
   * The roles every machine of this set gets before its own (base-roles.ts):
   * the Docker host, the cluster's DNS when one serves the set, then what the
   * kind of set adds (the secret fetcher, the data disk). Not listed in the
   * header line.
   */
  protected baseRoles(): INodeRole[] {
    return [new DockerHostRole(this.dockerEngine), ...(this.clusterDns ? [new ClusterDnsRole(this.clusterDns.settings)] : [])];
  }

  /**
   * Encodes a machine's document once per key. The size limit is not checked
   * here (this runs inside the Lazy values cdktf resolves) but in this set's
   * validation, which renders every document first ({@link checkUserData}).
   */
  protected encodeOnce(key: string, render: () => string, base64: boolean): EncodedUserData {
    const cached = this.rendered.get(key);
    if (cached) return cached;
    const policy = this.target.userDataPolicy;
    const encoded = encodeUserData(render(), { limitBytes: policy.limitBytes, base64, gzipAllowed: true });
    this.rendered.set(key, encoded);
    return encoded;
  }

  /** Every document of this set, as its machines receive it (registered by the subclass). */
  protected readonly userDataProducers: (() => EncodedUserData)[] = [];

  /** Registers a machine's document producer for {@link checkUserData} and returns it. */
  protected registerUserData(produce: () => EncodedUserData): () => EncodedUserData {
    this.userDataProducers.push(produce);
    return produce;
  }

  /**
   * The late check of user data: runs in this set's `node.addValidation`, at
   * synth before any value is resolved, after every role was attached; it
   * renders each document and refuses one over the cloud's limit with the
   * same error as every other check (raised, not returned, so the error keeps
   * its type and its one line).
   */
  protected checkUserData(): string[] {
    const policy = this.target.userDataPolicy;
    for (const produce of this.userDataProducers) {
      const encoded = produce();
      if (encoded.countedBytes > policy.limitBytes) {
        fail(this, "userData", `${encoded.countedBytes} bytes (${encoded.encoding})`, `at most ${policy.limitBytes} bytes on ${this.target.cloud}`);
      }
    }
    return [];
  }
}

/** Properties of a {@link NodeGroup}. */
export interface NodeGroupProps extends MachineSetProps {
  /** Number of machines. */
  readonly count: number;
  /**
   * Zones to spread over, round-robin, in order.
   * @default every zone of the target's network
   */
  readonly zones?: string[];
  /**
   * Static private IPs, one per machine, each inside the subnet of its zone.
   * @default the `firstHostOffset`-th address onward of each subnet
   */
  readonly privateIps?: string[];
  /**
   * Offset of the first static IP inside a subnet when `privateIps` is not given.
   * @default 10
   */
  readonly firstHostOffset?: number;
  /**
   * A separate data disk per machine, in GiB, mounted at /var/lib/mesos-cluster;
   * it survives replacement of the machine. 0 for none.
   * @default 32
   */
  readonly dataDiskGb?: number;
  /**
   * A public IP per machine (no port is open to it unless a rule says so).
   * @default true
   */
  readonly publicIp?: boolean;
}

/** A machine of a {@link NodeGroup}. */
export interface MachineInfo {
  readonly index: number;
  readonly name: string;
  readonly zone: string;
  readonly subnet: SubnetRef;
  readonly privateIp: string;
}

/**
 * A fixed number of machines with static private IPs spread over zones: the
 * masters of a cluster, or a dedicated ZooKeeper ensemble.
 */
export class NodeGroup extends MachineSet {
  /** The machines in order: name, zone, subnet, static IP. */
  public readonly machines: MachineInfo[];
  /** Static private IPs in machine order (literals). */
  public readonly privateIps: string[];
  /** Escape hatch: the VM / instance and disk resources. */
  public readonly resources: MachineGroupResources;
  public readonly hasDataDisk: boolean;
  private readonly secretsRead = new Set<string>();

  constructor(scope: Construct, id: string, props: NodeGroupProps) {
    super(scope, id, props);
    const count = checkInteger(this, "count", props.count, 1, 99);
    const network = props.target.network;
    const zones = props.zones ?? network.zones;
    if (zones.length === 0) fail(this, "zones", zones, `at least one of ${network.zones.join(", ")}`);
    for (const z of zones) {
      if (!network.zones.includes(z)) fail(this, "zones", z, `one of the network's zones: ${network.zones.join(", ")}`);
    }
    const dataDiskGb = checkInteger(this, "dataDiskGb", props.dataDiskGb ?? 32, 0, 4095);
    this.hasDataDisk = dataDiskGb > 0;
    const offset = checkInteger(this, "firstHostOffset", props.firstHostOffset ?? 10, 4, 250);
    if (props.privateIps && props.privateIps.length !== count) {
      fail(this, "privateIps", props.privateIps, `exactly ${count} addresses (one per machine)`);
    }

    const usedPerSubnet = new Map<string, number>();
    const seen = new Set<string>();
    this.machines = [];
    for (let i = 0; i < count; i++) {
      const zone = zones[i % zones.length];
      const subnet = network.masterSubnets.find((s) => s.zone === zone) ?? network.masterSubnets.find((s) => s.zone === undefined);
      if (!subnet) fail(this, "zones", zone, `a zone with a master subnet: ${network.masterSubnets.map((s) => s.zone).join(", ")}`);
      const cidr = Cidr.tryParse(subnet.cidr);
      if (!cidr) fail(this, "subnet.cidr", subnet.cidr, "a literal IPv4 CIDR block (static IPs are computed from it)");
      let ip: string;
      if (props.privateIps) {
        ip = props.privateIps[i];
        if (parseIpv4(ip) === undefined) fail(this, `privateIps[${i}]`, ip, "a dotted-quad IPv4 address");
        if (!isUsableHost(cidr, ip)) {
          fail(this, `privateIps[${i}]`, ip, `a usable address of subnet ${subnet.cidr} (zone ${zone}), not its first four or last`);
        }
      } else {
        const n = usedPerSubnet.get(subnet.cidr) ?? 0;
        usedPerSubnet.set(subnet.cidr, n + 1);
        const hostOffset = offset + n;
        if (hostOffset >= cidr.size - 1) {
          fail(this, "count", count, `at most ${Math.max(0, cidr.size - 1 - offset)} machines in subnet ${subnet.cidr} from host offset ${offset}`);
        }
        ip = cidr.host(hostOffset);
      }
      if (seen.has(ip)) fail(this, `privateIps[${i}]`, ip, "addresses unique within the group");
      seen.add(ip);
      this.machines.push({ index: i, name: `${props.target.clusterName}-${this.groupName}-${i + 1}`, zone, subnet, privateIp: ip });
    }
    this.privateIps = this.machines.map((m) => m.privateIp);
    // A group of 3 or more keeps a majority (ZooKeeper, the replicated log) only if no zone holds one.
    const perZone = Math.ceil(count / zones.length);
    if (count >= 3 && perZone >= Math.floor(count / 2) + 1) {
      warn(
        this,
        `${count} machines over ${zones.length} zone${zones.length === 1 ? "" : "s"} (${zones.join(", ")}): one zone holds ${perZone} of them, a majority, so losing that zone loses the quorum; spread them over 3 zones`,
        "zones",
      );
    }

    const base64 = props.target.userDataPolicy.machineBase64;
    this.resources = props.target.createMachines(this, "machines", {
      name: this.groupName,
      machines: this.machines.map((m) => ({
        name: m.name,
        zone: m.zone,
        subnet: m.subnet,
        privateIp: m.privateIp,
        userData: this.registerUserData(() => this.encodeOnce(String(m.index), () => this.renderUserData(m.index), base64)),
      })),
      vmSize: this.vmSize,
      osDiskGb: this.osDiskGb,
      dataDiskGb: this.hasDataDisk ? dataDiskGb : undefined,
      publicIp: props.publicIp ?? true,
      securityGroup: this.securityGroup,
      readsSecrets: () => this.readsSecrets,
    });
  }

  /**
   * Lets these machines read `secret` at boot (they get the cluster's cloud
   * identity) and returns the shell command that prints its value.
   */
  public useSecret(secret: ClusterSecret): string {
    this.secretsRead.add(secret.name);
    return `${SCRIPT_DIR}/${SECRET_FETCHER} ${secret.name}`;
  }

  /**
   * Keeps `value` (usually a token) in the cloud's secret store as `name`,
   * with its resource under `scope`, lets these machines read it, and returns
   * the shell command that prints it on them.
   */
  public storeSecret(scope: Construct, id: string, name: string, value: string): string {
    return this.useSecret(this.target.storeSecret(scope, id, name, value));
  }

  /** True when a role of this group reads cluster secrets at boot. */
  public get readsSecrets(): boolean {
    return this.secretsRead.size > 0;
  }

  /** Number of machines. */
  public get count(): number {
    return this.machines.length;
  }

  protected memberAddresses(): string[] {
    return this.privateIps;
  }

  /** Public IPs (Terraform expressions) when the group has them. */
  public get publicIps(): string[] {
    return this.resources.publicIps;
  }

  public renderUserData(index = 0): string {
    const m = this.machines[index];
    if (!m) throw new Error(`${pathOf(this)} has no machine ${index}`);
    return this.renderDocument(this.contextFor(m));
  }

  private contextFor(m: MachineInfo): NodeContext {
    return {
      group: this,
      name: m.name,
      index: m.index,
      privateIp: m.privateIp,
      zone: m.zone,
      dataRoot: DATA_ROOT,
      dataUnits: this.hasDataDisk ? [DATA_DISK_UNIT] : [],
      hostIpCommand: `echo ${m.privateIp}`,
    };
  }

  protected baseRoles(): INodeRole[] {
    return [
      ...super.baseRoles(),
      new SecretFetcherRole(() => this.readsSecrets, () => this.target.secretFetcherSource),
      ...(this.hasDataDisk ? [new DataDiskRole(this.target.dataDiskLocator)] : []),
    ];
  }
}

/** Properties of a {@link NodePool}. */
export interface NodePoolProps extends MachineSetProps {
  /** Number of machines (0 keeps the pool empty). */
  readonly count: number;
  /**
   * Give pool machines public IPs.
   * @default false
   */
  readonly publicIp?: boolean;
  /**
   * A loopback endpoint (a role on the pool serves it) that answers 200
   * while a member is healthy: changes then roll through the pool in
   * batches that wait for it (Azure rolling upgrade with the Application
   * Health extension; AWS instance refresh).
   * @default none: see the cloud target for what a change does then
   */
  readonly healthEndpoint?: HealthEndpoint;
}

/**
 * Identical machines in a scale set (Azure) or auto scaling group (AWS),
 * spread over the network's zones. They share one user data document and
 * learn their own IP at boot.
 */
export class NodePool extends MachineSet {
  public readonly count: number;
  /** Escape hatch: the scale set / auto scaling group. */
  public readonly resources: PoolResources;
  private readonly secretsRead = new Set<string>();

  constructor(scope: Construct, id: string, props: NodePoolProps) {
    super(scope, id, props);
    this.count = checkInteger(this, "count", props.count, 0, 1000);
    const network = props.target.network;
    this.checkSubnetRoom(network.agentSubnets, props.healthEndpoint !== undefined);
    this.resources = props.target.createPool(this, "pool", {
      name: this.groupName,
      count: this.count,
      vmSize: this.vmSize,
      osDiskGb: this.osDiskGb,
      subnets: network.agentSubnets,
      publicIp: props.publicIp ?? false,
      securityGroup: this.securityGroup,
      userData: this.registerUserData(() => this.encodeOnce("pool", () => this.renderUserData(), props.target.userDataPolicy.poolBase64)),
      healthEndpoint: props.healthEndpoint,
    });
  }

  protected memberAddresses(): undefined {
    return undefined;
  }

  /**
   * Lets the pool's members read `secret` at boot with an identity of the
   * pool's own that can read nothing else (the target's
   * `allowPoolSecret`), and returns the shell command that prints it on
   * them. Unlike a {@link NodeGroup}, a pool never gets the cluster's
   * identity, which reads every secret.
   */
  public useSecret(secret: ClusterSecret): string {
    if (!this.target.allowPoolSecret) fail(this, "target", this.target.node.path, `a cloud target that gives pools an identity of their own (allowPoolSecret), for secret ${secret.name}`);
    if (!this.secretsRead.has(secret.name)) {
      this.target.allowPoolSecret(this.resources, secret);
      this.secretsRead.add(secret.name);
    }
    return `${SCRIPT_DIR}/${SECRET_FETCHER} ${secret.name}`;
  }

  /** True when a role of this pool reads secrets at boot (the pool then has an identity). */
  public get readsSecrets(): boolean {
    return this.secretsRead.size > 0;
  }

  protected baseRoles(): INodeRole[] {
    return [...super.baseRoles(), new SecretFetcherRole(() => this.readsSecrets, () => this.target.secretFetcherSource)];
  }

  /**
   * The pool's machines must fit its subnets: Azure and AWS keep 5 addresses
   * of every subnet, the pool spreads evenly over the subnets (one per zone
   * on AWS), the other pools of the cluster share them, and on a cloud that
   * rolls changes with surge (Azure) the new machines come before the old go.
   */
  private checkSubnetRoom(subnets: SubnetRef[], rolling: boolean): void {
    const blocks = subnets.map((s) => Cidr.tryParse(s.cidr));
    if (this.count === 0 || blocks.length === 0 || blocks.some((b) => b === undefined)) return;
    const usable = Math.min(...blocks.map((b) => b!.size)) - CLOUD_RESERVED_ADDRESSES;
    const surge = rolling ? (this.target.poolSurgePercent ?? 0) : 0;
    const used = POOL_USE.get(this.target) ?? { perSubnet: 0, pools: [] };
    const need = (count: number) => Math.ceil((count + Math.ceil((count * surge) / 100)) / blocks.length);
    if (used.perSubnet + need(this.count) > usable) {
      let fits = this.count;
      while (fits > 0 && used.perSubnet + need(fits) > usable) fits--;
      const list = subnets.map((s) => s.cidr).join(", ");
      fail(
        this,
        "count",
        this.count,
        `at most ${fits} machines in agent subnet${subnets.length === 1 ? "" : "s"} ${list} (${usable} usable addresses${subnets.length === 1 ? "" : " each"}: Azure and AWS keep 5 of every subnet` +
          (subnets.length > 1 ? `; the pool spreads evenly over the ${subnets.length} zones` : "") +
          (surge > 0 ? `; a rolling upgrade adds up to ${surge}% new machines before removing old ones` : "") +
          (used.pools.length > 0 ? `; ${used.pools.join(", ")} already take ${used.perSubnet}` : "") +
          `): larger agentSubnetCidrs, or fewer machines`,
      );
    }
    POOL_USE.set(this.target, { perSubnet: used.perSubnet + need(this.count), pools: [...used.pools, pathOf(this)] });
  }

  public renderUserData(): string {
    const probe = Cidr.tryParse(this.target.network.addressSpace[0]);
    // The route towards the cluster network names this machine's own address.
    const hostIpCommand = probe
      ? `ip -4 -o route get ${probe.host(1)} | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'`
      : "hostname -I | cut -d' ' -f1";
    return this.renderDocument({
      group: this,
      name: `${this.target.clusterName}-${this.groupName}`,
      dataRoot: DATA_ROOT,
      dataUnits: [],
      hostIpCommand,
    });
  }
}

/**
 * For constructs that run on an existing {@link NodeGroup} or bring their own
 * machines: exactly one of `nodes` or `target` (+ `vmSize`) must be given.
 */
export interface PlacementProps {
  /** Run on these machines (e.g. the masters). */
  readonly nodes?: NodeGroup;
  /** Or create dedicated machines in this cloud target. */
  readonly target?: CloudTarget;
  /** Number of dedicated machines (only with `target`). */
  readonly count?: number;
  /** VM size of dedicated machines (only with `target`). */
  readonly vmSize?: string;
}

/** Returns `props.nodes`, or creates a dedicated group named `name` under `scope`. */
export function placeOn(scope: Construct, props: PlacementProps, name: string, defaultCount: number): NodeGroup {
  if (props.nodes && props.target) fail(scope, "target", "(given with nodes)", "either nodes or target, not both");
  if (props.nodes) {
    if (props.count !== undefined && props.count !== props.nodes.count) {
      fail(scope, "count", props.count, `omitted, or equal to the ${props.nodes.count} machines of ${pathOf(props.nodes)}`);
    }
    return props.nodes;
  }
  if (!props.target) fail(scope, "nodes", undefined, "a NodeGroup to run on, or a target to create machines in");
  if (!props.vmSize) fail(scope, "vmSize", props.vmSize, "a VM size for the dedicated machines");
  return new NodeGroup(scope, "machines", { target: props.target, name, count: props.count ?? defaultCount, vmSize: props.vmSize });
}
