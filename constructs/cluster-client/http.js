"use strict";
/**
 * HTTP for the cluster's APIs (Mesos, Marathon, Swarm) with Node's built-in
 * modules only: this folder runs on the deploying machine from Terraform's
 * local-exec, where only `node` is certain to exist (no curl, no jq, no
 * node_modules).
 *
 * A server may be reachable at several addresses (its private IP over a VPN,
 * its public IP from an admin network): a "server" is a list of alternative
 * base URLs, and the first alternative that answers is used.
 */
const http = require("http");
const https = require("https");

/** @typedef {{ username: string, password: string }} Credentials */
/** @typedef {{ status: number, headers: import("http").IncomingHttpHeaders, body: string, url: string }} HttpResponse */
/**
 * @typedef {object} RequestOptions
 * @property {string} [method] GET unless given
 * @property {string} [body] a JSON text sent as application/json
 * @property {Credentials} [credentials] HTTP basic auth
 * @property {number} [timeoutMs] for the whole exchange (default 5000)
 * @property {TlsMaterial} [tls] the CA to trust for https and, for mutual TLS (the Swarm API), a client certificate;
 *   given with credentials, a plain http URL to anything but loopback is refused (the service has TLS, and its
 *   credentials would cross a network in clear text)
 */
/** @typedef {{ ca: string, cert?: string, key?: string }} TlsMaterial PEM texts; cert and key only for mutual TLS */

/**
 * Why a call failed: `unreachable` (no answer), `auth` (401, or a Mesos 403:
 * credentials missing, refused or not allowed), `tls` (the server's
 * certificate is not signed by the CA given, or no CA was given for a
 * private one, or a plain http URL refused for a service with TLS: waiting
 * cannot fix it), `status` (another unexpected status), `protocol` (an
 * answer we cannot read).
 */
class ClusterApiError extends Error {
  /**
   * @param {string} message
   * @param {"unreachable" | "auth" | "tls" | "status" | "protocol"} kind
   * @param {number} [status]
   */
  constructor(message, kind, status) {
    super(message);
    this.name = "ClusterApiError";
    this.kind = kind;
    this.status = status;
  }
}

/**
 * Node's error codes for a certificate that the CAs given do not vouch for:
 * the wrong CA, or none given for the cluster's private one. Retrying cannot
 * help, so these fail at once (kind `tls`).
 */
const UNTRUSTED_CERTIFICATE = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
]);
/**
 * Certificate problems a reissued certificate fixes (a new public IP, a
 * renewal: the masters install Terraform's new one within the hour), so they
 * are retried like no answer, with the reason in the message.
 */
const MISFIT_CERTIFICATE = new Set(["ERR_TLS_CERT_ALTNAME_INVALID", "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);

/**
 * True for a plain `http://` URL to anything but loopback: for a service
 * with TLS its basic-auth credentials would cross a network in clear text.
 * http to loopback (an SSH tunnel) is allowed. constructs/cluster-client.ts
 * `clearTextUrl` applies the same rule at synth.
 * @param {string} url
 */
function clearTextTarget(url) {
  const match = /^http:\/\/(\[[^\]]*\]|[^/:]*)/i.exec(url);
  if (!match) return false;
  const host = match[1].toLowerCase();
  return !(host === "localhost" || host === "[::1]" || /^127\./.test(host));
}

/**
 * One request, no redirects followed (Mesos redirects to the leader by its
 * private name, which the deploying machine may not reach; and a redirect
 * never takes a request from https down to http).
 * @param {string} url
 * @param {RequestOptions} [options]
 * @returns {Promise<HttpResponse>}
 */
function request(url, options = {}) {
  const method = options.method ?? "GET";
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    let target;
    try {
      target = new URL(url);
    } catch {
      reject(new ClusterApiError(`not a URL: ${JSON.stringify(url)}`, "protocol"));
      return;
    }
    if (options.tls && options.credentials && clearTextTarget(url)) {
      reject(new ClusterApiError(`refusing ${method} ${url}: the service has TLS (a CA was given), and plain http would carry its credentials in clear text; use its https URL`, "tls"));
      return;
    }
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json" };
    if (options.credentials) {
      const token = Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString("base64");
      headers.Authorization = `Basic ${token}`;
    }
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(options.body));
    }
    const client = target.protocol === "https:" ? https : http;
    const tls = target.protocol === "https:" && options.tls ? { ca: options.tls.ca, ...(options.tls.cert ? { cert: options.tls.cert, key: options.tls.key } : {}) } : {};
    const req = client.request(target, { method, headers, ...tls }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), url });
      });
      res.on("error", (e) => fail(`${method} ${url}: ${e.message}`));
    });
    const timer = setTimeout(() => {
      req.destroy();
      fail(`${method} ${url}: no answer within ${timeoutMs} ms`);
    }, timeoutMs);
    /** @param {string} message */
    const fail = (message) => {
      clearTimeout(timer);
      reject(new ClusterApiError(message, "unreachable"));
    };
    req.on("error", (e) => {
      const code = /** @type {NodeJS.ErrnoException} */ (e).code;
      if (code && UNTRUSTED_CERTIFICATE.has(code)) {
        clearTimeout(timer);
        const whose = options.tls?.ca ? "the CA given" : "any CA this machine trusts (no CA was given: pass the cluster's, output tls_ca_pem)";
        reject(new ClusterApiError(`${method} ${url}: the server's certificate is not signed by ${whose} (${code}: ${e.message})`, "tls"));
      } else if (code && MISFIT_CERTIFICATE.has(code)) {
        fail(`${method} ${url}: the server's certificate does not fit (${code}: ${e.message})`);
      } else fail(`${method} ${url}: ${code ?? e.message}`);
    });
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/**
 * Parses a response body as JSON, or fails naming the URL.
 * @param {HttpResponse} response
 * @returns {any}
 */
function jsonOf(response) {
  try {
    return JSON.parse(response.body);
  } catch {
    const excerpt = response.body.slice(0, 120).replace(/\s+/g, " ");
    throw new ClusterApiError(`${response.url} answered ${response.status} with a body that is not JSON: ${JSON.stringify(excerpt)}`, "protocol", response.status);
  }
}

/**
 * The message of an error response: Marathon's `{"message": ...}` (with its
 * `details`), the reason of a Jetty error page (Marathon's 401 from its basic
 * auth and 502 from its leader proxy are Jetty's `sendError` pages:
 * `<pre>    Reason</pre>`), else the start of the body.
 * @param {HttpResponse} response
 */
function messageOf(response) {
  try {
    const parsed = JSON.parse(response.body);
    if (parsed && typeof parsed.message === "string") {
      const details = Array.isArray(parsed.details)
        ? parsed.details.map((/** @type {{path?: string, errors?: string[]}} */ d) => `${d.path ?? ""}: ${(d.errors ?? []).join(", ")}`).join("; ")
        : typeof parsed.details === "string"
          ? parsed.details
          : "";
      return details ? `${parsed.message} (${details})` : parsed.message;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  const jettyReason = /<pre>\s*([^<]*?)\s*<\/pre>/i.exec(response.body)?.[1];
  if (jettyReason) return jettyReason;
  const text = response.body.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  return text.slice(0, 160) || `HTTP ${response.status}`;
}

/**
 * Throws the error a 401 deserves (and, with `forbiddenIsAuth`, a 403): it
 * never gets better by retrying.
 *
 * Only Mesos means "not allowed" by 403 (its authorizer, apache/mesos
 * src/master/http.cpp). Marathon's basic auth only ever answers 401 (Jetty's
 * BasicAuthenticator, mesosphere/marathon src/main/scala/mesosphere/marathon/api/HttpModule.scala);
 * its 403 is `TooManyRunningDeploymentsException` (api/MarathonExceptionMapper.scala),
 * which its callers wait out: so Marathon's callers leave `forbiddenIsAuth` unset.
 * @param {HttpResponse} response
 * @param {string} service e.g. "Marathon"
 * @param {Credentials | undefined} credentials
 * @param {{ forbiddenIsAuth?: boolean }} [options]
 */
function refuseAuth(response, service, credentials, options = {}) {
  if (response.status === 401) {
    const how = credentials
      ? `refused the credentials of user ${JSON.stringify(credentials.username)}`
      : "requires credentials and none were given";
    // Mesos' 401 has no body, only its challenge (libprocess authenticator.cpp: `Basic realm="mesos-master-readonly"`).
    const challenge = response.headers?.["www-authenticate"];
    const detail = !response.body.trim() && challenge ? `WWW-Authenticate ${challenge}` : messageOf(response);
    throw new ClusterApiError(`${service} at ${response.url} ${how} (HTTP 401: ${detail})`, "auth", 401);
  }
  if (response.status === 403 && options.forbiddenIsAuth) {
    const who = credentials ? `user ${JSON.stringify(credentials.username)}` : "requests without credentials";
    throw new ClusterApiError(`${service} at ${response.url} does not allow ${who} (HTTP 403: ${messageOf(response)})`, "auth", 403);
  }
}

/**
 * Servers from their text form: servers separated by `,`, alternative base
 * URLs (or host:port pairs) of one server by `|`. Empty parts are dropped.
 * @param {string | undefined} text
 * @returns {string[][]}
 */
function parseServers(text) {
  return (text ?? "")
    .split(",")
    .map((server) => server.split("|").map((a) => a.trim().replace(/\/+$/, "")).filter((a) => a.length > 0))
    .filter((alternatives) => alternatives.length > 0);
}

/**
 * Asks every alternative at once and settles with the first that answers
 * with any HTTP status; fails only when none answers.
 * @template T
 * @param {string[]} alternatives
 * @param {(alternative: string) => Promise<T>} call
 * @returns {Promise<{ alternative: string, value: T }>}
 */
function firstAnswer(alternatives, call) {
  return new Promise((resolve, reject) => {
    /** @type {string[]} */
    const errors = [];
    let pending = alternatives.length;
    if (pending === 0) reject(new ClusterApiError("no address to try", "unreachable"));
    for (const alternative of alternatives) {
      call(alternative).then(
        (value) => resolve({ alternative, value }),
        (/** @type {Error} */ e) => {
          if (e instanceof ClusterApiError && e.kind !== "unreachable") {
            reject(e);
            return;
          }
          errors.push(e.message);
          pending -= 1;
          if (pending === 0) reject(new ClusterApiError(errors.join("; "), "unreachable"));
        },
      );
    }
  });
}

/**
 * GETs `path` from one server, trying its alternatives at once.
 * @param {string[]} alternatives base URLs of one server
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<HttpResponse>}
 */
async function getFromServer(alternatives, path, options = {}) {
  const { value } = await firstAnswer(alternatives, (base) => request(base + path, options));
  return value;
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { ClusterApiError, clearTextTarget, request, jsonOf, messageOf, refuseAuth, parseServers, firstAnswer, getFromServer, sleep };
