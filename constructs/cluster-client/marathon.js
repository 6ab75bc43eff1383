"use strict";
/**
 * Marathon's v2 REST API as the deploying machine uses it: create or update
 * an app (`PUT /v2/apps/{id}`), wait until its deployment leaves
 * `GET /v2/deployments`, delete it (`DELETE /v2/apps/{id}`).
 *
 * Every call goes to an instance that answers `GET /v2/info` with 200 (any
 * instance proxies to the leader); while none does (booting, no leader yet:
 * Marathon holds the request about 2.75 s, then answers 502) calls are
 * retried until the deadline. Credentials that Marathon refuses (401) fail
 * at once: retrying cannot fix them. A 403 is not about credentials: it is
 * Marathon refusing a new deployment while `--max_running_deployments` run,
 * which is waited out like a lock.
 *
 * Upstream semantics this relies on (mesosphere/marathon v1.8.244):
 * - api/LeaderProxyFilter.scala: a non-leader proxies every path to the
 *   leader; with no leader it waits for consistent leadership (11 x 250 ms)
 *   and answers 502 "Could not determine the current leader".
 * - api/HttpModule.scala: `--http_credentials` is Jetty basic auth (realm
 *   `--http_realm`, default "Mesosphere"): 401 with an HTML error page.
 * - api/MarathonExceptionMapper.scala: 409 AppLockedException (with the
 *   locking deployments), 403 TooManyRunningDeploymentsException, 422
 *   validation failures, 415 from Jersey for a body that is not JSON.
 * - api/v2/AppsResource.scala: PUT has `force=false` by default (a locked app
 *   answers 409); DELETE has `force=true` by default and cancels the
 *   deployments that hold the app instead of answering 409.
 */
const { ClusterApiError, request, jsonOf, messageOf, refuseAuth, sleep } = require("./http");

/**
 * @typedef {object} MarathonTarget
 * @property {string[][]} servers Marathon instances, each a list of alternative base URLs
 * @property {import("./http").Credentials} [credentials]
 * @property {import("./http").TlsMaterial} [tls] the CA of Marathon's https URLs (behind the masters' TLS proxy)
 * @property {number} [requestTimeoutMs] per request (default 5000)
 */
/**
 * @typedef {object} Schedule
 * @property {number} deadline epoch milliseconds after which waiting fails
 * @property {number} pollMs pause between polls
 * @property {(line: string) => void} log progress output
 */

/**
 * How long Marathon holds a request while it has no leader before answering
 * 502 (LeaderProxyFilter.waitForConsistentLeadership: 11 sleeps of 250 ms).
 */
const MARATHON_NO_LEADER_WAIT_MS = 2750;

/**
 * The request timeout for Marathon: the given one, but never below the no-leader
 * wait plus a margin, so that a leaderless Marathon is reported by its 502 and
 * not as "no answer".
 * @param {number | undefined} requestTimeoutMs
 */
function marathonTimeoutMs(requestTimeoutMs) {
  return Math.max(requestTimeoutMs ?? 5000, MARATHON_NO_LEADER_WAIT_MS + 1250);
}

/**
 * The first instance (of any server, any alternative address) whose
 * `GET /v2/info` answers 200.
 * @param {MarathonTarget} target
 * @returns {Promise<{ base: string, info: any }>}
 */
function pickMarathon(target) {
  const bases = target.servers.flat();
  return new Promise((resolve, reject) => {
    /** @type {string[]} */
    const problems = [];
    let pending = bases.length;
    if (pending === 0) reject(new ClusterApiError("no Marathon URL given", "unreachable"));
    /** @param {string} problem */
    const miss = (problem) => {
      problems.push(problem);
      pending -= 1;
      if (pending === 0) reject(new ClusterApiError(`no Marathon instance answers: ${problems.join("; ")}`, "unreachable"));
    };
    for (const base of bases) {
      request(`${base}/v2/info`, { credentials: target.credentials, tls: target.tls, timeoutMs: marathonTimeoutMs(target.requestTimeoutMs) }).then(
        (res) => {
          try {
            refuseAuth(res, "Marathon", target.credentials);
            if (res.status === 200) resolve({ base, info: jsonOf(res) });
            else miss(`${base}: HTTP ${res.status} ${messageOf(res)}`);
          } catch (e) {
            reject(e);
          }
        },
        // A certificate the CA does not vouch for, or a plain http URL refused, ends the wait: retrying cannot help.
        (/** @type {Error} */ e) => (e instanceof ClusterApiError && e.kind === "tls" ? reject(e) : miss(e.message)),
      );
    }
  });
}

/** `/web/nginx` -> `/v2/apps/web/nginx`. @param {string} appId */
function appPath(appId) {
  return `/v2/apps/${appId.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/")}`;
}

/** @param {number} startedAt */
function elapsed(startedAt) {
  return `${Math.round((Date.now() - startedAt) / 1000)} s`;
}

/**
 * Sends one changing call (PUT or DELETE of an app), retrying while Marathon
 * is unreachable, leaderless (502/503), the app is locked by another
 * deployment (409, PUT only: DELETE is forced) or Marathon runs as many
 * deployments as it may (403 TooManyRunningDeploymentsException).
 *
 * PUT keeps Marathon's `force=false`: an update never cancels a deployment in
 * flight, it waits for it. DELETE sends `force=true`, Marathon's own default
 * for DELETE (AppsResource.delete `@DefaultValue("true")`), spelled out: a
 * destroy cancels a deployment that holds the app (one stuck waiting for
 * offers or health) and stops the tasks.
 * @param {MarathonTarget} target
 * @param {"PUT" | "DELETE"} method
 * @param {string} appId
 * @param {string | undefined} body
 * @param {Schedule} schedule
 * @returns {Promise<{ base: string, response: import("./http").HttpResponse }>}
 */
async function changeApp(target, method, appId, body, schedule) {
  const startedAt = Date.now();
  const path = method === "PUT" ? `${appPath(appId)}?partialUpdate=false` : `${appPath(appId)}?force=true`;
  let lastProblem = "";
  for (;;) {
    if (Date.now() > schedule.deadline) {
      throw new ClusterApiError(`${method} ${appId}: Marathon did not take the change within ${elapsed(startedAt)}: ${lastProblem}`, "unreachable");
    }
    let problem;
    try {
      const { base } = await pickMarathon(target);
      const response = await request(base + path, { method, body, credentials: target.credentials, tls: target.tls, timeoutMs: marathonTimeoutMs(target.requestTimeoutMs) });
      refuseAuth(response, "Marathon", target.credentials);
      if ([200, 201, 404].includes(response.status)) return { base, response };
      if (response.status === 400 || response.status === 415 || response.status === 422) {
        throw new ClusterApiError(`Marathon at ${base} refused the definition of ${appId} (HTTP ${response.status}): ${messageOf(response)}`, "status", response.status);
      }
      if (response.status !== 403 && response.status !== 409 && response.status < 500) {
        throw new ClusterApiError(`${method} ${base}${path} answered HTTP ${response.status}: ${messageOf(response)}`, "status", response.status);
      }
      problem =
        response.status === 409
          ? `${appId} is locked by deployment ${lockingDeployments(response)}; waiting for it to finish`
          : response.status === 403
            ? `Marathon at ${base} takes no new deployment now (HTTP 403: ${messageOf(response)}); waiting for running deployments to finish`
            : `${base} answered HTTP ${response.status}: ${messageOf(response)}`;
    } catch (e) {
      if (!(e instanceof ClusterApiError) || e.kind !== "unreachable") throw e;
      problem = e.message;
    }
    if (problem !== lastProblem) schedule.log(`${method} ${appId}: ${problem} (retrying every ${schedule.pollMs / 1000} s)`);
    lastProblem = problem;
    await sleep(schedule.pollMs);
  }
}

/** @param {import("./http").HttpResponse} response */
function lockingDeployments(response) {
  try {
    const ids = (JSON.parse(response.body).deployments ?? []).map((/** @type {{id: string}} */ d) => d.id);
    if (ids.length > 0) return ids.join(", ");
  } catch {
    // fall through
  }
  return "(unnamed)";
}

/** @param {any} deployment */
function describeDeployment(deployment) {
  const actions = (deployment.currentActions ?? []).map((/** @type {any} */ a) => `${a.action} ${a.app ?? a.pod ?? ""}`.trim());
  return `step ${deployment.currentStep} of ${deployment.totalSteps}${actions.length ? `: ${actions.join(", ")}` : ""}`;
}

/**
 * Waits until the deployment is no longer listed by `GET /v2/deployments`
 * (Marathon removes a deployment from the list when it has finished).
 * @param {MarathonTarget} target
 * @param {string} deploymentId
 * @param {string} what e.g. "deployment of /web"
 * @param {Schedule} schedule
 */
async function waitForDeployment(target, deploymentId, what, schedule) {
  const startedAt = Date.now();
  let lastState = "";
  let lastLogAt = 0;
  for (;;) {
    let state;
    try {
      const { base } = await pickMarathon(target);
      const response = await request(`${base}/v2/deployments`, { credentials: target.credentials, tls: target.tls, timeoutMs: marathonTimeoutMs(target.requestTimeoutMs) });
      refuseAuth(response, "Marathon", target.credentials);
      if (response.status !== 200) throw new ClusterApiError(`${base}/v2/deployments answered HTTP ${response.status}: ${messageOf(response)}`, "unreachable");
      const deployments = jsonOf(response);
      if (!Array.isArray(deployments)) throw new ClusterApiError(`${base}/v2/deployments did not answer a list`, "protocol");
      const mine = deployments.find((d) => d && d.id === deploymentId);
      if (!mine) {
        schedule.log(`${what}: deployment ${deploymentId} finished after ${elapsed(startedAt)}`);
        return;
      }
      state = describeDeployment(mine);
    } catch (e) {
      if (!(e instanceof ClusterApiError) || e.kind !== "unreachable") throw e;
      state = e.message;
    }
    if (Date.now() > schedule.deadline) {
      throw new ClusterApiError(
        `${what}: deployment ${deploymentId} did not finish within ${elapsed(startedAt)} (${state}). Marathon keeps trying; see GET /v2/deployments`,
        "unreachable",
      );
    }
    // One line when something changes, and a heartbeat every 30 s: Terraform shows each line.
    if (state !== lastState || Date.now() - lastLogAt > 30000) {
      schedule.log(`${what}: waiting for deployment ${deploymentId} (${state})`);
      lastState = state;
      lastLogAt = Date.now();
    }
    await sleep(schedule.pollMs);
  }
}

/**
 * Creates or replaces an app (`PUT /v2/apps/{id}?partialUpdate=false`, so a
 * field removed from the definition is removed in Marathon too) and waits
 * for its deployment.
 * @param {MarathonTarget} target
 * @param {string} appId
 * @param {string} definitionJson
 * @param {Schedule} schedule
 * @returns {Promise<{ deploymentId: string, created: boolean }>}
 */
async function putApp(target, appId, definitionJson, schedule) {
  const { base, response } = await changeApp(target, "PUT", appId, definitionJson, schedule);
  if (response.status === 404) throw new ClusterApiError(`PUT ${base}${appPath(appId)} answered 404: ${messageOf(response)}`, "status", 404);
  const result = jsonOf(response);
  if (typeof result.deploymentId !== "string") throw new ClusterApiError(`${base} answered the PUT of ${appId} without a deploymentId`, "protocol");
  const created = response.status === 201;
  schedule.log(`${created ? "created" : "updated"} ${appId} on ${base} (deployment ${result.deploymentId}, version ${result.version})`);
  await waitForDeployment(target, result.deploymentId, `${created ? "creation" : "update"} of ${appId}`, schedule);
  return { deploymentId: result.deploymentId, created };
}

/**
 * Deletes an app and waits for its deployment; an app that does not exist
 * counts as deleted. The DELETE is forced (Marathon's default for it): a
 * deployment holding the app, even one that never finishes, is cancelled and
 * replaced by the deletion's, which only stops tasks.
 * @param {MarathonTarget} target
 * @param {string} appId
 * @param {Schedule} schedule
 * @returns {Promise<{ deleted: boolean }>}
 */
async function deleteApp(target, appId, schedule) {
  const { base, response } = await changeApp(target, "DELETE", appId, undefined, schedule);
  if (response.status === 404) {
    schedule.log(`${appId} does not exist on ${base}: nothing to delete`);
    return { deleted: false };
  }
  const result = jsonOf(response);
  schedule.log(`deleting ${appId} on ${base} (deployment ${result.deploymentId})`);
  await waitForDeployment(target, result.deploymentId, `deletion of ${appId}`, schedule);
  return { deleted: true };
}

/**
 * Waits until `GET /v2/apps/{id}` reports at least `instances` running tasks.
 * @param {MarathonTarget} target
 * @param {string} appId
 * @param {number} instances
 * @param {Schedule} schedule
 * @returns {Promise<{ tasksRunning: number }>}
 */
async function waitForRunningTasks(target, appId, instances, schedule) {
  const startedAt = Date.now();
  let last = "";
  for (;;) {
    try {
      const { base } = await pickMarathon(target);
      const response = await request(base + appPath(appId), { credentials: target.credentials, tls: target.tls, timeoutMs: marathonTimeoutMs(target.requestTimeoutMs) });
      refuseAuth(response, "Marathon", target.credentials);
      if (response.status === 200) {
        const app = jsonOf(response).app ?? {};
        const running = Number(app.tasksRunning ?? 0);
        if (running >= instances) return { tasksRunning: running };
        last = `${running} of ${instances} tasks running (${Number(app.tasksStaged ?? 0)} staged)`;
      } else {
        last = `HTTP ${response.status}: ${messageOf(response)}`;
      }
    } catch (e) {
      if (!(e instanceof ClusterApiError) || e.kind !== "unreachable") throw e;
      last = e.message;
    }
    if (Date.now() > schedule.deadline) throw new ClusterApiError(`${appId}: not running within ${elapsed(startedAt)}: ${last}`, "unreachable");
    await sleep(schedule.pollMs);
  }
}

module.exports = { MARATHON_NO_LEADER_WAIT_MS, marathonTimeoutMs, pickMarathon, appPath, putApp, deleteApp, waitForDeployment, waitForRunningTasks };
