"use strict";
/**
 * The checks that say a cluster can take work, shared by the readiness gate
 * (`cli.js wait-ready`, run by Terraform) and `npm run smoke`:
 *
 * - zookeeper: `ruok` answers `imok` and `srvr` names a mode on every member;
 *   an ensemble has exactly one leader, a single member is standalone;
 * - mesos-health: `GET /master/health` is 200 on every master;
 * - mesos-leader: exactly one master serves `GET /master/state` as the leader
 *   (its `leader` is its own `pid`), the others redirect to it (307);
 * - mesos-agents: the leader's `activated_slaves` equals the pool size;
 * - marathon-leader: `GET /v2/info` on every instance names the same leader;
 * - marathon-apps: `GET /v2/apps` answers a list;
 * - swarm: classic Swarm's `GET /info` says Role primary and, when the
 *   cluster has agents, that Mesos offers it resources (`Offers` row).
 *
 * A check never throws: it answers { ok, summary }, and `fatal` when waiting
 * cannot help (credentials refused).
 */
const net = require("net");
const { ClusterApiError, request, jsonOf, messageOf, refuseAuth, firstAnswer, sleep } = require("./http");
const { pickMarathon } = require("./marathon");

/** @typedef {import("./http").Credentials} Credentials */
/** @typedef {{ ok: boolean, summary: string, fatal?: boolean }} CheckResult */
/**
 * @typedef {object} ClusterEndpoints
 * @property {string[][]} [zookeeper] members as alternative `host:port` lists; omitted: the check is skipped
 * @property {string[][]} mesos masters as alternative base URLs
 * @property {string[][]} marathon Marathon instances as alternative base URLs
 * @property {string[]} [swarm] the Swarm manager's alternative base URLs; omitted: skipped
 * @property {import("./http").TlsMaterial} [swarmTls] client certificate for a Swarm API behind mutual TLS (https URLs)
 * @property {number} expectedAgents Mesos agents that must be registered
 * @property {Credentials} [mesosCredentials]
 * @property {Credentials} [marathonCredentials]
 * @property {number} [requestTimeoutMs] per request or ZooKeeper command (default 5000)
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

/**
 * One member's state: `ruok` then `srvr` on the first alternative that answers.
 * @param {string[]} alternatives
 * @param {number} timeoutMs
 * @returns {Promise<{ address: string, mode?: string, problem?: string }>}
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
 * @param {string[][]} members
 * @param {number} timeoutMs
 * @returns {Promise<CheckResult>}
 */
async function checkZookeeper(members, timeoutMs) {
  const states = await Promise.all(members.map((m) => zookeeperMember(m, timeoutMs)));
  const serving = states.filter((s) => s.mode);
  const leaders = serving.filter((s) => s.mode === "leader");
  const problems = states.filter((s) => s.problem).map((s) => `${s.address} ${s.problem}`);
  if (members.length === 1) {
    const [only] = states;
    if (only.mode === "standalone") return { ok: true, summary: `standalone member ${only.address} serves` };
    return { ok: false, summary: only.problem ? `${only.address} ${only.problem}` : `${only.address} runs in mode ${only.mode}, expected standalone` };
  }
  const leaderText = leaders.length === 1 ? `leader ${leaders[0].address}` : leaders.length === 0 ? "no leader" : `${leaders.length} leaders (${leaders.map((l) => l.address).join(", ")})`;
  if (problems.length === 0 && leaders.length === 1) {
    return { ok: true, summary: `${serving.length} of ${members.length} members serve; ${leaderText}, ${serving.length - 1} followers` };
  }
  return { ok: false, summary: `${[...problems, leaders.length !== 1 ? leaderText : ""].filter(Boolean).join("; ")}; ${serving.length} of ${members.length} members serve${leaders.length === 1 ? ` with ${leaderText}` : ""}` };
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
    return { ok: false, summary: error.message, fatal: error instanceof ClusterApiError && error.kind === "auth" };
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
        return { base: alternatives[0], response: undefined, error: /** @type {Error} */ (e).message };
      }
    }),
  );
}

/** `master@10.0.0.1:5050` -> `10.0.0.1:5050`. @param {unknown} pid */
function pidAddress(pid) {
  return typeof pid === "string" ? pid.replace(/^[^@]*@/, "") : "";
}

/**
 * Finds the leading Mesos master: the one master that answers
 * `/master/state` itself; the others redirect to it (307) or, without a
 * leader, answer 503.
 * @param {string[][]} servers
 * @param {Credentials | undefined} credentials
 * @param {number} timeoutMs
 * @returns {Promise<CheckResult & { state?: any }>}
 */
async function findMesosLeader(servers, credentials, timeoutMs) {
  const answers = await askEvery(servers, "/master/state", { credentials, timeoutMs });
  /** @type {{ base: string, state: any }[]} */
  const leaders = [];
  /** @type {string[]} */
  const redirects = [];
  /** @type {string[]} */
  const problems = [];
  for (const a of answers) {
    if (!a.response) {
      problems.push(`${a.base} does not answer (${a.error})`);
      continue;
    }
    refuseAuth(a.response, "the Mesos master", credentials);
    if (a.response.status === 200) leaders.push({ base: a.base, state: jsonOf(a.response) });
    else if (a.response.status === 307) redirects.push(new URL(String(a.response.headers.location ?? ""), "http://redirect.invalid").host);
    else problems.push(`${a.base} answers HTTP ${a.response.status}: ${messageOf(a.response)}`);
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
  const strays = redirects.filter((host) => host !== leaderAddress);
  if (strays.length > 0) return { ok: false, summary: `masters disagree: ${base} leads as ${leaderAddress}, others redirect to ${strays.join(", ")}` };
  const others = redirects.length ? `, ${redirects.length} other${redirects.length > 1 ? "s" : ""} redirect to it` : "";
  const down = problems.length ? `; ${problems.join("; ")}` : "";
  return { ok: true, summary: `leader ${state.leader}${others}${down}`, state };
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
 * @returns {Promise<CheckResult>}
 */
async function checkMarathonLeader(servers, credentials, timeoutMs) {
  const answers = await askEvery(servers, "/v2/info", { credentials, timeoutMs });
  const leaders = new Set();
  /** @type {string[]} */
  const problems = [];
  for (const a of answers) {
    if (!a.response) {
      problems.push(`${a.base} does not answer (${a.error})`);
      continue;
    }
    refuseAuth(a.response, "Marathon", credentials);
    if (a.response.status !== 200) {
      problems.push(`${a.base} answers HTTP ${a.response.status}: ${messageOf(a.response)}`);
      continue;
    }
    const info = jsonOf(a.response);
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
 * @param {string[]} alternatives
 * @param {number} expectedAgents
 * @param {number} timeoutMs
 * @param {import("./http").TlsMaterial} [tls]
 * @returns {Promise<CheckResult>}
 */
async function checkSwarm(alternatives, expectedAgents, timeoutMs, tls) {
  const { alternative, value: response } = await firstAnswer(alternatives, (base) => request(`${base}/info`, { timeoutMs, tls }));
  if (response.status !== 200) return { ok: false, summary: `${alternative}/info answers HTTP ${response.status}: ${messageOf(response)}` };
  const status = swarmStatus(jsonOf(response));
  const role = status.get("Role");
  const offers = Number(status.get("Offers") ?? NaN);
  if (role !== undefined && role !== "primary") return { ok: false, summary: `${alternative} is a ${role}, not the primary manager` };
  if (Number.isNaN(offers)) return { ok: false, summary: `${alternative}/info has no Offers row: not a Swarm manager on Mesos` };
  if (expectedAgents > 0 && offers === 0) return { ok: false, summary: `Swarm holds no Mesos offers (${expectedAgents} agents expected)` };
  return { ok: true, summary: `${role ?? "manager"}, ${offers} Mesos offer${offers === 1 ? "" : "s"}` };
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
          const answers = await askEvery(endpoints.mesos, "/master/health", { credentials: mesosCredentials, timeoutMs });
          const bad = answers.filter((a) => a.response?.status !== 200).map((a) => (a.response ? `${a.base} answers HTTP ${a.response.status}` : `${a.base} does not answer (${a.error})`));
          return bad.length ? { ok: false, summary: bad.join("; ") } : { ok: true, summary: `${answers.length} of ${answers.length} masters healthy` };
        }),
    },
    { name: "mesos-leader", title: "Mesos leading master", run: () => guarded(() => findMesosLeader(endpoints.mesos, mesosCredentials, timeoutMs)) },
    {
      name: "mesos-agents",
      title: "Mesos agents registered = pool size",
      run: () =>
        guarded(async () => {
          const leader = await findMesosLeader(endpoints.mesos, mesosCredentials, timeoutMs);
          return leader.ok ? agentsResult(leader.state, endpoints.expectedAgents) : { ok: false, summary: `no leader to ask: ${leader.summary}` };
        }),
    },
    { name: "marathon-leader", title: "Marathon /v2/info leader on every instance", run: () => guarded(() => checkMarathonLeader(endpoints.marathon, marathonCredentials, timeoutMs)) },
    {
      name: "marathon-apps",
      title: "Marathon /v2/apps reachable",
      run: () =>
        guarded(async () => {
          const target = { servers: endpoints.marathon, credentials: marathonCredentials, requestTimeoutMs: timeoutMs };
          const { base } = await pickMarathon(target);
          const response = await request(`${base}/v2/apps`, { credentials: marathonCredentials, timeoutMs });
          refuseAuth(response, "Marathon", marathonCredentials);
          const apps = response.status === 200 ? jsonOf(response).apps : undefined;
          if (!Array.isArray(apps)) return { ok: false, summary: `${base}/v2/apps answers HTTP ${response.status}: ${messageOf(response)}` };
          return { ok: true, summary: `${apps.length} app${apps.length === 1 ? "" : "s"} on ${base}` };
        }),
    },
  );
  const swarm = endpoints.swarm;
  if (swarm && swarm.length > 0) {
    checks.push({ name: "swarm", title: "Swarm /info: primary manager with Mesos offers", run: () => guarded(() => checkSwarm(swarm, endpoints.expectedAgents, timeoutMs, endpoints.swarmTls)) });
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

module.exports = { fourLetterWord, checkZookeeper, findMesosLeader, checkMarathonLeader, checkSwarm, clusterChecks, retryCheck };
