import { TerraformOutput, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { AwsTarget } from "../constructs/cloud/aws";
import { AzureTarget } from "../constructs/cloud/azure";
import { CloudName, CloudTarget } from "../constructs/cloud/target";
import { DEFAULT_IMAGES } from "../constructs/core/container-image";
import { Cidr } from "../constructs/core/net";
import { Peer, Port } from "../constructs/core/network-rules";
import { ClusterReadinessGate } from "../constructs/cluster-readiness-gate";
import { MarathonApp } from "../constructs/marathon-app";
import { checkInteger, checkOneOf, checkPattern, fail, NAME_ALLOWED, NAME_PATTERN } from "../constructs/core/validation";
import { MarathonService } from "../constructs/marathon-service";
import { MesosAgentPool } from "../constructs/mesos-agent-pool";
import { MesosMasterGroup } from "../constructs/mesos-master-group";
import { NodeGroup } from "../constructs/nodes";
import { SwarmManager } from "../constructs/swarm-manager";
import { ENSEMBLE_SIZES, ZookeeperEnsemble } from "../constructs/zookeeper-ensemble";
import { EXAMPLE_APPS } from "./example-apps";

/** `dev`: one master; `ha`: three masters, one per zone. */
export type ClusterProfile = "dev" | "ha";

/** Container images of a cluster; each an exact tag. */
export interface ClusterImages {
  readonly zookeeper: string;
  readonly mesosMaster: string;
  readonly mesosAgent: string;
  readonly marathon: string;
  readonly swarm: string;
}

/** Defaults per profile. */
export const PROFILE_DEFAULTS: Record<ClusterProfile, { masterCount: number; agentCount: number }> = {
  dev: { masterCount: 1, agentCount: 2 },
  ha: { masterCount: 3, agentCount: 3 },
};

/** VM sizes per cloud when none are configured (x86-64, 2 vCPU, 8 GiB). */
export const DEFAULT_VM_SIZES: Record<CloudName, { master: string; agent: string }> = {
  azure: { master: "Standard_D2s_v5", agent: "Standard_D2s_v5" },
  aws: { master: "t3.large", agent: "t3.large" },
};

export const DEFAULT_REGIONS: Record<CloudName, string> = { azure: "westeurope", aws: "eu-west-1" };

/** Properties of a {@link MesosClusterStack}. */
export interface MesosClusterStackProps {
  /** Cloud to deploy to. @default "azure" */
  readonly cloud?: CloudName;
  /** `dev` (1 master, 2 agents) or `ha` (3 masters, 3 agents). @default "dev" */
  readonly profile?: ClusterProfile;
  /** Cluster name, prefix of every resource name. @default "mesos-" + the stack id */
  readonly clusterName?: string;
  /** Azure location or AWS region. @default "westeurope" / "eu-west-1" */
  readonly region?: string;
  /** Zones to spread over. @default Azure 1, 2, 3; AWS the region's a, b, c */
  readonly zones?: string[];
  /** Masters (ZooKeeper + Mesos master + Marathon each): 1, 3, 5 or 7. @default 1 (dev), 3 (ha) */
  readonly masterCount?: number;
  /** Mesos agents (0 to 1000). @default 2 (dev), 3 (ha) */
  readonly agentCount?: number;
  /** @default Standard_D2s_v5 (Azure), t3.large (AWS) */
  readonly masterVmSize?: string;
  /** @default Standard_D2s_v5 (Azure), t3.large (AWS) */
  readonly agentVmSize?: string;
  /** VNet/VPC block. @default "10.20.0.0/16" */
  readonly addressSpace?: string;
  /** Master subnets: one per zone on AWS, one on Azure. @default carved from addressSpace */
  readonly masterSubnetCidrs?: string[];
  /** Agent subnets: one per zone on AWS, one on Azure. @default carved from addressSpace */
  readonly agentSubnetCidrs?: string[];
  /**
   * Networks allowed to reach SSH, the Mesos and Marathon UIs and the Swarm
   * API on the masters. Nothing is reachable from outside without them.
   * @default []
   */
  readonly adminCidrs?: string[];
  /** Admin SSH public key. @default generated (sensitive output ssh_private_key) */
  readonly sshPublicKey?: string;
  /** Image overrides. @default {@link DEFAULT_IMAGES} */
  readonly images?: Partial<ClusterImages>;
  /** Exact Docker CE version on every machine. @default "27.5.1" */
  readonly dockerEngineVersion?: string;
  /** Data disk per master in GiB (ZooKeeper data, Mesos replicated log). @default 32 */
  readonly masterDataDiskGb?: number;
  // --- operating the cluster (issue 7) ---
  /**
   * Wait in `cdktf deploy` until the cluster can take work (a
   * {@link ClusterReadinessGate} polling from the deploying machine, which
   * must reach the masters). `auto`: on when `adminCidrs` is set.
   * @default "auto"
   */
  readonly readinessGate?: "auto" | "on" | "off";
  /** Example Marathon apps to deploy (names of {@link EXAMPLE_APPS}: `web`). @default [] */
  readonly exampleApps?: string[];
  // --- end operating the cluster ---
  /**
   * Build the cloud target yourself (e.g. to bring your own network). The
   * cloud, region, zones and address props are then ignored.
   * @default an AzureTarget or AwsTarget from the props above
   */
  readonly target?: (scope: Construct) => CloudTarget;
}

/**
 * A complete cluster: masters running ZooKeeper, Mesos master, Marathon and
 * the Swarm manager; an agent pool; the rules between them; outputs.
 */
export class MesosClusterStack extends TerraformStack {
  public readonly profile: ClusterProfile;
  public readonly target: CloudTarget;
  public readonly masters: NodeGroup;
  public readonly zookeeper: ZookeeperEnsemble;
  public readonly mesos: MesosMasterGroup;
  public readonly marathon: MarathonService;
  public readonly agents: MesosAgentPool;
  public readonly swarm: SwarmManager;
  public readonly adminCidrs: string[];
  /** The readiness gate, when on. */
  public readonly readinessGate?: ClusterReadinessGate;
  /** Example apps deployed through Marathon. */
  public readonly exampleApps: MarathonApp[];

  constructor(scope: Construct, id: string, props: MesosClusterStackProps = {}) {
    super(scope, id);
    const cloud = checkOneOf(this, "cloud", props.cloud ?? "azure", ["azure", "aws"] as CloudName[]);
    this.profile = checkOneOf(this, "profile", props.profile ?? "dev", ["dev", "ha"] as ClusterProfile[]);
    const defaults = PROFILE_DEFAULTS[this.profile];
    const masterCount = props.masterCount ?? defaults.masterCount;
    if (!(ENSEMBLE_SIZES as readonly number[]).includes(masterCount)) {
      fail(this, "masterCount", masterCount, "1, 3, 5 or 7 (an odd number keeps a ZooKeeper and Mesos quorum through failures)");
    }
    const agentCount = checkInteger(this, "agentCount", props.agentCount ?? defaults.agentCount, 0, 1000);
    const clusterName = checkPattern(this, "clusterName", props.clusterName ?? `mesos-${id}`, NAME_PATTERN, NAME_ALLOWED);
    this.adminCidrs = checkAdminCidrs(this, props.adminCidrs ?? []);
    const images = { ...DEFAULT_IMAGES, ...(props.images ?? {}) };
    for (const key of Object.keys(props.images ?? {})) {
      checkOneOf(this, "images", key, Object.keys(DEFAULT_IMAGES));
    }

    this.target = props.target
      ? props.target(this)
      : cloud === "azure"
        ? new AzureTarget(this, "azure", {
            clusterName,
            location: props.region,
            zones: props.zones,
            addressSpace: props.addressSpace,
            masterSubnetCidr: single(this, "masterSubnetCidrs", props.masterSubnetCidrs),
            agentSubnetCidr: single(this, "agentSubnetCidrs", props.agentSubnetCidrs),
            sshPublicKey: props.sshPublicKey,
          })
        : new AwsTarget(this, "aws", {
            clusterName,
            region: props.region,
            zones: props.zones,
            addressSpace: props.addressSpace,
            masterSubnetCidrs: props.masterSubnetCidrs,
            agentSubnetCidrs: props.agentSubnetCidrs,
            sshPublicKey: props.sshPublicKey,
          });
    const sizes = DEFAULT_VM_SIZES[this.target.cloud];

    this.masters = new NodeGroup(this, "masters", {
      target: this.target,
      count: masterCount,
      vmSize: props.masterVmSize ?? sizes.master,
      dataDiskGb: props.masterDataDiskGb,
      dockerEngineVersion: props.dockerEngineVersion,
    });
    this.zookeeper = new ZookeeperEnsemble(this, "zookeeper", { nodes: this.masters, image: images.zookeeper });
    this.mesos = new MesosMasterGroup(this, "mesos", { nodes: this.masters, zookeeper: this.zookeeper, image: images.mesosMaster });
    this.marathon = new MarathonService(this, "marathon", { masters: this.mesos, image: images.marathon });
    this.agents = new MesosAgentPool(this, "agents", {
      target: this.target,
      masters: this.mesos,
      count: agentCount,
      vmSize: props.agentVmSize ?? sizes.agent,
      image: images.mesosAgent,
      dockerEngineVersion: props.dockerEngineVersion,
    });
    this.swarm = new SwarmManager(this, "swarm", { masters: this.mesos, agentPools: [this.agents], image: images.swarm });

    if (this.adminCidrs.length > 0) {
      const admins = Peer.cidrs(this.adminCidrs);
      this.masters.allowFrom(admins, Port.tcp(22), "SSH from admin networks", "admin-ssh");
      this.masters.allowFrom(admins, Port.tcp(this.mesos.port), "Mesos UI and API from admin networks", "admin-mesos");
      this.masters.allowFrom(admins, Port.tcp(this.marathon.httpPort), "Marathon UI and API from admin networks", "admin-marathon");
      this.masters.allowFrom(admins, Port.tcp(this.swarm.port), "Swarm API (DOCKER_HOST) from admin networks", "admin-swarm");
    }

    // --- operating the cluster (issue 7) ---
    const gate = checkOneOf(this, "readinessGate", props.readinessGate ?? "auto", ["auto", "on", "off"]);
    if (gate === "on" || (gate === "auto" && this.adminCidrs.length > 0)) {
      this.readinessGate = new ClusterReadinessGate(this, "readiness", { mesos: this.mesos, marathon: this.marathon, swarm: this.swarm, agentPools: [this.agents] });
    }
    const exampleNames = props.exampleApps ?? [];
    if (exampleNames.length > 0 && this.agents.count === 0) fail(this, "exampleApps", exampleNames, "none while agentCount is 0 (apps need agents to run on)");
    this.exampleApps = [...new Set(exampleNames)].map((name) => {
      checkOneOf(this, "exampleApps", name, Object.keys(EXAMPLE_APPS));
      return EXAMPLE_APPS[name](this, { marathon: this.marathon, agents: this.agents });
    });
    this.output("mesos_agent_count", this.agents.count, "Agents the pool runs (what npm run smoke expects registered)");
    // --- end operating the cluster ---

    this.output("master_private_ips", this.masters.privateIps, "Static private IPs of the masters");
    if (this.masters.publicIps.length > 0) this.output("master_public_ips", this.masters.publicIps, "Public IPs of the masters (closed unless adminCidrs open them)");
    this.output("zookeeper_connect_string", this.zookeeper.connectString, "ZooKeeper connect string");
    this.output("mesos_zk_url", this.mesos.zkUrl, "zk:// URL of the Mesos masters");
    this.output("mesos_url", this.mesos.urls[0], "Mesos master UI/API (any master redirects to the leader)");
    this.output("mesos_urls", this.mesos.urls, "Every Mesos master");
    this.output("marathon_url", this.marathon.urls[0], "Marathon UI/API (any instance proxies to the leader)");
    this.output("marathon_urls", this.marathon.urls, "Every Marathon instance");
    this.output("docker_host", this.swarm.dockerHost, "DOCKER_HOST for the Swarm manager");
    this.output("ssh_user", this.target.adminUsername, "SSH login user");
  }

  private output(name: string, value: unknown, description: string): void {
    new TerraformOutput(this, name, { value, description }).overrideLogicalId(name);
  }
}

function checkAdminCidrs(scope: Construct, cidrs: string[]): string[] {
  if (!Array.isArray(cidrs)) fail(scope, "adminCidrs", cidrs, "a list of IPv4 CIDR blocks");
  cidrs.forEach((c, i) => {
    const parsed = Cidr.tryParse(c);
    if (!parsed) fail(scope, `adminCidrs[${i}]`, c, "an IPv4 CIDR block such as 203.0.113.0/24 (no host bits set)");
    if (parsed.prefixLength === 0) fail(scope, `adminCidrs[${i}]`, c, "a block narrower than the whole internet (0.0.0.0/0 is not an admin network)");
  });
  return [...cidrs];
}

function single(scope: Construct, prop: string, list: string[] | undefined): string | undefined {
  if (list === undefined) return undefined;
  if (list.length !== 1) fail(scope, prop, list, "exactly one subnet on Azure (subnets are regional)");
  return list[0];
}
