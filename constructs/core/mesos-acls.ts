import { IConstruct } from "constructs";
import { fail, pathOf } from "./validation";

/**
 * Which Unix users tasks may run as: the masters' `run_tasks` ACL, and the
 * checks that keep the frameworks we configure (Marathon's `--mesos_user`,
 * Swarm's `SWARM_MESOS_USER`, a MarathonApp's `user`) inside it.
 *
 * How Mesos 1.7.1 decides (apache/mesos 1.7.1):
 * - The user checked is the task's `command.user`, else its executor's, else
 *   the framework's `FrameworkInfo.user` (src/authorizer/local/authorizer.cpp,
 *   the RUN_TASK object); a refused task ends in TASK_ERROR "Not authorized
 *   to launch as user" (src/master/master.cpp).
 * - ACL entries are tried in order; the first whose principals and users both
 *   match decides; `principals: {type: NONE}` denies whoever asks; with no
 *   match `permissive` (default true) allows (authorizer.cpp; acls.proto).
 *   `permissive` stays true: false would deny every action the ACLs do not
 *   list, framework registration and every endpoint included.
 * - A framework without a principal (classic Swarm 1.2.8 sends none) is
 *   matched by `type: ANY` only, and while framework authentication is off any
 *   framework may claim any principal (src/master/master.cpp), so the first
 *   entry names no principal: every framework may run tasks as these users,
 *   none as anyone else.
 * - `--acls` takes inline JSON (src/master/flags.cpp; stout flags/parse.hpp).
 * - `register_frameworks` entries have the framework's principal as subject
 *   and the roles it asks offers for as object (include/mesos/authorizer/
 *   acls.proto `RegisterFramework`); the master asks once per role of the
 *   FrameworkInfo, and every role must be allowed (src/master/master.cpp
 *   `authorizeFramework`; authorizer.cpp, the REGISTER_FRAMEWORK approver).
 *   A role reserved for Marathon's principal ({@link claimFrameworkRole}) is
 *   thus refused to any other framework, while `*` stays open to all.
 *
 * What it changes on an agent: the agent creates each sandbox with mode 0750
 * and chowns it to the task's user, looked up in the agent container's
 * /etc/passwd (src/slave/paths.cpp createExecutorDirectory; `--switch_user`
 * is on by default, src/slave/flags.cpp). The Mesos containerizer runs a
 * plain `cmd` task as that user (src/slave/containerizer/mesos/launch.cpp),
 * so `cmd` apps no longer run as root inside the privileged agent container.
 * The Docker containerizer never passes `--user` to `docker run`: a Docker
 * task runs as its image's USER whatever this says (src/slave/containerizer/
 * docker.cpp, src/docker/docker.cpp); no Mesos 1.7 ACL covers `privileged`,
 * Docker parameters or host volumes (include/mesos/authorizer/acls.proto).
 */

/** A Unix user name as `useradd` accepts it. */
const USER_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;

const USER_ALLOWED = "a Unix user name: a lower-case letter or _, then up to 31 of a-z, 0-9, _ and -";

/** Checks one Unix user name. */
export function checkUserName(scope: IConstruct, property: string, user: string): string {
  if (typeof user !== "string" || !USER_PATTERN.test(user)) fail(scope, property, user, USER_ALLOWED);
  return user;
}

/** Checks a list of task users: non-empty, valid names, no duplicates. */
export function checkTaskUsers(scope: IConstruct, property: string, users: readonly string[]): string[] {
  const allowed = "a non-empty list of distinct Unix user names (lower case, e.g. [\"nobody\"])";
  if (!Array.isArray(users) || users.length === 0) fail(scope, property, users, allowed);
  users.forEach((u, i) => checkUserName(scope, `${property}[${i}]`, u));
  if (new Set(users).size !== users.length) fail(scope, property, users, allowed);
  return [...users];
}

/**
 * What the masters' ACL denies a principal that may only register agents
 * (the agents' credential: every agent holds it, so root on any agent could
 * otherwise use it on the masters' HTTP API, whose `--credentials` file is
 * the same one CRAM-MD5 reads). Every master-side action that changes the
 * cluster, each with its object field (apache/mesos 1.7.1
 * include/mesos/authorizer/acls.proto): `{type: NONE}` as the object matches
 * every request and allows none (src/authorizer/local/authorizer.cpp), so the
 * entry denies the principal whatever it asks for. Read-only views stay as
 * for any authenticated principal.
 */
const AGENT_ONLY_DENIED: readonly [action: string, object: string][] = [
  ["register_frameworks", "roles"],
  ["teardown_frameworks", "framework_principals"],
  ["reserve_resources", "roles"],
  ["unreserve_resources", "reserver_principals"],
  ["create_volumes", "roles"],
  ["destroy_volumes", "creator_principals"],
  ["resize_volumes", "roles"],
  ["update_quotas", "roles"],
  ["update_weights", "roles"],
  ["get_endpoints", "paths"],
  ["set_log_level", "level"],
  ["update_maintenance_schedules", "machines"],
  ["start_maintenances", "machines"],
  ["stop_maintenances", "machines"],
  ["mark_agents_gone", "agents"],
];

/**
 * The maintenance actions an agent's drain needs (core/agent-drain.ts): read
 * and write the schedule, bring its machine down and up again. Their object
 * is always ANY in Mesos 1.7.1 (src/authorizer/local/authorizer.cpp: "Given
 * implicitly" in include/mesos/authorizer/acls.proto), so an entry cannot
 * name the agent's own machine: a principal allowed them may schedule,
 * down or up any machine of the cluster (root on one agent could take every
 * agent down, killing every task, until an operator brings them up).
 */
export const AGENT_MAINTENANCE_ACTIONS = ["get_maintenance_schedules", "update_maintenance_schedules", "start_maintenances", "stop_maintenances"] as const;

/** What the masters' `--acls` says: which users tasks run as, which principals may only register agents, and who may take a role. */
export interface MesosAclOptions {
  /** Tasks of every framework may run as these users and as no one else. */
  readonly taskUsers?: readonly string[];
  /** Principals denied every cluster-changing action and every task (the agents' credential). */
  readonly agentOnlyPrincipals?: readonly string[];
  /**
   * Read-only principals (MesosMasterGroup.addViewer), also among
   * {@link agentOnlyPrincipals}: besides, they may not register agents or read
   * the masters' logs, sandboxes or flags ({@link VIEWER_DENIED}).
   */
  readonly viewerPrincipals?: readonly string[];
  /**
   * Of {@link agentOnlyPrincipals}, those that may still do the maintenance
   * actions an agent's drain needs ({@link AGENT_MAINTENANCE_ACTIONS}),
   * allowed by an entry of their own that comes first; every other denial
   * stays.
   */
  readonly maintenancePrincipals?: readonly string[];
  /**
   * Roles only the listed framework principals may register with (role to
   * principals), e.g. `{ slave_public: ["marathon"] }`: every other
   * framework asking for the role, one without a principal included, is
   * refused registration (see {@link frameworkRoleOwners}).
   */
  readonly roleOwners?: Readonly<Record<string, readonly string[]>>;
}

/** The `--acls` value, or undefined when there is nothing to say (no ACL: Mesos then has no authorizer). */
export function mesosAcls(options: MesosAclOptions): string | undefined {
  const acls: Record<string, unknown[]> = {};
  const agents = options.agentOnlyPrincipals ?? [];
  const maintainers = (options.maintenancePrincipals ?? []).filter((p) => agents.includes(p));
  for (const action of maintainers.length > 0 ? AGENT_MAINTENANCE_ACTIONS : []) acls[action] = [{ principals: { values: maintainers }, machines: { type: "ANY" } }];
  const deny = (action: string, object: string) => {
    const denied = (AGENT_MAINTENANCE_ACTIONS as readonly string[]).includes(action) ? agents.filter((p) => !maintainers.includes(p)) : agents;
    if (denied.length > 0) (acls[action] ??= []).push({ principals: { values: denied }, [object]: { type: "NONE" } });
  };
  for (const [action, object] of AGENT_ONLY_DENIED) deny(action, object);
  deny("run_tasks", "users");
  // The owners take the role; `principals: NONE` then matches any other request for it, a framework
  // without a principal (subject ANY) included, and allows none (authorizer.cpp matches/allows).
  for (const [role, owners] of Object.entries(options.roleOwners ?? {})) {
    (acls.register_frameworks ??= []).push({ principals: { values: [...owners] }, roles: { values: [role] } }, { principals: { type: "NONE" }, roles: { values: [role] } });
  }
  if (options.taskUsers) {
    (acls.run_tasks ??= []).push(
      { principals: { type: "ANY" }, users: { values: options.taskUsers } },
      { principals: { type: "NONE" }, users: { type: "ANY" } },
    );
  }
  // Each entry names the viewers and `{type: NONE}` as the object, so it matches every request of theirs
  // and allows none (authorizer.cpp); placed first, it decides before any other entry of its action.
  const viewers = options.viewerPrincipals ?? [];
  if (viewers.length > 0) {
    for (const [action, object] of VIEWER_DENIED) acls[action] = [{ principals: { values: [...viewers] }, [object]: { type: "NONE" } }, ...(acls[action] ?? [])];
  }
  return Object.keys(acls).length > 0 ? JSON.stringify(acls) : undefined;
}

/**
 * What the ACL adds for read-only principals beyond the agent-only denials
 * they share (every cluster-changing action, every task): registering as an
 * agent, the masters' log files, sandboxes and flags (apache/mesos 1.7.1
 * include/mesos/authorizer/acls.proto).
 */
const VIEWER_DENIED: readonly [action: string, object: string][] = [
  ["register_agents", "agents"],
  ["access_mesos_logs", "logs"],
  ["access_sandboxes", "users"],
  ["view_flags", "flags"],
];

/** The `--acls` value: tasks of every framework may run as `users`, and as no one else. */
export function runTasksAcl(users: readonly string[]): string {
  return mesosAcls({ taskUsers: users })!;
}

/**
 * Refuses a framework's user that the masters' ACL would turn away: every
 * task it launched would end in TASK_ERROR at run time.
 */
export function checkUserAllowed(
  scope: IConstruct,
  property: string,
  user: string,
  masters: { readonly taskUsers?: readonly string[] } & IConstruct,
): void {
  if (masters.taskUsers && !masters.taskUsers.includes(user)) {
    fail(scope, property, user, `a user the masters' run_tasks ACL admits (taskUsers of ${pathOf(masters)}: ${masters.taskUsers.join(", ")})`);
  }
}

/**
 * Mesos role names (apache/mesos 1.7.1 src/common/roles.cpp `validate`):
 * `*`, or `/`-separated components, none empty, `.`, `..` or `*`, none
 * starting with `-`, no whitespace or DEL. Marathon 1.8 refuses `/` in a role
 * as well (mesosphere/marathon v1.8.244 src/main/scala/mesosphere/marathon/
 * state/ResourceRole.scala `validResourceRole`), so `forMarathon` checks its
 * rule too.
 */
export function checkRole(scope: IConstruct | string, property: string, role: string, options: { readonly forMarathon?: boolean } = {}): string {
  const allowed =
    "a Mesos role: \"*\", or a name such as slave_public" +
    (options.forMarathon ? " without '/' (Marathon 1.8 refuses it)" : " or a path of names separated by '/'") +
    "; no name empty, \".\", \"..\" or \"*\", starting with '-', or holding whitespace";
  if (typeof role !== "string") fail(scope, property, role, allowed);
  if (role === "*") return role;
  if (options.forMarathon && role.includes("/")) fail(scope, property, role, allowed);
  const names = role.split("/");
  if (names.some((n) => n === "" || n === "." || n === ".." || n === "*" || n.startsWith("-") || /[\x09-\x0d\x20\x7f]/.test(n))) fail(scope, property, role, allowed);
  return role;
}

/** Who may register with which role, per master group (role to principals), as frameworks claim roles. */
const ROLE_OWNERS = new WeakMap<IConstruct, Map<string, Set<string>>>();

/**
 * Reserves `role` on `masters` for the framework principal `principal`
 * (MarathonService with `mesosRole` and `mesosAuthentication`): the masters'
 * ACL then refuses the role to every other framework. Only meaningful while
 * the masters authenticate frameworks: without it any framework may claim
 * any principal (apache/mesos 1.7.1 src/master/master.cpp).
 */
export function claimFrameworkRole(masters: IConstruct, role: string, principal: string): void {
  const roles = ROLE_OWNERS.get(masters) ?? new Map<string, Set<string>>();
  roles.set(role, (roles.get(role) ?? new Set<string>()).add(principal));
  ROLE_OWNERS.set(masters, roles);
}

/** The roles reserved on `masters` with their owners ({@link MesosAclOptions.roleOwners}), or undefined when none is. */
export function frameworkRoleOwners(masters: IConstruct): Record<string, string[]> | undefined {
  const roles = ROLE_OWNERS.get(masters);
  return roles && roles.size > 0 ? Object.fromEntries([...roles].map(([role, owners]) => [role, [...owners]])) : undefined;
}
