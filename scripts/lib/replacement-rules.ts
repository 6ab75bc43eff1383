/**
 * Which attribute changes make Terraform REPLACE a resource (destroy and
 * create) and which it updates in place, for the resource types our
 * constructs emit. The one place plan-diff learns this: every entry says
 * what the provider does, so a reviewer can check it against the provider's
 * schema (`ForceNew` in azurerm 4.x / aws 6.x) and trust the report.
 *
 * An attribute that is in neither list is reported as "not assessed" (on a
 * master or data disk it counts as a possible replacement), never guessed.
 */

/** What a change of one attribute does to its resource. */
export type AttributeEffect = "replace" | "update";

/** One attribute (or block) of a resource type. */
export interface AttributeRule {
  /** Attribute path with list indices dropped: `custom_data`, `os_disk.storage_account_type`. A block path covers everything inside it. */
  readonly path: string;
  readonly effect: AttributeEffect;
  /** What the provider does and why; shown to reviewers next to the change. */
  readonly note: string;
  /**
   * For rules that depend on the values: the effect for this change
   * (`before`/`after` are the attribute's values, `resource` the head config).
   */
  readonly decide?: (before: unknown, after: unknown, resource: Record<string, unknown>) => AttributeEffect;
}

const replace = (path: string, note: string): AttributeRule => ({ path, effect: "replace", note });
const update = (path: string, note: string): AttributeRule => ({ path, effect: "update", note });

/**
 * What a change of an agent pool's document, size or image does to running
 * agents (README "Changing the agent pools"). Azure: upgrade_mode Rolling
 * with surge (constructs/cloud/azure.ts); AWS: instance_refresh following
 * the template's latest_version (constructs/cloud/aws.ts).
 */
const POOL_ROLL_AZURE =
  "ROLLING: Azure replaces the agents with new ones built from the new model, at most 34% a batch, each batch waiting until the new agents' Mesos /health answers (tasks on a replaced agent are killed and rescheduled by their framework)";
const POOL_ROLL_AWS =
  "ROLLING: a new template version starts an instance refresh that replaces the agents, keeping 66% in service, 10 minutes of warm-up each (tasks on a replaced agent are killed and rescheduled by their framework)";

/** Tags never replace anything. */
const TAGS = [update("tags", "tags are updated in place"), update("tags_all", "tags are updated in place")];

/** Per resource type: the attributes whose effect we know. */
export const REPLACEMENT_RULES: Readonly<Record<string, readonly AttributeRule[]>> = {
  // ---- Azure (azurerm provider 4.x) ----
  azurerm_linux_virtual_machine: [
    replace("custom_data", "ForceNew: cloud-init reads custom data once, at the first boot"),
    replace("name", "ForceNew: the VM's resource name"),
    replace("computer_name", "ForceNew: the guest host name is set at provisioning"),
    replace("resource_group_name", "ForceNew"),
    replace("location", "ForceNew"),
    replace("zone", "ForceNew: a VM cannot move between availability zones"),
    replace("admin_username", "ForceNew: set at provisioning"),
    replace("admin_ssh_key", "ForceNew: keys are injected at provisioning only"),
    replace("disable_password_authentication", "ForceNew"),
    replace("source_image_reference", "ForceNew: the OS disk is created from the image"),
    replace("source_image_id", "ForceNew: the OS disk is created from the image"),
    replace("os_disk.storage_account_type", "ForceNew: Azure refuses to change an OS disk's storage type in place"),
    replace("os_disk.name", "ForceNew"),
    replace("os_disk.diff_disk_settings", "ForceNew"),
    replace("availability_set_id", "ForceNew"),
    replace("priority", "ForceNew"),
    replace("eviction_policy", "ForceNew"),
    replace("provision_vm_agent", "ForceNew"),
    replace("secure_boot_enabled", "ForceNew"),
    replace("vtpm_enabled", "ForceNew"),
    update("size", "resized in place: the VM restarts (and is deallocated when the new size needs other hardware)"),
    update("os_disk.disk_size_gb", "grown in place: the VM is deallocated, then started"),
    update("os_disk.caching", "updated in place (the VM restarts)"),
    update("network_interface_ids", "updated in place: the VM is deallocated to swap NICs"),
    update("user_data", "updated in place (not what our constructs use)"),
    update("boot_diagnostics", "updated in place"),
    update("identity", "updated in place"),
    update("encryption_at_host_enabled", "updated in place: the VM is deallocated"),
    ...TAGS,
  ],
  azurerm_managed_disk: [
    replace("name", "ForceNew"),
    replace("resource_group_name", "ForceNew"),
    replace("location", "ForceNew"),
    replace("zone", "ForceNew: a disk cannot move between availability zones"),
    replace("create_option", "ForceNew"),
    replace("source_resource_id", "ForceNew"),
    replace("image_reference_id", "ForceNew"),
    {
      path: "disk_size_gb",
      effect: "update",
      note: "grown in place (the provider stops an attached VM when the disk needs it); a SMALLER size forces a new, empty disk",
      decide: (before, after) => (typeof before === "number" && typeof after === "number" && after < before ? "replace" : "update"),
    },
    {
      path: "storage_account_type",
      effect: "update",
      note: "converted in place (an attached VM is stopped); to or from UltraSSD_LRS / PremiumV2_LRS forces a new disk",
      decide: (before, after) => ([before, after].some((t) => t === "UltraSSD_LRS" || t === "PremiumV2_LRS") ? "replace" : "update"),
    },
    ...TAGS,
  ],
  azurerm_virtual_machine_data_disk_attachment: [
    replace("managed_disk_id", "ForceNew: detach and attach (the disk and its data stay)"),
    replace("virtual_machine_id", "ForceNew: detach and attach (the disk and its data stay)"),
    replace("lun", "ForceNew: detach and attach at the new LUN"),
    replace("create_option", "ForceNew"),
    update("caching", "updated in place"),
    update("write_accelerator_enabled", "updated in place"),
  ],
  azurerm_network_interface: [
    replace("name", "ForceNew"),
    replace("resource_group_name", "ForceNew"),
    replace("location", "ForceNew"),
    update("ip_configuration", "updated in place, including the static private IP, its subnet and public IP"),
    update("accelerated_networking_enabled", "updated in place"),
    update("ip_forwarding_enabled", "updated in place"),
    update("dns_servers", "updated in place"),
    ...TAGS,
  ],
  azurerm_network_interface_application_security_group_association: [
    replace("network_interface_id", "ForceNew"),
    replace("application_security_group_id", "ForceNew"),
  ],
  azurerm_public_ip: [
    replace("name", "ForceNew: the address changes"),
    replace("resource_group_name", "ForceNew: the address changes"),
    replace("location", "ForceNew: the address changes"),
    replace("zones", "ForceNew: the address changes"),
    replace("sku", "ForceNew: the address changes"),
    replace("ip_version", "ForceNew: the address changes"),
    update("allocation_method", "updated in place"),
    update("domain_name_label", "updated in place"),
    update("idle_timeout_in_minutes", "updated in place"),
    ...TAGS,
  ],
  azurerm_linux_virtual_machine_scale_set: [
    replace("name", "ForceNew: every agent is recreated"),
    replace("resource_group_name", "ForceNew: every agent is recreated"),
    replace("location", "ForceNew: every agent is recreated"),
    replace("computer_name_prefix", "ForceNew: every agent is recreated"),
    replace("admin_username", "ForceNew: every agent is recreated"),
    replace("upgrade_mode", "ForceNew: every agent is recreated"),
    replace("zone_balance", "ForceNew: every agent is recreated"),
    replace("os_disk.storage_account_type", "ForceNew: every agent is recreated"),
    update("instances", "scaled in place: agents are added or removed"),
    update("sku", POOL_ROLL_AZURE),
    update("custom_data", POOL_ROLL_AZURE),
    update("source_image_reference", POOL_ROLL_AZURE),
    replace("rolling_upgrade_policy", "ForceNew: every agent is recreated"),
    update("extension", "the model is updated; the health extension is installed on every agent"),
    update("os_disk.disk_size_gb", "the model is updated"),
    update("os_disk.caching", "the model is updated"),
    update("network_interface", "the model is updated"),
    update("overprovision", "updated in place"),
    update("single_placement_group", "updated in place (true to false only)"),
    ...TAGS,
  ],
  azurerm_network_security_rule: [
    replace("name", "ForceNew"),
    replace("resource_group_name", "ForceNew"),
    replace("network_security_group_name", "ForceNew"),
    update("source_address_prefix", "updated in place"),
    update("source_address_prefixes", "updated in place"),
    update("source_application_security_group_ids", "updated in place"),
    update("destination_application_security_group_ids", "updated in place"),
    update("destination_address_prefixes", "updated in place (masters are named by their static IPs)"),
    update("destination_port_range", "updated in place"),
    update("priority", "updated in place"),
    update("description", "updated in place"),
    update("access", "updated in place"),
    update("protocol", "updated in place"),
  ],
  azurerm_key_vault_secret: [
    replace("name", "ForceNew"),
    replace("key_vault_id", "ForceNew"),
    update("value", "a new version of the secret, in place"),
    update("content_type", "updated in place"),
    ...TAGS,
  ],
  // ---- tls 4.x and random 3.x: every argument forces a new key, certificate or value ----
  tls_private_key: [replace("*", "RequiresReplace: a new key")],
  tls_cert_request: [replace("*", "RequiresReplace: a new certificate request")],
  tls_self_signed_cert: [replace("*", "RequiresReplace: a new certificate"), update("early_renewal_hours", "updated in place")],
  tls_locally_signed_cert: [replace("*", "RequiresReplace: a new certificate"), update("early_renewal_hours", "updated in place")],
  random_password: [replace("*", "RequiresReplace: a new password")],
  random_string: [replace("*", "RequiresReplace: a new value")],
  // ---- AWS (aws provider 6.x) ----
  aws_instance: [
    {
      path: "user_data",
      effect: "update",
      note: "ForceNew while user_data_replace_on_change is true (ours: cloud-init applies a document once per instance); otherwise the instance is stopped and started",
      decide: (_b, _a, resource) => (resource.user_data_replace_on_change === true ? "replace" : "update"),
    },
    {
      path: "user_data_base64",
      effect: "update",
      note: "ForceNew while user_data_replace_on_change is true (ours); otherwise the instance is stopped and started",
      decide: (_b, _a, resource) => (resource.user_data_replace_on_change === true ? "replace" : "update"),
    },
    replace("ami", "ForceNew (ignored through lifecycle.ignore_changes unless the AMI is pinned)"),
    replace("availability_zone", "ForceNew"),
    replace("subnet_id", "ForceNew"),
    replace("private_ip", "ForceNew: the primary private IP is fixed at launch"),
    replace("associate_public_ip_address", "ForceNew"),
    replace("key_name", "ForceNew"),
    replace("root_block_device.encrypted", "ForceNew"),
    replace("root_block_device.kms_key_id", "ForceNew"),
    replace("placement_group", "ForceNew"),
    replace("tenancy", "ForceNew"),
    replace("cpu_options", "ForceNew"),
    replace("ebs_block_device", "ForceNew"),
    replace("ephemeral_block_device", "ForceNew"),
    replace("network_interface", "ForceNew"),
    replace("launch_template", "ForceNew"),
    update("instance_type", "updated in place: the instance is stopped, changed and started"),
    update("user_data_replace_on_change", "no action on the instance by itself"),
    update("vpc_security_group_ids", "updated in place"),
    update("metadata_options", "updated in place"),
    update("root_block_device.volume_size", "the root volume is modified in place (grow only)"),
    update("root_block_device.volume_type", "the root volume is modified in place"),
    update("root_block_device.iops", "the root volume is modified in place"),
    update("root_block_device.throughput", "the root volume is modified in place"),
    update("root_block_device.delete_on_termination", "updated in place"),
    update("iam_instance_profile", "updated in place"),
    update("monitoring", "updated in place"),
    update("disable_api_termination", "updated in place"),
    update("source_dest_check", "updated in place"),
    ...TAGS,
  ],
  aws_ebs_volume: [
    replace("availability_zone", "ForceNew: a volume cannot move between zones"),
    replace("encrypted", "ForceNew"),
    replace("kms_key_id", "ForceNew"),
    replace("snapshot_id", "ForceNew: a new volume from the snapshot"),
    replace("outpost_arn", "ForceNew"),
    update("size", "modified in place (grow only: EC2 refuses to shrink a volume, it is not replaced)"),
    update("type", "modified in place"),
    update("iops", "modified in place"),
    update("throughput", "modified in place"),
    update("final_snapshot", "updated in place"),
    ...TAGS,
  ],
  aws_volume_attachment: [
    replace("device_name", "ForceNew: detach and attach (the volume and its data stay)"),
    replace("instance_id", "ForceNew: detach and attach (the volume and its data stay)"),
    replace("volume_id", "ForceNew: detach and attach"),
    update("force_detach", "no action by itself"),
    update("skip_destroy", "no action by itself"),
    update("stop_instance_before_detaching", "no action by itself"),
  ],
  aws_launch_template: [
    replace("name", "ForceNew"),
    replace("name_prefix", "ForceNew"),
    update("user_data", POOL_ROLL_AWS),
    update("image_id", POOL_ROLL_AWS),
    update("instance_type", POOL_ROLL_AWS),
    update("key_name", "a new template version"),
    update("block_device_mappings", "a new template version"),
    update("metadata_options", "a new template version"),
    update("network_interfaces", "a new template version"),
    update("tag_specifications", "a new template version"),
    update("update_default_version", "updated in place"),
    ...TAGS,
  ],
  aws_vpc_security_group_ingress_rule: [
    replace("security_group_id", "RequiresReplace: a rule belongs to one group"),
    update("cidr_ipv4", "modified in place (ModifySecurityGroupRules)"),
    update("referenced_security_group_id", "modified in place"),
    update("from_port", "modified in place"),
    update("to_port", "modified in place"),
    update("ip_protocol", "modified in place"),
    update("description", "modified in place"),
    ...TAGS,
  ],
  aws_ssm_parameter: [
    replace("name", "ForceNew"),
    update("value", "a new version of the parameter, in place"),
    update("description", "updated in place"),
    ...TAGS,
  ],
  aws_autoscaling_group: [


    replace("name", "ForceNew: every agent is recreated"),
    update("min_size", "scaled in place"),
    update("max_size", "scaled in place"),
    update("desired_capacity", "scaled in place: agents are launched or terminated"),
    update("vpc_zone_identifier", "updated in place"),
    update("launch_template", POOL_ROLL_AWS),
    update("instance_refresh", "updated in place; applies to the next refresh"),
    update("health_check_type", "updated in place"),
    update("tag", "updated in place"),
  ],
};

/** Attributes that are Terraform meta-arguments, never a change of the remote object. */
export const META_ATTRIBUTES = new Set(["//", "lifecycle", "depends_on", "provider", "provisioner", "connection", "count", "for_each"]);

/** `a[0].b[2].c` -> `a.b.c`: rule paths ignore list positions. */
export function normalizePath(path: string): string {
  return path.replace(/\[\d+\]/g, "");
}

/** The most specific rule covering `path` of a `type` resource, if any. */
export function ruleFor(type: string, path: string): AttributeRule | undefined {
  const normalized = normalizePath(path);
  let best: AttributeRule | undefined;
  for (const rule of REPLACEMENT_RULES[type] ?? []) {
    // `*` covers every attribute of a type whose arguments all force replacement; any named rule is more specific.
    if (rule.path === "*" || normalized === rule.path || normalized.startsWith(`${rule.path}.`)) {
      if (!best || rule.path.length > best.path.length) best = rule;
    }
  }
  return best;
}
