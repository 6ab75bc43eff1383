/**
 * `npm run rollout -- <stack>`: applies a change that replaces (or stops and
 * starts) masters one master at a time, waiting between masters until the
 * cluster is healthy again, then applies everything else in one full apply.
 *
 * What changes comes from plan-diff (base: the configuration deployed now,
 * head: the one to apply). Each master that goes down becomes one step, a
 * `terraform apply -auto-approve -target=...` in the stack's synth folder
 * with the terraform on PATH (the one cdktf runs), targeting the master and
 * what is replaced because of it alone (its data disk attachment); data
 * disks themselves are never replaced or destroyed by a rollout. Followers
 * go first and the current leaders last (ZooKeeper's `srvr` modes, Mesos's
 * leading master, Marathon's leader), so each service fails over once.
 *
 * The health checks are those of `npm run smoke` and the readiness gate
 * (constructs/cluster-client/checks.js) plus what only a rollout asks: the
 * replaced ZooKeeper member serves again, the leader counts every follower
 * synced (`mntr`), every Mesos master's replicated log has recovered and the
 * leader's log sees every master.
 */
import { spawn } from "child_process";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { createInterface } from "readline";
import { parseRoleHeader, STATEFUL_ROLES } from "../../constructs/internal";
import { checkZookeeper, ClusterEndpoints, clusterChecks, findMesosLeader, fourLetterWord } from "../../constructs/cluster-client/checks";
import { ClusterApiError, getFromServer, jsonOf, refuseAuth, sleep } from "../../constructs/cluster-client/http";
import { marathonTimeoutMs } from "../../constructs/cluster-client/marathon";
import { diffStack, ResourceChange, StackDiff } from "./plan-diff";
import { oneMasterAtATime } from "./plan-diff-report";
import { loadOutputs, parseSmokeArgs, resolveEndpoints, SmokeUsageError } from "./smoke";
import { synthesizeCheckout, synthesizeRef } from "./synth-checkout";
import { readSynthOutput, TfJson, userDataNodes } from "./synth-output";
import { readCommandLine } from "./command-line";

/** Where `cdktf synth` writes (cdktf.json "output"); the head is synthesized there unless --head names a folder. */
const SYNTH_DIR = "cdktf.out";
const DEFAULT_STEP_TIMEOUT_S = 900;
const DEFAULT_POLL_S = 5;

export const ROLLOUT_EXIT = { done: 0, error: 1, usage: 2, refused: 3, unhealthy: 4 } as const;

export const ROLLOUT_USAGE = `usage: npm run rollout -- <stack> (--base DIR | --base-ref REF) [--head DIR] [options]

Applies a change that replaces (or stops and starts) masters one master at a time:
one \`terraform apply -auto-approve -input=false -target=...\` per master in the
stack's synth folder (<head>/stacks/<stack>) with the terraform on PATH, followers
first and the current leaders last, waiting after each until the cluster is
healthy again; then one full \`terraform apply -auto-approve -input=false\` for
every other change.

What changes (plan-diff of base against head):
  --base DIR          synth output folder of the configuration deployed now
  --base-ref REF      or synthesize this git ref: the commit or tag deployed now
  --head DIR          synth output folder to apply (default: synthesize the working
                      tree into ${SYNTH_DIR}, as cdktf synth does)
Steps and bounds:
  --dry-run           print the cluster's health, its leaders and the steps; apply nothing
  --resume-from STEP  start at STEP (a master's name, or final), re-applying it
  --done STEP,...     the steps applied before (the resume command a stopped rollout
                      prints names them); without it, the steps before STEP in
                      today's order are taken as done
  --step-timeout S    seconds a step may take to become healthy after its apply (default ${DEFAULT_STEP_TIMEOUT_S})
  --poll-interval S   seconds between two health checks (default ${DEFAULT_POLL_S})
Where the cluster is (as for npm run smoke; default: the stack's Terraform outputs), one
server per master, in the masters' order (<stack>-masters-1 first):
  --outputs FILE  --via both|private|public  --zookeeper H:P,...  --mesos URL,...
  --marathon URL,...  --tls-ca FILE  --agents N  --request-timeout S
  --marathon-user NAME (password from MARATHON_PASSWORD)  --mesos-user NAME (MESOS_PASSWORD)

A step is healthy when the master's ZooKeeper member serves again (srvr: follower or
leader), every member serves with one leader that counts every follower synced (mntr
zk_synced_followers), every Mesos master answers /master/health, one leads and the
others redirect to it, each master's replicated log has recovered and the leader's log
sees every master (/metrics/snapshot registrar/log/recovered, registrar/log/ensemble_size),
the agents are registered again, and every Marathon instance names the same leader.

Refused (nothing applied) when the cluster is not healthy before the first step, when
the change replaces, destroys (or may replace) a master's data disk, adds or removes
masters, when the apply would fail, or when one step would take more than one master away.

Exit status: 0 rolled out (or nothing to roll out; --dry-run: the rollout would start),
1 an error (a failed terraform call: the resume command is printed), 2 misuse,
3 refused before anything was applied, 4 a step did not become healthy within
--step-timeout (stopped; what is wrong and the resume command are printed).`;

// ---------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------

/** A machine of the ZooKeeper ensemble / Mesos masters. */
export interface MasterMachine {
  readonly name: string;
  readonly address: string;
  readonly privateIp?: string;
}

export interface RolloutStep {
  /** The master's machine name, or `final`. */
  readonly name: string;
  readonly kind: "master" | "final";
  /** Position of the step's master among the masters running now (the endpoints' order). */
  readonly master?: number;
  /** `-target` addresses; none for the final full apply. */
  readonly targets: string[];
  /** What the step changes, for people. */
  readonly what: string;
}

export interface RolloutPlan {
  readonly stack: string;
  readonly diff: StackDiff;
  /** The masters running now (the base's), in their order. */
  readonly masters: MasterMachine[];
  /** The masters' steps in their order, the final apply last. */
  readonly steps: RolloutStep[];
  /** Why the rollout must not start; empty when it may. */
  readonly refusals: string[];
}

/** Masters (machines with a stateful role) of a stack, in their order: `-masters-2` before `-masters-10`. */
export function masterMachines(json: TfJson): MasterMachine[] {
  return userDataNodes(json)
    .filter((n) => n.kind === "fixed" && parseRoleHeader(n.text).some((r) => (STATEFUL_ROLES as readonly string[]).includes(r)))
    .map((n) => ({ name: n.name, address: n.address, privateIp: n.privateIp }))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

const DOWN: ResourceChange["action"][] = ["replace", "destroy", "unassessed"];

/**
 * Each resource's dependencies as Terraform's graph has them: the resources
 * its configuration names (expressions, depends_on). A targeted apply
 * applies its targets and everything they depend on (hashicorp/terraform
 * internal/terraform/transform_targets.go `selectTargetedNodes`: "a
 * dependency of a targeted node"). Naming is read generously: a false
 * dependency can only make the rollout refuse, never take a master away.
 */
function dependencyGraph(...jsons: TfJson[]): Map<string, Set<string>> {
  const resources = new Map<string, Record<string, unknown>>();
  for (const json of jsons) {
    for (const [prefix, blocks] of [["", json.resource], ["data.", json.data ?? {}]] as const) {
      for (const [type, byId] of Object.entries(blocks)) for (const [id, r] of Object.entries(byId)) resources.set(`${prefix}${type}.${id}`, r);
    }
  }
  const graph = new Map<string, Set<string>>();
  for (const [address, r] of resources) {
    const { "//": _metadata, ...configuration } = r;
    const named = JSON.stringify(configuration).match(/(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+/g) ?? [];
    graph.set(address, new Set(named.filter((n) => n !== address && resources.has(n))));
  }
  return graph;
}

function closure(graph: Map<string, Set<string>>, targets: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...targets];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...(graph.get(next) ?? []));
  }
  return seen;
}

/** Why a master goes down, in a few words. */
function describeMaster(diff: StackDiff, machine: string, targets: string[]): string {
  const parts: string[] = [];
  for (const address of targets) {
    const r = diff.resources.find((x) => x.address === address);
    const stopped = diff.stopped.find((s) => s.by === address && s.machine === machine);
    if (stopped) parts.push(`stopped by the destroy of ${address}`);
    else if (r?.stateful === "master" && r.action === "replace") parts.push(`replaced: ${r.reasonChains[0] ?? r.replaceReasons.join("; ")}`);
    else if (r?.stateful === "master" && r.action === "unassessed") parts.push(`may be replaced: ${r.reasonChains[0] ?? "plan-diff cannot rule it out"}`);
    else if (r?.restarts) parts.push(`stopped and started by the update of ${r.attributes.filter((a) => a.restarts).map((a) => a.path).join(", ")}${r.stateful === "data-disk" ? " (its data disk)" : ""}`);
  }
  return parts.join("; ") || "changes";
}

/** The steps of a rollout of `stack` from `base` to `head`, and why it must not start, if it must not. */
export function planRollout(stack: string, base: TfJson, head: TfJson): RolloutPlan {
  const diff = diffStack(stack, base, head);
  const masters = masterMachines(base);
  const refusals: string[] = [];
  for (const r of diff.resources.filter((x) => x.stateful === "data-disk" && DOWN.includes(x.action))) {
    const how = r.action === "unassessed" ? "may be replaced (plan-diff cannot rule it out: confirm with `npx cdktf diff`)" : r.action === "destroy" ? "is destroyed" : "is replaced";
    refusals.push(`the data disk of ${r.machine} (${r.address}) ${how}: its ZooKeeper data and Mesos replicated log would be lost; a rollout never applies that`);
  }
  // The master count: ZooKeeper's ensemble and the replicated log's --quorum change together, in an order of their
  // own (apache/mesos 1.7.1 docs/operational-guide.md "Increasing the quorum size": every existing master restarted
  // with the new --quorum first, then the new masters; "Decreasing": the reverse), which replacing one machine at a
  // time does not give.
  const count = (action: ResourceChange["action"]) => diff.resources.filter((x) => x.stateful === "master" && x.action === action).map((x) => x.machine);
  if (count("create").length + count("destroy").length > 0) {
    const how = [count("create").length ? `adds ${count("create").join(", ")}` : "", count("destroy").length ? `removes ${count("destroy").join(", ")}` : ""].filter(Boolean).join(" and ");
    refusals.push(`the change ${how}: a rollout keeps the number of masters (ZooKeeper's ensemble and the Mesos replicated log's --quorum change together, in the order of the Mesos operational guide)`);
  }
  for (const r of diff.failures) {
    refusals.push(`the apply fails at ${r.address}: ${r.attributes.filter((a) => a.effect === "fail").map((a) => `${a.path}: ${a.note}`).join("; ")}`);
  }

  const steps: RolloutStep[] = [];
  const graph = dependencyGraph(base, head);
  for (const { machine, targets } of oneMasterAtATime(diff)) {
    const master = masters.findIndex((m) => m.name === machine);
    if (master < 0) continue;
    steps.push({ name: machine, kind: "master", master, targets, what: describeMaster(diff, machine, targets) });
  }

  // A targeted apply includes what its targets depend on: two steps must not both include something that goes
  // down (another master, or what it runs on: a subnet or profile replaced under it), or one step reaches two masters.
  const down = new Set([...diff.resources.filter((r) => DOWN.includes(r.action)), ...diff.restarts].map((r) => r.address));
  for (const s of diff.stopped) down.add(s.by);
  const reach = new Map(steps.map((s) => [s.name, closure(graph, s.targets)]));
  for (const [i, step] of steps.entries()) {
    for (const other of steps.slice(i + 1)) {
      const shared = [...reach.get(step.name)!].filter((a) => down.has(a) && reach.get(other.name)!.has(a)).sort();
      if (shared.length > 0) {
        refusals.push(
          `the steps of ${step.name} and ${other.name} cannot be apart: both include ${shared.join(", ")}, which ${shared.length === 1 ? "goes" : "go"} down (replaced, destroyed or restarted), and a targeted apply includes everything its targets depend on: one step would reach two masters`,
        );
      }
    }
  }
  const others = diff.resources.filter((r) => !steps.some((s) => s.targets.includes(r.address))).length;
  steps.push({ name: "final", kind: "final", targets: [], what: `every other change (${others} resource${others === 1 ? "" : "s"}${diff.outputs.length ? ", outputs" : ""})` });
  return { stack, diff, masters, steps, refusals };
}

/** Who leads each service, as positions among the masters. */
export interface Leaders {
  readonly zookeeper?: number;
  readonly mesos?: number;
  readonly marathon?: number;
}

/**
 * The order of the steps: masters leading nothing first, then leaders, the
 * Mesos leader last (its failover makes every agent and
 * framework re-register), then the final apply. Ties keep the masters' order.
 */
export function orderSteps(steps: RolloutStep[], leaders: Leaders): RolloutStep[] {
  const weight = (s: RolloutStep): number =>
    s.kind === "final" ? 8 : (leaders.mesos === s.master ? 4 : 0) + (leaders.zookeeper === s.master ? 2 : 0) + (leaders.marathon === s.master ? 1 : 0);
  return [...steps].sort((a, b) => weight(a) - weight(b) || (a.master ?? 0) - (b.master ?? 0));
}

function leadsText(leaders: Leaders, master: number | undefined): string {
  const led = (["zookeeper", "mesos", "marathon"] as const).filter((s) => master !== undefined && leaders[s] === master);
  const names = { zookeeper: "ZooKeeper", mesos: "Mesos", marathon: "Marathon" };
  return led.length > 0 ? ` (leads ${led.map((s) => names[s]).join(", ")})` : "";
}

// ---------------------------------------------------------------------------------------------
// The cluster: endpoints per master, leaders, health
// ---------------------------------------------------------------------------------------------

function hostOf(address: string): string {
  try {
    return new URL(address.includes("://") ? address : `tcp://${address}`).hostname;
  } catch {
    return address;
  }
}

/**
 * The endpoints in the masters' order: by each master's private IP where
 * every server names one, else as given (the outputs list the masters in
 * their order). A server count other than the masters' is refused.
 */
export function alignToMasters(endpoints: ClusterEndpoints, masters: MasterMachine[]): ClusterEndpoints {
  const align = (servers: string[][], flag: string): string[][] => {
    if (servers.length === 0) return servers;
    if (servers.length !== masters.length) {
      throw new SmokeUsageError(`${flag}: ${servers.length} server${servers.length === 1 ? "" : "s"} for ${masters.length} masters (${masters.map((m) => m.name).join(", ")}): give one per master, in their order`);
    }
    const byIp = masters.map((m) => servers.findIndex((alternatives) => alternatives.some((a) => hostOf(a) === m.privateIp)));
    return !byIp.includes(-1) && new Set(byIp).size === masters.length ? byIp.map((i) => servers[i]) : servers;
  };
  return { ...endpoints, zookeeper: endpoints.zookeeper && align(endpoints.zookeeper, "--zookeeper"), mesos: align(endpoints.mesos, "--mesos"), marathon: align(endpoints.marathon, "--marathon") };
}

/** One health condition: what was checked, whether it holds, what was seen. */
export interface GateItem {
  readonly name: string;
  readonly ok: boolean;
  readonly summary: string;
  /** Waiting cannot help (credentials refused, a certificate the CA does not vouch for). */
  readonly fatal?: boolean;
}

async function item(name: string, body: () => Promise<Omit<GateItem, "name">>): Promise<GateItem> {
  try {
    return { name, ...(await body()) };
  } catch (e) {
    const error = e as Error;
    return { name, ok: false, summary: error.message, fatal: error instanceof ClusterApiError && (error.kind === "auth" || error.kind === "tls") };
  }
}

/**
 * ZooKeeper: the ensemble check of smoke (every member answers ruok and
 * srvr, one leader); the leader's `mntr` counts every other member as a
 * synced follower (`zk_synced_followers`: LeaderZooKeeperServer's gauge of
 * the followers the leader forwards proposals to, apache/zookeeper
 * server/quorum/LeaderZooKeeperServer.java `registerMetrics`, printed by
 * server/command/MonitorCommand.java); with `focus`, that member serves
 * again as follower or leader (standalone alone).
 */
async function zookeeperGate(members: string[][], names: string[], timeoutMs: number, focus?: number): Promise<GateItem[]> {
  const ensemble = await checkZookeeper(members, timeoutMs);
  const modes = ensemble.members;
  const items: GateItem[] = [];
  if (focus !== undefined) {
    const m = modes[focus];
    const wanted = members.length === 1 ? ["standalone"] : ["follower", "leader"];
    const ok = m.mode !== undefined && wanted.includes(m.mode);
    const seen = m.mode ? `serves as ${m.mode}` : m.problem;
    items.push({ name: "zookeeper-member", ok, summary: `${names[focus]} (${m.address}) ${seen}${ok ? "" : `; expected it back in the ensemble as ${wanted.join(" or ")}`}` });
  }
  // A standalone server (dev's single master) has no followers to count.
  if (!ensemble.ok || members.length === 1) return [...items, { name: "zookeeper", ok: ensemble.ok, summary: ensemble.summary }];
  // ok with several members: exactly one of them answered srvr as leader.
  const leader = modes.findIndex((m) => m.mode === "leader");
  const mntr = await fourLetterWord(modes[leader].address, "mntr", timeoutMs).catch((e: Error) => e.message);
  const synced = /^zk_synced_followers\s+(\d+)/m.exec(mntr)?.[1];
  const expected = members.length - 1;
  if (synced === undefined) {
    return [...items, { name: "zookeeper", ok: false, summary: `${ensemble.summary}; the leader ${names[leader]} answers mntr without zk_synced_followers (${mntr.trim().split("\n")[0] || "nothing"}; mntr must be in 4lw.commands.whitelist)` }];
  }
  const ok = Number(synced) >= expected;
  return [...items, { name: "zookeeper", ok, summary: `${ensemble.summary}; the leader ${names[leader]} has ${synced} of ${expected} followers synced (mntr)` }];
}

/**
 * Mesos masters beyond smoke's checks: each master's replicated log replica
 * has recovered (caught up: apache/mesos 1.7.1 src/log/log.cpp, every
 * master's LogProcess starts its recovery at initialize; `_recovered` is 1
 * once it is done) and the leading master's log sees every master's replica
 * in its ZooKeeper group (`registrar/log/ensemble_size`, src/log/log.hpp
 * `_ensemble_size`: the network's size), read from /metrics/snapshot
 * (src/log/metrics.cpp with the prefix "registrar/" of src/master/main.cpp;
 * docs/monitoring.md).
 */
async function mesosLogGate(endpoints: ClusterEndpoints, names: string[], focus?: number): Promise<GateItem> {
  return item("mesos-masters", async () => {
    const credentials = endpoints.mesosCredentials;
    const options = { credentials, tls: endpoints.mesosTls, timeoutMs: endpoints.requestTimeoutMs ?? 5000 };
    const answers = await Promise.all(
      endpoints.mesos.map(async (alternatives): Promise<{ metrics?: Record<string, number>; problem?: string }> => {
        try {
          const response = await getFromServer(alternatives, "/metrics/snapshot", options);
          refuseAuth(response, "the Mesos master", credentials, { forbiddenIsAuth: true });
          return response.status === 200 ? { metrics: jsonOf(response) as Record<string, number> } : { problem: `answers /metrics/snapshot with HTTP ${response.status}` };
        } catch (e) {
          if (e instanceof ClusterApiError && e.kind !== "unreachable") throw e;
          return { problem: `does not answer (${(e as Error).message})` };
        }
      }),
    );
    const problems: string[] = [];
    answers.forEach((a, i) => {
      if (a.problem) problems.push(`${names[i]} ${a.problem}`);
      else if (a.metrics?.["registrar/log/recovered"] !== 1) problems.push(`${names[i]}'s replicated log has not recovered yet (registrar/log/recovered ${a.metrics?.["registrar/log/recovered"] ?? "missing"})`);
    });
    const leader = answers.findIndex((a) => a.metrics?.["master/elected"] === 1);
    const size = leader >= 0 ? answers[leader].metrics?.["registrar/log/ensemble_size"] : undefined;
    if (leader < 0) problems.push("no master reports master/elected 1");
    else if (size !== endpoints.mesos.length) problems.push(`the leader ${names[leader]}'s replicated log sees ${size ?? "no"} of ${endpoints.mesos.length} masters (registrar/log/ensemble_size)`);
    // The stepped master's problems first: it is what the step waits for.
    if (focus !== undefined) problems.sort((a, b) => Number(b.startsWith(names[focus])) - Number(a.startsWith(names[focus])));
    if (problems.length > 0) return { ok: false, summary: problems.join("; ") };
    return { ok: true, summary: `${answers.length} of ${answers.length} masters' replicated logs recovered; the leader ${names[leader]}'s log sees all ${size}` };
  });
}

/** smoke's checks a rollout waits for (constructs/cluster-client/checks.js). */
const SMOKE_GATE = ["mesos-health", "mesos-leader", "mesos-agents", "marathon-leader"];

/**
 * Every health condition of the cluster, at once; with `focus`, also that
 * master's ZooKeeper member is back. Services without endpoints are left out.
 */
export async function clusterGate(endpoints: ClusterEndpoints, names: string[], focus?: number): Promise<GateItem[]> {
  const timeoutMs = endpoints.requestTimeoutMs ?? 5000;
  const smoke = clusterChecks({ ...endpoints, zookeeper: undefined, swarm: undefined, checkRuntime: false }).filter(
    (c) => SMOKE_GATE.includes(c.name) && (c.name.startsWith("mesos") ? endpoints.mesos : endpoints.marathon).length > 0,
  );
  const [zookeeper, log, ...checked] = await Promise.all([
    endpoints.zookeeper?.length ? zookeeperGate(endpoints.zookeeper, names, timeoutMs, focus) : Promise.resolve([]),
    endpoints.mesos.length > 0 ? mesosLogGate(endpoints, names, focus) : Promise.resolve(undefined),
    ...smoke.map(async (c) => ({ name: c.name, ...(await c.run()) })),
  ]);
  const items: GateItem[] = [...zookeeper, ...checked];
  if (log) items.splice(zookeeper.length + 2, 0, log);
  return items;
}

/** Checks until every condition holds, one is fatal, or the deadline passes. */
export async function waitUntilHealthy(evaluate: () => Promise<GateItem[]>, deadline: number, pollMs: number): Promise<{ ok: boolean; items: GateItem[]; checks: number }> {
  for (let checks = 1; ; checks++) {
    const items = await evaluate();
    const ok = items.every((i) => i.ok);
    if (ok || items.some((i) => i.fatal) || Date.now() + pollMs > deadline) return { ok, items, checks };
    await sleep(pollMs);
  }
}

/** Who leads ZooKeeper (`srvr`), Mesos (the master serving /master/state) and Marathon (/v2/info `leader`). */
export async function findLeaders(endpoints: ClusterEndpoints): Promise<Leaders> {
  const timeoutMs = endpoints.requestTimeoutMs ?? 5000;
  const modes = endpoints.zookeeper ? (await checkZookeeper(endpoints.zookeeper, timeoutMs)).members : [];
  const zookeeper = modes.findIndex((m) => m.mode === "leader");
  const found = endpoints.mesos.length > 0 ? await findMesosLeader(endpoints.mesos, endpoints.mesosCredentials, timeoutMs, endpoints.mesosTls).catch(() => undefined) : undefined;
  const mesos = found?.base ? endpoints.mesos.findIndex((alternatives) => alternatives.includes(found.base!)) : -1;
  let marathon = -1;
  for (const alternatives of endpoints.marathon) {
    const info = await getFromServer(alternatives, "/v2/info", { credentials: endpoints.marathonCredentials, tls: endpoints.marathonTls, timeoutMs: marathonTimeoutMs(timeoutMs) }).catch(() => undefined);
    if (info?.status !== 200) continue;
    // `leader` is the leader's `--hostname:--http_port`; the URLs may reach it through another port (the TLS proxy).
    const leader = String((jsonOf(info) as { leader?: unknown }).leader ?? "").toLowerCase();
    const hostPort = (a: string) => (a.includes("://") ? new URL(a).host : a).toLowerCase();
    const exact = endpoints.marathon.findIndex((alts) => alts.some((a) => hostPort(a) === leader));
    marathon = exact >= 0 ? exact : endpoints.marathon.findIndex((alts) => alts.some((a) => hostOf(a) === hostOf(leader)));
    break;
  }
  const at = (i: number) => (i >= 0 ? i : undefined);
  return { zookeeper: at(zookeeper), mesos: at(mesos), marathon: at(marathon) };
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

type Out = (line: string) => void;

export interface RolloutArgs {
  readonly stack: string;
  readonly base?: string;
  readonly baseRef?: string;
  readonly head?: string;
  readonly dryRun: boolean;
  readonly resumeFrom?: string;
  /**
   * Steps applied by an earlier run (`--done`). The order is worked out again from who leads now,
   * so "the steps before --resume-from" may not be the ones that were applied: a stopped rollout's
   * resume command names them.
   */
  readonly done?: string[];
  readonly stepTimeoutMs: number;
  readonly pollMs: number;
  /** The stack and the endpoint flags, for smoke's parser. */
  readonly endpointArgs: string[];
}

class HelpRequested extends Error {}

/** Flags that say where the cluster is, passed on to smoke's parser. */
const ENDPOINT_FLAGS = ["--outputs", "--via", "--zookeeper", "--mesos", "--marathon", "--tls-ca", "--agents", "--marathon-user", "--mesos-user", "--request-timeout"];
const OWN_FLAGS = ["--base", "--base-ref", "--head", "--resume-from", "--done", "--step-timeout", "--poll-interval"];

function seconds(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new SmokeUsageError(`${flag} must be a number of seconds >= ${min}, not ${JSON.stringify(text)}`);
  return value * 1000;
}

export function parseRolloutArgs(argv: string[]): RolloutArgs {
  const { values, switches, stack } = readCommandLine(argv, {
    values: [...OWN_FLAGS, ...ENDPOINT_FLAGS],
    switches: ["--help", "-h", "--dry-run"],
    alone: ["--help", "-h"],
    example: "ha",
    misuse: (m) => new SmokeUsageError(m),
  });
  if (switches.has("--help") || switches.has("-h")) throw new HelpRequested();
  if (values.has("--base") === values.has("--base-ref")) throw new SmokeUsageError("give exactly one of --base DIR or --base-ref REF: the configuration deployed now");
  if (values.has("--done") && !values.has("--resume-from")) throw new SmokeUsageError("--done names the steps before --resume-from: give both");
  return {
    stack,
    base: values.get("--base"),
    baseRef: values.get("--base-ref"),
    head: values.get("--head"),
    dryRun: switches.has("--dry-run"),
    resumeFrom: values.get("--resume-from"),
    done: values.get("--done")?.split(",").filter((x) => x !== ""),
    stepTimeoutMs: seconds("--step-timeout", values.get("--step-timeout") ?? String(DEFAULT_STEP_TIMEOUT_S), 0.01),
    pollMs: seconds("--poll-interval", values.get("--poll-interval") ?? String(DEFAULT_POLL_S), 0.01),
    // Passed on to smoke's parser, which reads where the cluster is from them.
    endpointArgs: [stack, ...ENDPOINT_FLAGS.filter((f) => values.has(f)).flatMap((f) => [f, values.get(f)!])],
  };
}

/** A shell word: as is when safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command that resumes at `step` after the `done` steps: the same arguments, without --dry-run and an earlier --resume-from / --done. */
export function resumeCommand(argv: string[], step: string, done: string[] = []): string {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--dry-run" || argv[i].startsWith("--resume-from=") || argv[i].startsWith("--done=")) continue;
    if (argv[i] === "--resume-from" || argv[i] === "--done") {
      i++;
      continue;
    }
    kept.push(argv[i]);
  }
  return `npm run rollout -- ${[...kept, "--resume-from", step, ...(done.length > 0 ? ["--done", done.join(",")] : [])].map(shellWord).join(" ")}`;
}

/** Runs terraform (the one on PATH) in `cwd`, its output indented into `out`. */
function runTerraform(args: string[], cwd: string, env: NodeJS.ProcessEnv, out: Out): Promise<{ ok: boolean; problem?: string }> {
  return new Promise((done) => {
    const child = spawn("terraform", args, { cwd, env: { ...env, TF_IN_AUTOMATION: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    const streams = [child.stdout, child.stderr].map((s) => {
      const lines = createInterface({ input: s });
      lines.on("line", (line) => out(`      ${line}`));
      return new Promise<void>((r) => lines.once("close", () => r()));
    });
    child.once("error", (e: NodeJS.ErrnoException) =>
      done({ ok: false, problem: e.code === "ENOENT" ? "there is no terraform on PATH (rollout runs the terraform cdktf runs)" : `terraform could not start: ${e.message}` }),
    );
    child.once("close", async (code, signal) => {
      await Promise.all(streams);
      done(code === 0 ? { ok: true } : { ok: false, problem: `terraform ${args[0]} exited with ${code ?? signal}` });
    });
  });
}

function secondsText(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The health items as indented lines. */
function itemLines(items: GateItem[], only: "failing" | "all"): string[] {
  return items.filter((i) => only === "all" || !i.ok).map((i) => `  ${i.ok ? "ok  " : "NOT "} ${i.name}: ${i.summary}`);
}

/** Synthesizes or reads base and head, returns both stacks' JSON and where the head lives. */
function synthSides(args: RolloutArgs, env: NodeJS.ProcessEnv, cwd: string, out: Out): { base: TfJson; head: TfJson; headDir: string; baseLabel: string } {
  const temp = mkdtempSync(join(tmpdir(), "rollout-"));
  try {
    const baseDir = args.base !== undefined ? resolve(cwd, args.base) : join(temp, "base");
    let baseLabel = args.base ?? "";
    if (args.baseRef !== undefined) {
      const { commit, warning } = synthesizeRef(cwd, args.baseRef, baseDir, env);
      if (warning) out(`rollout: warning: ${warning}`);
      baseLabel = `${args.baseRef} (${commit.slice(0, 12)})`;
    }
    const headDir = resolve(cwd, args.head ?? SYNTH_DIR);
    if (args.head === undefined) synthesizeCheckout(cwd, headDir, env);
    const pick = (dir: string, side: string) => {
      const stacks = readSynthOutput(dir);
      const json = stacks.get(args.stack);
      if (!json) throw new Error(`the ${side} (${dir}) has no stack ${args.stack} (stacks: ${[...stacks.keys()].join(", ") || "none"})`);
      return json;
    };
    return { base: pick(baseDir, "base"), head: pick(headDir, "head"), headDir, baseLabel };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** The whole command; see ROLLOUT_USAGE for the exit status. */
export async function rolloutMain(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out, cwd = process.cwd()): Promise<number> {
  let args: RolloutArgs;
  let smokeOptions: ReturnType<typeof parseSmokeArgs>;
  try {
    args = parseRolloutArgs(argv);
    const headDir = resolve(cwd, args.head ?? SYNTH_DIR);
    // Only what a rollout checks: ZooKeeper, the Mesos masters and agents, Marathon's leader.
    smokeOptions = parseSmokeArgs([...args.endpointArgs, "--synth-dir", headDir, "--skip", "marathon-apps,swarm,runtime,test-app,discovery"], env);
  } catch (e) {
    if (e instanceof HelpRequested) {
      out(ROLLOUT_USAGE);
      return ROLLOUT_EXIT.done;
    }
    if (!(e instanceof SmokeUsageError)) throw e;
    err(`rollout: ${e.message}`);
    err(ROLLOUT_USAGE);
    return ROLLOUT_EXIT.usage;
  }

  let sides: ReturnType<typeof synthSides>;
  try {
    sides = synthSides(args, env, cwd, out);
  } catch (e) {
    err(`rollout: ${(e as Error).message}`);
    return ROLLOUT_EXIT.error;
  }
  const plan = planRollout(args.stack, sides.base, sides.head);
  const stackDir = join(sides.headDir, "stacks", args.stack);
  out(`rollout: stack ${args.stack}: ${sides.baseLabel} -> ${sides.headDir}`);
  if (plan.diff.resources.length + plan.diff.outputs.length + plan.diff.settings.length === 0) {
    out("rollout: no changes: nothing to roll out");
    return ROLLOUT_EXIT.done;
  }
  const masterSteps = plan.steps.filter((s) => s.kind === "master");
  out(`rollout: ${masterSteps.length} of ${plan.masters.length} master${plan.masters.length === 1 ? "" : "s"} go${masterSteps.length === 1 ? "es" : ""} down one at a time; then ${plan.steps[plan.steps.length - 1].what}`);
  if (plan.masters.length === 1 && masterSteps.length > 0) out("rollout: note: a single master: ZooKeeper, Mesos and Marathon are down while it is replaced");
  if (plan.refusals.length > 0) {
    err(`rollout: REFUSED${args.dryRun ? " (dry run)" : ""}: nothing was applied:`);
    for (const r of plan.refusals) err(`  - ${r}`);
    return ROLLOUT_EXIT.refused;
  }

  let endpoints: ClusterEndpoints;
  try {
    ({ endpoints } = resolveEndpoints(smokeOptions, () => loadOutputs(smokeOptions, cwd)));
    endpoints = alignToMasters(endpoints, plan.masters);
  } catch (e) {
    if (!(e instanceof SmokeUsageError)) throw e;
    err(`rollout: ${e.message}`);
    return ROLLOUT_EXIT.usage;
  }
  const names = plan.masters.map((m) => m.name);
  const [health, leaders] = await Promise.all([clusterGate(endpoints, names), findLeaders(endpoints)]);
  const healthy = health.every((i) => i.ok);
  const leaderName = (i: number | undefined) => (i === undefined ? "unknown" : names[i]);
  out(`rollout: leaders: ZooKeeper ${leaderName(leaders.zookeeper)}, Mesos ${leaderName(leaders.mesos)}, Marathon ${leaderName(leaders.marathon)}`);
  out(`rollout: the cluster is ${healthy ? "healthy" : "NOT healthy"}:`);
  for (const line of itemLines(health, "all")) out(line);

  const ordered = orderSteps(plan.steps, leaders);
  const unknown = [args.resumeFrom, ...(args.done ?? [])].filter((n): n is string => n !== undefined && !ordered.some((s) => s.name === n));
  if (unknown.length > 0 || (args.resumeFrom !== undefined && args.done?.includes(args.resumeFrom))) {
    err(`rollout: --resume-from ${args.resumeFrom}${args.done ? ` --done ${args.done.join(",")}` : ""}: ${unknown.length > 0 ? `no such step ${unknown.join(", ")}` : "the step to resume from is among those done"} (steps: ${ordered.map((s) => s.name).join(", ")})`);
    return ROLLOUT_EXIT.usage;
  }
  // Resuming: the steps applied before come first (skipped), then STEP, then the rest in today's order.
  const done = new Set(args.done ?? (args.resumeFrom === undefined ? [] : ordered.slice(0, ordered.findIndex((s) => s.name === args.resumeFrom)).map((s) => s.name)));
  const resumed = ordered.find((s) => s.name === args.resumeFrom);
  const steps = [...ordered.filter((s) => done.has(s.name)), ...(resumed ? [resumed] : []), ...ordered.filter((s) => !done.has(s.name) && s !== resumed)];
  const start = done.size;
  const applyArgs = (s: RolloutStep) => ["apply", "-auto-approve", "-input=false", ...s.targets.map((t) => `-target=${t}`)];
  const bound = `each master step then waits at most ${secondsText(args.stepTimeoutMs)} (--step-timeout), checking every ${secondsText(args.pollMs)}, until the cluster is healthy again`;
  out(`rollout: ${args.dryRun ? "plan (dry run: nothing is applied)" : "steps"}, in ${stackDir}; ${bound}:`);
  for (const [i, s] of steps.entries()) {
    const skipped = i < start ? " [done before --resume-from]" : "";
    out(`  ${i + 1}/${steps.length} ${s.name}${leadsText(leaders, s.master)}: ${s.what}${skipped}`);
    out(`      terraform ${applyArgs(s).join(" ")}`);
  }
  if (!healthy && args.resumeFrom === undefined) {
    err(`rollout: REFUSED${args.dryRun ? " (dry run)" : ""}: the cluster is not healthy before the first step, and a rollout takes away only healthy masters:`);
    for (const line of itemLines(health, "failing")) err(line);
    err(`  find out why (npm run smoke -- ${args.stack}) and run the rollout again once the cluster is healthy`);
    return ROLLOUT_EXIT.refused;
  }
  if (args.dryRun) return ROLLOUT_EXIT.done;
  if (!healthy) out(`rollout: resuming at ${args.resumeFrom} although the cluster is not healthy: that step is applied again and waited for`);

  const began = Date.now();
  const stop = (step: RolloutStep, why: string[], code: number): number => {
    for (const line of why) err(line);
    const applied = steps.slice(0, steps.indexOf(step)).map((s) => s.name);
    err(`rollout: resume with: ${resumeCommand(argv, step.name, applied)}`);
    return code;
  };
  const init = await runTerraform(["init", "-input=false"], stackDir, env, out);
  if (!init.ok) return stop(steps[start], [`rollout: FAILED: ${init.problem} in ${stackDir}`], ROLLOUT_EXIT.error);
  for (const [i, step] of steps.entries()) {
    if (i < start) {
      out(`[${i + 1}/${steps.length}] ${step.name} skipped (before --resume-from)`);
      continue;
    }
    const label = `[${i + 1}/${steps.length}] ${step.name}`;
    const stepBegan = Date.now();
    out(`${label}: terraform ${applyArgs(step).join(" ")}`);
    const applied = await runTerraform(applyArgs(step), stackDir, env, out);
    const applyMs = Date.now() - stepBegan;
    if (!applied.ok) return stop(step, [`${label} FAILED after ${secondsText(applyMs)}: ${applied.problem}`, `rollout: STOPPED at ${step.name}: fix what terraform reports`], ROLLOUT_EXIT.error);
    if (step.kind === "final") {
      out(`${label} applied in ${secondsText(applyMs)}; ${secondsText(Date.now() - began)} since the start`);
      break;
    }
    const waited = await waitUntilHealthy(() => clusterGate(endpoints, names, step.master), Date.now() + args.stepTimeoutMs, args.pollMs);
    const total = `${secondsText(Date.now() - began)} since the start`;
    if (!waited.ok) {
      const why = waited.items.some((x) => x.fatal) ? "a check failed in a way waiting cannot fix" : `not healthy within --step-timeout ${secondsText(args.stepTimeoutMs)}`;
      out(`${label} NOT HEALTHY: applied in ${secondsText(applyMs)}, then ${why} (${waited.checks} checks); ${total}`);
      return stop(
        step,
        [`rollout: STOPPED at ${step.name}: ${why}; what is wrong:`, ...itemLines(waited.items, "failing"), `  the other steps were not applied; find out why (npm run smoke -- ${args.stack}), fix it, then resume`],
        waited.items.some((x) => x.fatal) ? ROLLOUT_EXIT.error : ROLLOUT_EXIT.unhealthy,
      );
    }
    out(`${label} healthy: applied in ${secondsText(applyMs)}, healthy after ${secondsText(Date.now() - stepBegan - applyMs)} (${waited.checks} checks); ${total}`);
  }
  out(`rollout: done: ${steps.length - start} step${steps.length - start === 1 ? "" : "s"} in ${secondsText(Date.now() - began)}; check the whole cluster with npm run smoke -- ${args.stack}`);
  return ROLLOUT_EXIT.done;
}
