import { Construct } from "constructs";
import { ROLE_NAMES } from "./core/role-header";
import { ClusterSecret } from "./cloud/target";
import { CloudConfig } from "./core/cloud-config";
import { checkCredentials, HttpCredentials } from "./core/credentials";
import { ContainerImage, DEFAULT_IMAGES, imageProp } from "./core/container-image";
import { checkExtraFlags } from "./core/flags";
import { Port } from "./core/network-rules";
import { addContainerService, addScript } from "./core/systemd";
import { checkTaskUsers, frameworkRoleOwners, mesosAcls } from "./core/mesos-acls";
import { checkInteger, checkOneOf, checkPattern, fail, NAME_ALLOWED, NAME_PATTERN } from "./core/validation";
import { addZkAclGuard, checkZookeeperCredentials, ZookeeperCredentials } from "./core/zookeeper-auth";
import { Connections, INodeRole, NodeContext, NodeGroup, placeOn, PlacementProps, SECRETS_DIR } from "./nodes";
import { ENSEMBLE_SIZES, ZookeeperEnsemble } from "./zookeeper-ensemble";
import type { MasterTlsProxy } from "./master-tls-proxy";

/** Properties of a {@link MesosMasterGroup}. */
export interface MesosMasterGroupProps extends PlacementProps {
  /** The ZooKeeper ensemble masters elect their leader through. */
  readonly zookeeper: ZookeeperEnsemble;
  /**
   * Mesos cluster name shown in the UI.
   * @default the target's cluster name
   */
  readonly clusterName?: string;
  /** Mesos master image, an exact tag. @default "mesosphere/mesos-master:1.7.1" */
  readonly image?: string;
  /** Master port. @default 5050 */
  readonly port?: number;
  /** ZooKeeper path of the master election. @default "/mesos" */
  readonly zkPath?: string;
  /**
   * Where the master keeps its registry: `replicated_log` survives restarts;
   * `in_memory` is for throwaway clusters only.
   * @default "replicated_log"
   */
  readonly registry?: "replicated_log" | "in_memory";
  /**
   * More Mesos master flags (name without dashes to value), passed on the
   * command line with the managed ones. Flags this construct manages are refused.
   * @default {}
   */
  readonly extraFlags?: Record<string, string>;
  /**
   * Turn on HTTP basic authentication for the masters' endpoints, read-write
   * and read-only (`authenticate_http_readwrite`, `authenticate_http_readonly`),
   * and for frameworks of the v1 HTTP scheduler API
   * (`authenticate_http_frameworks`): a task can no longer register a
   * framework with a plain POST to /api/v1/scheduler. Marathon 1.8 and Swarm
   * 1.2.8 register through the v0 driver, which this does not touch
   * (mesosphere/marathon v1.8.244 MarathonSchedulerDriver.scala: libmesos
   * MesosSchedulerDriver; apache/mesos 1.7.1 src/master/http.cpp scheduler()).
   * The password (usually a token: a generated secret or a sensitive
   * variable) is kept in the cloud's secret store and fetched by the masters
   * at boot; it never enters user data.
   * @default no authentication
   */
  readonly credentials?: HttpCredentials;
  /**
   * Frameworks allowed to register, each with its principal and secret:
   * turns on v0 framework authentication (`authenticate_frameworks`,
   * CRAM-MD5), so that only these can register and run tasks. Needs
   * `credentials` (the same credentials file carries them). Classic Swarm
   * 1.2.8 sends no framework credential (docker-archive/classicswarm
   * cluster/mesos/cluster.go), so a {@link SwarmManager} refuses masters
   * that require one. Secrets are kept in the cloud's secret store.
   * @default none: any v0 framework may register
   */
  readonly frameworkCredentials?: HttpCredentials[];
  /**
   * The credential Mesos agents authenticate with (CRAM-MD5): its principal
   * and secret join the masters' credentials file (needs `credentials`), and
   * with {@link requireAgentAuthentication} the masters refuse every agent
   * that does not present it (`authenticate_agents`; apache/mesos 1.7.1
   * src/master/master.cpp "Refusing registration of agent ... because it is
   * not authenticated"). A {@link MesosAgentPool} of these masters presents
   * it: its members read the secret at boot with an identity of the pool's
   * own that can read only that secret, into a root-only tmpfs file, and then
   * close the instance metadata service to everything on the host before
   * Docker starts (README, Security model). The secret is kept in the cloud's
   * secret store and never enters user data. The masters' single credentials
   * file also serves their HTTP basic auth (src/master/master.cpp
   * initializeHttpAuthenticators), so this principal is an HTTP principal
   * of the masters too.
   * @default none: agents register without credentials
   */
  readonly agentCredentials?: HttpCredentials;
  /**
   * With {@link agentCredentials}: `true` refuses agents without them
   * (`authenticate_agents`); `false` only accepts them, for moving a running
   * cluster in two steps (README: agents presenting a principal their master
   * does not know exit, and masters that require one drop every agent
   * without it).
   * @default true with agentCredentials
   */
  readonly requireAgentAuthentication?: boolean;
  /**
   * Digest credentials the masters authenticate to ZooKeeper with. Mesos then
   * creates its znodes (`zkPath`, the leader election, the replicated log's
   * replicas) readable by everyone and changeable only by these credentials
   * (`world:anyone:r` + `auth::cdrwa`, apache/mesos src/zookeeper/group.cpp);
   * agents, Marathon's `--master` and Swarm keep finding the leader without
   * credentials. The password (usually a generated token) is kept in the
   * cloud's secret store; at boot the masters write the `zk://user:password@...`
   * URL to a root-only file in tmpfs and pass `--zk=file://...`, so it never
   * enters user data, the command line or the master's `/flags`. Before the
   * master starts, the same boot script (`mesos-master-zk-auth`, ZooKeeper's
   * own shell from the ensemble's image) creates `zkPath` with this ACL, or
   * gives it to the path when a reader created it open first; open nodes
   * below it, from a cluster that ran without credentials, take one
   * `setAcl -R` by hand (README). `zkPath` must then be one level deep.
   * Changing the password later locks the masters out of their own znodes
   * (README, Security model).
   * @default no credentials: every znode open to every ZooKeeper client
   */
  readonly zookeeperCredentials?: ZookeeperCredentials;
  /**
   * The Unix users tasks may run as: a `run_tasks` ACL (`--acls`, the local
   * authorizer) lets every framework's tasks run as these users and refuses
   * every other user (TASK_ERROR "Not authorized to launch as user"). The
   * user is a task's own `user`, else its framework's (Marathon's
   * `--mesos_user`, Swarm's `SWARM_MESOS_USER`). It decides the sandbox's
   * owner and the user of plain `cmd` tasks; a Docker task runs as its
   * image's USER whatever this says, and no Mesos 1.7 ACL covers
   * `privileged` or host volumes (core/mesos-acls.ts has the upstream code).
   * Each user must exist in the agents' image (`nobody` does).
   * @default no ACL: tasks may run as any user, root included
   */
  readonly taskUsers?: string[];
}

/** Mesos master flags this construct sets itself. */
export const MANAGED_MASTER_FLAGS = [
  "zk",
  "quorum",
  "work_dir",
  "log_dir",
  "cluster",
  "hostname",
  "ip",
  "port",
  "registry",
  "authenticate_http_readwrite",
  "authenticate_http_readonly",
  "authenticate_http_frameworks",
  "http_authenticators",
  "http_framework_authenticators",
  "authenticate_frameworks",
  "authenticate_agents",
  "credentials",
  "acls",
] as const;

/** Where the masters' credentials file is mounted inside the container. */
const CREDENTIALS_IN_CONTAINER = "/etc/mesos/credentials.json";
/**
 * Where the file holding the masters' credentialed ZooKeeper URL is mounted
 * inside the container. `--zk` is a `SecurePathOrValue` flag: `file://PATH`
 * is read at start, and the flag shows (in `/flags`, `/state` and the log)
 * the path instead of the file's contents (apache/mesos 1.7.1
 * src/master/flags.hpp `Option<flags::SecurePathOrValue> zk`, src/master/flags.cpp
 * "`file:///path/to/file` (where file contains one of the above)",
 * 3rdparty/stout/include/stout/flags/parse.hpp, flags/flag.hpp operator<<).
 */
export const MESOS_ZK_URL_IN_CONTAINER = "/etc/mesos/zk";

/**
 * Mesos masters on a {@link NodeGroup}, electing a leader through ZooKeeper
 * with a replicated log quorum of floor(n/2)+1.
 */
export class MesosMasterGroup extends Construct implements INodeRole {
  public readonly roleName = ROLE_NAMES.mesosMaster;
  public readonly nodes: NodeGroup;
  public readonly zookeeper: ZookeeperEnsemble;
  public readonly image: ContainerImage;
  public readonly port: number;
  /** Replicated log quorum: floor(n/2)+1. */
  public readonly quorum: number;
  /** `zk://.../mesos`, what agents, Marathon and Swarm use to find the leader. */
  public readonly zkUrl: string;
  public readonly clusterName: string;
  public readonly registry: string;
  public readonly extraFlags: Record<string, string>;
  /** Credentials of the masters' HTTP API when authentication is on; undefined when it is off. */
  public readonly credentials?: HttpCredentials;
  /** The command that prints the password on a master (when authentication is on). */
  private readonly passwordCommand?: string;
  /** Frameworks that must authenticate to register (v0); empty when any may register. */
  public readonly frameworkCredentials: HttpCredentials[];
  /** The commands that print each framework's secret on a master. */
  private readonly frameworkSecretCommands: string[];
  /** The credential agents authenticate with; undefined when agents register without one. */
  public readonly agentCredentials?: HttpCredentials;
  /** The agents' secret in the cloud's secret store (a pool reads it with {@link NodePool.useSecret}). */
  public readonly agentSecret?: ClusterSecret;
  /** The command that prints the agents' secret on a master. */
  private readonly agentSecretCommand?: string;
  /** True when the masters refuse agents without {@link agentCredentials} (`authenticate_agents`). */
  public readonly requiresAgentAuthentication: boolean;
  /** ZooKeeper digest credentials of the masters; undefined when their znodes are open. */
  public readonly zookeeperCredentials?: ZookeeperCredentials;
  /** The command that prints the ZooKeeper password on a master (with zookeeperCredentials). */
  private readonly zkPasswordCommand?: string;
  /** The users tasks may run as (the `run_tasks` ACL); undefined when any user may. */
  public readonly taskUsers?: string[];
  /** Read-only principals ({@link addViewer}) and the commands that print their secrets on a master. */
  private readonly viewers: { readonly credentials: HttpCredentials; readonly secretCommand: string }[] = [];
  /** True once an agent pool drains with the agents' principal ({@link allowAgentMaintenance}). */
  private agentMaintenance = false;

  /**
   * The TLS port in front of the masters' HTTP API and the CA that signs it, when a
   * {@link MasterTlsProxy} serves one (the proxy sets this); clients outside
   * the cluster use {@link clientUrls}. Undefined: plain HTTP only.
   */
  public tls?: { readonly port: number; readonly caCertPem: string };

  constructor(scope: Construct, id: string, props: MesosMasterGroupProps) {
    super(scope, id);
    this.nodes = placeOn(this, props, "masters", 3);
    if (!(ENSEMBLE_SIZES as readonly number[]).includes(this.nodes.count)) {
      fail(this, "count", this.nodes.count, "1, 3, 5 or 7 masters (an odd number keeps a quorum through failures)");
    }
    this.zookeeper = props.zookeeper;
    this.image = imageProp(this, "image", props.image ?? DEFAULT_IMAGES.mesosMaster);
    this.port = checkInteger(this, "port", props.port ?? 5050, 1, 65535);
    this.nodes.claimPort(this, "port", Port.tcp(this.port), "the Mesos master");
    this.quorum = Math.floor(this.nodes.count / 2) + 1;
    this.zkUrl = this.zookeeper.zkUrl(props.zkPath ?? "/mesos");
    this.clusterName = checkPattern(this, "clusterName", props.clusterName ?? this.nodes.target.clusterName, NAME_PATTERN, NAME_ALLOWED);
    this.registry = checkOneOf(this, "registry", props.registry ?? "replicated_log", ["replicated_log", "in_memory"]);
    this.extraFlags = checkExtraFlags(this, "extraFlags", props.extraFlags, MANAGED_MASTER_FLAGS);
    if (props.taskUsers !== undefined) this.taskUsers = checkTaskUsers(this, "taskUsers", props.taskUsers);

    if (props.credentials) {
      this.credentials = checkCredentials(this, "credentials", props.credentials);
      this.passwordCommand = this.nodes.storeSecret(this, "password", `${this.node.id}-password`, props.credentials.password);
    }
    this.frameworkCredentials = (props.frameworkCredentials ?? []).map((c, i) => checkCredentials(this, `frameworkCredentials[${i}]`, c));
    if (this.frameworkCredentials.length > 0 && !this.credentials) {
      fail(this, "frameworkCredentials", this.frameworkCredentials.map((c) => c.username), "framework credentials together with credentials (the masters' credentials file carries both)");
    }
    const principals = [this.credentials?.username, ...this.frameworkCredentials.map((c) => c.username)].filter(Boolean);
    if (new Set(principals).size !== principals.length) fail(this, "frameworkCredentials", principals, "principals distinct from each other and from credentials.username");
    this.frameworkSecretCommands = this.frameworkCredentials.map((c) =>
      this.nodes.storeSecret(this, `framework-${c.username}-secret`, `${this.node.id}-framework-${c.username}`, c.password),
    );
    if (props.agentCredentials !== undefined) {
      this.agentCredentials = checkCredentials(this, "agentCredentials", props.agentCredentials);
      if (!this.credentials) fail(this, "agentCredentials", this.agentCredentials.username, "agent credentials together with credentials (the masters' credentials file carries both)");
      if (principals.includes(this.agentCredentials.username)) fail(this, "agentCredentials.username", this.agentCredentials.username, `a principal other than ${principals.join(", ")} (credentials and frameworkCredentials)`);
      this.agentSecret = this.nodes.target.storeSecret(this, "agent-secret", `${this.node.id}-agent-secret`, this.agentCredentials.password);
      this.agentSecretCommand = this.nodes.useSecret(this.agentSecret);
    }
    const require = props.requireAgentAuthentication ?? this.agentCredentials !== undefined;
    if (typeof require !== "boolean") fail(this, "requireAgentAuthentication", require, "true or false");
    if (require && !this.agentCredentials) fail(this, "requireAgentAuthentication", require, "false or unset without agentCredentials (no agent could register)");
    this.requiresAgentAuthentication = require;
    if (props.zookeeperCredentials !== undefined) {
      this.zookeeperCredentials = checkZookeeperCredentials(this, "zookeeperCredentials", props.zookeeperCredentials);
      this.zkPasswordCommand = this.nodes.storeSecret(this, "zk-password", `${this.node.id}-zk-password`, props.zookeeperCredentials.password);
    }

    this.nodes.addRole(this);
    this.zookeeper.connections.allowDefaultPortFrom(this.nodes, `ZooKeeper clients (${this.nodes.groupName})`);
    // Masters replicate the registry log and redirect to the leader through the master port.
    this.nodes.connections.allowFrom(this.nodes, Port.tcp(this.port), "Mesos masters: replicated log and leader redirects");
  }

  /**
   * Adds a principal that may only read the masters' state (a {@link MesosDns}
   * reads `/master/state.json` with it): it joins the masters' credentials
   * file, and their ACL denies it everything that changes the cluster, every
   * task, agent registration (the same file feeds CRAM-MD5), the masters' log
   * files, sandboxes and flags (apache/mesos 1.7.1
   * include/mesos/authorizer/acls.proto: register_agents, access_mesos_logs,
   * access_sandboxes, view_flags; `/master/state` leaves `flags` out when
   * VIEW_FLAGS is denied, src/master/http.cpp state()). The secret (usually a
   * generated token) is kept in the cloud's secret store under `scope`;
   * returns the command that prints it on a master. Needs `credentials`.
   */
  public addViewer(scope: Construct, credentials: HttpCredentials): string {
    const checked = checkCredentials(scope, "credentials", credentials);
    if (!this.credentials) fail(scope, "credentials", checked.username, `a viewer principal only on masters with credentials (${this.node.path} has no HTTP authentication: nothing to authenticate to)`);
    const taken = [this.credentials.username, ...this.frameworkCredentials.map((c) => c.username), this.agentCredentials?.username, ...this.viewers.map((v) => v.credentials.username)];
    if (taken.includes(checked.username)) fail(scope, "credentials.username", checked.username, `a principal other than ${taken.filter(Boolean).join(", ")} (the masters' other principals)`);
    const secretCommand = this.nodes.storeSecret(scope, "secret", `${this.node.id}-viewer-${checked.username}`, checked.password);
    this.viewers.push({ credentials: checked, secretCommand });
    return secretCommand;
  }

  /**
   * Called by a {@link MesosAgentPool} that drains its agents before the cloud
   * removes them (core/agent-drain.ts): the masters' ACL then lets the agents'
   * principal read and write the maintenance schedule and bring machines
   * down and up (core/mesos-acls.ts AGENT_MAINTENANCE_ACTIONS, which no entry
   * can narrow to one machine); every other denial of that principal stays.
   * Needs {@link agentCredentials}.
   */
  public allowAgentMaintenance(): void {
    if (!this.agentCredentials) throw new Error(`${this.node.path}: agent maintenance needs agentCredentials`);
    this.agentMaintenance = true;
  }

  /** Principals added with {@link addViewer}. */
  public get viewerPrincipals(): string[] {
    return this.viewers.map((v) => v.credentials.username);
  }

  /** `http://ip:5050` per master (any master redirects to the leader). */
  public get urls(): string[] {
    return this.nodes.privateIps.map((ip) => `http://${ip}:${this.port}`);
  }

  /** What clients outside the cluster use: `https://ip:5443` per master behind a TLS proxy, else {@link urls}. */
  public get clientUrls(): string[] {
    return this.tls ? this.nodes.privateIps.map((ip) => `https://${ip}:${this.tls!.port}`) : this.urls;
  }

  /** Who may reach the masters: the default port is the master port (agents, frameworks: `allowDefaultPortFrom`). */
  public get connections(): Connections {
    return new Connections(this.nodes, Port.tcp(this.port));
  }

  /**
   * The value of `--zk`: {@link zkUrl}, or with {@link zookeeperCredentials}
   * `file:///etc/mesos/zk`, the credentialed URL written at boot.
   */
  public get zkFlag(): string {
    return this.zookeeperCredentials ? `file://${MESOS_ZK_URL_IN_CONTAINER}` : this.zkUrl;
  }

  /** The flags of the master on `ip` (flag name to value, exactly what its command line says). */
  public flagsFor(ip: string): Record<string, string> {
    const flags: Record<string, string> = {
      zk: this.zkFlag,
      quorum: String(this.quorum),
      work_dir: "/var/lib/mesos",
      log_dir: "/var/log/mesos",
      cluster: this.clusterName,
      hostname: ip,
      ip,
      port: String(this.port),
      registry: this.registry,
    };
    if (this.credentials) {
      flags.authenticate_http_readwrite = "true";
      flags.authenticate_http_readonly = "true";
      flags.authenticate_http_frameworks = "true";
      flags.http_authenticators = "basic";
      flags.http_framework_authenticators = "basic";
      if (this.frameworkCredentials.length > 0) flags.authenticate_frameworks = "true";
      if (this.requiresAgentAuthentication) flags.authenticate_agents = "true";
      flags.credentials = CREDENTIALS_IN_CONTAINER;
    }
    const viewers = this.viewerPrincipals;
    const acls = mesosAcls({
      taskUsers: this.taskUsers,
      agentOnlyPrincipals: [...(this.agentCredentials ? [this.agentCredentials.username] : []), ...viewers],
      viewerPrincipals: viewers,
      // A pool that drains its agents: their principal may put machines in maintenance (allowAgentMaintenance).
      maintenancePrincipals: this.agentMaintenance && this.agentCredentials ? [this.agentCredentials.username] : [],
      // Roles a framework reserved on these masters (MarathonService mesosRole: slave_public).
      roleOwners: frameworkRoleOwners(this),
    });
    if (acls) flags.acls = acls;
    return { ...flags, ...this.extraFlags };
  }

  /**
   * The master container's arguments on `ip`: every flag as `--name=value`.
   * Arguments, not `MESOS_*` environment: the image's CMD is
   * `--registry=in_memory` and a command-line flag beats the environment
   * (stout flags.hpp), so only arguments, which replace the CMD, make the
   * registry what {@link registry} says (image-facts.ts).
   */
  public argsFor(ip: string): string[] {
    return Object.entries(this.flagsFor(ip)).map(([flag, value]) => `--${flag}=${value}`);
  }

  /**
   * The shell that writes the credentials file: the HTTP principal, then each
   * framework allowed to register (their secrets fetched one by one), then
   * the agents' principal. The agents' secret is fetched into a variable
   * first, so that a failed fetch stops the script (set -e) instead of
   * writing the principal with an empty secret.
   */
  private credentialsFileCommand(file: string): string {
    const first = `'{"credentials":[{"principal":"%s","secret":"%s"}`;
    const entry = `printf ',{"principal":"%s","secret":"%s"}'`;
    const others: { principal: string; variable: string; command: string }[] = [
      ...this.frameworkCredentials.map((c, i) => ({ principal: c.username, variable: `framework_secret_${i}`, command: this.frameworkSecretCommands[i] })),
      ...(this.agentCredentials ? [{ principal: this.agentCredentials.username, variable: "agent_secret", command: this.agentSecretCommand! }] : []),
      ...this.viewers.map((v, i) => ({ principal: v.credentials.username, variable: `viewer_secret_${i}`, command: v.secretCommand })),
    ];
    if (others.length === 0) return `printf ${first}]}\\n' '${this.credentials!.username}' "$password" > ${file}`;
    // Each secret into a variable first: a failed fetch inside printf's arguments would not stop
    // the script (set -e ignores it there) and would write the principal with an empty secret.
    return [
      ...others.map((o) => `${o.variable}=$(${o.command})`),
      "{",
      `  printf ${first}' '${this.credentials!.username}' "$password"`,
      ...others.map((o) => `  ${entry} '${o.principal}' "$${o.variable}"`),
      "  printf ']}\\n'",
      `} > ${file}`,
    ].join("\n");
  }

  /** True when only the frameworks of {@link frameworkCredentials} may register. */
  public get requiresFrameworkAuthentication(): boolean {
    return this.frameworkCredentials.length > 0;
  }

  /** Role contribution: the master's env file and unit. */
  public configure(config: CloudConfig, node: NodeContext): void {
    if (!node.privateIp) throw new Error("Mesos masters need fixed machines");
    const volumes = [`${node.dataRoot}/mesos:/var/lib/mesos`, "/var/log/mesos:/var/log/mesos"];
    const preStart: string[] = [];
    if (this.credentials && this.passwordCommand) {
      const file = `${SECRETS_DIR}/mesos-credentials.json`;
      preStart.push(
        addScript(
          config,
          "mesos-master-credentials",
          `
# Writes the masters' credentials from the cloud's secret store to tmpfs,
# readable by root only. No secret appears in user data.
umask 077
mkdir -p ${SECRETS_DIR}
password=$(${this.passwordCommand})
${this.credentialsFileCommand(file)}`,
        ),
      );
      volumes.push(`${file}:${CREDENTIALS_IN_CONTAINER}:ro`);
    }
    if (this.zookeeperCredentials && this.zkPasswordCommand) {
      const file = `${SECRETS_DIR}/mesos-zk-url`;
      // Writes the credentialed URL to the file, then gives zkPath the masters' ACL (core/zookeeper-auth.ts).
      preStart.push(
        addZkAclGuard(config, {
          scope: this,
          name: "mesos-master-zk-auth",
          policy: "mesos",
          passwordCommand: this.zkPasswordCommand,
          username: this.zookeeperCredentials.username,
          zkUrl: this.zkUrl,
          file,
          image: this.zookeeper.image.reference,
        }),
      );
      volumes.push(`${file}:${MESOS_ZK_URL_IN_CONTAINER}:ro`);
    }
    addContainerService(config, {
      name: "mesos-master",
      description: `Mesos master (quorum ${this.quorum} of ${this.nodes.count})`,
      image: this.image,
      args: this.argsFor(node.privateIp),
      volumes,
      preStart,
      requires: node.dataUnits,
    });
  }
}
