import { existsSync } from "fs";
import { join } from "path";
import { AssetType, Fn, TerraformAsset, TerraformStack } from "cdktf";
import { IConstruct } from "constructs";
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { HttpCredentials } from "./core/credentials";
import { hasProvider } from "./core/providers";
import { fail } from "./core/validation";
import { NodeGroup } from "./nodes";

/**
 * What constructs that act on a running cluster from the deploying machine
 * (MarathonApp, ClusterReadinessGate) share: the `cluster-client`
 * folder shipped into each stack's synth output, how its command line and
 * environment look, and how masters are addressed.
 *
 * Terraform runs `node assets/cluster-client/<hash>/cli.js ACTION` through
 * local-exec with `interpreter = ["node", ...]`: no shell, so nothing needs
 * quoting and Windows works too; node is there wherever cdktf runs. The
 * folder travels inside `cdktf.out`, so a plan applied elsewhere finds it.
 */

/**
 * The client lives beside this file (constructs/cluster-client/), in the
 * source tree and in the built package alike (`npm run build` copies it to
 * dist/constructs/cluster-client/): one path.
 */
const CLIENT_DIR = join(__dirname, "cluster-client");

/** The `cluster-client` folder of this package (plain JavaScript, run by node on the deploying machine). */
export function clusterClientDir(): string {
  if (!existsSync(join(CLIENT_DIR, "cli.js"))) throw new Error(`cluster-client/cli.js is missing from this package (looked in ${CLIENT_DIR}; a build copies it there)`);
  return CLIENT_DIR;
}

const ASSET_ID = "cluster-client";

/** `["node", "<asset path>/cli.js"]` for local-exec; the folder is copied once per stack. */
export function clusterClientInterpreter(scope: IConstruct): string[] {
  const stack = TerraformStack.of(scope);
  const asset =
    (stack.node.tryFindChild(ASSET_ID) as TerraformAsset | undefined) ??
    new TerraformAsset(stack, ASSET_ID, { path: clusterClientDir(), type: AssetType.DIRECTORY });
  return ["node", `${asset.path}/cli.js`];
}

/** Adds the null provider to the stack unless it already has one. */
export function ensureNullProvider(scope: IConstruct): void {
  const stack = TerraformStack.of(scope);
  if (!hasProvider(stack, "null")) new NullProvider(stack, "null-provider");
}

/**
 * A secret for a provisioner's environment. Terraform suppresses all output
 * of a provisioner whose configuration holds a sensitive value, which would
 * hide our progress and error lines; `nonsensitive(sensitive(x))` unmarks the
 * value for the environment only (the client never prints it). The inner
 * `sensitive` makes this valid for literal and generated secrets alike.
 */
export function environmentSecret(expression: string): string {
  return Fn.nonsensitive(Fn.sensitive(expression));
}

/** The same, for a destroy-time provisioner, which may only refer to `self`. */
export function environmentSecretOfTrigger(trigger: string): string {
  return `\${nonsensitive(sensitive(self.triggers.${trigger}))}`;
}

/** `a|b,c|d`: servers separated by `,`, a server's alternative addresses by `|` (what cli.js parses). */
export function serversText(servers: string[][]): string {
  return servers.map((alternatives) => alternatives.join("|")).join(",");
}

/**
 * Each machine's addresses as the deploying machine may reach it: the
 * private IP (VPN, peering) and, when the group has them, the public IP
 * (admin networks). The client tries them at once and uses the first that answers.
 */
export function machineAddresses(nodes: NodeGroup): string[][] {
  const publicIps = nodes.publicIps;
  return nodes.privateIps.map((ip, i) => (publicIps[i] ? [ip, publicIps[i]] : [ip]));
}

/** `http://address:port` for every address of every machine. */
export function machineUrls(nodes: NodeGroup, port: number, scheme: "http" | "https" = "http"): string[][] {
  return machineAddresses(nodes).map((addresses) => addresses.map((a) => `${scheme}://${a}:${port}`));
}

/**
 * True for a plain `http://` URL to anything but loopback: what the client
 * refuses for a service that has TLS (cluster-client/http.js
 * `clearTextTarget`, the same rule), since its credentials would cross a
 * network in clear text. http to loopback (an SSH tunnel) is allowed.
 */
export function clearTextUrl(url: string): boolean {
  const match = /^http:\/\/(\[[^\]]*\]|[^/:]*)/i.exec(url);
  if (!match) return false;
  const host = match[1].toLowerCase();
  return !(host === "localhost" || host === "[::1]" || /^127\./.test(host));
}

/**
 * `<SERVICE>_USERNAME` and `<SERVICE>_PASSWORD` for a create-time command. An
 * empty user name says "no authentication", so that a variable of the same
 * name in the deploying shell is never picked up instead.
 */
export function credentialsEnvironment(service: "MESOS" | "MARATHON", credentials: HttpCredentials | undefined): Record<string, string> {
  if (!credentials) return { [`${service}_USERNAME`]: "" };
  return { [`${service}_USERNAME`]: credentials.username, [`${service}_PASSWORD`]: environmentSecret(credentials.password) };
}

/** Seconds between polls: a number (fractions allowed) within [min, max]. */
export function checkPollSeconds(scope: IConstruct, property: string, value: number, min: number, max: number): number {
  if (!(typeof value === "number" && Number.isFinite(value) && value >= min && value <= max)) fail(scope, property, value, `a number of seconds from ${min} to ${max}`);
  return value;
}
