import { Fn, TerraformResource, Token } from "cdktf";
import { Construct } from "constructs";
import { Resource } from "@cdktf/provider-null/lib/resource";
import {
  checkPollSeconds,
  clearTextUrl,
  clusterClientInterpreter,
  credentialsEnvironment,
  ensureNullProvider,
  environmentSecret,
  machineAddresses,
  machineUrls,
  serversText,
} from "./cluster-client";
import { checkInteger, fail } from "./core/validation";
import { MarathonService } from "./marathon-service";
import { MesosAgentPool } from "./mesos-agent-pool";
import { MesosMasterGroup } from "./mesos-master-group";
import { SwarmManager } from "./swarm-manager";

/** Properties of a {@link ClusterReadinessGate}. */
export interface ClusterReadinessGateProps {
  /** The Mesos masters whose health, leader and registered agents are checked. */
  readonly mesos: MesosMasterGroup;
  /** The Marathon whose leader and apps API are checked (its apps wait for this gate). */
  readonly marathon: MarathonService;
  /** Also wait for the Swarm manager to hold Mesos offers. @default not checked */
  readonly swarm?: SwarmManager;
  /** The agents that must all be registered with Mesos (their counts add up). @default [] */
  readonly agentPools?: MesosAgentPool[];
  /**
   * Also check ZooKeeper (`ruok`/`srvr`, one leader). Its client port is not
   * opened to admin networks, so this needs a VPN or peering; Mesos and
   * Marathon electing leaders already shows a ZooKeeper quorum.
   * @default false
   */
  readonly checkZookeeper?: boolean;
  /**
   * Mesos masters as the deploying machine reaches them: one entry per master,
   * alternative base URLs of a master separated by `|` (e.g. through an SSH
   * tunnel: `http://localhost:5050`). Behind a {@link MasterTlsProxy} only
   * https URLs are accepted: the credentials never travel in clear text.
   * @default each master at its private IP and, where it has one, its public IP (https on the TLS port behind a MasterTlsProxy)
   */
  readonly mesosUrls?: string[];
  /** Marathon instances, one entry per instance (alternatives separated by `|`). @default as for Mesos */
  readonly marathonUrls?: string[];
  /**
   * The Swarm manager's base URL (alternatives separated by `|`).
   * @default its master's private and public IP (https on the TLS port when the Swarm API has TLS)
   */
  readonly swarmUrl?: string;
  /** ZooKeeper members as `host:port`, one entry per member (with `checkZookeeper`). @default each member's private and public IP */
  readonly zookeeperMembers?: string[];
  /** How long `cdktf deploy` may wait, in seconds (boot, image pulls and the agents' cgroup reboot take minutes). @default 1200 */
  readonly timeoutSeconds?: number;
  /** Seconds between rounds of checks (fractions allowed). @default 10 */
  readonly pollIntervalSeconds?: number;
}

const GATES = new WeakMap<MarathonService, ClusterReadinessGate>();

/**
 * Makes `cdktf deploy` finish only when the cluster can take work: a
 * `null_resource` whose local-exec polls, from the deploying machine, the
 * checks of `npm run smoke` (Mesos health, one leading master, every agent
 * registered, a Marathon leader on every instance, Marathon's apps API,
 * Swarm's offers; ZooKeeper on request) until they all pass or the timeout
 * fails the deploy naming the checks that did not pass.
 *
 * It can only work when the deploying machine reaches the masters (admin
 * networks or a VPN). It runs again when a master or the agent pool is
 * replaced or the pool is resized. {@link MarathonApp}s of the same Marathon
 * depend on it.
 */
export class ClusterReadinessGate extends Construct {
  /** The gate of a Marathon, if one was created. */
  public static of(marathon: MarathonService): ClusterReadinessGate | undefined {
    return GATES.get(marathon);
  }

  /** The `null_resource`: what to depend on. */
  public readonly resource: Resource;
  /** Agents that must be registered. */
  public readonly expectedAgents: number;
  /** Names of the checks run, in order (as in `npm run smoke`). */
  public readonly checks: string[];

  constructor(scope: Construct, id: string, props: ClusterReadinessGateProps) {
    super(scope, id);
    if (GATES.has(props.marathon)) fail(this, "marathon", props.marathon.node.path, "one readiness gate per Marathon");
    GATES.set(props.marathon, this);
    const timeout = checkInteger(this, "timeoutSeconds", props.timeoutSeconds ?? 1200, 1, 86400);
    const poll = checkPollSeconds(this, "pollIntervalSeconds", props.pollIntervalSeconds ?? 10, 0.01, 600);
    const pools = props.agentPools ?? [];
    this.expectedAgents = pools.reduce((sum, p) => sum + p.count, 0);
    const masters = props.mesos.nodes;
    const zk = props.mesos.zookeeper;
    const zookeeper = !props.checkZookeeper
      ? []
      : props.zookeeperMembers
        ? props.zookeeperMembers.map((m) => m.split("|"))
        : machineAddresses(zk.nodes).map((addresses) => addresses.map((a) => `${a}:${zk.clientPort}`));
    // Behind mutual TLS the gate speaks https with the admins' client certificate.
    const swarmTls = props.swarm?.tlsCertificates;
    const swarm = !props.swarm
      ? []
      : props.swarmUrl
        ? props.swarmUrl.split("|")
        : machineUrls(props.swarm.masters.nodes, props.swarm.apiPort, swarmTls ? "https" : "http")[props.swarm.managerIndex];
    // Behind a MasterTlsProxy: https on its ports, verified with its CA (server authentication only).
    const mesosTls = props.mesos.tls;
    const marathonTls = props.marathon.tls;
    const mesosUrls = props.mesosUrls?.map((u) => u.split("|")) ?? (mesosTls ? machineUrls(masters, mesosTls.port, "https") : machineUrls(masters, props.mesos.port));
    const marathonUrls =
      props.marathonUrls?.map((u) => u.split("|")) ?? (marathonTls ? machineUrls(props.marathon.nodes, marathonTls.port, "https") : machineUrls(props.marathon.nodes, props.marathon.httpPort));
    for (const [property, urls, tls] of [["mesosUrls", mesosUrls, mesosTls], ["marathonUrls", marathonUrls, marathonTls]] as const) {
      const plain = tls ? urls.flat().find((u) => !Token.isUnresolved(u) && clearTextUrl(u)) : undefined;
      if (plain !== undefined) fail(this, property, plain, "https URLs (or http to loopback, an SSH tunnel): the API has TLS, and its basic-auth credentials must not cross a network in clear text");
    }
    this.checks = [
      ...(zookeeper.length ? ["zookeeper"] : []),
      "mesos-health",
      "mesos-leader",
      "mesos-agents",
      "marathon-leader",
      "marathon-apps",
      ...(swarm.length ? ["swarm"] : []),
    ];

    const machines: TerraformResource[] = [
      ...masters.resources.instances,
      ...(props.marathon.nodes !== masters ? props.marathon.nodes.resources.instances : []),
      ...pools.map((p) => p.nodes.resources.pool),
    ];
    ensureNullProvider(this);
    this.resource = new Resource(this, "gate", {
      triggers: {
        // Run again when a machine or the pool is replaced, or the pool resized.
        machines: Fn.join(",", machines.map((m) => m.getStringAttribute("id"))),
        expected_agents: String(this.expectedAgents),
        checks: this.checks.join(","),
      },
      dependsOn: machines,
      provisioners: [
        {
          type: "local-exec",
          interpreter: clusterClientInterpreter(this),
          command: "wait-ready",
          environment: {
            ZOOKEEPER_MEMBERS: serversText(zookeeper),
            MESOS_URLS: serversText(mesosUrls),
            MARATHON_URLS: serversText(marathonUrls),
            SWARM_URLS: swarm.join("|"),
            ...(swarmTls && swarm.length
              ? {
                  SWARM_TLS_CA: swarmTls.caCertPem,
                  SWARM_TLS_CERT: environmentSecret(swarmTls.clientCertPem!),
                  SWARM_TLS_KEY: environmentSecret(swarmTls.clientKeyPem!),
                }
              : {}),
            ...(mesosTls ? { MESOS_TLS_CA: mesosTls.caCertPem } : {}),
            ...(marathonTls ? { MARATHON_TLS_CA: marathonTls.caCertPem } : {}),
            MESOS_EXPECTED_AGENTS: String(this.expectedAgents),
            ...credentialsEnvironment("MESOS", props.mesos.credentials),
            ...credentialsEnvironment("MARATHON", props.marathon.credentials),
            CLUSTER_CLIENT_TIMEOUT_SECONDS: String(timeout),
            CLUSTER_CLIENT_POLL_SECONDS: String(poll),
          },
        },
      ],
    });
  }
}

