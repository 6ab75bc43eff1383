import { Construct } from "constructs";
import { ROLE_NAMES } from "./core/role-header";
import { CloudConfig } from "./core/cloud-config";
import { checkCredentials, HttpCredentials } from "./core/credentials";
import { ContainerImage, DEFAULT_IMAGES, imageProp } from "./core/container-image";
import { checkExtraFlags } from "./core/flags";
import { Port } from "./core/network-rules";
import { addContainerService, addScript } from "./core/systemd";
import { checkRole, checkUserAllowed, checkUserName, claimFrameworkRole } from "./core/mesos-acls";
import type { ClusterSecret } from "./cloud/target";
import { checkInteger, fail } from "./core/validation";
import { addZkAclGuard, checkZookeeperCredentials, ZookeeperCredentials } from "./core/zookeeper-auth";
import { MesosMasterGroup } from "./mesos-master-group";
import { Connections, INodeRole, NodeContext, NodeGroup, SECRETS_DIR } from "./nodes";
import type { MasterTlsProxy } from "./master-tls-proxy";

/** Properties of a {@link MarathonService}. */
export interface MarathonServiceProps {
  /** The Mesos masters Marathon registers with. */
  readonly masters: MesosMasterGroup;
  /**
   * Machines Marathon runs on (one instance each; they elect a leader through ZooKeeper).
   * @default the masters' machines
   */
  readonly nodes?: NodeGroup;
  /** Marathon image, an exact tag. @default "mesosphere/marathon:v1.11.24" */
  readonly image?: string;
  /** HTTP API and UI port. @default 8080 */
  readonly httpPort?: number;
  /**
   * Port of Marathon's scheduler endpoint (libprocess), which the leading
   * Mesos master calls back; fixed so that a rule can open it.
   * @default 15101
   */
  readonly schedulerPort?: number;
  /** ZooKeeper path of Marathon's state and leader election. @default "/marathon" */
  readonly zkPath?: string;
  /**
   * More Marathon flags (name without dashes to value; an empty value for a
   * boolean switch). Flags this construct manages are refused.
   * @default {}
   */
  readonly extraFlags?: Record<string, string>;
  /**
   * Turn on HTTP basic authentication for Marathon's API and UI
   * (`http_credentials`). The password (usually a token) is kept in the
   * cloud's secret store and fetched at boot; it never enters user data.
   * @default no authentication
   */
  readonly credentials?: HttpCredentials;
  /**
   * The principal and secret Marathon registers with when the masters
   * authenticate frameworks ({@link MesosMasterGroupProps.frameworkCredentials}
   * must list the same): `--mesos_authentication` with
   * `--mesos_authentication_principal` and a secret file written at boot to
   * tmpfs from the secret store, mounted read-only (mesosphere/marathon
   * v1.8.244 MarathonConf / MesosSchedulerDriver credentials).
   * @default required exactly when the masters authenticate frameworks
   */
  readonly mesosAuthentication?: HttpCredentials;
  /**
   * Digest credentials Marathon authenticates to ZooKeeper with. Marathon
   * then creates its znodes changeable and readable only by these
   * credentials (`auth::cdrwa`; `<zkPath>/leader-curator` also
   * `world:anyone:r`: mesosphere/marathon v1.8.244 ZookeeperConf.scala
   * `zkDefaultCreationACL`, RichCuratorFramework.scala). The password
   * (usually a generated token) is kept in the cloud's secret store; at boot
   * Marathon's `MARATHON_ZK` is written to a root-only env file in tmpfs and
   * `--zk` leaves the command line, so the password never enters user data,
   * `ps` or `docker inspect`. Marathon's `--master` stays without
   * credentials: the masters' znodes are world-readable. Before Marathon
   * starts, its boot script creates `zkPath` with this ACL through zkCli (or
   * gives it to the path when it was left open; nodes below it that an
   * earlier Marathon left open need a one-time `setAcl -R`: README). Changing the
   * password later locks Marathon out of its own state (README, Security model).
   * @default no credentials: every znode open to every ZooKeeper client
   */
  readonly zookeeperCredentials?: ZookeeperCredentials;
  /**
   * The user Marathon's tasks run as unless an app names its own `user`
   * (`--mesos_user`, which becomes the framework's user: mesosphere/marathon
   * v1.8.244 MarathonConf.scala, MarathonSchedulerDriver.scala). It owns each
   * task's sandbox and runs plain `cmd` apps; Docker apps run as their
   * image's USER whatever it says (the Docker containerizer passes no
   * `--user`: apache/mesos 1.7.1 src/slave/containerizer/docker.cpp).
   * Without the flag Marathon uses the JVM's user. Must be one of the
   * masters' `taskUsers` when they have them. Mesos keeps a framework's
   * first user: a Marathon that registered before keeps its old user until
   * its framework ID changes (apache/mesos 1.7.1 src/master/framework.cpp).
   * @default "nobody"
   */
  readonly mesosUser?: string;
  /**
   * The Mesos role Marathon registers with (`--mesos_role`: "Marathon
   * receives resource offers for the specified role in addition to resources
   * with the role designation '*'", mesosphere/marathon v1.8.244
   * src/main/scala/mesosphere/marathon/MarathonConf.scala), e.g.
   * `slave_public` for an edge pool ({@link MesosAgentPoolProps.role}).
   * Marathon 1.8 registers with that single role (FrameworkInfo.role, no
   * MULTI_ROLE: MarathonSchedulerDriver.scala). With a role,
   * `--default_accepted_resource_roles=*` is set as well: its default is
   * every role Marathon gets offers for (MarathonConf.scala
   * `defaultAcceptedResourceRolesSet`), which would let any app land on the
   * edge; so only apps whose `acceptedResourceRoles` name the role go there.
   * With {@link mesosAuthentication} the masters' ACL reserves the role for
   * Marathon's principal (core/mesos-acls.ts); without framework
   * authentication no ACL can (any framework may claim any principal).
   * A Marathon that registered before keeps its framework: Mesos 1.7.1
   * updates the role on re-registration (src/master/master.cpp
   * `updateFramework`).
   * @default "*"
   */
  readonly mesosRole?: string;
}

/** Marathon flags this construct sets itself. */
export const MANAGED_MARATHON_FLAGS = [
  "master",
  "zk",
  "hostname",
  "http_port",
  "mesos_user",
  "http_credentials",
  "mesos_authentication",
  "mesos_authentication_principal",
  "mesos_authentication_secret_file",
  "mesos_role",
  "default_accepted_resource_roles",
] as const;

/** Where Marathon's framework secret is mounted in its container. */
const MESOS_SECRET_IN_CONTAINER = "/etc/marathon/mesos-secret";

/**
 * Marathon on the masters: every instance runs, one leads (elected through
 * ZooKeeper), the others proxy API calls to the leader.
 */
export class MarathonService extends Construct implements INodeRole {
  public readonly roleName = ROLE_NAMES.marathon;
  public readonly masters: MesosMasterGroup;
  public readonly nodes: NodeGroup;
  public readonly image: ContainerImage;
  public readonly httpPort: number;
  public readonly schedulerPort: number;
  /** `zk://.../marathon`. */
  public readonly zkUrl: string;
  /** The user Marathon's tasks run as unless an app names its own (`--mesos_user`). */
  public readonly mesosUser: string;
  public readonly extraFlags: Record<string, string>;
  /** Credentials of Marathon's HTTP API when authentication is on; undefined when it is off. */
  public readonly credentials?: HttpCredentials;
  /** The principal Marathon authenticates to the masters with, when they require it. */
  public readonly mesosAuthentication?: HttpCredentials;
  /** The command that prints Marathon's framework secret on a machine. */
  private readonly mesosSecretCommand?: string;
  /** The command that prints the password on a machine (when authentication is on). */
  private readonly passwordCommand?: string;
  /** The password in the cloud's secret store (when authentication is on): a pool that talks to Marathon reads it with {@link NodePool.useSecret}. */
  public readonly passwordSecret?: ClusterSecret;
  /** The Mesos role Marathon registers with (`--mesos_role`); `*` when it takes unreserved offers only. */
  public readonly mesosRole: string;
  /** ZooKeeper digest credentials of Marathon; undefined when its znodes are open. */
  public readonly zookeeperCredentials?: ZookeeperCredentials;
  /** The command that prints the ZooKeeper password on a machine (with zookeeperCredentials). */
  private readonly zkPasswordCommand?: string;

  /**
   * The TLS port in front of Marathon's HTTP API and the CA that signs it, when a
   * {@link MasterTlsProxy} serves one (the proxy sets this); clients outside
   * the cluster use {@link clientUrls}. Undefined: plain HTTP only.
   */
  public tls?: { readonly port: number; readonly caCertPem: string };

  constructor(scope: Construct, id: string, props: MarathonServiceProps) {
    super(scope, id);
    this.masters = props.masters;
    this.nodes = props.nodes ?? props.masters.nodes;
    this.image = imageProp(this, "image", props.image ?? DEFAULT_IMAGES.marathon);
    this.httpPort = checkInteger(this, "httpPort", props.httpPort ?? 8080, 1, 65535);
    this.schedulerPort = checkInteger(this, "schedulerPort", props.schedulerPort ?? 15101, 1, 65535);
    this.zkUrl = this.masters.zookeeper.zkUrl(props.zkPath ?? "/marathon");
    this.extraFlags = checkExtraFlags(this, "extraFlags", props.extraFlags, MANAGED_MARATHON_FLAGS);
    this.mesosUser = checkUserName(this, "mesosUser", props.mesosUser ?? "nobody");
    checkUserAllowed(this, "mesosUser", this.mesosUser, this.masters);
    this.mesosRole = checkRole(this, "mesosRole", props.mesosRole ?? "*", { forMarathon: true });

    if (props.credentials) {
      this.credentials = checkCredentials(this, "credentials", props.credentials);
      this.passwordSecret = this.nodes.target.storeSecret(this, "password", `${this.node.id}-password`, props.credentials.password);
      this.passwordCommand = this.nodes.useSecret(this.passwordSecret);
    }
    if (props.mesosAuthentication) {
      this.mesosAuthentication = checkCredentials(this, "mesosAuthentication", props.mesosAuthentication);
      const known = this.masters.frameworkCredentials.map((c) => c.username);
      if (!known.includes(this.mesosAuthentication.username)) {
        fail(this, "mesosAuthentication.username", this.mesosAuthentication.username, `a principal the masters accept: ${known.length ? known.join(", ") : "none (the masters authenticate no framework: leave mesosAuthentication out)"}`);
      }
      this.mesosSecretCommand = this.nodes.storeSecret(this, "mesos-secret", `${this.node.id}-mesos-secret`, props.mesosAuthentication.password);
    } else if (this.masters.requiresFrameworkAuthentication) {
      fail(this, "mesosAuthentication", undefined, `a principal and secret: the masters authenticate frameworks (${this.masters.frameworkCredentials.map((c) => c.username).join(", ")})`);
    }
    if (this.mesosRole !== "*" && this.mesosAuthentication) claimFrameworkRole(this.masters, this.mesosRole, this.mesosAuthentication.username);
    if (props.zookeeperCredentials !== undefined) {
      this.zookeeperCredentials = checkZookeeperCredentials(this, "zookeeperCredentials", props.zookeeperCredentials);
      this.zkPasswordCommand = this.nodes.storeSecret(this, "zk-password", `${this.node.id}-zk-password`, props.zookeeperCredentials.password);
    }

    this.nodes.claimPort(this, "httpPort", Port.tcp(this.httpPort), "Marathon's HTTP API");
    this.nodes.claimPort(this, "schedulerPort", Port.tcp(this.schedulerPort), "Marathon's scheduler endpoint");
    this.nodes.addRole(this);
    this.masters.zookeeper.connections.allowDefaultPortFrom(this.nodes, `ZooKeeper clients (${this.nodes.groupName})`);
    if (this.nodes !== this.masters.nodes) this.masters.connections.allowDefaultPortFrom(this.nodes, "Marathon registers with the Mesos masters");
    // Non-leading instances proxy API calls to the leader.
    this.nodes.connections.allowFrom(this.nodes, Port.tcp(this.httpPort), "Marathon: followers proxy to the leader");
    // The leading Mesos master calls the framework back on its libprocess port.
    this.nodes.connections.allowFrom(this.masters.nodes, Port.tcp(this.schedulerPort), "Marathon scheduler endpoint for the Mesos master");
  }

  /** Who may reach Marathon: the default port is its HTTP port. */
  public get connections(): Connections {
    return new Connections(this.nodes, Port.tcp(this.httpPort));
  }

  /** `http://ip:8080` per instance (any instance serves the API). */
  public get urls(): string[] {
    return this.nodes.privateIps.map((ip) => `http://${ip}:${this.httpPort}`);
  }

  /** What clients outside the cluster use: `https://ip:8443` per instance behind a TLS proxy, else {@link urls}. */
  public get clientUrls(): string[] {
    return this.tls ? this.nodes.privateIps.map((ip) => `https://${ip}:${this.tls!.port}`) : this.urls;
  }

  /**
   * Marathon's command line on `ip` (exactly what the user data runs). With
   * {@link zookeeperCredentials}, `--zk` is not on it: `MARATHON_ZK` comes
   * from the boot-time env file, and Marathon refuses a flag given both ways
   * (it turns `MARATHON_*` into arguments: mesosphere/marathon v1.8.244
   * src/main/scala/mesosphere/marathon/Main.scala `envToArgs`).
   */
  public argsFor(ip: string): string[] {
    const args = [
      "--master", this.masters.zkUrl,
      ...(this.zookeeperCredentials ? [] : ["--zk", this.zkUrl]),
      "--hostname", ip,
      "--http_port", String(this.httpPort),
      "--mesos_user", this.mesosUser,
      ...(this.mesosAuthentication
        ? ["--mesos_authentication", "--mesos_authentication_principal", this.mesosAuthentication.username, "--mesos_authentication_secret_file", MESOS_SECRET_IN_CONTAINER]
        : []),
      // Offers of the role too, but apps go there only when their acceptedResourceRoles say so (MarathonConf.scala).
      ...(this.mesosRole !== "*" ? ["--mesos_role", this.mesosRole, "--default_accepted_resource_roles", "*"] : []),
    ];
    for (const [flag, value] of Object.entries(this.extraFlags)) {
      args.push(`--${flag}`);
      if (value !== "") args.push(value);
    }
    return args;
  }

  /** Role contribution: the Marathon unit. */
  public configure(config: CloudConfig, node: NodeContext): void {
    if (!node.privateIp) throw new Error("Marathon needs fixed machines");
    const runtimeEnvFiles: string[] = [];
    const preStart: string[] = [];
    if (this.credentials && this.passwordCommand) {
      const file = `${SECRETS_DIR}/marathon.env`;
      preStart.push(
        addScript(
          config,
          "marathon-credentials",
          `
# Writes Marathon's HTTP credentials (MARATHON_HTTP_CREDENTIALS, never also a
# command-line flag) from the cloud's secret store to tmpfs, root only.
umask 077
mkdir -p ${SECRETS_DIR}
password=$(${this.passwordCommand})
printf 'MARATHON_HTTP_CREDENTIALS=%s:%s\\n' '${this.credentials.username}' "$password" > ${file}`,
        ),
      );
      runtimeEnvFiles.push(file);
    }
    if (this.zookeeperCredentials && this.zkPasswordCommand) {
      const file = `${SECRETS_DIR}/marathon-zk.env`;
      // Writes MARATHON_ZK to the env file, then gives zkPath Marathon's ACL (core/zookeeper-auth.ts).
      preStart.push(
        addZkAclGuard(config, {
          scope: this,
          name: "marathon-zk-auth",
          policy: "marathon",
          passwordCommand: this.zkPasswordCommand,
          username: this.zookeeperCredentials.username,
          zkUrl: this.zkUrl,
          file,
          envName: "MARATHON_ZK",
          image: this.masters.zookeeper.image.reference,
        }),
      );
      runtimeEnvFiles.push(file);
    }
    const volumes: string[] = [];
    if (this.mesosAuthentication && this.mesosSecretCommand) {
      const file = `${SECRETS_DIR}/marathon-mesos-secret`;
      preStart.push(
        addScript(
          config,
          "marathon-mesos-secret",
          `
# Writes Marathon's framework secret from the cloud's secret store to tmpfs,
# root only, without a trailing newline (the file's bytes are the secret).
umask 077
mkdir -p ${SECRETS_DIR}
secret=$(${this.mesosSecretCommand})
printf '%s' "$secret" > ${file}`,
        ),
      );
      volumes.push(`${file}:${MESOS_SECRET_IN_CONTAINER}:ro`);
    }
    addContainerService(config, {
      runtimeEnvFiles,
      preStart,
      volumes,
      name: "marathon",
      description: "Marathon (leader elected through ZooKeeper)",
      image: this.image,
      // libprocess binds the scheduler endpoint; the master must reach it on this address and port.
      environment: { LIBPROCESS_IP: node.privateIp, LIBPROCESS_PORT: String(this.schedulerPort) },
      args: this.argsFor(node.privateIp),
    });
  }
}
