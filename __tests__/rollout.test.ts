/**
 * `npm run rollout`: a change of the AWS ha masters' image (every master
 * REPLACED, plan-diff's QUORUM LOST) applied one master at a time through a
 * recording terraform (__tests__/fixtures/fake-terraform, first on PATH)
 * against the fake cluster, whose masters go away when their step is
 * applied and come back as new masters (the leaders move). In-process for
 * speed; once as a subprocess for the exit status and what it loads. The
 * ZooKeeper member-rejoin gate runs against a real 3-member ensemble in
 * zookeeper-live.test.ts, which starts one anyway.
 */
import { spawnSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { gzipSync } from "zlib";
import { planRollout, resumeCommand, rolloutMain } from "../scripts/lib/rollout";
import { decodeBase64UserData } from "../scripts/lib/synth-output";
import { FakeCluster } from "./helpers/fake-cluster";
import { cdktfLoaded, libraryReportPreload } from "./helpers/loaded-libraries";
import { synthCluster, TfJson } from "./helpers/synth";

const ROOT = join(__dirname, "..");
const BASE = synthCluster({ cloud: "aws", profile: "ha" }).json;
const WORK = mkdtempSync(join(tmpdir(), "rollout-test-"));
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

/** The stack with another Mesos master image: cloud-init applies user data once, so every master is replaced. */
function withMasterImage(json: TfJson, tag: string): TfJson {
  const head = structuredClone(json);
  for (const instance of Object.values(head.resource.aws_instance)) {
    const { text, gzip } = decodeBase64UserData(String(instance.user_data_base64));
    const changed = text.replace(/mesosphere\/mesos-master:1\.7\.1/g, `mesosphere/mesos-master:${tag}`);
    expect(changed).not.toBe(text);
    instance.user_data_base64 = (gzip ? gzipSync(changed, { level: 9 }) : Buffer.from(changed)).toString("base64");
  }
  return head;
}

/** A synth output folder (manifest and the ha stack) as `cdktf synth` writes it. */
function synthDir(name: string, json: TfJson): string {
  const dir = join(WORK, name);
  mkdirSync(join(dir, "stacks", "ha"), { recursive: true });
  writeFileSync(join(dir, "stacks", "ha", "cdk.tf.json"), JSON.stringify(json));
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ stacks: { ha: { synthesizedStackPath: "stacks/ha/cdk.tf.json" } } }));
  return dir;
}

const HEAD_JSON = withMasterImage(BASE, "1.7.2");
const BASE_DIR = synthDir("base", BASE);
const HEAD_DIR = synthDir("head", HEAD_JSON);
const MASTERS = planRollout("ha", BASE, HEAD_JSON).masters;
const ATTACHMENTS = Object.keys(BASE.resource.aws_volume_attachment).map((id) => `aws_volume_attachment.${id}`);
/** `-target` arguments of master i's step: its instance and its data volume attachment. */
const targetsOf = (i: number) => [`-target=${MASTERS[i].address}`, `-target=${ATTACHMENTS.find((a) => a.includes(`masters-${i + 1}_`))}`];

/** The recording terraform as `terraform`, first on PATH. */
const BIN = join(WORK, "bin");
mkdirSync(BIN);
symlinkSync(join(__dirname, "fixtures", "fake-terraform"), join(BIN, "terraform"));

let fake: FakeCluster;
let zookeeper: string[];
let log: string;
let calls = 0;
/** Masters that stay away after their step is applied. */
let neverBack: Set<number>;

beforeEach(async () => {
  fake = await FakeCluster.start(3, { agents: 2, marathonNoLeaderWaitMs: 50, agentReregisterMs: 150 });
  zookeeper = await fake.startZookeeper();
  log = join(WORK, `terraform-${++calls}.log`);
  neverBack = new Set();
  // A targeted apply replaces its master: it goes away, and the new machine joins after 150 ms.
  fake.followTerraform(log, (args) => {
    const master = MASTERS.findIndex((m) => args.includes(`-target=${m.address}`));
    if (master >= 0) fake.replaceMaster(master, neverBack.has(master) ? null : 150);
  });
});

afterEach(async () => {
  await fake.close();
});

function flags(extra: string[] = []): string[] {
  return [
    "ha",
    "--base", BASE_DIR,
    "--head", HEAD_DIR,
    "--zookeeper", zookeeper.join(","),
    "--mesos", fake.mesosUrls.join(","),
    "--marathon", fake.marathonUrls.join(","),
    "--agents", "2",
    "--request-timeout", "1",
    "--step-timeout", "5",
    "--poll-interval", "0.05",
    ...extra,
  ];
}

async function rollout(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string[]; err: string[] }> {
  const lines = { out: [] as string[], err: [] as string[] };
  const code = await rolloutMain(argv, { PATH: `${BIN}:${process.env.PATH}`, FAKE_TERRAFORM_LOG: log, ...env }, (l) => lines.out.push(l), (l) => lines.err.push(l), WORK);
  return { code, ...lines };
}

/** The recorded terraform calls: `<cwd> | <args>`. */
function recorded(): string[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => {
    const [cwd, ...args] = line.split("\t");
    return `${cwd} | ${args.join(" ")}`;
  });
}

const STACK = join(HEAD_DIR, "stacks", "ha");
const INIT = `${STACK} | init -input=false`;
const apply = (i: number) => `${STACK} | apply -auto-approve -input=false ${targetsOf(i).join(" ")}`;
const FINAL = `${STACK} | apply -auto-approve -input=false`;

describe("the plan", () => {
  test("--dry-run: followers first, the leaders last (ZooKeeper's srvr mode, Mesos's and Marathon's leader); nothing applied", async () => {
    fake.scenario.zookeeperLeader = 1;
    fake.scenario.mesosLeader = 2;
    fake.scenario.marathonLeader = 2;
    const { code, out, err } = await rollout(flags(["--dry-run"]));
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toContain("rollout: 3 of 3 masters go down one at a time; then every other change (0 resources)");
    expect(out).toContain("rollout: leaders: ZooKeeper mesos-ha-masters-2, Mesos mesos-ha-masters-3, Marathon mesos-ha-masters-3");
    expect(out).toContain("rollout: the cluster is healthy:");
    expect(out.find((l) => l.includes(" zookeeper: "))).toMatch(/^ {2}ok {3}zookeeper: 3 of 3 members serve; leader 127\.0\.0\.1:\d+, 2 followers; the leader mesos-ha-masters-2 has 2 of 2 followers synced \(mntr\)$/);
    expect(out.find((l) => l.includes(" mesos-masters: "))).toBe("  ok   mesos-masters: 3 of 3 masters' replicated logs recovered; the leader mesos-ha-masters-3's log sees all 3");
    const steps = out.filter((l) => /^ {2}\d\/4 /.test(l));
    expect(steps.map((l) => l.replace(/: .*/, ""))).toEqual([
      "  1/4 mesos-ha-masters-1",
      "  2/4 mesos-ha-masters-2 (leads ZooKeeper)",
      "  3/4 mesos-ha-masters-3 (leads Mesos, Marathon)",
      "  4/4 final",
    ]);
    expect(steps[0]).toBe("  1/4 mesos-ha-masters-1: replaced: mesos-ha-masters-1 user_data_base64 changed (user data, ForceNew)");
    // Each step's command, under it: the master's instance and its data volume's attachment, never the volume.
    const commands = out.filter((l) => l.startsWith("      terraform apply"));
    expect(commands).toEqual([0, 1, 2].map((i) => `      terraform ${apply(i).split(" | ")[1]}`).concat(["      terraform apply -auto-approve -input=false"]));
    expect(commands.join(" ")).not.toContain("aws_ebs_volume");
    expect(recorded()).toEqual([]);

    // Another leader, another order: the leader of everything goes last.
    for (const key of ["zookeeperLeader", "mesosLeader", "marathonLeader"] as const) fake.scenario[key] = 0;
    const again = await rollout(flags(["--dry-run"]));
    expect(again.out.filter((l) => /^ {2}\d\/4 /.test(l)).map((l) => l.replace(/: .*/, ""))).toEqual([
      "  1/4 mesos-ha-masters-2",
      "  2/4 mesos-ha-masters-3",
      "  3/4 mesos-ha-masters-1 (leads ZooKeeper, Mesos, Marathon)",
      "  4/4 final",
    ]);
    expect((await rollout(flags(["--dry-run", "--resume-from", "masters-9"]))).err[0]).toBe(
      "rollout: --resume-from masters-9: no such step masters-9 (steps: mesos-ha-masters-2, mesos-ha-masters-3, mesos-ha-masters-1, final)",
    );
  });

  test("refuses a change that replaces a data disk, steps that would take two masters at once, another number of masters; nothing applied", async () => {
    const disk = structuredClone(HEAD_JSON);
    const volumes = disk.resource.aws_ebs_volume;
    const first = Object.keys(volumes).find((id) => id.includes("masters-1_"))!;
    volumes[first].availability_zone = "eu-west-1c";
    const refused = await rollout(flags().map((a) => (a === HEAD_DIR ? synthDir("disk", disk) : a)));
    expect(refused.code).toBe(3);
    expect(refused.err[0]).toBe("rollout: REFUSED: nothing was applied:");
    expect(refused.err).toContain(
      `  - the data disk of mesos-ha-masters-1 (aws_ebs_volume.${first}) is replaced: its ZooKeeper data and Mesos replicated log would be lost; a rollout never applies that`,
    );
    expect(recorded()).toEqual([]);

    // Master 2 depends on master 1: a targeted apply of master 2 applies master 1 as well.
    const tied = structuredClone(HEAD_JSON);
    tied.resource.aws_instance[MASTERS[1].address.split(".")[1]].depends_on = [MASTERS[0].address];
    expect(planRollout("ha", BASE, tied).refusals).toEqual([
      `the steps of mesos-ha-masters-1 and mesos-ha-masters-2 cannot be apart: both include ${MASTERS[0].address}, which goes down (replaced, destroyed or restarted), and a targeted apply includes everything its targets depend on: one step would reach two masters`,
    ]);

    // Masters 1 and 2 in one subnet that is replaced. Every master waits for every master subnet's route table
    // association (depends_on), which names its subnet: each step would replace that subnet under two masters.
    const oneSubnet = (json: TfJson, cidr?: string) => {
      const copy = structuredClone(json);
      const [first, second] = MASTERS.slice(0, 2).map((m) => copy.resource.aws_instance[m.address.split(".")[1]]);
      second.subnet_id = first.subnet_id;
      const subnet = /^\$\{aws_subnet\.([^.]+)\.id\}$/.exec(String(first.subnet_id))![1];
      if (cidr) copy.resource.aws_subnet[subnet].cidr_block = cidr;
      return { copy, subnet: `aws_subnet.${subnet}` };
    };
    const { copy: sharedHead, subnet } = oneSubnet(HEAD_JSON, "10.20.9.0/24");
    const association = `aws_route_table_association.${Object.keys(BASE.resource.aws_route_table_association).find((id) => id.includes("public-routes-1_"))}`;
    expect(planRollout("ha", oneSubnet(BASE).copy, sharedHead).refusals).toEqual(
      [[0, 1], [0, 2], [1, 2]].map(
        ([a, b]) =>
          `the steps of ${MASTERS[a].name} and ${MASTERS[b].name} cannot be apart: both include ${association}, ${subnet}, which go down (replaced, destroyed or restarted), and a targeted apply includes everything its targets depend on: one step would reach two masters`,
      ),
    );

    // A fourth master: the number of masters is not rolled.
    const grown = structuredClone(HEAD_JSON);
    const third = grown.resource.aws_instance[MASTERS[2].address.split(".")[1]] as { tags: Record<string, string> };
    grown.resource.aws_instance["masters_machines-mesos-ha-masters-4_instance_0"] = { ...third, tags: { ...third.tags, Name: "mesos-ha-masters-4" } };
    expect(planRollout("ha", BASE, grown).refusals).toEqual([
      "the change adds mesos-ha-masters-4: a rollout keeps the number of masters (ZooKeeper's ensemble and the Mesos replicated log's --quorum change together, in the order of the Mesos operational guide)",
    ]);
  });

  test("refuses to start on a cluster that is not healthy", async () => {
    fake.scenario.mesosLeader = null;
    const { code, err } = await rollout(flags());
    expect(code).toBe(3);
    expect(err[0]).toBe("rollout: REFUSED: the cluster is not healthy before the first step, and a rollout takes away only healthy masters:");
    expect(err.find((l) => l.startsWith("  NOT  mesos-leader: "))).toMatch(/^ {2}NOT {2}mesos-leader: no leading master; http:\/\/127\.0\.0\.1:\d+ answers HTTP 503: No leader elected;/);
    expect(err[err.length - 1]).toBe("  find out why (npm run smoke -- ha) and run the rollout again once the cluster is healthy");
    expect(recorded()).toEqual([]);
  });
});

describe("the rollout", () => {
  test("one targeted apply per master, each followed by a wait until the cluster is healthy, the leader last, then one full apply", async () => {
    const { code, out, err } = await rollout(flags());
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(recorded()).toEqual([INIT, apply(1), apply(2), apply(0), FINAL]);
    // One progress line per step; each master step saw its master away before it was healthy again.
    const progress = out.filter((l) => /^\[\d\/4\] \S+ (healthy|applied)/.test(l));
    expect(progress.map((l) => l.replace(/ (healthy|applied).*/, " $1"))).toEqual(["[1/4] mesos-ha-masters-2 healthy", "[2/4] mesos-ha-masters-3 healthy", "[3/4] mesos-ha-masters-1 healthy", "[4/4] final applied"]);
    for (const line of progress.slice(0, 3)) {
      expect(line).toMatch(/healthy: applied in \d+\.\d s, healthy after \d+\.\d s \((\d+) checks\); \d+\.\d s since the start$/);
      expect(Number(/\((\d+) checks\)/.exec(line)![1])).toBeGreaterThan(1);
    }
    expect(progress[3]).toMatch(/^\[4\/4\] final applied in \d+\.\d s; \d+\.\d s since the start$/);
    // Leadership moved off the replaced leader; the agents re-registered with the new Mesos leader.
    expect(fake.scenario).toMatchObject({ mesosLeader: 1, marathonLeader: 1, zookeeperLeader: 1 });
    expect(fake.downMasters.size).toBe(0);
    expect(out[out.length - 1]).toMatch(/^rollout: done: 4 steps in \d+\.\d s; check the whole cluster with npm run smoke -- ha$/);
  });

  test("a step that never becomes healthy stops the rollout with what is wrong and how to resume; --resume-from continues", async () => {
    neverBack.add(2);
    const argv = flags(["--step-timeout", "0.6"]);
    const stopped = await rollout(argv);
    expect(stopped.code).toBe(4);
    expect(recorded()).toEqual([INIT, apply(1), apply(2)]);
    expect(stopped.out[stopped.out.length - 1]).toMatch(/^\[2\/4\] mesos-ha-masters-3 NOT HEALTHY: applied in \d+\.\d s, then not healthy within --step-timeout 0\.6 s \(\d+ checks\)/);
    expect(stopped.err[0]).toBe("rollout: STOPPED at mesos-ha-masters-3: not healthy within --step-timeout 0.6 s; what is wrong:");
    const wrong = stopped.err.filter((l) => l.startsWith("  NOT"));
    expect(wrong.map((l) => l.split(":")[0])).toEqual(
      ["zookeeper-member", "zookeeper", "mesos-health", "mesos-masters", "marathon-leader"].map((n) => `  NOT  ${n}`),
    );
    expect(wrong[0]).toMatch(/^ {2}NOT {2}zookeeper-member: mesos-ha-masters-3 \(127\.0\.0\.1:\d+\) (answers ruok with "\(nothing\)"|does not answer \(.*\)); expected it back in the ensemble as follower or leader$/);
    expect(wrong[3]).toMatch(/^ {2}NOT {2}mesos-masters: mesos-ha-masters-3 does not answer .*; the leader mesos-ha-masters-1's replicated log sees 2 of 3 masters/);
    const resume = stopped.err[stopped.err.length - 1];
    expect(resume).toBe(`rollout: resume with: ${resumeCommand(argv, "mesos-ha-masters-3", ["mesos-ha-masters-2"])}`);
    expect(resume).toBe(`rollout: resume with: npm run rollout -- ${argv.join(" ")} --resume-from mesos-ha-masters-3 --done mesos-ha-masters-2`);

    // The new machine comes up after all, and meanwhile every leader moved to it: today's order would
    // put mesos-ha-masters-1 (not replaced yet) before it. The printed command skips only the step done.
    neverBack.clear();
    fake.bringMasterBack(2);
    Object.assign(fake.scenario, { mesosLeader: 2, marathonLeader: 2, zookeeperLeader: 2 });
    const resumed = await rollout(resume.replace("rollout: resume with: npm run rollout -- ", "").split(" "));
    expect(resumed.err).toEqual([]);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toContain("[1/4] mesos-ha-masters-2 skipped (before --resume-from)");
    expect(recorded()).toEqual([INIT, apply(1), apply(2), INIT, apply(2), apply(0), FINAL]);
    // A --done step may not be resumed from, and --done needs --resume-from.
    expect((await rollout([...argv, "--dry-run", "--resume-from", "mesos-ha-masters-2", "--done", "mesos-ha-masters-2"])).code).toBe(2);
    expect((await rollout([...argv, "--dry-run", "--done", "mesos-ha-masters-2"])).code).toBe(2);
  });

  test("a failed terraform call stops the rollout there, with the resume command", async () => {
    const { code, err } = await rollout(flags(), { FAKE_TERRAFORM_FAIL: MASTERS[2].address });
    expect(code).toBe(1);
    expect(recorded()).toEqual([INIT, apply(1), apply(2)]);
    expect(err[0]).toMatch(/^\[2\/4\] mesos-ha-masters-3 FAILED after \d+\.\d s: terraform apply exited with 1$/);
    expect(err[err.length - 1]).toBe(`rollout: resume with: ${resumeCommand(flags(), "mesos-ha-masters-3", ["mesos-ha-masters-2"])}`);
  });
});

test("as a command: misuse is exit status 2, and it loads no cdktf (it synthesizes in a child process)", () => {
  const r = spawnSync(process.execPath, ["--require", libraryReportPreload(), join(ROOT, "scripts", "run-ts.js"), join(ROOT, "scripts", "rollout.ts"), "ha", "--base-ref", "HEAD", "--bogus"], { cwd: ROOT, encoding: "utf8" });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^rollout: unknown option --bogus\nusage: npm run rollout -- <stack>/);
  expect(cdktfLoaded(r.stderr).packages).toEqual([]);
});
