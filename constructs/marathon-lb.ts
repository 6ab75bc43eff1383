import { Aspects } from "cdktf";
import { Construct } from "constructs";
import { IMDS_BLOCK_UNIT } from "./core/agent-http-auth";
import { CloudConfig } from "./core/cloud-config";
import { ContainerImage, imageProp } from "./core/container-image";
import { LB_GROUP_ALLOWED, LB_GROUP_PATTERN, MARATHON_LB_DEFAULTS } from "./core/marathon-app-definition";
import { Cidr } from "./core/net";
import { Peer, Port } from "./core/network-rules";
import { EdgeExposure } from "./cloud/target";
import { addContainerService, addScript, addUnit } from "./core/systemd";
import { ROLE_NAMES } from "./core/role-header";
import { checkPortRange, fail, isUnresolved, pathOf } from "./core/validation";
import { MarathonService } from "./marathon-service";
import { MesosAgentPool } from "./mesos-agent-pool";
import { IConnectable, INodeRole, SECRETS_DIR } from "./nodes";

/**
 * The marathon-lb image run by default: the last release (v1.15.0, commit
 * 9e669ec, 2020-09-25, HAProxy 2.0.17 with the CVE-2020-11100 fix of 2.0.14);
 * its facts are in core/image-facts.ts. Source: mesosphere/marathon-lb (now
 * d2iq-archive/marathon-lb) tag v1.15.0 Dockerfile.
 */
export const MARATHON_LB_IMAGE = "mesosphere/marathon-lb:v1.15.0";

/**
 * HAProxy's health endpoint on the stats port: `monitor-uri
 * /_haproxy_health_check` in `listen stats` (bind 0.0.0.0:9090), which
 * HAProxy answers 200 itself (mesosphere/marathon-lb v1.15.0 config.py,
 * the HEAD template). What a cloud load balancer in front of the edge probes.
 */
export const MARATHON_LB_HEALTH_PATH = "/_haproxy_health_check";

/** The Mesos role of an edge pool, the name DC/OS gave its public agents. */
export const EDGE_ROLE = "slave_public";

/** Where the boot-time secrets of marathon-lb live on an edge agent (tmpfs, root only) and where its container reads them. */
const SECRETS_SUBDIR = `${SECRETS_DIR}/marathon-lb`;
const SECRETS_IN_CONTAINER = "/etc/marathon-lb";
const SECRETS_UNIT = "marathon-lb-secrets.service";

/** Properties of a {@link MarathonLb}. */
export interface MarathonLbProps {
  /** The Marathon whose apps it serves (it reads their tasks from Marathon's API). */
  readonly marathon: MarathonService;
  /** The edge agent pool it runs on, one marathon-lb per agent; its `role` must be "slave_public". */
  readonly edgePool: MesosAgentPool;
  /** marathon-lb image, an exact tag. @default "mesosphere/marathon-lb:v1.15.0" */
  readonly image?: string;
  /**
   * The group it serves (`--group`): apps whose `HAPROXY_GROUP` label names
   * it (MarathonApp `loadBalancer.group`). `*` is refused: it would serve
   * every app, opted in or not (marathon_lb.py `has_group`).
   * @default "external"
   */
  readonly group?: string;
  /**
   * The service ports it binds for apps, inclusive: reachable from inside
   * the cluster only, and never offered to tasks on the edge agents.
   * @default [10000, 10100] (marathon-lb's README: "the reserved range")
   */
  readonly servicePorts?: [number, number];
}

const LBS = new WeakMap<MarathonService, MarathonLb[]>();

/**
 * marathon-lb (HAProxy fed by Marathon's event stream) on every agent of an
 * edge pool, for the apps that opt in with the `HAPROXY_GROUP` label
 * (MarathonApp `loadBalancer`).
 *
 * It runs as a systemd unit (`docker run --net=host` of the pinned image),
 * not as a Marathon app: it binds 80 and 443 on the host network, so its
 * container runs as root (the image has no USER: mesosphere/marathon-lb
 * v1.15.0 Dockerfile), and the masters' ACL lets tasks run as `nobody` only;
 * a task must never be root on its agent. Not privileged: v1.15.0 reloads
 * HAProxy with `-x` socket transfer and runs no iptables (service/haproxy/run).
 *
 * What it runs: `run sse --health-check --group G --marathon URL...`
 * (mesosphere/marathon-lb v1.15.0 run: the first argument is the mode, the
 * rest go to marathon_lb.py; `PORTS` must be set or it exits), against
 * every Marathon instance: `https://<master>:8443` verified with the cluster
 * CA (`--marathon-ca-cert`) when a MasterTlsProxy serves Marathon, else
 * `http://<master>:8080`. With Marathon's credentials it reads them from a
 * root-only file (`--marathon-auth-credential-file`, first line
 * `user:password`, split on ':': common.py `get_marathon_auth_params`), never
 * from its arguments: `run` prints its arguments to the log, and they would
 * show in `ps`. The file (and the CA) are read from the cloud's secret store
 * at boot by the pool's own identity, before the edge agent closes instance
 * metadata (the same order as the agent's credential: core/agent-http-auth.ts).
 *
 * Ports on the edge agents (HAProxy, config.py templates): 80 and 443
 * (`HAPROXY_{n}_VHOST` apps; 443 with a self-signed certificate unless
 * configured), 9090 (stats, `/_haproxy_health_check`, and the unauthenticated
 * `/_haproxy_getconfig` and `/_mlb_signal/*`) and 9091 (routing by
 * `X-Marathon-App-Id`), and the service ports. Rules: 9090-9091 and the
 * service ports from the cluster's own network only; 80 and 443 from nowhere
 * until {@link allowWebFrom} opens them; the edge reaches Marathon's API and
 * the task ports of the other agent pools of the same masters.
 */
export class MarathonLb extends Construct implements INodeRole {
  /** The MarathonLbs serving `marathon`'s apps. */
  public static of(marathon: MarathonService): MarathonLb[] {
    return [...(LBS.get(marathon) ?? [])];
  }

  public readonly roleName = ROLE_NAMES.marathonLb;
  public readonly marathon: MarathonService;
  public readonly edgePool: MesosAgentPool;
  public readonly image: ContainerImage;
  /** The group served (`--group`, an app's `HAPROXY_GROUP`). */
  public readonly group: string;
  /** HAProxy's HTTP frontend (vhosts). */
  public readonly httpPort = 80;
  /** HAProxy's HTTPS frontend (vhosts). */
  public readonly httpsPort = 443;
  /** HAProxy's stats and health port (`/_haproxy_health_check`); never public. */
  public readonly statsPort = 9090;
  /** The frontend that routes by `X-Marathon-App-Id`; never public. */
  public readonly appIdPort = 9091;
  /** The service-port range, inclusive. */
  public readonly servicePorts: [number, number];
  /** Marathon's TLS endpoint when a MasterTlsProxy served it as this was created. */
  private readonly tls?: { readonly port: number; readonly caCertPem: string };
  /** Commands that print Marathon's password and the CA on an edge agent. */
  private readonly passwordCommand?: string;
  private readonly caCommand?: string;
  private readonly backendPools = new Set<MesosAgentPool>();

  constructor(scope: Construct, id: string, props: MarathonLbProps) {
    super(scope, id);
    this.marathon = props.marathon;
    this.edgePool = props.edgePool;
    const edge = this.edgePool;
    if (edge.role !== EDGE_ROLE) {
      fail(this, "edgePool", pathOf(edge), `an agent pool with role "${EDGE_ROLE}" (${pathOf(edge)} offers its resources to role "${edge.role}", so every app could land beside the load balancer)`);
    }
    if (edge.masters !== this.marathon.masters) fail(this, "edgePool", pathOf(edge), `an agent pool of ${pathOf(this.marathon.masters)}, the masters Marathon runs on`);
    this.image = imageProp(this, "image", props.image ?? MARATHON_LB_IMAGE);
    this.group = props.group ?? MARATHON_LB_DEFAULTS.group;
    if (typeof this.group !== "string" || !LB_GROUP_PATTERN.test(this.group)) fail(this, "group", this.group, LB_GROUP_ALLOWED);
    const [from, to] = checkPortRange(this, "servicePorts", props.servicePorts ?? MARATHON_LB_DEFAULTS.servicePorts);
    this.servicePorts = [from, to];

    // One owner per port on the edge machines: a task range (or another role) overlapping these is refused.
    const nodes = edge.nodes;
    nodes.claimPort(this, "httpPort", Port.tcp(this.httpPort), "marathon-lb's HTTP frontend");
    nodes.claimPort(this, "httpsPort", Port.tcp(this.httpsPort), "marathon-lb's HTTPS frontend");
    nodes.claimPort(this, "statsPort", Port.tcpRange(this.statsPort, this.appIdPort), "marathon-lb's stats and app-id frontends");
    nodes.claimPort(this, "servicePorts", Port.tcpRange(from, to), "marathon-lb's service ports");

    const marathon = this.marathon;
    if (marathon.credentials) {
      // The edge agents' tasks must not reach the pool's identity, which reads Marathon's password:
      // the agents close instance metadata once their credential is read (core/agent-http-auth.ts).
      if (!edge.authenticatesToMasters) {
        fail(
          this,
          "edgePool",
          pathOf(edge),
          `an edge pool whose agents close instance metadata after boot (masters with agentCredentials): its tasks could otherwise read Marathon's password with the pool's identity`,
        );
      }
      this.passwordCommand = nodes.useSecret(marathon.passwordSecret!);
    }
    this.tls = marathon.tls;
    if (this.tls) {
      // The CA is a Terraform value, which user data cannot carry: the secret store brings it at boot.
      this.caCommand = nodes.useSecret(nodes.target.storeSecret(this, "marathon-ca", `${this.node.id}-marathon-ca`, this.tls.caCertPem));
      marathon.nodes.connections.allowFrom(edge, Port.tcp(this.tls.port), "marathon-lb reads Marathon's API over TLS");
    } else {
      marathon.connections.allowDefaultPortFrom(edge, "marathon-lb reads Marathon's API");
    }
    const inside = this.clusterNetwork();
    nodes.connections.allowFrom(inside, Port.tcpRange(this.statsPort, this.appIdPort), "marathon-lb stats and app-id frontends: inside the cluster only");
    nodes.connections.allowFrom(inside, Port.tcpRange(from, to), "marathon-lb service ports: inside the cluster only");
    for (const pool of MesosAgentPool.of(this.marathon.masters)) if (pool !== edge) this.addBackendPool(pool);

    nodes.addRole(this);
    LBS.set(marathon, [...(LBS.get(marathon) ?? []), this]);
    Aspects.of(this).add({
      visit: (node) => {
        if (node !== this) return;
        if (!this.tls && marathon.tls) {
          fail(this, "marathon", pathOf(marathon), "a Marathon whose MasterTlsProxy exists before this MarathonLb (it came later: marathon-lb would read Marathon over plain http)");
        }
        const missing = MesosAgentPool.of(marathon.masters).filter((p) => p !== edge && !this.backendPools.has(p));
        if (missing.length > 0) fail(this, "backendPools", missing.map(pathOf), "every agent pool of the masters, created before this MarathonLb or added with addBackendPool (the edge must reach their task ports)");
      },
    });
  }

  /** Lets the edge agents reach `pool`'s task ports, where the served apps' tasks listen (pools created after this construct). */
  public addBackendPool(pool: MesosAgentPool): void {
    if (this.backendPools.has(pool)) return;
    pool.nodes.connections.allowFrom(this.edgePool, pool.taskPorts, "marathon-lb on the edge reaches the tasks");
    this.backendPools.add(pool);
  }

  /** Opens 80 and 443 on the edge agents to `other` (admin networks, `Peer.anyIpv4()` for the public web); closed until then. */
  public allowWebFrom(other: IConnectable | Peer, description: string, idPrefix?: string): void {
    for (const port of [this.httpPort, this.httpsPort]) {
      this.edgePool.nodes.connections.allowFrom(other, Port.tcp(port), description, idPrefix && `${idPrefix}-${port}`);
    }
  }

  /**
   * The cloud's load balancer in front of the edge pool for 80 and 443
   * (TCP passed through: 443's TLS ends at HAProxy), probing every edge
   * agent's {@link MARATHON_LB_HEALTH_PATH} on 9090 (open inside the
   * cluster, where the load balancer's addresses are; never to `from`).
   * `from`: who may connect, the same peers {@link allowWebFrom} opened the
   * edge to (clients reach the edge with their own addresses). For edge
   * agents without public addresses (AWS: a Network Load Balancer, see
   * AwsTarget.exposeEdge). Returns what clients connect to.
   */
  public exposeThroughLoadBalancer(from: Peer[]): EdgeExposure {
    const target = this.edgePool.nodes.target;
    if (!target.exposeEdge) fail(this, "edgePool", pathOf(this.edgePool), `an edge pool on a cloud target with a load balancer for pools (exposeEdge; ${target.node.path} has none)`);
    return target.exposeEdge(this, this.edgePool.nodes.resources, {
      ports: [this.httpPort, this.httpsPort],
      healthCheck: { port: this.statsPort, path: MARATHON_LB_HEALTH_PATH },
      from,
    });
  }

  /** marathon-lb's arguments: the mode for `run`, then marathon_lb.py's (mesosphere/marathon-lb v1.15.0 marathon_lb.py `get_arg_parser`, common.py). */
  public args(): string[] {
    const urls = this.tls ? this.marathon.nodes.privateIps.map((ip) => `https://${ip}:${this.tls!.port}`) : this.marathon.urls;
    return [
      "sse",
      // Backends only once Marathon says a task is healthy, where the app has health checks.
      "--health-check",
      "--group",
      this.group,
      // nargs="+": each instance is tried in turn; the next option ends the list.
      "--marathon",
      ...urls,
      // The range marathon-lb itself assigns from (IP-per-task apps), kept inside the open service ports.
      "--min-serv-port-ip-per-task",
      String(this.servicePorts[0]),
      "--max-serv-port-ip-per-task",
      String(this.servicePorts[1]),
      ...(this.passwordCommand ? ["--marathon-auth-credential-file", `${SECRETS_IN_CONTAINER}/credentials`] : []),
      ...(this.caCommand ? ["--marathon-ca-cert", `${SECRETS_IN_CONTAINER}/ca.pem`] : []),
    ];
  }

  /** Role contribution: the boot-time secrets (when Marathon has credentials or TLS) and the marathon-lb unit. */
  public configure(config: CloudConfig): void {
    const volumes: string[] = [];
    const requires: string[] = [];
    if (this.passwordCommand || this.caCommand) {
      const script = addScript(config, "marathon-lb-secrets", this.secretsScript());
      addUnit(config, SECRETS_UNIT, {
        Unit: { Description: "marathon-lb's Marathon credential and CA from the secret store, read before instance metadata is closed", After: "network-online.target", Wants: "network-online.target" },
        Service: { Type: "oneshot", RemainAfterExit: "yes", ExecStart: script },
      });
      if (this.edgePool.authenticatesToMasters) {
        addUnit(config, `/etc/systemd/system/${IMDS_BLOCK_UNIT}.d/20-marathon-lb.conf`, { Unit: { Wants: SECRETS_UNIT, After: SECRETS_UNIT } }, ["marathon-lb's secrets are read before instance metadata closes."]);
      }
      volumes.push(`${SECRETS_SUBDIR}:${SECRETS_IN_CONTAINER}:ro`);
      requires.push(SECRETS_UNIT);
    }
    addContainerService(config, {
      name: "marathon-lb",
      description: `marathon-lb (HAProxy) for Marathon apps of group ${this.group}`,
      image: this.image,
      // `run` exits without PORTS; it only logs it (mesosphere/marathon-lb v1.15.0 run).
      environment: { PORTS: String(this.statsPort) },
      args: this.args(),
      volumes,
      requires,
    });
  }

  /**
   * Writes Marathon's `user:password` and the CA into tmpfs, root only, once
   * per boot. marathon-lb splits the line on ':' and wants two parts
   * (common.py), so a password holding ':' is refused here, not at run time.
   */
  private secretsScript(): string {
    const lines = [`d=${SECRETS_SUBDIR}`, 'install -d -m 0700 "$d"', "umask 077"];
    if (this.passwordCommand) {
      lines.push(
        'if [ ! -s "$d/credentials" ]; then',
        `  password=$(${this.passwordCommand})`,
        '  case "$password" in',
        '    "" | *:*)',
        "      echo \"marathon-lb-secrets: Marathon's password is empty or holds ':' (marathon-lb splits user:password on ':')\" >&2",
        "      exit 1",
        "      ;;",
        "  esac",
        `  printf '%s:%s\\n' '${this.marathon.credentials!.username}' "$password" > "$d/credentials.new"`,
        '  mv "$d/credentials.new" "$d/credentials"',
        "fi",
      );
    }
    if (this.caCommand) lines.push('if [ ! -s "$d/ca.pem" ]; then', `  ${this.caCommand} > "$d/ca.pem.new"`, '  mv "$d/ca.pem.new" "$d/ca.pem"', "fi");
    return lines.join("\n");
  }

  /** The cluster's own network: its address space when literal, else the groups of its machines. */
  private clusterNetwork(): Peer {
    const space = this.edgePool.nodes.target.network.addressSpace;
    if (space.length > 0 && space.every((c) => !isUnresolved(c) && Cidr.tryParse(c) !== undefined)) return Peer.cidrs([...space]);
    fail(this, "edgePool", pathOf(this.edgePool), "a cloud target whose network has a literal address space (the LB's internal ports open to it)");
  }
}
