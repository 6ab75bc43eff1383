/**
 * Every machine's and pool's user data, on both clouds and both stacks,
 * checked by the same code `npm run validate` runs: cloud-init's schema
 * validator, the cloud's size limit, shellcheck, the documented Mesos and
 * Marathon flags, and systemd-analyze plus the units' ordering. Each check is
 * also fed a deliberately broken document and must report it.
 */
import { execFileSync, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App } from "cdktf";
import { ClusterConfigError } from "../constructs/core/validation";
import { CloudConfig } from "../constructs/core/cloud-config";
import { INodeRole } from "../constructs/nodes";
import { MesosClusterStack, MesosClusterStackProps } from "../stacks/mesos-cluster-stack";
import { decodeBase64UserData, userDataNodes } from "../scripts/lib/synth-output";
import { CLOUD_INIT, SHELLCHECK, SYSTEMD_ANALYZE } from "../scripts/lib/tools";
import { readUserData, shellify } from "../scripts/lib/user-data-model";
import {
  CheckId,
  CHECKS,
  cloudInitSchema,
  cloudInitTopLevelKeys,
  documentsOf,
  DocumentReport,
  FlagReference,
  loadFlagReference,
  summaryLines,
  unitRootsMade,
  UserDataDocument,
  validateDocuments,
  VENDORED_FLAGS_PATH,
} from "../scripts/lib/validate-user-data";
import { Cloud, DISCOVERY_STACKS, resourcesOf, synthCluster, synthStack, TEST_SSH_KEY } from "./helpers/synth";
import { describeWithTool } from "./helpers/tools";

const ROOT = join(__dirname, "..");
/** The project's shared reference (present in CI and next to a developer's worktree; users do not have it). */
const SHARED_FLAGS = join(ROOT, "..", "shared", "reference", "flags.json");

/** The documented flags: the shared reference when present, else the copy this repository ships. */
function flagReference(): FlagReference {
  if (existsSync(SHARED_FLAGS)) {
    console.log(`flags check: reading the shared reference ${SHARED_FLAGS}`);
    return loadFlagReference(SHARED_FLAGS);
  }
  console.warn(`flags check: ${SHARED_FLAGS} is absent; using the copy shipped in ${VENDORED_FLAGS_PATH}`);
  return loadFlagReference(VENDORED_FLAGS_PATH);
}

/** A stack checked: its name (as `npm run validate` names a stack), its props, and the node group of each of its documents. */
interface Combo {
  readonly cloud: Cloud;
  readonly stack: string;
  readonly props: MesosClusterStackProps;
  readonly groups: readonly string[];
}
const COMBOS: Combo[] = [
  { cloud: "azure", stack: "dev", props: { cloud: "azure", profile: "dev" }, groups: ["agents", "masters"] },
  { cloud: "azure", stack: "ha", props: { cloud: "azure", profile: "ha" }, groups: ["agents", "masters", "masters", "masters"] },
  { cloud: "aws", stack: "dev", props: { cloud: "aws", profile: "dev" }, groups: ["agents", "masters"] },
  { cloud: "aws", stack: "ha", props: { cloud: "aws", profile: "ha" }, groups: ["agents", "masters", "masters", "masters"] },
  // Discovery `dns+lb`: marathon-lb's edge pool beside the agents, on Azure ha (auth on) and AWS dev (auth off).
  { cloud: "azure", stack: "ha dns+lb", props: DISCOVERY_STACKS.azureHaLb, groups: ["agents", "edge", "masters", "masters", "masters"] },
  { cloud: "aws", stack: "dev dns+lb", props: DISCOVERY_STACKS.awsDevLb, groups: ["agents", "edge", "masters"] },
];

/** Each stack synthesized once per test file, as `npm run validate` would find it in cdktf.out. */
const synthesized = new Map<string, UserDataDocument[]>();
function stackDocuments(cloud: Cloud, stack: string): UserDataDocument[] {
  const key = `${cloud} ${stack}`;
  const combo = COMBOS.find((c) => c.cloud === cloud && c.stack === stack);
  if (!combo) throw new Error(`no stack ${key} in COMBOS`);
  if (!synthesized.has(key)) synthesized.set(key, documentsOf(stack, synthCluster(combo.props).json));
  return synthesized.get(key)!;
}

function resultOf(report: DocumentReport, check: CheckId) {
  const result = report.results.find((r) => r.check === check);
  if (!result) throw new Error(`no ${check} result`);
  return result;
}

describe("the user data of every machine and pool passes every check", () => {
  const reports = new Map<string, DocumentReport[]>();
  beforeAll(async () => {
    const flags = flagReference();
    const docs = COMBOS.flatMap(({ cloud, stack }) => stackDocuments(cloud, stack));
    // One run for the documents of every stack (twenty): the tools run concurrently across them.
    const all = await validateDocuments(docs, { flags });
    for (const { cloud, stack } of COMBOS) reports.set(`${cloud} ${stack}`, all.filter((r) => r.document.cloud === cloud && r.document.stack === stack));
    console.log(`user data sizes and verdicts (what npm run validate prints):\n${summaryLines(all).join("\n")}`);
  }, 60000);

  const expectPasses = (check: CheckId) =>
    test.each(COMBOS.map((c) => [c.cloud, c.stack, c.groups.length, c.groups] as const))(`%s %s: ${check} passes for all %d documents`, (cloud, stack, _count, groups) => {
      const docs = reports.get(`${cloud} ${stack}`)!;
      expect(docs.map((r) => r.document.group).sort()).toEqual(groups);
      for (const r of docs) expect({ name: r.document.name, ...resultOf(r, check) }).toEqual({ name: r.document.name, check, status: "ok", findings: [] });
    });

  describe("size within the cloud's limit", () => {
    expectPasses("size");

    test("documents near the limit travel gzipped, and what is checked is the decoded text", () => {
      // AWS masters of ha render more than half of 16 KB, so they are gzipped into user_data_base64.
      const masters = reports.get("aws ha")!.filter((r) => r.document.group === "masters");
      for (const r of masters) {
        expect(r.document.encoding).toBe("gzip+base64");
        expect(Buffer.byteLength(r.document.text)).toBeGreaterThan(16 * 1024 * 0.5);
        expect(r.document.countedBytes).toBeLessThan(Buffer.byteLength(r.document.text));
        expect(r.document.text.startsWith("#cloud-config\n")).toBe(true);
      }
    });
  });
  describeWithTool(CLOUD_INIT, "cloud-init schema --config-file", () => expectPasses("schema"));
  describeWithTool(SHELLCHECK, "shellcheck -S warning", () => expectPasses("shellcheck"));
  describe("documented Mesos and Marathon flags", () => expectPasses("flags"));
  describeWithTool(SYSTEMD_ANALYZE, "systemd-analyze verify and unit ordering", () => expectPasses("systemd"));
});

describe("the documented-flags copy", () => {
  const present = existsSync(SHARED_FLAGS);
  if (!present) console.warn(`SKIPPED: ${SHARED_FLAGS} is absent, so the shipped copy cannot be compared with it (CI has it).`);
  (present ? test : test.skip)("equals the shared reference ../shared/reference/flags.json", () => {
    expect(JSON.parse(readFileSync(VENDORED_FLAGS_PATH, "utf8"))).toEqual(JSON.parse(readFileSync(SHARED_FLAGS, "utf8")));
  });
});

// ---------------------------------------------------------------------------
// Broken documents: each check must report what it exists to catch.

/** Replaces `from` (which must occur) in a document. */
function mutate(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  if (out === text) throw new Error(`mutation did not apply: ${String(from)}`);
  return out;
}

function asDocument(base: UserDataDocument, name: string, text: string): UserDataDocument {
  // Plain text on AWS: the bytes counted are the document's.
  return { ...base, name, text, encoding: "plain", countedBytes: Buffer.byteLength(text) };
}

interface BrokenCase {
  readonly name: string;
  readonly check: CheckId;
  readonly doc: "master" | "agent";
  readonly break: (text: string) => string;
  /** What the finding must say, and where. */
  readonly where: string | RegExp;
  readonly message: RegExp;
}

const BROKEN: BrokenCase[] = [
  { name: "invalid YAML", check: "schema", doc: "master", break: (t) => mutate(t, "\nruncmd:\n", "\nruncmd: [\n"), where: "document", message: /not valid yaml/ },
  { name: "no #cloud-config header", check: "schema", doc: "master", break: (t) => t.slice(t.indexOf("\n") + 1), where: "document", message: /#cloud-config/ },
  { name: "a misspelt top-level key", check: "schema", doc: "master", break: (t) => mutate(t, "\nruncmd:\n", "\nruncmnd:\n"), where: "runcmnd", message: /not in cloud-init's schema/ },
  { name: "an unknown write_files property", check: "schema", doc: "master", break: (t) => mutate(t, '    permissions: "0755"', '    permission: "0755"'), where: "document", message: /'permission' was unexpected/ },
  { name: "a wrong type", check: "schema", doc: "master", break: (t) => mutate(t, "ssh_pwauth: false", "ssh_pwauth: [no]"), where: "document", message: /ssh_pwauth/ },
  {
    name: "an unquoted variable in a written script",
    check: "shellcheck",
    doc: "master",
    break: (t) => mutate(t, '      echo 1 > "$myid_file"\n', '      echo 1 > "$myid_file"\n      if [ -n $myid_file ]; then :; fi\n'),
    where: "/usr/local/sbin/zookeeper-prepare",
    message: /SC2070/,
  },
  {
    name: "an unquoted variable in a runcmd string",
    check: "shellcheck",
    doc: "master",
    break: (t) => mutate(t, "\nruncmd:\n", "\nruncmd:\n  - rm -rf $STALE_DIR/*\n"),
    where: "runcmd",
    message: /SC2115/,
  },
  {
    name: "an unquoted command substitution in the reboot condition",
    check: "shellcheck",
    doc: "agent",
    break: (t) => mutate(t, '[ \\"$(stat -fc %T /sys/fs/cgroup)\\" = cgroup2fs ]', "[ $(stat -fc %T /sys/fs/cgroup) = cgroup2fs ]"),
    where: "power_state.condition",
    message: /SC2046/,
  },
  { name: "an unknown Mesos master flag", check: "flags", doc: "master", break: (t) => mutate(t, "--cluster=", "--clusterr="), where: "mesos-master.service", message: /"clusterr", which is not a documented mesos master flag/ },
  { name: "a master-only flag on an agent", check: "flags", doc: "agent", break: (t) => mutate(t, "MESOS_PORT=5051", "MESOS_PORT=5051\n      MESOS_QUORUM=2"), where: "mesos-agent.service", message: /"quorum", which is not a documented mesos agent flag/ },
  {
    name: "an unknown flag in the env file an agent writes at boot",
    check: "flags",
    doc: "agent",
    break: (t) => mutate(t, "MESOS_HOSTNAME=%s", "MESOS_HOSTNAMEE=%s"),
    where: "mesos-agent.service",
    message: /MESOS_HOSTNAMEE sets "hostnamee", which is not a documented mesos agent flag/,
  },
  {
    name: "an env file nothing writes",
    check: "flags",
    doc: "agent",
    break: (t) => mutate(t, "--env-file /run/mesos-cluster/mesos-agent.env", "--env-file /run/mesos-cluster/mesos-agnet.env"),
    where: "mesos-agent.service",
    message: /--env-file \/run\/mesos-cluster\/mesos-agnet.env is neither in the document nor written by a script in it/,
  },
  { name: "an unknown Marathon flag", check: "flags", doc: "master", break: (t) => mutate(t, "--http_port 8080", "--http_prot 8080"), where: "marathon.service", message: /"http_prot", which is not a documented marathon flag/ },
  { name: "a Marathon flag given twice", check: "flags", doc: "master", break: (t) => mutate(t, "LIBPROCESS_PORT=15101", "LIBPROCESS_PORT=15101\n      MARATHON_HTTP_PORT=8080"), where: "marathon.service", message: /"http_port" is set twice/ },
  {
    name: "a container unit not ordered after docker",
    check: "systemd",
    doc: "master",
    break: (t) => mutate(t, "After=docker.service network-online.target mesos-data-disk.service\n      Wants=network-online.target\n      Requires=docker.service mesos-data-disk.service\n\n      [Service]\n      Restart=always\n      RestartSec=10\n      TimeoutStartSec=0\n      ExecStartPre=-/usr/bin/docker rm -f zookeeper", "After=network-online.target mesos-data-disk.service\n      Wants=network-online.target\n      Requires=docker.service mesos-data-disk.service\n\n      [Service]\n      Restart=always\n      RestartSec=10\n      TimeoutStartSec=0\n      ExecStartPre=-/usr/bin/docker rm -f zookeeper"),
    where: "zookeeper.service",
    message: /After= lacks docker.service/,
  },
  {
    name: "a stateful unit not ordered after the data disk",
    check: "systemd",
    doc: "master",
    break: (t) => mutate(t, /(Description=Mesos master[^\n]*\n\s*After=docker.service network-online.target) mesos-data-disk.service/, "$1"),
    where: "mesos-master.service",
    message: /After= lacks mesos-data-disk.service/,
  },
  { name: "a directive systemd cannot parse", check: "systemd", doc: "agent", break: (t) => mutate(t, "Restart=always", "Restart=sometimes"), where: "mesos-agent.service", message: /restart specifier/ },
  {
    name: "a unit running a script the document does not write",
    check: "systemd",
    doc: "agent",
    break: (t) => mutate(t, "ExecStartPre=/usr/local/sbin/mesos-agent-prestart", "ExecStartPre=/usr/local/sbin/mesos-agent-prestrat"),
    where: "mesos-agent.service",
    message: /ExecStartPre= runs \/usr\/local\/sbin\/mesos-agent-prestrat, which neither the document/,
  },
  {
    name: "a file path with a '..' in it (it would be written outside the check's root)",
    check: "systemd",
    doc: "agent",
    break: (t) => mutate(t, "- path: /usr/local/sbin/mesos-agent-prestart\n", "- path: /usr/local/../../../../sbin/mesos-agent-prestart\n"),
    where: "/usr/local/../../../../sbin/mesos-agent-prestart",
    message: /not absolute and normal/,
  },
  { name: "enabling a unit nobody writes", check: "systemd", doc: "agent", break: (t) => mutate(t, "    - mesos-agent-health.service\n", "    - mesos-agent-health.service\n    - mesos-agnet.service\n"), where: "mesos-agnet.service", message: /neither the document/ },
  // The runtime check (effective argv, flags and engine: scripts/lib/effective-runtime.ts); every defect is in runtime-fidelity.test.ts.
  { name: "Swarm registered without checkpointing", check: "runtime", doc: "master", break: (t) => mutate(t, " --cluster-opt mesos.checkpointfailover=true", ""), where: "swarm-manager.service", message: /registers without checkpointing/ },
  { name: "agents without docker_mesos_image", check: "runtime", doc: "agent", break: (t) => mutate(t, /\n\s*MESOS_DOCKER_MESOS_IMAGE=[^\n]*/, ""), where: "mesos-agent.service", message: /docker_mesos_image is not set/ },
  // Incompressible padding in a comment: 17 KB of raw text is over AWS's 16 KB.
  { name: "an oversize document", check: "size", doc: "master", break: (t) => `${t}# ${Buffer.alloc(17 * 1024 * 0.75, 7).toString("base64")}\n`, where: "document", message: /exceed aws's user data limit of 16384 bytes/ },
];

describe("each check reports a deliberately broken document", () => {
  /** Per check: the unbroken master and agent, then the documents broken for it. */
  const reports = new Map<CheckId, DocumentReport[]>();
  beforeAll(async () => {
    const docs = stackDocuments("aws", "dev");
    const originals = { master: docs.find((d) => d.group === "masters")!, agent: docs.find((d) => d.group === "agents")! };
    // The broken copies travel plain (asDocument): they must still fit AWS's limit unbroken.
    expect(Buffer.byteLength(originals.master.text)).toBeLessThan(16 * 1024);
    const flags = flagReference();
    // The tools' other checks are left out of each group: they are proven on the real documents above, and cost seconds.
    const toolChecks: CheckId[] = ["schema", "shellcheck", "systemd"];
    await Promise.all(
      CHECKS.map(async (check) => {
        const broken = BROKEN.filter((c) => c.check === check).map((c) => asDocument(originals[c.doc], c.name, c.break(originals[c.doc].text)));
        reports.set(check, await validateDocuments([originals.master, originals.agent, ...broken], { flags, skip: toolChecks.filter((t) => t !== check) }));
      }),
    );
  }, 60000);

  const tools: Partial<Record<CheckId, typeof CLOUD_INIT>> = { schema: CLOUD_INIT, shellcheck: SHELLCHECK, systemd: SYSTEMD_ANALYZE };
  for (const check of CHECKS) {
    const cases = BROKEN.filter((c) => c.check === check);
    const body = () => {
      test("the unbroken documents pass it", () => {
        for (const r of reports.get(check)!.slice(0, 2)) expect(resultOf(r, check)).toEqual({ check, status: "ok", findings: [] });
      });
      test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
        const report = reports.get(check)!.find((r) => r.document.name === c.name)!;
        expect(report.ok).toBe(false);
        const result = resultOf(report, check);
        expect(result.status).toBe("failed");
        expect(result.findings).toContainEqual(expect.objectContaining({ check, where: c.where, message: expect.stringMatching(c.message) }));
        if (c.name !== "invalid YAML") {
          // The break is aimed: every other check run on the document still passes.
          const others = report.results.filter((r) => r.check !== check && r.status !== "ok" && r.status !== "skipped");
          expect(others).toEqual([]);
        }
      });
    };
    const tool = tools[check];
    if (tool) describeWithTool(tool, `${check} check`, body);
    else describe(`${check} check`, body);
  }
});

describeWithTool(SHELLCHECK, "a script several documents carry is checked once", () => {
  test("its findings reach every document that carries it, at its own place", async () => {
    const broken = BROKEN.find((c) => c.name === "an unquoted variable in a written script")!;
    const original = stackDocuments("aws", "dev").find((d) => d.group === (broken.doc === "master" ? "masters" : "agents"))!;
    const text = broken.break(original.text);
    const docs = [asDocument(original, "first", text), original, asDocument(original, "second", text)];
    const reports = await validateDocuments(docs, { skip: CHECKS.filter((c) => c !== "shellcheck") });
    const findings = reports.map((r) => resultOf(r, "shellcheck").findings);
    expect(findings[0]).toContainEqual(expect.objectContaining({ where: broken.where, message: expect.stringMatching(broken.message) }));
    expect(findings[2]).toEqual(findings[0]);
    expect(findings[1]).toEqual([]);
  });
});

describeWithTool(SYSTEMD_ANALYZE, "the systemd check's roots are reused (scripts/lib/validate-user-data.ts UnitRoot)", () => {
  test("nothing one document writes is left for the next, and a host unit a document replaced is back", async () => {
    const agent = stackDocuments("aws", "dev").find((d) => d.group === "agents")!;
    const withFile = (text: string, path: string, content: string) =>
      mutate(text, "write_files:\n", `write_files:\n  - path: ${path}\n    content: ${JSON.stringify(content)}\n    permissions: "0644"\n`);
    const probe = (requires: string) => `[Unit]\nDescription=probe\nRequires=${requires}\nAfter=${requires}\n[Service]\nExecStart=/bin/true\n`;
    const cases = [
      asDocument(agent, "replaces a host unit", withFile(agent.text, "/usr/lib/systemd/system/multi-user.target", "[Unit]\nDescription=replaced\nBogusKey=1\n")),
      // Needs the host's multi-user.target back; leaves a unit of its own beside the host's.
      asDocument(agent, "adds a unit", withFile(withFile(withFile(agent.text, "/usr/lib/systemd/system/probe.service", probe("multi-user.target")), "/etc/systemd/system/probe-host.service", probe("multi-user.target")), "/opt/probe/file", "x\n")),
      // The documents before wrote probe.service and the prestart script into the same root; this one writes neither.
      asDocument(agent, "needs what the others wrote", withFile(mutate(agent.text, /(- path: \/usr\/local\/sbin\/mesos-agent-prestart)\n/, "$1-moved\n"), "/etc/systemd/system/probe-user.service", probe("probe.service"))),
      // A file where a document before left a folder (/opt/probe, made for its file).
      asDocument(agent, "a file where a folder was", withFile(agent.text, "/opt/probe", "not a folder\n")),
      agent,
    ];
    const results = [];
    // One document at a time: each takes the root the one before gave back (the pool is last in, first out).
    let made = 0;
    for (const doc of cases) {
      const [report] = await validateDocuments([doc], { skip: CHECKS.filter((c) => c !== "systemd") });
      results.push(resultOf(report, "systemd"));
      made = made || unitRootsMade();
    }
    // No document after the first made a root of its own.
    expect(unitRootsMade()).toBe(made);
    expect(results[0].findings).toEqual([expect.objectContaining({ message: expect.stringContaining("multi-user.target:3: Unknown key 'BogusKey'") })]);
    expect(results[1]).toEqual({ check: "systemd", status: "ok", findings: [] });
    expect(results[4]).toEqual({ check: "systemd", status: "ok", findings: [] });
    expect(results[2].findings.map((f) => f.message).sort()).toEqual([
      expect.stringMatching(/^ExecStartPre= runs \/usr\/local\/sbin\/mesos-agent-prestart, which neither the document/),
      expect.stringMatching(/^systemd-analyze verify: probe-user.service: Failed to create probe-user.service\/start: Unit probe.service not found/),
    ]);
  });
});

// ---------------------------------------------------------------------------
// The gzip path, end to end: a role large enough to push AWS user data over half its limit.

/** Writes one extra file to every machine it is attached to. */
class ExtraFileRole implements INodeRole {
  public readonly roleName = "extra-file";
  constructor(private readonly content: string) {}
  public configure(config: CloudConfig): void {
    config.addFile({ path: "/etc/mesos-cluster/extra/catalogue.txt", content: this.content });
  }
}

function awsDevWithExtraFile(content: string): MesosClusterStack {
  const stack = new MesosClusterStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "dev", { cloud: "aws", profile: "dev", sshPublicKey: TEST_SSH_KEY });
  const role = new ExtraFileRole(content);
  stack.masters.addRole(role);
  stack.agents.nodes.addRole(role);
  return stack;
}

describe("a large role on AWS", () => {
  // 6 KB of readable, compressible text: with the rest of the document, over half of 16 KB raw.
  const catalogue = Array.from({ length: 200 }, (_, i) => `entry-${String(i).padStart(3, "0")} = service-${i % 17}.internal:${31000 + i}`).join("\n") + "\n";

  test("is gzipped into user_data_base64 / the launch template, decodes to valid user data, and passes every check", async () => {
    const json = synthStack(awsDevWithExtraFile(catalogue));
    const instance = Object.values(resourcesOf(json, "aws_instance"))[0];
    expect(instance.user_data).toBeUndefined();
    const decoded = decodeBase64UserData(String(instance.user_data_base64));
    expect(decoded.gzip).toBe(true);
    const template = Object.values(resourcesOf(json, "aws_launch_template"))[0];
    expect(decodeBase64UserData(String(template.user_data)).gzip).toBe(true);

    const nodes = userDataNodes(json);
    for (const n of nodes) {
      expect(n.encoding).toBe("gzip+base64");
      expect(Buffer.byteLength(n.text)).toBeGreaterThan(n.limitBytes / 2);
      expect(n.countedBytes).toBeLessThan(n.limitBytes / 2);
      expect(readUserData(n.text).files.find((f) => f.path === "/etc/mesos-cluster/extra/catalogue.txt")?.content).toBe(catalogue);
    }
    const reports = await validateDocuments(documentsOf("dev", json), { flags: flagReference() });
    const notOk = reports.flatMap((r) => r.results.filter((x) => x.status !== "ok" && x.status !== "unavailable").map((x) => ({ name: r.document.name, ...x })));
    expect(notOk).toEqual([]);
    console.log(`with a 6 KB extra role:\n${summaryLines(reports).join("\n")}`);
  });

  test("too large even gzipped fails synth naming the group, the property and the limit", () => {
    // Random bytes do not compress: 30 KB of them stay over 16 KB gzipped.
    const noise = randomBytes(22 * 1024).toString("base64");
    let error: unknown;
    try {
      synthStack(awsDevWithExtraFile(noise));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ClusterConfigError);
    const e = error as ClusterConfigError;
    expect({ path: e.constructPath, property: e.property, allowed: e.allowed }).toEqual({ path: "dev/masters", property: "userData", allowed: "at most 16384 bytes on aws" });
    expect(e.value).toMatch(/^\d+ bytes \(gzip\+base64\)$/);
    expect(Number(String(e.value).split(" ")[0])).toBeGreaterThan(16384);
  });
});

// ---------------------------------------------------------------------------
// The runcmd script is what cloud-init itself would write.

describeWithTool(CLOUD_INIT, "cloud-init's own code (runcmd as shell, the schema validator)", () => {
  test("shellify matches cloud-init's own util.shellify for every runcmd and a quoting torture case", () => {
    const docs = COMBOS.flatMap(({ cloud, stack }) => stackDocuments(cloud, stack));
    const lists = [...docs.map((d) => readUserData(d.text).raw.runcmd as unknown[]), [["echo", "it's $HOME"], "echo \"$HOME\" | tr a b", ["a b", "", "'"]]];
    const python = /^#!\s*(\S+)/.exec(readFileSync(execFileSync("sh", ["-c", "command -v cloud-init"]).toString().trim(), "utf8"))![1];
    const theirs = JSON.parse(
      execFileSync(python, ["-c", "import json, sys\nfrom cloudinit import util\nprint(json.dumps([util.shellify(c) for c in json.load(sys.stdin)]))"], {
        input: JSON.stringify(lists),
      }).toString(),
    );
    expect(lists.map((l) => shellify(l))).toEqual(theirs);
  });

  test("the one-process validator says what `cloud-init schema --config-file` says, document by document", async () => {
    const master = stackDocuments("aws", "dev").find((d) => d.group === "masters")!.text;
    const texts = [
      master,
      mutate(master, "\nruncmd:\n", "\nruncmd: [\n"),
      master.slice(master.indexOf("\n") + 1),
      mutate(master, '    permissions: "0755"', '    permission: "0755"'),
      mutate(master, "ssh_pwauth: false", "ssh_pwauth: [no]"),
    ];
    const batch = await cloudInitSchema(texts);
    expect(batch).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), "schema-cli-"));
    try {
      texts.forEach((text, i) => {
        const file = join(dir, `${i}.yaml`);
        writeFileSync(file, text);
        const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
        const cli = { valid: /^Valid cloud-config:/m.test(r.stdout), said: `${r.stdout}${r.stderr}`.split(file).join("(document)").trim() };
        const ours = batch!.results[i];
        expect({ valid: ours.code === 0 && /^Valid cloud-config:/m.test(ours.stdout), said: `${ours.stdout}${ours.stderr}`.trim() }).toEqual(cli);
        expect(cli.valid).toBe(i === 0);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the top-level keys come from the installed cloud-init's schema", async () => {
    const keys = await cloudInitTopLevelKeys();
    expect(keys).toBeDefined();
    for (const k of ["runcmd", "write_files", "packages", "apt", "power_state", "ssh_pwauth"]) expect(keys!.has(k)).toBe(true);
    expect(keys!.has("runcmnd")).toBe(false);
  });
});
