import { TerraformResource } from "cdktf";
import { IConstruct } from "constructs";
import { IngressRule, Peer, SecurityGroupRef } from "../core/network-rules";
import { fail } from "../core/validation";
import { VmSizeInfo } from "./vm-sizes";

/** The clouds this project deploys to. */
export type CloudName = "azure" | "aws";

/** Groups of rules a target numbers apart ({@link CloudTarget.withRuleBand}): `discovery`, Mesos-DNS's and the edge pool's. */
export type RuleBand = "discovery";

/** A subnet machines are placed in. */
export interface SubnetRef {
  /** The cloud's id of the subnet (may be a token). */
  readonly id: string;
  /** The subnet's address block; must be a literal, static IPs are computed from it. */
  readonly cidr: string;
  /**
   * The zone the subnet lives in (AWS subnets are zonal). Undefined for a
   * regional subnet (Azure), which serves every zone.
   */
  readonly zone?: string;
}

/** The network a cluster lives in: created by the target or brought by the user. */
export interface ClusterNetwork {
  /** Address blocks of the VNet/VPC (literal CIDRs). */
  readonly addressSpace: string[];
  /** Subnets for machines with static IPs (masters): one per zone on AWS, one regional on Azure. */
  readonly masterSubnets: SubnetRef[];
  /** Subnets for agent pools. */
  readonly agentSubnets: SubnetRef[];
  /** Zones to spread machines over, in order (Azure `1`,`2`,`3`; AWS `eu-west-1a`, ...). */
  readonly zones: string[];
}

/** One machine of a fixed group, placed by the construct that owns it. */
export interface MachineSpec {
  /** Machine name, unique in the cluster, e.g. `mesos-ha-master-1`. */
  readonly name: string;
  readonly zone: string;
  readonly subnet: SubnetRef;
  /** Literal static private IP inside `subnet`. */
  readonly privateIp: string;
  /** Renders the machine's encoded user data; called once, at synth. */
  readonly userData: () => EncodedUserDataValue;
}

/** User data as the target's attribute takes it. */
export interface EncodedUserDataValue {
  readonly value: string;
  readonly encoding: "plain" | "base64" | "gzip+base64";
}

/** What a group of machines with static IPs needs from the cloud. */
export interface MachineGroupSpec {
  /** Group name, e.g. `masters`. */
  readonly name: string;
  readonly machines: MachineSpec[];
  /** VM size / instance type. */
  readonly vmSize: string;
  /** OS disk size in GiB. */
  readonly osDiskGb: number;
  /** Size of a separate data disk per machine in GiB (survives machine replacement); undefined for none. */
  readonly dataDiskGb?: number;
  /** Give each machine a public IP (inbound is still closed unless a rule opens it). */
  readonly publicIp: boolean;
  readonly securityGroup: SecurityGroupRef;
  /**
   * Whether the machines read cluster secrets at boot (asked at synth, so a
   * role attached later still gets its machines an identity).
   */
  readonly readsSecrets: () => boolean;
}

/** A secret machines fetch at boot by name; its value lives only in the cloud's secret store and Terraform state. */
export interface ClusterSecret {
  /** Name in the secret store, unique in the cluster: lower-case letters, digits and '-'. */
  readonly name: string;
}

/** What an auto-scaled pool of identical machines needs from the cloud. */
export interface PoolSpec {
  /** Pool name, e.g. `agents`; machine names derive from it. */
  readonly name: string;
  readonly count: number;
  readonly vmSize: string;
  readonly osDiskGb: number;
  readonly subnets: SubnetRef[];
  readonly publicIp: boolean;
  readonly securityGroup: SecurityGroupRef;
  /** Renders the pool's encoded user data; called once, at synth. */
  readonly userData: () => EncodedUserDataValue;
  /**
   * A loopback HTTP endpoint on every member that answers 200 while the
   * member's service is healthy. With it, a change reaches running members
   * in rolling batches that wait for it; without it, the target says what a
   * change does instead.
   */
  readonly healthEndpoint?: HealthEndpoint;
}

/** `http://127.0.0.1:PORT/PATH` on a machine. */
export interface HealthEndpoint {
  readonly port: number;
  /** Starts with `/`. */
  readonly path: string;
}

/** Resources a target made for a machine group: the escape hatch to the underlying Terraform. */
export interface MachineGroupResources {
  /** One VM / instance per machine, in machine order. */
  readonly instances: TerraformResource[];
  /** One data disk / EBS volume per machine, in machine order (empty without data disks). */
  readonly dataDisks: TerraformResource[];
  /** Public IPs per machine (Terraform expressions), when the group has them. */
  readonly publicIps: string[];
}

/** Resources a target made for a pool. */
export interface PoolResources {
  /** The scale set (Azure) or auto scaling group (AWS). */
  readonly pool: TerraformResource;
  /** The launch template (AWS) when there is one. */
  readonly template?: TerraformResource;
}

/**
 * How the cloud tells a pool member that it is about to remove it, and waits
 * for the member ({@link CloudTarget.enablePoolDrain}).
 */
export interface PoolDrainNotice {
  /**
   * `aws-lifecycle-hook`: the group's `autoscaling:EC2_INSTANCE_TERMINATING`
   * hook, seen through IMDS `autoscaling/target-lifecycle-state` and answered
   * with CompleteLifecycleAction; `azure-scheduled-events`: the scale set's
   * terminate notification, a `Terminate` (or `Preempt`) Scheduled Event
   * answered with a StartRequest.
   */
  readonly kind: "aws-lifecycle-hook" | "azure-scheduled-events";
  /** What a member needs to answer (AWS: `asg`, `hook`, `region`), literal values known at synth. */
  readonly settings: Readonly<Record<string, string>>;
  /** Seconds the cloud waits at most for a member before it removes it anyway. */
  readonly waitSeconds: number;
}

/** What a pool's drain asks of the cloud. */
export interface PoolDrainSpec {
  /** The member's own bound, in seconds (validated by the target as `drain.timeoutSeconds` of `scope`). */
  readonly timeoutSeconds: number;
  /** Seconds the cloud waits beyond the bound. */
  readonly marginSeconds: number;
}

/**
 * The target's check of `drain.timeoutSeconds` (of `scope`): whole seconds
 * from 30 to `maxWaitSeconds` less the margin: the most `waiter` (the
 * group, the scale set) waits, which `limit` explains. Returns the bound.
 */
export function checkDrainTimeout(scope: IConstruct, spec: PoolDrainSpec, maxWaitSeconds: number, waiter: string, limit: string): number {
  const max = maxWaitSeconds - spec.marginSeconds;
  const t = spec.timeoutSeconds;
  if (typeof t !== "number" || !Number.isInteger(t) || t < 30 || t > max) {
    fail(scope, "drain.timeoutSeconds", t, `whole seconds from 30 to ${max} (${waiter} waits the bound plus ${spec.marginSeconds} s, and ${limit})`);
  }
  return t;
}

/** What a load balancer in front of a pool serves ({@link CloudTarget.exposeEdge}). */
export interface EdgeExposureSpec {
  /** TCP ports passed through as they are (TLS too: it ends on the members) to the same port of every member. */
  readonly ports: number[];
  /**
   * An HTTP endpoint on every member that answers 200 while it can serve:
   * the load balancer probes it from its own addresses inside the network.
   */
  readonly healthCheck: { readonly port: number; readonly path: string };
  /**
   * Who may connect to `ports` (address blocks: admin networks,
   * `Peer.anyIpv4()` for the internet). The members' own rules for `ports`
   * stay the caller's: clients reach them with their own addresses.
   */
  readonly from: Peer[];
}

/** A load balancer a target put in front of a pool. */
export interface EdgeExposure {
  /** What clients connect to: the load balancer's DNS name (a Terraform expression). */
  readonly address: string;
  /** Escape hatch: the load balancer. */
  readonly loadBalancer: TerraformResource;
}

/** Limits of user data on a cloud, counted on the bytes the cloud stores. */
export interface UserDataPolicy {
  readonly limitBytes: number;
  /** Attributes for fixed machines take base64. */
  readonly machineBase64: boolean;
  /** Attributes for pools take base64. */
  readonly poolBase64: boolean;
}

/**
 * The small interface every construct speaks to. Azure and AWS implement it;
 * no other file imports a provider class.
 */
export interface CloudTarget extends IConstruct {
  readonly cloud: CloudName;
  /** Name of the cluster: prefix of every cloud resource name. */
  readonly clusterName: string;
  readonly network: ClusterNetwork;
  readonly userDataPolicy: UserDataPolicy;
  /** Login user for SSH. */
  readonly adminUsername: string;
  /**
   * A shell snippet that prints the device path of the machine's data disk
   * once it is attached (it may appear after boot), or exits non-zero.
   */
  readonly dataDiskLocator: string;
  /**
   * The cloud's own DNS resolver as the machines of {@link network} reach it
   * (an IPv4 address): what resolves everything outside the cluster's own
   * domain. Azure: 168.63.129.16, the same in every region; AWS: the Route 53
   * Resolver at the VPC's primary IPv4 block plus two (10.20.0.2 for
   * 10.20.0.0/16). A {@link MesosDns} forwards every other name to it.
   * Undefined: the target does not know it (pass `resolvers` to MesosDns).
   */
  readonly resolverAddress?: string;
  /**
   * Extra pool members a rolling change creates before it removes old ones,
   * in percent of the pool (Azure's surge upgrade); the pool's subnets must
   * hold them too. Undefined or 0: none.
   */
  readonly poolSurgePercent?: number;

  /**
   * vCPUs, memory and architecture of a VM size / instance type, when the
   * target's table knows it (undefined for a size it does not know, which is
   * then not checked).
   */
  describeVmSize?(size: string): VmSizeInfo | undefined;

  /**
   * A group that rules can name as source or destination. `addresses` are the
   * static IPs of a fixed group's members (undefined for a pool): a cloud may
   * name such a group by its addresses instead of a group resource.
   */
  createSecurityGroup(scope: IConstruct, id: string, name: string, addresses?: string[]): SecurityGroupRef;
  /** Opens `rule.port` on `rule.to` for `rule.from`. */
  allowIngress(scope: IConstruct, id: string, rule: IngressRule): void;
  /**
   * Runs `build` with the rules it opens kept apart from the others where a
   * cloud numbers rules (Azure NSG priorities, given in creation order): a
   * feature turned on or off later, or admin networks added, then renumber
   * nothing of the other. Optional: a cloud without rule priorities runs
   * `build` as is.
   */
  withRuleBand?<T>(band: RuleBand, build: () => T): T;
  /** Machines with static private IPs, spread over zones, with optional data disks. */
  createMachines(scope: IConstruct, id: string, spec: MachineGroupSpec): MachineGroupResources;
  /** A scale set / auto scaling group of identical machines. */
  createPool(scope: IConstruct, id: string, spec: PoolSpec): PoolResources;

  /**
   * Keeps a secret (usually a Terraform token: a generated password, a
   * sensitive variable, a private key) in the cloud's secret store (Azure
   * Key Vault, AWS SSM Parameter Store), readable by machines whose group
   * reads secrets. Its value never enters user data.
   */
  storeSecret(scope: IConstruct, id: string, name: string, value: string): ClusterSecret;
  /**
   * Lets the members of a pool read `secret` at boot with an identity of the
   * pool's own that can read nothing else: AWS, a role and instance profile
   * per pool allowed `ssm:GetParameter` on exactly that parameter's ARN;
   * Azure, a user-assigned identity per pool with "Key Vault Secrets User"
   * on a Key Vault of the pool's own that holds a copy of the secret (a role
   * scoped to a vault reads all of it). Pools that read no secret get no identity at all. Called
   * before synth (the pool's {@link secretFetcherSource} then finds it).
   */
  allowPoolSecret?(pool: PoolResources, secret: ClusterSecret): void;
  /**
   * Makes the cloud give a pool's members notice before it removes them
   * (scale-in, a rolling replacement, an eviction) and wait for each up to
   * `timeoutSeconds + marginSeconds`, then remove it whatever happened
   * (never keep it): AWS, a lifecycle hook on the group (default result
   * CONTINUE) and, on the pool's own role, `autoscaling:CompleteLifecycleAction`
   * on exactly that group; Azure, the scale set's terminate notification.
   * Refuses (naming `drain.timeoutSeconds` of `scope`) a bound the cloud
   * cannot wait for. Optional: a target without it has no drain.
   */
  enablePoolDrain?(scope: IConstruct, pool: PoolResources, spec: PoolDrainSpec): PoolDrainNotice;
  /**
   * Shell commands that open a session on each machine of a fixed group
   * without SSH (AWS: `aws ssm start-session`, when Session Manager is on),
   * for the stack's outputs. Optional: a target without it offers none.
   */
  sessionCommands?(resources: MachineGroupResources): string[];
  /**
   * An internet-facing load balancer of the cloud in front of a pool whose
   * members have no public address (AWS: a Network Load Balancer in public
   * subnets, one per zone of the pool, the pool's group attached to one
   * target group per port), and what clients connect to. Resources go
   * under `scope`. Optional: a target without it gives such pools public
   * IPs instead (Azure's edge).
   */
  exposeEdge?(scope: IConstruct, pool: PoolResources, spec: EdgeExposureSpec): EdgeExposure;
  /**
   * A Python 3 program (standard library only) that prints a secret's value:
   * `fetch-cluster-secret NAME`. It authenticates with the machine's cloud
   * identity and retries while identities and permissions propagate.
   */
  readonly secretFetcherSource: string;
}
