import type { CloudConfig } from "./core/cloud-config";
import { RunPhase } from "./core/cloud-config";
import type { DockerEngine } from "./core/container-image";
import { DOCKER_APT_KEY } from "./core/docker-apt-key";
import { ROLE_NAMES } from "./core/role-header";
import { addScript, addUnit, CONFIG_DIR, SCRIPT_DIR } from "./core/systemd";
import type { INodeRole, NodeContext } from "./nodes";

/*
 * The roles every machine set applies before the roles attached to it: the
 * Docker host, the cluster's DNS (when a MesosDns serves the set), the secret
 * fetcher (when a role reads a secret), and the data disk (fixed groups that
 * have one). They are not named in the document's
 * header line, which lists the cluster roles (role-header.ts).
 */

/** The unit that mounts the data disk; stateful services require it. */
export const DATA_DISK_UNIT = "mesos-data-disk.service";
/** Where persistent data lives on every machine (the data disk's mount point when there is one). */
export const DATA_ROOT = "/var/lib/mesos-cluster";
/** The program (from the cloud target) that prints a cluster secret at boot. */
export const SECRET_FETCHER = "fetch-cluster-secret";

/** What every machine gets: SSH without passwords and the pinned Docker engine. */
export class DockerHostRole implements INodeRole {
  public readonly roleName = ROLE_NAMES.dockerHost;

  constructor(private readonly engine: DockerEngine) {}

  public configure(config: CloudConfig, node: NodeContext): void {
    config.setOption("ssh_pwauth", false);
    config.setOption("disable_root", true);
    // Docker's release signing key, fetched at first boot and pinned by fingerprint (docker-apt-key.ts).
    config.addAptSource("docker.list", "https://download.docker.com/linux/ubuntu $RELEASE stable", DOCKER_APT_KEY);
    config.addPackage("docker-ce", this.engine.aptVersion);
    config.addPackage("docker-ce-cli", this.engine.aptVersion);
    config.addPackage("containerd.io", this.engine.containerdAptVersion);
    // Keep unattended upgrades from moving the engine Swarm depends on, and the containerd and runc it runs on.
    config.addCommand(RunPhase.PREPARE, "apt-mark", "hold", "docker-ce", "docker-ce-cli", "containerd.io");
    config.addCommand(RunPhase.PREPARE, "mkdir", "-p", CONFIG_DIR, node.dataRoot);
    addScript(config, "cluster-host-ip", `# Prints this machine's private IP (the source address towards the cluster network).\n${node.hostIpCommand}`);
  }
}

/** The cloud's secret fetcher, on machines where a role reads a secret at boot. */
export class SecretFetcherRole implements INodeRole {
  public readonly roleName = ROLE_NAMES.secretFetcher;

  /** `needed` says, at render time, whether any role reads a secret; `source` gives the cloud target's fetcher then. */
  constructor(
    private readonly needed: () => boolean,
    private readonly source: () => string,
  ) {}

  public configure(config: CloudConfig): void {
    if (this.needed()) config.addFile({ path: `${SCRIPT_DIR}/${SECRET_FETCHER}`, permissions: "0700", content: this.source() });
  }
}

/**
 * Mounts the data disk at {@link DATA_ROOT}: found by the cloud target's
 * locator, formatted only when blank, never otherwise (the disk outlives the
 * machine), and mounted by UUID.
 */
export class DataDiskRole implements INodeRole {
  public readonly roleName = ROLE_NAMES.dataDisk;

  /** `locator`: shell that prints the data disk's device (the cloud target's `dataDiskLocator`). */
  constructor(private readonly locator: string) {}

  public configure(config: CloudConfig): void {
    const script = addScript(
      config,
      "mount-data-disk",
      `
# Mounts the data disk at ${DATA_ROOT}. The disk outlives this machine: it is
# formatted only when blank, never otherwise.
mount_point=${DATA_ROOT}
if mountpoint -q "$mount_point"; then exit 0; fi
locate_disk() {
${this.locator.trim().replace(/^/gm, "  ")}
}
device=""
for _ in $(seq 1 120); do
  if device=$(locate_disk) && [ -n "$device" ] && [ -b "$device" ]; then break; fi
  device=""
  sleep 5
done
if [ -z "$device" ]; then
  echo "mount-data-disk: no data disk appeared within 10 minutes" >&2
  exit 1
fi
if ! blkid "$device" >/dev/null 2>&1; then
  mkfs.ext4 -q -L mesos-data "$device"
fi
uuid=$(blkid -s UUID -o value "$device")
mkdir -p "$mount_point"
if ! grep -q "UUID=$uuid" /etc/fstab; then
  echo "UUID=$uuid $mount_point ext4 defaults,nofail,x-systemd.device-timeout=5min 0 2" >> /etc/fstab
fi
mount "$mount_point"`,
    );
    addUnit(config, DATA_DISK_UNIT, {
      Unit: { Description: "Mount the data disk that survives machine replacement", After: "local-fs.target" },
      Service: { Type: "oneshot", RemainAfterExit: "yes", ExecStart: script, TimeoutStartSec: "15min" },
      Install: { WantedBy: "multi-user.target" },
    });
    config.enableUnit(DATA_DISK_UNIT);
  }
}

/** Where a machine's resolver routes the cluster's domain: a {@link ClusterDnsRole}'s settings. */
export interface ClusterDnsSettings {
  /** The domain the servers answer, e.g. `mesos`. */
  readonly domain: string;
  /** The servers' IPv4 addresses (port 53). */
  readonly servers: readonly string[];
}

/** The systemd-resolved drop-in a {@link ClusterDnsRole} writes. */
export const CLUSTER_DNS_DROP_IN = "/etc/systemd/resolved.conf.d/mesos-dns.conf";

/**
 * Routes the cluster's domain to its DNS servers on a machine: a drop-in for
 * systemd-resolved (Ubuntu 22.04: systemd 249) with the servers as global
 * `DNS=` and `Domains=~<domain>`, a routing-only domain (systemd/systemd-stable
 * v249.11 man/resolved.conf.xml `DNS=`, `Domains=`: "~"-prefixed domains only
 * route lookups, they are not searched). A query for `x.<domain>` then goes to
 * the global servers alone: the longest matching routing domain picks the
 * scope (man/systemd-resolved.service.xml, "Protocols and Routing";
 * src/resolve/resolved-dns-scope.c `dns_scope_good_domain`: "Always honour
 * search domains for routing queries", the global scope's included). Every other name
 * also still goes to the link's own servers (the cloud's resolver, from DHCP):
 * the global scope is always a default route in 249
 * (resolved-dns-scope.c `dns_scope_is_default_route`) and the first answer
 * wins, which is why Mesos-DNS forwards such names to the cloud's resolver
 * too. resolved reads drop-ins when it starts: cloud-init writes the file
 * after it did, so the first boot restarts it before any service starts.
 */
export class ClusterDnsRole implements INodeRole {
  public readonly roleName = ROLE_NAMES.clusterDns;

  constructor(private readonly settings: ClusterDnsSettings) {}

  public configure(config: CloudConfig): void {
    addUnit(config, CLUSTER_DNS_DROP_IN, { Resolve: { DNS: this.settings.servers.join(" "), Domains: `~${this.settings.domain}` } });
    config.addCommand(RunPhase.PREPARE, "systemctl", "restart", "systemd-resolved");
  }
}
