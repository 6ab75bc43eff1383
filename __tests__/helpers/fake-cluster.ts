/**
 * A fake cluster on loopback: Mesos masters, Marathon instances, a classic
 * Swarm manager and, per registered agent, a Mesos agent and its Docker
 * engine as in-process HTTP servers that answer with the recorded response
 * shapes of __tests__/fixtures/cluster-api and record every request.
 * Scenario switches (no leader, missing agents, credentials, stuck or locked
 * deployments, the runtime facts: registry, quorum, versions, Swarm's
 * checkpointing, the agents' flags and engines) can be flipped while it runs.
 */
import { randomUUID } from "crypto";
import { readFileSync } from "fs";
import { createServer, IncomingMessage, Server, ServerResponse } from "http";
import { AddressInfo } from "net";
import { join } from "path";

const FIXTURES = join(__dirname, "..", "fixtures", "cluster-api");

/** A recorded response document (a fresh copy each time). */
export function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as T;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** What the fake cluster does; every field may be changed while it runs. */
export interface FakeScenario {
  /** Index of the leading Mesos master; null: none elected (others answer 503). */
  mesosLeader: number | null;
  /** Agents the leading master reports as registered. */
  agents: number;
  /** Index of the leading Marathon instance; null: none (every /v2 call answers 503). */
  marathonLeader: number | null;
  /** Offers the Swarm manager holds. */
  swarmOffers: number;
  /** Basic auth Marathon demands; undefined: none. */
  marathonAuth?: Credentials;
  /** Basic auth the Mesos masters demand for /master/state; undefined: none. */
  mesosAuth?: Credentials;
  /** How many listings of GET /v2/deployments show a deployment before it finishes. */
  deploymentPolls: number;
  /** Deployments never finish. */
  stuckDeployments: boolean;
  /** The next N app changes (PUT/DELETE) answer 409: locked by another deployment. */
  lockedChanges: number;
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
  readonly body: string;
}

interface FakeDeployment {
  id: string;
  version: string;
  appId: string;
  action: string;
  remaining: number;
}

export class FakeCluster {
  public readonly scenario: FakeScenario;
  public readonly requests: RecordedRequest[] = [];
  /** Marathon's apps by id, as stored (the definitions PUT). */
  public readonly apps = new Map<string, Record<string, unknown>>();
  public readonly deployments: FakeDeployment[] = [];
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

  /** Starts `masters` Mesos masters and Marathon instances and one Swarm manager on 127.0.0.1. */
  public static async start(masters: number, scenario: Partial<FakeScenario> = {}): Promise<FakeCluster> {
    const cluster = new FakeCluster({
      mesosLeader: 0,
      agents: 2,
      marathonLeader: 0,
      swarmOffers: 2,
      deploymentPolls: 1,
      stuckDeployments: false,
      lockedChanges: 0,
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

  public async close(): Promise<void> {
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
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://fake");
        const body = Buffer.concat(chunks).toString("utf8");
        const recorded: RecordedRequest = { service, server: index, method: req.method ?? "GET", path: url.pathname, query: url.search, user: basicUser(req), body };
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

  /** A master's flags as GET /flags answers them: the state fixture's, for this master and scenario. */
  private masterFlags(index: number): Record<string, string> {
    const flags: Record<string, string> = fixture("mesos-master-state.json").flags;
    const masters = this.servers.filter((s) => s.service === "mesos").length;
    flags.hostname = flags.ip = "127.0.0.1";
    flags.port = String(this.portOf("mesos", index));
    flags.quorum = String(this.scenario.masterQuorum ?? Math.floor(masters / 2) + 1);
    flags.registry = this.scenario.masterRegistry;
    if (this.scenario.masterWorkDir) flags.work_dir = this.scenario.masterWorkDir;
    else delete flags.work_dir;
    return flags;
  }

  private async mesos(index: number, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (url.pathname === "/master/health") return send(res, 200, "");
    const flagsPath = url.pathname === "/flags" || url.pathname === "/master/flags";
    if (url.pathname !== "/master/state" && !flagsPath) return send(res, 404, "");
    if (!authorized(req, this.scenario.mesosAuth)) {
      return send(res, 401, "", { "WWW-Authenticate": 'Basic realm="mesos-master-readonly"' });
    }
    // Every master answers for its own flags, leading or not.
    if (flagsPath) return sendJson(res, 200, { flags: this.masterFlags(index) });
    const leader = this.scenario.mesosLeader;
    if (leader === null) return send(res, 503, "No leader elected", { "Content-Type": "text/plain" });
    const leaderAddress = `127.0.0.1:${this.portOf("mesos", leader)}`;
    if (index !== leader) return send(res, 307, "", { Location: `//${leaderAddress}${url.pathname}` });
    await this.startAgents(this.scenario.agents);
    const state = fixture("mesos-master-state.json");
    const template = state.slaves[0];
    state.pid = state.leader = state.leader_info.pid = `master@${leaderAddress}`;
    state.version = state.git_tag = this.scenario.mesosVersion;
    state.flags = this.masterFlags(leader);
    state.activated_slaves = this.scenario.agents;
    // The agents' servers listen on loopback; hostname stays the name the agent advertises (--hostname).
    state.slaves = Array.from({ length: this.scenario.agents }, (_, i) => {
      const { agentPort, enginePort } = this.agentAddress(i);
      return {
        ...template,
        id: `${state.id}-S${i}`,
        hostname: `10.20.16.${4 + i}`,
        pid: `slave(1)@127.0.0.1:${agentPort}`,
        attributes: { docker_port: enginePort },
        version: this.scenario.mesosVersion,
      };
    });
    state.frameworks = state.frameworks
      .filter((f: { name: string }) => f.name !== "swarm" || this.scenario.swarmFramework)
      .map((f: { name: string }) => (f.name === "swarm" ? { ...f, checkpoint: this.scenario.swarmCheckpoint } : f));
    sendJson(res, 200, state);
  }

  /** A Mesos agent: GET /flags (also as /slave(1)/flags), `{"flags": {...}}` with every value a string. */
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

  /** An agent's Docker engine: GET /version (also versioned, /v1.44/version). */
  private docker(_index: number, _req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!/^(\/v\d+\.\d+)?\/version$/.test(url.pathname)) return sendJson(res, 404, { message: "page not found" });
    const version = fixture("docker-version.json");
    version.MinAPIVersion = version.Components[0].Details.MinAPIVersion = this.scenario.engineMinApi;
    sendJson(res, 200, version);
  }

  private marathon(index: number, req: IncomingMessage, res: ServerResponse, url: URL, body: string): void {
    if (!authorized(req, this.scenario.marathonAuth)) return sendJson(res, 401, fixture("marathon-401.json"));
    const leader = this.scenario.marathonLeader;
    if (leader === null) {
      // Marathon's LeaderProxyFilter answers with a servlet error page.
      return send(res, 503, "<html><body><h2>HTTP ERROR 503</h2><p>Reason: Could not determine the current leader</p></body></html>", { "Content-Type": "text/html" });
    }
    const path = url.pathname;
    if (path === "/v2/info" && req.method === "GET") {
      const info = fixture("marathon-info.json");
      info.version = this.scenario.marathonVersion;
      info.leader = `127.0.0.1:${this.portOf("marathon", leader)}`;
      info.elected = index === leader;
      return sendJson(res, 200, info);
    }
    if (path === "/v2/apps" && req.method === "GET") {
      return sendJson(res, 200, { apps: [...this.apps.keys()].map((id) => this.appStatus(id)) });
    }
    if (path === "/v2/deployments" && req.method === "GET") {
      const listed = this.deployments.map((d) => deploymentJson(d));
      if (!this.scenario.stuckDeployments) {
        for (const d of this.deployments) d.remaining -= 1;
        this.finishDeployments();
      }
      return sendJson(res, 200, listed);
    }
    const appMatch = /^\/v2\/apps(\/.+)$/.exec(path);
    if (!appMatch) return sendJson(res, 404, { message: `no fake for ${req.method} ${path}` });
    const appId = appMatch[1];
    if (req.method === "GET") {
      return this.apps.has(appId) ? sendJson(res, 200, { app: this.appStatus(appId) }) : sendJson(res, 404, { message: `App '${appId}' does not exist` });
    }
    if (req.method === "PUT" || req.method === "DELETE") {
      if (req.method === "DELETE" && !this.apps.has(appId)) return sendJson(res, 404, { message: `App '${appId}' does not exist` });
      const busy = this.deployments.find((d) => d.appId === appId);
      if (this.scenario.lockedChanges > 0 || busy) {
        this.scenario.lockedChanges = Math.max(0, this.scenario.lockedChanges - 1);
        const locked = fixture("marathon-409-locked.json");
        if (busy) locked.deployments = [{ id: busy.id }];
        return sendJson(res, 409, locked);
      }
      let action = "StopApplication";
      const existed = this.apps.has(appId);
      if (req.method === "PUT") {
        if (this.scenario.refuseDefinitions) return sendJson(res, 422, fixture("marathon-422.json"));
        const definition = JSON.parse(body) as Record<string, unknown>;
        if (definition.id !== appId) return sendJson(res, 422, { message: "Object is not valid", details: [{ path: "/id", errors: ["does not match the path"] }] });
        this.apps.set(appId, definition);
        action = existed ? "RestartApplication" : "StartApplication";
      } else {
        this.apps.delete(appId);
      }
      const deployment: FakeDeployment = { id: randomUUID(), version: new Date().toISOString(), appId, action, remaining: this.scenario.deploymentPolls };
      this.deployments.push(deployment);
      return sendJson(res, req.method === "PUT" && !existed ? 201 : 200, { deploymentId: deployment.id, version: deployment.version }, { "Marathon-Deployment-Id": deployment.id });
    }
    sendJson(res, 405, { message: `${req.method} not allowed` });
  }

  private swarm(_index: number, _req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname !== "/info") return send(res, 404, "page not found");
    const info = fixture("swarm-info.json");
    const rows: [string, string][] = info.SystemStatus;
    const offerRows = rows.slice(rows.findIndex((r) => r[0] === "  Offer"), rows.findIndex((r, i) => i > 4 && r[0] === "  Offer"));
    info.SystemStatus = [...rows.slice(0, 3), ["Offers", String(this.scenario.swarmOffers)]];
    for (let i = 0; i < this.scenario.swarmOffers; i++) info.SystemStatus.push(...offerRows.map(([k, v]) => [k, k === "  Offer" ? `${v}-${i}` : v]));
    sendJson(res, 200, info);
  }

  private finishDeployments(): void {
    for (let i = this.deployments.length - 1; i >= 0; i--) {
      if (this.deployments[i].remaining <= 0) this.deployments.splice(i, 1);
    }
  }

  private appStatus(appId: string): Record<string, unknown> {
    const definition = this.apps.get(appId)!;
    const deploying = this.deployments.filter((d) => d.appId === appId);
    const instances = Number(definition.instances ?? 1);
    return {
      ...definition,
      version: new Date().toISOString(),
      tasksStaged: deploying.length ? instances : 0,
      tasksRunning: deploying.length ? 0 : instances,
      tasksHealthy: 0,
      tasksUnhealthy: 0,
      deployments: deploying.map((d) => ({ id: d.id })),
    };
  }
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
