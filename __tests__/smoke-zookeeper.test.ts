/**
 * The smoke command's ZooKeeper step against real ZooKeeper servers (Debian's
 * zookeeper 3.8) running the zoo.cfg our user data renders, on loopback
 * addresses of their own: one leader in a healthy ensemble; a stopped leader
 * fails the step naming the member and the leader elected in its place; no
 * quorum fails it as "no leader"; a single member must be standalone.
 */
import { App } from "cdktf";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { smokeMain } from "../scripts/lib/smoke";
import { describeWithTool } from "./helpers/tools";
import { RunningEnsemble, sleep, startEnsemble, ZkMode, ZOOKEEPER_TOOL } from "./helpers/zookeeper";
import { TEST_SSH_KEY } from "./helpers/synth";

const ONLY_ZOOKEEPER = ["--skip", "mesos-health,mesos-leader,mesos-agents,marathon-leader,marathon-apps,swarm", "--retries", "0", "--request-timeout", "2"];

/** The ensemble a stack's masters run, from their rendered zoo.cfg, on 127.0.0.<first>... */
async function ensembleOf(profile: "dev" | "ha", first: number): Promise<RunningEnsemble> {
  const stack = new MesosClusterStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), profile, { profile, sshPublicKey: TEST_SSH_KEY });
  const zk = stack.zookeeper;
  const ipMap = Object.fromEntries(zk.members.map((m, i) => [m.ip, `127.0.0.${first + i}`]));
  return startEnsemble(zk.members.map((m) => ({ myid: m.myid, zooCfg: zk.renderZooCfg() })), ipMap);
}

async function modes(ensemble: RunningEnsemble): Promise<Record<number, ZkMode>> {
  const entries = await Promise.all(ensemble.members.map(async (m) => [m.myid, await ensemble.mode(m.myid)] as const));
  return Object.fromEntries(entries);
}

/** Waits (bounded) until the members' modes satisfy `done`. */
async function until(ensemble: RunningEnsemble, what: string, done: (m: Record<number, ZkMode>) => boolean): Promise<Record<number, ZkMode>> {
  const deadline = Date.now() + 30000;
  for (;;) {
    const m = await modes(ensemble);
    if (done(m)) return m;
    if (Date.now() > deadline) throw new Error(`ZooKeeper never reached "${what}": ${JSON.stringify(m)}`);
    await sleep(100);
  }
}

const leaderOf = (m: Record<number, ZkMode>) => Object.entries(m).filter(([, mode]) => mode === "leader").map(([id]) => Number(id));

async function smoke(zookeeper: string): Promise<{ code: number; line: string; last: string }> {
  const out: string[] = [];
  const code = await smokeMain(["ha", "--zookeeper", zookeeper, ...ONLY_ZOOKEEPER], {}, (l) => out.push(l), (l) => out.push(l));
  return { code, line: out.find((l) => l.startsWith("[1/1] zookeeper")) ?? out.join("\n"), last: out[out.length - 1] };
}

describeWithTool(ZOOKEEPER_TOOL, "smoke's ZooKeeper step against a real ensemble", () => {
  let ensemble: RunningEnsemble;
  const address = (myid: number) => {
    const m = ensemble.members.find((x) => x.myid === myid)!;
    return `${m.host}:${m.clientPort}`;
  };

  beforeAll(async () => {
    ensemble = await ensembleOf("ha", 31);
    await until(ensemble, "one leader, two followers", (m) => leaderOf(m).length === 1 && Object.values(m).filter((x) => x === "follower").length === 2);
  }, 60000);

  afterAll(async () => {
    await ensemble?.stopAll();
  });

  test("passes with exactly one leader, from the stack's connect string", async () => {
    const leader = leaderOf(await modes(ensemble))[0];
    const result = await smoke(ensemble.connectString);
    expect(result.code).toBe(0);
    expect(result.line).toMatch(new RegExp(`zookeeper +ok +3 of 3 members serve; leader ${address(leader).replace(/\./g, "\\.")}, 2 followers`));
  });

  test("a stopped leader fails the step naming the member, and the leader the others elected", async () => {
    const [old] = leaderOf(await modes(ensemble));
    await ensemble.stop(old);
    const after = await until(ensemble, "a new leader among the others", (m) => leaderOf(m).length === 1);
    const [elected] = leaderOf(after);
    const result = await smoke(ensemble.connectString);
    expect(result.code).toBe(1);
    expect(result.line).toContain(`FAILED  ${address(old)} does not answer (`);
    expect(result.line).toContain(`2 of 3 members serve with leader ${address(elected)}`);
    expect(result.last).toBe("smoke: FAILED at zookeeper");

    // Without a quorum nobody leads: the remaining member answers but does not serve.
    const other = ensemble.members.map((m) => m.myid).find((id) => id !== old && id !== elected)!;
    await ensemble.stop(elected);
    await until(ensemble, "no leader", (m) => leaderOf(m).length === 0);
    // The remaining member leaves its role a moment after the leader goes: while it closes its
    // connections a four-letter word gets no answer at all. Ask again (bounded) until it has settled.
    let none = await smoke(ensemble.connectString);
    for (const deadline = Date.now() + 30000; !none.line.includes("not serving (") && Date.now() < deadline; ) {
      await sleep(200);
      none = await smoke(ensemble.connectString);
    }
    expect(none.code).toBe(1);
    expect(none.line).toContain(`${address(other)} not serving (This ZooKeeper instance is not currently serving requests)`);
    expect(none.line).toContain("no leader; 0 of 3 members serve");

    // Back to three: one leader again.
    await Promise.all([ensemble.start(old), ensemble.start(elected)]);
    await until(ensemble, "one leader, two followers again", (m) => leaderOf(m).length === 1 && Object.values(m).filter((x) => x === "follower").length === 2);
    expect((await smoke(ensemble.connectString)).code).toBe(0);
  }, 90000);
});

describeWithTool(ZOOKEEPER_TOOL, "smoke's ZooKeeper step against a single member", () => {
  let single: RunningEnsemble;
  beforeAll(async () => {
    single = await ensembleOf("dev", 34);
    await until(single, "standalone", (m) => m[1] === "standalone");
  }, 60000);
  afterAll(async () => {
    await single?.stopAll();
  });

  test("a single member must be standalone", async () => {
    const result = await smoke(single.connectString);
    expect(result.code).toBe(0);
    expect(result.line).toContain(`standalone member ${single.connectString} serves`);
  });
});
