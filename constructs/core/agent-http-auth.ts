import { CloudConfig } from "./cloud-config";
import { addScript, addUnit } from "./systemd";

/**
 * HTTP authentication of a Mesos agent's own API (port 5051): the sandboxes
 * (`/files/*`), `/state`, `/containers`, `/flags`, `/monitor/statistics` and
 * the operator API `/api/v1` (KILL_CONTAINER, LAUNCH_NESTED_CONTAINER...),
 * which every task on the agent reaches without crossing a network rule.
 *
 * Each agent gets its own credential, generated at boot from the kernel's
 * random source into tmpfs, readable by root only: agents have no cloud
 * identity and read no secret from the secret store (a task could use an
 * identity through instance metadata), so nothing but root on that host
 * knows it, and no secret is in user data.
 *
 * What Mesos 1.7.1 does with it (apache/mesos 1.7.1):
 * - `src/slave/flags.cpp`: `authenticate_http_readwrite`,
 *   `authenticate_http_readonly` (default false) and `http_credentials`
 *   (`{"credentials":[{"principal":..,"secret":..}]}`; `file://` optional)
 *   exist in every build; `authenticate_http_executors` and `jwt_secret_key`
 *   (deprecated alias `executor_secret_key`) only `#ifdef USE_SSL_SOCKET`.
 * - `src/slave/slave.cpp` `Slave::initialize`: each of the two switches
 *   installs the authenticators of its realm (`mesos-agent-readwrite`,
 *   `mesos-agent-readonly`), exiting when the credentials file is missing or
 *   empty. `/api/v1` is routed in the read-write realm; `/state`, `/flags`,
 *   `/containers`, `/monitor/statistics` in the read-only one; `/health` in
 *   none, so it stays open (the health relay keeps working).
 *   `src/slave/main.cpp`: `Files(READONLY_HTTP_AUTHENTICATION_REALM, ...)`
 *   (`/files/browse|read|download|debug`), and libprocess' own endpoints
 *   (`/metrics/snapshot`, `/logging/toggle`) take the same two realms.
 * - `3rdparty/libprocess/src/process.cpp`: a POST with `Libprocess-From` (or
 *   a `libprocess/` User-Agent) is a message, delivered before any route or
 *   realm is looked at (`ProcessManager::handle`); only routes go through
 *   `ProcessBase::_consume` → `AuthenticatorManager::authenticate`. So the
 *   master's messages (RunTask, KillTask, ...), the Docker executor's
 *   (`src/docker/executor.cpp`: v0 `MesosExecutorDriver`), Marathon's and
 *   Swarm's (mesos-go `messenger/http_transporter.go` sets `Libprocess-From`)
 *   are untouched. `/api/v1/executor` is in the executor realm, which has no
 *   authenticator without `authenticate_http_executors`
 *   (`authenticator_manager.cpp`: no authenticator for a realm = allowed),
 *   so the command executor (v1, `src/executor/executor.cpp`) keeps working.
 * - `http_authenticators` is left unset: its 1.7.1 default is `basic`, and
 *   `basic,jwt` when `authenticate_http_executors` is on (slave.cpp). Setting
 *   `basic` explicitly would, on an SSL build with executor authentication,
 *   refuse the executors' JWTs in every realm.
 */
export const AGENT_HTTP_AUTH_FLAGS = ["authenticate_http_readwrite", "authenticate_http_readonly", "http_credentials"] as const;

/** The principal of an agent's generated HTTP credential. */
export const AGENT_HTTP_PRINCIPAL = "operator";

/** File names, under the machine's secrets directory, of what {@link addAgentHttpCredentials} writes. */
export const AGENT_HTTP_CREDENTIALS_FILE = "mesos-agent-http-credentials.json";
/** File name of the generated JWT signing key (used only when a user sets `jwt_secret_key` on an SSL build). */
export const AGENT_JWT_KEY_FILE = "mesos-agent-jwt-secret-key";

/** Where the credentials file is mounted (read-only) in the agent's container. */
export const AGENT_HTTP_CREDENTIALS_IN_CONTAINER = "/etc/mesos/http-credentials.json";
/**
 * Where the JWT signing key is mounted in the agent's container. Mesos reads
 * it only with `jwt_secret_key`, which exists only in SSL builds (an unknown
 * `MESOS_*` flag makes the agent exit: stout flags.hpp "Failed to load
 * unknown flag"), so the pool never sets it: on an SSL build a user passes
 * `jwt_secret_key` (this path), `authenticate_http_executors` and `acls`
 * through `extraFlags`.
 */
export const AGENT_JWT_KEY_IN_CONTAINER = "/etc/mesos/jwt-secret-key";

/** The agent flags (name to value) that turn authentication on. */
export function agentHttpAuthFlags(): Record<(typeof AGENT_HTTP_AUTH_FLAGS)[number], string> {
  return {
    authenticate_http_readwrite: "true",
    authenticate_http_readonly: "true",
    http_credentials: AGENT_HTTP_CREDENTIALS_IN_CONTAINER,
  };
}

/**
 * The body of the boot script that writes the agent's credential and JWT key
 * into `secretsDir` (created 0700; files 0600), once per boot: an existing
 * non-empty file is kept, so restarting the agent keeps its credential and a
 * reboot (tmpfs) makes a new one. Each file is written under another name and
 * renamed, so the agent never reads half a file.
 */
export function agentHttpCredentialsScript(secretsDir: string): string {
  return `
# Generates this agent's HTTP credential and a JWT signing key from the kernel's random source,
# root-only in tmpfs, before the agent starts. No secret is in user data; agents read no secret store.
creds=${secretsDir}/${AGENT_HTTP_CREDENTIALS_FILE}
key=${secretsDir}/${AGENT_JWT_KEY_FILE}
install -d -m 0700 ${secretsDir}
umask 077
if [ ! -s "$creds" ]; then
  secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \\n')
  printf '{"credentials":[{"principal":"${AGENT_HTTP_PRINCIPAL}","secret":"%s"}]}\\n' "$secret" > "$creds.new"
  mv "$creds.new" "$creds"
fi
if [ ! -s "$key" ]; then
  od -An -tx1 -N32 /dev/urandom | tr -d ' \\n' > "$key.new"
  mv "$key.new" "$key"
fi`;
}

/**
 * Adds the boot script to the agent's document; returns the script's path
 * (for the agent unit's `ExecStartPre=`) and the read-only mounts of the
 * agent's container.
 */
export function addAgentHttpCredentials(config: CloudConfig, secretsDir: string): { script: string; volumes: string[] } {
  const script = addScript(config, "mesos-agent-http-credentials", agentHttpCredentialsScript(secretsDir));
  return {
    script,
    volumes: [
      `${secretsDir}/${AGENT_HTTP_CREDENTIALS_FILE}:${AGENT_HTTP_CREDENTIALS_IN_CONTAINER}:ro`,
      `${secretsDir}/${AGENT_JWT_KEY_FILE}:${AGENT_JWT_KEY_IN_CONTAINER}:ro`,
    ],
  };
}

// ---------------------------------------------------------------------------
// The agents' credential towards the masters (`--credential`), and closing
// the instance metadata service once it is read.

/**
 * The principal agents authenticate to the masters with (one per cluster;
 * the masters' credentials file lists it: MesosMasterGroup `agentCredentials`).
 */
export const AGENT_PRINCIPAL = "mesos-agent";

/** File name, under the machine's secrets directory, of the agent's credential. */
export const AGENT_CREDENTIAL_FILE = "mesos-agent-credential.json";
/** Where the credential is mounted (read-only) in the agent's container; `--credential` names it. */
export const AGENT_CREDENTIAL_IN_CONTAINER = "/etc/mesos/agent-credential.json";
/** The agent flags the pool manages when it authenticates. */
export const AGENT_CREDENTIAL_FLAGS = ["credential"] as const;

/** The unit that reads the credential from the secret store at boot. */
export const AGENT_CREDENTIAL_UNIT = "mesos-agent-credential.service";
/** The unit that closes the instance metadata service, after the credential is read. */
export const IMDS_BLOCK_UNIT = "mesos-imds-block.service";
/** The Docker drop-in that makes the engine wait for, and require, the block. */
export const IMDS_BLOCK_DROP_IN = "/etc/systemd/system/docker.service.d/20-imds-block.conf";
/** Instance metadata addresses: both clouds' IPv4 one, and AWS's IPv6 one (fd00:ec2::254, off unless enabled). */
export const IMDS_IPV4 = "169.254.169.254";
export const IMDS_IPV6 = "fd00:ec2::254";

/**
 * The net_cls class (cgroup v1 `net_cls.classid`) whose sockets may still
 * reach instance metadata on 169.254.169.254:80 through the block: the
 * agent's drain (core/agent-drain.ts) puts itself in a net_cls group of this
 * class before it opens a socket, and reads the cloud's termination notice
 * and completes the lifecycle action there. nftables' `meta cgroup` compares
 * the sending socket's class (net/netfilter/nft_meta.c, NFT_META_CGROUP:
 * `sock_cgroup_classid` of the skb's full socket), which the kernel copies
 * from its creator's net_cls group (net/core/netclassid_cgroup.c). A task
 * cannot join that group: Docker mounts /sys/fs/cgroup read-only in a
 * container, and the Mesos containerizer runs tasks as `nobody` (the
 * masters' run_tasks ACL), which may not write cgroup files; a task that
 * asks Docker for `--cgroup-parent`, privileges or host mounts is root on
 * its agent anyway (README, "Who reaches what"). Not `socket cgroupv2`:
 * the agents boot cgroup v1 (systemd's hybrid layout, the v2 tree at
 * /sys/fs/cgroup/unified: systemd src/basic/cgroup-util.c
 * cg_is_hybrid_wanted), nft resolves a cgroupv2 path below /sys/fs/cgroup
 * when the rules load and fails when it is missing (nftables src/datatype.c
 * cgroupv2_type_parse), and a restarted service gets a new cgroup the
 * loaded rule no longer names. Not a uid (`meta skuid`): a Docker task runs
 * as whatever uid its image says. Not a mark: SO_MARK needs only CAP_NET_RAW
 * since Linux 5.17, which Docker grants every container.
 */
export const AGENT_DRAIN_CLASSID = "0x4d430001";

/**
 * The nftables ruleset that closes the instance metadata service on an
 * agent, for the uplinks `uplinks` (what the block script loads, rendered here
 * for the README and tests; the script renders the same lines at boot, when
 * the uplinks are known):
 *
 * - `inet` `output` and `forward` chains reject packets to the metadata
 *   addresses: the host and host-network tasks (output), bridge containers
 *   (forward; Azure has no hop limit, AWS's IMDSv2 hop limit 1 already stops
 *   them). `reject`, not `drop`: a client (ec2-instance-connect's curl,
 *   walinuxagent's heartbeat) fails at once instead of timing out.
 * - A `netdev` `egress` chain per uplink drops frames to them: Docker gives
 *   every container CAP_NET_RAW (moby/moby oci/caps/defaults.go), and an
 *   AF_PACKET socket of a host-network task sends hand-built frames that no
 *   `inet` hook sees; they pass the egress hook in `dev_queue_xmit`, and with
 *   PACKET_QDISC_BYPASS `nf_hook_direct_egress` (torvalds/linux
 *   net/packet/af_packet.c, net/core/dev.c; egress hook from 5.16, the bypass
 *   path hooked from 5.19). An older kernel refuses the chain: the unit fails
 *   and Docker, which requires it, does not start (fails closed).
 *   The chain reads raw header bytes, not `ip daddr`: in the netdev family
 *   that depends on `meta protocol ip`, which an AF_PACKET sender chooses
 *   (the protocol it binds; af_packet.c packet_parse_headers reads the frame
 *   only for 0 or ETH_P_ALL), so an IPv4 frame sent on a socket bound to
 *   another protocol passed it (tested in network namespaces: see
 *   __tests__/agent-auth.test.ts). In order: the IPv4 (and IPv6) header where
 *   the kernel put the network header, whatever the protocol; an untagged
 *   IPv4 frame read at the link layer; VLAN-tagged frames (a tag hides the
 *   IPv4 header from both); then anything with a link-layer header passes,
 *   and what has none is dropped: only AF_PACKET's qdisc bypass with a
 *   sender-chosen protocol leaves it unset (packet_parse_headers), and raw
 *   `@ll` reads need it (net/netfilter/nft_payload.c).
 *
 * - One exception, first in `output` and in each `egress` chain: sockets of
 *   the net_cls class {@link AGENT_DRAIN_CLASSID} (the agent's drain, and
 *   nothing a task can join) reach 169.254.169.254, TCP port 80 on output.
 *   The rules name the class whether the pool drains or not: without a
 *   drain no process is in it.
 *
 * Tables are recreated on each load (`table`, `delete table`, define), so the
 * unit may run again.
 */
export function imdsBlockRules(uplinks: readonly string[]): string {
  return [...IMDS_INET_LINES, ...IMDS_EGRESS_HEAD, ...uplinks.flatMap((u, i) => imdsEgressChain(i, u)), "}", ""].join("\n");
}

const IMDS_INET_LINES = [
  "table inet mesos_cluster_imds",
  "delete table inet mesos_cluster_imds",
  "table inet mesos_cluster_imds {",
  ...["output", "forward"].flatMap((hook) => [
    `  chain ${hook} {`,
    `    type filter hook ${hook} priority filter - 10; policy accept;`,
    // The drain's own sockets only, from this host (output), to the metadata service's HTTP port.
    ...(hook === "output" ? [`    meta cgroup ${AGENT_DRAIN_CLASSID} ip daddr ${IMDS_IPV4} tcp dport 80 counter accept`] : []),
    `    ip daddr ${IMDS_IPV4} counter reject`,
    `    ip6 daddr ${IMDS_IPV6} counter reject`,
    "  }",
  ]),
  "}",
];

const IMDS_EGRESS_HEAD = ["table netdev mesos_cluster_imds_egress", "delete table netdev mesos_cluster_imds_egress", "table netdev mesos_cluster_imds_egress {"];

/** An address as the hex number nftables' raw payload matches take. */
function hexAddress(address: string): string {
  if (address.includes(".")) return `0x${address.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join("")}`;
  const [head, tail] = address.split("::");
  const groups = (part: string) => (part ? part.split(":") : []);
  const fill = 8 - groups(head).length - groups(tail).length;
  return `0x${[...groups(head), ...Array<string>(fill).fill("0"), ...groups(tail)].map((g) => g.padStart(4, "0")).join("")}`;
}

function imdsEgressChain(index: number | string, device: string): string[] {
  return [
    `  chain up${index} {`,
    `    type filter hook egress device "${device}" priority 0; policy accept;`,
    `    meta cgroup ${AGENT_DRAIN_CLASSID} @nh,128,32 ${hexAddress(IMDS_IPV4)} counter accept`,
    `    @nh,128,32 ${hexAddress(IMDS_IPV4)} counter drop`,
    // IPv6 in two halves: nothing in user data looks like a 32-digit key.
    `    @nh,192,64 ${hexAddress(IMDS_IPV6).slice(0, 18)} @nh,256,64 0x${hexAddress(IMDS_IPV6).slice(18)} counter drop`,
    `    @ll,240,32 ${hexAddress(IMDS_IPV4)} counter drop`,
    "    @ll,96,16 { 0x8100, 0x88a8, 0x9100 } counter drop",
    "    @ll,0,8 0-255 accept",
    "    counter drop",
    "  }",
  ];
}

/** Single-quotes a line for the shell (no line here holds a quote of its own but the device's). */
function shellQuote(line: string): string {
  return `'${line.replace(/'/g, `'\\''`)}'`;
}

/**
 * The boot script that loads {@link imdsBlockRules} for this machine's
 * uplinks: the device of the default route, and every device backed by
 * hardware (a `device` link in /sys/class/net: ens5 on Nitro, eth0 on Azure,
 * a VF with accelerated networking); docker0, veths and lo have none. No
 * uplink found fails the unit (and with it Docker).
 */
export function imdsBlockScript(): string {
  const chain = imdsEgressChain("$n", "$u").map((l) => (l.includes("$") ? `"${l.replace(/"/g, '\\"')}"` : shellQuote(l)));
  return `
# Closes the instance metadata service for everything on this host: output (host, host-network
# tasks), forward (bridge containers), egress on each uplink (raw frames of CAP_NET_RAW tasks).
ups=$( { ip -o -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1)}'; for d in /sys/class/net/*/device; do if [ -e "$d" ]; then d=\${d%/device}; echo "\${d##*/}"; fi; done; } | sort -u)
if [ -z "$ups" ]; then
  echo "mesos-imds-block: no uplink found; Docker stays down" >&2
  exit 1
fi
rules() {
  printf '%s\\n' ${[...IMDS_INET_LINES, ...IMDS_EGRESS_HEAD].map(shellQuote).join(" ")}
  n=0
  for u in $ups; do
    printf '%s\\n' ${chain.join(" ")}
    n=$((n + 1))
  done
  echo '}'
}
rules | nft -f /dev/stdin`;
}

/**
 * The boot script that writes the agent's credential (`{"principal":..,"secret":..}`,
 * what `--credential` reads: apache/mesos 1.7.1 src/credentials/credentials.hpp
 * readCredential) into `secretsDir`, root only, from the secret store, once
 * per boot: an existing file is kept (the block has closed instance metadata
 * by then), tmpfs empties at reboot and the next boot reads it again before
 * the block.
 */
export function agentCredentialScript(secretsDir: string, principal: string, secretCommand: string): string {
  return `
# Reads the agent's credential from the secret store into tmpfs, root only, while instance metadata
# is still reachable (${IMDS_BLOCK_UNIT} closes it after this). No secret is in user data.
f=${secretsDir}/${AGENT_CREDENTIAL_FILE}
[ -f "$f" ] && [ -s "$f" ] && exit 0
install -d -m 0700 ${secretsDir}
umask 077
secret=$(${secretCommand})
printf '{"principal":"%s","secret":"%s"}\\n' '${principal}' "$secret" > "$f.new"
mv "$f.new" "$f"`;
}

/**
 * The shell lines (for the agent's prestart) that refuse to start the agent
 * without its credential: Docker would turn a missing bind-mount source into
 * an empty directory, and an agent without `--credential` would register
 * without authenticating (and be refused by masters that require it).
 */
export function agentCredentialCheck(secretsDir: string): string {
  const file = `${secretsDir}/${AGENT_CREDENTIAL_FILE}`;
  return `if [ ! -f ${file} ] || [ ! -s ${file} ]; then
  echo "mesos-agent-prestart: no credential in ${file} (${AGENT_CREDENTIAL_UNIT}); the agent does not start without it" >&2
  exit 1
fi`;
}

/**
 * Adds the credential's boot unit, the metadata block (script, unit) and
 * Docker's drop-in to an agent's document. Order on every boot: cloud-init
 * (its instance-metadata reads run before sysinit.target: canonical/cloud-init
 * systemd/cloud-init-local.service.tmpl, cloud-init.service) → the
 * credential (`After=network-online.target`) → the block (`Wants=` +
 * `After=` the credential: it loads even when the fetch failed) → Docker
 * (`Requires=` + `After=` the block, written before the engine is
 * installed, so its first start waits too) → the agent. No task runs while
 * the metadata service is reachable. Returns the agent container's mount.
 */
export function addAgentCredential(config: CloudConfig, secretsDir: string, principal: string, secretCommand: string): { volumes: string[] } {
  config.addPackage("nftables");
  const fetch = addScript(config, "mesos-agent-credential", agentCredentialScript(secretsDir, principal, secretCommand));
  addUnit(
    config,
    AGENT_CREDENTIAL_UNIT,
    {
      Unit: { Description: "Mesos agent credential from the secret store, read before instance metadata is closed", After: "network-online.target", Wants: "network-online.target" },
      Service: { Type: "oneshot", RemainAfterExit: "yes", ExecStart: fetch },
      Install: { WantedBy: "multi-user.target" },
    },
  );
  const block = addScript(config, "mesos-imds-block", imdsBlockScript());
  addUnit(
    config,
    IMDS_BLOCK_UNIT,
    {
      Unit: { Description: "Close instance metadata to everything on this host, once the agent credential is read", Wants: AGENT_CREDENTIAL_UNIT, After: `${AGENT_CREDENTIAL_UNIT} network-online.target`, Before: "docker.service" },
      Service: { Type: "oneshot", RemainAfterExit: "yes", ExecStart: block },
      Install: { WantedBy: "multi-user.target" },
    },
  );
  addUnit(
    config,
    IMDS_BLOCK_DROP_IN,
    {
      Unit: { Requires: IMDS_BLOCK_UNIT, After: IMDS_BLOCK_UNIT },
    },
    ["No container runs while instance metadata (the pool's identity) is reachable."],
  );
  config.enableUnit(AGENT_CREDENTIAL_UNIT);
  config.enableUnit(IMDS_BLOCK_UNIT);
  return { volumes: [`${secretsDir}/${AGENT_CREDENTIAL_FILE}:${AGENT_CREDENTIAL_IN_CONTAINER}:ro`] };
}
