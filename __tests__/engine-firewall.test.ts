/**
 * "No way from a task to root" (issue 17, item 1): the agents' host firewall,
 * as synthesized, loaded into a real nftables in network namespaces that this
 * test makes itself (an agent, a master, another agent, and a task container
 * behind a docker0-like bridge), then probed: the engine's TCP port answers
 * the masters' addresses only, from wherever a task could try it (127.0.0.1,
 * the bridge gateway 172.17.0.1, the agent's own IP), while the agent's other
 * ports stay reachable. Needs root, nftables and iproute2 (CI runs as root).
 */
import { ChildProcess } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ENGINE_FIREWALL_RULES, ENGINE_FIREWALL_UNIT, engineFirewallRules, SWARM_ENGINE_DROP_IN } from "../constructs/swarm-manager";
import { runtimeFindings } from "../scripts/lib/effective-runtime";
import { readUserData } from "../scripts/lib/user-data-model";
import { fileOf, machineDocs, parseCloudConfig, poolDoc, synthCluster } from "./helpers/synth";
import { deleteNamespaces, listenIn, netnsTool, reaches, sh } from "./helpers/netns";
import { describeWithTool } from "./helpers/tools";

const NETNS_NFT = netnsTool("fwprobe");

describe.each(["azure", "aws"] as const)("%s: the agents' engine firewall in the user data", (cloud) => {
  test.each(["dev", "ha"] as const)("%s: admits the engine port from exactly the masters, and docker.service requires it", (profile) => {
    const json = synthCluster({ cloud, profile }).json;
    const masters = machineDocs(json, cloud).map((m) => m.privateIp);
    const doc = parseCloudConfig(poolDoc(json, cloud));
    const rules = fileOf(doc, ENGINE_FIREWALL_RULES);
    expect(rules).toBe(engineFirewallRules(2375, masters));
    expect(rules).toContain(`elements = { ${masters.join(", ")} }`);
    const dropIn = fileOf(doc, SWARM_ENGINE_DROP_IN);
    expect(dropIn).toContain(`Requires=${ENGINE_FIREWALL_UNIT}`);
    expect(dropIn).toContain(`After=${ENGINE_FIREWALL_UNIT}`);
    expect(fileOf(doc, `/etc/systemd/system/${ENGINE_FIREWALL_UNIT}`)).toContain(`ExecStart=/usr/sbin/nft -f ${ENGINE_FIREWALL_RULES}`);
    expect(doc.raw.packages).toContain("nftables");
  });

  test("the runtime check refuses an engine on TCP without the firewall", () => {
    const text = poolDoc(synthCluster({ cloud, profile: "ha" }).json, cloud);
    expect(runtimeFindings(readUserData(text))).toEqual([]);
    const broken = text.replace(`Requires=${ENGINE_FIREWALL_UNIT}\n`, "");
    expect(broken).not.toBe(text);
    expect(runtimeFindings(readUserData(broken)).map((f) => f.message)).toEqual([expect.stringContaining("a task can reach its own agent's engine")]);
  });
});

describeWithTool(NETNS_NFT, "the agents' engine firewall in a real nftables (network namespaces)", () => {
  const id = `${process.pid % 10000}`;
  const ns = { agent: `fwa${id}`, master: `fwm${id}`, peer: `fwp${id}`, task: `fwt${id}` };
  const AGENT_IP = "10.20.16.4";
  const MASTERS = ["10.20.0.10", "10.20.0.11", "10.20.0.12"];
  let listener: ChildProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "engine-fw-"));
    // The rules exactly as the ha stack renders them.
    const json = synthCluster({ cloud: "azure", profile: "ha" }).json;
    const rules = fileOf(parseCloudConfig(poolDoc(json, "azure")), ENGINE_FIREWALL_RULES);
    expect(rules).toContain(`elements = { ${MASTERS.join(", ")} }`);
    writeFileSync(join(dir, "rules.nft"), rules);
    sh(`
      for n in ${Object.values(ns).join(" ")}; do ip netns add "$n"; ip -n "$n" link set lo up; done
      # The cluster network: a bridge in the agent's namespace, the agent's IP on it, a master and another agent on veths.
      ip -n ${ns.agent} link add cl0 type bridge && ip -n ${ns.agent} addr add ${AGENT_IP}/16 dev cl0 && ip -n ${ns.agent} link set cl0 up
      for pair in "${ns.master} ${MASTERS[1]}" "${ns.peer} 10.20.16.5"; do
        set -- $pair
        ip link add "v$1" netns ${ns.agent} type veth peer name eth0 netns "$1"
        ip -n ${ns.agent} link set "v$1" master cl0 up
        ip -n "$1" addr add "$2/16" dev eth0 && ip -n "$1" link set eth0 up
      done
      # A task container behind a docker0-like bridge (172.17.0.1), routed to the agent.
      ip -n ${ns.agent} link add docker0 type bridge && ip -n ${ns.agent} addr add 172.17.0.1/16 dev docker0 && ip -n ${ns.agent} link set docker0 up
      ip link add vtask netns ${ns.agent} type veth peer name eth0 netns ${ns.task}
      ip -n ${ns.agent} link set vtask master docker0 up
      ip -n ${ns.task} addr add 172.17.0.2/16 dev eth0 && ip -n ${ns.task} link set eth0 up
      ip -n ${ns.task} route add default via 172.17.0.1
      ip netns exec ${ns.agent} nft -f ${join(dir, "rules.nft")}
      # Loading twice must work (the unit may run again).
      ip netns exec ${ns.agent} nft -f ${join(dir, "rules.nft")}
    `);
    // The engine's TCP API and the agent's own port, listening on every address of the agent.
    listener = await listenIn(ns.agent, [2375, 5051]);
  }, 30000);

  afterAll(() => {
    listener?.kill();
    deleteNamespaces(Object.values(ns));
    rmSync(dir, { recursive: true, force: true });
  });

  test("a master reaches the engine port; the agent's other ports stay open to everyone", async () => {
    expect(await reaches(ns.master, AGENT_IP, 2375)).toBe(true);
    expect(await reaches(ns.task, "172.17.0.1", 5051)).toBe(true);
    expect(await reaches(ns.peer, AGENT_IP, 5051)).toBe(true);
  });

  test("no task reaches it: not on 127.0.0.1, not at the bridge gateway, not at the agent's IP; nor another agent", async () => {
    const results = await Promise.all([
      reaches(ns.agent, "127.0.0.1", 2375),
      reaches(ns.agent, AGENT_IP, 2375),
      reaches(ns.task, "172.17.0.1", 2375),
      reaches(ns.task, AGENT_IP, 2375),
      reaches(ns.peer, AGENT_IP, 2375),
    ]);
    expect(results).toEqual([false, false, false, false, false]);
    // The drops were counted by the rule itself.
    expect(sh(`ip netns exec ${ns.agent} nft list chain inet mesos_cluster_engine input`)).toMatch(/tcp dport 2375 counter packets [1-9]\d* bytes \d+ drop/);
  });
});
