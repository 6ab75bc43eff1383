#!/usr/bin/env node
"use strict";
/**
 * What Terraform runs on the deploying machine for MarathonApp and
 * ClusterReadinessGate (local-exec, interpreter `node`, from the stack's
 * directory where cdktf copied this folder as an asset):
 *
 *   node cli.js put-app      create or update MARATHON_APP_ID from MARATHON_APP_DEFINITION, wait for the deployment
 *   node cli.js delete-app   delete MARATHON_APP_ID, wait for the deployment (CLUSTER_SKIP_APP_DELETE=1 skips)
 *   node cli.js wait-ready   wait until the cluster checks of checks.js pass
 *
 * Everything comes from the environment, secrets included (never from the
 * command line, which Terraform prints); nothing here prints a password.
 *
 *   MARATHON_URLS, MESOS_URLS     servers separated by ",", a server's alternative base URLs by "|"
 *   SWARM_URLS                    alternative base URLs of the Swarm manager ("|"); empty: not checked
 *   SWARM_TLS_CA, SWARM_TLS_CERT, SWARM_TLS_KEY
 *                                 PEM texts of the client certificate for a Swarm API behind mutual TLS
 *   MESOS_TLS_CA, MARATHON_TLS_CA PEM text of the CA of the service's https URLs (the masters' TLS proxy); with
 *                                 one set, a plain http URL of that service (but to loopback) is refused
 *   ZOOKEEPER_MEMBERS             members' alternative host:port ("|") separated by ","; empty: not checked
 *   MARATHON_USERNAME/_PASSWORD, MESOS_USERNAME/_PASSWORD   basic auth; an empty user name means none
 *   MARATHON_APP_ID, MARATHON_APP_DEFINITION (JSON), MARATHON_APP_DEFINITION_SHA256 (checked when set)
 *   MESOS_EXPECTED_AGENTS         agents that must be registered (wait-ready)
 *   CLUSTER_CLIENT_TIMEOUT_SECONDS, CLUSTER_CLIENT_POLL_SECONDS, CLUSTER_CLIENT_REQUEST_TIMEOUT_SECONDS
 *
 * Exit status: 0 done, 1 failed (the reason on stderr), 2 misused.
 */
const { createHash } = require("crypto");
const { clearTextTarget, parseServers } = require("./http");
const { putApp, deleteApp } = require("./marathon");
const { clusterChecks } = require("./checks");

class UsageError extends Error {}

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} name
 */
function required(env, name) {
  const value = env[name];
  if (value === undefined || value === "") throw new UsageError(`${name} is not set`);
  return value;
}

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} name
 * @param {number} fallback
 */
function seconds(env, name, fallback) {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${name} must be a positive number of seconds, not ${JSON.stringify(text)}`);
  return value;
}

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {"MARATHON" | "MESOS"} service
 * @returns {import("./http").Credentials | undefined}
 */
function credentialsFrom(env, service) {
  const username = env[`${service}_USERNAME`];
  if (!username) return undefined;
  return { username, password: env[`${service}_PASSWORD`] ?? "" };
}

/**
 * The Swarm API's client certificate, all three PEMs or none.
 * @param {NodeJS.ProcessEnv} env
 * @returns {import("./http").TlsMaterial | undefined}
 */
function swarmTlsFrom(env) {
  const names = ["SWARM_TLS_CA", "SWARM_TLS_CERT", "SWARM_TLS_KEY"];
  const given = names.filter((n) => env[n]);
  if (given.length === 0) return undefined;
  if (given.length !== names.length) throw new UsageError(`give all of ${names.join(", ")} or none (given: ${given.join(", ")})`);
  return { ca: env.SWARM_TLS_CA ?? "", cert: env.SWARM_TLS_CERT ?? "", key: env.SWARM_TLS_KEY ?? "" };
}

/**
 * The CA of a service's https URLs (server authentication only), and the
 * servers checked against it: with a CA, a plain http URL to anything but
 * loopback is a usage error, before any request carries credentials.
 * @param {NodeJS.ProcessEnv} env
 * @param {"MARATHON" | "MESOS"} service
 * @param {string[][]} servers
 * @returns {import("./http").TlsMaterial | undefined}
 */
function serviceTlsFrom(env, service, servers) {
  const ca = env[`${service}_TLS_CA`];
  if (!ca) return undefined;
  const plain = servers.flat().find((url) => clearTextTarget(url));
  if (plain) throw new UsageError(`${service}_URLS has ${plain}, plain http, while ${service}_TLS_CA is set: the service has TLS, and its credentials must not travel in clear text (use its https URL)`);
  return { ca };
}

/** @param {string} prefix */
function logger(prefix) {
  return (/** @type {string} */ line) => process.stdout.write(`${prefix}: ${line}\n`);
}

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {number} defaultTimeoutSeconds
 */
function timing(env, defaultTimeoutSeconds) {
  const timeoutSeconds = seconds(env, "CLUSTER_CLIENT_TIMEOUT_SECONDS", defaultTimeoutSeconds);
  return {
    timeoutSeconds,
    deadline: Date.now() + timeoutSeconds * 1000,
    pollMs: seconds(env, "CLUSTER_CLIENT_POLL_SECONDS", 5) * 1000,
    requestTimeoutMs: seconds(env, "CLUSTER_CLIENT_REQUEST_TIMEOUT_SECONDS", 5) * 1000,
  };
}

/** @param {NodeJS.ProcessEnv} env */
function marathonTarget(env) {
  const servers = parseServers(required(env, "MARATHON_URLS"));
  return { servers, credentials: credentialsFrom(env, "MARATHON"), tls: serviceTlsFrom(env, "MARATHON", servers), requestTimeoutMs: timing(env, 900).requestTimeoutMs };
}

/** @type {Record<string, (env: NodeJS.ProcessEnv) => Promise<void>>} */
const ACTIONS = {
  async "put-app"(env) {
    const appId = required(env, "MARATHON_APP_ID");
    const definition = required(env, "MARATHON_APP_DEFINITION");
    const log = logger(`marathon-app ${appId}`);
    const sha256 = createHash("sha256").update(definition).digest("hex");
    const expected = env.MARATHON_APP_DEFINITION_SHA256;
    if (expected && expected !== sha256) throw new Error(`the definition's sha256 is ${sha256}, not the ${expected} Terraform recorded`);
    let parsed;
    try {
      parsed = JSON.parse(definition);
    } catch (e) {
      throw new Error(`MARATHON_APP_DEFINITION is not JSON: ${/** @type {Error} */ (e).message}`);
    }
    if (parsed.id !== appId) throw new Error(`the definition's id ${JSON.stringify(parsed.id)} is not ${appId}`);
    const { deadline, pollMs, timeoutSeconds } = timing(env, 900);
    const target = marathonTarget(env);
    log(`deploying definition sha256 ${sha256.slice(0, 12)} (timeout ${timeoutSeconds} s)`);
    await putApp(target, appId, definition, { deadline, pollMs, log });
  },

  async "delete-app"(env) {
    const appId = required(env, "MARATHON_APP_ID");
    const log = logger(`marathon-app ${appId}`);
    if (env.CLUSTER_SKIP_APP_DELETE === "1") {
      log("CLUSTER_SKIP_APP_DELETE=1: leaving the app in Marathon");
      return;
    }
    const { deadline, pollMs } = timing(env, 900);
    await deleteApp(marathonTarget(env), appId, { deadline, pollMs, log });
  },

  async "wait-ready"(env) {
    const log = logger("cluster-ready");
    const { deadline, pollMs, requestTimeoutMs, timeoutSeconds } = timing(env, 1200);
    const expectedText = required(env, "MESOS_EXPECTED_AGENTS");
    const expectedAgents = Number(expectedText);
    if (!Number.isInteger(expectedAgents) || expectedAgents < 0) throw new UsageError(`MESOS_EXPECTED_AGENTS must be a whole number, not ${JSON.stringify(expectedText)}`);
    const mesos = parseServers(required(env, "MESOS_URLS"));
    const marathon = parseServers(required(env, "MARATHON_URLS"));
    const checks = clusterChecks({
      zookeeper: parseServers(env.ZOOKEEPER_MEMBERS),
      mesos,
      marathon,
      swarm: parseServers(env.SWARM_URLS)[0],
      swarmTls: swarmTlsFrom(env),
      mesosTls: serviceTlsFrom(env, "MESOS", mesos),
      marathonTls: serviceTlsFrom(env, "MARATHON", marathon),
      expectedAgents,
      mesosCredentials: credentialsFrom(env, "MESOS"),
      marathonCredentials: credentialsFrom(env, "MARATHON"),
      requestTimeoutMs,
      // The swarm check looks for offers over a window (Swarm's offer cycle); never past the timeout.
      deadline,
    });
    const startedAt = Date.now();
    log(`waiting up to ${timeoutSeconds} s for: ${checks.map((c) => c.name).join(", ")}`);
    let lastLine = "";
    let lastLogAt = 0;
    for (;;) {
      const failing = [];
      for (const check of checks) {
        const result = await check.run();
        if (result.fatal) throw new Error(`${check.name}: ${result.summary}`);
        if (!result.ok) failing.push(`${check.name}: ${result.summary}`);
      }
      const waited = Math.round((Date.now() - startedAt) / 1000);
      if (failing.length === 0) {
        log(`ready after ${waited} s (${checks.length} checks pass)`);
        return;
      }
      if (Date.now() + pollMs > deadline) throw new Error(`the cluster was not ready within ${timeoutSeconds} s; failing: ${failing.join(" | ")}`);
      const line = `${checks.length - failing.length} of ${checks.length} checks pass; waiting for ${failing.join(" | ")}`;
      // A line when the picture changes, else one a minute: a boot takes minutes and each line is shown.
      if (line !== lastLine || Date.now() - lastLogAt >= 60000) {
        log(`${waited} s: ${line}`);
        lastLine = line;
        lastLogAt = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  },
};

/**
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<number>}
 */
async function main(argv, env) {
  const action = ACTIONS[argv[0] ?? ""];
  if (!action) {
    process.stderr.write(`usage: node cli.js ${Object.keys(ACTIONS).join(" | ")} (parameters in the environment; see the top of cli.js)\n`);
    return 2;
  }
  try {
    await action(env);
    return 0;
  } catch (e) {
    const error = /** @type {Error} */ (e);
    process.stderr.write(`${argv[0]} failed: ${error.message}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then((code) => {
    process.exitCode = code;
  });
}

module.exports = { main };
