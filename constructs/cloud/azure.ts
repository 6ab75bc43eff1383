/**
 * The Azure cloud target: the only file (with ssh-key.ts for the tls
 * provider) that knows azurerm resources.
 */
import { Lazy, TerraformResource, TerraformStack } from "cdktf";
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
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { StringResource } from "@cdktf/provider-random/lib/string-resource";
import { CidrPeer, GroupPeer, IngressRule, SecurityGroupRef } from "../core/network-rules";
import { checkPattern, fail, NAME_ALLOWED, NAME_PATTERN } from "../core/validation";
import { planAddresses } from "./address-plan";
import { AZURE_LOCATIONS, closest, didYouMean } from "./regions";
import { azureVmSize } from "./vm-sizes-azure";
import { VmSizeInfo } from "./vm-sizes";
import { AZURE_SECRET_FETCHER, KEY_VAULT_TAG } from "./secret-fetchers/azure";
import { POOL_MAX_BATCH_PERCENT } from "./pool-rolling";
import { resolveSshKey, SshKey } from "./ssh-key";
import { ensureRandomProvider, hasProvider } from "../core/providers";
import {
  CloudTarget,
  ClusterNetwork,
  ClusterSecret,
  MachineGroupResources,
  MachineGroupSpec,
  PoolResources,
  PoolSpec,
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
  /** Subnet for the agents. */
  readonly agentSubnet: { readonly id: string; readonly cidr: string };
  /**
   * Associate the cluster's network security group with these subnets. Turn
   * off when the subnets already carry an NSG you manage (then open the
   * ports in the README's table yourself).
   * @default true
   */
  readonly associateSecurityGroup?: boolean;
}

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
}

/** LUN of the data disk; the udev path /dev/disk/azure/scsi1/lunN names it on the VM. */
const DATA_DISK_LUN = 10;

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
  /** Escape hatch: the resource group name (a token when created here). */
  public readonly resourceGroupName: string;
  /** Escape hatch: the cluster's network security group. */
  public readonly securityGroupResource: NetworkSecurityGroup;
  public readonly sshKey: SshKey;
  private readonly tags: Record<string, string>;
  private readonly diskType: string;
  private nextPriority = 100;
  private secretStore?: { vault: KeyVault; identity: UserAssignedIdentity };
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
        const s = new Subnet(this, `subnet-${name}`, {
          name,
          resourceGroupName: rg.name,
          virtualNetworkName: vnet.name,
          addressPrefixes: [cidr],
          // Egress goes through the NAT gateway below, not Azure's retiring default outbound access.
          defaultOutboundAccessEnabled: false,
        });
        return { id: s.id, cidr };
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

  public allowIngress(scope: IConstruct, id: string, rule: IngressRule): void {
    // Priorities follow creation order, so adding a rule later never renumbers earlier ones.
    const priority = this.nextPriority;
    this.nextPriority += 10;
    if (priority >= 4000) fail(scope, "rules", id, "fewer than 390 ingress rules per cluster (Azure NSG priorities 100-3990)");
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
      protocol: "Tcp",
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
        // base64 (gzip+base64 near the limit), rendered from the roles at synth: a literal in the JSON.
        customData: Lazy.stringValue({ produce: () => m.userData().value }),
        // Machines that read secrets learn the (randomly named) vault from a tag; identity: see below.
        tags: Lazy.anyValue({
          produce: () => ({
            ...this.tags,
            role: spec.name,
            ...(this.secretStore && spec.readsSecrets() ? { [KEY_VAULT_TAG]: this.secretStore.vault.name } : {}),
          }),
        }) as never,
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
    new KeyVaultSecret(scope, id, { name, value, keyVaultId: store.vault.id, contentType: "text/plain" });
    return { name };
  }

  /** Who runs Terraform: the owner of every vault's full access policy. */
  private get deployer(): DataAzurermClientConfig {
    this.deployerConfig ??= new DataAzurermClientConfig(this, "deployer");
    return this.deployerConfig;
  }

  /**
   * A user-assigned identity of the pool's own (`<cluster>-pool-<pool>`) and
   * a Key Vault of the pool's own that it may `Get` from, holding a copy of
   * each secret the pool reads: Key Vault access policies apply to the whole
   * vault, so `Get` on the cluster's vault would hand the pool every master
   * secret. Access policies (as for the cluster's vault) take effect at once;
   * per-secret RBAC would need Owner or User Access Administrator and
   * propagates slowly (hashicorp/terraform-provider-azurerm
   * website/docs/r/key_vault.html.markdown). The scale set carries the
   * identity and names the vault in the tag the fetcher reads; a pool that
   * reads nothing has neither.
   */
  public allowPoolSecret(pool: PoolResources, secret: ClusterSecret): void {
    const access = this.poolAccess.get(pool.pool);
    const value = this.secretValues.get(secret.name);
    if (!access) throw new Error(`${pool.pool.node.path} is not a pool of ${this.node.path}`);
    if (value === undefined) fail(access.scope, "secret", secret.name, `a secret stored in ${this.node.path} (storeSecret) before a pool reads it`);
    if (access.secrets.includes(secret.name)) return;
    access.secrets.push(secret.name);
    access.store ??= this.createPoolStore(access);
    new KeyVaultSecret(access.scope, `${access.id}-secret-${secret.name}`, { name: secret.name, value, keyVaultId: access.store.vault.id, contentType: "text/plain" });
  }

  private createPoolStore(access: PoolAccess): { vault: KeyVault; identity: UserAssignedIdentity } {
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
    const vault = this.newVault(access.scope, `${access.id}-vault`, `${prefix}-p-${suffix.result}`, identity, { ...this.tags, pool: access.name });
    return { vault, identity };
  }

  /**
   * A Key Vault whose secrets the deployer manages and `reader` may only
   * read (access policy `Get`).
   */
  private newVault(scope: Construct, id: string, name: string, reader: UserAssignedIdentity, tags: Record<string, string>): KeyVault {
    const client = this.deployer;
    return new KeyVault(scope, id, {
      name,
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
      accessPolicy: [
        {
          tenantId: client.tenantId,
          objectId: client.objectId,
          secretPermissions: ["Get", "List", "Set", "Delete", "Purge", "Recover"],
        },
        { tenantId: client.tenantId, objectId: reader.principalId, secretPermissions: ["Get"] },
      ],
      tags,
    });
  }

  /**
   * The cluster's Key Vault and the identity its machines read it with,
   * created on first use. Access policies (not RBAC) apply at once, so the
   * first apply does not race role-assignment propagation.
   */
  private ensureSecretStore(): { vault: KeyVault; identity: UserAssignedIdentity } {
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
    const vault = this.newVault(this, "vault", `${this.clusterName.slice(0, 16)}-${suffix.result}`, identity, this.tags);
    this.secretStore = { vault, identity };
    return this.secretStore;
  }

  public createPool(scope: IConstruct, id: string, spec: PoolSpec): PoolResources {
    checkAzureVmSize(scope, spec.vmSize);
    const access: PoolAccess = { scope, id, name: spec.name, secrets: [] };
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
      customData: Lazy.stringValue({ produce: () => spec.userData().value }),
      // A pool that reads secrets learns its own vault from this tag (IMDS tagsList), like the machines.
      tags: Lazy.anyValue({
        produce: () => ({ ...this.tags, role: spec.name, ...(access.store ? { [KEY_VAULT_TAG]: access.store.vault.name } : {}) }),
      }) as never,
    });
    // The pool's own identity when it reads secrets (allowPoolSecret); an override, as for machines.
    pool.addOverride(
      "identity",
      Lazy.anyValue({ produce: () => (access.store ? { type: "UserAssigned", identity_ids: [access.store.identity.id] } : undefined) }),
    );
    this.poolAccess.set(pool, access);
    return { pool };
  }
}

export { POOL_MAX_BATCH_PERCENT } from "./pool-rolling";

/** What a pool may read, and its own identity and vault once it reads anything. */
interface PoolAccess {
  readonly scope: IConstruct;
  readonly id: string;
  readonly name: string;
  readonly secrets: string[];
  store?: { vault: KeyVault; identity: UserAssignedIdentity };
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
