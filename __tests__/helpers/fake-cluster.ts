/**
 * A fake cluster on loopback: Mesos masters, Marathon instances, a classic
 * Swarm manager and, per registered agent, a Mesos agent and its Docker
 * engine as in-process HTTP servers that answer with the recorded response
 * shapes of __tests__/fixtures/cluster-api and record every request.
 * Scenario switches (no leader, missing agents, credentials, stuck or locked
 * deployments, the runtime facts: registry, quorum, versions, Swarm's
 * checkpointing, the agents' flags and engines) can be flipped while it runs.
 *
 * Marathon's apps have tasks (one per instance, each with host ports that a
 * local TCP server answering Redis's PING holds), and `startDiscovery()` adds
 * a Mesos-DNS (UDP, on 127.0.0.1) answering A and SRV records of the running
 * tasks and a marathon-lb that binds each served app's service port and
 * passes connections to its tasks.
 *
 * Each behaviour follows the upstream code of the pinned versions, cited
 * beside its handler: apache/mesos 1.7.1, mesosphere/marathon v1.8.244,
 * docker-archive/classicswarm v1.2.8, mesosphere/mesos-dns v0.6.0 (its
 * naming and answers are the same at v0.7.0-rc2), mesosphere/marathon-lb v1.15.0. Where a real wait would slow the tests
 * (Marathon's 2.75 s without a leader, Swarm's 30 s offer cycle) the real
 * value is the default and a scenario field scales it.
 */
import { createHash, randomUUID } from "crypto";
import { createSocket, RemoteInfo, Socket as UdpSocket } from "dgram";
import { existsSync, readFileSync } from "fs";
import { createServer, IncomingMessage, Server, ServerResponse } from "http";
import { AddressInfo, connect as tcpConnect, createServer as createTcpServer, Server as TcpServer, Socket } from "net";
import { join } from "path";
import Ajv from "ajv";

const FIXTURES = join(__dirname, "..", "fixtures", "cluster-api");

/** A recorded response document (a fresh copy each time). */
export function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as T;
}

/** Marathon 1.8's app definition as a JSON schema (provenance in its `$comment` and the fixtures' README). */
export const MARATHON_APP_SCHEMA_PATH = join(FIXTURES, "marathon-1.8-app.schema.json");

export interface SchemaProblem {
  /** JSON pointer of the offending value, e.g. `/healthChecks/0/protocol`. */
  readonly path: string;
  readonly keyword: string;
  readonly message: string;
}

let appSchemaValidator: ((definition: unknown) => SchemaProblem[]) | undefined;

/** Validates an app definition against Marathon 1.8's schema: the problems, none when valid. */
export function marathonAppSchemaProblems(definition: unknown): SchemaProblem[] {
  if (!appSchemaValidator) {
    const schema = JSON.parse(readFileSync(MARATHON_APP_SCHEMA_PATH, "utf8")) as Record<string, unknown>;
    // "http://json-schema.org/schema#" is unversioned; its keywords are draft-04/07 alike.
    delete schema.$schema;
    delete schema.$comment;
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    appSchemaValidator = (definition) =>
      validate(definition)
        ? []
        : (validate.errors ?? []).map((e) => ({
            path: e.keyword === "additionalProperties" ? `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}` : e.instancePath || "/",
            keyword: e.keyword,
            message: e.message ?? e.keyword,
          }));
  }
  return appSchemaValidator(definition);
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Swarm's offer cycle: it holds offers `holdMs`, declines them, and Mesos offers them again after `gapMs`. */
export interface SwarmOfferCycle {
  readonly holdMs: number;
  readonly gapMs: number;
  /** Epoch ms when the offers of the first cycle arrived. */
  readonly startedAt: number;
}

/** What the fake cluster does; every field may be changed while it runs. */
export interface FakeScenario {
  /** Index of the leading Mesos master; null: none elected (others answer 503). */
  mesosLeader: number | null;
  /**
   * Each master's `MasterInfo.hostname` (its `--hostname`; what non-leaders
   * redirect to and `leader_info.hostname` shows). Undefined or a missing
   * entry: its IP, as the stacks set MESOS_HOSTNAME to the IP.
   */
  mesosHostnames?: (string | undefined)[];
  /** Agents the leading master reports as registered. */
  agents: number;
  /** Index of the leading Marathon instance; null: none (every call waits `marathonNoLeaderWaitMs`, then 502). */
  marathonLeader: number | null;
  /** How long Marathon holds a request without a leader (real: 11 x 250 ms = 2750). */
  marathonNoLeaderWaitMs: number;
  /** Offers the Swarm manager holds while it holds any (see `swarmOfferCycle`). */
  swarmOffers: number;
  /** Swarm's hold-and-decline cycle; null: it holds `swarmOffers` all the time. */
  swarmOfferCycle: SwarmOfferCycle | null;
  /** Basic auth Marathon demands (`--http_credentials`); undefined: none. */
  marathonAuth?: Credentials;
  /** Basic auth the Mesos masters demand on their read-only endpoints (`--authenticate_http_readonly`); undefined: none. */
  mesosAuth?: Credentials;
  /** How many listings of GET /v2/deployments show a deployment before it finishes. */
  deploymentPolls: number;
  /** Deployments that start or restart tasks never finish (no offer fits, a health check never passes); a deletion's StopApplication still does. */
  stuckDeployments: boolean;
  /** The next N unforced app changes answer 409: locked by another deployment (PUT is unforced by default, DELETE forced). */
  lockedChanges: number;
  /** The next N app changes (PUT or DELETE, forced or not) answer 403: `--max_running_deployments` are running. */
  tooManyDeployments: number;
  /** PUTs answer 422 (Marathon's validation refused the definition). */
  refuseDefinitions: boolean;
  /** The masters' `--registry` (their GET /flags and the state's `flags`). */
  masterRegistry: "replicated_log" | "in_memory";
  /** The masters' `--quorum`; undefined: floor(masters / 2) + 1, as the stacks set it. */
  masterQuorum?: number;
  /** The masters' `--work_dir`; "": unset (Mesos then leaves the flag out of /flags). */
  masterWorkDir: string;
  /** `version` of the master state (and of its agents). */
  mesosVersion: string;
  /** `version` of Marathon's GET /v2/info. */
  marathonVersion: string;
  /** A framework named swarm is registered (the state's `frameworks`). */
  swarmFramework: boolean;
  /** Its `checkpoint` (Swarm's `--cluster-opt mesos.checkpointfailover`). */
  swarmCheckpoint: boolean;
  /** The agents' `--docker_mesos_image`; "": unset (left out of their /flags). */
  agentDockerMesosImage: string;
  /** The agents' `--containerizers`. */
  agentContainerizers: string;
  /** `MinAPIVersion` of the agents' Docker engines' GET /version. */
  engineMinApi: string;
  /** The last N registered agents have no servers: their pid and `docker_port` point at a closed port. */
  unreachableAgents: number;
  /** Basic auth the agents demand for /flags; undefined: none. */
  agentAuth?: Credentials;
  /**
   * What Mesos-DNS answers (after `startDiscovery()`): `answers` the records of
   * the running tasks; `stale` as before its next refresh of the Mesos state
   * (no record of the tasks yet); `silent` nothing at all (a firewall drops port 53).
   */
  mesosDns: "answers" | "stale" | "silent";
  /** What each task's Redis answers a PING with (a RESP reply, e.g. `-NOAUTH Authentication required.\r\n`). */
  redisReply: string;
  /** marathon-lb has the app's tasks as backends; false: it accepts and closes (HAProxy with no server up). */
  lbServes: boolean;
  /** The group the fake marathon-lb serves (`--group`). */
  lbGroup: string;
  /**
   * The last N registered agents are edge agents: their resources are reserved to `slave_public` (their
   * `--default_role`), which the state lists by role in `reserved_resources`.
   */
  edgeAgents: number;
  /**
   * Index of the ZooKeeper leader among the masters' members (after `startZookeeper()`); null: no
   * quorum, no member serves. It moves to the first master still up when its master goes away
   * (`takeMasterDown`), and is null while fewer than a quorum of members are up.
   */
  zookeeperLeader: number | null;
  /** After the leading Mesos master changes, how long the agents take to re-register with the new one (until then it reports none). */
  agentReregisterMs: number;
}

export interface RecordedRequest {
  /** `agent` and `docker`: a registered agent and its engine, `server` being the agent's index. */
  readonly service: "mesos" | "marathon" | "swarm" | "agent" | "docker";
  readonly server: number;
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  readonly query: string;
  /** The basic-auth user name sent, if any. */
  readonly user?: string;
  readonly contentType?: string;
  readonly body: string;
}

/** A task of an app, as Marathon reports it; `servers` hold its host ports. */
interface FakeTask {
  id: string;
  host: string;
  slaveId: string;
  ports: number[];
  servers: TcpServer[];
}

interface FakeDeployment {
  id: string;
  version: string;
  appId: string;
  action: string;
  remaining: number;
}

/** Swarm's defaults: `defaultOfferTimeout` 30 s; Mesos' default `refuse_seconds` 5 s plus its 1 s allocation interval. */
export const SWARM_OFFER_HOLD_MS = 30000;
export const SWARM_OFFER_GAP_MS = 6000;

export class FakeCluster {
  public readonly scenario: FakeScenario;
  public readonly requests: RecordedRequest[] = [];
  /** Marathon's apps by id, as stored (the definitions PUT, their id the path's). */
  public readonly apps = new Map<string, Record<string, unknown>>();
  public readonly deployments: FakeDeployment[] = [];
  /** Deployments a forced change cancelled, by id (Marathon's DeploymentManagerActor `startConflictingDeployment`). */
  public readonly cancelledDeployments: string[] = [];
  /**
   * Called with each request before it is answered: scenarios that change as
   * the client asks (a leader elected after the first attempts) without
   * depending on how fast a process starts.
   */
  public onRequest?: (request: RecordedRequest) => void;
  private readonly servers: { service: RecordedRequest["service"]; server: Server; port: number }[] = [];
  /** Per agent: the ports of its agent and engine servers, and a closed port for when it is unreachable. */
  private readonly agentPorts: { agent: number; engine: number; closed: number }[] = [];
  private agentsStarting: Promise<void> = Promise.resolve();
  /** Tasks by app id. */
  public readonly tasks = new Map<string, FakeTask[]>();
  /** Sockets of task servers and of marathon-lb, closed with the cluster. */
  private readonly sockets = new Set<Socket>();

  /** Kept until it closes (close() ends the ones left); a client's reset is no error of the fake. */
  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
  }
  private dns?: UdpSocket;
  /** Masters that went away (`takeMasterDown`): their Mesos master, Marathon and ZooKeeper member drop every connection. */
  public readonly downMasters = new Set<number>();
  /** The fake ZooKeeper members' servers and ports, by master (after `startZookeeper()`). */
  private readonly zkServers: TcpServer[] = [];
  private readonly zkPorts: number[] = [];
  /** A recording terraform's call log that the cluster follows (`followTerraform`). */
  private terraformLog?: { path: string; seen: number; onCall: (args: string[], cwd: string) => void };
  /** Pending returns of replaced masters. */
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Until then the leading master reports no agents: they re-register after a leader change. */
  private agentsBackAt = 0;
  /** marathon-lb's listeners by port (only after `startDiscovery()`). */
  private readonly lbListeners = new Map<number, TcpServer>();
  private lbOn = false;
  /** Round-robin position per service port. */
  private readonly lbNext = new Map<number, number>();
  /** Service ports marathon-lb could not bind (in use on this machine). */
  public readonly lbBindErrors: string[] = [];
  /** DNS queries received, as `TYPE name`. */
  public readonly dnsQueries: string[] = [];

  /** Starts `masters` Mesos masters and Marathon instances and one Swarm manager on 127.0.0.1. */
  public static async start(masters: number, scenario: Partial<FakeScenario> = {}): Promise<FakeCluster> {
    const cluster = new FakeCluster({
      mesosLeader: 0,
      agents: 2,
      marathonLeader: 0,
      marathonNoLeaderWaitMs: 2750,
      swarmOffers: 2,
      // Offers arrive when Swarm registers: a fresh fake is at the start of a cycle.
      swarmOfferCycle: { holdMs: SWARM_OFFER_HOLD_MS, gapMs: SWARM_OFFER_GAP_MS, startedAt: Date.now() },
      deploymentPolls: 1,
      stuckDeployments: false,
      lockedChanges: 0,
      tooManyDeployments: 0,
      refuseDefinitions: false,
      masterRegistry: "replicated_log",
      masterWorkDir: "/var/lib/mesos",
      mesosVersion: "1.7.1",
      marathonVersion: "1.8.244",
      swarmFramework: true,
      swarmCheckpoint: true,
      agentDockerMesosImage: "mesosphere/mesos-slave:1.7.1",
      agentContainerizers: "docker,mesos",
      engineMinApi: "1.12",
      unreachableAgents: 0,
      mesosDns: "answers",
      redisReply: "+PONG\r\n",
      lbServes: true,
      lbGroup: "external",
      edgeAgents: 0,
      zookeeperLeader: 0,
      agentReregisterMs: 0,
      ...scenario,
    });
    for (let i = 0; i < masters; i++) await cluster.listen("mesos", i);
    for (let i = 0; i < masters; i++) await cluster.listen("marathon", i);
    await cluster.listen("swarm", 0);
    // More agents are started when a scenario registers more.
    await cluster.startAgents(cluster.scenario.agents);
    return cluster;
  }

  private constructor(scenario: FakeScenario) {
    this.scenario = scenario;
  }

  public get mesosUrls(): string[] {
    return this.urls("mesos");
  }

  public get marathonUrls(): string[] {
    return this.urls("marathon");
  }

  public get swarmUrl(): string {
    return this.urls("swarm")[0];
  }

  /** The port a master listens on (the port of its pid and of its redirects). */
  public mesosPort(index: number): number {
    return this.portOf("mesos", index);
  }

  /** Requests to one service, optionally only those whose method and path match. */
  public requestsTo(service: RecordedRequest["service"], method?: string, path?: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.service === service && (!method || r.method === method) && (!path || path.test(r.path)));
  }

  /** Stops one server (a machine that went away); its URL then refuses connections. */
  public async stop(service: RecordedRequest["service"], index: number): Promise<void> {
    const entry = this.servers.filter((s) => s.service === service)[index];
    await new Promise<void>((resolve) => entry.server.close(() => resolve()));
    entry.server.closeAllConnections();
  }

  /**
   * Starts Mesos-DNS on 127.0.0.1 (UDP, an ephemeral port) and marathon-lb
   * (which binds the service ports of the apps it serves as they come, on
   * 127.0.0.1): `dns` is `host:port` for `--dns`, `lbHost` for `--lb`.
   */
  public async startDiscovery(): Promise<{ dns: string; lbHost: string }> {
    if (!this.dns) {
      const socket = createSocket("udp4");
      socket.on("message", (packet, remote) => this.answerDns(socket, packet, remote));
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
      this.dns = socket;
    }
    this.lbOn = true;
    await this.syncLb();
    return { dns: `127.0.0.1:${this.dns.address().port}`, lbHost: "127.0.0.1" };
  }

  /**
   * Starts a fake ZooKeeper member per master on 127.0.0.1 answering the four-letter words `ruok`, `srvr` and
   * `mntr` as ZooKeeper 3.8 does (see `zookeeperAnswer`); returns their `host:port`, in the masters' order.
   */
  public async startZookeeper(): Promise<string[]> {
    const masters = this.servers.filter((s) => s.service === "mesos").length;
    while (this.zkServers.length < masters) {
      const index = this.zkServers.length;
      const server = createTcpServer((socket) => {
        this.readTerraformLog();
        if (this.downMasters.has(index)) {
          socket.destroy();
          return;
        }
        this.track(socket);
        let word = "";
        socket.on("data", (chunk: Buffer) => {
          word += chunk.toString("latin1");
          if (word.length >= 4) socket.end(this.zookeeperAnswer(index, word.slice(0, 4)));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
      this.zkServers.push(server);
      this.zkPorts.push((server.address() as AddressInfo).port);
    }
    return this.zkPorts.map((port) => `127.0.0.1:${port}`);
  }

  /**
   * Master `index` goes away (its machine is replaced): its Mesos master, Marathon instance and ZooKeeper
   * member drop every connection. What it led moves to the first master still up: ZooKeeper only while a
   * quorum of members is up; the agents re-register with a new Mesos leader after `agentReregisterMs`.
   */
  public takeMasterDown(index: number): void {
    this.downMasters.add(index);
    this.electLeaders();
  }

  /** Master `index` is back (the new machine): every service of it runs again, leading nothing. */
  public bringMasterBack(index: number): void {
    this.downMasters.delete(index);
    this.electLeaders();
  }

  /** `takeMasterDown(index)`, and `bringMasterBack(index)` after `backAfterMs` (null: it never comes back). */
  public replaceMaster(index: number, backAfterMs: number | null): void {
    this.takeMasterDown(index);
    if (backAfterMs === null) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.bringMasterBack(index);
    }, backAfterMs);
    this.timers.add(timer);
  }

  /**
   * Follows the call log of the recording terraform (__tests__/fixtures/fake-terraform): before answering
   * anything the cluster reads the calls logged since, and passes each to `onCall` (which may replace masters).
   */
  public followTerraform(logPath: string, onCall: (args: string[], cwd: string) => void): void {
    this.terraformLog = { path: logPath, seen: 0, onCall };
  }

  private readTerraformLog(): void {
    const log = this.terraformLog;
    if (!log || !existsSync(log.path)) return;
    const calls = readFileSync(log.path, "utf8").split("\n").filter(Boolean);
    for (const line of calls.slice(log.seen)) {
      const [cwd, ...args] = line.split("\t");
      log.onCall(args, cwd);
    }
    log.seen = calls.length;
  }

  private electLeaders(): void {
    const masters = this.servers.filter((s) => s.service === "mesos").length;
    const up = [...Array(masters).keys()].filter((i) => !this.downMasters.has(i));
    const keep = (leader: number | null) => (leader !== null && up.includes(leader) ? leader : (up[0] ?? null));
    const mesos = keep(this.scenario.mesosLeader);
    if (mesos !== this.scenario.mesosLeader) this.agentsBackAt = Date.now() + this.scenario.agentReregisterMs;
    this.scenario.mesosLeader = mesos;
    this.scenario.marathonLeader = keep(this.scenario.marathonLeader);
    this.scenario.zookeeperLeader = up.length >= Math.floor(masters / 2) + 1 ? keep(this.scenario.zookeeperLeader) : null;
  }

  /**
   * A master's GET /metrics/snapshot, the gauges a rollout reads: `master/elected`, and the registrar's
   * replicated log: `registrar/log/recovered` (its replica caught up) and `registrar/log/ensemble_size` (the
   * replicas in the log's ZooKeeper group, here the masters up). apache/mesos 1.7.1 src/log/metrics.cpp,
   * src/log/log.cpp `LogProcess::_recovered`, src/log/log.hpp `_ensemble_size`, src/master/main.cpp (prefix
   * "registrar/"), docs/monitoring.md.
   */
  private masterMetrics(index: number): Record<string, number> {
    const masters = this.servers.filter((s) => s.service === "mesos").length;
    return {
      "master/elected": this.scenario.mesosLeader === index ? 1 : 0,
      "registrar/log/recovered": 1,
      "registrar/log/ensemble_size": masters - this.downMasters.size,
    };
  }

  /**
   * A ZooKeeper 3.8 member's answer to a four-letter word (apache/zookeeper server/command: RuokCommand
   * `imok`; StatCommand for `srvr`: version, ServerStats lines, `Mode:`, `Node count:`, the leader's proposal
   * sizes; MonitorCommand for `mntr`: tab-separated `zk_` keys, the leader's `zk_synced_followers` from
   * LeaderZooKeeperServer's gauge; both answer ZK_NOT_SERVING without a quorum).
   */
  private zookeeperAnswer(index: number, word: string): string {
    const masters = this.zkServers.length;
    const leader = this.scenario.zookeeperLeader;
    const mode = masters === 1 ? "standalone" : index === leader ? "leader" : "follower";
    const version = "3.8.4-9316c2a7a97e1666d8f4593f34dd6fc36ecc436c, built on 2024-02-12 22:16 UTC";
    if (word === "ruok") return "imok";
    if (leader === null && masters > 1) return "This ZooKeeper instance is not currently serving requests\n";
    if (word === "srvr") {
      const stats = ["Latency min/avg/max: 0/0.0/0", "Received: 1", "Sent: 0", "Connections: 1", "Outstanding: 0", "Zxid: 0x100000002", `Mode: ${mode}`, "Node count: 5"];
      return [`Zookeeper version: ${version}`, ...stats, ...(mode === "leader" ? ["Proposal sizes last/min/max: -1/-1/-1"] : []), ""].join("\n");
    }
    if (word === "mntr") {
      const synced = mode === "leader" ? [`zk_synced_followers\t${masters - this.downMasters.size - 1}`] : [];
      return [`zk_version\t${version}`, `zk_server_state\t${mode}`, "zk_znode_count\t5", ...synced, ""].join("\n");
    }
    return `${word} is not executed because it is not in the whitelist.\n`;
  }

  public async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const server of this.zkServers) server.close();
    this.dns?.close();
    this.dns = undefined;
    for (const tasks of this.tasks.values()) for (const t of tasks) for (const server of t.servers) server.close();
    for (const server of this.lbListeners.values()) server.close();
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.server.close(() => resolve());
            s.server.closeAllConnections();
          }),
      ),
    );
  }

  private urls(service: RecordedRequest["service"]): string[] {
    return this.servers.filter((s) => s.service === service).map((s) => `http://127.0.0.1:${s.port}`);
  }

  private portOf(service: RecordedRequest["service"], index: number): number {
    return this.servers.filter((s) => s.service === service)[index].port;
  }

  private async listen(service: RecordedRequest["service"], index: number): Promise<number> {
    const server = createServer((req, res) => {
      this.readTerraformLog();
      // A master that went away: its services answer nothing.
      if ((service === "mesos" || service === "marathon") && this.downMasters.has(index)) {
        req.socket.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://fake");
        const body = Buffer.concat(chunks).toString("utf8");
        const recorded: RecordedRequest = {
          service,
          server: index,
          method: req.method ?? "GET",
          path: url.pathname,
          query: url.search,
          user: basicUser(req),
          contentType: req.headers["content-type"],
          body,
        };
        this.requests.push(recorded);
        this.onRequest?.(recorded);
        const handled =
          service === "mesos"
            ? this.mesos(index, req, res, url)
            : service === "marathon"
              ? this.marathon(index, req, res, url, body)
              : service === "swarm"
                ? this.swarm(index, req, res, url)
                : service === "agent"
                  ? this.agent(index, req, res, url)
                  : this.docker(index, req, res, url);
        Promise.resolve(handled).catch((e: Error) => send(res, 500, `fake ${service}: ${e.message}`));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.address() as AddressInfo).port;
    this.servers.push({ service, server, port });
    return port;
  }

  /** Starts agent and engine servers (and reserves a closed port) until `count` agents have them. */
  private startAgents(count: number): Promise<void> {
    this.agentsStarting = this.agentsStarting.then(async () => {
      while (this.agentPorts.length < count) {
        const i = this.agentPorts.length;
        const agent = await this.listen("agent", i);
        const engine = await this.listen("docker", i);
        this.agentPorts.push({ agent, engine, closed: await closedPort() });
      }
    });
    return this.agentsStarting;
  }

  /** Agent `i` as the master sees it: the address in its pid and its engine port (a closed port when unreachable). */
  private agentAddress(i: number): { agentPort: number; enginePort: number } {
    const ports = this.agentPorts[i];
    const unreachable = i >= this.scenario.agents - this.scenario.unreachableAgents;
    return unreachable ? { agentPort: ports.closed, enginePort: ports.closed } : { agentPort: ports.agent, enginePort: ports.engine };
  }

  /** Master `index`'s `MasterInfo.hostname`: `--hostname`, else its IP (apache/mesos 1.7.1 src/master/master.cpp, Master::Master `info_.set_hostname`). */
  private mesosHostname(index: number): string {
    return this.scenario.mesosHostnames?.[index] ?? "127.0.0.1";
  }

  /** A master's flags as GET /flags answers them: the state fixture's, for this master and scenario. */
  private masterFlags(index: number): Record<string, string> {
    const flags: Record<string, string> = fixture("mesos-master-state.json").flags;
    const masters = this.servers.filter((s) => s.service === "mesos").length;
    flags.hostname = this.mesosHostname(index);
    flags.ip = "127.0.0.1";
    flags.port = String(this.portOf("mesos", index));
    flags.quorum = String(this.scenario.masterQuorum ?? Math.floor(masters / 2) + 1);
    flags.registry = this.scenario.masterRegistry;
    if (this.scenario.mesosAuth) {
      flags.authenticate_http_readonly = flags.authenticate_http_readwrite = flags.authenticate_http_frameworks = "true";
    }
    if (this.scenario.masterWorkDir) flags.work_dir = this.scenario.masterWorkDir;
    else delete flags.work_dir;
    return flags;
  }

  private async mesos(index: number, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // /health is routed without an authentication realm: open even with --authenticate_http_readonly
    // (apache/mesos 1.7.1 src/master/master.cpp `route("/health", Http::HEALTH_HELP(), ...)`; src/master/http.cpp `Master::Http::health` is OK()).
    if (url.pathname === "/master/health") return send(res, 200, "");
    const flagsPath = url.pathname === "/flags" || url.pathname === "/master/flags";
    // libprocess's /metrics/snapshot has the read-only realm too (src/master/main.cpp `process::initialize("master",
    // READWRITE_HTTP_AUTHENTICATION_REALM, READONLY_HTTP_AUTHENTICATION_REALM)`, 3rdparty/libprocess/src/process.cpp
    // `MetricsProcess::create(readonlyAuthenticationRealm)`).
    const metricsPath = url.pathname === "/metrics/snapshot";
    if (url.pathname !== "/master/state" && !flagsPath && !metricsPath) return send(res, 404, "");
    // /state and /flags are routed with READONLY_HTTP_AUTHENTICATION_REALM "mesos-master-readonly"
    // (src/master/master.cpp `route("/state", READONLY_HTTP_AUTHENTICATION_REALM, ...)`, src/master/constants.hpp):
    // with --authenticate_http_readonly libprocess authenticates before the handler, non-leaders included,
    // and its basic authenticator answers 401 with an empty body for missing or wrong credentials alike
    // (3rdparty/libprocess/src/authenticator.cpp `BasicAuthenticatorProcess::authenticate`).
    if (!authorized(req, this.scenario.mesosAuth)) {
      return send(res, 401, "", { "WWW-Authenticate": 'Basic realm="mesos-master-readonly"' });
    }
    // Every master answers for its own flags, leading or not (src/master/http.cpp `Master::Http::flags` has no redirect).
    if (flagsPath) return sendJson(res, 200, { flags: this.masterFlags(index) });
    if (metricsPath) return sendJson(res, 200, this.masterMetrics(index));
    const leader = this.scenario.mesosLeader;
    // src/master/http.cpp `Master::Http::state`: a master that is not elected redirects; `redirect()` answers
    // 503 "No leader elected" without a leader, else 307 to "//" + MasterInfo.hostname + ":" + port + the request URL
    // (path and query), the leader's advertised hostname, not the address in its pid.
    if (leader === null) return send(res, 503, "No leader elected", { "Content-Type": "text/plain" });
    const leaderPort = this.portOf("mesos", leader);
    if (index !== leader) return send(res, 307, "", { Location: `//${this.mesosHostname(leader)}:${leaderPort}${url.pathname}${url.search}` });
    await this.startAgents(this.scenario.agents);
    const state = fixture("mesos-master-state.json");
    const template = state.slaves[0];
    // src/master/http.cpp state: `pid` is string(self()), `hostname` info().hostname(), `leader` the leader's pid,
    // `leader_info` json(MasterInfo): id, pid, port, hostname.
    state.pid = state.leader = state.leader_info.pid = `master@127.0.0.1:${leaderPort}`;
    state.hostname = state.leader_info.hostname = this.mesosHostname(leader);
    state.leader_info.port = leaderPort;
    state.version = state.git_tag = this.scenario.mesosVersion;
    state.flags = this.masterFlags(leader);
    const registered = Date.now() < this.agentsBackAt ? 0 : this.scenario.agents;
    state.activated_slaves = registered;
    // The agents' servers listen on loopback; hostname stays the name the agent advertises (--hostname).
    state.slaves = Array.from({ length: registered }, (_, i) => {
      const { agentPort, enginePort } = this.agentAddress(i);
      return {
        ...template,
        id: `${state.id}-S${i}`,
        hostname: `10.20.16.${4 + i}`,
        pid: `slave(1)@127.0.0.1:${agentPort}`,
        attributes: { docker_port: enginePort },
        version: this.scenario.mesosVersion,
        // src/master/http.cpp `SlaveWriter`: `reserved_resources` maps each role to the agent's resources reserved to it.
        reserved_resources: i >= this.scenario.agents - this.scenario.edgeAgents ? { slave_public: template.resources } : {},
      };
    });
    state.frameworks = state.frameworks
      .filter((f: { name: string }) => f.name !== "swarm" || this.scenario.swarmFramework)
      .map((f: { name: string }) => (f.name === "swarm" ? { ...f, checkpoint: this.scenario.swarmCheckpoint } : f));
    sendJson(res, 200, state);
  }

  /**
   * A Mesos agent: GET /flags (also as /slave(1)/flags), `{"flags": {...}}` with every value a string
   * (apache/mesos 1.7.1 src/slave/http.cpp `Http::flags`); with `agentAuth` its read-only realm
   * "mesos-agent-readonly" answers 401 like the master's (src/slave/constants.hpp, libprocess authenticator.cpp).
   */
  private agent(index: number, req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname !== "/flags" && url.pathname !== "/slave(1)/flags") return send(res, 404, "");
    if (!authorized(req, this.scenario.agentAuth)) {
      return send(res, 401, "", { "WWW-Authenticate": 'Basic realm="mesos-agent-readonly"' });
    }
    const { flags } = fixture("mesos-agent-flags.json");
    flags.hostname = `10.20.16.${4 + index}`;
    flags.ip = "127.0.0.1";
    flags.port = String(this.agentPorts[index].agent);
    flags.attributes = `docker_port:${this.agentPorts[index].engine}`;
    flags.containerizers = this.scenario.agentContainerizers;
    if (this.scenario.agentDockerMesosImage) flags.docker_mesos_image = this.scenario.agentDockerMesosImage;
    else delete flags.docker_mesos_image;
    sendJson(res, 200, { flags });
  }

  /** An agent's Docker engine: GET /version (also versioned, /v1.44/version); moby/moby v25.0.5 api/server/router/system/system_routes.go `getVersion`. */
  private docker(_index: number, _req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!/^(\/v\d+\.\d+)?\/version$/.test(url.pathname)) return sendJson(res, 404, { message: "page not found" });
    const version = fixture("docker-version.json");
    version.MinAPIVersion = version.Components[0].Details.MinAPIVersion = this.scenario.engineMinApi;
    sendJson(res, 200, version);
  }

  private async marathon(_index: number, req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<void> {
    const path = url.pathname;
    // --http_credentials is Jetty's ConstraintSecurityHandler with a BasicAuthenticator on "/*", realm --http_realm
    // (default "Mesosphere"), in front of every servlet filter: missing or wrong credentials answer 401 with
    // `WWW-Authenticate: basic realm="Mesosphere"` and Jetty's HTML error page, never JSON and never 403
    // (mesosphere/marathon v1.8.244 src/main/scala/mesosphere/marathon/api/HttpModule.scala `createSecurityHandler`,
    // HttpConf.scala `http_realm`; Jetty 9.4 BasicAuthenticator.validateRequest `sendError(401)`).
    if (!authorized(req, this.scenario.marathonAuth)) {
      return sendJettyError(res, 401, "Unauthorized", path, { "WWW-Authenticate": 'basic realm="Mesosphere"' });
    }
    const leader = this.scenario.marathonLeader;
    // LeaderProxyFilter on "/*" (api/HttpBindings.scala): without a leader (or one naming this instance while it
    // is not elected) it waits for consistent leadership, 11 sleeps of 250 ms, then sendError(502,
    // "Could not determine the current leader") (api/LeaderProxyFilter.scala `waitForConsistentLeadership`).
    if (leader === null) {
      await new Promise((resolve) => setTimeout(resolve, this.scenario.marathonNoLeaderWaitMs));
      if (this.scenario.marathonLeader === null) return sendJettyError(res, 502, "Could not determine the current leader", path);
    }
    // Every other instance forwards the request to the leader (LeaderProxyFilter `forwarder.forward`): all
    // instances answer what the leader answers, /v2/info included (`elected` true everywhere).
    const leaderIndex = this.scenario.marathonLeader ?? 0;
    const leaderHeaders = { "X-Marathon-Leader": `http://127.0.0.1:${this.portOf("marathon", leaderIndex)}` };
    if (path === "/v2/info" && req.method === "GET") {
      // api/v2/InfoResource.scala: "elected" -> electionService.isLeader, "leader" -> leaderHostPort, on the leader.
      const info = fixture("marathon-info.json");
      info.version = this.scenario.marathonVersion;
      info.leader = `127.0.0.1:${this.portOf("marathon", leaderIndex)}`;
      info.elected = true;
      return sendJson(res, 200, info, leaderHeaders);
    }
    if (path === "/v2/apps" && req.method === "GET") {
      // api/v2/InfoEmbedResolver.scala `resolveApp`: `tasks` with any of the prefixes `apps.`, `app.`, `group.apps.` or none.
      const withTasks = url.searchParams.getAll("embed").some((e) => /^(group\.apps\.|apps\.|app\.)?tasks$/.test(e));
      return sendJson(res, 200, { apps: [...this.apps.keys()].map((id) => this.appStatus(id, withTasks)) }, leaderHeaders);
    }
    if (path === "/v2/deployments" && req.method === "GET") {
      const listed = this.deployments.map((d) => deploymentJson(d));
      for (const d of this.deployments) if (!this.stuck(d)) d.remaining -= 1;
      this.finishDeployments();
      return sendJson(res, 200, listed, leaderHeaders);
    }
    const appMatch = /^\/v2\/apps(\/.+)$/.exec(path);
    // api/MarathonExceptionMapper.scala: a route Jersey does not know is a NotFoundException -> 500 "URI not found".
    if (!appMatch) return sendJson(res, 500, { message: "URI not found" }, leaderHeaders);
    const appId = normalizeAppId(appMatch[1]);
    if (req.method === "GET") {
      // api/v2/AppsResource.scala `show`: one app always embeds its tasks (Embed.Tasks, with counts and deployments).
      return this.apps.has(appId)
        ? sendJson(res, 200, { app: this.appStatus(appId, true) }, leaderHeaders)
        : sendJson(res, 404, { message: `App '${appId}' does not exist` }, leaderHeaders);
    }
    if (req.method === "PUT") return this.putApp(res, url, appId, req.headers["content-type"], body, leaderHeaders);
    if (req.method === "DELETE") return this.deleteApp(res, url, appId, leaderHeaders);
    sendJson(res, 405, { message: "Method Not Allowed" }, leaderHeaders);
  }

  /**
   * PUT /v2/apps/{id} (api/v2/AppsResource.scala `replace` -> `update`), in Marathon's order:
   * 1. Jersey: the class is `@Consumes(APPLICATION_JSON)`: another Content-Type is 415 (a WebApplicationException,
   *    `{"message": "Unsupported Media Type"}` by MarathonExceptionMapper);
   * 2. `Json.parse`: a body that is not JSON is Jackson's JsonParseException -> 400 "Invalid JSON";
   * 3. `canonicalAppUpdateFromJson`: a complete replacement (partialUpdate=false, or a new app) overwrites the
   *    body's id with the path's (`+ ("id" -> appId)`) and reads it as raml.App: a definition Marathon 1.8's RAML
   *    types refuse is 422 (here: our 1.8 schema; unknown fields are ignored, as its generated readers do);
   * 4. GroupManagerImpl.updateRoot `checkMaxRunningDeployments`: 403 TooManyRunningDeploymentsException;
   * 5. AppValidation: 422 "Object is not valid";
   * 6. DeploymentManagerActor: a conflicting deployment with `force=false` (the PUT default) is 409
   *    AppLockedException with the deployments' ids; with `force=true` it is cancelled.
   * 200 for an update, 201 for a creation, both `{deploymentId, version}` and `Marathon-Deployment-Id`.
   */
  private async putApp(res: ServerResponse, url: URL, appId: string, contentType: string | undefined, body: string, headers: Record<string, string>): Promise<void> {
    if (!/^application\/json\s*(;|$)/i.test(contentType ?? "")) return sendJson(res, 415, fixture("marathon-415.json"), headers);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      return sendJson(res, 400, { message: "Invalid JSON", details: (e as Error).message }, headers);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return sendJson(res, 422, { message: "Invalid JSON", details: [{ path: "", errors: ["error.expected.jsobject"] }] }, headers);
    }
    const existing = this.apps.get(appId);
    const partial = url.searchParams.get("partialUpdate") !== "false" && existing !== undefined;
    const definition: Record<string, unknown> = { ...(partial ? existing : {}), ...(parsed as Record<string, unknown>), id: appId };
    const problems = marathonAppSchemaProblems(definition).filter((p) => p.keyword !== "additionalProperties");
    if (problems.length > 0) return sendJson(res, 422, objectNotValid(problems), headers);
    if (this.refuseMaxDeployments(res, headers)) return;
    if (this.scenario.refuseDefinitions) return sendJson(res, 422, fixture("marathon-422.json"), headers);
    if (this.refuseLocked(res, appId, url.searchParams.get("force") === "true", headers)) return;
    this.assignServicePorts(appId, definition);
    this.apps.set(appId, definition);
    await this.replaceTasks(appId, definition);
    await this.syncLb();
    const deployment = this.startDeployment(appId, existing ? "RestartApplication" : "StartApplication");
    sendJson(res, existing ? 200 : 201, { deploymentId: deployment.id, version: deployment.version }, { ...headers, "Marathon-Deployment-Id": deployment.id });
  }

  /**
   * DELETE /v2/apps/{id} (api/v2/AppsResource.scala `delete`): `@DefaultValue("true") force`, so a deployment
   * holding the app is cancelled (DeploymentManagerActor `startConflictingDeployment`) instead of answering 409;
   * only `?force=false` gets 409. GroupManagerImpl.updateRoot checks `--max_running_deployments` first (403),
   * then `rootGroup.app(appId)` (404 AppNotFoundException "App '/x' does not exist"). The deletion's deployment
   * stops the tasks (StopApplication).
   */
  private async deleteApp(res: ServerResponse, url: URL, appId: string, headers: Record<string, string>): Promise<void> {
    if (this.refuseMaxDeployments(res, headers)) return;
    if (!this.apps.has(appId)) return sendJson(res, 404, { message: `App '${appId}' does not exist` }, headers);
    if (this.refuseLocked(res, appId, url.searchParams.get("force") !== "false", headers)) return;
    this.apps.delete(appId);
    await this.replaceTasks(appId, undefined);
    await this.syncLb();
    const deployment = this.startDeployment(appId, "StopApplication");
    sendJson(res, 200, { deploymentId: deployment.id, version: deployment.version }, { ...headers, "Marathon-Deployment-Id": deployment.id });
  }

  /** 403 while `tooManyDeployments` lasts (Exception.scala TooManyRunningDeploymentsException, mapped to 403 by MarathonExceptionMapper). */
  private refuseMaxDeployments(res: ServerResponse, headers: Record<string, string>): boolean {
    if (this.scenario.tooManyDeployments <= 0) return false;
    this.scenario.tooManyDeployments -= 1;
    sendJson(res, 403, fixture("marathon-403-too-many-deployments.json"), headers);
    return true;
  }

  /** 409 AppLockedException for an unforced change of an app a deployment holds; a forced one cancels those deployments. */
  private refuseLocked(res: ServerResponse, appId: string, force: boolean, headers: Record<string, string>): boolean {
    const holding = this.deployments.filter((d) => d.appId === appId);
    if (force) {
      for (const d of holding) {
        this.cancelledDeployments.push(d.id);
        this.deployments.splice(this.deployments.indexOf(d), 1);
      }
      return false;
    }
    if (this.scenario.lockedChanges <= 0 && holding.length === 0) return false;
    this.scenario.lockedChanges = Math.max(0, this.scenario.lockedChanges - 1);
    const locked = fixture("marathon-409-locked.json");
    if (holding.length > 0) locked.deployments = holding.map((d) => ({ id: d.id }));
    sendJson(res, 409, locked, headers);
    return true;
  }

  private startDeployment(appId: string, action: string): FakeDeployment {
    const deployment: FakeDeployment = { id: randomUUID(), version: new Date().toISOString(), appId, action, remaining: this.scenario.deploymentPolls };
    this.deployments.push(deployment);
    return deployment;
  }

  /** A stuck deployment waits for offers or health; stopping tasks needs neither. */
  private stuck(d: FakeDeployment): boolean {
    return this.scenario.stuckDeployments && d.action !== "StopApplication";
  }

  /**
   * Offers Swarm holds now. classic Swarm holds each offer `mesos.offertimeout` (default 30 s) and then
   * declines it with empty Filters (docker-archive/classicswarm v1.2.8 cluster/mesos/cluster.go
   * `defaultOfferTimeout`, `addOffer`); Mesos offers the resources again after the default
   * `refuse_seconds` 5 s (apache/mesos 1.7.1 include/mesos/mesos.proto `Filters`) at its next allocation
   * (src/master/constants.hpp `DEFAULT_ALLOCATION_INTERVAL` 1 s): 0 offers for about 6 s of every cycle.
   */
  public swarmOffersNow(now = Date.now()): { offers: number; cycle: number } {
    const c = this.scenario.swarmOfferCycle;
    if (!c) return { offers: this.scenario.swarmOffers, cycle: 0 };
    const length = c.holdMs + c.gapMs;
    const elapsed = Math.max(0, now - c.startedAt);
    return { offers: elapsed % length < c.holdMs ? this.scenario.swarmOffers : 0, cycle: Math.floor(elapsed / length) };
  }

  /**
   * classic Swarm 1.2.8 GET /info: `SystemStatus` rows Role (cli/manage.go statusHandler), then the Mesos
   * cluster's Strategy, Filters, Offers and each offer's resources (cluster/mesos/cluster.go `Info`).
   */
  private swarm(_index: number, _req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname !== "/info") return send(res, 404, "page not found");
    const info = fixture("swarm-info.json");
    const rows: [string, string][] = info.SystemStatus;
    const offerRows = rows.slice(rows.findIndex((r) => r[0] === "  Offer"), rows.findIndex((r, i) => i > 4 && r[0] === "  Offer"));
    const { offers, cycle } = this.swarmOffersNow();
    info.SystemStatus = [...rows.slice(0, 3), ["Offers", String(offers)]];
    // Offers of a new cycle are new offers: new ids.
    for (let i = 0; i < offers; i++) info.SystemStatus.push(...offerRows.map(([k, v]) => [k, k === "  Offer" ? `${v}-${cycle}-${i}` : v]));
    sendJson(res, 200, info);
  }

  private finishDeployments(): void {
    for (let i = this.deployments.length - 1; i >= 0; i--) {
      if (this.deployments[i].remaining <= 0) this.deployments.splice(i, 1);
    }
  }

  private appStatus(appId: string, withTasks = false): Record<string, unknown> {
    const definition = this.apps.get(appId)!;
    const deploying = this.deployments.filter((d) => d.appId === appId);
    const instances = Number(definition.instances ?? 1);
    const version = new Date().toISOString();
    return {
      ...definition,
      version,
      tasksStaged: deploying.length ? instances : 0,
      tasksRunning: deploying.length ? 0 : instances,
      tasksHealthy: 0,
      tasksUnhealthy: 0,
      deployments: deploying.map((d) => ({ id: d.id })),
      // raml/TaskConversion.scala: appId, host (the agent's hostname), id, ports (the host ports while the task is
      // active), servicePorts (Nil for embedded tasks: EnrichedTask.singleFromInstance), slaveId, state, stagedAt,
      // startedAt (once running), version; docs/docs/rest-api/public/api/v2/types/task.raml.
      ...(withTasks
        ? {
            tasks: (this.tasks.get(appId) ?? []).map((t) => ({
              appId,
              host: t.host,
              id: t.id,
              ipAddresses: [],
              ports: t.ports,
              servicePorts: [],
              slaveId: t.slaveId,
              state: this.tasksRunning(appId) ? "TASK_RUNNING" : "TASK_STAGING",
              stagedAt: version,
              ...(this.tasksRunning(appId) ? { startedAt: version } : {}),
              version,
              localVolumes: [],
            })),
          }
        : {}),
    };
  }

  /** An app's tasks run once no deployment holds it (a stuck deployment leaves them staging). */
  private tasksRunning(appId: string): boolean {
    return this.apps.has(appId) && !this.deployments.some((d) => d.appId === appId);
  }

  /**
   * The app's ports as marathon-lb reads them (mesosphere/marathon-lb v1.15.0 utils.py `get_app_port_mappings`,
   * `get_service_ports`): `container.portMappings` on bridge and container networks, else `portDefinitions`.
   */
  private appPorts(definition: Record<string, unknown>): { key: "servicePort" | "port"; ports: Record<string, unknown>[] } {
    const mode = (definition.networks as { mode?: string }[] | undefined)?.[0]?.mode ?? "host";
    const mappings = (definition.container as { portMappings?: Record<string, unknown>[] } | undefined)?.portMappings ?? [];
    return mode === "host" ? { key: "port", ports: (definition.portDefinitions as Record<string, unknown>[] | undefined) ?? [] } : { key: "servicePort", ports: mappings };
  }

  /**
   * Service ports left 0 get the lowest free port from `--local_port_min` 10000 up, as Marathon stores them
   * (core/group/impl/AssignDynamicServiceLogic.scala `assignDynamicServicePorts`; MarathonConf `local_port_min`).
   */
  private assignServicePorts(appId: string, definition: Record<string, unknown>): void {
    const used = new Set<number>();
    for (const [id, other] of this.apps) {
      if (id === appId) continue;
      const { key, ports } = this.appPorts(other);
      for (const p of ports) used.add(Number(p[key]));
    }
    const { key, ports } = this.appPorts(definition);
    for (const p of ports) {
      if (Number(p[key] ?? 0) !== 0) continue;
      let port = 10000;
      while (used.has(port)) port++;
      p[key] = port;
      used.add(port);
    }
  }

  /**
   * Stops the app's old tasks and starts `instances` new ones (none for a deleted app): task ids
   * `<app path joined by _>.instance-<uuid>._app.1` (core/instance/Instance.scala `Instance.Id`, prefix
   * `instance-`; core/task/Task.scala `Task.Id.apply`: `TaskIdWithIncarnation`, container `_app`, incarnation 1),
   * spread over the agents, each host port held by a server that answers Redis's PING.
   */
  private async replaceTasks(appId: string, definition: Record<string, unknown> | undefined): Promise<void> {
    for (const t of this.tasks.get(appId) ?? []) for (const server of t.servers) server.close();
    this.tasks.delete(appId);
    if (!definition) return;
    const instances = Number(definition.instances ?? 1);
    const portCount = this.appPorts(definition).ports.length;
    const agentId = fixture("mesos-master-state.json").id;
    const tasks: FakeTask[] = [];
    for (let i = 0; i < instances; i++) {
      const servers = await Promise.all(Array.from({ length: portCount }, () => this.redisServer()));
      tasks.push({
        id: `${appId.slice(1).replace(/\//g, "_")}.instance-${randomUUID()}._app.1`,
        // The agents register with their IP as hostname (Marathon's `host`); here the loopback address the servers listen on.
        host: "127.0.0.1",
        slaveId: `${agentId}-S${i % Math.max(1, this.scenario.agents)}`,
        ports: servers.map((s) => (s.address() as AddressInfo).port),
        servers,
      });
    }
    this.tasks.set(appId, tasks);
  }

  /** A task's Redis: answers each PING (a RESP array `*1 $4 PING`, or the inline `PING`) with `redisReply`. */
  private async redisServer(): Promise<TcpServer> {
    const server = createTcpServer((socket) => {
      this.track(socket);
      let buffer = "";
      socket.on("data", (chunk: Buffer) => {
        buffer += chunk.toString("latin1");
        while (/PING\r\n/i.test(buffer)) {
          buffer = buffer.replace(/^[\s\S]*?PING\r\n/i, "");
          socket.write(this.scenario.redisReply);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return server;
  }

  /**
   * marathon-lb: for every app in its group (`HAPROXY_GROUP`, or `HAPROXY_0_GROUP`; marathon_lb.py `get_apps`,
   * `has_group`) a listener on the first port's service port (`HAPROXY_0_PORT` overrides it: config.py `set_port`)
   * that passes each connection to a running task's host port in turn (HAProxy's tcp mode, roundrobin); ports of
   * apps that are gone are closed.
   */
  private async syncLb(): Promise<void> {
    if (!this.lbOn) return;
    const wanted = new Map<number, string>();
    for (const [appId, definition] of this.apps) {
      const labels = (definition.labels as Record<string, string> | undefined) ?? {};
      const groups = (labels.HAPROXY_0_GROUP ?? labels.HAPROXY_GROUP ?? "").split(",");
      if (this.scenario.lbGroup !== "*" && !groups.includes(this.scenario.lbGroup)) continue;
      const { key, ports } = this.appPorts(definition);
      const port = Number(labels.HAPROXY_0_PORT ?? ports[0]?.[key] ?? 0);
      if (port > 0) wanted.set(port, appId);
    }
    for (const [port, server] of this.lbListeners) {
      if (!wanted.has(port)) {
        server.close();
        this.lbListeners.delete(port);
      }
    }
    for (const port of wanted.keys()) {
      if (this.lbListeners.has(port)) continue;
      const server = createTcpServer((client) => this.lbConnection(client, port, wanted));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, "127.0.0.1", () => resolve());
        });
        this.lbListeners.set(port, server);
      } catch (e) {
        this.lbBindErrors.push(`${port}: ${(e as NodeJS.ErrnoException).code}`);
      }
    }
  }

  private lbConnection(client: Socket, port: number, served: Map<number, string>): void {
    this.track(client);
    const appId = served.get(port);
    const backends = appId && this.tasksRunning(appId) ? (this.tasks.get(appId) ?? []) : [];
    if (!this.scenario.lbServes || backends.length === 0) {
      client.destroy();
      return;
    }
    const n = this.lbNext.get(port) ?? 0;
    this.lbNext.set(port, n + 1);
    const backend = backends[n % backends.length];
    const upstream = tcpConnect(backend.ports[0], backend.host);
    this.sockets.add(upstream);
    upstream.on("close", () => this.sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /**
   * Mesos-DNS's answer to one query (mesosphere/mesos-dns v0.6.0 resolver/resolver.go `HandleMesos`): authoritative,
   * recursion available (`RecurseOn` default true), RD copied (`SetReply`); SRV answers with the A record of each
   * target in the additional section (`handleSRV`); a name without records: SRV NOERROR with the SOA in the
   * authority section, A NXDOMAIN (`handleEmpty`); names compressed (`reply`: `m.Compress = true`).
   */
  private answerDns(socket: UdpSocket, packet: Buffer, remote: RemoteInfo): void {
    if (this.scenario.mesosDns === "silent" || packet.length < 17) return;
    const { name, type, end } = readQuestion(packet);
    this.dnsQueries.push(`${type === 33 ? "SRV" : type === 1 ? "A" : type} ${name}`);
    const records = this.scenario.mesosDns === "answers" ? this.dnsRecords() : { a: new Map<string, string[]>(), srv: new Map<string, string[]>() };
    const key = name.toLowerCase();
    const answers: DnsAnswer[] = [];
    const extra: DnsAnswer[] = [];
    if (type === 33) {
      for (const target of records.srv.get(key) ?? []) {
        const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
        answers.push({ name, type: 33, srv: { port, target: host } });
        const address = records.a.get(host)?.[0];
        if (address && !extra.some((e) => e.name === host)) extra.push({ name: host, type: 1, address });
      }
    } else if (type === 1) {
      for (const address of records.a.get(key) ?? []) answers.push({ name, type: 1, address });
    }
    const known = records.a.has(key) || records.srv.has(key);
    const rcode = answers.length === 0 && type === 1 && !known ? 3 : 0;
    const authority: DnsAnswer[] = answers.length === 0 ? [{ name, type: 6, soa: true }] : [];
    const flags = 0x8000 | 0x0400 | (packet.readUInt16BE(2) & 0x0100) | 0x0080 | rcode;
    socket.send(encodeDnsReply(packet.readUInt16BE(0), flags, packet.subarray(12, end), answers, authority, extra), remote.port, remote.address);
  }

  /**
   * The records Mesos-DNS makes of the running tasks (mesosphere/mesos-dns v0.6.0 records/generator.go
   * `taskRecord`, `taskContextRecord`; records/chains.go), with `IPSources: ["host"]` (the agent's address):
   * Marathon names the task and its DiscoveryInfo `<app path reversed, joined by .>` with the host ports as
   * discovery ports (mesosphere/marathon v1.8.244 TaskBuilder.scala, PortDiscovery.scala); Mesos-DNS keeps that
   * name as is ("LEGACY") and through its RFC 1123 label function, under `<framework>.<domain>`:
   * A `<label>.marathon.mesos` and `<label>-<hash>-<agent id tail>.marathon.mesos` (also under `.slave`),
   * SRV `_<label>._<proto>.marathon.mesos` (and `_<port name>._<label>...`) to the canonical name and the host
   * port, and `_<label>._tcp|_udp.marathon.slave.mesos` from the port resources. `<hash>` is the first 5
   * characters of the z-base-32 of the task id's SHA-1 (`hashString`).
   */
  private dnsRecords(): { a: Map<string, string[]>; srv: Map<string, string[]> } {
    const a = new Map<string, string[]>();
    const srv = new Map<string, string[]>();
    // records/generator.go `rrs` is a set per name: the same value twice is one record.
    const add = (map: Map<string, string[]>, name: string, value: string) => map.set(name, [...new Set([...(map.get(name) ?? []), value])]);
    for (const [appId, tasks] of this.tasks) {
      if (!this.tasksRunning(appId)) continue;
      const definition = this.apps.get(appId)!;
      const { ports } = this.appPorts(definition);
      const discoveryName = appId.split("/").filter(Boolean).reverse().join(".");
      for (const label of new Set([discoveryName, rfc1123(discoveryName)])) {
        for (const t of tasks) {
          const canonical = `${label}-${zbase32(createHash("sha1").update(t.id).digest()).slice(0, 5)}-${t.slaveId.split("-").pop()!.toLowerCase()}.marathon`;
          for (const name of [`${label}.marathon`, canonical]) {
            add(a, `${name}.mesos`, t.host);
            add(a, `${name}.slave.mesos`, t.host);
          }
          ports.forEach((p, i) => {
            for (const proto of ["tcp", "udp"]) add(srv, `_${label}._${proto}.marathon.slave.mesos`, `${canonical}.slave.mesos:${t.ports[i]}`);
            for (const proto of String(p.protocol ?? "tcp").split(",")) {
              add(srv, `_${label}._${proto}.marathon.mesos`, `${canonical}.mesos:${t.ports[i]}`);
              if (typeof p.name === "string") add(srv, `_${rfc1123(p.name)}._${label}._${proto}.marathon.mesos`, `${canonical}.mesos:${t.ports[i]}`);
            }
          });
        }
      }
    }
    return { a, srv };
  }
}

interface DnsAnswer {
  name: string;
  type: number;
  address?: string;
  srv?: { port: number; target: string };
  soa?: boolean;
}

/** The question of a query: name, type, and the offset after it (the fake reads uncompressed queries only). */
function readQuestion(packet: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let offset = 12;
  while (offset < packet.length && packet[offset] !== 0) {
    labels.push(packet.toString("latin1", offset + 1, offset + 1 + packet[offset]));
    offset += 1 + packet[offset];
  }
  return { name: labels.join("."), type: packet.readUInt16BE(offset + 1), end: offset + 5 };
}

/**
 * A DNS reply as miekg/dns packs one with compression (RFC 1035 4.1.4): each name written once, later
 * occurrences of it or of its suffixes as pointers. TTL 60 (`TTL` default), SRV priority 0 and weight 0
 * (v0.6.0 `formatSRV`), the SOA of `ns1.mesos`/`root.ns1.mesos` (`SOAMname`, `SOARname` defaults).
 */
function encodeDnsReply(id: number, flags: number, question: Buffer, answers: DnsAnswer[], authority: DnsAnswer[], extra: DnsAnswer[]): Buffer {
  const chunks: Buffer[] = [];
  let length = 0;
  const offsets = new Map<string, number>();
  const push = (b: Buffer) => {
    chunks.push(b);
    length += b.length;
  };
  const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
  const u32 = (n: number) => Buffer.from([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  const name = (n: string): Buffer => {
    const labels = n.split(".").filter(Boolean);
    const parts: Buffer[] = [];
    let at = length;
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join(".").toLowerCase();
      const known = offsets.get(suffix);
      if (known !== undefined) {
        parts.push(u16(0xc000 | known));
        return Buffer.concat(parts);
      }
      offsets.set(suffix, at);
      const label = Buffer.from(labels[i], "latin1");
      parts.push(Buffer.from([label.length]), label);
      at += 1 + label.length;
    }
    parts.push(Buffer.from([0]));
    return Buffer.concat(parts);
  };
  push(Buffer.concat([u16(id), u16(flags), u16(1), u16(answers.length), u16(authority.length), u16(extra.length)]));
  // The question as asked, registered for compression.
  const qname = readQuestion(Buffer.concat([Buffer.alloc(12), question])).name;
  push(Buffer.concat([name(qname), question.subarray(question.length - 4)]));
  for (const r of [...answers, ...authority, ...extra]) {
    const owner = name(r.name);
    push(owner);
    const header = Buffer.concat([u16(r.type), u16(1), u32(60)]);
    push(header);
    const rdlengthAt = chunks.length;
    push(u16(0));
    const start = length;
    if (r.address) push(Buffer.from(r.address.split(".").map(Number)));
    if (r.srv) {
      push(Buffer.concat([u16(0), u16(0), u16(r.srv.port)]));
      push(name(r.srv.target));
    }
    if (r.soa) {
      push(name("ns1.mesos"));
      push(name("root.ns1.mesos"));
      push(Buffer.concat([u32(1), u32(60), u32(600), u32(86400), u32(60)]));
    }
    chunks[rdlengthAt] = u16(length - start);
  }
  return Buffer.concat(chunks);
}

/** Mesos-DNS's RFC 1123 label function for app names (records/labels/labels.go: `.` and `_` become `-`, ends trimmed, 63 characters). */
function rfc1123(name: string): string {
  return name
    .toLowerCase()
    .replace(/[._]/g, "-")
    .replace(/[^a-z0-9-]/g, "")
    .replace(/^-+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
}

/** z-base-32 (the alphabet of github.com/tv42/zbase32, which Mesos-DNS's `hashString` uses), most significant bits first. */
function zbase32(bytes: Buffer): string {
  const alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** `web/x` or `/web/x/` -> `/web/x` (PathId `toRootPath`). */
function normalizeAppId(raw: string): string {
  return `/${raw.split("/").filter(Boolean).join("/")}`;
}

/** Marathon's 422 body (api/v2/Validation.scala: `{"message": "Object is not valid", "details": [{path, errors}]}`). */
function objectNotValid(problems: SchemaProblem[]): Record<string, unknown> {
  const byPath = new Map<string, string[]>();
  for (const p of problems) byPath.set(p.path, [...(byPath.get(p.path) ?? []), p.message]);
  return { message: "Object is not valid", details: [...byPath].map(([path, errors]) => ({ path, errors })) };
}

function deploymentJson(d: FakeDeployment): Record<string, unknown> {
  const shape = fixture("marathon-deployments.json")[0];
  return {
    ...shape,
    id: d.id,
    version: d.version,
    affectedApps: [d.appId],
    steps: [{ actions: [{ action: d.action, app: d.appId }] }],
    currentActions: [{ action: d.action, app: d.appId, readinessCheckResults: [] }],
    currentStep: 1,
    totalSteps: 1,
  };
}

/** A loopback port nothing listens on (a machine whose service is down or firewalled). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function basicUser(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith("Basic ")) return undefined;
  return Buffer.from(header.slice(6), "base64").toString("utf8").split(":")[0];
}

function authorized(req: IncomingMessage, expected: Credentials | undefined): boolean {
  if (!expected) return true;
  const header = req.headers.authorization;
  return header === `Basic ${Buffer.from(`${expected.username}:${expected.password}`).toString("base64")}`;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(value), { "Content-Type": "application/json", ...headers });
}

/** Jetty 9.4's `sendError` page (ErrorHandler), as Marathon's 401 and 502 come. */
function sendJettyError(res: ServerResponse, status: number, reason: string, uri: string, headers: Record<string, string> = {}): void {
  const page = readFileSync(join(FIXTURES, "marathon-error-page.html"), "utf8")
    .replace(/\{\{status\}\}/g, String(status))
    .replace(/\{\{reason\}\}/g, reason)
    .replace(/\{\{uri\}\}/g, uri);
  send(res, status, page, { "Content-Type": "text/html;charset=iso-8859-1", "Cache-Control": "must-revalidate,no-cache,no-store", ...headers });
}
