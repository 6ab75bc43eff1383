/**
 * What each process will really run with (issue 10): the effective argv,
 * flags and engine computed from the decoded user data of every role, cloud
 * and stack, and the runtime check that reports each defect a static check
 * could not see. Each defect has a test on the synthesized stacks (fails
 * without the fix) and a broken document the runtime check must catch.
 */
import { execFileSync, spawn } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { createServer, get, Server } from "http";
import { AddressInfo } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { DEFAULT_IMAGES } from "../constructs/core/container-image";
import { aptKeyring, aptKeyScript } from "../constructs/core/cloud-config";
import { DOCKER_APT_KEY } from "../constructs/core/docker-apt-key";
import { IMAGE_FACTS } from "../constructs/core/image-facts";
import { agentHealthRelaySource } from "../constructs/mesos-agent-pool";
import { effectiveRuntime, processOf, runtimeFindings } from "../scripts/lib/effective-runtime";
import { GPG, PYTHON3 } from "../scripts/lib/tools";
import { readUserData } from "../scripts/lib/user-data-model";
import { Cloud, machineDocs, poolDoc, resourcesOf, synthCluster, TfJson } from "./helpers/synth";
import { freePort } from "./helpers/ports";
import { describeWithTool } from "./helpers/tools";

test("every image the cluster pins by default has recorded facts with an upstream source", () => {
  for (const [role, reference] of Object.entries(DEFAULT_IMAGES)) {
    const facts = IMAGE_FACTS[reference];
    expect(`${role}: ${facts ? facts.reference : "no entry in constructs/core/image-facts.ts"}`).toBe(`${role}: ${reference}`);
    expect(facts.entrypoint.length).toBeGreaterThan(0);
    expect(facts.sources.length).toBeGreaterThan(0);
  }
});

test("Marathon is pinned to the 1.8 line, whose plain suppress/revive a Mesos 1.7 master understands", () => {
  expect(DEFAULT_IMAGES.marathon).toBe("mesosphere/marathon:v1.8.244");
  expect(DEFAULT_IMAGES.mesosMaster).toBe("mesosphere/mesos-master:1.7.1");
  expect(IMAGE_FACTS[DEFAULT_IMAGES.marathon].base).toContain("libmesos 1.8.0");
});

const VARIANTS: [Cloud, "dev" | "ha"][] = [
  ["azure", "dev"],
  ["azure", "ha"],
  ["aws", "dev"],
  ["aws", "ha"],
];

describe.each(VARIANTS)("%s %s: effective runtime", (cloud, profile) => {
  let json: TfJson;
  let masters: ReturnType<typeof machineDocs>;
  let pool: string;
  beforeAll(() => {
    json = synthCluster({ cloud, profile }).json;
    masters = machineDocs(json, cloud);
    pool = poolDoc(json, cloud);
  });

  test("the runtime check finds nothing on any machine", () => {
    for (const text of [...masters.map((m) => m.text), pool]) expect(runtimeFindings(readUserData(text))).toEqual([]);
  });

  test("masters: replicated_log registry from the command line (not the image's CMD), quorum, work_dir on the data disk", () => {
    const quorum = String(Math.floor(masters.length / 2) + 1);
    for (const m of masters) {
      const master = processOf(effectiveRuntime(readUserData(m.text)), "mesos-master")!;
      expect(master.argv![0]).toBe("mesos-master");
      expect(master.argv).not.toContain("--registry=in_memory");
      expect(master.flags.registry).toEqual({ value: "replicated_log", source: "command line" });
      expect(master.flags.quorum).toEqual({ value: quorum, source: "command line" });
      expect(master.flags.work_dir.value).toBe("/var/lib/mesos");
      expect(master.volumes).toContain("/var/lib/mesos-cluster/mesos:/var/lib/mesos");
      expect(master.notes).toEqual([]);
    }
  });

  test("agents: docker_mesos_image is the agent's own image, docker+mesos containerizers, the image's own docker CLI", () => {
    const agent = processOf(effectiveRuntime(readUserData(pool)), "mesos-agent")!;
    expect(agent.flags.docker_mesos_image.value).toBe(agent.image);
    expect(agent.flags.containerizers.value).toBe("docker,mesos");
    expect(agent.volumes.filter((v) => v.startsWith("/usr/"))).toEqual([]);
    expect(agent.facts!.dockerCli!.apiVersion).toBe("1.29");
    expect(agent.flags.attributes.value).toBe("docker_port:2375");
  });

  test("agents' engine: docker-ce 25.0.5 with DOCKER_MIN_API_VERSION=1.12 (starts, and serves Swarm's API 1.15)", () => {
    const engine = effectiveRuntime(readUserData(pool)).engine;
    expect(engine).toEqual({ version: "25.0.5", minApiFromEnv: "1.12", minApi: "1.12", refusesToStart: undefined, tcpPorts: [2375], firewalledPorts: [2375] });
  });

  test("masters' engine: a current engine with its default floor", () => {
    for (const m of masters) {
      expect(effectiveRuntime(readUserData(m.text)).engine).toMatchObject({ version: "27.5.1", minApi: "1.24", tcpPorts: [], firewalledPorts: [] });
    }
  });

  test("every machine installs containerd.io at the exact 1.7.27-1 and holds it with docker-ce and docker-ce-cli (issue 18)", () => {
    for (const text of [...masters.map((m) => m.text), pool]) {
      const doc = readUserData(text);
      const packages = doc.raw.packages as unknown[];
      expect(packages).toContainEqual(["containerd.io", "1.7.27-1"]);
      expect(packages).not.toContain("containerd.io");
      const holds = (doc.raw.runcmd as unknown[]).filter((c): c is string[] => Array.isArray(c) && c[0] === "apt-mark" && c[1] === "hold");
      expect(holds).toEqual([["apt-mark", "hold", "docker-ce", "docker-ce-cli", "containerd.io"]]);
    }
  });

  test("Swarm registers with checkpointing; Marathon runs the 1.8 image", () => {
    const runtime = effectiveRuntime(readUserData(masters[0].text));
    const swarm = processOf(runtime, "swarm")!;
    expect(swarm.argv!.slice(0, 2)).toEqual(["/swarm", "manage"]);
    expect(swarm.clusterOpts["mesos.checkpointfailover"]).toBe("true");
    const marathon = processOf(runtime, "marathon")!;
    expect(marathon.argv![0]).toBe("/marathon/bin/marathon");
    expect(marathon.image).toBe("mesosphere/marathon:v1.8.244");
    expect(marathon.notes).toEqual([]);
  });

  test("Docker's apt key: fetched at first boot from download.docker.com, pinned by fingerprint (no keyserver)", () => {
    for (const text of [...masters.map((m) => m.text), pool]) {
      const doc = readUserData(text);
      const docker = (doc.raw.apt as { sources: Record<string, Record<string, unknown>> }).sources["docker.list"];
      expect(docker).toEqual({ source: "deb [signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/ubuntu $RELEASE stable" });
      expect(doc.raw.bootcmd).toEqual([["sh", "-ec", aptKeyScript("/etc/apt/keyrings/docker.gpg", DOCKER_APT_KEY)]]);
      // The 3.8 KB armored key is no longer in the document.
      expect(text).not.toContain("BEGIN PGP PUBLIC KEY BLOCK");
      expect(runtimeFindings(doc)).toEqual([]);
    }
  });

  test("cloud edges: AWS data volumes stop the instance before detaching; pools roll changes in batches", () => {
    if (cloud === "aws") {
      const attachments = Object.values(resourcesOf(json, "aws_volume_attachment"));
      expect(attachments).toHaveLength(masters.length);
      for (const a of attachments) expect(a.stop_instance_before_detaching).toBe(true);
      const [asg] = Object.values(resourcesOf(json, "aws_autoscaling_group"));
      expect(asg.instance_refresh).toEqual({ strategy: "Rolling", preferences: { min_healthy_percentage: 66, instance_warmup: "600" } });
      // A refresh starts only when the group's launch_template block changes: the version must follow latest_version.
      expect(JSON.stringify((asg.launch_template as Record<string, unknown>).version)).toContain(".latest_version");
    } else {
      const [vmss] = Object.values(resourcesOf(json, "azurerm_linux_virtual_machine_scale_set"));
      expect(vmss.upgrade_mode).toBe("Rolling");
      expect(vmss.rolling_upgrade_policy).toEqual({
        max_batch_instance_percent: 34,
        max_unhealthy_instance_percent: 34,
        max_unhealthy_upgraded_instance_percent: 34,
        pause_time_between_batches: "PT2M",
        maximum_surge_instances_enabled: true,
      });
      const [ext] = vmss.extension as Record<string, unknown>[];
      expect(ext).toMatchObject({ publisher: "Microsoft.ManagedServices", type: "ApplicationHealthLinux", type_handler_version: "1.0" });
      expect(JSON.parse(String(ext.settings))).toEqual({ protocol: "http", port: 5052, requestPath: "/health" });
      expect(vmss.overprovision).toBe(false);
    }
  });
});

/** Replaces `from` (which must occur) in a document. */
function mutate(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  if (out === text) throw new Error(`mutation did not apply: ${String(from)}`);
  return out;
}

describe("the runtime check catches each defect in a broken document", () => {
  let master: string;
  let pool: string;
  beforeAll(() => {
    const json = synthCluster({ cloud: "azure", profile: "ha" }).json;
    master = machineDocs(json, "azure")[0].text;
    pool = poolDoc(json, "azure");
  });
  const messages = (text: string) => runtimeFindings(readUserData(text)).map((f) => `${f.where}: ${f.message}`);

  /** One mutation of the ha agent pool's or first master's document, and the one finding it must give. */
  const ONE_FINDING: [string, "pool" | "master", string | RegExp, string, string][] = [
    ["1b. a 25.0 engine without the lowered floor refuses Swarm's API 1.15", "pool", "Environment=DOCKER_MIN_API_VERSION=1.12\n", "", "refuses classic Swarm's StartContainer call (API 1.15)"],
    [
      "2. the host's docker CLI mounted into the old agent image",
      "pool",
      "-v /var/run/docker.sock:/var/run/docker.sock",
      "-v /var/run/docker.sock:/var/run/docker.sock -v /usr/bin/docker:/usr/bin/docker:ro",
      "the host binary /usr/bin/docker is mounted at /usr/bin/docker in mesosphere/mesos-slave:1.7.1",
    ],
    ["3. no docker_mesos_image: executors die with the agent", "pool", /\n\s*MESOS_DOCKER_MESOS_IMAGE=[^\n]*/, "", "docker_mesos_image is not set"],
    ["5. Swarm without checkpointing", "master", " --cluster-opt mesos.checkpointfailover=true", "", "registers without checkpointing"],
    ["7. an engine port Swarm will not find (firewall moved along)", "pool", /(-H tcp:\/\/0\.0\.0\.0:|tcp dport )2375/g, "$12380", "Swarm will reach this engine on 2375 (docker_port attribute), but it listens on 2380"],
  ];
  test.each(ONE_FINDING)("%s", (_name, doc, from, to, finding) => {
    expect(messages(mutate(doc === "pool" ? pool : master, from, to))).toEqual([expect.stringContaining(finding)]);
  });

  test("1. a 26+ engine with DOCKER_MIN_API_VERSION=1.12 refuses to start", () => {
    const broken = pool.replace(/5:25\.0\.5-1~ubuntu\.22\.04~jammy/g, "5:27.5.1-1~ubuntu.22.04~jammy");
    expect(messages(broken)).toEqual([expect.stringMatching(/^docker\.service: Docker 27\.5\.1 refuses to start with DOCKER_MIN_API_VERSION=1\.12/)]);
  });

  test("4. master flags as MESOS_* environment lose to the image's CMD --registry=in_memory", () => {
    // The old rendering: flags in an env file, no arguments after the image.
    const args = /mesosphere\/mesos-master:1\.7\.1( --[^\n]*)/.exec(master)![1];
    const env = args.trim().split(" ").map((a) => `MESOS_${a.slice(2).split("=")[0].toUpperCase()}=${a.slice(2).split("=").slice(1).join("=")}`);
    let broken = mutate(master, args, "");
    broken = mutate(broken, "--name mesos-master --net=host", "--name mesos-master --net=host --env-file /etc/mesos-cluster/mesos-master.env");
    broken = mutate(broken, "write_files:\n", `write_files:\n  - path: /etc/mesos-cluster/mesos-master.env\n    content: |\n${env.map((l) => `      ${l}`).join("\n")}\n`);
    expect(messages(broken)).toEqual([
      expect.stringContaining("MESOS_REGISTRY=replicated_log is overridden by the image CMD --registry=in_memory"),
      expect.stringContaining("the registry is in_memory from the image's CMD"),
    ]);
  });

  test("4b. replicated_log without work_dir, and a work_dir off the data disk", () => {
    expect(messages(mutate(master, " --work_dir=/var/lib/mesos", ""))).toEqual([expect.stringContaining("registry replicated_log needs --work_dir")]);
    expect(messages(mutate(master, "-v /var/lib/mesos-cluster/mesos:/var/lib/mesos", "-v /var/lib/mesos:/var/lib/mesos"))).toEqual([
      expect.stringContaining("is not on the data disk"),
    ]);
  });

  test("8. a bare keyid makes first boot depend on a keyserver", () => {
    const doc = readUserData(pool);
    const docker = (doc.raw.apt as { sources: Record<string, Record<string, unknown>> }).sources["docker.list"];
    docker.keyid = DOCKER_APT_KEY.fingerprint;
    expect(runtimeFindings(doc).map((f) => f.where)).toEqual(["apt.sources.docker.list"]);
  });

  test("8. an apt source whose keyring nothing installs is refused by apt (NO_PUBKEY)", () => {
    const doc = readUserData(pool);
    delete doc.raw.bootcmd;
    expect(runtimeFindings(doc)).toEqual([expect.objectContaining({ where: "apt.sources.docker.list", message: expect.stringContaining("nothing installs /etc/apt/keyrings/docker.gpg") })]);
  });
});

describeWithTool(GPG, "Docker's apt key installed at boot (the bootcmd run with real gpg)", () => {
  /** Docker's public key file as download.docker.com/linux/ubuntu/gpg serves it. */
  const DOCKER_KEY_FILE = join(__dirname, "fixtures", "docker-apt-key.asc");
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "apt-key-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Runs the boot command with a fake curl that serves `served` (and records its arguments). */
  function boot(served: string): { status: number; stderr: string; keyring: string; curlArgs: string } {
    const bin = join(root, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "curl"), `#!/bin/sh\necho "$@" >> ${root}/curl-args\nwhile [ "$1" != -o ]; do shift; done\ncp ${served} "$2"\n`);
    chmodSync(join(bin, "curl"), 0o755);
    const keyring = join(root, "etc/apt/keyrings/docker.gpg");
    const script = aptKeyScript(keyring, DOCKER_APT_KEY);
    let status = 0;
    let stderr = "";
    try {
      execFileSync("sh", ["-ec", script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      status = (error as { status: number }).status;
      stderr = String((error as { stderr: Buffer }).stderr);
    }
    const curlArgs = existsSync(join(root, "curl-args")) ? readFileSync(join(root, "curl-args"), "utf8") : "";
    return { status, stderr, keyring, curlArgs };
  }
  const fingerprintsOf = (file: string) =>
    execFileSync("gpg", ["--homedir", mkdtempSync(join(root, "gpg-")), "--batch", "--with-colons", "--show-keys", file], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.startsWith("fpr:"))
      .map((l) => l.split(":")[9]);

  test("Docker's key file: the keyring holds exactly the pinned key (and its subkey), readable by apt", () => {
    const { status, keyring, curlArgs } = boot(DOCKER_KEY_FILE);
    expect(status).toBe(0);
    expect(curlArgs.trim()).toBe(`-fsSL --retry 10 --retry-all-errors -o ${curlArgs.split(" ")[5]} https://download.docker.com/linux/ubuntu/gpg`);
    expect(fingerprintsOf(keyring)[0]).toBe(DOCKER_APT_KEY.fingerprint);
    expect(fingerprintsOf(DOCKER_KEY_FILE)[0]).toBe(DOCKER_APT_KEY.fingerprint);
    expect(readFileSync(keyring).subarray(0, 1)[0] & 0x80).toBe(0x80); // binary OpenPGP, what signed-by=*.gpg expects
    // Once installed, later boots do not fetch again.
    rmSync(join(root, "curl-args"));
    expect(boot(DOCKER_KEY_FILE).curlArgs).toBe("");
  });

  test("another key in the file (or added to it) installs nothing but that one key; a file without it installs nothing", () => {
    const home = mkdtempSync(join(root, "other-"));
    execFileSync("gpg", ["--homedir", home, "--batch", "--passphrase", "", "--quick-gen-key", "Not Docker <x@example.com>", "ed25519", "sign", "never"], { stdio: "ignore" });
    const other = join(root, "other.asc");
    writeFileSync(other, execFileSync("gpg", ["--homedir", home, "--armor", "--export"]));
    const wrong = boot(other);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain(`https://download.docker.com/linux/ubuntu/gpg does not hold key ${DOCKER_APT_KEY.fingerprint}`);
    expect(existsSync(wrong.keyring)).toBe(false);
    const both = join(root, "both.asc");
    writeFileSync(both, readFileSync(other, "utf8") + readFileSync(DOCKER_KEY_FILE, "utf8"));
    rmSync(join(root, "curl-args"));
    const mixed = boot(both);
    expect(mixed.status).toBe(0);
    expect(fingerprintsOf(mixed.keyring)).toEqual([DOCKER_APT_KEY.fingerprint, expect.stringMatching(/^[0-9A-F]{40}$/)]);
  });

  test("the keyring path follows the source's name", () => {
    expect(aptKeyring("docker.list")).toBe("/etc/apt/keyrings/docker.gpg");
  });
});

/** GET a URL; resolves with the status code. */
function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject);
  });
}

describeWithTool(PYTHON3, "the agents' loopback health relay (python3)", () => {
  test("answers 200 while the agent's /health does, 503 when it fails or is down, 404 elsewhere", async () => {
    let agentHealthy = true;
    const agent: Server = createServer((req, res) => {
      res.statusCode = req.url === "/health" && agentHealthy ? 200 : 500;
      res.end();
    });
    await new Promise<void>((r) => agent.listen(0, "127.0.0.1", () => r()));
    const agentPort = (agent.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), "relay-"));
    const envFile = join(dir, "mesos-agent.env");
    writeFileSync(envFile, "MESOS_IP=127.0.0.1\nMESOS_HOSTNAME=127.0.0.1\n");
    const script = join(dir, "relay.py");
    writeFileSync(script, agentHealthRelaySource(agentPort));
    // A port the kernel just handed out and took back (a random pick once met a port in use, and the relay exited).
    const listenPort = await freePort();
    const relay = spawn("python3", [script], {
      env: { ...process.env, AGENT_HEALTH_ENV_FILE: envFile, AGENT_HEALTH_LISTEN_PORT: String(listenPort) },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    relay.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    let exited: string | undefined;
    relay.once("exit", (code, signal) => (exited = `the relay exited (${code ?? signal}): ${stderr}`));
    try {
      const url = `http://127.0.0.1:${listenPort}`;
      let first = 0;
      for (let i = 0; i < 100 && first === 0 && exited === undefined; i++) {
        first = await status(`${url}/health`).catch(() => 0);
        if (first === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(exited ?? first).toBe(200);
      agentHealthy = false;
      expect(await status(`${url}/health`)).toBe(503);
      await new Promise<void>((r) => agent.close(() => r()));
      expect(await status(`${url}/health`)).toBe(503);
      expect(await status(`${url}/other`)).toBe(404);
    } finally {
      relay.kill();
      agent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("digest pins: the unit runs repository:tag@sha256:<digest>, the version rules still read the tag, the runtime facts still apply", () => {
  const digest = `sha256:${"0123456789abcdef".repeat(4)}`;
  const { json } = synthCluster({ cloud: "aws", profile: "dev", images: { mesosMaster: `mesosphere/mesos-master:1.7.1@${digest}`, swarm: `swarm:1.2.8@${digest}` } });
  const [master] = machineDocs(json, "aws");
  const runtime = effectiveRuntime(readUserData(master.text));
  expect(processOf(runtime, "mesos-master")!.image).toBe(`mesosphere/mesos-master:1.7.1@${digest}`);
  expect(processOf(runtime, "swarm")!.image).toBe(`swarm:1.2.8@${digest}`);
  expect(runtimeFindings(readUserData(master.text))).toEqual([]);
  // The tag still decides: Swarm 1.2.9 has no Mesos driver, with or without a digest.
  expect(() => synthCluster({ cloud: "aws", profile: "dev", images: { swarm: `swarm:1.2.9@${digest}` } })).toThrow(`dev/swarm: invalid image "swarm:1.2.9@${digest}"; allowed: Swarm 1.2.8 or earlier such as swarm:1.2.8 (1.2.9 removed the Mesos driver)`);
});
