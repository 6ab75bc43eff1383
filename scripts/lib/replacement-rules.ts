/**
 * What Terraform does to a resource when one of its attributes changes, for
 * every resource type the stacks can emit: REPLACE it (destroy and create),
 * update it in place (and what that in-place update does to a running
 * machine: restart it, roll a pool), or fail the apply because the provider
 * or the cloud refuses the change. The one place plan-diff learns this: each
 * type cites the provider's resource file at the pinned provider version, and
 * each rule says what that file does, so a reviewer can check it and trust
 * the report.
 *
 * plan-diff fails safe: an attribute with no rule, or a type not in the
 * table, is "not assessed" and counts as "may be replaced" (see plan-diff.ts).
 * A test synthesizes every stack variant and fails when a type or an
 * attribute the stacks emit has no rule (__tests__/replacement-table.test.ts).
 */

import { POOL_MIN_HEALTHY_PERCENT, POOL_WARMUP_SECONDS } from "../../constructs/internal";

/** What a change of one attribute does to its resource. */
export type AttributeEffect = "replace" | "update";

/** A value-dependent verdict: `fail` when the provider (or the cloud API) refuses the change and the apply stops. */
export interface Verdict {
  readonly effect: AttributeEffect | "fail";
  /** Replaces the rule's note for this change. */
  readonly note?: string;
  readonly consequence?: boolean;
  readonly restarts?: boolean;
}

/** One attribute (or block) of a resource type. */
export interface AttributeRule {
  /** Attribute path with list indices dropped: `custom_data`, `os_disk.storage_account_type`. A block path covers everything inside it; `*` every attribute. */
  readonly path: string;
  readonly effect: AttributeEffect;
  /** What the provider does and why. */
  readonly note: string;
  /**
   * The note explains a consequence for running machines, data or the apply
   * (a restart, a rolling replacement, a refusal): the report prints it next
   * to the change. Other notes (`ForceNew`, `updated in place`) only say what
   * the effect already says.
   */
  readonly consequence?: boolean;
  /** An in-place update that stops the machine (or the machine the disk is attached to) and starts it again. */
  readonly restarts?: boolean;
  /**
   * For rules that depend on the values: the verdict for this change
   * (`before`/`after` are the attribute's values, undefined when a reference
   * gets a new value; `resource` is the head configuration).
   */
  readonly decide?: (before: unknown, after: unknown, resource: Record<string, unknown>) => AttributeEffect | Verdict;
}

/** Where a type's behaviour was read. */
export interface ProviderSource {
  /** GitHub repository, `hashicorp/terraform-provider-aws`. */
  readonly repository: string;
  /** The resource (or data source) file. */
  readonly path: string;
  /** The provider release the stacks pin (package.json of the @cdktf/provider-* package). */
  readonly version: string;
  /** When the file was not read at that release's tag: the stored copy that was read instead. */
  readonly readAt?: string;
}

/** One row of the table: a resource type (or `data.<type>` for a data source). */
export interface TypeEntry {
  readonly source: ProviderSource;
  readonly rules: readonly AttributeRule[];
  /**
   * Computed attributes that get a new value when the resource is updated
   * in place with these changed paths (`aws_launch_template.latest_version`):
   * a resource naming them is updated too.
   */
  readonly recomputedOnUpdate?: (changedPaths: readonly string[]) => readonly string[];
  /**
   * Destroying (or replacing) this resource stops a machine that stays
   * stopped: returns the attribute naming that machine (from the base
   * configuration, which is what the state holds), or undefined.
   */
  readonly destroyStops?: (base: Record<string, unknown>) => string | undefined;
}

// ---- rule helpers ----

const replace = (path: string, note: string, consequence = false): AttributeRule => ({ path, effect: "replace", note, consequence });
const update = (path: string, note: string, consequence = false): AttributeRule => ({ path, effect: "update", note, consequence });
/** An in-place update that stops the machine and starts it again. */
const restart = (path: string, note: string): AttributeRule => ({ path, effect: "update", note, consequence: true, restarts: true });
const forceNew = (...paths: string[]): AttributeRule[] => paths.map((p) => replace(p, "ForceNew"));
const inPlace = (...paths: string[]): AttributeRule[] => paths.map((p) => update(p, "updated in place"));

/** A size the cloud only grows: a smaller value fails the apply (it is never a replacement). */
function growOnly(path: string, growNote: string, refusal: string, restarts = false): AttributeRule {
  return {
    path,
    effect: "update",
    note: growNote,
    consequence: true,
    restarts,
    decide: (before, after) =>
      typeof before === "number" && typeof after === "number" && after < before
        ? { effect: "fail", note: `${refusal}; nothing is replaced, the data stay`, consequence: true }
        : { effect: "update", restarts },
  };
}

/** Tags never replace anything. */
const TAGS = [update("tags", "tags are updated in place"), update("tags_all", "tags are updated in place")];

const AWS = "hashicorp/terraform-provider-aws";
const AZURERM = "hashicorp/terraform-provider-azurerm";
const AWS_VERSION = "6.25.0";
const AZURERM_VERSION = "4.55.0";
/** The aws repository is too large to fetch: its files were read as the store keeps them, at the commit named. */
const aws = (path: string, readAt: string): ProviderSource => ({ repository: AWS, path, version: AWS_VERSION, readAt: readAt.startsWith("commit ") ? `${readAt} (the stored copy, not the v${AWS_VERSION} tag)` : readAt });
const azurerm = (path: string): ProviderSource => ({ repository: AZURERM, path: `internal/services/${path}`, version: AZURERM_VERSION });

// ---- what a pool change does to running agents ----

/**
 * The agent pools roll changes (README "Changing the agent pools"). Azure:
 * upgrade_mode Rolling with surge and the Application Health extension
 * (constructs/cloud/azure.ts); the provider only updates the model, the
 * platform rolls it (virtual_machine_scale_set_update.go has no Rolling
 * branch). Without a health signal the pool is Manual: the provider's
 * default features update and reimage every member, one after the other,
 * inside the apply (upgradeInstancesForManualUpgradePolicy).
 */
function azurePoolRoll(pool: Record<string, unknown>): Verdict {
  const n = typeof pool.instances === "number" ? pool.instances : undefined;
  const agents = n === undefined ? "the agents" : `the ${n} agent${n === 1 ? "" : "s"}`;
  if (pool.upgrade_mode !== "Rolling") {
    return {
      effect: "update",
      consequence: true,
      note: `MANUAL: the provider updates and REIMAGES ${agents} one after the other inside terraform apply (features roll_instances_when_required and reimage_on_manual_upgrade, both on by default), with no health wait (tasks on a reimaged agent are killed and rescheduled by their framework)`,
    };
  }
  const policy = (Array.isArray(pool.rolling_upgrade_policy) ? pool.rolling_upgrade_policy[0] : pool.rolling_upgrade_policy) as Record<string, unknown> | undefined;
  const percent = typeof policy?.max_batch_instance_percent === "number" ? policy.max_batch_instance_percent : 20;
  const batch = n === undefined ? "" : ` (${Math.max(1, Math.floor((n * percent) / 100))} of ${n} at a time)`;
  const surge = policy?.maximum_surge_instances_enabled === true;
  const pause = typeof policy?.pause_time_between_batches === "string" && policy.pause_time_between_batches !== "PT0S" ? `, ${policy.pause_time_between_batches.replace(/^PT/, "").toLowerCase()} between batches` : "";
  const health = healthOf(pool);
  return {
    effect: "update",
    consequence: true,
    note:
      `ROLLING: ${surge ? `Azure replaces ${agents} with new ones built from the new model` : `Azure upgrades ${agents} in place (an upgrade in place does not re-run custom_data)`}, ` +
      `at most ${percent}% a batch${batch}${pause}, each batch waiting until the ${surge ? "new " : ""}agents' Mesos ${health} answers ` +
      "(tasks on a replaced agent are killed and rescheduled by their framework)",
  };
}

function healthOf(pool: Record<string, unknown>): string {
  const extensions = Array.isArray(pool.extension) ? (pool.extension as Record<string, unknown>[]) : [];
  const probe = extensions.find((e) => e.type === "ApplicationHealthLinux");
  try {
    const settings = JSON.parse(String(probe?.settings ?? "{}")) as { port?: number; requestPath?: string };
    if (settings.requestPath) return `${settings.requestPath} (relayed on loopback port ${settings.port}, probed by the Application Health extension)`;
  } catch {
    // settings that are not JSON: say what we know
  }
  return "/health (Application Health extension)";
}

/** A new launch template version, followed by the group (launch_template.version = latest_version): an instance refresh. */
const POOL_ROLL_AWS =
  `ROLLING: a new template version starts an instance refresh that replaces the agents, keeping ${POOL_MIN_HEALTHY_PERCENT}% in service, ` +
  `${POOL_WARMUP_SECONDS / 60} minutes of warm-up each (tasks on a replaced agent are killed and rescheduled by their framework)`;

function awsGroupRoll(group: Record<string, unknown>): Verdict {
  const refresh = (Array.isArray(group.instance_refresh) ? group.instance_refresh[0] : group.instance_refresh) as Record<string, unknown> | undefined;
  if (!refresh) {
    return { effect: "update", consequence: true, note: "NOT ROLLED: without instance_refresh only agents launched from now on get the new template; running ones keep theirs" };
  }
  const prefs = (Array.isArray(refresh.preferences) ? refresh.preferences[0] : refresh.preferences) as Record<string, unknown> | undefined;
  const min = typeof prefs?.min_healthy_percentage === "number" ? prefs.min_healthy_percentage : 90;
  const warmup = prefs?.instance_warmup !== undefined ? ` and ${prefs.instance_warmup} s of warm-up` : "";
  const n = typeof group.desired_capacity === "number" ? group.desired_capacity : undefined;
  const batch = n === undefined ? "" : ` (${Math.max(1, n - Math.ceil((n * min) / 100))} of ${n} at a time)`;
  return {
    effect: "update",
    consequence: true,
    note: `ROLLING: the group starts an instance refresh that replaces the agents, keeping ${min}% in service${batch}${warmup} each; terraform apply does not wait for it (tasks on a replaced agent are killed and rescheduled by their framework)`,
  };
}

const poolRoll = (path: string): AttributeRule => ({ path, effect: "update", note: "the model is updated and rolled out", consequence: true, decide: (_b, _a, pool) => azurePoolRoll(pool) });
/**
 * A model change the provider does not push to the instances (no
 * `updateInstances` for it in resourceLinuxVirtualMachineScaleSetUpdate):
 * a Rolling pool gets it from the platform's rollout, a Manual one keeps
 * the old setting on running agents until they are upgraded or reimaged.
 */
const modelRoll = (path: string): AttributeRule => ({
  path,
  effect: "update",
  note: "the model is updated in place; a Rolling pool rolls it out",
  consequence: true,
  decide: (_b, _a, pool) =>
    pool.upgrade_mode === "Rolling"
      ? azurePoolRoll(pool)
      : { effect: "update", consequence: true, note: "NOT ROLLED: the provider updates the model only; running agents keep the old setting until they are upgraded or reimaged" },
});
const templateRoll = (path: string): AttributeRule => ({ path, effect: "update", note: POOL_ROLL_AWS, consequence: true });

const azureVmRestart = (path: string, how: string) => restart(path, `updated in place: the provider ${how} the VM and starts it again (the master is down meanwhile)`);

/** Per resource type (and `data.<type>`): the provider file and the attributes whose effect we know. */
export const REPLACEMENT_TABLE: Readonly<Record<string, TypeEntry>> = {
  // ================= Azure (azurerm 4.55.0) =================
  azurerm_resource_group: {
    source: azurerm("resource/resource_group_resource.go"),
    rules: [
      replace("name", "ForceNew: a new resource group; every resource in it is recreated", true),
      replace("location", "ForceNew: a new resource group; every resource in it is recreated", true),
      ...TAGS,
    ],
  },
  azurerm_virtual_network: {
    source: azurerm("network/virtual_network_resource.go"),
    rules: [
      ...forceNew("name", "resource_group_name", "location"),
      update("address_space", "updated in place; Azure refuses to remove a range a subnet still uses, so moving the subnets out of it in the same apply FAILS", true),
      ...inPlace("dns_servers"),
      ...TAGS,
    ],
  },
  azurerm_subnet: {
    source: azurerm("network/subnet_resource.go"),
    rules: [
      ...forceNew("name", "resource_group_name", "virtual_network_name"),
      update("address_prefixes", "updated in place; Azure refuses a prefix that no longer holds the addresses in use (NICs, scale set members), and then the apply FAILS", true),
      ...inPlace("default_outbound_access_enabled", "service_endpoints"),
    ],
  },
  azurerm_network_security_group: {
    source: azurerm("network/network_security_group_resource.go"),
    rules: [...forceNew("name", "resource_group_name", "location"), ...TAGS],
  },
  azurerm_network_security_rule: {
    source: azurerm("network/network_security_rule_resource.go"),
    rules: [
      ...forceNew("name", "resource_group_name", "network_security_group_name"),
      update("destination_address_prefixes", "updated in place (masters are named by their static IPs)"),
      ...inPlace(
        "source_address_prefix",
        "source_address_prefixes",
        "source_application_security_group_ids",
        "destination_address_prefix",
        "destination_application_security_group_ids",
        "source_port_range",
        "destination_port_range",
        "direction",
        "priority",
        "description",
        "access",
        "protocol",
      ),
    ],
  },
  azurerm_subnet_network_security_group_association: {
    source: azurerm("network/subnet_network_security_group_association_resource.go"),
    rules: forceNew("subnet_id", "network_security_group_id"),
  },
  azurerm_nat_gateway: {
    source: azurerm("network/nat_gateway_resource.go"),
    rules: [
      replace("name", "ForceNew: a new NAT gateway; outbound traffic of the subnets stops until it is associated again", true),
      ...forceNew("resource_group_name", "location", "zones"),
      ...inPlace("sku_name", "idle_timeout_in_minutes"),
      ...TAGS,
    ],
  },
  azurerm_nat_gateway_public_ip_association: {
    source: azurerm("network/nat_gateway_public_ip_association_resource.go"),
    rules: forceNew("nat_gateway_id", "public_ip_address_id"),
  },
  azurerm_subnet_nat_gateway_association: {
    source: azurerm("network/subnet_nat_gateway_association_resource.go"),
    rules: forceNew("subnet_id", "nat_gateway_id"),
  },
  azurerm_application_security_group: {
    source: azurerm("network/application_security_group_resource.go"),
    rules: [...forceNew("name", "resource_group_name", "location"), ...TAGS],
  },
  azurerm_public_ip: {
    source: azurerm("network/public_ip_resource.go"),
    rules: [
      ...["name", "resource_group_name", "location", "zones", "sku", "sku_tier", "ip_version", "public_ip_prefix_id", "ip_tags", "edge_zone"].map((p) => replace(p, "ForceNew: the address changes", true)),
      ...inPlace("allocation_method", "domain_name_label", "idle_timeout_in_minutes"),
      ...TAGS,
    ],
  },
  azurerm_network_interface: {
    source: azurerm("network/network_interface_resource.go"),
    rules: [
      ...forceNew("name", "resource_group_name", "location", "edge_zone"),
      update("ip_configuration", "updated in place, including the static private IP, its subnet and public IP"),
      ...inPlace("accelerated_networking_enabled", "ip_forwarding_enabled", "dns_servers", "internal_dns_name_label"),
      ...TAGS,
    ],
  },
  azurerm_user_assigned_identity: {
    source: azurerm("managedidentity/user_assigned_identity_resource.go"),
    rules: [
      replace("name", "ForceNew: a new identity (new principal): its role assignment on the vault is made anew and the machines' identity is updated to it", true),
      ...forceNew("resource_group_name", "location"),
      ...TAGS,
    ],
  },
  azurerm_key_vault: {
    source: azurerm("keyvault/key_vault_resource.go"),
    rules: [
      replace("name", "ForceNew: a new vault, and every secret in it is written anew", true),
      ...forceNew("resource_group_name", "location"),
      ...inPlace("sku_name", "tenant_id", "access_policy", "public_network_access_enabled", "network_acls", "enabled_for_deployment", "enabled_for_disk_encryption", "enabled_for_template_deployment"),
      update(
        "rbac_authorization_enabled",
        "updated in place (resourceKeyVaultUpdate: EnableRbacAuthorization); from then on only role assignments grant access to the secrets, access policies are no longer evaluated",
        true,
      ),
      {
        path: "purge_protection_enabled",
        effect: "update",
        note: "updated in place (false to true only)",
        decide: (before, after) =>
          before === true && after !== true
            ? { effect: "fail", note: "the provider refuses to disable purge protection once it is enabled", consequence: true }
            : "update",
      },
      {
        path: "soft_delete_retention_days",
        effect: "update",
        note: "can be set once",
        decide: (before) =>
          before !== undefined
            ? { effect: "fail", note: "once soft_delete_retention_days is configured it cannot be modified (the provider and the API refuse)", consequence: true }
            : "update",
      },
      ...TAGS,
    ],
  },
  azurerm_role_assignment: {
    source: azurerm("authorization/role_assignment_resource.go"),
    rules: [
      replace(
        "principal_id",
        "ForceNew: a new assignment. The deployer's names whoever runs Terraform (azurerm_client_config object_id): another deployer replaces it, and the vault's next secret write waits for it again",
        true,
      ),
      ...forceNew("scope", "role_definition_name", "role_definition_id", "principal_type", "name", "description", "condition", "condition_version", "delegated_managed_identity_resource_id"),
    ],
  },
  azurerm_monitor_diagnostic_setting: {
    source: azurerm("monitor/monitor_diagnostic_setting_resource.go"),
    rules: [...forceNew("name", "target_resource_id"), ...inPlace("log_analytics_workspace_id", "log_analytics_destination_type", "enabled_log", "enabled_metric", "storage_account_id", "eventhub_name", "eventhub_authorization_rule_id", "partner_solution_id")],
  },
  azurerm_key_vault_secret: {
    source: azurerm("keyvault/key_vault_secret_resource.go"),
    rules: [
      ...forceNew("name", "key_vault_id"),
      update("value", "a new version of the secret, in place; running machines keep the copy they fetched at boot until they restart", true),
      ...inPlace("content_type", "not_before_date", "expiration_date"),
      ...TAGS,
    ],
    recomputedOnUpdate: (paths) => (paths.some((p) => p === "value" || p === "value_wo_version") ? ["id", "version", "resource_id"] : []),
  },
  azurerm_linux_virtual_machine: {
    source: azurerm("compute/linux_virtual_machine_resource.go"),
    rules: [
      replace("custom_data", "ForceNew: cloud-init reads custom data once, at the first boot"),
      replace("name", "ForceNew: the VM's resource name"),
      replace("computer_name", "ForceNew: the guest host name is set at provisioning"),
      ...forceNew("resource_group_name", "location", "disable_password_authentication", "availability_set_id", "priority", "eviction_policy", "provision_vm_agent", "secure_boot_enabled", "vtpm_enabled", "platform_fault_domain", "edge_zone"),
      replace("zone", "ForceNew: a VM cannot move between availability zones"),
      replace("admin_username", "ForceNew: set at provisioning"),
      replace("admin_ssh_key", "ForceNew: keys are injected at provisioning only"),
      replace("source_image_reference", "ForceNew: the OS disk is created from the image"),
      replace("source_image_id", "ForceNew: the OS disk is created from the image"),
      replace("os_disk.storage_account_type", "ForceNew: Azure refuses to change an OS disk's storage type in place"),
      ...forceNew("os_disk.name", "os_disk.diff_disk_settings", "os_disk.security_encryption_type", "os_disk.secure_vm_disk_encryption_set_id"),
      restart("size", "resized in place: the provider powers the VM off (and deallocates it when the size is not available on its host), resizes it and starts it again (the master is down meanwhile)"),
      growOnly(
        "os_disk.disk_size_gb",
        "grown in place: the provider powers the VM off, deallocates it, grows the disk and starts it again (the master is down meanwhile)",
        "Azure refuses to shrink a disk",
        true,
      ),
      azureVmRestart("os_disk.caching", "powers off and deallocates"),
      azureVmRestart("os_disk.write_accelerator_enabled", "powers off and deallocates"),
      azureVmRestart("os_disk.disk_encryption_set_id", "powers off and deallocates"),
      azureVmRestart("network_interface_ids", "powers off and deallocates"),
      azureVmRestart("encryption_at_host_enabled", "deallocates"),
      azureVmRestart("proximity_placement_group_id", "powers off and deallocates"),
      update("user_data", "updated in place (not what our constructs use)"),
      ...inPlace("boot_diagnostics", "identity", "patch_assessment_mode", "allow_extension_operations"),
      ...TAGS,
    ],
  },
  azurerm_managed_disk: {
    source: azurerm("compute/managed_disk_resource.go"),
    rules: [
      ...forceNew("name", "resource_group_name", "location", "create_option", "source_resource_id", "image_reference_id", "upload_size_bytes", "edge_zone"),
      replace("zone", "ForceNew: a disk cannot move between availability zones"),
      growOnly(
        "disk_size_gb",
        "grown in place: online when the attached VM's size supports it (features.managed_disk.expand_without_downtime, on by default; our D*s_v5 sizes do), otherwise the provider powers the VM off, deallocates it and starts it again",
        "Azure refuses to shrink a disk (the provider: \"Shrinking disks is not supported on Azure\")",
      ),
      restart(
        "storage_account_type",
        "converted in place: the provider powers off and deallocates the VM the disk is attached to, converts the disk and starts the VM again (the master is down meanwhile); Azure refuses some conversions (to or from UltraSSD_LRS / PremiumV2_LRS), which fails the apply",
      ),
      restart("tier", "changed in place: the attached VM is powered off, deallocated and started again"),
      ...TAGS,
    ],
  },
  azurerm_virtual_machine_data_disk_attachment: {
    source: azurerm("compute/virtual_machine_data_disk_attachment_resource.go"),
    rules: [
      replace("managed_disk_id", "ForceNew: detach and attach (the disk and its data stay)"),
      replace("virtual_machine_id", "ForceNew: detach and attach (the disk and its data stay)"),
      replace("lun", "ForceNew: detach and attach at the new LUN"),
      replace("create_option", "ForceNew"),
      update("caching", "updated in place"),
      update("write_accelerator_enabled", "updated in place"),
    ],
  },
  azurerm_linux_virtual_machine_scale_set: {
    source: azurerm("compute/linux_virtual_machine_scale_set_resource.go"),
    rules: [
      ...["name", "resource_group_name", "location", "computer_name_prefix", "admin_username", "upgrade_mode", "zone_balance", "os_disk.storage_account_type", "priority", "eviction_policy", "provision_vm_agent", "secure_boot_enabled", "vtpm_enabled", "platform_fault_domain_count", "extension_operations_enabled", "edge_zone"].map((p) =>
        replace(p, "ForceNew: a new scale set, every agent is recreated at once", true),
      ),
      {
        path: "zones",
        effect: "update",
        note: "zones can be added in place; removing one is ForceNew (CustomizeDiff)",
        decide: (before, after) => {
          const removed = Array.isArray(before) && Array.isArray(after) && before.some((z) => !after.includes(z));
          return removed ? { effect: "replace", note: "ForceNew (CustomizeDiff): a zone is removed, a new scale set, every agent is recreated at once", consequence: true } : "update";
        },
      },
      update("instances", "scaled in place: agents are added or removed"),
      poolRoll("sku"),
      poolRoll("custom_data"),
      poolRoll("source_image_reference"),
      poolRoll("source_image_id"),
      poolRoll("os_disk"),
      poolRoll("extension"),
      poolRoll("network_interface"),
      poolRoll("admin_ssh_key"),
      poolRoll("disable_password_authentication"),
      poolRoll("user_data"),
      poolRoll("data_disk"),
      update("rolling_upgrade_policy", "updated in place; applies to the next rollout"),
      update("overprovision", "updated in place"),
      {
        path: "single_placement_group",
        effect: "update",
        note: "updated in place (true to false only)",
        decide: (before, after) =>
          before === false && after === true ? { effect: "fail", note: "the provider refuses single_placement_group false -> true", consequence: true } : "update",
      },
      ...inPlace("health_probe_id", "automatic_instance_repair", "extensions_time_budget", "boot_diagnostics", "identity"),
      // Not ForceNew (virtual_machine_scale_set.go VirtualMachineScaleSetTerminationNotificationSchema); the update sets the
      // model's scheduledEventsProfile and leaves updateInstances alone. Azure: running instances get it once upgraded to the
      // latest model (learn.microsoft.com virtual-machine-scale-sets-terminate-notification).
      modelRoll("termination_notification"),
      ...TAGS,
    ],
  },
  "data.azurerm_client_config": {
    source: azurerm("authorization/client_config_data_source.go"),
    rules: [
      update(
        "*",
        "read at every plan: the identity running Terraform; another identity (a CI principal instead of a person) replaces the deployer's role assignment on each vault, and the vault's next secret write waits for it again",
        true,
      ),
    ],
  },

  // ================= AWS (aws 6.25.0) =================
  aws_vpc: {
    source: aws("internal/service/ec2/vpc_.go", "commit 00081ce41cc691433ac19bf42227cdabffd0454d"),
    rules: [
      replace("cidr_block", "ForceNew: a new VPC; every subnet, group and machine in it is recreated", true),
      ...forceNew("ipv4_ipam_pool_id", "ipv4_netmask_length"),
      ...inPlace("enable_dns_hostnames", "enable_dns_support", "enable_network_address_usage_metrics", "instance_tenancy", "assign_generated_ipv6_cidr_block"),
      ...TAGS,
    ],
  },
  aws_subnet: {
    source: aws("internal/service/ec2/vpc_subnet.go", "commit 00cda125a19d31754cb0d073cf551264c57955cb"),
    rules: [
      replace("cidr_block", "ForceNew: a new subnet; every instance in it is recreated", true),
      replace("vpc_id", "ForceNew: a new subnet; every instance in it is recreated", true),
      replace("availability_zone", "ForceNew: a new subnet; every instance in it is recreated", true),
      ...forceNew("availability_zone_id", "ipv6_native", "outpost_arn"),
      ...inPlace("map_public_ip_on_launch", "enable_dns64", "private_dns_hostname_type_on_launch", "assign_ipv6_address_on_creation"),
      ...TAGS,
    ],
  },
  aws_internet_gateway: {
    source: aws("internal/service/ec2/vpc_internet_gateway.go", "commit 08923b68b5ad6fcfdd38362fb5247e39a9b07add"),
    rules: [update("vpc_id", "updated in place: detached from the old VPC and attached to the new one"), ...TAGS],
  },
  aws_eip: {
    source: aws("internal/service/ec2/ec2_eip.go", "commit 01606926a0c0ab9174aec440f976a48b0baee722"),
    rules: [
      ...["domain", "address", "network_border_group", "public_ipv4_pool", "ipam_pool_id"].map((p) => replace(p, "ForceNew: a new address", true)),
      ...inPlace("instance", "network_interface", "associate_with_private_ip", "customer_owned_ipv4_pool"),
      ...TAGS,
    ],
  },
  aws_nat_gateway: {
    source: aws("internal/service/ec2/vpc_nat_gateway.go", "commit 04088eaa54948421bf1ef7494ae2b2c01d9243e3"),
    rules: [
      ...["allocation_id", "subnet_id", "connectivity_type", "private_ip", "secondary_private_ip_address_count"].map((p) =>
        replace(p, "ForceNew: a new NAT gateway; the private subnets have no outbound access until the route names it", true),
      ),
      ...inPlace("secondary_allocation_ids", "secondary_private_ip_addresses"),
      ...TAGS,
    ],
  },
  aws_route_table: {
    source: aws("internal/service/ec2/vpc_route_table.go", "commit 022092419b7cda11527df3c6b51cbfe1876c1722"),
    rules: [replace("vpc_id", "ForceNew"), ...inPlace("route", "propagating_vgws"), ...TAGS],
  },
  aws_route: {
    source: aws("internal/service/ec2/vpc_route.go", "commit 0128541e0711766f28540143a9d73738aced60aa"),
    rules: [
      ...forceNew("route_table_id", "destination_cidr_block", "destination_ipv6_cidr_block", "destination_prefix_list_id"),
      ...inPlace("gateway_id", "nat_gateway_id", "network_interface_id", "transit_gateway_id", "vpc_peering_connection_id", "vpc_endpoint_id", "egress_only_gateway_id"),
    ],
  },
  aws_route_table_association: {
    source: aws("internal/service/ec2/vpc_route_table_association.go", "commit 0be71beb458ad8875e0acc5c91519c0ceeb214aa"),
    rules: [...forceNew("subnet_id", "gateway_id"), update("route_table_id", "updated in place (ReplaceRouteTableAssociation)")],
  },
  aws_security_group: {
    source: aws("internal/service/ec2/vpc_security_group.go", "commit 01606926a0c0ab9174aec440f976a48b0baee722"),
    rules: [
      ...["name", "name_prefix", "description", "vpc_id"].map((p) =>
        replace(
          p,
          "ForceNew: a new group; AWS refuses to delete the old one while an instance still uses it (DependencyViolation, retried up to 15 minutes), so unless those instances are replaced too the apply can FAIL",
          true,
        ),
      ),
      ...inPlace("ingress", "egress", "revoke_rules_on_delete"),
      ...TAGS,
    ],
  },
  aws_default_security_group: {
    source: aws("internal/service/ec2/vpc_default_security_group.go", "commit 01f431114674c27cf790fafb67ac274bf8f765e1"),
    rules: [replace("vpc_id", "ForceNew: the new VPC's default group is adopted and emptied"), ...inPlace("ingress", "egress", "revoke_rules_on_delete"), ...TAGS],
  },
  aws_vpc_security_group_ingress_rule: {
    source: aws("internal/service/ec2/vpc_security_group_ingress_rule.go", "commit 00a322094b4b9ade8a81b244345dbcf4b52ee8d6"),
    rules: securityGroupRuleRules(),
  },
  aws_vpc_security_group_egress_rule: {
    source: aws("internal/service/ec2/vpc_security_group_egress_rule.go", "commit 00a322094b4b9ade8a81b244345dbcf4b52ee8d6 (the ingress rule's file; both share one implementation)"),
    rules: securityGroupRuleRules(),
  },
  aws_iam_role: {
    source: aws("internal/service/iam/role.go", "commit 0040ea6911af00bea2cca6dbb14e86829826ad8e"),
    rules: [...forceNew("name", "name_prefix", "path"), ...inPlace("assume_role_policy", "description", "max_session_duration", "permissions_boundary", "inline_policy", "managed_policy_arns", "force_detach_policies"), ...TAGS],
  },
  aws_iam_role_policy: {
    source: aws("internal/service/iam/role_policy.go", "commit 02f97af85f89a04e8ed89f5e8b64a9a67f3cfe07"),
    rules: [...forceNew("name", "name_prefix", "role"), update("policy", "updated in place (PutRolePolicy)")],
  },
  aws_iam_instance_profile: {
    source: aws("internal/service/iam/instance_profile.go", "commit 013f1736b90439e5a19567a87d3e5cd11858c420"),
    rules: [...forceNew("name", "name_prefix", "path"), update("role", "updated in place: the role is removed and the new one added"), ...TAGS],
  },
  aws_key_pair: {
    source: aws("internal/service/ec2/ec2_key_pair.go", "commit 05bc9541efe73ea58b95ad961676ed4aba3fb03f"),
    rules: [
      replace("public_key", "ForceNew: a new key pair under the same name; running instances keep the key they booted with", true),
      ...forceNew("key_name", "key_name_prefix"),
      ...TAGS,
    ],
  },
  aws_instance: {
    source: aws("internal/service/ec2/ec2_instance.go", "excerpts of stored copies (schema ForceNew flags; stop/start on instance_type and user_data in resourceInstanceUpdate), not the v6.25.0 tag"),
    rules: [
      {
        path: "user_data",
        effect: "update",
        note: "ForceNew while user_data_replace_on_change is true (ours: cloud-init applies a document once per instance); otherwise the instance is stopped and started",
        decide: (_b, _a, resource) => userDataVerdict(resource),
      },
      {
        path: "user_data_base64",
        effect: "update",
        note: "ForceNew while user_data_replace_on_change is true (ours); otherwise the instance is stopped and started",
        decide: (_b, _a, resource) => userDataVerdict(resource),
      },
      replace("ami", "ForceNew (ignored through lifecycle.ignore_changes unless the AMI is pinned)"),
      ...forceNew("availability_zone", "subnet_id", "associate_public_ip_address", "key_name", "placement_group", "tenancy", "cpu_options", "ebs_block_device", "ephemeral_block_device", "network_interface", "launch_template"),
      replace("private_ip", "ForceNew: the primary private IP is fixed at launch"),
      replace("root_block_device.encrypted", "ForceNew"),
      replace("root_block_device.kms_key_id", "ForceNew"),
      restart(
        "instance_type",
        "updated in place: the provider stops the instance, changes its type and starts it again (the master is down meanwhile, and an instance without an Elastic IP comes back with a new public IP)",
      ),
      update("user_data_replace_on_change", "no action on the instance by itself"),
      ...inPlace("vpc_security_group_ids", "metadata_options", "iam_instance_profile", "monitoring", "disable_api_termination", "disable_api_stop", "source_dest_check"),
      growOnly("root_block_device.volume_size", "the root volume is modified in place, online (ModifyVolume)", "EC2 refuses to shrink a volume (ModifyVolume: the new size must be larger)"),
      update("root_block_device.volume_type", "the root volume is modified in place"),
      update("root_block_device.iops", "the root volume is modified in place"),
      update("root_block_device.throughput", "the root volume is modified in place"),
      update("root_block_device.delete_on_termination", "updated in place"),
      ...TAGS,
    ],
  },
  aws_ebs_volume: {
    source: aws("internal/service/ec2/ebs_volume.go", "commit 0073593e7d6993ba482409f4dc35438daaa79bb3"),
    rules: [
      replace("availability_zone", "ForceNew: a volume cannot move between zones"),
      ...forceNew("encrypted", "kms_key_id", "outpost_arn", "multi_attach_enabled"),
      replace("snapshot_id", "ForceNew: a new volume from the snapshot"),
      growOnly("size", "modified in place, online (ModifyVolume)", "EC2 refuses to shrink a volume (ModifyVolume: the new size must be larger)"),
      ...["type", "iops", "throughput"].map((p) => update(p, "modified in place, online (ModifyVolume)")),
      update("final_snapshot", "updated in place"),
      ...TAGS,
    ],
  },
  aws_volume_attachment: {
    source: aws("internal/service/ec2/ebs_volume_attachment.go", "commit 0620f2a6a126dfcbc4aecbc9a117b0fbea1656ff"),
    rules: [
      replace("device_name", "ForceNew: detach and attach (the volume and its data stay)"),
      replace("instance_id", "ForceNew: detach and attach (the volume and its data stay)"),
      replace("volume_id", "ForceNew: detach and attach"),
      update("force_detach", "no action by itself (UpdateWithoutTimeout is a no-op)"),
      update("skip_destroy", "no action by itself"),
      update("stop_instance_before_detaching", "no action by itself; read from the state when the attachment is destroyed"),
    ],
    destroyStops: (base) => (base.stop_instance_before_detaching === true && base.skip_destroy !== true ? "instance_id" : undefined),
  },
  aws_launch_template: {
    source: aws("internal/service/ec2/ec2_launch_template.go", "commit 025e4f81cab8553cb052aebfcc5987e2aa8c702a"),
    rules: [
      replace("name", "ForceNew: a new template; the group names it and refreshes every agent", true),
      replace("name_prefix", "ForceNew: a new template; the group names it and refreshes every agent", true),
      ...["user_data", "image_id", "instance_type", "key_name", "block_device_mappings", "metadata_options", "network_interfaces", "tag_specifications", "vpc_security_group_ids", "iam_instance_profile", "monitoring"].map(templateRoll),
      ...inPlace("update_default_version", "default_version", "description"),
      ...TAGS,
    ],
    // CustomizeDiff ComputedIf("latest_version"): every change but these makes a new version.
    recomputedOnUpdate: (paths) =>
      paths.some((p) => !["name", "name_prefix", "description", "default_version", "update_default_version"].includes(p.split(/[.[]/)[0])) ? ["latest_version"] : [],
  },
  aws_autoscaling_group: {
    source: aws("internal/service/autoscaling/group.go", "commit 00a919d1548eb437816d4838f320502ad34183ff"),
    rules: [
      replace("name", "ForceNew: a new group, every agent is recreated at once", true),
      replace("name_prefix", "ForceNew: a new group, every agent is recreated at once", true),
      update("min_size", "scaled in place"),
      update("max_size", "scaled in place"),
      update("desired_capacity", "scaled in place: agents are launched or terminated (the apply waits for the capacity)"),
      update("vpc_zone_identifier", "updated in place: agents in removed subnets are terminated and launched in the others (availability zone rebalancing)", true),
      { path: "launch_template", effect: "update", note: "a launch_template change starts an instance refresh", consequence: true, decide: (_b, _a, group) => awsGroupRoll(group) },
      update("instance_refresh", "updated in place; applies to the next refresh"),
      update("timeouts", "Terraform's own wait for the operation; no API call"),
      ...inPlace("health_check_type", "health_check_grace_period", "tag", "termination_policies", "capacity_rebalance", "default_cooldown", "enabled_metrics"),
    ],
  },
  aws_autoscaling_lifecycle_hook: {
    source: aws("internal/service/autoscaling/lifecycle_hook.go", "commit 00a35305dc1b297a6fcdecdfbba33f1e63c3da39"),
    rules: [
      ...forceNew("name"),
      // Update is the create (PutLifecycleHook): nothing deletes the hook from a group the hook no longer names.
      update("autoscaling_group_name", "updated in place: the hook is put on the named group; the group it leaves keeps its copy until that group is deleted"),
      ...inPlace("default_result", "heartbeat_timeout", "lifecycle_transition", "notification_metadata", "notification_target_arn", "role_arn"),
    ],
  },
  aws_lb: {
    source: aws("internal/service/elbv2/load_balancer.go", "commit 00edc94be7a89c4c485415cdec27094875f61bfc"),
    rules: [
      ...forceNew("name", "name_prefix", "internal", "load_balancer_type"),
      {
        // customizeDiffLoadBalancerNLB: a network LB's subnets only grow in place; removing one (or changing one) is ForceNew.
        path: "subnets",
        effect: "update",
        note: "subnets added in place; a removed or changed subnet is ForceNew for a network load balancer (customizeDiffLoadBalancerNLB)",
        decide: (before, after) =>
          Array.isArray(before) && Array.isArray(after) && after.length > before.length && before.every((s) => after.includes(s)) ? "update" : "replace",
      },
      {
        // customizeDiffLoadBalancerNLB: security groups cannot be added to an NLB created without them, nor all removed.
        path: "security_groups",
        effect: "update",
        note: "updated in place (SetSecurityGroups); none -> some or some -> none is ForceNew for a network load balancer (customizeDiffLoadBalancerNLB)",
        // Unknown values (a referenced group replaced) count as a possible replacement.
        decide: (before, after) => (Array.isArray(before) && Array.isArray(after) && (before.length === 0) === (after.length === 0) ? "update" : "replace"),
      },
      ...inPlace("enable_cross_zone_load_balancing", "ip_address_type", "enable_deletion_protection", "dns_record_client_routing_policy"),
      ...TAGS,
    ],
  },
  aws_lb_target_group: {
    source: aws("internal/service/elbv2/target_group.go", "commit 013cfb4cddc9c44a28f34abad0c11768bcdb9b85"),
    rules: [
      ...forceNew("name", "name_prefix", "port", "protocol", "protocol_version", "target_type", "vpc_id", "ip_address_type"),
      update("health_check", "updated in place (ModifyTargetGroup)"),
      ...inPlace("deregistration_delay", "preserve_client_ip", "connection_termination", "proxy_protocol_v2", "load_balancing_cross_zone_enabled"),
      ...TAGS,
    ],
  },
  aws_lb_listener: {
    source: aws("internal/service/elbv2/listener.go", "commit 01c08000ddb14181b5bd19201d8fca311dc570e4 (schema); load_balancer_arn is ForceNew in the newest stored copy too"),
    rules: [...forceNew("load_balancer_arn"), ...inPlace("port", "protocol", "default_action", "ssl_policy", "certificate_arn", "alpn_policy"), ...TAGS],
  },
  aws_autoscaling_attachment: {
    // No Update function: every attribute is ForceNew; replacing it detaches and attaches the target group, the group itself is not touched.
    source: aws("internal/service/autoscaling/attachment.go", "commit 01f431114674c27cf790fafb67ac274bf8f765e1"),
    rules: forceNew("autoscaling_group_name", "lb_target_group_arn", "elb"),
  },
  aws_ssm_parameter: {
    source: aws("internal/service/ssm/parameter.go", "commit 0073593e7d6993ba482409f4dc35438daaa79bb3"),
    rules: [
      ...forceNew("name", "data_type"),
      update("value", "a new version of the parameter, in place; running machines keep the copy they fetched at boot until they restart", true),
      ...inPlace("type", "description", "key_id", "allowed_pattern", "overwrite", "insecure_value"),
      {
        path: "tier",
        effect: "update",
        note: "updated in place; Advanced -> Standard is ForceNew (CustomizeDiff)",
        decide: (before, after) => (before === "Advanced" && after === "Standard" ? "replace" : "update"),
      },
      ...TAGS,
    ],
    recomputedOnUpdate: (paths) => (paths.some((p) => p === "value" || p === "description" || p === "insecure_value") ? ["version"] : []),
  },
  "data.aws_ami": {
    source: aws("internal/service/ec2/ec2_ami_data_source.go", "not needed: a data source has no ForceNew, it is read at every plan"),
    rules: [
      update(
        "*",
        "read at every plan: with most_recent a newer image changes the agents' template (image_id: a rolling refresh) without any change here; the masters ignore ami unless it is pinned",
        true,
      ),
    ],
  },

  "data.aws_caller_identity": {
    source: aws("internal/service/sts/caller_identity_data_source.go", "not needed: a data source has no ForceNew, it is read at every plan"),
    rules: [update("*", "read at every plan: the account Terraform runs in; another account changes the masters' parameter policy in place", true)],
  },
  "data.aws_partition": {
    source: aws("internal/service/meta/partition_data_source.go", "not needed: a data source has no ForceNew, it is read at every plan"),
    rules: [update("*", "read at every plan: aws, aws-cn or aws-us-gov, from the provider's region", true)],
  },

  // ================= random 3.7.2, tls 4.1.0, null 3.2.4 =================
  random_password: {
    source: { repository: "hashicorp/terraform-provider-random", path: "internal/provider/resource_password.go", version: "3.7.2" },
    rules: [replace("*", "RequiresReplace: a new password; the secret holding it gets a new version, running masters keep the old one until they restart", true)],
  },
  random_string: {
    source: { repository: "hashicorp/terraform-provider-random", path: "internal/provider/resource_string.go", version: "3.7.2" },
    rules: [replace("*", "RequiresReplace: a new value")],
  },
  tls_private_key: {
    source: { repository: "hashicorp/terraform-provider-tls", path: "internal/provider/resource_private_key.go", version: "4.1.0" },
    rules: [replace("*", "RequiresReplace: a new key")],
  },
  tls_cert_request: {
    source: { repository: "hashicorp/terraform-provider-tls", path: "internal/provider/resource_cert_request.go", version: "4.1.0" },
    rules: [replace("*", "RequiresReplace: a new certificate request")],
  },
  tls_self_signed_cert: {
    source: { repository: "hashicorp/terraform-provider-tls", path: "internal/provider/resource_self_signed_cert.go", version: "4.1.0" },
    rules: [replace("*", "RequiresReplace: a new certificate (also at any plan within early_renewal_hours of its end)"), update("early_renewal_hours", "updated in place")],
  },
  tls_locally_signed_cert: {
    source: { repository: "hashicorp/terraform-provider-tls", path: "internal/provider/resource_locally_signed_cert.go", version: "4.1.0" },
    rules: [replace("*", "RequiresReplace: a new certificate (also at any plan within early_renewal_hours of its end)"), update("early_renewal_hours", "updated in place")],
  },
  null_resource: {
    source: { repository: "hashicorp/terraform-provider-null", path: "internal/provider/resource.go", version: "3.2.4" },
    rules: [
      replace(
        "triggers",
        "RequiresReplace: its provisioners run again (the readiness gate waits for the cluster; a Marathon app is put again, after its destroy-time command deleted it when the `app` resource is the one replaced)",
        true,
      ),
    ],
  },
};

function securityGroupRuleRules(): AttributeRule[] {
  // ModifyPlan: "When you modify a rule, you cannot change the rule's source type" -> RequiresReplace.
  const source = (path: string): AttributeRule => ({
    path,
    effect: "update",
    note: "modified in place (ModifySecurityGroupRules); a change of the source's kind (CIDR <-> group) is RequiresReplace",
    decide: (before, after) => ((before === undefined) !== (after === undefined) ? "replace" : "update"),
  });
  return [
    replace("security_group_id", "RequiresReplace: a rule belongs to one group"),
    source("cidr_ipv4"),
    source("cidr_ipv6"),
    source("referenced_security_group_id"),
    source("prefix_list_id"),
    ...["from_port", "to_port", "ip_protocol", "description"].map((p) => update(p, "modified in place (ModifySecurityGroupRules)")),
    ...TAGS,
  ];
}

function userDataVerdict(resource: Record<string, unknown>): Verdict {
  return resource.user_data_replace_on_change === true
    ? { effect: "replace", note: "ForceNew while user_data_replace_on_change is true (ours: cloud-init applies a document once per instance)" }
    : { effect: "update", restarts: true, consequence: true, note: "updated in place: the provider stops the instance, sets the user data and starts it again (the master is down meanwhile); cloud-init does not apply the new document again" };
}

/** Per resource type: its rules (the table without sources). */
export const REPLACEMENT_RULES: Readonly<Record<string, readonly AttributeRule[]>> = Object.fromEntries(Object.entries(REPLACEMENT_TABLE).map(([type, entry]) => [type, entry.rules]));

/** Attributes that are Terraform meta-arguments, never a change of the remote object. */
export const META_ATTRIBUTES = new Set(["//", "lifecycle", "depends_on", "provider", "provisioner", "connection", "count", "for_each"]);

/** `a[0].b[2].c` -> `a.b.c`: rule paths ignore list positions. */
export function normalizePath(path: string): string {
  return path.replace(/\[\d+\]/g, "");
}

/** The most specific rule covering `path` of a `type` resource (`data.<type>` for data sources), if any. */
export function ruleFor(type: string, path: string): AttributeRule | undefined {
  const normalized = normalizePath(path);
  let best: AttributeRule | undefined;
  for (const rule of REPLACEMENT_TABLE[type]?.rules ?? []) {
    // `*` covers every attribute of a type whose arguments all force replacement; any named rule is more specific.
    if (rule.path === "*" || normalized === rule.path || normalized.startsWith(`${rule.path}.`)) {
      if (!best || rule.path.length > best.path.length) best = rule;
    }
  }
  return best;
}

/** The verdict of a rule for one change (static fields, refined by `decide`). */
export function verdictOf(rule: AttributeRule, before: unknown, after: unknown, resource: Record<string, unknown>): Required<Pick<Verdict, "effect">> & Omit<Verdict, "effect"> & { note: string } {
  const base = { effect: rule.effect as Verdict["effect"], note: rule.note, consequence: rule.consequence, restarts: rule.restarts };
  if (!rule.decide) return base;
  const decided = rule.decide(before, after, resource);
  if (typeof decided === "string") return { ...base, effect: decided, restarts: decided === "update" ? rule.restarts : false };
  return { ...base, ...decided, note: decided.note ?? base.note, consequence: decided.consequence ?? base.consequence, restarts: decided.restarts ?? (decided.effect === "update" ? base.restarts : false) };
}
