/**
 * The masters' ACLs (issue 17, item 2): a `run_tasks` ACL admitting `nobody`
 * only, Marathon (`--mesos_user`) and Swarm (`SWARM_MESOS_USER`) registering
 * as `nobody`, a framework or app user the ACL would refuse refused at synth;
 * and, where agents authenticate, their principal denied every
 * cluster-changing action (it is in the masters' credentials file, which
 * HTTP basic auth reads too, and every agent holds it).
 */
import { App, TerraformStack } from "cdktf";
import { AzureTarget, MarathonApp, MarathonService, MesosMasterGroup, NodeGroup, SwarmManager, ZookeeperEnsemble } from "../constructs";
import { mesosAcls, runTasksAcl } from "../constructs/core/mesos-acls";
import { effectiveRuntime, processOf, runtimeFindings } from "../scripts/lib/effective-runtime";
import { readUserData } from "../scripts/lib/user-data-model";
import { Cloud, machineDocs, synthCluster, TEST_SSH_KEY } from "./helpers/synth";

type Entity = { type?: "SOME" | "ANY" | "NONE"; values?: string[] };
type AclEntry = { principals: Entity } & Record<string, Entity>;

/**
 * The Mesos 1.7.1 local authorizer's decision, transcribed from apache/mesos
 * 1.7.1 src/authorizer/local/authorizer.cpp (the match and allow tables of
 * `matches`/`allows`; the first ACL whose subject and object both match
 * decides, else `permissive`, default true). A framework without a principal
 * is the subject type ANY (authorizer.cpp, the approver built for a request
 * without a subject). `object` names the entry's object field (`users` for
 * run_tasks, `roles` for register_frameworks, ...).
 */
function mesosAllows(acls: Record<string, unknown>, action: string, object: string, principal: string | undefined, value: string): boolean {
  const request = (v: string | undefined): Entity => (v === undefined ? { type: "ANY" } : { type: "SOME", values: [v] });
  const kind = (e: Entity) => e.type ?? "SOME";
  const matches = (req: Entity, acl: Entity): boolean => {
    if (kind(req) === "SOME") return kind(acl) !== "SOME" || req.values!.every((v) => (acl.values ?? []).includes(v));
    return kind(acl) === "ANY" || kind(acl) === "NONE";
  };
  const allows = (req: Entity, acl: Entity): boolean => {
    if (kind(req) === "SOME") return kind(acl) === "ANY" || (kind(acl) === "SOME" && req.values!.every((v) => (acl.values ?? []).includes(v)));
    return kind(acl) === "ANY";
  };
  const subject = request(principal);
  const target = request(value);
  for (const acl of (acls[action] ?? []) as AclEntry[]) {
    if (matches(subject, acl.principals) && matches(target, acl[object])) return allows(subject, acl.principals) && allows(target, acl[object]);
  }
  return (acls.permissive as boolean | undefined) ?? true;
}
const mesosAllowsRunTask = (acls: Record<string, unknown>, principal: string | undefined, user: string) => mesosAllows(acls, "run_tasks", "users", principal, user);

describe.each(["azure", "aws"] as Cloud[])("%s", (cloud) => {
  describe.each(["dev", "ha"] as const)("%s", (profile) => {
    const { json } = synthCluster({ cloud, profile });

    test("the masters admit tasks as nobody only; Marathon and Swarm register as nobody", () => {
      const docs = machineDocs(json, cloud);
      expect(docs.length).toBeGreaterThan(0);
      for (const m of docs) {
        const model = readUserData(m.text);
        const runtime = effectiveRuntime(model);
        const master = processOf(runtime, "mesos-master")!;
        expect(master.flags.acls.source).toBe("command line");
        const acls = JSON.parse(master.flags.acls.value);
        // ha: the agents' credential and Mesos-DNS's read-only principal (discovery "dns", constructs/mesos-dns.ts).
        const agentOnly = profile === "ha" ? [{ principals: { values: ["mesos-agent", "mesos-dns"] }, users: { type: "NONE" } }] : [];
        expect(acls.run_tasks).toEqual([
          ...agentOnly,
          { principals: { type: "ANY" }, users: { values: ["nobody"] } },
          { principals: { type: "NONE" }, users: { type: "ANY" } },
        ]);
        // The agents' principal (ha: agents authenticate) may change nothing on the masters; other principals are untouched.
        for (const [action, object, value] of [
          ["register_frameworks", "roles", "*"],
          ["teardown_frameworks", "framework_principals", "marathon"],
          ["reserve_resources", "roles", "*"],
          ["update_quotas", "roles", "*"],
          ["mark_agents_gone", "agents", "a1"],
          ["get_endpoints", "paths", "/logging/toggle"],
        ]) {
          expect(mesosAllows(acls, action, object, "mesos-agent", value)).toBe(profile !== "ha");
          expect(mesosAllows(acls, action, object, "mesos-dns", value)).toBe(profile !== "ha");
          expect(mesosAllows(acls, action, object, "admin", value)).toBe(true);
        }
        // ha: the pool drains its agents (core/agent-drain.ts), so the agents' principal may write the maintenance schedule and
        // bring machines down and up (any machine: Mesos 1.7.1 acls.proto gives their object implicitly); Mesos-DNS still may not.
        // dev: no agent principal and no drain, no entry: permissive allows everyone, as before.
        for (const action of ["update_maintenance_schedules", "start_maintenances", "stop_maintenances"]) {
          expect(mesosAllows(acls, action, "machines", "mesos-agent", "10.20.16.4")).toBe(true);
          expect(mesosAllows(acls, action, "machines", "mesos-dns", "10.20.16.4")).toBe(profile !== "ha");
          expect(mesosAllows(acls, action, "machines", "admin", "10.20.16.4")).toBe(true);
        }
        // Reading the schedule is granted to the agents by an entry of its own (ha); it is a read-only view, denied to no one.
        expect(acls.get_maintenance_schedules).toEqual(profile === "ha" ? [{ principals: { values: ["mesos-agent"] }, machines: { type: "ANY" } }] : undefined);
        for (const principal of ["mesos-agent", "mesos-dns", "admin"]) expect(mesosAllows(acls, "get_maintenance_schedules", "machines", principal, "10.20.16.4")).toBe(true);
        // The drain also reads GET /master/maintenance/status: no entry, so permissive allows it, as for any principal.
        expect(acls.get_maintenance_statuses).toBeUndefined();
        expect(mesosAllows(acls, "get_maintenance_statuses", "machines", "mesos-agent", "10.20.16.4")).toBe(true);
        expect(mesosAllowsRunTask(acls, "mesos-agent", "nobody")).toBe(profile !== "ha");
        expect(mesosAllowsRunTask(acls, "mesos-dns", "nobody")).toBe(profile !== "ha");
        // Mesos-DNS only reads: no agent registration, flags, logs or sandboxes; the frameworks and tasks it reads stay visible.
        for (const [action, object, value] of [
          ["register_agents", "agents", "a1"],
          ["view_flags", "flags", "any"],
          ["access_mesos_logs", "logs", "any"],
          ["access_sandboxes", "users", "nobody"],
        ]) {
          expect(mesosAllows(acls, action, object, "mesos-dns", value)).toBe(profile !== "ha");
        }
        expect(mesosAllows(acls, "view_frameworks", "users", "mesos-dns", "nobody")).toBe(true);
        expect(mesosAllows(acls, "view_tasks", "users", "mesos-dns", "nobody")).toBe(true);
        // Every framework, authenticated or not (Swarm sends no principal), may run tasks as nobody and as no one else.
        for (const principal of [undefined, "marathon", "anyone"]) {
          expect(mesosAllowsRunTask(acls, principal, "nobody")).toBe(true);
          expect(mesosAllowsRunTask(acls, principal, "root")).toBe(false);
          expect(mesosAllowsRunTask(acls, principal, "ubuntu")).toBe(false);
        }
        expect(processOf(runtime, "marathon")!.flags.mesos_user).toEqual({ value: "nobody", source: "command line" });
        expect(model.files.find((f) => f.path === "/etc/mesos-cluster/swarm-manager.env")?.content).toContain("SWARM_MESOS_USER=nobody");
        expect(runtimeFindings(model)).toEqual([]);
      }
    });
  });
});

test("without task users or agent principals there is no ACL (Mesos then creates no authorizer)", () => {
  expect(mesosAcls({})).toBeUndefined();
  const agentOnly = JSON.parse(mesosAcls({ agentOnlyPrincipals: ["mesos-agent"] })!);
  expect(mesosAllowsRunTask(agentOnly, "mesos-agent", "root")).toBe(false);
  expect(mesosAllowsRunTask(agentOnly, undefined, "root")).toBe(true);
});

test("the oracle itself: without an ACL entry that matches, permissive decides; NONE denies whoever asks", () => {
  expect(mesosAllowsRunTask({ run_tasks: [] }, undefined, "root")).toBe(true);
  expect(mesosAllowsRunTask({ run_tasks: [], permissive: false }, "marathon", "nobody")).toBe(false);
  expect(mesosAllowsRunTask({ run_tasks: [{ principals: { values: ["marathon"] }, users: { values: ["nobody"] } }] }, undefined, "root")).toBe(true);
  expect(mesosAllowsRunTask(JSON.parse(runTasksAcl(["nobody", "app"])), undefined, "app")).toBe(true);
});

describe("refusals", () => {
  const stack = () => new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");
  function masters(s: TerraformStack, taskUsers?: string[]): MesosMasterGroup {
    const target = new AzureTarget(s, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY });
    const nodes = new NodeGroup(s, "masters", { target, count: 3, vmSize: "Standard_D2s_v5" });
    const zookeeper = new ZookeeperEnsemble(s, "zk", { nodes });
    return new MesosMasterGroup(s, "mesos", { nodes, zookeeper, taskUsers });
  }

  test("task users that are not a list of distinct user names", () => {
    expect(() => masters(stack(), [])).toThrow('lib/mesos: invalid taskUsers []; allowed: a non-empty list of distinct Unix user names');
    expect(() => masters(stack(), ["nobody", "Root"])).toThrow('lib/mesos: invalid taskUsers[1] "Root"; allowed: a Unix user name: a lower-case letter or _');
    expect(() => masters(stack(), ["nobody", "nobody"])).toThrow('lib/mesos: invalid taskUsers ["nobody","nobody"]; allowed: a non-empty list of distinct Unix user names');
  });

  test("Marathon, Swarm or an app asking for a user the ACL refuses", () => {
    const s = stack();
    const m = masters(s, ["nobody"]);
    expect(() => new MarathonService(s, "marathon-root", { masters: m, mesosUser: "root" })).toThrow(
      'lib/marathon-root: invalid mesosUser "root"; allowed: a user the masters\' run_tasks ACL admits (taskUsers of lib/mesos: nobody)',
    );
    expect(() => new MarathonService(s, "marathon-bad", { masters: m, mesosUser: "no body" })).toThrow('lib/marathon-bad: invalid mesosUser "no body"; allowed: a Unix user name');
    expect(() => new SwarmManager(s, "swarm", { masters: m, mesosUser: "root" })).toThrow(
      'lib/swarm: invalid mesosUser "root"; allowed: a user the masters\' run_tasks ACL admits (taskUsers of lib/mesos: nobody)',
    );
    const marathon = new MarathonService(s, "marathon", { masters: m });
    expect(marathon.mesosUser).toBe("nobody");
    expect(() => new MarathonApp(s, "app", { marathon, id: "/web", cmd: "sleep 1000", user: "root" })).toThrow(
      'lib/app: invalid user "root"; allowed: a user the masters\' run_tasks ACL admits (taskUsers of lib/mesos: nobody)',
    );
  });

  test("without taskUsers any framework user is accepted and no ACL is rendered", () => {
    const s = stack();
    const m = masters(s);
    expect(m.flagsFor("10.0.0.4").acls).toBeUndefined();
    expect(new MarathonService(s, "marathon", { masters: m, mesosUser: "root" }).argsFor("10.0.0.4")).toEqual(expect.arrayContaining(["--mesos_user", "root"]));
  });
});
