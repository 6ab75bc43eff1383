"use strict";
/**
 * The checks that say a cluster can take work, shared by the readiness gate
 * (`cli.js wait-ready`, run by Terraform) and `npm run smoke`:
 *
 * - zookeeper: `ruok` answers `imok` and `srvr` names a mode on every member;
 *   an ensemble has exactly one leader, a single member is standalone;
 * - mesos-health: `GET /master/health` is 200 on every master;
 * - mesos-leader: exactly one master serves `GET /master/state` as the leader
 *   (its `leader` is its own `pid`), the others redirect to it (307 to
 *   `//<leader_info.hostname>:<port>`, the leader's advertised hostname);
 * - mesos-agents: the leader's `activated_slaves` equals the pool size;
 * - marathon-leader: `GET /v2/info` on every instance names the same leader;
 * - marathon-apps: `GET /v2/apps` answers a list;
 * - swarm: classic Swarm's `GET /info` says Role primary and, when the
 *   cluster has agents, that Mesos offers it resources (`Offers` row) at
 *   least once within a window: Swarm declines every offer after holding it
 *   30 s and Mesos offers it again 5 s later, so `Offers` is 0 for a few
 *   seconds in every cycle;
 * - runtime (`npm run smoke` only, `checkRuntime`): the facts the cluster
 *   depends on at run time, as the services report them: the leading
 *   master's `/flags` (replicated_log registry, work_dir, quorum of the
 *   masters), Mesos and Marathon versions that speak the same offer calls,
 *   Swarm's framework registered with checkpointing, and every agent's
 *   `/flags` (docker_mesos_image, the docker containerizer) and engine
 *   `/version` (an API floor Swarm's 1.15 calls pass).
 *
 * A check never throws: it answers { ok, summary }, and `fatal` when waiting
 * cannot help (credentials refused, a certificate the CA given does not
 * vouch for; runtime: only wrong values it read, such as the registry, and no
 * failed call or missing framework).
 */
const net = require("net");
const { ClusterApiError, request, jsonOf, messageOf, refuseAuth, firstAnswer, sleep } = require("./http");
const { pickMarathon, marathonTimeoutMs } = require("./marathon");

/** @typedef {import("./http").Credentials} Credentials */
/** @typedef {{ ok: boolean, summary: string, fatal?: boolean }} CheckResult */
/**
 * @typedef {object} ClusterEndpoints
 * @property {string[][]} [zookeeper] members as alternative `host:port` lists; omitted: the check is skipped
 * @property {string[][]} mesos masters as alternative base URLs
 * @property {string[][]} marathon Marathon instances as alternative base URLs
 * @property {string[]} [swarm] the Swarm manager's alternative base URLs; omitted: skipped
 * @property {import("./http").TlsMaterial} [swarmTls] client certificate for a Swarm API behind mutual TLS (https URLs)
 * @property {import("./http").TlsMaterial} [mesosTls] the CA of the masters' https URLs (behind their TLS proxy)
 * @property {import("./http").TlsMaterial} [marathonTls] the CA of Marathon's https URLs
 * @property {number} expectedAgents Mesos agents that must be registered
 * @property {Credentials} [mesosCredentials]
 * @property {Credentials} [marathonCredentials]
 * @property {number} [requestTimeoutMs] per request or ZooKeeper command (default 5000; Marathon's never below 4 s, see marathonTimeoutMs)
 * @property {boolean} [checkRuntime] add the `runtime` check (smoke sets it; the readiness gate does not)
 * @property {number} [swarmOfferWindowMs] how long the swarm check looks for offers before failing (default SWARM_OFFER_WINDOW_MS)
 * @property {number} [swarmOfferPollMs] pause between its looks (default 1000)
 * @property {number} [deadline] epoch ms: no check waits past it (the readiness gate's timeout)
 */
/** @typedef {{ name: string, title: string, run: () => Promise<CheckResult> }} ClusterCheck */

/**
 * Sends a ZooKeeper four-letter word and returns the whole answer.
 * @param {string} address `host:port`
 * @param {string} word e.g. `ruok`
 * @param {number} timeoutMs
 * @returns {Promise<string>}
 */
function fourLetterWord(address, word, timeoutMs) {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new ClusterApiError(`${address}: no answer to ${word} within ${timeoutMs} ms`, "unreachable"));
    });
    socket.on("connect", () => socket.end(word));
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", (e) => reject(new ClusterApiError(`${address}: ${/** @type {NodeJS.ErrnoException} */ (e).code ?? e.message}`, "unreachable")));
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

/** @typedef {{ address: string, mode?: string, problem?: string }} ZookeeperMemberState the address that answered (or the first tried), its `srvr` mode, or why it has none */

/**
 * One member's state: `ruok` then `srvr` on the first alternative that answers.
 * @param {string[]} alternatives
 * @param {number} timeoutMs
 * @returns {Promise<ZookeeperMemberState>}
 */
async function zookeeperMember(alternatives, timeoutMs) {
  try {
    const { alternative, value: ruok } = await firstAnswer(alternatives, (a) => fourLetterWord(a, "ruok", timeoutMs));
    if (ruok.trim() !== "imok") return { address: alternative, problem: `answers ruok with ${JSON.stringify(ruok.trim() || "(nothing)")}` };
    const srvr = await fourLetterWord(alternative, "srvr", timeoutMs);
    const mode = /^Mode: (\S+)/m.exec(srvr)?.[1];
    if (!mode) return { address: alternative, problem: srvr.trim() ? `not serving (${srvr.trim().split("\n")[0]})` : "no srvr answer" };
    return { address: alternative, mode };
  } catch (e) {
    return { address: alternatives[0], problem: `does not answer (${/** @type {Error} */ (e).message})` };
  }
}

/**
 * Every member answers ruok and srvr, and exactly one leads (a single member: standalone).
 * `members` says what each member answered, for a caller that needs more (npm run rollout's gate).
 * @param {string[][]} members
 * @param {number} timeoutMs
 * @returns {Promise<CheckResult & { members: ZookeeperMemberState[] }>}
 */
async function checkZookeeper(members, timeoutMs) {
  const states = await Promise.all(members.map((m) => zookeeperMember(m, timeoutMs)));
  const serving = states.filter((s) => s.mode);
  const leaders = serving.filter((s) => s.mode === "leader");
  const problems = states.filter((s) => s.problem).map((s) => `${s.address} ${s.problem}`);
  /** @param {boolean} ok @param {string} summary */
  const result = (ok, summary) => ({ ok, summary, members: states });
  if (members.length === 1) {
    const [only] = states;
    if (only.mode === "standalone") return result(true, `standalone member ${only.address} serves`);
    return result(false, only.problem ? `${only.address} ${only.problem}` : `${only.address} runs in mode ${only.mode}, expected standalone`);
  }
  const leaderText = leaders.length === 1 ? `leader ${leaders[0].address}` : leaders.length === 0 ? "no leader" : `${leaders.length} leaders (${leaders.map((l) => l.address).join(", ")})`;
  if (problems.length === 0 && leaders.length === 1) {
    return result(true, `${serving.length} of ${members.length} members serve; ${leaderText}, ${serving.length - 1} followers`);
  }
  return result(false, `${[...problems, leaders.length !== 1 ? leaderText : ""].filter(Boolean).join("; ")}; ${serving.length} of ${members.length} members serve${leaders.length === 1 ? ` with ${leaderText}` : ""}`);
}

/**
 * Runs a check body and turns its errors into a result.
 * @param {() => Promise<CheckResult>} body
 * @returns {Promise<CheckResult>}
 */
async function guarded(body) {
  try {
    return await body();
  } catch (e) {
    const error = /** @type {Error} */ (e);
    return { ok: false, summary: error.message, fatal: error instanceof ClusterApiError && (error.kind === "auth" || error.kind === "tls") };
  }
}

/**
 * GETs `path` from every server (alternatives raced); failures become `{ error }`.
 * @param {string[][]} servers
 * @param {string} path
 * @param {import("./http").RequestOptions} options
 */
function askEvery(servers, path, options) {
  return Promise.all(
    servers.map(async (alternatives) => {
      try {
        const { alternative, value } = await firstAnswer(alternatives, (base) => request(base + path, options));
        return { base: alternative, response: value, error: undefined };
      } catch (e) {
        const error = /** @type {Error} */ (e);
        // A certificate the CA does not vouch for: the caller fails at once instead of counting a server down.
        const fatal = error instanceof ClusterApiError && error.kind === "tls" ? error : undefined;
        return { base: alternatives[0], response: undefined, error: error.message, fatal };
      }
    }),
  );
}

/**
 * The response in one of askEvery's answers, or undefined when the server
 * gave none, which then adds "does not answer" to `problems`. A fatal answer
 * (a certificate the CA does not vouch for) is thrown.
 * @param {Awaited<ReturnType<typeof askEvery>>[number]} answer
 * @param {string[]} problems
 */
function responseOf(answer, problems) {
  if (answer.fatal) throw answer.fatal;
  if (!answer.response) problems.push(`${answer.base} does not answer (${answer.error})`);
  return answer.response;
}

/** `master@10.0.0.1:5050` -> `10.0.0.1:5050`. @param {unknown} pid */
function pidAddress(pid) {
  return typeof pid === "string" ? pid.replace(/^[^@]*@/, "") : "";
}

/**
 * `host:port` of a redirect's Location (protocol-relative `//host:port/...`),
 * host in lower case; port 80 when the Location has none.
 * @param {unknown} location
 */
function locationAddress(location) {
  try {
    const url = new URL(String(location ?? ""), "http://redirect.invalid");
    return `${url.hostname.toLowerCase()}:${url.port || "80"}`;
  } catch {
    return String(location);
  }
}

/**
 * The addresses a non-leader may redirect to for this leader: Mesos builds
 * the Location from the leader's `MasterInfo.hostname` and port
 * (apache/mesos 1.7.1 src/master/http.cpp `Master::Http::redirect`:
 * `"//" + info.hostname() + ":" + info.port()`), shown as the state's
 * `leader_info`; its pid address is accepted too.
 * @param {any} state the leader's /master/state
 * @returns {string[]}
 */
function leaderAddresses(state) {
  const pid = pidAddress(state.leader);
  const port = pid.slice(pid.lastIndexOf(":") + 1);
  const info = state.leader_info ?? {};
  const hostname = typeof info.hostname === "string" && info.hostname ? info.hostname : typeof state.hostname === "string" ? state.hostname : "";
  const infoPort = info.port !== undefined && info.port !== null && String(info.port) !== "" ? String(info.port) : port;
  const named = hostname ? `${hostname.toLowerCase()}:${infoPort}` : "";
  return [...new Set([named, pid.toLowerCase()].filter(Boolean))];
}

/**
 * Finds the leading Mesos master: the one master that answers
 * `/master/state` itself; the others redirect to it (307, Location from the
 * leader's advertised hostname, which need not be the address in its pid:
 * `--hostname` a DNS name, `--advertise_ip`) or, without a leader, answer 503.
 * @param {string[][]} servers
 * @param {Credentials | undefined} credentials
 * @param {number} timeoutMs
 * @param {import("./http").TlsMaterial} [tls] the CA of https URLs
 * @returns {Promise<CheckResult & { state?: any, base?: string }>}
 */
async function findMesosLeader(servers, credentials, timeoutMs, tls) {
  const answers = await askEvery(servers, "/master/state", { credentials, timeoutMs, tls });
  /** @type {{ base: string, state: any }[]} */
  const leaders = [];
  /** @type {string[]} */
  const redirects = [];
  /** @type {string[]} */
  const problems = [];
  for (const a of answers) {
    const response = responseOf(a, problems);
    if (!response) continue;
    refuseAuth(response, "the Mesos master", credentials, { forbiddenIsAuth: true });
    if (response.status === 200) leaders.push({ base: a.base, state: jsonOf(response) });
    else if (response.status === 307) redirects.push(locationAddress(response.headers.location));
    else problems.push(`${a.base} answers HTTP ${response.status}: ${messageOf(response)}`);
  }
  if (leaders.length !== 1) {
    const what = leaders.length === 0 ? "no leading master" : `${leaders.length} masters claim to lead`;
    return { ok: false, summary: [what, ...problems].join("; ") };
  }
  const { base, state } = leaders[0];
  const leaderAddress = pidAddress(state.leader);
  if (!leaderAddress || leaderAddress !== pidAddress(state.pid)) {
    return { ok: false, summary: `${base} serves /master/state but names leader ${JSON.stringify(state.leader ?? null)}, not itself (${state.pid})` };
  }
  const accepted = leaderAddresses(state);
  const strays = redirects.filter((host) => !accepted.includes(host));
  if (strays.length > 0) return { ok: false, summary: `masters disagree: ${base} leads as ${accepted.join(" / ")}, others redirect to ${strays.join(", ")}` };
  const named = accepted[0] !== leaderAddress.toLowerCase() ? ` (hostname ${accepted[0]})` : "";
  const others = redirects.length ? `, ${redirects.length} other${redirects.length > 1 ? "s" : ""} redirect to it` : "";
  const down = problems.length ? `; ${problems.join("; ")}` : "";
  return { ok: true, summary: `leader ${state.leader}${named}${others}${down}`, state, base };
}

/**
 * @param {any} state the leader's /master/state
 * @param {number} expected
 * @returns {CheckResult}
 */
function agentsResult(state, expected) {
  const registered = Number(state.activated_slaves ?? 0);
  const hosts = (Array.isArray(state.slaves) ? state.slaves : []).filter((/** @type {any} */ s) => s.active !== false).map((/** @type {any} */ s) => s.hostname);
  const list = hosts.length ? ` (${hosts.join(", ")})` : "";
  if (registered === expected) return { ok: true, summary: `${registered} of ${expected} agents registered${list}` };
  if (registered < expected) return { ok: false, summary: `${registered} of ${expected} agents registered${list}` };
  return { ok: false, summary: `${registered} agents registered${list}, the pool has ${expected}` };
}

/**
 * @param {string[][]} servers
 * @param {Credentials | undefined} credentials
 * @param {number} timeoutMs
 * @param {import("./http").TlsMaterial} [tls] the CA of https URLs
 * @returns {Promise<CheckResult>}
 */
async function checkMarathonLeader(servers, credentials, timeoutMs, tls) {
  // Every instance proxies /v2/info to the leader (LeaderProxyFilter), so all answer alike;
  // without a leader each waits about 2.75 s and answers 502.
  const answers = await askEvery(servers, "/v2/info", { credentials, tls, timeoutMs: marathonTimeoutMs(timeoutMs) });
  const leaders = new Set();
  /** @type {string[]} */
  const problems = [];
  for (const a of answers) {
    const response = responseOf(a, problems);
    if (!response) continue;
    refuseAuth(response, "Marathon", credentials);
    if (response.status !== 200) {
      problems.push(`${a.base} answers HTTP ${response.status}: ${messageOf(response)}`);
      continue;
    }
    const info = jsonOf(response);
    if (typeof info.leader === "string" && info.leader) leaders.add(info.leader);
    else problems.push(`${a.base} knows no leader`);
  }
  if (problems.length === 0 && leaders.size === 1) {
    return { ok: true, summary: `leader ${[...leaders][0]}; ${servers.length} of ${servers.length} instances agree` };
  }
  const named = leaders.size > 1 ? [`instances name different leaders: ${[...leaders].join(", ")}`] : [];
  return { ok: false, summary: [...named, ...problems].join("; ") || "no leader" };
}

/**
 * Classic Swarm's /info rows (`SystemStatus`, or `DriverStatus` for API < 1.22) as a map.
 * @param {any} info
 * @returns {Map<string, string>}
 */
function swarmStatus(info) {
  const rows = Array.isArray(info.SystemStatus) ? info.SystemStatus : Array.isArray(info.DriverStatus) ? info.DriverStatus : [];
  const status = new Map();
  for (const row of rows) {
    if (Array.isArray(row) && row.length === 2) status.set(String(row[0]).replace(/^[\s\b]+/, ""), String(row[1]));
  }
  return status;
}

/**
 * Classic Swarm on Mesos holds each offer `mesos.offertimeout` (default 30 s)
 * and then declines it with empty filters, so Mesos offers those resources
 * again only after the default `refuse_seconds` (5 s) and its next allocation
 * (every 1 s): `/info` shows 0 offers for 5-6 s of every ~36 s cycle.
 * (docker-archive/classicswarm v1.2.8 cluster/mesos/cluster.go
 * `defaultOfferTimeout`, `addOffer`; apache/mesos 1.7.1 include/mesos/mesos.proto
 * `Filters.refuse_seconds`, src/master/constants.hpp `DEFAULT_ALLOCATION_INTERVAL`.)
 * The swarm check keeps looking this long before it says there are none.
 */
const SWARM_OFFER_WINDOW_MS = 8000;

/**
 * @param {string[]} alternatives
 * @param {number} expectedAgents
 * @param {number} timeoutMs
 * @param {import("./http").TlsMaterial} [tls]
 * @param {{ windowMs?: number, pollMs?: number, deadline?: number }} [window] how long to look for offers (default SWARM_OFFER_WINDOW_MS, every 1 s, never past `deadline`)
 * @returns {Promise<CheckResult>}
 */
async function checkSwarm(alternatives, expectedAgents, timeoutMs, tls, window = {}) {
  const windowMs = window.windowMs ?? SWARM_OFFER_WINDOW_MS;
  const pollMs = window.pollMs ?? 1000;
  const startedAt = Date.now();
  const until = Math.min(startedAt + windowMs, window.deadline ?? Infinity);
  for (let looks = 1; ; looks++) {
    const { alternative, value: response } = await firstAnswer(alternatives, (base) => request(`${base}/info`, { timeoutMs, tls }));
    if (response.status !== 200) return { ok: false, summary: `${alternative}/info answers HTTP ${response.status}: ${messageOf(response)}` };
    const status = swarmStatus(jsonOf(response));
    const role = status.get("Role");
    const offers = Number(status.get("Offers") ?? NaN);
    if (role !== undefined && role !== "primary") return { ok: false, summary: `${alternative} is a ${role}, not the primary manager` };
    if (Number.isNaN(offers)) return { ok: false, summary: `${alternative}/info has no Offers row: not a Swarm manager on Mesos` };
    const seconds = () => ((Date.now() - startedAt) / 1000).toFixed(1);
    if (expectedAgents === 0 || offers > 0) {
      const waited = looks > 1 ? ` (seen at look ${looks}, after ${seconds()} s with none)` : "";
      return { ok: true, summary: `${role ?? "manager"}, ${offers} Mesos offer${offers === 1 ? "" : "s"}${waited}` };
    }
    if (Date.now() + pollMs > until) {
      return {
        ok: false,
        summary: `Swarm holds no Mesos offers (${expectedAgents} agents expected; none in ${looks} look${looks === 1 ? "" : "s"} over ${seconds()} s)`,
      };
    }
    await sleep(pollMs);
  }
}

/** `"1.7.1"` -> [1, 7]; anything else -> undefined. @param {unknown} version */
function majorMinor(version) {
  const match = /^v?(\d+)\.(\d+)/.exec(String(version ?? ""));
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** a < b for [major, minor] pairs. @param {number[]} a @param {number[]} b */
function older(a, b) {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** Mesos 1.9 added UPDATE_FRAMEWORK (MESOS-9793), which Marathon 1.9 and later send to suppress and revive offers. */
const UPDATE_FRAMEWORK_SINCE = [1, 9];
/** The Docker API version classic Swarm 1.2.8 sends StartContainer with. */
const SWARM_ENGINE_API = "1.15";
/** The engine port classic Swarm assumes when an agent has no `docker_port` attribute (classicswarm cluster/mesos). */
const DEFAULT_ENGINE_PORT = 2375;
/** Agents asked at once. */
const AGENT_CONCURRENCY = 16;
const UNREACHABLE = "not reachable from this machine (run smoke inside the network to check";

/** Compares dotted versions numerically: <0, 0, >0. @param {string} a @param {string} b */
function compareVersions(a, b) {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * GETs a JSON document, telling "cannot be reached" (no answer) from every
 * other failure.
 * @param {string} url
 * @param {string} service e.g. "the Mesos agent"
 * @param {import("./http").RequestOptions} options
 * @param {{ lockedIsUnread?: boolean }} [how] lockedIsUnread: a 401 means "not readable with what this machine has" (an agent's own credential), not a failure
 * @returns {Promise<{ value?: any, unreachable?: string, locked?: string, problem?: string }>}
 */
async function getJson(url, service, options, how = {}) {
  let response;
  try {
    response = await request(url, options);
  } catch (e) {
    const error = /** @type {Error} */ (e);
    if (error instanceof ClusterApiError && error.kind === "unreachable") return { unreachable: error.message };
    return { problem: error.message };
  }
  if (how.lockedIsUnread && response.status === 401) return { locked: url };
  try {
    refuseAuth(response, service, options.credentials, { forbiddenIsAuth: service !== "Marathon" });
    if (response.status !== 200) return { problem: `${url} answers HTTP ${response.status}: ${messageOf(response)}` };
    return { value: jsonOf(response) };
  } catch (e) {
    return { problem: /** @type {Error} */ (e).message };
  }
}

/**
 * Runs `call` on every item, at most `limit` at a time, keeping the order.
 * @template T, R
 * @param {T[]} items
 * @param {number} limit
 * @param {(item: T) => Promise<R>} call
 * @returns {Promise<R[]>}
 */
async function mapLimited(items, limit, call) {
  /** @type {R[]} */
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await call(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** @typedef {{ what: string, why: string, settled: boolean }} AgentProblem one wrong fact of an agent, why it matters, and whether it was read (not a failed call) */

/**
 * One registered agent: its `/flags` (docker_mesos_image, the docker
 * containerizer) and, when Swarm drives the cluster, its engine's `/version`.
 * @param {any} slave an entry of /master/state `slaves`
 * @param {{ credentials?: Credentials, timeoutMs: number, swarm: boolean }} options
 * @returns {Promise<{ who: string, unreachable?: string, locked?: string, problems: AgentProblem[], image?: string, containerizers?: string, minApi?: string }>}
 */
async function checkAgent(slave, options) {
  const address = pidAddress(slave.pid);
  const host = address.slice(0, address.lastIndexOf(":"));
  // The name it advertises (--hostname) and, when different, the address it listens on.
  const who = slave.hostname && slave.hostname !== host ? `${slave.hostname} (${address})` : address || String(slave.hostname ?? slave.id);
  /** @type {string | undefined} what of it this machine cannot reach */
  let unreachable;
  /** @type {AgentProblem[]} */
  const problems = [];
  const problem = (/** @type {string} */ what, why = "", settled = true) => problems.push({ what, why, settled });
  if (!address || !host) return { who, problems: [{ what: `no address in its pid ${JSON.stringify(slave.pid ?? null)}`, why: "", settled: true }] };
  const rawPort = slave.attributes?.docker_port;
  const enginePort = rawPort === undefined || rawPort === "" ? DEFAULT_ENGINE_PORT : Number(rawPort);
  const [flagsAnswer, engineAnswer] = await Promise.all([
    // No credentials: with `auth` each agent has its own (MesosAgentPool httpAuthentication), and the masters' password is not sent to agents.
    getJson(`http://${address}/flags`, "the Mesos agent", { timeoutMs: options.timeoutMs }, { lockedIsUnread: true }),
    options.swarm && Number.isInteger(enginePort) ? getJson(`http://${host}:${enginePort}/version`, "the Docker engine", { timeoutMs: options.timeoutMs }) : Promise.resolve(undefined),
  ]);
  /** @type {{ image?: string, containerizers?: string, minApi?: string }} */
  const seen = {};
  /** @type {string | undefined} */
  let locked;
  if (flagsAnswer.unreachable) unreachable = who;
  else if (flagsAnswer.locked) locked = who;
  else if (flagsAnswer.problem) problem(flagsAnswer.problem, "", false);
  else {
    const flags = flagsAnswer.value?.flags ?? {};
    /** @type {string} */
    const image = typeof flags.docker_mesos_image === "string" ? flags.docker_mesos_image : "";
    /** @type {string} */
    const containerizers = typeof flags.containerizers === "string" ? flags.containerizers : "";
    Object.assign(seen, { image, containerizers });
    if (!image) problem("no docker_mesos_image", "executors are forked inside the agent's container and die at every agent restart");
    if (!containerizers.split(",").map((c) => c.trim()).includes("docker")) {
      problem(`containerizers ${JSON.stringify(containerizers)}, without docker`, "the Docker tasks of Marathon and Swarm cannot run");
    }
  }
  if (options.swarm) {
    const engine = `${host}:${rawPort === undefined || rawPort === "" ? DEFAULT_ENGINE_PORT : rawPort}`;
    if (!Number.isInteger(enginePort)) problem(`docker_port attribute ${JSON.stringify(rawPort)}, not a port`);
    else if (engineAnswer?.unreachable) unreachable ??= `the engine ${engine} of ${who}`;
    else if (engineAnswer?.problem) problem(`engine: ${engineAnswer.problem}`, "", false);
    else {
      const minApi = engineAnswer?.value?.MinAPIVersion;
      if (typeof minApi !== "string" || !/^\d+(\.\d+)*$/.test(minApi)) problem(`engine ${engine}/version without MinAPIVersion`);
      else {
        seen.minApi = minApi;
        if (compareVersions(minApi, SWARM_ENGINE_API) > 0) {
          problem(`engine MinAPIVersion ${minApi}, above ${SWARM_ENGINE_API}`, "it refuses classic Swarm's calls (Docker 25.0.x serves them with DOCKER_MIN_API_VERSION=1.12)");
        }
      }
    }
  }
  return { who, unreachable, locked, problems, ...seen };
}


/** At most `max` items, then how many more. @param {string[]} items @param {number} max */
function someOf(items, max = 5) {
  return items.length > max ? [...items.slice(0, max), `${items.length - max} more`].join(", ") : items.join(", ");
}

/** Distinct values seen, in order ("unset" for an empty one, "-" for none seen). @param {(string | undefined)[]} values */
function distinct(values) {
  const seen = [...new Set(values.filter((v) => v !== undefined).map((v) => v || "unset"))];
  return seen.length ? seen.join(" / ") : "-";
}

/**
 * The runtime facts the cluster depends on, read through the services' own
 * HTTP APIs from the leading master (its `/flags`, its state's version,
 * frameworks and agents), Marathon's `/v2/info`, every agent's `/flags` and
 * its engine's `/version`. Agents this machine cannot reach are listed, not
 * failed: their ports are usually open to the masters only.
 * @param {ClusterEndpoints} endpoints
 * @param {number} timeoutMs
 * @returns {Promise<CheckResult>}
 */
async function checkRuntime(endpoints, timeoutMs) {
  const credentials = endpoints.mesosCredentials;
  const leader = await findMesosLeader(endpoints.mesos, credentials, timeoutMs, endpoints.mesosTls);
  if (!leader.ok || !leader.base) return { ok: false, summary: `no leader to ask: ${leader.summary}` };
  const state = leader.state;
  /** @type {{ text: string, ok: boolean, settled: boolean }[]} */
  const parts = [];
  const fact = (/** @type {string} */ text) => parts.push({ text, ok: true, settled: true });
  // settled: a wrong value that was read, which waiting does not change (no retries);
  // else a call that failed or something not there yet (retried).
  const problem = (/** @type {string} */ text, settled = true) => parts.push({ text, ok: false, settled });

  // 1. The leader's flags: a command-line --registry=in_memory (the image's CMD) beats MESOS_REGISTRY.
  const flagsResponse = await request(`${leader.base}/flags`, { credentials, timeoutMs, tls: endpoints.mesosTls });
  refuseAuth(flagsResponse, "the Mesos master", credentials, { forbiddenIsAuth: true });
  if (flagsResponse.status !== 200) problem(`${leader.base}/flags answers HTTP ${flagsResponse.status}: ${messageOf(flagsResponse)}`, false);
  else {
    const flags = jsonOf(flagsResponse).flags ?? {};
    const masters = endpoints.mesos.length;
    const quorum = Math.floor(masters / 2) + 1;
    if (flags.registry === "replicated_log") fact("registry replicated_log");
    else problem(`master registry ${flags.registry ?? "(unset)"}, not replicated_log: the masters forget agents and frameworks when they restart (a --registry=in_memory on the command line, such as the image's CMD, beats MESOS_REGISTRY)`);
    if (String(flags.quorum ?? "") === String(quorum)) fact(`quorum ${quorum} of ${masters} master${masters === 1 ? "" : "s"}`);
    else problem(`quorum ${flags.quorum ?? "(unset)"}, expected ${quorum} for ${masters} master${masters === 1 ? "" : "s"}`);
    if (typeof flags.work_dir === "string" && flags.work_dir) fact(`work_dir ${flags.work_dir}`);
    else problem("master has no work_dir: the replicated log has nowhere to live");
  }

  // 2. Versions: Marathon 1.9+ sends UPDATE_FRAMEWORK, which a Mesos master before 1.9 drops.
  const mesosVersion = majorMinor(state.version);
  const marathonAnswers = await askEvery(endpoints.marathon, "/v2/info", { credentials: endpoints.marathonCredentials, tls: endpoints.marathonTls, timeoutMs: marathonTimeoutMs(timeoutMs) });
  /** @type {string[]} */
  const marathonVersions = [];
  for (const a of marathonAnswers) {
    if (a.fatal) throw a.fatal;
    if (a.response) refuseAuth(a.response, "Marathon", endpoints.marathonCredentials);
    if (a.response?.status === 200) {
      const version = jsonOf(a.response).version;
      if (typeof version === "string" && !marathonVersions.includes(version)) marathonVersions.push(version);
    }
  }
  if (!mesosVersion) problem(`the leader's state has no version (${JSON.stringify(state.version ?? null)})`);
  else if (endpoints.marathon.length === 0) fact(`Mesos ${state.version} (Marathon not asked)`);
  else if (marathonVersions.length === 0) problem(`Mesos ${state.version}; no Marathon instance tells its version on /v2/info`, false);
  else {
    const newer = marathonVersions.filter((v) => {
      const mm = majorMinor(v);
      return mm !== undefined && !older(mm, UPDATE_FRAMEWORK_SINCE);
    });
    if (newer.length > 0 && older(mesosVersion, UPDATE_FRAMEWORK_SINCE)) {
      problem(
        `Marathon ${newer.join(" / ")} on Mesos ${state.version}: Marathon 1.9+ suppresses/revives offers with UPDATE_FRAMEWORK, which Mesos added in 1.9 (MESOS-9793); this master drops it`,
      );
    } else fact(`Mesos ${state.version} with Marathon ${marathonVersions.join(" / ")}`);
  }

  // 3. Swarm's framework: without checkpointing an agent restart kills Swarm's containers.
  const swarm = endpoints.swarm !== undefined && endpoints.swarm.length > 0;
  const frameworks = Array.isArray(state.frameworks) ? state.frameworks : [];
  if (swarm) {
    const swarms = frameworks.filter((/** @type {any} */ f) => f.name === "swarm");
    const names = frameworks.map((/** @type {any} */ f) => f.name).join(", ") || "none";
    if (swarms.length === 0) problem(`no framework named swarm is registered (frameworks: ${names}): the Swarm manager is not connected to Mesos`, false);
    else if (swarms.some((/** @type {any} */ f) => f.checkpoint !== true)) {
      problem("swarm framework checkpoint false: an agent restart kills Swarm's containers (swarm manage needs --cluster-opt mesos.checkpointfailover=true)");
    } else fact("swarm framework checkpoint true");
  } else fact("Swarm not checked (no Swarm endpoint)");

  // 4. Every registered agent and, with Swarm, its engine.
  const slaves = Array.isArray(state.slaves) ? state.slaves : [];
  const agents = await mapLimited(slaves, AGENT_CONCURRENCY, (/** @type {any} */ s) => checkAgent(s, { credentials, timeoutMs, swarm }));
  const checked = agents.filter((a) => a.unreachable === undefined && a.locked === undefined);
  const values = [
    `docker_mesos_image ${distinct(agents.map((a) => a.image))}`,
    `containerizers ${distinct(agents.map((a) => a.containerizers))}`,
    ...(swarm ? [`engine MinAPIVersion ${distinct(agents.map((a) => a.minApi))}`] : []),
  ];
  const unreachable = agents.flatMap((a) => (a.unreachable === undefined ? [] : [a.unreachable]));
  const unreachableText = unreachable.length > 0 ? `, ${unreachable.length} unreachable: ${someOf(unreachable)} ${UNREACHABLE} ${unreachable.length === 1 ? "it" : "them"})` : "";
  // The same wrong fact on many agents is said once, naming them.
  /** @type {Map<string, { why: string, agents: string[] }>} */
  const byFact = new Map();
  const agentsSettled = agents.every((a) => a.problems.every((p) => p.settled));
  for (const a of agents) {
    for (const p of a.problems) {
      const entry = byFact.get(p.what) ?? { why: p.why, agents: [] };
      entry.agents.push(a.who);
      byFact.set(p.what, entry);
    }
  }
  const agentProblems = [...byFact].map(([what, { why, agents: names }]) => `${what} on agent${names.length === 1 ? "" : "s"} ${someOf(names)}${why ? `: ${why}` : ""}`);
  const locked = agents.flatMap((a) => (a.locked === undefined ? [] : [a.locked]));
  const lockedText = locked.length > 0 ? `, ${locked.length} with HTTP authentication (their /flags need each agent's own credential, root-only on the agent): ${someOf(locked)}` : "";
  const agentText = `${checked.length} of ${agents.length} agent${agents.length === 1 ? "" : "s"} checked (${values.join(", ")})${unreachableText}${lockedText}`;
  if (agentProblems.length > 0) problem(`${agentProblems.join("; ")}; ${agentText}`, agentsSettled);
  else fact(agentText);

  const ok = parts.every((p) => p.ok);
  return { ok, summary: parts.map((p) => p.text).join("; "), ...(ok || !parts.every((p) => p.settled) ? {} : { fatal: true }) };
}

/**
 * The checks of a cluster in the order they are run; a check whose
 * endpoints are not given is left out.
 * @param {ClusterEndpoints} endpoints
 * @returns {ClusterCheck[]}
 */
function clusterChecks(endpoints) {
  const timeoutMs = endpoints.requestTimeoutMs ?? 5000;
  const mesosCredentials = endpoints.mesosCredentials;
  const marathonCredentials = endpoints.marathonCredentials;
  const mesosTls = endpoints.mesosTls;
  const marathonTls = endpoints.marathonTls;
  /** @type {ClusterCheck[]} */
  const checks = [];
  const zookeeper = endpoints.zookeeper;
  if (zookeeper && zookeeper.length > 0) {
    checks.push({ name: "zookeeper", title: "ZooKeeper ruok/srvr on every member, one leader", run: () => guarded(() => checkZookeeper(zookeeper, timeoutMs)) });
  }
  checks.push(
    {
      name: "mesos-health",
      title: "Mesos /master/health on every master",
      run: () =>
        guarded(async () => {
          const answers = await askEvery(endpoints.mesos, "/master/health", { credentials: mesosCredentials, tls: mesosTls, timeoutMs });
          const fatal = answers.find((a) => a.fatal)?.fatal;
          if (fatal) throw fatal;
          const bad = answers.filter((a) => a.response?.status !== 200).map((a) => (a.response ? `${a.base} answers HTTP ${a.response.status}` : `${a.base} does not answer (${a.error})`));
          return bad.length ? { ok: false, summary: bad.join("; ") } : { ok: true, summary: `${answers.length} of ${answers.length} masters healthy` };
        }),
    },
    { name: "mesos-leader", title: "Mesos leading master", run: () => guarded(() => findMesosLeader(endpoints.mesos, mesosCredentials, timeoutMs, mesosTls)) },
    {
      name: "mesos-agents",
      title: "Mesos agents registered = pool size",
      run: () =>
        guarded(async () => {
          const leader = await findMesosLeader(endpoints.mesos, mesosCredentials, timeoutMs, mesosTls);
          return leader.ok ? agentsResult(leader.state, endpoints.expectedAgents) : { ok: false, summary: `no leader to ask: ${leader.summary}` };
        }),
    },
    { name: "marathon-leader", title: "Marathon /v2/info leader on every instance", run: () => guarded(() => checkMarathonLeader(endpoints.marathon, marathonCredentials, timeoutMs, marathonTls)) },
    {
      name: "marathon-apps",
      title: "Marathon /v2/apps reachable",
      run: () =>
        guarded(async () => {
          const target = { servers: endpoints.marathon, credentials: marathonCredentials, tls: marathonTls, requestTimeoutMs: timeoutMs };
          const { base } = await pickMarathon(target);
          const response = await request(`${base}/v2/apps`, { credentials: marathonCredentials, tls: marathonTls, timeoutMs: marathonTimeoutMs(timeoutMs) });
          refuseAuth(response, "Marathon", marathonCredentials);
          const apps = response.status === 200 ? jsonOf(response).apps : undefined;
          if (!Array.isArray(apps)) return { ok: false, summary: `${base}/v2/apps answers HTTP ${response.status}: ${messageOf(response)}` };
          return { ok: true, summary: `${apps.length} app${apps.length === 1 ? "" : "s"} on ${base}` };
        }),
    },
  );
  const swarm = endpoints.swarm;
  if (swarm && swarm.length > 0) {
    const window = { windowMs: endpoints.swarmOfferWindowMs, pollMs: endpoints.swarmOfferPollMs, deadline: endpoints.deadline };
    checks.push({
      name: "swarm",
      title: "Swarm /info: primary manager with Mesos offers (within a window)",
      run: () => guarded(() => checkSwarm(swarm, endpoints.expectedAgents, timeoutMs, endpoints.swarmTls, window)),
    });
  }
  if (endpoints.checkRuntime) {
    checks.push({
      name: "runtime",
      title: "runtime facts: master /flags, Mesos/Marathon versions, Swarm's framework, agents' /flags and engines' /version",
      run: () => guarded(() => checkRuntime(endpoints, timeoutMs)),
    });
  }
  return checks;
}

/**
 * Runs a check until it passes, fails fatally, or runs out of attempts or time.
 * @param {() => Promise<CheckResult>} run
 * @param {{ attempts?: number, deadline?: number, intervalMs: number, onRetry?: (result: CheckResult, attempt: number) => void }} options
 * @returns {Promise<CheckResult & { attempts: number }>}
 */
async function retryCheck(run, options) {
  for (let attempt = 1; ; attempt++) {
    const result = await run();
    const outOfAttempts = options.attempts !== undefined && attempt >= options.attempts;
    const outOfTime = options.deadline !== undefined && Date.now() + options.intervalMs > options.deadline;
    if (result.ok || result.fatal || outOfAttempts || outOfTime) return { ...result, attempts: attempt };
    options.onRetry?.(result, attempt);
    await sleep(options.intervalMs);
  }
}

module.exports = { SWARM_OFFER_WINDOW_MS, fourLetterWord, checkZookeeper, findMesosLeader, checkMarathonLeader, checkSwarm, checkRuntime, clusterChecks, retryCheck };
