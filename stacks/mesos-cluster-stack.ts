import { Annotations, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import { Password } from "@cdktf/provider-random/lib/password";
import { Construct } from "constructs";
import type { AwsTarget as AwsTargetClass } from "../constructs/cloud/aws";
import type { AzureTarget as AzureTargetClass } from "../constructs/cloud/azure";
import { CloudName, CloudTarget } from "../constructs/cloud/target";
import { AGENT_PRINCIPAL } from "../constructs/core/agent-http-auth";
import { DEFAULT_IMAGES } from "../constructs/core/container-image";
import { HttpCredentials, USERNAME_PATTERN } from "../constructs/core/credentials";
import { ensureRandomProvider } from "../constructs/core/providers";
import { Cidr, coversAll, DOCKER_DEFAULT_BRIDGE, Ipv6Block, ipv4Range, parseIpv6Cidr } from "../constructs/core/net";
import { Peer, Port } from "../constructs/core/network-rules";
import { ClusterReadinessGate } from "../constructs/cluster-readiness-gate";
import { MasterTlsProxy } from "../constructs/master-tls-proxy";
import { MarathonApp } from "../constructs/marathon-app";
import { checkInteger, checkOneOf, checkPattern, fail, isUnresolved, NAME_ALLOWED, NAME_PATTERN, warn } from "../constructs/core/validation";
import { EDGE_ROLE, MARATHON_LB_IMAGE, MarathonLb } from "../constructs/marathon-lb";
import { MarathonService } from "../constructs/marathon-service";
import { AgentDrainOptions, MesosAgentPool } from "../constructs/mesos-agent-pool";
import { MESOS_DNS_IMAGE, MesosDns } from "../constructs/mesos-dns";
import { MesosMasterGroup } from "../constructs/mesos-master-group";
import { NodeGroup } from "../constructs/nodes";
import { SwarmManager } from "../constructs/swarm-manager";
import { ENSEMBLE_SIZES, ZookeeperCredentials, ZookeeperEnsemble } from "../constructs/zookeeper-ensemble";
import { applyBackend, BackendSettings, StateBackend } from "./backend";
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
  /** Mesos-DNS on the masters (discovery `dns`, `dns+lb`). */
  readonly mesosDns: string;
  /** marathon-lb on the edge pool (discovery `dns+lb`). */
  readonly marathonLb: string;
}

/** Every image of a cluster by default: the core services' ({@link DEFAULT_IMAGES}) and discovery's. */
export const CLUSTER_IMAGES: ClusterImages = { ...DEFAULT_IMAGES, mesosDns: MESOS_DNS_IMAGE, marathonLb: MARATHON_LB_IMAGE };

/** Defaults per profile. */
export const PROFILE_DEFAULTS: Record<ClusterProfile, { masterCount: number; agentCount: number }> = {
  dev: { masterCount: 1, agentCount: 2 },
  ha: { masterCount: 3, agentCount: 3 },
};

/**
 * Services that can be opened to the whole internet, only by naming them in
 * `internetIngress`: the masters' SSH, Mesos, Marathon and Swarm APIs, and
 * `web`, marathon-lb's 80 and 443 on the edge pool (discovery `dns+lb`).
 */
export type InternetService = "ssh" | "mesos" | "marathon" | "swarm" | "web";
/** Every {@link InternetService}, for validation and messages. */
export const INTERNET_SERVICES: InternetService[] = ["ssh", "mesos", "marathon", "swarm", "web"];

/**
 * Service discovery: `off`; `dns`, Mesos-DNS on the masters and every
 * machine resolving `*.mesos` through it; `dns+lb`, also an edge agent pool
 * (Mesos role `slave_public`) running marathon-lb for the apps that opt in.
 */
export type DiscoveryMode = "off" | "dns" | "dns+lb";
/** Every {@link DiscoveryMode}, for validation and messages. */
export const DISCOVERY_MODES: DiscoveryMode[] = ["off", "dns", "dns+lb"];

/**
 * Discovery per profile: `dns` in ha. Off in dev: its documents stay plain
 * text below half of AWS's 16 KB (the AWS dev agents and master are at 49.3%;
 * above half a document travels gzipped, unreadable in plan diffs), and a
 * one-master cluster would have one DNS server for `*.mesos`.
 */
export const PROFILE_DISCOVERY: Record<ClusterProfile, DiscoveryMode> = { dev: "off", ha: "dns" };

/** Where passwords come from when authentication is on. */
export type PasswordSource = "generated" | "variables";

/** Auth defaults per profile: on in ha (a shared, long-lived cluster), off in dev. */
export const PROFILE_AUTH: Record<ClusterProfile, boolean> = { dev: false, ha: true };

/** VM sizes per cloud when none are configured (x86-64, 2 vCPU, 8 GiB). */
export const DEFAULT_VM_SIZES: Record<CloudName, { master: string; agent: string }> = {
  azure: { master: "Standard_D2s_v5", agent: "Standard_D2s_v5" },
  aws: { master: "t3.large", agent: "t3.large" },
};

/** Azure location / AWS region when none is configured. */
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
  /** VM size / instance type of the masters (x86-64). @default Standard_D2s_v5 (Azure), t3.large (AWS) */
  readonly masterVmSize?: string;
  /** VM size / instance type of the agents (x86-64). @default Standard_D2s_v5 (Azure), t3.large (AWS) */
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
  /**
   * Opens services of the masters to the WHOLE internet (0.0.0.0/0). Each one
   * named prints a synth warning. Prefer `adminCidrs`.
   * @default [] (nothing)
   */
  readonly internetIngress?: InternetService[];
  /**
   * Accept opening a service without its authentication to `adminCidrs` or
   * the internet: Marathon and Mesos while `auth` is off, the Swarm API while
   * `swarmTls` is off; and Marathon and Mesos over plain HTTP (their basic
   * auth in clear text) while `apiTls` is off. Without it such an opening is
   * refused at synth; with it, synth warns once per service.
   * @default false
   */
  readonly insecure?: boolean;
  /**
   * Run classic Swarm on Mesos. Without it, and with `auth`, every framework
   * must authenticate to register (`authenticate_frameworks`; Marathon with
   * its own principal), which Swarm 1.2.8 cannot (it sends no credential), and
   * the agents' Docker engines do not listen on TCP at all.
   * @default true
   */
  readonly swarm?: boolean;
  /**
   * HTTP basic authentication on Marathon and on the Mesos masters'
   * read-write endpoints. Passwords live in the cloud's secret store and
   * surface only as sensitive outputs.
   * @default false in dev, true in ha
   */
  readonly auth?: boolean;
  /**
   * With `auth`, agents authenticate to the masters with a generated
   * credential (`mesos-agent`): `require` makes the masters refuse agents
   * without it (`authenticate_agents`); `accept` only adds it, the first of
   * two applies that move a running cluster to it (README).
   * @default "require"
   */
  readonly agentAuthentication?: "accept" | "require";
  /** User name of Marathon and Mesos when auth is on. @default "admin" */
  readonly authUsername?: string;
  /**
   * `generated`: random passwords kept in Terraform state; `variables`:
   * sensitive Terraform variables `marathon_password` and `mesos_password`
   * (set TF_VAR_marathon_password / TF_VAR_mesos_password at plan and apply).
   * @default "generated"
   */
  readonly authPasswords?: PasswordSource;
  /**
   * Mutual TLS on the Swarm API (port 2376, client certificates).
   * @default the value of `auth`
   */
  readonly swarmTls?: boolean;
  /**
   * TLS in front of the Mesos and Marathon HTTP APIs: stunnel on each master
   * (Mesos on 5443, Marathon on 8443; a {@link MasterTlsProxy}), with the
   * Swarm API's CA and certificate when `swarmTls` is on. `adminCidrs` and
   * `internetIngress` then open the TLS ports instead of 5050 and 8080, and
   * the outputs' URLs are https (CA in `tls_ca_pem`).
   * @default the value of `auth`
   */
  readonly apiTls?: boolean;
  /**
   * Admin names of the Swarm API's client certificates (one each, at most 4;
   * output `swarm_clients`). Removing a name revokes its certificate.
   * @default ["admin"]
   */
  readonly swarmClientNames?: string[];
  /**
   * Azure: Trusted Launch (secure boot and a virtual TPM) on every machine.
   * Turning it on for a cluster made without it replaces the masters (one at
   * a time: see plan-diff) and recreates the agents' scale set; `false`
   * keeps such a cluster as it is.
   * @default true
   */
  readonly trustedLaunch?: boolean;
  /**
   * Azure: public IPv4 addresses or blocks Terraform runs from (your
   * workstation's or CI runner's egress address). Every Key Vault denies all
   * networks but the subnets of the machines that read it and these, and
   * `cdktf deploy` writes and refreshes the secrets from where it runs.
   * @default [] (synth warns when the cluster stores secrets)
   */
  readonly deployerCidrs?: string[];
  /**
   * AWS: ARN of a customer managed KMS key (symmetric, in the stack's region)
   * for the cluster's SSM SecureString parameters; the roles that read them
   * may decrypt with exactly this key, through SSM only.
   * @default the AWS managed key aws/ssm
   */
  readonly secretsKmsKeyArn?: string;
  /** Admin SSH public key. @default generated (sensitive output ssh_private_key) */
  readonly sshPublicKey?: string;
  /** Image overrides. @default {@link DEFAULT_IMAGES} */
  readonly images?: Partial<ClusterImages>;
  /**
   * Exact Docker CE version on the masters (25 to 28).
   * @default "27.5.1"
   */
  readonly masterDockerEngineVersion?: string;
  /**
   * Exact Docker CE version on the agents: 25.0.x, the only line that serves
   * classic Swarm's API 1.15 (26.0 and later refuse DOCKER_MIN_API_VERSION=1.12).
   * @default "25.0.5"
   */
  readonly agentDockerEngineVersion?: string;
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
  /** Example Marathon apps to deploy (names of {@link EXAMPLE_APPS}: `web`, `redis`). @default [] */
  readonly exampleApps?: string[];
  // --- end operating the cluster ---
  /**
   * Service discovery (a {@link DiscoveryMode}): `dns` runs Mesos-DNS on the
   * masters ({@link MesosDns}: `<app>.marathon.mesos`, `_<app>._tcp.marathon.mesos`)
   * and routes `*.mesos` to it on every machine; `dns+lb` adds an edge pool
   * (`edgeAgentCount` agents of Mesos role `slave_public`) running marathon-lb
   * ({@link MarathonLb}) for apps labelled `HAPROXY_GROUP`, and registers
   * Marathon with that role. Turning it on for a running cluster changes
   * every machine's user data: masters are replaced (one at a time: see
   * plan-diff), agents rolled.
   * @default "dns" in ha, "off" in dev (see {@link PROFILE_DISCOVERY})
   */
  readonly discovery?: DiscoveryMode;
  /** Edge agents running marathon-lb (discovery `dns+lb`): 1 to 1000. @default 1 */
  readonly edgeAgentCount?: number;
  /** VM size / instance type of the edge agents (x86-64). @default Standard_D2s_v5 (Azure), t3.large (AWS) */
  readonly edgeVmSize?: string;
  /**
   * The agents' drain ({@link MesosAgentPool} `drain`, README "Agents leave
   * gracefully"), for every agent pool of the stack: before the cloud removes
   * an agent, it waits up to this many seconds for the tasks it ran to run
   * elsewhere. 0 turns the drain off; from 30 up to the cloud's most (AWS
   * 7140, Azure 840). Without it the pools decide: on where the agents
   * authenticate to the masters (ha), off elsewhere.
   * @default the pools' own: 600 s where the agents authenticate, else off
   */
  readonly agentDrainSeconds?: number;
  /**
   * Build the cloud target yourself (e.g. to bring your own network). The
   * cloud, region, zones and address props are then ignored.
   * @default an AzureTarget or AwsTarget from the props above
   */
  readonly target?: (scope: Construct) => CloudTarget;
  /**
   * Where Terraform keeps this stack's state: `{ type: "azurerm", ... }` or
   * `{ type: "s3", ... }` for CI and teams (see stacks/backend.ts).
   * @default cdktf's local file terraform.<stack id>.tfstate
   */
  readonly backend?: StateBackend | BackendSettings;
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
  /** The Swarm manager; undefined with `swarm: false`. */
  public readonly swarm?: SwarmManager;
  /** TLS in front of the Mesos and Marathon APIs; undefined with `apiTls` off. */
  public readonly tlsProxy?: MasterTlsProxy;
  public readonly adminCidrs: string[];
  public readonly auth: boolean;
  /** The readiness gate, when on. */
  public readonly readinessGate?: ClusterReadinessGate;
  /** Example apps deployed through Marathon. */
  public readonly exampleApps: MarathonApp[];
  /** Service discovery as configured. */
  public readonly discovery: DiscoveryMode;
  /** Mesos-DNS on the masters; undefined with discovery `off`. */
  public readonly dns?: MesosDns;
  /** The edge agent pool (role `slave_public`); only with discovery `dns+lb`. */
  public readonly edge?: MesosAgentPool;
  /** marathon-lb on the edge pool; only with discovery `dns+lb`. */
  public readonly marathonLb?: MarathonLb;
  /**
   * The address of the cloud load balancer in front of the edge (80 and
   * 443): on AWS with discovery `dns+lb` and 80/443 opened (internetIngress
   * `web` or adminCidrs), the Network Load Balancer's DNS name.
   */
  public readonly marathonLbAddress?: string;

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
    const clusterName = checkClusterName(this, id, props.clusterName, cloud);
    this.adminCidrs = checkAdminCidrs(this, props.adminCidrs ?? []);
    const internet = (props.internetIngress ?? []).map((svc, i) => checkOneOf(this, `internetIngress[${i}]`, svc, INTERNET_SERVICES));
    this.auth = props.auth ?? PROFILE_AUTH[this.profile];
    const passwordSource = checkOneOf(this, "authPasswords", props.authPasswords ?? "generated", ["generated", "variables"] as PasswordSource[]);
    // Checked even while auth is off, so a typo waits for nobody to turn it on.
    const username = checkPattern(this, "authUsername", props.authUsername ?? "admin", USERNAME_PATTERN, "1-64 characters: letters, digits, '.', '_' and '-' (no ':', spaces or quotes)");
    if (!this.auth) warnAuthSettingsUnused(this, props);
    const images = { ...CLUSTER_IMAGES, ...(props.images ?? {}) };
    for (const key of Object.keys(props.images ?? {})) {
      checkOneOf(this, "images", key, Object.keys(CLUSTER_IMAGES));
    }
    this.discovery = checkOneOf(this, "discovery", props.discovery ?? PROFILE_DISCOVERY[this.profile], DISCOVERY_MODES);
    const withEdge = this.discovery === "dns+lb";
    if (!withEdge) warnEdgeSettingsUnused(this, props);
    const edgeAgentCount = withEdge ? checkInteger(this, "edgeAgentCount", props.edgeAgentCount ?? 1, 1, 1000) : 0;
    const drain = agentDrainOf(this, props.agentDrainSeconds);
    if (internet.includes("web") && !withEdge) fail(this, "internetIngress", internet, `services this stack runs: "web" is marathon-lb on the edge pool (discovery "dns+lb"; it is "${this.discovery}")`);

    if (props.trustedLaunch !== undefined && (props.target !== undefined || cloud !== "azure")) {
      fail(this, "trustedLaunch", props.trustedLaunch, props.target ? "unset with your own target (set it on the AzureTarget)" : "unset on aws (Trusted Launch is an Azure feature)");
    }
    if (props.deployerCidrs !== undefined && (props.target !== undefined || cloud !== "azure")) {
      fail(this, "deployerCidrs", props.deployerCidrs, props.target ? "unset with your own target (set it on the AzureTarget)" : "unset on aws (the Key Vaults' network rules; in a config file, put it in the azure section)");
    }
    if (props.secretsKmsKeyArn !== undefined && (props.target !== undefined || cloud !== "aws")) {
      fail(this, "secretsKmsKeyArn", props.secretsKmsKeyArn, props.target ? "unset with your own target (set it on the AwsTarget)" : "unset on azure (a KMS key of AWS Systems Manager parameters)");
    }
    this.target = props.target
      ? props.target(this)
      : cloud === "azure"
        ? new (loadAzureTarget())(this, "azure", {
            clusterName,
            location: props.region,
            zones: props.zones,
            addressSpace: props.addressSpace,
            masterSubnetCidr: single(this, "masterSubnetCidrs", props.masterSubnetCidrs),
            agentSubnetCidr: single(this, "agentSubnetCidrs", props.agentSubnetCidrs),
            sshPublicKey: props.sshPublicKey,
            trustedLaunch: props.trustedLaunch,
            deployerCidrs: props.deployerCidrs,
          })
        : new (loadAwsTarget())(this, "aws", {
            clusterName,
            region: props.region,
            zones: props.zones,
            addressSpace: props.addressSpace,
            masterSubnetCidrs: props.masterSubnetCidrs,
            agentSubnetCidrs: props.agentSubnetCidrs,
            sshPublicKey: props.sshPublicKey,
            secretsKmsKeyArn: props.secretsKmsKeyArn,
          });
    const sizes = DEFAULT_VM_SIZES[this.target.cloud];
    applyBackend(this, props.backend, this.target.cloud, this.target.clusterName);

    this.masters = new NodeGroup(this, "masters", {
      target: this.target,
      count: masterCount,
      // A public IP only when something may reach it (AWS FSBP EC2.9). Adding or removing one later is an
      // in-place NIC update on Azure, a replacement of every master on AWS (associate_public_ip_address
      // is ForceNew); there, without one, the master subnets route through the NAT gateway and
      // Session Manager is the admin path (output master_session_commands). "web" opens the edge pool,
      // never the masters.
      publicIp: this.adminCidrs.length > 0 || internet.some((service) => service !== "web"),
      vmSize: props.masterVmSize ?? sizes.master,
      dataDiskGb: props.masterDataDiskGb,
      dockerEngineVersion: props.masterDockerEngineVersion,
    });
    this.zookeeper = new ZookeeperEnsemble(this, "zookeeper", { nodes: this.masters, image: images.zookeeper });
    const credentials = (service: string): HttpCredentials | undefined =>
      this.auth ? { username, password: this.password(service, passwordSource) } : undefined;
    // With auth, the masters and Marathon also authenticate to ZooKeeper (digest), so that only they can
    // change /mesos and /marathon. Machine-only passwords: always generated, whatever authPasswords says.
    const zookeeperCredentials = (service: "mesos" | "marathon"): ZookeeperCredentials | undefined =>
      this.auth ? { username: service, password: this.password(`${service}-zk`, "generated") } : undefined;
    // Without Swarm, with auth, only Marathon may register as a framework (v0 CRAM-MD5); machine-only secret.
    const withSwarm = props.swarm ?? true;
    const frameworkCredentials: HttpCredentials | undefined =
      this.auth && !withSwarm ? { username: "marathon", password: this.password("marathon-framework", "generated") } : undefined;
    this.mesos = new MesosMasterGroup(this, "mesos", {
      nodes: this.masters,
      zookeeper: this.zookeeper,
      image: images.mesosMaster,
      credentials: credentials("mesos"),
      zookeeperCredentials: zookeeperCredentials("mesos"),
      frameworkCredentials: frameworkCredentials ? [frameworkCredentials] : undefined,
      // With auth, agents register only with the cluster's agent credential (machine-only secret).
      agentCredentials: this.auth ? { username: AGENT_PRINCIPAL, password: this.password("mesos-agent", "generated") } : undefined,
      requireAgentAuthentication: this.auth ? checkOneOf(this, "agentAuthentication", props.agentAuthentication ?? "require", ["accept", "require"]) === "require" : undefined,
      // Tasks run as nobody (Marathon's and Swarm's default user); an app asking for root gets TASK_ERROR.
      taskUsers: ["nobody"],
    });
    this.marathon = new MarathonService(this, "marathon", {
      masters: this.mesos,
      image: images.marathon,
      credentials: credentials("marathon"),
      zookeeperCredentials: zookeeperCredentials("marathon"),
      mesosAuthentication: frameworkCredentials,
      // With an edge pool Marathon also takes its offers; only apps that accept the role land there.
      mesosRole: withEdge ? EDGE_ROLE : undefined,
    });
    this.agents = new MesosAgentPool(this, "agents", {
      target: this.target,
      masters: this.mesos,
      count: agentCount,
      vmSize: props.agentVmSize ?? sizes.agent,
      image: images.mesosAgent,
      dockerEngineVersion: props.agentDockerEngineVersion,
      httpAuthentication: this.auth,
      drain,
    });
    if (withSwarm) {
      this.swarm = new SwarmManager(this, "swarm", {
        masters: this.mesos,
        agentPools: [this.agents],
        image: images.swarm,
        tls: props.swarmTls ?? this.auth,
        tlsClientNames: props.swarmClientNames,
      });
    } else if (internet.includes("swarm")) {
      fail(this, "internetIngress", internet, "services this stack runs: Swarm is off (swarm: false)");
    }

    if (props.apiTls ?? this.auth) this.tlsProxy = new MasterTlsProxy(this, "api-tls", { masters: this.mesos, marathon: this.marathon, swarm: this.swarm });

    this.checkExposure(internet, props.insecure ?? false);
    if (this.adminCidrs.length > 0) {
      const admins = Peer.cidrs(this.adminCidrs);
      this.masters.connections.allowFrom(admins, Port.tcp(22), "SSH from admin networks", "admin-ssh");
      // Behind TLS the TLS ports instead of 5050 and 8080 (inside the cluster those stay as they are).
      this.masters.connections.allowFrom(admins, Port.tcp(this.mesos.tls?.port ?? this.mesos.port), `Mesos UI and API${this.mesos.tls ? " over TLS" : ""} from admin networks`, "admin-mesos");
      this.masters.connections.allowFrom(admins, Port.tcp(this.marathon.tls?.port ?? this.marathon.httpPort), `Marathon UI and API${this.marathon.tls ? " over TLS" : ""} from admin networks`, "admin-marathon");
      if (this.swarm) this.masters.connections.allowFrom(admins, Port.tcp(this.swarm.apiPort), "Swarm API (DOCKER_HOST) from admin networks", "admin-swarm");
    }
    const internetPorts: Record<Exclude<InternetService, "web">, [number, string]> = {
      ssh: [22, "SSH"],
      mesos: [this.mesos.tls?.port ?? this.mesos.port, "Mesos UI and API"],
      marathon: [this.marathon.tls?.port ?? this.marathon.httpPort, "Marathon UI and API"],
      swarm: [this.swarm?.apiPort ?? 0, "Swarm API"],
    };
    for (const svc of internet) {
      if (svc === "web") continue;
      const [port, what] = internetPorts[svc];
      this.masters.connections.allowFrom(Peer.anyIpv4(), Port.tcp(port), `${what} from the internet (internetIngress)`, `internet-${svc}`);
    }

    // --- service discovery (issue 14) ---
    // Its rules take a range of their own where the cloud numbers rules (Azure NSG priorities): turning it
    // on renumbers no existing rule, and adding admin networks later renumbers none of its rules.
    const build = () => this.buildDiscovery(props, internet, edgeAgentCount, images, sizes.agent, drain);
    ({ dns: this.dns, edge: this.edge, marathonLb: this.marathonLb, marathonLbAddress: this.marathonLbAddress } = this.target.withRuleBand ? this.target.withRuleBand("discovery", build) : build());
    // --- end service discovery ---

    // --- operating the cluster (issue 7) ---
    const gate = checkOneOf(this, "readinessGate", props.readinessGate ?? "auto", ["auto", "on", "off"]);
    if (gate === "on" || (gate === "auto" && this.adminCidrs.length > 0)) {
      this.readinessGate = new ClusterReadinessGate(this, "readiness", { mesos: this.mesos, marathon: this.marathon, swarm: this.swarm, agentPools: this.agentPools });
    }
    const exampleNames = props.exampleApps ?? [];
    if (exampleNames.length > 0 && this.agents.count === 0) fail(this, "exampleApps", exampleNames, "none while agentCount is 0 (apps need agents to run on)");
    this.exampleApps = [...new Set(exampleNames)].map((name) => {
      checkOneOf(this, "exampleApps", name, Object.keys(EXAMPLE_APPS));
      return EXAMPLE_APPS[name](this, { marathon: this.marathon, agents: this.agents, marathonLb: this.marathonLb });
    });
    this.output("mesos_agent_count", this.agentPools.reduce((sum, p) => sum + p.count, 0), "Agents the pools run, the edge pool's included (what npm run smoke expects registered)");
    // --- end operating the cluster ---

    this.output("master_private_ips", this.masters.privateIps, "Static private IPs of the masters");
    if (this.masters.publicIps.length > 0) {
      this.output("master_public_ips", this.masters.publicIps, "Public IPs of the masters (closed unless adminCidrs open them)");
    }
    const sessions = this.target.sessionCommands?.(this.masters.resources) ?? [];
    if (sessions.length > 0) {
      this.output(
        "master_session_commands",
        Object.fromEntries(this.masters.machines.map((m, i) => [m.name, sessions[i]])),
        "A shell on each master through SSM Session Manager (AWS CLI and its Session Manager plugin; no public IP or open port needed)",
      );
    }
    this.output("zookeeper_connect_string", this.zookeeper.connectString, "ZooKeeper connect string");
    this.output("mesos_zk_url", this.mesos.zkUrl, "zk:// URL of the Mesos masters");
    this.output("mesos_url", this.mesos.clientUrls[0], "Mesos master UI/API (any master redirects to the leader)");
    this.output("mesos_urls", this.mesos.clientUrls, "Every Mesos master");
    this.output("marathon_url", this.marathon.clientUrls[0], "Marathon UI/API (any instance proxies to the leader)");
    this.output("marathon_urls", this.marathon.clientUrls, "Every Marathon instance");
    if (this.tlsProxy) this.output("tls_ca_pem", this.tlsProxy.caCertPem, "CA of the https URLs of Mesos and Marathon (curl --cacert, npm run smoke)");
    if (this.swarm) {
      this.output("docker_host", this.swarm.dockerHost, "DOCKER_HOST for the Swarm manager");
      this.output("docker_tls_verify", this.swarm.tlsCertificates ? "1" : "0", "DOCKER_TLS_VERIFY for the Swarm API");
    } else {
      this.output("swarm", "off", "This cluster runs no Swarm manager (swarm: false); npm run smoke leaves its step out");
    }
    const tls = this.swarm?.tlsCertificates;
    if (tls) {
      this.output("swarm_ca_pem", tls.caCertPem, "CA of the Swarm API (DOCKER_CERT_PATH/ca.pem)");
      this.output("swarm_client_cert_pem", tls.clientCertPem, "Client certificate (DOCKER_CERT_PATH/cert.pem)", true);
      this.output("swarm_client_key_pem", tls.clientKeyPem, "Client key (DOCKER_CERT_PATH/key.pem)", true);
      // Every admin's certificate and key, by name (the first is also swarm_client_*_pem above).
      this.output("swarm_clients", Object.fromEntries(tls.clients.map((c) => [c.name, { cert_pem: c.certPem, key_pem: c.keyPem }])), "Client certificate and key per admin name (swarmClientNames)", true);
    }
    for (const [service, creds] of [["marathon", this.marathon.credentials], ["mesos", this.mesos.credentials]] as const) {
      if (!creds) continue;
      this.output(`${service}_username`, creds.username, `User name of the ${service} HTTP API`);
      this.output(`${service}_password`, creds.password, `Password of the ${service} HTTP API`, true);
    }
    for (const [service, creds] of [["mesos", this.mesos.zookeeperCredentials], ["marathon", this.marathon.zookeeperCredentials]] as const) {
      if (!creds) continue;
      this.output(`${service}_zk_username`, creds.username, `ZooKeeper digest user of ${service} (zkCli: addauth digest USER:PASSWORD)`);
      this.output(`${service}_zk_password`, creds.password, `ZooKeeper digest password of ${service}`, true);
    }
    // What npm run endpoints and smoke read. The edge agents are a pool whose addresses Terraform does not
    // know: marathon_lb_hosts is empty, and the tools find them in Mesos (agents of role slave_public).
    // marathon_lb_address, the AWS load balancer, serves 80 and 443 only (not the service ports the tools use).
    this.output(
      "discovery",
      {
        mode: this.discovery,
        ...(this.dns ? { domain: this.dns.domain, dns_servers: this.dns.serverIps } : {}),
        ...(this.marathonLb ? { marathon_lb_hosts: [], marathon_lb_group: this.marathonLb.group, marathon_lb_service_ports: this.marathonLb.servicePorts } : {}),
        ...(this.marathonLbAddress ? { marathon_lb_address: this.marathonLbAddress } : {}),
      },
      "Service discovery: Mesos-DNS's domain and servers (<app>.marathon.<domain> A, _<app>._tcp.marathon.<domain> SRV), marathon-lb's group and service ports, and on AWS the load balancer in front of its 80 and 443 when opened; npm run endpoints reads it",
    );
    this.output("ssh_user", this.target.adminUsername, "SSH login user");
    registerClusterName(this, this.target.clusterName, this.target.cloud);
  }

  /**
   * Mesos-DNS serving the agents, and with `dns+lb` the edge pool (served
   * too), marathon-lb on it and its web openings: admin networks, and the
   * internet when `internetIngress` names `web` (never 9090, marathon-lb's
   * unauthenticated stats and signals). Azure gives the edge agents public
   * IPs for them; on AWS they stay in the private agent subnets, behind a
   * Network Load Balancer ({@link MarathonLb.exposeThroughLoadBalancer}).
   */
  private buildDiscovery(
    props: MesosClusterStackProps,
    internet: InternetService[],
    edgeAgentCount: number,
    images: ClusterImages,
    defaultVmSize: string,
    drain: AgentDrainOptions | undefined,
  ): { dns?: MesosDns; edge?: MesosAgentPool; marathonLb?: MarathonLb; marathonLbAddress?: string } {
    if (this.discovery === "off") return {};
    const dns = new MesosDns(this, "dns", { masters: this.mesos, image: images.mesosDns });
    dns.serve(this.agents);
    if (this.discovery !== "dns+lb") return { dns };
    const web = internet.includes("web") || this.adminCidrs.length > 0;
    const edge = new MesosAgentPool(this, "edge", {
      target: this.target,
      masters: this.mesos,
      name: "edge",
      role: EDGE_ROLE,
      count: edgeAgentCount,
      vmSize: props.edgeVmSize ?? defaultVmSize,
      image: images.mesosAgent,
      dockerEngineVersion: props.agentDockerEngineVersion,
      httpAuthentication: this.auth,
      // Azure: a public IP per edge agent only when 80/443 open beyond the cluster (the NAT gateway keeps outbound).
      publicIp: web && this.target.cloud === "azure",
      drain,
    });
    dns.serve(edge);
    const marathonLb = new MarathonLb(this, "marathon-lb", { marathon: this.marathon, edgePool: edge, image: images.marathonLb });
    const from: Peer[] = [];
    if (this.adminCidrs.length > 0) from.push(Peer.cidrs(this.adminCidrs));
    if (internet.includes("web")) from.push(Peer.anyIpv4());
    if (this.adminCidrs.length > 0) marathonLb.allowWebFrom(from[0], "marathon-lb HTTP(S) from admin networks", "admin-web");
    if (internet.includes("web")) marathonLb.allowWebFrom(from[from.length - 1], "marathon-lb HTTP(S) from the internet (internetIngress)", "internet-web");
    // AWS: the edge agents stay in the private agent subnets (answers would leave through the NAT gateway);
    // a Network Load Balancer in the public subnets takes 80 and 443 to them.
    const marathonLbAddress = web && this.target.cloud === "aws" ? marathonLb.exposeThroughLoadBalancer(from).address : undefined;
    return { dns, edge, marathonLb, marathonLbAddress };
  }

  /** Every agent pool of the cluster: the agents, and the edge pool with discovery `dns+lb`. */
  public get agentPools(): MesosAgentPool[] {
    return this.edge ? [this.agents, this.edge] : [this.agents];
  }

  private output(name: string, value: unknown, description: string, sensitive = false): void {
    new TerraformOutput(this, `output-${name}`, { value, description, sensitive }).overrideLogicalId(name);
  }

  /**
   * Refuses an opening to admin networks or the internet of a service whose
   * authentication is off (anyone on those networks could run tasks: root
   * on the agents), or of Mesos and Marathon over plain HTTP while TLS is
   * off (their basic auth in clear text), unless `insecure` accepts it; then
   * warns once per service.
   */
  private checkExposure(internet: InternetService[], insecure: boolean): void {
    const unprotected: Record<InternetService, string | undefined> = {
      ssh: undefined,
      mesos: this.auth ? undefined : "the Mesos API (auth is off)",
      marathon: this.auth ? undefined : "Marathon (auth is off)",
      swarm: this.swarm?.tlsCertificates ? undefined : "the Swarm API (swarmTls is off)",
      // The apps marathon-lb serves are the user's, opted in one by one (HAPROXY_GROUP).
      web: undefined,
    };
    // With auth but without TLS, the basic-auth credentials would cross those networks in clear text.
    const plain: Record<InternetService, string | undefined> = {
      ssh: undefined,
      mesos: this.auth && !this.mesos.tls ? "the Mesos API over plain HTTP (apiTls is off)" : undefined,
      marathon: this.auth && !this.marathon.tls ? "Marathon over plain HTTP (apiTls is off)" : undefined,
      swarm: undefined,
      web: undefined,
    };
    const openings: [string, string[], InternetService[]][] = [
      ["adminCidrs", this.adminCidrs, this.adminCidrs.length > 0 ? ["mesos", "marathon", ...(this.swarm ? ["swarm" as const] : [])] : []],
      ["internetIngress", internet, internet],
    ];
    for (const [property, value, services] of openings) {
      const pick = (reasons: Record<InternetService, string | undefined>) => [...new Set(services)].map((svc) => reasons[svc]).filter((x): x is string => x !== undefined);
      const open = pick(unprotected);
      const clear = pick(plain);
      if (open.length === 0 && clear.length === 0) continue;
      if (!insecure) {
        const why = [
          open.length > 0
            ? `openings of authenticated services only: ${open.join(", ")} would serve anyone on those networks (turn on auth: CLUSTER_AUTH=on, and swarmTls; or accept it with insecure: true, CLUSTER_INSECURE=on)`
            : "",
          clear.length > 0
            ? `openings over TLS only: ${clear.join(", ")} would carry basic-auth credentials in clear text (turn on apiTls; or accept it with insecure: true, CLUSTER_INSECURE=on)`
            : "",
        ];
        fail(this, property, value, why.filter(Boolean).join("; "));
      }
      for (const what of open) Annotations.of(this).addWarning(`${this.node.path}: ${property} opens ${what} without authentication (insecure: true)`);
      for (const what of clear) Annotations.of(this).addWarning(`${this.node.path}: ${property} opens ${what}: basic-auth credentials in clear text (insecure: true)`);
    }
  }

  /** A generated password (random provider) or a sensitive variable with its own validation. */
  private password(service: string, source: PasswordSource): string {
    if (source === "variables") {
      const variable = new TerraformVariable(this, `variable-${service}-password`, {
        type: "string",
        sensitive: true,
        description: `Password of the ${service} HTTP API (TF_VAR_${service}_password)`,
        validation: [
          {
            condition: `can(regex("^[A-Za-z0-9._~-]{16,128}$", var.${service}_password))`,
            errorMessage: "16-128 characters: letters, digits, '.', '_', '~' and '-'.",
          },
        ],
      });
      variable.overrideLogicalId(`${service}_password`);
      return variable.stringValue;
    }
    ensureRandomProvider(this);
    // Letters and digits only: the password travels through shell, JSON and user:password forms.
    return new Password(this, `${service}-password`, { length: 32, special: false }).result;
  }
}

/*
 * Each target pulls in its provider's resource classes (tens of milliseconds
 * to load); a synth for one cloud loads only that cloud's.
 */
function loadAzureTarget(): typeof AzureTargetClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("../constructs/cloud/azure") as typeof import("../constructs/cloud/azure")).AzureTarget;
}

function loadAwsTarget(): typeof AwsTargetClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("../constructs/cloud/aws") as typeof import("../constructs/cloud/aws")).AwsTarget;
}

/** The pools' drain from `agentDrainSeconds` (0: off); undefined leaves it to the pools. The cloud's most is checked by its target. */
function agentDrainOf(scope: Construct, seconds: number | undefined): AgentDrainOptions | undefined {
  if (seconds === undefined) return undefined;
  checkInteger(scope, "agentDrainSeconds", seconds, 0);
  return seconds === 0 ? { enabled: false } : { enabled: true, timeoutSeconds: seconds };
}

function checkAdminCidrs(scope: Construct, cidrs: string[]): string[] {
  if (!Array.isArray(cidrs)) fail(scope, "adminCidrs", cidrs, "a list of IPv4 CIDR blocks");
  const whole = "a block narrower than the whole internet (to open a service to everyone, name it in internetIngress)";
  const v4: Cidr[] = [];
  const v6: { index: number; block: Ipv6Block }[] = [];
  cidrs.forEach((c, i) => {
    const parsed = Cidr.tryParse(c);
    const ipv6 = parsed ? undefined : parseIpv6Cidr(c);
    if (!parsed && !ipv6) fail(scope, `adminCidrs[${i}]`, c, "an IPv4 CIDR block such as 203.0.113.0/24 (no host bits set)");
    if (parsed?.prefixLength === 0) fail(scope, `adminCidrs[${i}]`, c, whole);
    if (ipv6?.prefixLength === 0) fail(scope, `adminCidrs[${i}]`, c, `${whole}; ::/0 is the whole IPv6 internet`);
    if (parsed) v4.push(parsed);
    if (ipv6) v6.push({ index: i, block: ipv6 });
  });
  // The whole internet spelled as several blocks (0.0.0.0/1 and 128.0.0.0/1, four /2 quarters, ::/1 and 8000::/1).
  if (v4.length > 1 && coversAll(v4.map(ipv4Range), 2n ** 32n - 1n)) {
    fail(scope, "adminCidrs", cidrs, `${whole}: together these blocks cover 0.0.0.0/0`);
  }
  if (v6.length > 1 && coversAll(v6.map((b) => b.block), 2n ** 128n - 1n)) {
    fail(scope, "adminCidrs", cidrs, `${whole}: together these blocks cover ::/0, the whole IPv6 internet`);
  }
  if (v6.length > 0) fail(scope, `adminCidrs[${v6[0].index}]`, cidrs[v6[0].index], "an IPv4 CIDR block such as 203.0.113.0/24 (the cluster's networks and rules are IPv4 only)");
  const addresses = v4.reduce((sum, c) => sum + c.size, 0);
  if (addresses > 2 ** 24) {
    warn(scope, `adminCidrs cover ${addresses} addresses, more than a /8 (${(addresses / 2 ** 32 * 100).toFixed(1)}% of the internet): are all of them your networks?`, "adminCidrs");
  }
  const bridge = Cidr.parse(DOCKER_DEFAULT_BRIDGE);
  for (const c of v4.filter((block) => block.overlaps(bridge))) {
    warn(scope, `adminCidrs ${c.toString()} overlaps ${DOCKER_DEFAULT_BRIDGE}, Docker's default bridge (docker0) on every machine: answers to those addresses go to docker0, not back to you`, "adminCidrs");
  }
  return [...cidrs];
}

/**
 * The cluster name: the one given, or `mesos-<stack id>`. A default that
 * breaks the name rules says it came from the stack id and which limit it
 * broke; a name another stack of the app already uses on the same cloud is
 * refused (their resource names, state keys and outputs would collide).
 */
function checkClusterName(scope: Construct, id: string, given: string | undefined, cloud: CloudName): string {
  const name = given ?? `mesos-${id}`;
  if (given === undefined && !isUnresolved(name) && !NAME_PATTERN.test(name)) {
    fail(
      scope,
      "clusterName",
      name,
      `${NAME_ALLOWED}; the default is mesos-<stack id>, and stack id ${JSON.stringify(id)} makes it ${name.length} characters${name.length > 24 ? ", over the 24 of a cluster name (names derived from it must fit the clouds' limits: Azure Key Vault names 24 characters, Azure VM and scale set names and AWS IAM role names 64)" : ""}: pass clusterName, or use a shorter stack id of lower-case letters, digits and '-'`,
    );
  }
  checkPattern(scope, "clusterName", name, NAME_PATTERN, NAME_ALLOWED);
  const taken = CLUSTER_NAMES.get(scope.node.root)?.get(`${cloud}/${name}`);
  if (taken !== undefined) {
    fail(scope, "clusterName", name, `a name no other stack of this app uses on ${cloud} (stack ${taken} is ${name}: resource names, the state key and outputs would collide)`);
  }
  return name;
}

/** Cluster names of the stacks of an app, per cloud: `azure/mesos-ha` -> stack path. */
const CLUSTER_NAMES = new WeakMap<object, Map<string, string>>();

function registerClusterName(stack: Construct, name: string, cloud: CloudName): void {
  const names = CLUSTER_NAMES.get(stack.node.root) ?? new Map<string, string>();
  names.set(`${cloud}/${name}`, stack.node.path);
  CLUSTER_NAMES.set(stack.node.root, names);
}

/** Settings that only matter with authentication on: said once when auth is off, not silently ignored. */
function warnAuthSettingsUnused(scope: Construct, props: MesosClusterStackProps): void {
  if (props.authPasswords === "variables") {
    warn(scope, "authPasswords \"variables\" has no effect while auth is off: no password variable is declared and Marathon and Mesos stay open (turn auth on, CLUSTER_AUTH=on)", "authPasswords");
  }
  if (props.authUsername !== undefined) {
    warn(scope, `authUsername ${JSON.stringify(props.authUsername)} has no effect while auth is off (turn auth on, CLUSTER_AUTH=on)`, "authUsername");
  }
}

/** Edge settings that only matter with discovery `dns+lb`: said once, not silently ignored. */
function warnEdgeSettingsUnused(scope: Construct, props: MesosClusterStackProps): void {
  for (const property of ["edgeAgentCount", "edgeVmSize"] as const) {
    if (props[property] !== undefined) {
      warn(scope, `${property} ${JSON.stringify(props[property])} has no effect while discovery is not "dns+lb" (no edge pool; CLUSTER_DISCOVERY=dns+lb)`, property);
    }
  }
}

function single(scope: Construct, prop: string, list: string[] | undefined): string | undefined {
  if (list === undefined) return undefined;
  if (list.length !== 1) fail(scope, prop, list, "exactly one subnet on Azure (subnets are regional)");
  return list[0];
}
