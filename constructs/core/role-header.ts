/**
 * The first comment line of every machine's cloud-config names the construct
 * path, the machine and the roles it carries. nodes.ts writes it; the plan
 * diff (scripts/lib/plan-diff.ts) reads it to tell which machines hold state.
 * Both go through this file, so the two cannot drift apart.
 */

/** The role names machines carry (`INodeRole.roleName`). */
export const ROLE_NAMES = {
  zookeeper: "zookeeper",
  mesosMaster: "mesos-master",
  mesosAgent: "mesos-agent",
  marathon: "marathon",
  swarmManager: "swarm-manager",
  swarmEngine: "swarm-engine",
  tlsProxy: "tls-proxy",
  mesosDns: "mesos-dns",
  marathonLb: "marathon-lb",
  // Base roles every machine set applies first (base-roles.ts); the header does not list them.
  dockerHost: "docker-host",
  secretFetcher: "secret-fetcher",
  dataDisk: "data-disk",
  clusterDns: "cluster-dns",
} as const;

/** A role name. */
export type RoleName = (typeof ROLE_NAMES)[keyof typeof ROLE_NAMES];

/** Roles whose machines hold state that a replacement must not lose: ZooKeeper's data, the Mesos replicated log. */
export const STATEFUL_ROLES: readonly RoleName[] = [ROLE_NAMES.zookeeper, ROLE_NAMES.mesosMaster];

const PREFIX = "Rendered by mesos-cluster-cdktf for ";

/** The header comment (without `# `) of a machine's document. */
export function renderRoleHeader(constructPath: string, machineName: string, roles: readonly string[]): string {
  return `${PREFIX}${constructPath} (${machineName}); roles: ${roles.join(", ") || "none"}`;
}

/** The roles a decoded document's header names (empty when it has no header or no roles). */
export function parseRoleHeader(documentText: string): string[] {
  const line = documentText.split("\n").find((l) => l.startsWith(`# ${PREFIX}`));
  const m = line ? /; roles: (.*)$/.exec(line) : null;
  return m ? m[1].split(",").map((r) => r.trim()).filter((r) => r && r !== "none") : [];
}
