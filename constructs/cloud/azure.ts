/**
 * The Azure cloud target: the only file (with ssh-key.ts for the tls
 * provider) that knows azurerm resources.
 */
import { gunzipSync } from "zlib";
import { Fn, Lazy, TerraformResource, TerraformStack } from "cdktf";
import { Construct, IConstruct } from "constructs";
import { ApplicationSecurityGroup } from "@cdktf/provider-azurerm/lib/application-security-group";
import { LinuxVirtualMachine } from "@cdktf/provider-azurerm/lib/linux-virtual-machine";
import { LinuxVirtualMachineScaleSet } from "@cdktf/provider-azurerm/lib/linux-virtual-machine-scale-set";
import { ManagedDisk } from "@cdktf/provider-azurerm/lib/managed-disk";
import { NatGateway } from "@cdktf/provider-azurerm/lib/nat-gateway";
import { NatGatewayPublicIpAssociation } from "@cdktf/provider-azurerm/lib/nat-gateway-public-ip-association";
import { NetworkInterface } from "@cdktf/provider-azurerm/lib/network-interface";
import { NetworkInterfaceApplicationSecurityGroupAssociation } from "@cdktf/provider-azurerm/lib/network-interface-application-security-group-association";
import { NetworkSecurityGroup } from "@cdktf/provider-azurerm/lib/network-security-group";
import { NetworkSecurityRule } from "@cdktf/provider-azurerm/lib/network-security-rule";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { PublicIp } from "@cdktf/provider-azurerm/lib/public-ip";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { Subnet } from "@cdktf/provider-azurerm/lib/subnet";
import { SubnetNatGatewayAssociation } from "@cdktf/provider-azurerm/lib/subnet-nat-gateway-association";
import { SubnetNetworkSecurityGroupAssociation } from "@cdktf/provider-azurerm/lib/subnet-network-security-group-association";
import { VirtualMachineDataDiskAttachment } from "@cdktf/provider-azurerm/lib/virtual-machine-data-disk-attachment";
import { VirtualNetwork } from "@cdktf/provider-azurerm/lib/virtual-network";
import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { KeyVault } from "@cdktf/provider-azurerm/lib/key-vault";
import { KeyVaultSecret } from "@cdktf/provider-azurerm/lib/key-vault-secret";
import { MonitorDiagnosticSetting } from "@cdktf/provider-azurerm/lib/monitor-diagnostic-setting";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { StringResource } from "@cdktf/provider-random/lib/string-resource";
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import { CidrPeer, GroupPeer, IngressRule, SecurityGroupRef } from "../core/network-rules";
import { checkPattern, fail, isUnresolved, NAME_ALLOWED, NAME_PATTERN, warn } from "../core/validation";
import { Cidr, parseIpv4 } from "../core/net";
import { ensureNullProvider } from "../cluster-client";
import { planAddresses } from "./address-plan";
import { AZURE_LOCATIONS, closest, didYouMean } from "./regions";
import { azureVmSize } from "./vm-sizes-azure";
import { VmSizeInfo } from "./vm-sizes";
import { AZURE_SECRET_FETCHER, KEY_VAULT_URI_PLACEHOLDER } from "./secret-fetchers/azure";
import { POOL_MAX_BATCH_PERCENT } from "./pool-rolling";
import { resolveSshKey, SshKey } from "./ssh-key";
import { ensureRandomProvider, hasProvider } from "../core/providers";
import {
  CloudTarget,
  ClusterNetwork,
  ClusterSecret,
  MachineGroupResources,
  MachineGroupSpec,
  PoolDrainNotice,
  PoolDrainSpec,
  checkDrainTimeout,
  PoolResources,
  PoolSpec,
  EncodedUserDataValue,
  RuleBand,
  SubnetRef,
  UserDataPolicy,
} from "./target";

/** A VNet the user already has (bring your own network). */
export interface AzureExistingNetwork {
  /** Resource group of the cluster's resources (must exist). */
  readonly resourceGroupName: string;
  /** Address blocks of the VNet. */
  readonly addressSpace: string[];
  /** Subnet for the masters (regional; static IPs come from its CIDR). */
  readonly masterSubnet: { readonly id: string; readonly cidr: string };
  /**
   * Subnet for the agents.
   *
   * Both subnets need the `Microsoft.KeyVault` service endpoint when the
   * cluster stores secrets (`auth`, Swarm TLS, API TLS): each Key Vault
   * admits only the subnets of the machines that read it, and Azure refuses
   * a vault network rule naming a subnet without that endpoint
   * (`az network vnet subnet update --service-endpoints Microsoft.KeyVault`).
   */
  readonly agentSubnet: { readonly id: string; readonly cidr: string };
  /**
   * Associate the cluster's network security group with these subnets. Turn
   * off when the subnets already carry an NSG you manage (then open the
   * ports in the README's table yourself).
   * @default true
   */
  readonly associateSecurityGroup?: boolean;
}

/** NSG priority ranges of features whose rules must not renumber the cluster's own (see AzureTarget.withRuleBand). */
const RULE_BANDS: Record<RuleBand, { readonly first: number; readonly last: number; readonly what: string }> = {
  discovery: { first: 3000, last: 3990, what: "service discovery's" },
};

/** Properties of an {@link AzureTarget}. */
export interface AzureTargetProps {
  /** Cluster name: prefix of every resource name. */
  readonly clusterName: string;
  /** Azure location with availability zones. @default "westeurope" */
  readonly location?: string;
  /** Availability zones to spread over. @default ["1", "2", "3"] */
  readonly zones?: string[];
  /** VNet address space (ignored with `existingNetwork`). @default "10.20.0.0/16" */
  readonly addressSpace?: string;
  /** Master subnet, one regional block. @default carved from addressSpace (10.20.0.0/24) */
  readonly masterSubnetCidr?: string;
  /** Agent subnet, one regional block. @default carved from addressSpace (10.20.16.0/20) */
  readonly agentSubnetCidr?: string;
  /** Use an existing VNet instead of creating one. @default a new VNet, subnets and NAT gateway */
  readonly existingNetwork?: AzureExistingNetwork;
  /**
   * Admin SSH public key (`ssh-rsa` or `ssh-ed25519`).
   * @default a generated RSA key, its private half a sensitive output
   */
  readonly sshPublicKey?: string;
  /** Login user. @default "azureuser" */
  readonly adminUsername?: string;
  /** Disk type of OS and data disks. @default "StandardSSD_LRS" (works on every VM size) */
  readonly diskType?: "Standard_LRS" | "StandardSSD_LRS" | "Premium_LRS" | "StandardSSD_ZRS" | "Premium_ZRS";
  /** Subscription id for the provider block. @default from the environment (ARM_SUBSCRIPTION_ID) */
  readonly subscriptionId?: string;
  /** Tags on every resource. @default cluster and managed-by tags */
  readonly tags?: Record<string, string>;
  /**
   * Trusted Launch: secure boot and a virtual TPM on every VM and scale set
   * (`secure_boot_enabled`, `vtpm_enabled`), which the Ubuntu 22.04 gen2
   * image and the v5 sizes support. Both are ForceNew on VMs and scale sets
   * (hashicorp/terraform-provider-azurerm internal/services/compute
   * linux_virtual_machine_resource.go, linux_virtual_machine_scale_set_resource.go):
   * turning it on for a running cluster replaces its masters and recreates
   * its agents' scale set.
   * @default true
   */
  readonly trustedLaunch?: boolean;
  /**
   * Encryption at host (temporary and cache disks encrypted too). Needs the
   * subscription feature `Microsoft.Compute/EncryptionAtHost` registered,
   * which is why it is off by default.
   * @default false
   */
  readonly encryptionAtHost?: boolean;
  /**
   * Version of the Ubuntu 22.04 image (`az vm image list --all -p Canonical
   * -f 0001-com-ubuntu-server-jammy -s 22_04-lts-gen2`), so that machines
   * made later (new agents, a replaced master) boot the same image.
   * @default "latest" (resolved when each machine is made)
   */
  readonly imageVersion?: string;
  /**
   * Public IPv4 addresses or blocks Terraform runs from (your workstation's
   * or your CI runner's egress address, as the internet sees it). Every Key
   * Vault denies all networks but the subnets of the machines that read it
   * and these: `cdktf deploy` writes and refreshes the secrets through the
   * vault's data plane from where it runs. Private ranges are refused (a
   * vault's IP rules take public addresses only; a machine inside the VNet
   * reaches it through the subnet's service endpoint instead).
   * @default [] (synth warns when the cluster stores secrets: a deploy from elsewhere gets ForbiddenByFirewall)
   */
  readonly deployerCidrs?: string[];
  /**
   * Resource ID of a Log Analytics workspace
   * (`/subscriptions/.../resourceGroups/.../providers/Microsoft.OperationalInsights/workspaces/NAME`)
   * that receives every Key Vault's audit logs (category group `audit`: each
   * read and write of a secret, with caller and address).
   * @default none: no diagnostic setting
   */
  readonly keyVaultLogAnalyticsWorkspaceId?: string;
}

/** LUN of the data disk; the udev path /dev/disk/azure/scsi1/lunN names it on the VM. */
const DATA_DISK_LUN = 10;

/**
 * How long the first write to a vault waits after the deployer's role
 * assignment on it is made: "Role assignments latency: at current expected
 * performance, it will take up to 10 minutes (600 seconds) after role
 * assignments is changed for role to be applied" (Microsoft Learn, Key Vault
 * "Provide access ... with Azure role-based access control", Known limits
 * and performance; MicrosoftDocs azure-docs articles/key-vault/general/rbac-guide.md).
 * The provider does not retry a 403: azurerm_key_vault_secret's create first
 * reads the secret and fails on anything but 404
 * (hashicorp/terraform-provider-azurerm v4.55.0
 * internal/services/keyvault/key_vault_secret_resource.go), and
 * azurerm_role_assignment only waits until ARM returns the assignment
 * (internal/services/authorization/role_assignment_resource.go,
 * roleAssignmentCreateStateRefreshFunc), not until Key Vault honours it.
 */
const KEY_VAULT_RBAC_WAIT_SECONDS = 600;

/** The role the machines read their vault with (Azure built-in: read secret contents). */
const KEY_VAULT_READER_ROLE = "Key Vault Secrets User";
/** The role the deployer writes a vault with (Azure built-in: every action on secrets, none on permissions). */
const KEY_VAULT_WRITER_ROLE = "Key Vault Secrets Officer";

/** The subnet service endpoint a vault's network rule needs (Key Vault sees the subnet, not an address). */
const KEY_VAULT_SERVICE_ENDPOINT = "Microsoft.KeyVault";

const UBUNTU_2204 = {
  publisher: "Canonical",
  offer: "0001-com-ubuntu-server-jammy",
  sku: "22_04-lts-gen2",
  version: "latest",
};

/** Azure: VNet, NSG with application security groups, Linux VMs with static IPs, a VM scale set. */
export class AzureTarget extends Construct implements CloudTarget {
  public readonly cloud = "azure" as const;
  public readonly clusterName: string;
  public readonly location: string;
  public readonly network: ClusterNetwork;
  public readonly adminUsername: string;
  public readonly userDataPolicy: UserDataPolicy = { limitBytes: 64 * 1024, machineBase64: true, poolBase64: true };
  public readonly dataDiskLocator = `readlink -e /dev/disk/azure/scsi1/lun${DATA_DISK_LUN}`;
  /**
   * Azure's DNS: "a virtual public IP address ... used to facilitate a
   * communication channel to Azure platform resources ... Enables
   * communication with the DNS virtual server to provide filtered name
   * resolution to the resources (such as VM) that don't have a custom DNS
   * server", the same in every region and national cloud
   * (learn.microsoft.com/azure/virtual-network/what-is-ip-address-168-63-129-16).
   */
  public readonly resolverAddress = "168.63.129.16";
  /** Escape hatch: the resource group name (a token when created here). */
  public readonly resourceGroupName: string;
  /** Escape hatch: the cluster's network security group. */
  public readonly securityGroupResource: NetworkSecurityGroup;
  public readonly sshKey: SshKey;
  private readonly tags: Record<string, string>;
  private readonly diskType: string;
  /** The next free NSG priority of each range, by its first priority. */
  private readonly nextPriorities = new Map<number, number>();
  /** The rule band {@link withRuleBand} is running, if any. */
  private band?: RuleBand;
  private secretStore?: VaultStore;
  /** Public addresses Terraform writes the vaults from (`ip_rules`). */
  private readonly deployerCidrs: string[];
  private readonly keyVaultLogWorkspaceId?: string;
  /** Subnets some vault admits: they get the Key Vault service endpoint. */
  private readonly vaultSubnetIds = new Set<string>();
  private readonly secretNames = new Set<string>();
  /** Each stored secret's value (usually a token), for the copies in pools' own vaults. */
  private readonly secretValues = new Map<string, string>();
  /** Trusted Launch and encryption at host, as VM and scale set attributes. */
  private readonly machineSecurity: { secureBootEnabled: boolean; vtpmEnabled: boolean; encryptionAtHostEnabled?: boolean };
  /** The Ubuntu image every machine boots. */
  private readonly image: typeof UBUNTU_2204;
  private deployerConfig?: DataAzurermClientConfig;
  /** Per pool: where its identity and vault go, and what it reads (nothing: no identity, no vault). */
  private readonly poolAccess = new Map<TerraformResource, PoolAccess>();
  public readonly secretFetcherSource = AZURE_SECRET_FETCHER;
  /** Rolling upgrades of the scale set build up to this share of new members before removing old ones (surge). */
  public readonly poolSurgePercent = POOL_MAX_BATCH_PERCENT;

  public describeVmSize(size: string): VmSizeInfo | undefined {
    return azureVmSize(size);
  }

  constructor(scope: Construct, id: string, props: AzureTargetProps) {
    super(scope, id);
    this.clusterName = checkPattern(this, "clusterName", props.clusterName, NAME_PATTERN, NAME_ALLOWED);
    this.location = checkLocation(this, props.location ?? "westeurope");
    this.adminUsername = checkPattern(this, "adminUsername", props.adminUsername ?? "azureuser", /^[a-z_][a-z0-9_-]{0,31}$/, "a Linux user name (not root)");
    if (this.adminUsername === "root" || this.adminUsername === "admin") {
      fail(this, "adminUsername", this.adminUsername, "a user name Azure accepts (not root or admin)");
    }
    this.diskType = props.diskType ?? "StandardSSD_LRS";
    const trusted = props.trustedLaunch ?? true;
    if (typeof trusted !== "boolean") fail(this, "trustedLaunch", trusted, "true or false");
    const atHost = props.encryptionAtHost ?? false;
    if (typeof atHost !== "boolean") fail(this, "encryptionAtHost", atHost, "true or false");
    const version = props.imageVersion ?? "latest";
    if (version !== "latest" && !/^\d+\.\d+\.\d+$/.test(version)) fail(this, "imageVersion", version, '"latest" or an image version such as 22.04.202411190');
    this.machineSecurity = { secureBootEnabled: trusted, vtpmEnabled: trusted, ...(atHost ? { encryptionAtHostEnabled: true } : {}) };
    this.deployerCidrs = checkDeployerCidrs(this, props.deployerCidrs ?? []);
    this.keyVaultLogWorkspaceId = checkWorkspaceId(this, props.keyVaultLogAnalyticsWorkspaceId);
    this.image = { ...UBUNTU_2204, version };
    this.tags = { cluster: this.clusterName, "managed-by": "mesos-cluster-cdktf", ...(props.tags ?? {}) };
    const locationZones = AZURE_LOCATIONS[this.location];
    const zones = props.zones ?? [...locationZones];
    for (const z of zones) if (!locationZones.includes(z)) fail(this, "zones", z, `Azure availability zones ${locationZones.join(", ").replace(/, (\d)$/, " and $1")} of ${this.location}`);
    if (zones.length === 0 || new Set(zones).size !== zones.length) fail(this, "zones", zones, "one or more distinct zones of 1, 2, 3");

    const stack = TerraformStack.of(this);
    if (!hasProvider(stack, "azurerm")) {
      new AzurermProvider(stack, "azurerm-provider", { features: [{}], subscriptionId: props.subscriptionId });
    }
    this.sshKey = resolveSshKey(this, "azure", props.sshPublicKey);

    const existing = props.existingNetwork;
    if (existing) {
      this.resourceGroupName = existing.resourceGroupName;
      this.network = {
        addressSpace: existing.addressSpace,
        masterSubnets: [{ id: existing.masterSubnet.id, cidr: existing.masterSubnet.cidr }],
        agentSubnets: [{ id: existing.agentSubnet.id, cidr: existing.agentSubnet.cidr }],
        zones,
      };
      planAddresses(this, {
        addressSpace: existing.addressSpace[0],
        zones,
        zonal: false,
        masterSubnetCidrs: [existing.masterSubnet.cidr],
        agentSubnetCidrs: [existing.agentSubnet.cidr],
      });
    } else {
      const plan = planAddresses(this, {
        addressSpace: props.addressSpace ?? "10.20.0.0/16",
        zones,
        zonal: false,
        masterSubnetCidrs: props.masterSubnetCidr ? [props.masterSubnetCidr] : undefined,
        agentSubnetCidrs: props.agentSubnetCidr ? [props.agentSubnetCidr] : undefined,
      });
      const rg = new ResourceGroup(this, "resource-group", { name: `${this.clusterName}-rg`, location: this.location, tags: this.tags });
      this.resourceGroupName = rg.name;
      const vnet = new VirtualNetwork(this, "vnet", {
        name: `${this.clusterName}-vnet`,
        resourceGroupName: rg.name,
        location: this.location,
        addressSpace: [plan.addressSpace],
        tags: this.tags,
      });
      const subnet = (name: string, cidr: string): SubnetRef => {
        const ref = { id: "", cidr };
        const s = new Subnet(this, `subnet-${name}`, {
          name,
          resourceGroupName: rg.name,
          virtualNetworkName: vnet.name,
          addressPrefixes: [cidr],
          // Egress goes through the NAT gateway below, not Azure's retiring default outbound access.
          defaultOutboundAccessEnabled: false,
          // Only on a subnet a vault admits (newVault): its network rule names the subnet.
          serviceEndpoints: Lazy.listValue({ produce: () => (this.vaultSubnetIds.has(ref.id) ? [KEY_VAULT_SERVICE_ENDPOINT] : undefined) }),
        });
        // The token string itself: the set above compares strings, and each `s.id` read makes a new one.
        ref.id = s.id;
        return ref;
      };
      const masterSubnet = subnet("masters", plan.masters[0].cidr);
      const agentSubnet = subnet("agents", plan.agents[0].cidr);
      this.network = { addressSpace: [plan.addressSpace], masterSubnets: [masterSubnet], agentSubnets: [agentSubnet], zones };

      // Machines without public IPs (agents) still pull images: one NAT gateway for both subnets.
      const natIp = new PublicIp(this, "nat-ip", {
        name: `${this.clusterName}-nat-ip`,
        resourceGroupName: rg.name,
        location: this.location,
        allocationMethod: "Static",
        sku: "Standard",
        tags: this.tags,
      });
      const nat = new NatGateway(this, "nat", {
        name: `${this.clusterName}-nat`,
        resourceGroupName: rg.name,
        location: this.location,
        skuName: "Standard",
        tags: this.tags,
      });
      new NatGatewayPublicIpAssociation(this, "nat-ip-association", { natGatewayId: nat.id, publicIpAddressId: natIp.id });
      for (const [name, s] of [["masters", masterSubnet], ["agents", agentSubnet]] as const) {
        new SubnetNatGatewayAssociation(this, `nat-${name}`, { subnetId: s.id, natGatewayId: nat.id });
      }
    }

    this.securityGroupResource = new NetworkSecurityGroup(this, "nsg", {
      name: `${this.clusterName}-nsg`,
      resourceGroupName: this.resourceGroupName,
      location: this.location,
      tags: this.tags,
    });
    // Azure's default rules let the whole VNet in; the cluster's own rules say exactly who may talk to whom.
    new NetworkSecurityRule(this, "deny-vnet-inbound", {
      name: "deny-vnet-inbound",
      description: "Only the cluster's explicit rules admit traffic from inside the VNet",
      resourceGroupName: this.resourceGroupName,
      networkSecurityGroupName: this.securityGroupResource.name,
      priority: 4000,
      direction: "Inbound",
      access: "Deny",
      protocol: "*",
      sourceAddressPrefix: "VirtualNetwork",
      sourcePortRange: "*",
      destinationAddressPrefix: "*",
      destinationPortRange: "*",
    });
    if (!existing || existing.associateSecurityGroup !== false) {
      const subnets = [...this.network.masterSubnets, ...this.network.agentSubnets];
      subnets.forEach((s, i) => {
        new SubnetNetworkSecurityGroupAssociation(this, `nsg-${i === 0 ? "masters" : "agents"}`, {
          subnetId: s.id,
          networkSecurityGroupId: this.securityGroupResource.id,
        });
      });
    }
  }

  /**
   * Machines with static IPs are named by their addresses in NSG rules (no
   * application security group and no per-NIC association resource, and the
   * rules read plainly in a plan); pools by an application security group.
   */
  public createSecurityGroup(scope: IConstruct, id: string, name: string, addresses?: string[]): SecurityGroupRef {
    if (addresses) return { name, id: "", addresses };
    const asg = new ApplicationSecurityGroup(scope, id, {
      name,
      resourceGroupName: this.resourceGroupName,
      location: this.location,
      tags: this.tags,
    });
    return { name, id: asg.id };
  }

  /**
   * Rules opened inside `build` take priorities from the band's own range
   * (`discovery`: 3000-3990) instead of the cluster's (100-2990): turning the
   * feature on or off, or adding admin networks later, renumbers no rule of
   * the other range (a renumbered rule is an in-place update that can
   * collide with a new rule's priority while Terraform applies both).
   */
  public withRuleBand<T>(band: RuleBand, build: () => T): T {
    const outer = this.band;
    this.band = band;
    try {
      return build();
    } finally {
      this.band = outer;
    }
  }

  public allowIngress(scope: IConstruct, id: string, rule: IngressRule): void {
    // Priorities follow creation order within a range, so adding a rule later never renumbers earlier ones.
    const range = this.band ? RULE_BANDS[this.band] : { first: 100, last: RULE_BANDS.discovery.first - 10, what: "the cluster's own" };
    const priority = this.nextPriorities.get(range.first) ?? range.first;
    this.nextPriorities.set(range.first, priority + 10);
    if (priority > range.last) fail(scope, "rules", id, `at most ${(range.last - range.first) / 10 + 1} of ${range.what} ingress rules per cluster (Azure NSG priorities ${range.first}-${range.last})`);
    const source =
      rule.from instanceof GroupPeer
        ? rule.from.group.addresses
          ? { sourceAddressPrefixes: rule.from.group.addresses }
          : { sourceApplicationSecurityGroupIds: [rule.from.group.id] }
        : (rule.from as CidrPeer).isInternet
          ? { sourceAddressPrefix: "Internet" }
          : { sourceAddressPrefixes: (rule.from as CidrPeer).cidrs };
    const destination = rule.to.addresses
      ? { destinationAddressPrefixes: rule.to.addresses }
      : { destinationApplicationSecurityGroupIds: [rule.to.id] };
    new NetworkSecurityRule(scope, id, {
      name: `${rule.to.name}-${id}`.slice(0, 80),
      description: rule.description.slice(0, 140),
      resourceGroupName: this.resourceGroupName,
      networkSecurityGroupName: this.securityGroupResource.name,
      priority,
      direction: "Inbound",
      access: "Allow",
      protocol: rule.port.protocol === "udp" ? "Udp" : "Tcp",
      sourcePortRange: "*",
      destinationPortRange: rule.port.toString(),
      ...destination,
      ...source,
    });
  }

  public createMachines(scope: IConstruct, id: string, spec: MachineGroupSpec): MachineGroupResources {
    checkAzureVmSize(scope, spec.vmSize);
    const instances: TerraformResource[] = [];
    const dataDisks: TerraformResource[] = [];
    const publicIps: string[] = [];
    for (const m of spec.machines) {
      const group = new Construct(scope, `${id}-${m.name}`);
      let publicIpId: string | undefined;
      if (spec.publicIp) {
        const pip = new PublicIp(group, "public-ip", {
          name: `${m.name}-ip`,
          resourceGroupName: this.resourceGroupName,
          location: this.location,
          allocationMethod: "Static",
          sku: "Standard",
          zones: [m.zone],
          tags: this.tags,
        });
        publicIpId = pip.id;
        publicIps.push(pip.ipAddress);
      }
      const nic = new NetworkInterface(group, "nic", {
        name: `${m.name}-nic`,
        resourceGroupName: this.resourceGroupName,
        location: this.location,
        ipConfiguration: [
          {
            name: "primary",
            primary: true,
            subnetId: m.subnet.id,
            privateIpAddressAllocation: "Static",
            privateIpAddress: m.privateIp,
            publicIpAddressId: publicIpId,
          },
        ],
        tags: this.tags,
      });
      if (!spec.securityGroup.addresses) {
        new NetworkInterfaceApplicationSecurityGroupAssociation(group, "asg", {
          networkInterfaceId: nic.id,
          applicationSecurityGroupId: spec.securityGroup.id,
        });
      }
      const vm = new LinuxVirtualMachine(group, "vm", {
        name: m.name,
        computerName: m.name,
        resourceGroupName: this.resourceGroupName,
        location: this.location,
        size: spec.vmSize,
        zone: m.zone,
        adminUsername: this.adminUsername,
        disablePasswordAuthentication: true,
        adminSshKey: [{ username: this.adminUsername, publicKey: this.sshKey.publicKey }],
        networkInterfaceIds: [nic.id],
        osDisk: { caching: "ReadWrite", storageAccountType: this.diskType, diskSizeGb: spec.osDiskGb },
        sourceImageReference: this.image,
        ...this.machineSecurity,
        // base64 (gzip+base64 near the limit), rendered from the roles at synth; with the vault's URI when they read secrets.
        customData: Lazy.stringValue({ produce: () => this.customData(m.userData(), this.secretStore) }),
        tags: { ...this.tags, role: spec.name },
      });
      // Machines that read secrets get the cluster's identity. An override, because the
      // identity block takes no token, and the answer is known only at synth.
      vm.addOverride(
        "identity",
        Lazy.anyValue({
          produce: () => (this.secretStore && spec.readsSecrets() ? { type: "UserAssigned", identity_ids: [this.secretStore.identity.id] } : undefined),
        }),
      );
      instances.push(vm);
      if (spec.dataDiskGb !== undefined) {
        const disk = new ManagedDisk(group, "data-disk", {
          name: `${m.name}-data`,
          resourceGroupName: this.resourceGroupName,
          location: this.location,
          storageAccountType: this.diskType,
          createOption: "Empty",
          diskSizeGb: spec.dataDiskGb,
          zone: m.zone,
          tags: { ...this.tags, role: `${spec.name}-data` },
        });
        new VirtualMachineDataDiskAttachment(group, "data-disk-attachment", {
          managedDiskId: disk.id,
          virtualMachineId: vm.id,
          lun: DATA_DISK_LUN,
          // ZooKeeper and the replicated log fsync: no host cache in between.
          caching: "None",
        });
        dataDisks.push(disk);
      }
    }
    return { instances, dataDisks, publicIps };
  }

  public storeSecret(scope: IConstruct, id: string, name: string, value: string): ClusterSecret {
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(name)) fail(scope, "secret name", name, "lower-case letters, digits and '-', starting with a letter");
    if (this.secretNames.has(name)) fail(scope, "secret name", name, "a name not yet used by another secret of this cluster");
    this.secretNames.add(name);
    this.secretValues.set(name, value);
    const store = this.ensureSecretStore();
    new KeyVaultSecret(scope, id, { name, value, keyVaultId: store.vault.id, contentType: "text/plain", dependsOn: [store.writable] });
    return { name };
  }

  /** Who runs Terraform: the principal that writes every vault ("Key Vault Secrets Officer"). */
  private get deployer(): DataAzurermClientConfig {
    this.deployerConfig ??= new DataAzurermClientConfig(this, "deployer");
    return this.deployerConfig;
  }

  /**
   * A user-assigned identity of the pool's own (`<cluster>-pool-<pool>`) and
   * a Key Vault of the pool's own that it may read, holding a copy of each
   * secret the pool reads: the identity's role is scoped to its vault, so
   * reading the cluster's vault would hand the pool every master secret.
   * (Per-secret role assignments would avoid the copy, but each one
   * propagates on its own, up to 10 minutes: {@link KEY_VAULT_RBAC_WAIT_SECONDS}.)
   * The scale set carries the identity, and its user data the vault's URI; a
   * pool that reads nothing has neither.
   */
  public allowPoolSecret(pool: PoolResources, secret: ClusterSecret): void {
    const access = this.poolAccess.get(pool.pool);
    const value = this.secretValues.get(secret.name);
    if (!access) throw new Error(`${pool.pool.node.path} is not a pool of ${this.node.path}`);
    if (value === undefined) fail(access.scope, "secret", secret.name, `a secret stored in ${this.node.path} (storeSecret) before a pool reads it`);
    if (access.secrets.includes(secret.name)) return;
    access.secrets.push(secret.name);
    access.store ??= this.createPoolStore(access);
    new KeyVaultSecret(access.scope, `${access.id}-secret-${secret.name}`, {
      name: secret.name,
      value,
      keyVaultId: access.store.vault.id,
      contentType: "text/plain",
      dependsOn: [access.store.writable],
    });
  }

  private createPoolStore(access: PoolAccess): VaultStore {
    ensureRandomProvider(this);
    const identity = new UserAssignedIdentity(access.scope, `${access.id}-identity`, {
      name: `${this.clusterName}-pool-${access.name}`,
      resourceGroupName: this.resourceGroupName,
      location: this.location,
      tags: this.tags,
    });
    const suffix = new StringResource(access.scope, `${access.id}-vault-suffix`, { length: 6, upper: false, special: false });
    // 3-24 characters, no two '-' in a row: at most 14 of the cluster's name, "-p-", 6 random.
    const prefix = this.clusterName.replace(/-+/g, "-").slice(0, 14).replace(/-$/, "");
    return this.newVault(access.scope, `${access.id}-vault`, {
      name: `${prefix}-p-${suffix.result}`,
      reader: identity,
      subnets: access.subnets,
      tags: { ...this.tags, pool: access.name },
    });
  }

  /**
   * A Key Vault that `reader` may only read and the deployer writes, both by
   * Azure RBAC scoped to the vault (no access policies), reachable only from
   * `subnets` (the readers' own, through the Key Vault service endpoint) and
   * from the deployer's addresses ({@link AzureTargetProps.deployerCidrs}).
   * `writable` is what the vault's secrets wait for.
   */
  private newVault(scope: IConstruct, id: string, props: { name: string; reader: UserAssignedIdentity; subnets: SubnetRef[]; tags: Record<string, string> }): VaultStore {
    const client = this.deployer;
    if (this.deployerCidrs.length === 0) {
      warn(
        this,
        "deployerCidrs is empty: the Key Vaults admit only the subnets of the machines that read them, and `cdktf deploy` writes and refreshes " +
          "their secrets from the machine it runs on, which then gets ForbiddenByFirewall. Set deployerCidrs (CLUSTER_DEPLOYER_CIDRS) to " +
          "that machine's public IPv4 address as the internet sees it, e.g. 203.0.113.7, or run Terraform from inside one of those subnets",
        "deployerCidrs",
      );
    }
    for (const s of props.subnets) this.vaultSubnetIds.add(s.id);
    const vault = new KeyVault(scope, id, {
      name: props.name,
      resourceGroupName: this.resourceGroupName,
      location: this.location,
      tenantId: client.tenantId,
      skuName: "standard",
      // A deleted vault (and its secrets) can be recovered for 90 days and not purged before: nobody can
      // destroy the cluster's secrets for good by deleting the vault. The retention cannot change once set
      // (hashicorp/terraform-provider-azurerm internal/services/keyvault/key_vault_resource.go: "once
      // soft_delete_retention_days has been configured it cannot be modified"), so a vault made by an
      // earlier version keeps its 7 days instead of failing the apply; purge protection it gets in place.
      softDeleteRetentionDays: 90,
      purgeProtectionEnabled: true,
      lifecycle: { ignoreChanges: ["soft_delete_retention_days"] },
      // Data-plane access by role assignments (below), not access policies. Both attributes are updated in
      // place (key_vault_resource.go resourceKeyVaultUpdate: EnableRbacAuthorization, AccessPolicies), so a
      // vault made by an earlier version switches over without being replaced; `[]` also clears its old
      // policies (access_policy is Optional+Computed with ConfigModeAttr: left out, they would stay).
      rbacAuthorizationEnabled: true,
      accessPolicy: [],
      // Nothing but the readers' subnets and the deployer. Public network access stays enabled: these rules
      // are how it is restricted (false would refuse the deployer too). AzureServices lets Microsoft's
      // trusted services through the firewall, not past RBAC: none of them has a role on these vaults.
      networkAcls: {
        defaultAction: "Deny",
        bypass: "AzureServices",
        ipRules: this.deployerCidrs,
        virtualNetworkSubnetIds: props.subnets.map((s) => s.id),
      },
      tags: props.tags,
    });
    new RoleAssignment(scope, `${id}-reader`, {
      scope: vault.id,
      roleDefinitionName: KEY_VAULT_READER_ROLE,
      principalId: props.reader.principalId,
      // A new managed identity: skips the directory lookup that may not see it yet.
      principalType: "ServicePrincipal",
    });
    const writer = new RoleAssignment(scope, `${id}-deployer`, {
      scope: vault.id,
      roleDefinitionName: KEY_VAULT_WRITER_ROLE,
      principalId: client.objectId,
    });
    // Runs again only when the deployer's assignment is made anew (a new vault, another deployer).
    ensureNullProvider(scope);
    const writable = new NullResource(scope, `${id}-rbac-wait`, {
      triggers: { role_assignment: writer.id },
      provisioners: [
        {
          type: "local-exec",
          interpreter: ["node", "-e", RBAC_WAIT_SCRIPT],
          command: String(KEY_VAULT_RBAC_WAIT_SECONDS),
        },
      ],
    });
    if (this.keyVaultLogWorkspaceId) {
      new MonitorDiagnosticSetting(scope, `${id}-audit-logs`, {
        name: "key-vault-audit",
        targetResourceId: vault.id,
        logAnalyticsWorkspaceId: this.keyVaultLogWorkspaceId,
        enabledLog: [{ categoryGroup: "audit" }],
      });
    }
    return { vault, identity: props.reader, writable };
  }

  /**
   * The cluster's Key Vault and the identity its machines read it with,
   * created on first use. The masters' subnets are the ones it admits.
   */
  private ensureSecretStore(): VaultStore {
    if (this.secretStore) return this.secretStore;
    ensureRandomProvider(this);
    const identity = new UserAssignedIdentity(this, "machine-identity", {
      name: `${this.clusterName}-machines`,
      resourceGroupName: this.resourceGroupName,
      location: this.location,
      tags: this.tags,
    });
    // Vault names are global: a random suffix keeps two clusters named alike from colliding.
    const suffix = new StringResource(this, "vault-suffix", { length: 6, upper: false, special: false });
    this.secretStore = this.newVault(this, "vault", {
      name: `${this.clusterName.slice(0, 16)}-${suffix.result}`,
      reader: identity,
      subnets: this.network.masterSubnets,
      tags: this.tags,
    });
    return this.secretStore;
  }

  /**
   * A machine's `custom_data`. A document that holds the secret fetcher gets
   * its vault's URI from Terraform: the vault's name has a random suffix, so
   * the URI is known at apply, not at synth. `replace` puts it in place of
   * {@link KEY_VAULT_URI_PLACEHOLDER} in the synthesized document (a base64
   * literal: no `${` of the document's shell is read as Terraform syntax),
   * and the machine receives the result; nothing on the machine names the
   * vault otherwise, so no tag or metadata can point the fetcher elsewhere.
   * Other documents stay literals.
   */
  private customData(encoded: EncodedUserDataValue, store: VaultStore | undefined): string {
    const raw =
      encoded.encoding === "gzip+base64"
        ? gunzipSync(Buffer.from(encoded.value, "base64"))
        : Buffer.from(encoded.value, encoded.encoding === "base64" ? "base64" : "utf8");
    if (!raw.includes(KEY_VAULT_URI_PLACEHOLDER)) return encoded.value;
    if (!store) throw new Error(`${this.node.path}: a document holds the secret fetcher, but its machines read no vault`);
    const document = Fn.replace(Fn.base64decode(raw.toString("base64")), KEY_VAULT_URI_PLACEHOLDER, store.vault.vaultUri);
    // Azure counts the decoded bytes (at most 64 KiB): only a document over that is gzipped (by Terraform, then).
    return raw.length <= this.userDataPolicy.limitBytes ? Fn.base64encode(document) : Fn.base64gzip(document);
  }

  public createPool(scope: IConstruct, id: string, spec: PoolSpec): PoolResources {
    checkAzureVmSize(scope, spec.vmSize);
    const access: PoolAccess = { scope, id, name: spec.name, subnets: spec.subnets, secrets: [] };
    const pool = new LinuxVirtualMachineScaleSet(scope, id, {
      name: `${this.clusterName}-${spec.name}`,
      computerNamePrefix: `${this.clusterName}-${spec.name}`.slice(0, 9),
      resourceGroupName: this.resourceGroupName,
      location: this.location,
      sku: spec.vmSize,
      instances: spec.count,
      zones: this.network.zones,
      zoneBalance: this.network.zones.length > 1,
      // Extra, soon deleted VMs would register with Mesos as agents.
      overprovision: false,
      // Beyond 100 instances a scale set must span placement groups.
      singlePlacementGroup: false,
      // With a health signal, a change to custom_data or the size rolls through the pool:
      // Azure upgrades at most a third at a time and waits until the upgraded members
      // answer healthy (Application Health extension on the role's loopback endpoint).
      // Surge: an upgraded member is a NEW instance built from the new model, because an
      // upgrade in place never re-runs custom_data (Azure's VMSS FAQ, quoted in
      // hashicorp/terraform-provider-azurerm#8282 and #10673). Without a health signal,
      // Manual: the provider's default features then update and reimage every member one
      // after the other inside the apply, with no health wait (terraform-provider-azurerm
      // internal/services/compute/virtual_machine_scale_set_update.go,
      // upgradeInstancesForManualUpgradePolicy; internal/features/defaults.go).
      upgradeMode: spec.healthEndpoint ? "Rolling" : "Manual",
      rollingUpgradePolicy: spec.healthEndpoint
        ? {
            maxBatchInstancePercent: POOL_MAX_BATCH_PERCENT,
            maxUnhealthyInstancePercent: POOL_MAX_BATCH_PERCENT,
            maxUnhealthyUpgradedInstancePercent: POOL_MAX_BATCH_PERCENT,
            pauseTimeBetweenBatches: "PT2M",
            maximumSurgeInstancesEnabled: true,
          }
        : undefined,
      extension: spec.healthEndpoint
        ? [
            {
              name: "application-health",
              publisher: "Microsoft.ManagedServices",
              type: "ApplicationHealthLinux",
              typeHandlerVersion: "1.0",
              autoUpgradeMinorVersion: true,
              settings: JSON.stringify({ protocol: "http", port: spec.healthEndpoint.port, requestPath: spec.healthEndpoint.path }),
            },
          ]
        : undefined,
      adminUsername: this.adminUsername,
      disablePasswordAuthentication: true,
      adminSshKey: [{ username: this.adminUsername, publicKey: this.sshKey.publicKey }],
      sourceImageReference: this.image,
      ...this.machineSecurity,
      osDisk: { caching: "ReadWrite", storageAccountType: this.diskType, diskSizeGb: spec.osDiskGb },
      networkInterface: [
        {
          name: "primary",
          primary: true,
          ipConfiguration: [
            {
              name: "primary",
              primary: true,
              subnetId: spec.subnets[0].id,
              applicationSecurityGroupIds: [spec.securityGroup.id],
              publicIpAddress: spec.publicIp ? [{ name: "public" }] : undefined,
            },
          ],
        },
      ],
      // With its own vault's URI when the pool reads secrets (allowPoolSecret), as for machines.
      customData: Lazy.stringValue({ produce: () => this.customData(spec.userData(), access.store) }),
      tags: { ...this.tags, role: spec.name },
    });
    // The pool's own identity when it reads secrets (allowPoolSecret); an override, as for machines.
    pool.addOverride(
      "identity",
      Lazy.anyValue({ produce: () => (access.store ? { type: "UserAssigned", identity_ids: [access.store.identity.id] } : undefined) }),
    );
    this.poolAccess.set(pool, access);
    return { pool };
  }

  /**
   * The pool's drain: the scale set's terminate notification
   * (`termination_notification`, an ISO 8601 duration from PT5M to PT15M:
   * hashicorp/terraform-provider-azurerm internal/services/compute
   * VirtualMachineScaleSetTerminationNotificationSchema; updated in place,
   * no roll: linux_virtual_machine_scale_set_update.go), in whole minutes,
   * the bound plus the margin and at least 5. Azure then schedules a
   * `Terminate` event before it deletes a member (scale-in, an upgrade's
   * removal) and deletes it at the event's NotBefore, or earlier once the
   * member acknowledges it (MicrosoftDocs azure-docs
   * virtual-machine-scale-sets/virtual-machine-scale-sets-terminate-notification.md).
   * Nothing else: Scheduled Events need no identity.
   */
  public enablePoolDrain(scope: IConstruct, pool: PoolResources, spec: PoolDrainSpec): PoolDrainNotice {
    const t = checkDrainTimeout(scope, spec, AZURE_MAX_TERMINATE_MINUTES * 60, "the scale set", `its terminate notification at most ${AZURE_MAX_TERMINATE_MINUTES} minutes`);
    const minutes = Math.max(AZURE_MIN_TERMINATE_MINUTES, Math.ceil((t + spec.marginSeconds) / 60));
    (pool.pool as LinuxVirtualMachineScaleSet).putTerminationNotification({ enabled: true, timeout: `PT${minutes}M` });
    return { kind: "azure-scheduled-events", settings: {}, waitSeconds: minutes * 60 };
  }
}

/** The terminate notification's range, in minutes (terraform-provider-azurerm: ISO8601DurationBetween("PT5M", "PT15M")). */
const AZURE_MIN_TERMINATE_MINUTES = 5;
const AZURE_MAX_TERMINATE_MINUTES = 15;

export { POOL_MAX_BATCH_PERCENT } from "./pool-rolling";

/** A vault, the identity that reads it, and what its secrets wait for (the deployer's role assignment to take effect). */
interface VaultStore {
  readonly vault: KeyVault;
  readonly identity: UserAssignedIdentity;
  readonly writable: NullResource;
}

/** What a pool may read, and its own identity and vault once it reads anything. */
interface PoolAccess {
  readonly scope: IConstruct;
  readonly id: string;
  readonly name: string;
  /** The pool's subnets: the ones its vault admits. */
  readonly subnets: SubnetRef[];
  readonly secrets: string[];
  store?: VaultStore;
}

/** local-exec of the wait before a vault's first secret: node is there wherever cdktf runs (cluster-client.ts). */
const RBAC_WAIT_SCRIPT =
  'const s = Number(process.argv[1]); console.log("Waiting " + s + " s for the Key Vault role assignment to take effect (Azure: up to 10 minutes)"); setTimeout(() => {}, s * 1000);';

/**
 * `deployerCidrs`: public IPv4 addresses or blocks, as Key Vault's IP rules
 * take them: "IP network rules are only allowed for public IP addresses. IP
 * address ranges reserved for private networks (as defined in RFC 1918) are
 * not allowed", IPv4 only, and (in earlier versions of the same page) no
 * /31 or /32 blocks, single addresses instead (Microsoft Learn, "Configure
 * Azure Key Vault firewalls and virtual networks"; MicrosoftDocs azure-docs
 * articles/key-vault/general/network-security.md). A /32 is written as its
 * address; the provider takes "IPv4Address or CIDR" (key_vault_resource.go
 * network_acls.ip_rules).
 */
function checkDeployerCidrs(scope: IConstruct, cidrs: string[]): string[] {
  if (!Array.isArray(cidrs)) fail(scope, "deployerCidrs", cidrs, "a list of public IPv4 addresses or CIDR blocks");
  const allowed = "a public IPv4 address such as 203.0.113.7 or a block such as 203.0.113.0/24 (no host bits set)";
  const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8"].map((c) => Cidr.parse(c));
  const out: string[] = [];
  cidrs.forEach((c, i) => {
    if (isUnresolved(c)) {
      out.push(c);
      return;
    }
    const block = typeof c === "string" && parseIpv4(c) !== undefined ? Cidr.tryParse(`${c}/32`) : Cidr.tryParse(c);
    if (!block) fail(scope, `deployerCidrs[${i}]`, c, allowed);
    if (block.prefixLength === 0) fail(scope, `deployerCidrs[${i}]`, c, `${allowed}; not the whole internet (the vaults would admit everyone's network)`);
    if (block.prefixLength === 31) fail(scope, `deployerCidrs[${i}]`, c, `${allowed}; for a /31 list its two addresses (${block.host(0)}, ${block.host(1)}): Key Vault did not take /31 blocks`);
    const reserved = PRIVATE.find((p) => p.overlaps(block));
    if (reserved) {
      fail(scope, `deployerCidrs[${i}]`, c, `${allowed}; not in ${reserved.toString()}: Key Vault's IP rules take public addresses only (a deployer inside the VNet must run in a subnet the vault admits)`);
    }
    out.push(block.prefixLength === 32 ? block.host(0) : block.toString());
  });
  if (new Set(out).size !== out.length) fail(scope, "deployerCidrs", cidrs, "distinct addresses and blocks");
  if (out.length > 127) fail(scope, "deployerCidrs", `${out.length} entries`, "at most 127 entries (Key Vault's limit on IP rules)");
  return out;
}

/** `keyVaultLogAnalyticsWorkspaceId`: a workspace's resource ID (the provider's workspaces.ValidateWorkspaceID), or a token. */
function checkWorkspaceId(scope: IConstruct, id: string | undefined): string | undefined {
  if (id === undefined || isUnresolved(id)) return id;
  const pattern = /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.OperationalInsights\/workspaces\/[^/]+$/i;
  if (typeof id !== "string" || !pattern.test(id)) {
    fail(scope, "keyVaultLogAnalyticsWorkspaceId", id, "a Log Analytics workspace resource ID: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/workspaces/<name>");
  }
  return id;
}

/**
 * Azure sizes with a `p` in the feature letters (D2ps_v5, ...) are Arm: the
 * Mesos and Marathon images exist for amd64 only.
 */
function checkAzureVmSize(scope: IConstruct, size: string): void {
  checkPattern(scope, "vmSize", size, /^(Standard|Basic)_[A-Za-z0-9_-]+$/, "an Azure VM size such as Standard_D2s_v5");
  const m = /^Standard_[A-Z]+\d+(?:-\d+)?([a-z]*)(_|$)/.exec(size);
  if ((m && m[1].includes("p")) || azureVmSize(size)?.arch === "arm64") {
    fail(scope, "vmSize", size, "an x86-64 VM size (the Mesos and Marathon images are amd64 only; 'p' sizes are Arm)");
  }
}

/**
 * A location of the public cloud that has availability zones (every machine
 * and the scale set are placed in zones); regions.ts lists them.
 */
function checkLocation(scope: IConstruct, location: string): string {
  const known = Object.keys(AZURE_LOCATIONS);
  if (typeof location !== "string" || !/^[a-z][a-z0-9]{2,30}$/.test(location) || !(location in AZURE_LOCATIONS)) {
    fail(scope, "location", location, `an Azure location name such as westeurope, of the public cloud (constructs/cloud/regions.ts)${didYouMean(location, known)}`);
  }
  if (AZURE_LOCATIONS[location].length === 0) {
    const zonal = known.filter((l) => AZURE_LOCATIONS[l].length > 0);
    const near = closest(location, zonal);
    fail(
      scope,
      "location",
      location,
      `a location with availability zones (${location} has none, and every machine is placed in a zone), e.g. ${(near.length > 0 ? near : ["westeurope", "northeurope", "eastus2"]).join(", ")}`,
    );
  }
  return location;
}
