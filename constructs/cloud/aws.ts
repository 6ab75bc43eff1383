/**
 * The AWS cloud target: the only file (with ssh-key.ts for the tls provider)
 * that knows aws resources.
 */
import { ITerraformDependable, Lazy, TerraformResource, TerraformStack, Token } from "cdktf";
import { Construct, IConstruct } from "constructs";
import { AutoscalingAttachment } from "@cdktf/provider-aws/lib/autoscaling-attachment";
import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { AutoscalingLifecycleHook } from "@cdktf/provider-aws/lib/autoscaling-lifecycle-hook";
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { KeyPair } from "@cdktf/provider-aws/lib/key-pair";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { VolumeAttachment } from "@cdktf/provider-aws/lib/volume-attachment";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Cidr } from "../core/net";
import { CidrPeer, GroupPeer, IngressRule, SecurityGroupRef } from "../core/network-rules";
import { checkInteger, checkPattern, fail, isUnresolved, NAME_ALLOWED, NAME_PATTERN } from "../core/validation";
import { highestFreeBlock, planAddresses } from "./address-plan";
import { AWS_REGIONS, didYouMean } from "./regions";
import { awsInstanceType } from "./vm-sizes-aws";
import { VmSizeInfo } from "./vm-sizes";
import { awsSecretFetcher, ssmPrefix } from "./secret-fetchers/aws";
import { POOL_MIN_HEALTHY_PERCENT, POOL_WARMUP_SECONDS } from "./pool-rolling";
import { resolveSshKey, SshKey } from "./ssh-key";
import { hasProvider } from "../core/providers";
import {
  CloudTarget,
  ClusterNetwork,
  ClusterSecret,
  EdgeExposure,
  EdgeExposureSpec,
  MachineGroupResources,
  MachineGroupSpec,
  PoolDrainNotice,
  PoolDrainSpec,
  checkDrainTimeout,
  PoolResources,
  PoolSpec,
  SubnetRef,
  UserDataPolicy,
} from "./target";

/** A VPC the user already has (bring your own network). */
export interface AwsExistingNetwork {
  readonly vpcId: string;
  /** CIDR blocks of the VPC. */
  readonly addressSpace: string[];
  /** Subnets for masters, one per zone, each with its literal CIDR and zone. */
  readonly masterSubnets: SubnetRef[];
  /** Subnets for agents (with a route to the internet for image pulls). */
  readonly agentSubnets: SubnetRef[];
  /**
   * Public subnets (routed to an internet gateway), one in each zone of the
   * agent subnets, each with its literal CIDR (/28 or larger) and zone and
   * at least 8 free addresses: where the edge pool's Network Load Balancer
   * goes when 80/443 are opened beyond the VPC (exposeEdge). Not needed
   * otherwise.
   * @default none: exposeEdge is refused
   */
  readonly publicSubnets?: SubnetRef[];
}

/** Properties of an {@link AwsTarget}. */
export interface AwsTargetProps {
  /** Cluster name: prefix of every resource name. */
  readonly clusterName: string;
  /** AWS region. @default "eu-west-1" */
  readonly region?: string;
  /** Availability zones to spread over. @default the region's a, b and c */
  readonly zones?: string[];
  /** VPC CIDR (ignored with `existingNetwork`). @default "10.20.0.0/16" */
  readonly addressSpace?: string;
  /**
   * Master subnets, one per zone: private (out through the NAT gateway)
   * unless a machine group placed in one asks for public IPs, which makes
   * that subnet public (routed to the internet gateway).
   * @default carved from addressSpace (10.20.0.0/24, 10.20.1.0/24, ...)
   */
  readonly masterSubnetCidrs?: string[];
  /** Agent (private) subnets, one per zone. @default carved from addressSpace (10.20.16.0/20, 10.20.32.0/20, ...) */
  readonly agentSubnetCidrs?: string[];
  /**
   * The public subnet that holds the NAT gateway, in the first zone.
   * @default the highest /28 of addressSpace that overlaps no master or agent subnet (10.20.255.240/28)
   */
  readonly publicSubnetCidr?: string;
  /**
   * Use an existing VPC instead of creating one. Its subnets are used as
   * given: their routes (NAT, internet gateway, VPC endpoints for SSM) are
   * yours to decide.
   * @default a new VPC, subnets, NAT gateway
   */
  readonly existingNetwork?: AwsExistingNetwork;
  /**
   * SSM Session Manager as the admin path to fixed machines (masters): their
   * instance profile may register with Systems Manager and open session
   * channels (ssm:UpdateInstanceInformation, ssmmessages:*Channel), nothing
   * more; Ubuntu's AMIs ship the agent. Pools (agents) never get it.
   * @default true
   */
  readonly sessionManager?: boolean;
  /**
   * ARN of a customer managed KMS key (symmetric, in this region) that
   * encrypts the cluster's SSM SecureString parameters. Every role that
   * reads them is allowed kms:Decrypt on exactly this key, only through SSM
   * (kms:ViaService). Without it, the AWS managed key aws/ssm, which every
   * principal of the account may use.
   * @default the AWS managed key aws/ssm
   */
  readonly secretsKmsKeyArn?: string;
  /**
   * Admin SSH public key.
   * @default a generated RSA key, its private half a sensitive output
   */
  readonly sshPublicKey?: string;
  /**
   * AMI of every machine. Without it the newest Ubuntu 22.04 AMI is looked up
   * and masters ignore later AMI changes (a new AMI must not replace a quorum
   * member behind your back); set it to roll masters on purpose.
   * @default the newest Canonical Ubuntu 22.04 amd64 AMI
   */
  readonly amiId?: string;
  /** Tags on every resource. @default cluster and managed-by tags */
  readonly tags?: Record<string, string>;
}

/** The data volume's attachment name; the NVMe device is found by its model, not this name. */
const DATA_DEVICE_NAME = "/dev/sdf";
const CANONICAL_OWNER = "099720109477";

/** AWS: VPC with master and agent subnets per zone and a public subnet for the NAT gateway, security groups, instances with static IPs, an auto scaling group. */
export class AwsTarget extends Construct implements CloudTarget {
  public readonly cloud = "aws" as const;
  public readonly clusterName: string;
  public readonly region: string;
  public readonly network: ClusterNetwork;
  public readonly adminUsername = "ubuntu";
  /** AWS counts user data before base64: 16 KB. */
  public readonly userDataPolicy: UserDataPolicy = { limitBytes: 16 * 1024, machineBase64: false, poolBase64: true };
  public readonly dataDiskLocator = [
    "# Xen instances name it as attached; Nitro instances show an NVMe disk whose model is EBS.",
    `if [ -b /dev/xvdf ]; then echo /dev/xvdf; exit 0; fi`,
    'root_disk=$(lsblk -no PKNAME "$(findmnt -no SOURCE /)")',
    "lsblk -dnpo NAME,MODEL | awk -v root=\"/dev/$root_disk\" '$1 != root && /Elastic Block Store/ { print $1; exit }'",
  ].join("\n");
  /** Escape hatch: the VPC id (a token when created here). */
  public readonly vpcId: string;
  /**
   * The Route 53 Resolver: "located at 169.254.169.253 (IPv4), fd00:ec2::253
   * (IPv6), and at the primary private IPV4 CIDR range provisioned to your VPC
   * plus two" (docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html).
   * The VPC-plus-two address (10.20.0.2 for 10.20.0.0/16): the one the VPC's
   * default DHCP options hand every instance ("AmazonProvidedDNS"), so the
   * machines already resolve through it. With `existingNetwork`, its first
   * `addressSpace` block must be the VPC's primary CIDR.
   */
  public readonly resolverAddress: string;
  public readonly sshKey: SshKey;
  private readonly keyName: string;
  private readonly imageId: string;
  private readonly pinnedAmi: boolean;
  private readonly tags: Record<string, string>;
  private instanceProfile?: IamInstanceProfile;
  private machineRole?: IamRole;
  private secretsPolicy?: IamRolePolicy;
  private sessionPolicy?: IamRolePolicy;
  /** Session Manager on fixed machines (props.sessionManager). */
  public readonly sessionManager: boolean;
  /** The customer managed key of the SSM parameters, if any. */
  public readonly secretsKmsKeyArn?: string;
  /** Per master subnet this target created (by id): whether its machines asked for public IPs. */
  private readonly subnetPublic = new Map<string, { publicIp: boolean; group: string; cidr: string }>();
  /** False with an existing network: its subnets' routes are the user's. */
  private readonly routesMasterSubnets: boolean;
  /** The way out of the master subnets (routes, associations, NAT gateway): machines boot after it exists. */
  private readonly egress: ITerraformDependable[] = [];
  private readonly secretNames = new Set<string>();
  /** The SSM parameter of each stored secret, by name (pools are granted exactly these ARNs). */
  private readonly parameters = new Map<string, SsmParameter>();
  /** Per pool: where its identity goes, the parameters it may read (no identity until it reads one or drains), and where it is. */
  private readonly poolAccess = new Map<TerraformResource, PoolAccess>();
  /** Ports a load balancer of this target serves (its target groups are named `<cluster>-<port>`). */
  private readonly exposedPorts = new Set<number>();
  /** The public subnet of `zone` for an internet-facing load balancer (exposeEdge). */
  private readonly publicSubnetIn: (zone: string) => SubnetRef;
  /** Routes a load balancer in the public subnets waits for (the internet gateway route and the subnets' associations). */
  private readonly publicRouting: ITerraformDependable[] = [];

  public describeVmSize(size: string): VmSizeInfo | undefined {
    return awsInstanceType(size);
  }

  constructor(scope: Construct, id: string, props: AwsTargetProps) {
    super(scope, id);
    this.clusterName = checkPattern(this, "clusterName", props.clusterName, NAME_PATTERN, NAME_ALLOWED);
    const region = props.region ?? "eu-west-1";
    if (typeof region !== "string" || !/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region) || !(region in AWS_REGIONS)) {
      fail(this, "region", region, `an AWS region name such as eu-west-1 (the regions in constructs/cloud/regions.ts)${didYouMean(region, Object.keys(AWS_REGIONS))}`);
    }
    this.region = region;
    const known = AWS_REGIONS[region];
    if (known.partition && props.amiId === undefined) {
      fail(this, "region", region, `a region of the commercial partition, or amiId with an image of ${known.partition} (Canonical publishes Ubuntu there under another owner than ${CANONICAL_OWNER}, the one the AMI lookup names)`);
    }
    this.tags = { cluster: this.clusterName, "managed-by": "mesos-cluster-cdktf", ...(props.tags ?? {}) };
    const all = [...known.letters].map((l) => `${region}${l}`);
    if (props.zones === undefined && known.defaults.length === 0) {
      fail(
        this,
        "zones",
        props.zones,
        `zones named for ${region}: its zone letters differ by account (two of ${all.join(", ")}); list yours with aws ec2 describe-availability-zones --region ${region}`,
      );
    }
    const zones = props.zones ?? [...known.defaults].map((l) => `${region}${l}`);
    if (zones.length === 0 || new Set(zones).size !== zones.length) fail(this, "zones", zones, "one or more distinct availability zones");
    for (const z of zones) {
      if (!all.includes(z)) fail(this, "zones", z, `availability zones of ${region}: ${all.join(", ")}`);
    }

    const stack = TerraformStack.of(this);
    if (!hasProvider(stack, "aws")) {
      new AwsProvider(stack, "aws-provider", { region: this.region, defaultTags: [{ tags: this.tags }] });
    }
    this.sessionManager = props.sessionManager ?? true;
    this.secretsKmsKeyArn = props.secretsKmsKeyArn === undefined ? undefined : checkKmsKeyArn(this, props.secretsKmsKeyArn, region, known.partition ?? "aws");
    this.sshKey = resolveSshKey(this, "aws", props.sshPublicKey);
    const keyPair = new KeyPair(this, "key-pair", { keyName: `${this.clusterName}-admin`, publicKey: this.sshKey.publicKey });
    this.keyName = keyPair.keyName;

    if (props.amiId !== undefined) {
      this.imageId = checkPattern(this, "amiId", props.amiId, /^ami-[0-9a-f]{8,17}$/, "an AMI id such as ami-0123456789abcdef0");
      this.pinnedAmi = true;
    } else {
      const ami = new DataAwsAmi(this, "ubuntu", {
        mostRecent: true,
        owners: [CANONICAL_OWNER],
        filter: [
          { name: "name", values: ["ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"] },
          { name: "virtualization-type", values: ["hvm"] },
        ],
      });
      this.imageId = ami.id;
      this.pinnedAmi = false;
    }

    const existing = props.existingNetwork;
    if (existing) {
      planAddresses(this, {
        addressSpace: existing.addressSpace[0],
        zones,
        zonal: true,
        masterSubnetCidrs: existing.masterSubnets.map((s) => s.cidr),
        agentSubnetCidrs: existing.agentSubnets.map((s) => s.cidr),
      });
      existing.masterSubnets.forEach((s, i) => {
        if (s.zone !== zones[i]) fail(this, `existingNetwork.masterSubnets[${i}].zone`, s.zone, `the zone ${zones[i]} (zones in order)`);
      });
      this.vpcId = existing.vpcId;
      this.network = { addressSpace: existing.addressSpace, masterSubnets: existing.masterSubnets, agentSubnets: existing.agentSubnets, zones };
      this.publicSubnetIn = checkExistingPublicSubnets(this, existing);
      this.resolverAddress = vpcResolver(existing.addressSpace[0]);
      this.routesMasterSubnets = false;
      return;
    }
    this.routesMasterSubnets = true;

    const plan = planAddresses(this, {
      addressSpace: props.addressSpace ?? "10.20.0.0/16",
      zones,
      zonal: true,
      masterSubnetCidrs: props.masterSubnetCidrs,
      agentSubnetCidrs: props.agentSubnetCidrs,
      publicSubnet: true,
      publicSubnetCidr: props.publicSubnetCidr,
    });
    const vpc = new Vpc(this, "vpc", {
      cidrBlock: plan.addressSpace,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: `${this.clusterName}-vpc` },
    });
    this.vpcId = vpc.id;
    // The VPC's default group lets its members talk freely; emptied, it opens nothing if something lands in it.
    new DefaultSecurityGroup(this, "default-group", { vpcId: vpc.id, tags: { Name: `${this.clusterName}-default-closed` } });
    const igw = new InternetGateway(this, "igw", { vpcId: vpc.id, tags: { Name: `${this.clusterName}-igw` } });
    const subnets = (tier: "masters" | "agents" | "public", planned: { cidr: string; zone?: string }[]): SubnetRef[] =>
      planned.map((p, i) => {
        const s = new Subnet(this, `subnet-${tier}-${i + 1}`, {
          vpcId: vpc.id,
          cidrBlock: p.cidr,
          availabilityZone: p.zone,
          mapPublicIpOnLaunch: false,
          tags: { Name: `${this.clusterName}-${tier}-${p.zone}` },
        });
        return { id: s.id, cidr: p.cidr, zone: p.zone };
      });
    const masterSubnets = subnets("masters", plan.masters);
    const agentSubnets = subnets("agents", plan.agents);
    this.network = { addressSpace: [plan.addressSpace], masterSubnets, agentSubnets, zones };
    this.resolverAddress = vpcResolver(plan.addressSpace);

    // One small public subnet holds the NAT gateway; it alone routes to the internet gateway unless
    // machines ask for public IPs (EC2.9: no public address nobody asked for).
    const [publicSubnet] = subnets("public", [plan.public!]);
    const publicRoutes = new RouteTable(this, "public-routes", { vpcId: vpc.id, tags: { Name: `${this.clusterName}-public` } });
    const publicDefault = new Route(this, "public-default", { routeTableId: publicRoutes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id });
    const publicAssociation = new RouteTableAssociation(this, "public-routes-nat", { subnetId: publicSubnet.id, routeTableId: publicRoutes.id });
    this.publicRouting.push(publicDefault, publicAssociation);
    // An internet-facing load balancer (exposeEdge) needs a public subnet in every zone it serves (a
    // target in a zone the load balancer does not enable gets no traffic: Elastic Load Balancing User
    // Guide, "Availability Zones and load balancer nodes"): the NAT gateway's in the first zone, and,
    // made only then, the next highest free /28s for the others, routed like it. A /28 keeps 11 of its
    // 16 addresses (AWS reserves the first four and the last); an internet-facing Network Load Balancer
    // needs 8 free in each of its subnets (Network Load Balancers guide, "Availability Zones"), which the
    // NAT gateway's (one address taken) still has.
    const space = Cidr.parse(plan.addressSpace);
    const taken = [...plan.masters, ...plan.agents, plan.public!].map((p) => Cidr.parse(p.cidr));
    const publicByZone = new Map<string, SubnetRef>([[publicSubnet.zone!, publicSubnet]]);
    this.publicSubnetIn = (zone) => {
      const known = publicByZone.get(zone);
      if (known) return known;
      const index = zones.indexOf(zone);
      const cidr = highestFreeBlock(space, taken);
      if (!cidr) fail(this, "addressSpace", plan.addressSpace, `an address space with a free /28 for a public subnet in ${zone}, beside the master, agent and public subnets (the edge's load balancer has one in each zone of the edge pool)`);
      taken.push(cidr);
      const s = new Subnet(this, `subnet-public-${index + 1}`, {
        vpcId: vpc.id,
        cidrBlock: cidr.toString(),
        availabilityZone: zone,
        mapPublicIpOnLaunch: false,
        tags: { Name: `${this.clusterName}-public-${zone}` },
      });
      this.publicRouting.push(new RouteTableAssociation(this, `public-routes-lb-${index + 1}`, { subnetId: s.id, routeTableId: publicRoutes.id }));
      const ref = { id: s.id, cidr: cidr.toString(), zone };
      publicByZone.set(zone, ref);
      return ref;
    };
    const natIp = new Eip(this, "nat-ip", { domain: "vpc", tags: { Name: `${this.clusterName}-nat` } });
    const nat = new NatGateway(this, "nat", {
      allocationId: natIp.allocationId,
      subnetId: publicSubnet.id,
      tags: { Name: `${this.clusterName}-nat` },
      dependsOn: [igw, publicDefault, publicAssociation],
    });
    const privateRoutes = new RouteTable(this, "private-routes", { vpcId: vpc.id, tags: { Name: `${this.clusterName}-private` } });
    const privateDefault = new Route(this, "private-default", { routeTableId: privateRoutes.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id });
    agentSubnets.forEach((s, i) => new RouteTableAssociation(this, `private-routes-${i + 1}`, { subnetId: s.id, routeTableId: privateRoutes.id }));
    // A master subnet is public only when the machines placed in it asked for public IPs (known at
    // synth: groups come after the target); else it leaves through the NAT gateway like the agents.
    // The ids stay `public-routes-N`, so that an existing association changes its table in place
    // (route_table_id: ReplaceRouteTableAssociation, terraform-provider-aws
    // internal/service/ec2/vpc_route_table_association.go) rather than being recreated.
    const masterAssociations = masterSubnets.map(
      (s, i) =>
        new RouteTableAssociation(this, `public-routes-${i + 1}`, {
          subnetId: s.id,
          routeTableId: Lazy.stringValue({ produce: () => (this.subnetPublic.get(s.id)?.publicIp ? publicRoutes.id : privateRoutes.id) }),
        }),
    );
    // A master's first boot fetches Docker's key and packages: its way out exists first (the NAT
    // gateway is created "available": terraform-provider-aws internal/service/ec2/vpc_nat_gateway.go).
    this.egress.push(publicDefault, privateDefault, ...masterAssociations);
  }

  /** AWS names every group by a security group (instances carry it), whatever its members' addresses. */
  public createSecurityGroup(scope: IConstruct, id: string, name: string): SecurityGroupRef {
    const sg = new SecurityGroup(scope, id, {
      name,
      description: `Mesos cluster ${this.clusterName}: ${name}`,
      vpcId: this.vpcId,
      tags: { Name: name },
    });
    // Machines pull images and packages; inbound stays closed unless a rule opens it.
    new VpcSecurityGroupEgressRule(scope, `${id}-egress`, {
      securityGroupId: sg.id,
      ipProtocol: "-1",
      cidrIpv4: "0.0.0.0/0",
      description: "All outbound (images, packages)",
    });
    return { name, id: sg.id };
  }

  public allowIngress(scope: IConstruct, id: string, rule: IngressRule): void {
    const common = {
      securityGroupId: rule.to.id,
      ipProtocol: rule.port.protocol,
      fromPort: rule.port.from,
      toPort: rule.port.to,
      description: rule.description.slice(0, 255),
    };
    if (rule.from instanceof GroupPeer) {
      new VpcSecurityGroupIngressRule(scope, id, { ...common, referencedSecurityGroupId: rule.from.group.id });
      return;
    }
    // One rule per CIDR: the resource takes a single block.
    (rule.from as CidrPeer).cidrs.forEach((cidr, i) => {
      new VpcSecurityGroupIngressRule(scope, i === 0 ? id : `${id}-${i + 1}`, { ...common, cidrIpv4: cidr });
    });
  }

  public createMachines(scope: IConstruct, id: string, spec: MachineGroupSpec): MachineGroupResources {
    checkAwsInstanceType(scope, spec.vmSize);
    if (this.routesMasterSubnets) this.placeGroup(scope, spec);
    if (this.sessionManager) this.ensureSessionManagerPolicy();
    const instances: TerraformResource[] = [];
    const dataDisks: TerraformResource[] = [];
    const publicIps: string[] = [];
    for (const m of spec.machines) {
      const group = new Construct(scope, `${id}-${m.name}`);
      // Plain text reads best in reviews; near the limit it is gzipped into user_data_base64.
      const encoded = () => m.userData();
      const instance = new Instance(group, "instance", {
        ami: this.imageId,
        instanceType: spec.vmSize,
        subnetId: m.subnet.id,
        privateIp: m.privateIp,
        availabilityZone: m.zone,
        associatePublicIpAddress: spec.publicIp,
        vpcSecurityGroupIds: [spec.securityGroup.id],
        keyName: this.keyName,
        // The cluster's instance profile: Session Manager (unless turned off), and SSM GetParameter on
        // the cluster's path for machines that read secrets.
        iamInstanceProfile: Lazy.stringValue({
          produce: () => (this.instanceProfile && (this.sessionManager || spec.readsSecrets()) ? this.instanceProfile.name : undefined),
        }),
        userData: Lazy.stringValue({ produce: () => (encoded().encoding === "plain" ? encoded().value : undefined) }),
        userDataBase64: Lazy.stringValue({ produce: () => (encoded().encoding === "plain" ? undefined : encoded().value) }),
        // cloud-init applies a document once per instance: a changed document needs a new instance.
        userDataReplaceOnChange: true,
        metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { volumeSize: spec.osDiskGb, volumeType: "gp3", encrypted: true, deleteOnTermination: true },
        tags: { Name: m.name, role: spec.name },
        lifecycle: this.pinnedAmi ? undefined : { ignoreChanges: ["ami"] },
        dependsOn: this.egress.length > 0 ? this.egress : undefined,
      });
      instances.push(instance);
      if (spec.publicIp) publicIps.push(instance.publicIp);
      if (spec.dataDiskGb !== undefined) {
        const volume = new EbsVolume(group, "data-volume", {
          availabilityZone: m.zone,
          size: spec.dataDiskGb,
          type: "gp3",
          encrypted: true,
          tags: { Name: `${m.name}-data`, role: `${spec.name}-data` },
        });
        new VolumeAttachment(group, "data-volume-attachment", {
          deviceName: DATA_DEVICE_NAME,
          volumeId: volume.id,
          instanceId: instance.id,
          // The volume is mounted when a replaced master lets it go: detaching a mounted
          // volume can hang "busy"; stopping the instance first unmounts it cleanly
          // (terraform-provider-aws internal/service/ec2/ebs_volume_attachment.go).
          stopInstanceBeforeDetaching: true,
        });
        dataDisks.push(volume);
      }
    }
    return { instances, dataDisks, publicIps };
  }

  /**
   * Records whether a group's machines have public IPs in each master subnet
   * they use (the subnet's route table follows). Groups that disagree on one
   * subnet are refused: a machine without a public IP in a subnet routed to
   * the internet gateway has no way out (no image pulls), and one with a
   * public IP in a NAT subnet is unreachable at it.
   */
  private placeGroup(scope: IConstruct, spec: MachineGroupSpec): void {
    for (const m of spec.machines) {
      const placed = this.subnetPublic.get(m.subnet.id);
      if (placed && placed.publicIp !== spec.publicIp) {
        fail(
          scope,
          "publicIp",
          spec.publicIp,
          `${placed.publicIp} like group ${placed.group} in master subnet ${placed.cidr}: the subnet routes to the internet gateway when its machines have public IPs and through the NAT gateway when they have none, so machine groups in one subnet must agree`,
        );
      }
      if (!placed) this.subnetPublic.set(m.subnet.id, { publicIp: spec.publicIp, group: spec.name, cidr: m.subnet.cidr });
    }
  }

  /**
   * `aws ssm start-session` per instance of a fixed group (the AWS CLI with
   * its Session Manager plugin), or none when Session Manager is off.
   */
  public sessionCommands(resources: MachineGroupResources): string[] {
    if (!this.sessionManager) return [];
    return resources.instances.map((instance) => `aws ssm start-session --region ${this.region} --target ${(instance as Instance).id}`);
  }

  public get secretFetcherSource(): string {
    return awsSecretFetcher(this.region, this.clusterName);
  }

  public storeSecret(scope: IConstruct, id: string, name: string, value: string): ClusterSecret {
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(name)) fail(scope, "secret name", name, "lower-case letters, digits and '-', starting with a letter");
    if (this.secretNames.has(name)) fail(scope, "secret name", name, "a name not yet used by another secret of this cluster");
    this.secretNames.add(name);
    this.ensureSecretsPolicy();
    const parameter = new SsmParameter(scope, id, {
      name: `${ssmPrefix(this.clusterName)}${name}`,
      type: "SecureString",
      value,
      // Unset: the AWS managed key aws/ssm.
      keyId: this.secretsKmsKeyArn,
      description: `Mesos cluster ${this.clusterName}: ${name}`,
    });
    this.parameters.set(name, parameter);
    return { name };
  }

  /**
   * A role and instance profile of the pool's own (`<cluster>-pool-<pool>`),
   * allowed `ssm:GetParameter` on exactly the ARNs of the parameters it reads
   * (the parameter resource's `arn`: this account, this region, this name; no
   * wildcard). The pool's launch template carries the profile; a pool that
   * neither reads a secret nor drains has none. The parameters stay under the cluster's prefix,
   * which the masters' role covers as before.
   */
  public allowPoolSecret(pool: PoolResources, secret: ClusterSecret): void {
    const access = this.accessOf(pool);
    const parameter = this.parameters.get(secret.name);
    if (!parameter) fail(access.scope, "secret", secret.name, `a secret stored in ${this.node.path} (storeSecret) before a pool reads it`);
    if (access.parameters.includes(parameter)) return;
    access.parameters.push(parameter);
    // One policy lists them all (rendered at synth).
    if (access.parameters.length > 1) return;
    new IamRolePolicy(access.scope, `${access.id}-role-secrets`, {
      name: "read-pool-secrets",
      role: this.poolRole(access).id,
      // Rendered at synth: every secret the pool's roles asked for, by its exact ARN.
      policy: Lazy.stringValue({
        produce: () =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "ssm:GetParameter", Resource: access.parameters.map((p) => p.arn) }, ...this.kmsStatements()],
          }),
      }),
    });
  }

  /**
   * The pool's drain: a lifecycle hook `drain` on its group for
   * `autoscaling:EC2_INSTANCE_TERMINATING`, heartbeat timeout the bound plus
   * the margin (30 to 7200 s: terraform-provider-aws
   * internal/service/autoscaling/lifecycle_hook.go), default result CONTINUE
   * (a terminating instance goes either way; ABANDON would also skip other
   * hooks: EC2 Auto Scaling User Guide, "Amazon EC2 Auto Scaling lifecycle
   * hooks"). A resource of its own: the group's `initial_lifecycle_hook` is ForceNew
   * (internal/service/autoscaling/group.go), which would replace every agent
   * of a running pool. On the pool's own role,
   * `autoscaling:CompleteLifecycleAction` on exactly this group's ARN (an
   * action with the autoScalingGroup resource type: Service Authorization
   * Reference, Amazon EC2 Auto Scaling). A member reads the notice at
   * `autoscaling/target-lifecycle-state` of IMDSv2 and signs the call with
   * the role's credentials from IMDS.
   */
  public enablePoolDrain(scope: IConstruct, pool: PoolResources, spec: PoolDrainSpec): PoolDrainNotice {
    const access = this.accessOf(pool);
    const group = pool.pool as AutoscalingGroup;
    const t = checkDrainTimeout(scope, spec, AWS_MAX_HEARTBEAT_SECONDS, "the group", `a lifecycle hook's heartbeat timeout is at most ${AWS_MAX_HEARTBEAT_SECONDS} s`);
    const waitSeconds = t + spec.marginSeconds;
    // Deleting the group terminates its agents through the hook, each waiting up to waitSeconds; the
    // provider gives a delete 10 minutes by default (terraform-provider-aws internal/service/autoscaling/group.go).
    group.putTimeouts({ delete: `${Math.ceil(waitSeconds / 60) + 10}m` });
    new AutoscalingLifecycleHook(access.scope, `${access.id}-drain-hook`, {
      name: POOL_DRAIN_HOOK,
      autoscalingGroupName: group.name,
      lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      heartbeatTimeout: waitSeconds,
      defaultResult: "CONTINUE",
    });
    new IamRolePolicy(access.scope, `${access.id}-role-drain`, {
      name: "complete-lifecycle-action",
      role: this.poolRole(access).id,
      policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "autoscaling:CompleteLifecycleAction", Resource: group.arn }] }),
    });
    return { kind: "aws-lifecycle-hook", settings: { asg: `${this.clusterName}-${access.name}`, hook: POOL_DRAIN_HOOK, region: this.region }, waitSeconds };
  }

  private accessOf(pool: PoolResources): PoolAccess {
    const access = this.poolAccess.get(pool.pool);
    if (!access) throw new Error(`${pool.pool.node.path} is not a pool of ${this.node.path}`);
    return access;
  }

  /** The pool's own role and instance profile (`<cluster>-pool-<pool>`), created on first use. */
  private poolRole(access: PoolAccess): IamRole {
    if (access.role) return access.role;
    const roleName = `${this.clusterName}-pool-${access.name}`;
    access.role = new IamRole(access.scope, `${access.id}-role`, {
      name: roleName,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    access.profile = new IamInstanceProfile(access.scope, `${access.id}-profile`, { name: roleName, role: access.role.name });
    return access.role;
  }

  /** The role and instance profile of the fixed machines (masters), created on first use. */
  private ensureMachineRole(): IamRole {
    if (this.machineRole) return this.machineRole;
    this.machineRole = new IamRole(this, "machine-role", {
      name: `${this.clusterName}-machines`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    this.instanceProfile = new IamInstanceProfile(this, "machine-profile", { name: `${this.clusterName}-machines`, role: this.machineRole.name });
    return this.machineRole;
  }

  /** The machines' role may read their cluster's parameters (and decrypt them with the cluster's key). */
  private ensureSecretsPolicy(): void {
    if (this.secretsPolicy) return;
    const role = this.ensureMachineRole();
    const account = new DataAwsCallerIdentity(this, "account");
    const partition = new DataAwsPartition(this, "partition");
    this.secretsPolicy = new IamRolePolicy(this, "machine-role-secrets", {
      name: "read-cluster-secrets",
      role: role.id,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: "ssm:GetParameter",
            // This account and partition only (a wildcard account would also name another account's parameters).
            Resource: `arn:${partition.partition}:ssm:${this.region}:${account.accountId}:parameter${ssmPrefix(this.clusterName)}*`,
          },
          ...this.kmsStatements(),
        ],
      }),
    });
  }

  /**
   * Session Manager's own permissions on the machines' role, as AWS's
   * minimal Session Manager instance profile lists them (Systems Manager
   * User Guide, "Create a custom IAM instance profile for Session Manager";
   * the same five actions as the managed policy AWSCloud9SSMInstanceProfile):
   * the agent registers (ssm:UpdateInstanceInformation) and opens the
   * session's control and data channels (ssmmessages). Not
   * AmazonSSMManagedInstanceCore, which adds ssm:GetParameter(s) on every
   * parameter of the account, documents, associations, inventory, patching
   * and ec2messages (Run Command). `*`: ssmmessages defines no resource type
   * (Service Authorization Reference, Amazon Message Gateway Service).
   * s3:GetEncryptionConfiguration and kms:Decrypt there are for session
   * logs in S3 and KMS-encrypted sessions, which this cluster does not set up.
   */
  private ensureSessionManagerPolicy(): void {
    if (this.sessionPolicy) return;
    const role = this.ensureMachineRole();
    this.sessionPolicy = new IamRolePolicy(this, "machine-role-session-manager", {
      name: "session-manager",
      role: role.id,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: SESSION_MANAGER_ACTIONS, Resource: "*" }],
      }),
    });
  }

  /**
   * kms:Decrypt on the cluster's customer managed key, only in calls SSM
   * makes on the reader's behalf (GetParameter WithDecryption), none with a
   * key of AWS's (aws/ssm grants every principal of the account).
   */
  private kmsStatements(): Record<string, unknown>[] {
    if (this.secretsKmsKeyArn === undefined) return [];
    const suffix = AWS_REGIONS[this.region].partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
    return [
      {
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: this.secretsKmsKeyArn,
        Condition: { StringEquals: { "kms:ViaService": `ssm.${this.region}.${suffix}` } },
      },
    ];
  }

  public createPool(scope: IConstruct, id: string, spec: PoolSpec): PoolResources {
    checkAwsInstanceType(scope, spec.vmSize);
    const name = `${this.clusterName}-${spec.name}`;
    const access: PoolAccess = { scope, id, name: spec.name, subnets: spec.subnets, securityGroup: spec.securityGroup, parameters: [] };
    const template = new LaunchTemplate(scope, `${id}-template`, {
      namePrefix: `${name}-`,
      imageId: this.imageId,
      instanceType: spec.vmSize,
      keyName: this.keyName,
      updateDefaultVersion: true,
      userData: Lazy.stringValue({ produce: () => spec.userData().value }),
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
      blockDeviceMappings: [
        {
          deviceName: "/dev/sda1",
          ebs: { volumeSize: spec.osDiskGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
        },
      ],
      networkInterfaces: [
        {
          deviceIndex: 0,
          associatePublicIpAddress: String(spec.publicIp),
          securityGroups: [spec.securityGroup.id],
          deleteOnTermination: "true",
        },
      ],
      tagSpecifications: [
        { resourceType: "instance", tags: { ...this.tags, Name: name, role: spec.name } },
        { resourceType: "volume", tags: { ...this.tags, Name: name, role: spec.name } },
      ],
    });
    // Only a pool that reads secrets or drains gets an identity (poolRole); IMDSv2 with hop limit 1 as before.
    // An override, because the nested block takes no token and the answer is known only at synth.
    template.addOverride("iam_instance_profile", Lazy.anyValue({ produce: () => (access.profile ? { name: access.profile.name } : undefined) }));
    const pool = new AutoscalingGroup(scope, id, {
      name,
      minSize: spec.count,
      maxSize: spec.count,
      desiredCapacity: spec.count,
      vpcZoneIdentifier: spec.subnets.map((s) => s.id),
      launchTemplate: { id: template.id, version: Token.asString(template.latestVersion) },
      healthCheckType: "EC2",
      // A new launch template version (user data, image, type) never reaches running
      // instances by itself: an instance refresh replaces them in batches, keeping
      // two thirds in service, each batch given the first boot's time (reboot into
      // cgroup v1, image pulls) before the next (terraform-provider-aws
      // internal/service/autoscaling/group.go: a launch_template change starts it).
      instanceRefresh: {
        strategy: "Rolling",
        preferences: { minHealthyPercentage: POOL_MIN_HEALTHY_PERCENT, instanceWarmup: String(POOL_WARMUP_SECONDS) },
      },
      tag: [{ key: "Name", value: name, propagateAtLaunch: true }],
    });
    this.poolAccess.set(pool, access);
    return { pool, template };
  }

  /**
   * An internet-facing Network Load Balancer in front of a pool whose
   * members sit in the private agent subnets (out through the NAT gateway,
   * no public address): a node in the public subnet of each zone of the
   * pool, cross-zone load balancing on (the edge pool may have a member in
   * one zone only: NLBs have it off by default, Network Load Balancers guide,
   * "Cross-zone load balancing for target groups"), one TCP listener and
   * target group per port (TCP passes TLS through to the members), each
   * attached to the pool's group, so members are registered as the group
   * launches them. Health: an HTTP probe of the members' own
   * `healthCheck.port`/`path`, 200 only.
   *
   * Instance targets keep the client's address (Network Load Balancers guide,
   * "Client IP preservation": enabled for instance target groups), so the
   * members' rules for `ports` name the clients (the caller's, as on
   * Azure's public edge), and the probes come from the load balancer's
   * addresses in the public subnets, inside the VPC. The load balancer has a
   * security group of its own: `ports` from `from` only, and out to the
   * pool's group on `ports` and the probe port only. Security groups can be
   * given to an NLB only when it is created (terraform-provider-aws
   * internal/service/elbv2/load_balancer.go customizeDiffLoadBalancerNLB:
   * adding some where there were none is ForceNew; Network Load Balancers
   * guide, "Update the security groups"), so it gets one from the start.
   *
   * Turning it on for a running cluster replaces nothing: the attachments
   * are resources of their own (aws_autoscaling_attachment; the group's
   * `target_group_arns` is Optional+Computed, so the group shows no change:
   * internal/service/autoscaling/group.go), and the public subnets of the
   * other zones are new.
   */
  public exposeEdge(scope: IConstruct, pool: PoolResources, spec: EdgeExposureSpec): EdgeExposure {
    const placed = this.accessOf(pool);
    const cidrs = [
      ...new Set(
        spec.from.flatMap((peer) => (peer instanceof CidrPeer ? peer.cidrs : fail(scope, "from", peer.label, "address blocks (admin networks, Peer.anyIpv4()): clients reach the load balancer from outside the VPC"))),
      ),
    ];
    if (cidrs.length === 0) fail(scope, "from", spec.from, "at least one address block: a load balancer nobody may reach serves nothing and bills by the hour");
    const ports = spec.ports.map((port, i) => checkInteger(scope, `ports[${i}]`, port, 1, 65535));
    if (ports.length === 0 || new Set(ports).size !== ports.length) fail(scope, "ports", spec.ports, "one or more distinct TCP ports");
    const taken = ports.find((port) => this.exposedPorts.has(port));
    if (taken !== undefined) fail(scope, "ports", spec.ports, `ports no other load balancer of ${this.node.path} serves (${taken} is served: target groups are named <cluster>-<port>)`);
    const probe = checkInteger(scope, "healthCheck.port", spec.healthCheck.port, 1, 65535);
    checkPattern(scope, "healthCheck.path", spec.healthCheck.path, /^\/[\x21-\x7e]{0,1023}$/, "an absolute path of printable characters, at most 1024");
    // Load balancer names: at most 32 letters, digits and '-', not starting with "internal-" (CreateLoadBalancer).
    const name = `${this.clusterName}-${placed.name}`;
    if (name.length > 32 || name.startsWith("internal-")) fail(scope, "clusterName", this.clusterName, `a cluster name that with "-${placed.name}" makes a load balancer name of at most 32 characters, not starting with "internal-" (${name})`);
    const zones = [...new Set(placed.subnets.map((s) => s.zone ?? fail(scope, "pool", pool.pool.node.path, "a pool in zonal subnets")))];
    const subnets = zones.map((zone) => this.publicSubnetIn(zone));
    ports.forEach((port) => this.exposedPorts.add(port));

    const group = new SecurityGroup(scope, "nlb-group", {
      name: `${name}-lb`,
      description: `Mesos cluster ${this.clusterName}: ${name} network load balancer`,
      vpcId: this.vpcId,
      tags: { Name: `${name}-lb` },
    });
    for (const port of ports) {
      cidrs.forEach((cidr, i) => {
        new VpcSecurityGroupIngressRule(scope, `nlb-allow-${port}${i === 0 ? "" : `-${i + 1}`}`, {
          securityGroupId: group.id,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          cidrIpv4: cidr,
          description: `${port}/tcp from ${cidr === "0.0.0.0/0" ? "the internet" : cidr}`,
        });
      });
    }
    // Health checks obey the load balancer's outbound rules (Network Load Balancers guide, "Update the security groups").
    for (const port of [...new Set([...ports, probe])]) {
      new VpcSecurityGroupEgressRule(scope, `nlb-to-${port}`, {
        securityGroupId: group.id,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        referencedSecurityGroupId: placed.securityGroup.id,
        description: `${port}/tcp to ${placed.securityGroup.name}${port === probe ? " (health checks)" : ""}`,
      });
    }
    // internal, load_balancer_type and name are ForceNew; subnets only grow in place; security groups cannot
    // go from none to some or back in place (load_balancer.go).
    const lb = new Lb(scope, "nlb", {
      name,
      loadBalancerType: "network",
      internal: false,
      ipAddressType: "ipv4",
      subnets: subnets.map((s) => s.id),
      securityGroups: [group.id],
      enableCrossZoneLoadBalancing: true,
      tags: { Name: name },
      dependsOn: this.publicRouting.length > 0 ? [...this.publicRouting] : undefined,
    });
    for (const port of ports) {
      // port, protocol, target_type and vpc_id are ForceNew; the health check and attributes update in place (target_group.go).
      const targets = new LbTargetGroup(scope, `nlb-${port}`, {
        name: `${this.clusterName}-${port}`,
        port,
        protocol: "TCP",
        targetType: "instance",
        vpcId: this.vpcId,
        preserveClientIp: "true",
        // A leaving member's connections get 30 s, not the default 300 (the group waits that long to terminate it).
        deregistrationDelay: "30",
        healthCheck: {
          enabled: true,
          protocol: "HTTP",
          port: String(probe),
          path: spec.healthCheck.path,
          matcher: "200",
          interval: 10,
          timeout: 5,
          healthyThreshold: 3,
          unhealthyThreshold: 3,
        },
        tags: { Name: `${name}-${port}` },
      });
      new LbListener(scope, `nlb-${port}-listener`, {
        loadBalancerArn: lb.arn,
        port,
        protocol: "TCP",
        defaultAction: [{ type: "forward", targetGroupArn: targets.arn }],
        tags: { Name: `${name}-${port}` },
      });
      // Both attributes are ForceNew: a new attachment, never a change to the group (autoscaling/attachment.go).
      new AutoscalingAttachment(scope, `nlb-${port}-attachment`, { autoscalingGroupName: (pool.pool as AutoscalingGroup).name, lbTargetGroupArn: targets.arn });
    }
    return { address: lb.dnsName, loadBalancer: lb };
  }
}

export { POOL_MIN_HEALTHY_PERCENT, POOL_WARMUP_SECONDS } from "./pool-rolling";

/** The lifecycle hook a draining pool's group carries (one per group). */
export const POOL_DRAIN_HOOK = "drain";
/** The longest heartbeat timeout of a lifecycle hook (terraform-provider-aws internal/service/autoscaling/lifecycle_hook.go: IntBetween(30, 7200)). */
const AWS_MAX_HEARTBEAT_SECONDS = 7200;

/** A pool's identity and what it may do: its role exists once it reads a secret or drains. */
interface PoolAccess {
  readonly scope: IConstruct;
  readonly id: string;
  readonly name: string;
  /** Where the pool is (what a load balancer in front of it needs: exposeEdge). */
  readonly subnets: SubnetRef[];
  readonly securityGroup: SecurityGroupRef;
  readonly parameters: SsmParameter[];
  role?: IamRole;
  profile?: IamInstanceProfile;
}

/** What the machines' role may do for Session Manager (see ensureSessionManagerPolicy). */
export const SESSION_MANAGER_ACTIONS = [
  "ssm:UpdateInstanceInformation",
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
];

/**
 * The public subnets of an existing network, checked (literal /28 or larger
 * blocks inside its address space, in its zones, one per zone), as the
 * lookup exposeEdge uses: a zone without one is refused there, naming
 * `existingNetwork.publicSubnets`.
 */
function checkExistingPublicSubnets(scope: IConstruct, existing: AwsExistingNetwork): (zone: string) => SubnetRef {
  const given = existing.publicSubnets ?? [];
  const zones = existing.agentSubnets.map((s) => s.zone);
  given.forEach((s, i) => {
    const cidr = Cidr.tryParse(s.cidr);
    if (!cidr || cidr.prefixLength > 28 || !existing.addressSpace.some((a) => Cidr.tryParse(a)?.containsCidr(cidr))) {
      fail(scope, `existingNetwork.publicSubnets[${i}].cidr`, s.cidr, `a /28 or larger block inside the address space ${existing.addressSpace.join(", ")} (an internet-facing load balancer needs 8 free addresses in its subnet)`);
    }
    if (!zones.includes(s.zone) || given.findIndex((o) => o.zone === s.zone) !== i) {
      fail(scope, `existingNetwork.publicSubnets[${i}].zone`, s.zone, `one public subnet per zone of the agent subnets (${zones.join(", ")})`);
    }
  });
  return (zone) =>
    given.find((s) => s.zone === zone) ??
    fail(
      scope,
      "existingNetwork.publicSubnets",
      given.map((s) => s.zone),
      `a public subnet (routed to an internet gateway, 8 free addresses) in each zone of the edge pool, ${zones.join(", ")}: the edge agents have no public address, and 80/443 open beyond the VPC (internetIngress "web" or adminCidrs with discovery "dns+lb") reach them through a Network Load Balancer there (missing: ${zone})`,
    );
}

/** The Route 53 Resolver's address in a VPC whose primary IPv4 block is `cidr`: the block's base plus two. */
function vpcResolver(cidr: string): string {
  return Cidr.parse(cidr).host(2);
}

/**
 * A KMS key ARN of this region and partition: `arn:aws:kms:eu-west-1:111122223333:key/<key id>`,
 * the id a UUID or a multi-Region `mrk-` id. Not an alias: an IAM policy
 * grants kms:Decrypt on keys, not on their aliases. Tokens are taken as they are.
 */
function checkKmsKeyArn(scope: IConstruct, arn: string, region: string, partition: string): string {
  if (isUnresolved(arn)) return arn;
  const allowed = `the ARN of a customer managed KMS key of ${region}, such as arn:${partition}:kms:${region}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab (a key ARN, not an alias: the roles are granted kms:Decrypt on the key; Parameter Store calls KMS in its own region)`;
  const match = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/.exec(typeof arn === "string" ? arn : "");
  if (!match || match[1] !== partition || match[2] !== region) fail(scope, "secretsKmsKeyArn", arn, allowed);
  return arn;
}

/**
 * Graviton types (a1, and a `g` after the generation digit: t4g, m7g, c6gn)
 * and Apple silicon Mac types are Arm: the Mesos and Marathon images exist
 * for amd64 only. The table in vm-sizes-aws.ts says which; for a type it
 * does not know, the `g` rule decides.
 */
function checkAwsInstanceType(scope: IConstruct, type: string): void {
  checkPattern(scope, "vmSize", type, /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/, "an EC2 instance type such as t3.large");
  const known = awsInstanceType(type);
  if (known ? known.arch === "arm64" : /^[a-z]+\d+[a-z]*g[a-z]*\./.test(type)) {
    fail(scope, "vmSize", type, "an x86-64 instance type (the Mesos and Marathon images are amd64 only; Graviton types are Arm)");
  }
}
