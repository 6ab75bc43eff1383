import { Construct } from "constructs";
import { CloudConfig } from "./core/cloud-config";
import { checkCredentials, HttpCredentials } from "./core/credentials";
import { ContainerImage, DEFAULT_IMAGES, imageProp } from "./core/container-image";
import { checkExtraFlags } from "./core/flags";
import { Port } from "./core/network-rules";
import { addContainerService, addScript } from "./core/systemd";
import { checkInteger, checkOneOf, checkPattern, fail, NAME_ALLOWED, NAME_PATTERN } from "./core/validation";
import { INodeRole, MachineSet, NodeContext, NodeGroup, placeOn, PlacementProps, SECRETS_DIR } from "./nodes";
import { ENSEMBLE_SIZES, ZookeeperEnsemble } from "./zookeeper-ensemble";

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
   * Turn on HTTP basic authentication for the masters' read-write endpoints
   * (`authenticate_http_readwrite`). The password (usually a token: a
   * generated secret or a sensitive variable) is kept in the cloud's secret
   * store and fetched by the masters at boot; it never enters user data.
   * @default no authentication
   */
  readonly credentials?: HttpCredentials;
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
  "http_authenticators",
  "credentials",
] as const;

/** Where the masters' credentials file is mounted inside the container. */
const CREDENTIALS_IN_CONTAINER = "/etc/mesos/credentials.json";

/**
 * Mesos masters on a {@link NodeGroup}, electing a leader through ZooKeeper
 * with a replicated log quorum of floor(n/2)+1.
 */
export class MesosMasterGroup extends Construct implements INodeRole {
  public readonly roleName = "mesos-master";
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

  constructor(scope: Construct, id: string, props: MesosMasterGroupProps) {
    super(scope, id);
    this.nodes = placeOn(this, props, "masters", 3);
    if (!(ENSEMBLE_SIZES as readonly number[]).includes(this.nodes.count)) {
      fail(this, "count", this.nodes.count, "1, 3, 5 or 7 masters (an odd number keeps a quorum through failures)");
    }
    this.zookeeper = props.zookeeper;
    this.image = imageProp(this, "image", props.image ?? DEFAULT_IMAGES.mesosMaster);
    this.port = checkInteger(this, "port", props.port ?? 5050, 1, 65535);
    this.quorum = Math.floor(this.nodes.count / 2) + 1;
    this.zkUrl = this.zookeeper.zkUrl(props.zkPath ?? "/mesos");
    this.clusterName = checkPattern(this, "clusterName", props.clusterName ?? this.nodes.target.clusterName, NAME_PATTERN, NAME_ALLOWED);
    this.registry = checkOneOf(this, "registry", props.registry ?? "replicated_log", ["replicated_log", "in_memory"]);
    this.extraFlags = checkExtraFlags(this, "extraFlags", props.extraFlags, MANAGED_MASTER_FLAGS);

    if (props.credentials) {
      this.credentials = checkCredentials(this, "credentials", props.credentials);
      this.passwordCommand = this.nodes.storeSecret(this, "password", `${this.node.id}-password`, props.credentials.password);
    }

    this.nodes.addRole(this);
    this.zookeeper.allowClients(this.nodes);
    // Masters replicate the registry log and redirect to the leader through the master port.
    this.nodes.allowFromGroup(this.nodes, Port.tcp(this.port), "Mesos masters: replicated log and leader redirects");
  }

  /** `http://ip:5050` per master (any master redirects to the leader). */
  public get urls(): string[] {
    return this.nodes.privateIps.map((ip) => `http://${ip}:${this.port}`);
  }

  /** Lets the machines of `other` (agents, frameworks) reach the master port. */
  public allowFrom(other: MachineSet, why: string): void {
    this.nodes.allowFromGroup(other, Port.tcp(this.port), why);
  }

  /** The flags of the master on `ip` (flag name to value, exactly what its command line says). */
  public flagsFor(ip: string): Record<string, string> {
    const flags: Record<string, string> = {
      zk: this.zkUrl,
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
      flags.http_authenticators = "basic";
      flags.credentials = CREDENTIALS_IN_CONTAINER;
    }
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
# Writes the masters' HTTP credentials from the cloud's secret store to tmpfs,
# readable by root only. The password never appears in user data.
umask 077
mkdir -p ${SECRETS_DIR}
password=$(${this.passwordCommand})
printf '{"credentials":[{"principal":"%s","secret":"%s"}]}\\n' '${this.credentials.username}' "$password" > ${file}`,
        ),
      );
      volumes.push(`${file}:${CREDENTIALS_IN_CONTAINER}:ro`);
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
