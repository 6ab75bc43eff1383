import { Password } from "@cdktf/provider-random/lib/password";
import { Construct } from "constructs";
import { CloudConfig } from "./core/cloud-config";
import { ContainerImage, imageProp } from "./core/container-image";
import { HttpCredentials } from "./core/credentials";
import { parseIpv4 } from "./core/net";
import { appDnsNames, AppDnsNames } from "./core/mesos-dns-names";
import { ROLE_NAMES } from "./core/role-header";
import { Port } from "./core/network-rules";
import { ensureRandomProvider } from "./core/providers";
import { addContainerService, addScript, CONFIG_DIR } from "./core/systemd";
import { checkInteger, checkPattern, fail, pathOf } from "./core/validation";
import { MesosMasterGroup } from "./mesos-master-group";
import { INodeRole, MachineSet, NodeContext, NodeGroup, SECRETS_DIR } from "./nodes";

/*
 * Mesos-DNS on the masters: every task Marathon runs gets `<app>.marathon.mesos`
 * (A) and `_<app>._tcp.marathon.mesos` (SRV), and every machine of the cluster
 * resolves the domain through it. Everything below was read from upstream:
 * "MD" is mesosphere/mesos-dns at tag v0.6.0 (the release the pinned image
 * carries), "MESOS" apache/mesos 1.7.1, "MAR" mesosphere/marathon v1.8.244.
 */

/**
 * The Mesos-DNS image: mesosphere/mesos-dns-pkg builds it `FROM scratch` with
 * the static binary at /usr/bin/mesos-dns and `CMD ["/usr/bin/mesos-dns"]`,
 * no ENTRYPOINT and no USER (docker/Dockerfile, docker-rootfs/bap.sh), and
 * publishes it as mesosphere/mesos-dns:<version>; third-party builds use
 * exactly this tag (xebia/mesos-dns Dockerfile `FROM mesosphere/mesos-dns:v0.6.0`).
 * v0.6.0 is the last final release (MD tags: v0.7.0 never left rc2); it
 * reads `/master/state.json`, which Mesos 1.7.1 still serves (MESOS
 * src/master/master.cpp), and has HTTP basic auth towards the masters (MD
 * CHANGELOG 0.6.0). The repository's release signatures are no stronger pin:
 * the signing key's private half is in the repository (MD build/private.key).
 */
export const MESOS_DNS_IMAGE = "mesosphere/mesos-dns:v0.6.0";

/**
 * The part of Mesos-DNS v0.6.0's `Config` this construct writes, under the
 * field names (or `json` tags) of MD records/config.go `type Config`
 * (l.23-90). config.json is read with `json.Unmarshal` into a `Config` made
 * by `NewConfig()` (readConfig, l.277-296): a key matches a field's name or
 * tag ignoring case, and a key that matches nothing is ignored without a
 * word (golang/go encoding/json, Unmarshal), so a misspelt key would keep
 * the default silently. These names are therefore checked twice: here by
 * type, and in the rendered file against upstream's list by the `runtime`
 * check of `npm run validate` (scripts/lib/effective-runtime.ts).
 */
export interface MesosDnsConfig {
  /** How often the records are rebuilt from the leader's state, seconds (default 60; MD main.go reload ticker). */
  readonly RefreshSeconds: number;
  /** DNS port (default 53). */
  readonly Port: number;
  /** Connect, read and write timeout of forwarded queries, seconds (default 5; MD resolver/resolver.go New). */
  readonly Timeout: number;
  /** HTTP timeout of the state request, seconds; must be > 0 (default 300, MD SetConfig exits on <= 0). */
  readonly StateTimeoutSeconds: number;
  /** Seconds without a ZooKeeper leader before the process exits (default 30; 0 never: MD main.go). */
  readonly ZkDetectionTimeout: number;
  /** HTTP API port (`json:"HttpPort"`, default 8123). */
  readonly HttpPort: number;
  /** TTL of the records, seconds (default 60). */
  readonly TTL: number;
  /** SOA primary name server (default ns1.mesos). */
  readonly SOAMname: string;
  /** SOA responsible mailbox, `.` for `@` (default root.ns1.mesos). */
  readonly SOARname: string;
  /** Fallback masters, `host:port` each, no duplicates (MD records/validation.go validateMasters). */
  readonly Masters: string[];
  /** Where every other name is forwarded (IP or IP:port, no duplicates; default ["8.8.8.8"]; MD validateResolvers). */
  readonly Resolvers: string[];
  /** Where a task's address comes from, in order: host, docker, mesos, netinfo (MD validateIPSources). */
  readonly IPSources: string[];
  /** `zk://host:port,.../path` of the masters' election (MD main.go detectMasters). */
  readonly Zk: string;
  /** The domain answered (default mesos). */
  readonly Domain: string;
  /** DNS listener address (default 0.0.0.0). */
  readonly Listener: string;
  /** HTTP listener address (default 0.0.0.0). */
  readonly HTTPListener: string;
  /** RecursionAvailable in answers of the domain (default true). */
  readonly RecurseOn: boolean;
  /** Serve DNS (`json:"DnsOn"`, default true). */
  readonly DnsOn: boolean;
  /** Serve the HTTP API (`json:"HttpOn"`, default true). */
  readonly HttpOn: boolean;
  /** Forward names outside the domain to `Resolvers` (default true; false answers them REFUSED). */
  readonly ExternalOn: boolean;
  /** RFC 952 labels (24 characters) instead of RFC 1123 (63; default false). */
  readonly EnforceRFC952: boolean;
  /** `/v1/enumerate` and `/v1/axfr` on the HTTP API (default true). */
  readonly EnumerationOn: boolean;
  /** https towards the masters (default false). */
  readonly MesosHTTPSOn: boolean;
  /** The principal and secret of basic auth towards the masters (MD httpcli/basic/config.go `Credentials{Principal, Secret}`). */
  readonly MesosCredentials?: { readonly Principal: string; readonly Secret: string };
  /** `""` (none) or `basic` (or `iam`; MD httpcli/config.go AuthNone, AuthBasic, AuthIAM). */
  readonly MesosAuthentication?: "" | "basic";
}

/** Properties of a {@link MesosDns}. */
export interface MesosDnsProps {
  /** The masters: Mesos-DNS runs on each of them and reads the leader's state. */
  readonly masters: MesosMasterGroup;
  /** Mesos-DNS image, an exact tag (or a digest). @default "mesosphere/mesos-dns:v0.6.0" */
  readonly image?: string;
  /**
   * The domain Mesos-DNS answers: `<app>.marathon.<domain>`. Lower-case
   * labels of letters, digits and '-', separated by dots.
   * @default "mesos"
   */
  readonly domain?: string;
  /**
   * Where every name outside the domain is forwarded: IPv4 addresses, each
   * with an optional `:port`. Never the resolved stub 127.0.0.53 (it routes
   * back here) nor a master (a loop).
   * @default the cloud target's resolver (Azure 168.63.129.16, AWS the VPC's base + 2)
   */
  readonly resolvers?: string[];
  /**
   * The HTTP API's port (`/v1/services/...`, `/v1/hosts/...`), on each
   * master's private IP and open to the masters only: its `/v1/config`
   * returns the whole configuration, Mesos credentials included (MD
   * resolver/resolver.go RestConfig writes `res.config` as JSON).
   * @default 8123
   */
  readonly httpPort?: number;
  /** Seconds between rebuilds of the records from the leading master's state. @default 30 */
  readonly refreshSeconds?: number;
  /**
   * TTL of the records in seconds; at least `refreshSeconds` ("ttl should be
   * equal or larger than refreshSeconds", MD docs/docs/configuration-parameters.md).
   * @default refreshSeconds
   */
  readonly ttlSeconds?: number;
  /**
   * The principal Mesos-DNS reads the masters' state with when the masters
   * authenticate HTTP: added to them as a viewer ({@link MesosMasterGroup.addViewer}),
   * which may read and nothing else. Never the masters' own credentials.
   * @default with the masters' credentials: principal `mesos-dns` and a generated 32-character password
   */
  readonly credentials?: HttpCredentials;
}

/**
 * Mesos-DNS on every master (a container under systemd), answering the
 * cluster's domain (`mesos`) from the leading master's state and forwarding
 * every other name to the cloud's resolver, and the DNS routing on every
 * machine set it serves ({@link serve}): the masters at once, agent pools
 * when the stack says so.
 *
 * What a name resolves to, for a Marathon app `/redis` ({@link appHostname},
 * {@link appSrvName}): `redis.marathon.mesos` A records with the agents'
 * addresses (IPSources `host`), `_redis._tcp.marathon.mesos` SRV records with
 * the host ports; plus `leader.mesos`, `master.mesos`, `marathon.mesos`
 * (the leading Marathon) and `slave.mesos`.
 *
 * Security: port 53 (UDP and TCP) opens only to the machine sets it serves,
 * the HTTP API only to the masters. With the masters' HTTP authentication on,
 * it reads their state as a principal of its own that may read and nothing
 * else; that secret is fetched at boot into a root-only file in tmpfs, never
 * into user data, and the HTTP API (whose `/v1/config` returns it) listens on
 * the master's private IP, open to the masters only: a task on an agent can
 * ask names but never read the configuration.
 */
export class MesosDns extends Construct implements INodeRole {
  public readonly roleName = ROLE_NAMES.mesosDns;
  public readonly masters: MesosMasterGroup;
  public readonly nodes: NodeGroup;
  public readonly image: ContainerImage;
  /** The domain answered, e.g. `mesos`. */
  public readonly domain: string;
  /** DNS port (UDP and TCP): 53, the only one systemd-resolved and glibc's resolv.conf reach without a port. */
  public readonly dnsPort = 53;
  /** HTTP API port. */
  public readonly httpPort: number;
  /** The servers: the masters' private IPs. */
  public readonly serverIps: string[];
  /** Where names outside the domain go. */
  public readonly resolvers: string[];
  public readonly refreshSeconds: number;
  public readonly ttlSeconds: number;
  /** The principal Mesos-DNS reads the masters' state with; undefined while the masters do not authenticate HTTP. */
  public readonly credentials?: HttpCredentials;
  /** The command that prints the principal's secret on a master. */
  private readonly secretCommand?: string;
  private readonly served: MachineSet[] = [];

  constructor(scope: Construct, id: string, props: MesosDnsProps) {
    super(scope, id);
    this.masters = props.masters;
    this.nodes = props.masters.nodes;
    this.image = imageProp(this, "image", props.image ?? MESOS_DNS_IMAGE);
    this.domain = checkPattern(this, "domain", props.domain ?? "mesos", DOMAIN_PATTERN, "lower-case DNS labels of letters, digits and '-' (not at either end) separated by dots, e.g. mesos");
    this.httpPort = checkInteger(this, "httpPort", props.httpPort ?? 8123, 1, 65535);
    this.refreshSeconds = checkInteger(this, "refreshSeconds", props.refreshSeconds ?? 30, 5, 3600);
    this.ttlSeconds = checkInteger(this, "ttlSeconds", props.ttlSeconds ?? this.refreshSeconds, this.refreshSeconds, 86400);
    this.serverIps = [...this.nodes.privateIps];
    this.resolvers = this.checkResolvers(props.resolvers);

    // One DNS per master, on its private IP: systemd-resolved holds 127.0.0.53:53, so 0.0.0.0:53 would not bind.
    this.nodes.claimPort(this, "dnsPort", Port.udp(this.dnsPort), "Mesos-DNS (DNS over UDP)");
    this.nodes.claimPort(this, "dnsPort", Port.tcp(this.dnsPort), "Mesos-DNS (DNS over TCP)");
    this.nodes.claimPort(this, "httpPort", Port.tcp(this.httpPort), "Mesos-DNS's HTTP API");

    if (props.credentials !== undefined && !this.masters.credentials) {
      fail(this, "credentials", props.credentials.username, `none while ${pathOf(this.masters)} does not authenticate HTTP (no credentials)`);
    }
    if (this.masters.credentials) {
      if (props.credentials === undefined) ensureRandomProvider(this);
      // Letters and digits only: the secret goes into JSON at boot.
      const credentials = props.credentials ?? { username: "mesos-dns", password: new Password(this, "password", { length: 32, special: false }).result };
      this.secretCommand = this.masters.addViewer(this, credentials);
      this.credentials = credentials;
    }

    this.nodes.addRole(this);
    this.serve(this.nodes);
    // The HTTP API: the masters only (an admin on a master; /v1/config carries the credentials).
    this.nodes.connections.allowFrom(this.nodes, Port.tcp(this.httpPort), "Mesos-DNS HTTP API, masters only", "mesos-dns-http-from-masters");
  }

  /**
   * Serves `clients` (a machine set, or a construct on one such as a
   * MesosAgentPool): their resolver sends `*.<domain>` to the masters (a
   * systemd-resolved drop-in), and the masters open 53/udp and 53/tcp to
   * them. Idempotent per machine set.
   */
  public serve(clients: MachineSet | { readonly nodes: MachineSet }): void {
    const machines = clients instanceof MachineSet ? clients : clients.nodes;
    if (this.served.includes(machines)) return;
    this.served.push(machines);
    machines.useClusterDns(this, { domain: this.domain, servers: this.serverIps });
    const from = machines.groupName;
    this.nodes.connections.allowFrom(machines, Port.udp(this.dnsPort), `Mesos-DNS (UDP) for ${from}`, `mesos-dns-udp-from-${from}`);
    this.nodes.connections.allowFrom(machines, Port.tcp(this.dnsPort), `Mesos-DNS (TCP) for ${from}`, `mesos-dns-tcp-from-${from}`);
  }

  /** The machine sets this DNS serves, the masters first. */
  public get clients(): MachineSet[] {
    return [...this.served];
  }

  /**
   * The A record Mesos-DNS makes for a Marathon app's tasks:
   * `<name>.marathon.<domain>`. Marathon names every task and its
   * DiscoveryInfo `appId.toHostname`, the path's segments reversed and joined
   * by "." (MAR src/main/scala/mesosphere/mesos/TaskBuilder.scala `setName`,
   * `computeDiscoveryInfo`; state/PathId.scala `toHostname`), and Mesos-DNS
   * turns that into one RFC 1123 label (MD records/generator.go taskRecord:
   * `spec(task.DiscoveryInfo.Name)`; records/labels/labels.go RFC1123: lower
   * case, "." "_" and "-" become "-", other characters dropped, at most 63
   * characters, no "-" at either end). `/redis` is `redis.marathon.mesos`,
   * `/shop/redis` `redis-shop.marathon.mesos`. (v0.6.0 also keeps the raw
   * name, `redis.shop.marathon.mesos`, marked LEGACY.) The framework label is
   * Marathon's `--framework_name`, `marathon` by default.
   */
  public static appHostname(appId: string, domain = "mesos", framework = "marathon"): string {
    return namesOf(appId, domain, framework).hostname;
  }

  /**
   * The SRV record of a Marathon app's TCP ports: `_<name>._tcp.marathon.<domain>`
   * (MD records/generator.go taskContextRecord, DiscoveryInfo ports;
   * records/chains.go withProtocol). Each answer names a task's
   * `<name>-<hash>-<agent>.marathon.<domain>` and its host port.
   */
  public static appSrvName(appId: string, domain = "mesos", framework = "marathon"): string {
    return namesOf(appId, domain, framework).srv();
  }

  /** The configuration of the Mesos-DNS on the master at `ip`, without the credentials (those are added at boot). */
  public configFor(ip: string): MesosDnsConfig {
    return {
      // The election in ZooKeeper first; the masters as fallbacks (MD detect/masters.go). The URL carries
      // no credentials: the detector connects anonymously and only reads (MD vendor/github.com/mesos/
      // mesos-go/detector/zoo/detect.go parseZk keeps host and path; client2.go: Get and ChildrenW), and
      // the masters' znodes stay world-readable (core/zookeeper-auth.ts).
      Zk: this.masters.zkUrl,
      Masters: this.masters.nodes.privateIps.map((m) => `${m}:${this.masters.port}`),
      ZkDetectionTimeout: 30,
      RefreshSeconds: this.refreshSeconds,
      TTL: this.ttlSeconds,
      // Default 300: a dead master would stall every rebuild for five minutes.
      StateTimeoutSeconds: 30,
      Domain: this.domain,
      Port: this.dnsPort,
      // The private IP, never 0.0.0.0: systemd-resolved's stub holds 127.0.0.53:53, and a Go UDP socket
      // has no SO_REUSEADDR (golang/go src/net/sockopt_linux.go), so a wildcard bind fails.
      Listener: ip,
      HTTPListener: ip,
      HttpPort: this.httpPort,
      DnsOn: true,
      HttpOn: true,
      // Names outside the domain: forwarded to the cloud's resolver. Bridge containers read
      // /run/systemd/resolve/resolv.conf, which lists the global servers (these) first
      // (systemd v249 src/resolve/resolved-manager.c manager_compile_dns_servers;
      // moby/moby libnetwork/resolvconf Path()), so they ask here for every name.
      ExternalOn: true,
      Resolvers: this.resolvers,
      Timeout: 5,
      RecurseOn: true,
      // The agents' address: tasks run in Docker's bridge or host network, and `netinfo` would publish
      // bridge addresses no other machine reaches (MD docs/docs/index.md "Mesos-DNS with Docker").
      IPSources: ["host"],
      EnforceRFC952: false,
      EnumerationOn: false,
      SOAMname: `ns1.${this.domain}`,
      SOARname: `root.ns1.${this.domain}`,
      // Plain HTTP to the leader's 5050 over the private network, the port ZooKeeper advertises: the TLS
      // port (5443) is not what the election names (MD httpcli/doer.go keeps the port it is given).
      MesosHTTPSOn: false,
      ...(this.credentials ? { MesosAuthentication: "basic" as const } : {}),
    };
  }

  /** Role contribution on each master: the configuration and the unit. */
  public configure(config: CloudConfig, node: NodeContext): void {
    if (!node.privateIp) throw new Error("Mesos-DNS needs fixed machines");
    const rendered = `${CONFIG_DIR}/mesos-dns.json`;
    config.addFile({ path: rendered, content: `${JSON.stringify(this.configFor(node.privateIp), undefined, 2)}\n` });
    let file = rendered;
    const preStart: string[] = [];
    if (this.credentials && this.secretCommand) {
      file = `${SECRETS_DIR}/mesos-dns.json`;
      // The rendered file ends in "}\n": the secret joins it as the last key, in tmpfs, root only.
      preStart.push(
        addScript(
          config,
          "mesos-dns-credentials",
          `
# Writes Mesos-DNS's configuration with its Mesos credentials (from the
# cloud's secret store) to tmpfs, readable by root only.
umask 077
mkdir -p ${SECRETS_DIR}
secret=$(${this.secretCommand})
case $secret in *[!A-Za-z0-9._~-]*|'') echo "mesos-dns-credentials: the secret is not a token" >&2; exit 1 ;; esac
{
  head -c -2 ${rendered}
  printf ',"MesosCredentials":{"Principal":"%s","Secret":"%s"}}\\n' '${this.credentials.username}' "$secret"
} > ${file}`,
        ),
      );
    }
    addContainerService(config, {
      name: "mesos-dns",
      description: `Mesos-DNS for *.${this.domain} on ${node.privateIp}`,
      image: this.image,
      // The image has no ENTRYPOINT: arguments replace its CMD, so the binary comes first. Without
      // -logtostderr glog writes files under /tmp, which the scratch image lacks (vendored
      // github.com/golang/glog glog.go l.399; xebia/mesos-dns adds an empty /tmp for that).
      args: ["/usr/bin/mesos-dns", "-config=/etc/mesos-dns/config.json", "-logtostderr=true", "-v=1"],
      volumes: [`${file}:/etc/mesos-dns/config.json:ro`],
      preStart,
    });
  }

  /** The resolvers: given ones checked, else the target's. */
  private checkResolvers(given: string[] | undefined): string[] {
    const target = this.nodes.target;
    if (given === undefined && target.resolverAddress === undefined) {
      fail(this, "resolvers", given, `the cloud's resolver as IPv4 addresses (the target ${pathOf(target)} names none: resolverAddress)`);
    }
    const list = given ?? [target.resolverAddress!];
    const allowed = "IPv4 addresses with an optional :port, distinct, at least one, none a master's own (a loop) or in 127.0.0.0/8 (systemd-resolved's stub routes back here)";
    if (!Array.isArray(list) || list.length === 0) fail(this, "resolvers", list, allowed);
    const seen = new Set<string>();
    list.forEach((r, i) => {
      const m = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(typeof r === "string" ? r : "");
      const port = m?.[2] === undefined ? 53 : Number(m[2]);
      const ok = m !== null && parseIpv4(m[1]) !== undefined && port >= 1 && port <= 65535 && !m[1].startsWith("127.") && !this.serverIps.includes(m[1]);
      if (!ok || seen.has(`${m![1]}:${port}`)) fail(this, `resolvers[${i}]`, r, allowed);
      seen.add(`${m![1]}:${port}`);
    });
    return [...list];
  }
}

/** Lower-case DNS labels (RFC 1123), dot-separated. */
const DOMAIN_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** An app's Mesos-DNS names (core/mesos-dns-names.ts); an id without a name is refused. */
function namesOf(appId: string, domain: string, framework: string): AppDnsNames {
  const names = appDnsNames(String(appId), { domain, framework });
  if (names.label === "") throw new Error(`${JSON.stringify(appId)} is not a Marathon app id with a name (such as /redis)`);
  return names;
}
