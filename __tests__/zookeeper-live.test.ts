/**
 * The masters' ZooKeeper configuration, run for real: Debian's ZooKeeper 3.8
 * (QuorumPeerMain) started from each master's zoo.cfg and myid exactly as
 * the user data renders them, with the masters' addresses mapped to
 * 127.0.0.1-3. `ha` must elect a leader, replicate, survive its leader's loss
 * and take the old leader back as a follower; `dev` runs standalone.
 * Step timings are printed (they are measurements, not assertions).
 *
 * `npm run smoke`'s ZooKeeper step is checked against the same servers at
 * each stage: one leader in a healthy ensemble; a stopped leader fails the
 * step naming the member and the leader elected in its place; no quorum fails
 * it as "no leader"; a single server must be standalone. So is `npm run
 * rollout`'s member-rejoin gate: the stopped member fails it; started again,
 * the gate waits until it is back as a follower the leader has synced. (The
 * fake cluster's four-letter-word answers are checked against these servers'
 * lines and keys here too.)
 *
 * The ensembles run from the Azure masters' configuration. The AWS masters'
 * is the same once each member's address is mapped as the harness maps it
 * (rewriteZooCfg): the same myids, the same lines, member for member, which
 * is what ZooKeeper's behaviour depends on. A test proves that equality
 * first, so the AWS configuration is not run a second time (each run starts
 * 6 JVMs; ZooKeeper's files hold 127.0.0.1-3 machine-wide, one at a time).
 */
import { ZOO_CFG_PATH } from "../constructs/zookeeper-ensemble";
import { smokeMain } from "../scripts/lib/smoke";
import { ClusterEndpoints, fourLetterWord } from "../constructs/cluster-client/checks";
import { clusterGate, waitUntilHealthy } from "../scripts/lib/rollout";
import { FakeCluster } from "./helpers/fake-cluster";
import { Cloud, envOf, fileOf, machineDocs, parseCloudConfig, synthCluster } from "./helpers/synth";
import { describeWithTool } from "./helpers/tools";
import { rewriteZooCfg, RunningEnsemble, sleep, startEnsemble, ZkMemberConfig, ZkMode, ZOOKEEPER_TOOL } from "./helpers/zookeeper";

/** Each master's ZooKeeper configuration as its user data gives it. */
function renderedMembers(cloud: Cloud, profile: "dev" | "ha"): { members: ZkMemberConfig[]; ipMap: Record<string, string> } {
  const machines = machineDocs(synthCluster({ cloud, profile }).json, cloud);
  const members = machines.map((m) => {
    const doc = parseCloudConfig(m.text);
    const myid = Number(envOf(doc, "zookeeper").ZOO_MY_ID);
    // The prepare script writes the same myid to the data disk (the file ZooKeeper reads).
    const written = /^echo (\d+) > "\$myid_file"$/m.exec(fileOf(doc, "/usr/local/sbin/zookeeper-prepare"));
    expect(Number(written?.[1])).toBe(myid);
    const zooCfg = fileOf(doc, ZOO_CFG_PATH);
    // server.<myid> names this very machine.
    expect(zooCfg).toMatch(new RegExp(`^server\\.${myid}=${m.privateIp.replace(/\./g, "\\.")}:`, "m"));
    return { myid, zooCfg, ip: m.privateIp };
  });
  const ipMap: Record<string, string> = {};
  for (const m of members) ipMap[m.ip] = `127.0.0.${m.myid}`;
  return { members: members.map(({ myid, zooCfg }) => ({ myid, zooCfg })), ipMap };
}

/** Measures named steps and prints them as a table. */
class Stopwatch {
  private readonly steps: [string, number][] = [];
  private last = Date.now();
  lap(step: string): void {
    const now = Date.now();
    this.steps.push([step, (now - this.last) / 1000]);
    this.last = now;
  }
  print(title: string): void {
    const width = Math.max(...this.steps.map(([s]) => s.length));
    const total = this.steps.reduce((sum, [, t]) => sum + t, 0);
    console.log(`${title}\n${this.steps.map(([s, t]) => `  ${s.padEnd(width)}  ${t.toFixed(2)} s`).join("\n")}\n  ${"total".padEnd(width)}  ${total.toFixed(2)} s`);
  }
}

/** Polls every member's mode until `done` holds; fails with the modes and the members' logs after `timeoutMs`. */
async function waitForModes(
  ensemble: RunningEnsemble,
  myids: number[],
  done: (modes: Record<number, ZkMode>) => boolean,
  what: string,
  timeoutMs = 60000,
): Promise<Record<number, ZkMode>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const modes: Record<number, ZkMode> = {};
    for (const [i, mode] of (await Promise.all(myids.map((id) => ensemble.mode(id)))).entries()) modes[myids[i]] = mode;
    if (done(modes)) return modes;
    if (Date.now() > deadline) {
      const logs = myids.map((id) => `--- member ${id} ---\n${ensemble.logTail(id)}`).join("\n");
      throw new Error(`${what}: not reached within ${timeoutMs / 1000} s; modes ${JSON.stringify(modes)}\n${logs}`);
    }
    await sleep(100);
  }
}

/** `npm run smoke -- ha --zookeeper <servers>` with only its ZooKeeper step: exit code, the step's line, the last line. */
async function smokeZookeeper(servers: string): Promise<{ code: number; line: string; last: string }> {
  const skip = ["--skip", "mesos-health,mesos-leader,mesos-agents,marathon-leader,marathon-apps,swarm", "--retries", "0", "--request-timeout", "2"];
  const out: string[] = [];
  const code = await smokeMain(["ha", "--zookeeper", servers, ...skip], {}, (l) => out.push(l), (l) => out.push(l));
  return { code, line: out.find((l) => l.startsWith("[1/1] zookeeper")) ?? out.join("\n"), last: out[out.length - 1] };
}

const count = (modes: Record<number, ZkMode>, mode: ZkMode) => Object.values(modes).filter((m) => m === mode).length;
const leaderOf = (modes: Record<number, ZkMode>) => Number(Object.entries(modes).find(([, m]) => m === "leader")?.[0]);

/** Each member's myid and zoo.cfg as the harness runs them: addresses mapped, directories fixed. */
function asRun(cloud: Cloud, profile: "dev" | "ha"): { myid: number; zooCfg: string }[] {
  const { members, ipMap } = renderedMembers(cloud, profile);
  return members.map((m) => ({ myid: m.myid, zooCfg: rewriteZooCfg(m.zooCfg, m.myid, ipMap, { dataDir: "/data", dataLogDir: "/datalog" }).text }));
}

describe.each(["dev", "ha"] as const)("%s: the AWS masters' ZooKeeper configuration is the Azure masters', address for address", (profile) => {
  test("so the live run below covers both clouds", () => {
    const azure = asRun("azure", profile);
    expect(azure).toHaveLength(profile === "ha" ? 3 : 1);
    expect(asRun("aws", profile)).toEqual(azure);
  });
});

describeWithTool(ZOOKEEPER_TOOL, "ZooKeeper from the rendered configuration, run for real", () => {
  const running: RunningEnsemble[] = [];
  // Also when a test fails or times out: no JVM outlives the file.
  afterAll(() => Promise.all(running.map((e) => e.stopAll())));

  describe.each<Cloud>(["azure"])("%s", (cloud) => {
    test("ha: one leader and two followers; a znode reaches every member, survives the leader's loss, and the old leader rejoins as a follower; npm run smoke's step says so at each stage", async () => {
      const { members, ipMap } = renderedMembers(cloud, "ha");
      expect(members.map((m) => m.myid)).toEqual([1, 2, 3]);
      const ids = members.map((m) => m.myid);
      const clock = new Stopwatch();
      const ensemble = await startEnsemble(members, ipMap);
      running.push(ensemble);
      try {
        expect(ensemble.connectString).toBe("127.0.0.1:2181,127.0.0.2:2181,127.0.0.3:2181");
        clock.lap("start 3 JVMs until each answers ruok");

        const elected = await waitForModes(ensemble, ids, (m) => count(m, "leader") === 1 && count(m, "follower") === 2, "one leader, two followers");
        const leader = leaderOf(elected);
        clock.lap(`elect a leader (member ${leader})`);

        const path = `/mesos-cluster-live-${cloud}`;
        const data = `written through a follower on ${cloud}`;
        const follower = ids.find((id) => id !== leader)!;
        await ensemble.write(follower, path, data);
        for (const id of ids) expect(await ensemble.read(id, path)).toBe(data);
        clock.lap("write a znode, read it back from all 3");

        const address = (myid: number) => {
          const m = ensemble.members.find((x) => x.myid === myid)!;
          return `${m.host}:${m.clientPort}`;
        };
        const healthy = await smokeZookeeper(ensemble.connectString);
        expect(healthy.code).toBe(0);
        expect(healthy.line).toMatch(new RegExp(`zookeeper +ok +3 of 3 members serve; leader ${address(leader).replace(/\./g, "\\.")}, 2 followers`));
        clock.lap("smoke's step: ok, naming the leader");

        // npm run rollout's gate, on these servers (no Mesos, Marathon or agents asked for).
        const endpoints: ClusterEndpoints = { zookeeper: ids.map((id) => [address(id)]), mesos: [], marathon: [], expectedAgents: 0, requestTimeoutMs: 2000 };
        const names = ids.map((id) => `member-${id}`);
        const settled = await waitUntilHealthy(() => clusterGate(endpoints, names), Date.now() + 60000, 100);
        expect(settled.items).toEqual([expect.objectContaining({ name: "zookeeper", ok: true, summary: expect.stringMatching(/has 2 of 2 followers synced \(mntr\)$/) })]);
        // The fake cluster's members answer with these servers' lines (srvr) and keys (mntr).
        const fake = await FakeCluster.start(3);
        try {
          const fakeMembers = await fake.startZookeeper();
          const keys = (text: string) => text.split("\n").filter(Boolean).map((l) => l.split(/:|\t/)[0]);
          expect(keys(await fourLetterWord(fakeMembers[1], "srvr", 2000))).toEqual(keys(await fourLetterWord(address(follower), "srvr", 2000)));
          expect(keys(await fourLetterWord(address(leader), "mntr", 2000))).toEqual(expect.arrayContaining(keys(await fourLetterWord(fakeMembers[0], "mntr", 2000))));
        } finally {
          await fake.close();
        }
        clock.lap("rollout's gate: healthy; the fake's answers match");

        await ensemble.stop(leader);
        const rest = ids.filter((id) => id !== leader);
        const reelected = await waitForModes(ensemble, rest, (m) => count(m, "leader") === 1 && count(m, "follower") === 1, "a new leader among the other two");
        expect(await ensemble.mode(leader)).toBe("down");
        clock.lap(`stop leader ${leader}, elect a new one (member ${leaderOf(reelected)})`);

        for (const id of rest) expect(await ensemble.read(id, path)).toBe(data);
        clock.lap("read the znode from both survivors");

        const degraded = await smokeZookeeper(ensemble.connectString);
        expect(degraded.code).toBe(1);
        expect(degraded.line).toContain(`FAILED  ${address(leader)} does not answer (`);
        expect(degraded.line).toContain(`2 of 3 members serve with leader ${address(leaderOf(reelected))}`);
        expect(degraded.last).toBe("smoke: FAILED at zookeeper");
        clock.lap("smoke's step: FAILED, naming the stopped member and the new leader");

        const stepped = ids.indexOf(leader);
        const away = await clusterGate(endpoints, names, stepped);
        expect(away[0]).toMatchObject({ name: "zookeeper-member", ok: false, summary: expect.stringMatching(new RegExp(`^member-${leader} \\(127\\.0\\.0\\.\\d+:\\d+\\) does not answer .*ECONNREFUSED`)) });
        expect(away[1]).toMatchObject({ name: "zookeeper", ok: false });
        expect((await waitUntilHealthy(() => clusterGate(endpoints, names, stepped), Date.now() + 300, 100)).ok).toBe(false);
        clock.lap("rollout's gate: the stopped member fails it, also within a bound");

        await ensemble.start(leader);
        const back = await waitUntilHealthy(() => clusterGate(endpoints, names, stepped), Date.now() + 60000, 100);
        expect(back.items.map((i) => [i.name, i.ok])).toEqual([["zookeeper-member", true], ["zookeeper", true]]);
        expect(back.items[0].summary).toMatch(new RegExp(`^member-${leader} \\(127\\.0\\.0\\.\\d+:\\d+\\) serves as follower$`));
        expect(back.items[1].summary).toMatch(/; the leader member-\d has 2 of 2 followers synced \(mntr\)$/);
        const rejoined = await waitForModes(ensemble, ids, (m) => m[leader] === "follower" && count(m, "leader") === 1 && count(m, "follower") === 2, `member ${leader} rejoining`);
        expect(leaderOf(rejoined)).toBe(leaderOf(reelected));
        expect(await ensemble.read(leader, path)).toBe(data);
        expect((await smokeZookeeper(ensemble.connectString)).code).toBe(0);
        clock.lap(`restart member ${leader}: rejoins as follower, reads the znode; smoke's step ok`);

        // Without a quorum nobody leads: the remaining member answers but does not serve.
        const current = leaderOf(rejoined);
        const stopped = [current, ids.find((id) => id !== current && id !== leader)!];
        await Promise.all(stopped.map((id) => ensemble.stop(id)));
        await waitForModes(ensemble, [leader], (m) => m[leader] !== "leader" && m[leader] !== "follower", "no quorum");
        // The remaining member leaves its role a moment after the others go: while it closes its
        // connections a four-letter word gets no answer at all. Ask again (bounded) until it has settled.
        let none = await smokeZookeeper(ensemble.connectString);
        for (const deadline = Date.now() + 30000; !none.line.includes("not serving (") && Date.now() < deadline; ) {
          await sleep(200);
          none = await smokeZookeeper(ensemble.connectString);
        }
        expect(none.code).toBe(1);
        expect(none.line).toContain(`${address(leader)} not serving (This ZooKeeper instance is not currently serving requests)`);
        expect(none.line).toContain("no leader; 0 of 3 members serve");
        clock.lap("stop two members: smoke's step FAILED, no leader");

        await Promise.all(stopped.map((id) => ensemble.start(id)));
        await waitForModes(ensemble, ids, (m) => count(m, "leader") === 1 && count(m, "follower") === 2, "one leader, two followers again");
        expect(await ensemble.read(stopped[0], path)).toBe(data);
        expect((await smokeZookeeper(ensemble.connectString)).code).toBe(0);
        clock.lap("restart both: one leader again, the znode kept; smoke's step ok");
      } finally {
        await ensemble.stopAll();
        clock.lap("stop all members");
        clock.print(`ZooKeeper ha ensemble (${cloud} masters' zoo.cfg), seconds per step:`);
      }
    }, 120000);

    test("dev: one standalone server serves a znode and keeps it across a restart; npm run smoke's step accepts it as standalone", async () => {
      const { members, ipMap } = renderedMembers(cloud, "dev");
      expect(members).toHaveLength(1);
      const clock = new Stopwatch();
      const ensemble = await startEnsemble(members, ipMap);
      running.push(ensemble);
      try {
        clock.lap("start 1 JVM until it answers ruok");
        await waitForModes(ensemble, [1], (m) => m[1] === "standalone", "standalone mode");
        clock.lap("serving in standalone mode");
        const smoke = await smokeZookeeper(ensemble.connectString);
        expect(smoke.code).toBe(0);
        expect(smoke.line).toContain(`standalone member ${ensemble.connectString} serves`);
        clock.lap("smoke's step: ok, standalone");
        // npm run rollout's gate on dev's single master: a standalone server has no followers to count.
        const endpoints: ClusterEndpoints = { zookeeper: [[ensemble.connectString]], mesos: [], marathon: [], expectedAgents: 0, requestTimeoutMs: 2000 };
        expect(await clusterGate(endpoints, ["member-1"])).toEqual([{ name: "zookeeper", ok: true, summary: `standalone member ${ensemble.connectString} serves` }]);
        clock.lap("rollout's gate: healthy");
        const path = `/mesos-cluster-live-${cloud}-dev`;
        await ensemble.write(1, path, "standalone");
        expect(await ensemble.read(1, path)).toBe("standalone");
        clock.lap("write a znode and read it back");
        await ensemble.stop(1);
        expect(await ensemble.mode(1)).toBe("down");
        expect((await clusterGate(endpoints, ["member-1"], 0)).map((i) => [i.name, i.ok])).toEqual([["zookeeper-member", false], ["zookeeper", false]]);
        await ensemble.start(1);
        const back = await waitUntilHealthy(() => clusterGate(endpoints, ["member-1"], 0), Date.now() + 30000, 100);
        expect(back.items).toEqual([
          { name: "zookeeper-member", ok: true, summary: `member-1 (${ensemble.connectString}) serves as standalone` },
          { name: "zookeeper", ok: true, summary: `standalone member ${ensemble.connectString} serves` },
        ]);
        expect(await ensemble.read(1, path)).toBe("standalone");
        clock.lap("restart; the gate waits for it; the znode is still there");
      } finally {
        await ensemble.stopAll();
        clock.lap("stop");
        clock.print(`ZooKeeper dev standalone (${cloud} master's zoo.cfg), seconds per step:`);
      }
    }, 60000);
  });
});
