/**
 * What a VM size / instance type offers: vCPUs, memory and CPU architecture.
 * Each cloud target looks its sizes up in its own table
 * (vm-sizes-aws.ts, vm-sizes-azure.ts: generated from the clouds' own size
 * APIs, with source and date); {@link MachineSet} compares them with what the
 * roles on the machines need, and a {@link MarathonApp} with what it asks.
 *
 * A size missing from a table is not refused: the tables are snapshots, and
 * a newer size would be refused for no reason. Only what the table knows
 * is checked; an unknown size passes as before (the cloud refuses a size that
 * does not exist at apply).
 */

/** Capacity of one VM size or instance type. */
export interface VmSizeInfo {
  /** The size as given. */
  readonly name: string;
  /** vCPUs the guest sees (for Azure constrained-core sizes such as E4-2s_v5, the active ones). */
  readonly vcpus: number;
  /** Memory in GiB. */
  readonly memoryGib: number;
  /** CPU architecture. */
  readonly arch: "x86_64" | "arm64";
}

/**
 * Parses one family line of a size table: `"<size>:<vcpus>:<GiB> ..."`,
 * keyed by the size token.
 */
export function parseFamily(line: string): Map<string, { vcpus: number; memoryGib: number }> {
  const sizes = new Map<string, { vcpus: number; memoryGib: number }>();
  for (const entry of line.trim().split(/\s+/)) {
    const [size, vcpus, gib] = entry.split(":");
    sizes.set(size, { vcpus: Number(vcpus), memoryGib: Number(gib) });
  }
  return sizes;
}

/** `2 vCPUs and 8 GiB`, for messages. */
export function describeCapacity(info: { vcpus: number; memoryGib: number }): string {
  return `${info.vcpus} vCPU${info.vcpus === 1 ? "" : "s"} and ${info.memoryGib} GiB`;
}
