/** The small value classes and renderers everything else builds on. */
import { gunzipSync } from "zlib";
import { parse } from "yaml";
import { CloudConfig, encodeUserData, RunPhase } from "../constructs/core/cloud-config";
import { ContainerImage, DockerEngine } from "../constructs/core/container-image";
import { Cidr, isUsableHost, parseIpv4 } from "../constructs/core/net";
import { Peer, Port } from "../constructs/core/network-rules";
import { parseEnvFile, renderEnvFile, systemdArg } from "../constructs/core/systemd";
import { toYaml } from "../constructs/core/yaml";

describe("YAML emitter", () => {
  const tricky = [
    "plain",
    "yes",
    "No",
    "on",
    "null",
    "123",
    "0755",
    "1e3",
    "a: b",
    "a #b",
    "- leading dash",
    "[brackets]",
    "{braces}",
    "*alias",
    "&anchor",
    "!tag",
    "%percent",
    "@at",
    "`tick",
    "'single'",
    '"double"',
    "trailing ",
    " leading",
    "tab\tinside",
    "unicode é ✓",
    "",
    "multi\nline\n",
    "multi\nline no newline",
    "  indented first\nline\n",
    "ends with blank lines\n\n\n",
    "control \u0001 char",
    "crlf\r\nline",
    "$RELEASE and ${VAR}",
  ];

  test.each(tricky.map((s) => [JSON.stringify(s), s]))("round-trips %s", (_label, value) => {
    const text = toYaml({ key: value, list: [value, [value, "x"]], nested: { inner: value } });
    expect(parse(text)).toEqual({ key: value, list: [value, [value, "x"]], nested: { inner: value } });
  });

  test("numbers, booleans, long and nested lists round-trip", () => {
    const doc = {
      n: 5,
      f: 0.5,
      t: true,
      long: Array.from({ length: 30 }, (_, i) => `item-${i}`),
      maps: [{ a: 1, b: ["x", "y"] }, { c: "multi\nline\n" }],
      empty: [],
    };
    expect(parse(toYaml(doc))).toEqual(doc);
  });

  test("file contents render as literal blocks a reviewer can read", () => {
    const text = toYaml({ write_files: [{ path: "/etc/x", content: "line one\nline two\n" }] });
    expect(text).toContain("content: |\n      line one\n      line two\n");
  });
});

describe("CloudConfig", () => {
  test("refuses two roles writing different content to one path", () => {
    const c = new CloudConfig().addFile({ path: "/etc/a", content: "1" });
    expect(() => c.addFile({ path: "/etc/a", content: "2" })).toThrow("two roles write different content to /etc/a");
    expect(() => c.addFile({ path: "/etc/a", content: "1" })).not.toThrow();
  });

  test("refuses two pins of one package", () => {
    const c = new CloudConfig().addPackage("docker-ce", "1");
    expect(() => c.addPackage("docker-ce", "2")).toThrow("pinned to two versions");
  });

  test("orders runcmd: prepare, enable units, then later phases", () => {
    const c = new CloudConfig()
      .addCommand(RunPhase.FINALLY, "echo", "last")
      .enableUnit("b.service")
      .enableUnit("c.service", false)
      .addCommand(RunPhase.PREPARE, "echo", "first");
    const doc = parse(c.render());
    expect(doc.runcmd).toEqual([
      ["echo", "first"],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "c.service"],
      ["systemctl", "enable", "--now", "b.service"],
      ["echo", "last"],
    ]);
  });
});

describe("user data encoding", () => {
  const small = "#cloud-config\nruncmd: []\n";
  const big = "#cloud-config\n" + Array.from({ length: 2000 }, (_, i) => `# line ${i} of padding text\n`).join("");

  test("plain and base64 below the threshold", () => {
    expect(encodeUserData(small, { limitBytes: 16384, base64: false, gzipAllowed: true })).toMatchObject({ value: small, encoding: "plain" });
    const b = encodeUserData(small, { limitBytes: 16384, base64: true, gzipAllowed: true });
    expect(b.encoding).toBe("base64");
    expect(Buffer.from(b.value, "base64").toString()).toBe(small);
  });

  test("text with Terraform template syntax never travels plain", () => {
    for (const text of ["#cloud-config\n# echo ${HOME}\n", "#cloud-config\n# %{ if x }\n"]) {
      const e = encodeUserData(text, { limitBytes: 16384, base64: false, gzipAllowed: true });
      expect(e.encoding).toBe("base64");
      expect(Buffer.from(e.value, "base64").toString()).toBe(text);
    }
  });

  test("gzip+base64 above half the limit, deterministic, decodable", () => {
    const a = encodeUserData(big, { limitBytes: 16384, base64: false, gzipAllowed: true });
    const b = encodeUserData(big, { limitBytes: 16384, base64: false, gzipAllowed: true });
    expect(a.encoding).toBe("gzip+base64");
    expect(a.value).toBe(b.value);
    expect(a.countedBytes).toBeLessThan(a.rawBytes);
    const bytes = Buffer.from(a.value, "base64");
    expect(bytes.readUInt32LE(4)).toBe(0); // no timestamp in the gzip header
    expect(gunzipSync(bytes).toString()).toBe(big);
  });
});

describe("addresses", () => {
  test("parses and refuses IPv4 text", () => {
    expect(parseIpv4("10.20.0.10")).toBe(0x0a14000a);
    for (const bad of ["10.20.0", "10.20.0.256", "010.1.1.1", "a.b.c.d", "10.20.0.1/24"]) expect(parseIpv4(bad)).toBeUndefined();
  });

  test("CIDR blocks: host bits, containment, carving", () => {
    expect(Cidr.tryParse("10.20.0.0/16")?.toString()).toBe("10.20.0.0/16");
    for (const bad of ["10.20.0.1/16", "10.20.0.0/33", "10.20.0.0", "10.20.0.0/1x", ""]) expect(Cidr.tryParse(bad)).toBeUndefined();
    const space = Cidr.parse("10.20.0.0/16");
    expect(space.subnet(20, 1).toString()).toBe("10.20.16.0/20");
    expect(space.subnet(24, 2).host(10)).toBe("10.20.2.10");
    expect(space.contains("10.20.255.255")).toBe(true);
    expect(space.contains("10.21.0.0")).toBe(false);
    expect(Cidr.parse("10.20.0.0/24").overlaps(Cidr.parse("10.20.0.128/25"))).toBe(true);
    const small = Cidr.parse("10.20.0.0/28");
    expect(isUsableHost(small, "10.20.0.4")).toBe(true);
    expect(isUsableHost(small, "10.20.0.3")).toBe(false);
    expect(isUsableHost(small, "10.20.0.15")).toBe(false);
  });

  test("ports and peers", () => {
    expect(Port.tcp(2181).toString()).toBe("2181");
    expect(Port.tcpRange(31000, 32000).toString()).toBe("31000-32000");
    expect(() => Port.tcp(70000)).toThrow("outside 1-65535");
    expect(() => Peer.cidrs(["0.0.0.0/0"])).toThrow("use Peer.anyIpv4()");
    expect(() => Peer.cidrs(["nope"])).toThrow("not an IPv4 CIDR block");
  });
});

describe("images and engines", () => {
  test("exact tags only", () => {
    expect(ContainerImage.of("mesosphere/mesos-master:1.7.1").repository).toBe("mesosphere/mesos-master");
    expect(ContainerImage.of("registry.example.com:5000/team/zk:3.8.4").tag).toBe("3.8.4");
    expect(ContainerImage.problem("zookeeper")).toContain("has no tag");
    expect(ContainerImage.problem("zookeeper:latest")).toContain('moving tag "latest"');
    expect(ContainerImage.problem("Zoo Keeper:1")).toContain("not an image reference");
  });

  test("Docker engines that still serve Swarm's API 1.15", () => {
    expect(DockerEngine.ce("27.5.1").aptVersion).toBe("5:27.5.1-1~ubuntu.22.04~jammy");
    expect(DockerEngine.problem("29.0.0")).toContain("outside 25 to 28");
    // Per role: only 25.0.x serves Swarm's API 1.15; 25-28 serve the agent image's CLI (API 1.29).
    expect(DockerEngine.ce("25.0.5").swarmProblem()).toBeUndefined();
    expect(DockerEngine.ce("25.1.0").swarmProblem()).toContain("only 25.0.x accepts DOCKER_MIN_API_VERSION=1.12");
    expect(DockerEngine.ce("26.1.4").swarmProblem()).toContain("26.0 and later refuse to start");
    expect(DockerEngine.ce("28.5.2").clientProblem("1.29")).toBeUndefined();
    expect(DockerEngine.ce("27.5.1").clientProblem("1.15")).toContain("floor is 1.24");
    expect(DockerEngine.problem("27.5")).toContain("not an exact Docker version");
  });
});

describe("systemd and env files", () => {
  test("arguments are escaped for systemd", () => {
    expect(systemdArg("zk://a:2181,b:2181/mesos")).toBe("zk://a:2181,b:2181/mesos");
    expect(systemdArg("50%")).toBe("50%%");
    expect(systemdArg("$HOME")).toBe("$$HOME");
    expect(systemdArg("two words")).toBe('"two words"');
  });

  test("env files round-trip and refuse bad names and newlines", () => {
    const env = { A: "1", ZOO_SERVERS: "server.1=a:2888:3888;2181 server.2=b:2888:3888;2181" };
    expect(parseEnvFile(renderEnvFile(env))).toEqual(env);
    expect(() => renderEnvFile({ "bad-name": "x" })).toThrow("invalid environment variable name");
    expect(() => renderEnvFile({ A: "x\ny" })).toThrow("must be one line");
  });
});
