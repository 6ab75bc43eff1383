/**
 * The package as another team gets it: `npm pack` of this checkout (which
 * builds: prepack, scripts/build.js), installed into a clean project outside
 * this checkout, type-checked against our .d.ts, and used by a consumer
 * stack with its own provider blocks and its own VNet/VPC. The slow test of
 * the suite (about 12 s: the consumer's type check, and the build, 7 s more
 * when no earlier build left its incremental state in dist/; the install
 * takes well under a second): it runs once. The build's own rules (stale
 * outputs deleted, missing ones rebuilt) are tested in build.test.ts.
 *
 * The install does not run `npm install`: that needs the registry's metadata
 * (packuments) for every pinned dependency, which `npm ci` never caches, so
 * an offline install failed with ERESOLVE on a machine with a cold npm cache,
 * and an online one would make the test depend on the network. Instead the
 * consumer's node_modules is laid out as npm would leave it, from files this
 * checkout already has (see installFromProject):
 *   - each dependency the consumer pins (our peers at the versions we pin, and
 *     @types/node) is a symlink to this project's installed copy, which npm ci
 *     put there from the lockfile. Node and TypeScript follow symlinks to the
 *     real path, so the library and the providers share one cdktf and one
 *     constructs, as in a real install, and each peer finds its own
 *     dependencies where npm ci placed them;
 *   - the tarball is unpacked as npm unpacks it: its package/ folder becomes
 *     node_modules/mesos-cluster-cdktf, a real folder in the consumer;
 *   - what npm's resolver would refuse, this refuses: an installed version
 *     other than the consumer's pin, a peer range (ours or a provider's) that
 *     the installed versions miss, and a package that would need install
 *     scripts or bin links, which this layout does not run or create.
 * The consumer lives in the system temp folder, so nothing in it can resolve
 * a module from this checkout's node_modules by walking up; a test checks
 * that from inside the installed library the peers resolve to the consumer's
 * node_modules and dev-only modules do not resolve at all. typescript is not
 * installed in the consumer: this project's TypeScript compiles it (compileConsumer).
 */
import { execFileSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "fs";
import { builtinModules, createRequire } from "module";
import { tmpdir } from "os";
import { dirname, join, relative } from "path";
import { readSynthOutput, resolveRef, TfJson, userDataNodes } from "../scripts/lib/synth-output";
import { ROOT } from "./helpers/project-copy";
import { TEST_SSH_KEY } from "./helpers/synth";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const PEERS: Record<string, string> = pkg.peerDependencies;

/** The consumer's code: its own providers and networks, our constructs on them, and our whole-cluster stack with an S3 backend. */
const CONSUMER = `
import { App, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { Subnet as AzureSubnet } from "@cdktf/provider-azurerm/lib/subnet";
import { VirtualNetwork } from "@cdktf/provider-azurerm/lib/virtual-network";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Subnet as AwsSubnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import {
  AwsTarget, AzureTarget, CloudTarget, MarathonService, MesosAgentPool,
  MesosMasterGroup, NodeGroup, SwarmManager, ZookeeperEnsemble,
} from "mesos-cluster-cdktf";
import { MesosClusterStack, StateBackend } from "mesos-cluster-cdktf/stacks";

const KEY = ${JSON.stringify(TEST_SSH_KEY)};

/** The platform team's cluster, composed from the constructs. */
function cluster(scope: Construct, target: CloudTarget, vmSize: string): void {
  const masters = new NodeGroup(scope, "masters", { target, count: 3, vmSize });
  const zookeeper = new ZookeeperEnsemble(scope, "zookeeper", { nodes: masters });
  const mesos = new MesosMasterGroup(scope, "mesos", { nodes: masters, zookeeper });
  new MarathonService(scope, "marathon", { masters: mesos });
  const agents = new MesosAgentPool(scope, "agents", { target, masters: mesos, count: 4, vmSize });
  new SwarmManager(scope, "swarm", { masters: mesos, agentPools: [agents] });
}

class AzurePlatform extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AzurermProvider(this, "azurerm", { features: [{}], subscriptionId: "00000000-0000-0000-0000-000000000001" });
    const rg = new ResourceGroup(this, "rg", { name: "platform-rg", location: "northeurope" });
    const vnet = new VirtualNetwork(this, "vnet", { name: "platform-vnet", resourceGroupName: rg.name, location: rg.location, addressSpace: ["10.50.0.0/16"] });
    const subnet = (name: string, cidr: string) =>
      new AzureSubnet(this, name, { name, resourceGroupName: rg.name, virtualNetworkName: vnet.name, addressPrefixes: [cidr] });
    const target = new AzureTarget(this, "azure", {
      clusterName: "platform",
      location: "northeurope",
      sshPublicKey: KEY,
      existingNetwork: {
        resourceGroupName: rg.name,
        addressSpace: ["10.50.0.0/16"],
        masterSubnet: { id: subnet("mesos-masters", "10.50.1.0/24").id, cidr: "10.50.1.0/24" },
        agentSubnet: { id: subnet("mesos-agents", "10.50.8.0/22").id, cidr: "10.50.8.0/22" },
      },
    });
    cluster(this, target, "Standard_D2s_v5");
  }
}

class AwsPlatform extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, "aws", { region: "us-east-2", allowedAccountIds: ["123456789012"] });
    const vpc = new Vpc(this, "vpc", { cidrBlock: "10.60.0.0/16" });
    const zones = ["us-east-2a", "us-east-2b", "us-east-2c"];
    const subnet = (name: string, cidr: string, zone: string) => ({
      id: new AwsSubnet(this, name, { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: zone }).id,
      cidr,
      zone,
    });
    const target = new AwsTarget(this, "aws-target", {
      clusterName: "platform",
      region: "us-east-2",
      sshPublicKey: KEY,
      existingNetwork: {
        vpcId: vpc.id,
        addressSpace: ["10.60.0.0/16"],
        masterSubnets: zones.map((z, i) => subnet("masters-" + z, "10.60." + i + ".0/24", z)),
        agentSubnets: zones.map((z, i) => subnet("agents-" + z, "10.60." + (16 + 4 * i) + ".0/22", z)),
      },
    });
    cluster(this, target, "t3.large");
  }
}

const app = new App({ outdir: process.argv[2] });
new AzurePlatform(app, "platform-azure");
new AwsPlatform(app, "platform-aws");
const backend: StateBackend = { type: "s3", bucket: "acme-tf-state", region: "eu-west-1" };
new MesosClusterStack(app, "whole-cluster", { cloud: "aws", profile: "ha", sshPublicKey: KEY, backend });
app.synth();
`;

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${err.stdout ?? ""}\n${err.stderr ?? err.message}`);
  }
}

/**
 * `tsc -p .` in the consumer, with the same options and file set, but semantic checks only where a
 * mistake could be ours: the consumer's code and every file of our installed package (our .d.ts
 * files included: `skipLibCheck` stays false for them). Third-party declarations (TypeScript's lib,
 * @types/node, cdktf, the providers) are parsed and bound to resolve our types but not checked
 * themselves: that took 8 of the 12 CPU seconds of the plain `tsc -p .`, and an error there is not
 * ours to find. Option, global and syntax errors are reported for every file, as tsc does. Emits
 * out/main.js as tsc would. Returns the declaration files of ours that were checked. TypeScript is
 * loaded once per jest worker (scripts/jest-runtime.js): in jest's registry it cost 4 s more.
 */
function compileConsumer(dir: string): string[] {
  const ts = require("typescript") as typeof import("typescript");
  const parsed = ts.getParsedCommandLineOfConfigFile(join(dir, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  })!;
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences });
  const ourPackage = join(dir, "node_modules", pkg.name) + "/";
  const consumerSources = program.getSourceFiles().filter((f) => f.fileName.startsWith(join(dir, "src") + "/"));
  const ours = [...program.getSourceFiles().filter((f) => f.fileName.startsWith(ourPackage)), ...consumerSources];
  const diagnostics = [
    ...parsed.errors,
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSyntacticDiagnostics(),
    ...ours.flatMap((f) => [...program.getSemanticDiagnostics(f), ...program.getDeclarationDiagnostics(f)]),
  ];
  // File by file: program.emit() without a file first type-checks every file, third-party ones included (7 CPU seconds).
  for (const f of consumerSources) diagnostics.push(...program.emit(f).diagnostics);
  if (diagnostics.length > 0) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => dir, getNewLine: () => "\n" };
    throw new Error(`the consumer does not compile:\n${ts.formatDiagnostics(diagnostics, host)}`);
  }
  return ours.map((f) => f.fileName).filter((f) => f.endsWith(".d.ts"));
}

/** The one semver function the peer check needs, from the copy cdktf bundles (a pinned peer, so always installed). */
const semver = createRequire(join(ROOT, "node_modules", "cdktf", "package.json"))("semver") as { satisfies(version: string, range: string): boolean };

type Manifest = { name: string; version: string; bin?: unknown; scripts?: Record<string, string>; peerDependencies?: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }> };

/**
 * Lays out `consumer`'s node_modules as `npm install` would for `dependencies`
 * (the tarball under our name, exact versions for the rest) without the
 * registry or the npm cache: see the top of this file.
 */
function installFromProject(consumer: string, tarball: string, dependencies: Record<string, string>): void {
  const modules = join(consumer, "node_modules");
  const manifest = (name: string): Manifest => JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"));
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(dependencies)) {
    const dest = join(modules, name);
    mkdirSync(dirname(dest), { recursive: true });
    if (name === pkg.name) {
      mkdirSync(dest);
      // npm pack puts everything under package/, which npm install strips.
      run("tar", ["-xzf", tarball, "-C", dest, "--strip-components=1"], consumer);
    } else {
      symlinkSync(join(ROOT, "node_modules", name), dest, "junction"); // a plain symlink except on Windows
      if (manifest(name).version !== spec) problems.push(`${name}: the consumer pins ${spec}, this project has ${manifest(name).version} installed (run npm ci)`);
    }
  }
  for (const name of Object.keys(dependencies)) {
    const m = manifest(name);
    for (const [peer, range] of Object.entries(m.peerDependencies ?? {})) {
      if (!existsSync(join(modules, peer, "package.json"))) {
        if (!m.peerDependenciesMeta?.[peer]?.optional) problems.push(`${name}@${m.version}: peer ${peer}@"${range}" is not installed`);
      } else if (!semver.satisfies(manifest(peer).version, range)) {
        problems.push(`${name}@${m.version}: peer ${peer}@"${range}" does not match the installed ${manifest(peer).version}`);
      }
    }
  }
  // npm ci already ran the linked packages' install scripts where they live; ours would run here, so there must be none.
  const ours = manifest(pkg.name);
  const scripts = ["preinstall", "install", "postinstall"].filter((s) => ours.scripts?.[s]);
  if (scripts.length > 0 || ours.bin) problems.push(`${pkg.name}: npm would run its ${scripts.join(", ") || "(no) install scripts"} and link its ${ours.bin ? "bins" : "(no) bins"}; installFromProject does neither`);
  if (problems.length > 0) throw new Error(`the consumer's install would not be what npm install gives:\n${problems.join("\n")}`);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** A file the build must delete (see beforeAll). */
const STALE = join("dist", "constructs", "retired", "old-module.js");
let tarball: string;
/** Our declaration files the consumer's compile checked (under its node_modules). */
let checkedDeclarations: string[];
let packedFiles: string[];
let consumer: string;
let out: Map<string, TfJson>;
/** Temporary folders, removed after the tests (the consumer's node_modules is large). */
const temporary: string[] = [];

afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

beforeAll(() => {
  // Packed from this checkout, as a release is: npm runs prepack, the build (scripts/build.js). It
  // builds incrementally into dist/ and deletes what no source makes; a file planted there from an
  // "older build" must be gone from dist/ and the tarball, which also proves the build ran.
  mkdirSync(join(ROOT, "dist", "constructs", "retired"), { recursive: true });
  writeFileSync(join(ROOT, STALE), "// a module an earlier build made\n");
  const packDir = mkdtempSync(join(tmpdir(), "pack-"));
  temporary.push(packDir);
  const packed = run("npm", ["pack", "--json", "--pack-destination", packDir], ROOT);
  expect(existsSync(join(ROOT, STALE))).toBe(false);
  const info = JSON.parse(packed.slice(packed.indexOf("[")))[0] as { filename: string; files: { path: string }[] };
  tarball = join(packDir, info.filename);
  packedFiles = info.files.map((f) => f.path).sort();

  consumer = realpathSync(mkdtempSync(join(tmpdir(), "consumer-")));
  temporary.push(consumer);
  const devPins: Record<string, string> = pkg.devDependencies;
  const dependencies: Record<string, string> = { [pkg.name]: `file:${tarball}` };
  // The consumer picks versions in our peer ranges: the ones we pin (installed here by npm ci).
  for (const peer of [...Object.keys(PEERS), "@types/node"]) dependencies[peer] = devPins[peer];
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "platform-consumer", version: "1.0.0", private: true, dependencies }, null, 2));
  installFromProject(consumer, tarball, dependencies);

  mkdirSync(join(consumer, "src"));
  writeFileSync(join(consumer, "src", "main.ts"), CONSUMER);
  // A modern TypeScript setup resolves our types through package.json "exports".
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { target: "ES2022", module: "node16", moduleResolution: "node16", strict: true, outDir: "out", rootDir: "src", skipLibCheck: false, types: ["node"] }, include: ["src"] }),
  );
  checkedDeclarations = compileConsumer(consumer);
  const outdir = join(consumer, "cdktf.out");
  run(process.execPath, [join("out", "main.js"), outdir], consumer);
  out = readSynthOutput(outdir);
}, 180000);

test("the consumer's compile checked our declaration files, resolved through package.json exports", () => {
  const installed = join(consumer, "node_modules", pkg.name);
  const ours = checkedDeclarations.map((f) => relative(installed, f));
  expect(ours).toEqual(expect.arrayContaining(["dist/constructs/index.d.ts", "dist/stacks/index.d.ts", "dist/constructs/mesos-agent-pool.d.ts", "dist/stacks/mesos-cluster-stack.d.ts"]));
  expect(existsSync(join(consumer, "out", "main.js"))).toBe(true);
});

test("the tarball holds the compiled library and nothing else", () => {
  // The cluster client is plain JavaScript that MarathonApp and the readiness gate ship into cdktf.out.
  expect(packedFiles).not.toContain(STALE);
  for (const file of packedFiles) expect(file).toMatch(/^(package\.json|README\.md|LICENSE|dist\/(constructs|stacks)\/.+\.(js|d\.ts)|dist\/constructs\/cluster-client\/[a-z-]+\.js)$/);
  expect(packedFiles).toEqual(
    expect.arrayContaining(["dist/constructs/index.js", "dist/constructs/index.d.ts", "dist/stacks/mesos-cluster-stack.js", "dist/stacks/backend.d.ts", "dist/constructs/cluster-client/cli.js"]),
  );
  const installed = JSON.parse(readFileSync(join(consumer, "node_modules", pkg.name, "package.json"), "utf8"));
  expect(installed.exports["."]).toEqual({ types: "./dist/constructs/index.d.ts", require: "./dist/constructs/index.js", default: "./dist/constructs/index.js" });
  expect(installed.dependencies).toBeUndefined();
});

test("at run time the library needs only its peer dependencies and node's own modules; its types name no provider barrel", () => {
  const root = join(consumer, "node_modules", pkg.name);
  const allowed = new Set([...Object.keys(PEERS), ...builtinModules]);
  for (const file of filesUnder(join(root, "dist"))) {
    const text = readFileSync(file, "utf8");
    const specifiers = [...text.matchAll(/(?:require\(|from |import\()"([^"]+)"/g)].map((m) => m[1]).filter((s) => !s.startsWith("."));
    for (const spec of specifiers) {
      const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
      expect(`${relative(root, file)}: ${allowed.has(name) ? "peer or built-in" : spec}`).toBe(`${relative(root, file)}: peer or built-in`);
      // Deep paths only: a provider package root costs seconds and gigabytes.
      if (name.startsWith("@cdktf/provider-")) expect(spec).toMatch(/^@cdktf\/provider-[a-z]+\/lib\/[a-z0-9-]+$/);
    }
  }
  // Dev-only modules are not installed, yet the consumer synthesized.
  const devOnly = ["sucrase", "yaml", "jest", "typescript", "cdktf-cli"];
  for (const dev of devOnly) expect(existsSync(join(consumer, "node_modules", dev))).toBe(false);
  /** require.resolve in a real node process started in `cwd` (the path, or the error's code). */
  const resolve = (cwd: string, specs: string[]): Record<string, string> => {
    const script = `const r = {}; for (const s of ${JSON.stringify(specs)}) { try { r[s] = require.resolve(s) } catch (e) { r[s] = e.code } } console.log(JSON.stringify(r))`;
    return JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd, encoding: "utf8", stdio: "pipe" }));
  };
  // From inside the installed library, each peer is the consumer's copy and nothing of this checkout is in reach.
  const peers = Object.keys(PEERS);
  const fromLibrary = resolve(join(root, "dist", "constructs"), [...peers.map((p) => `${p}/package.json`), ...devOnly]);
  expect(fromLibrary).toEqual({
    ...Object.fromEntries(peers.map((p) => [`${p}/package.json`, realpathSync(join(consumer, "node_modules", p, "package.json"))])),
    ...Object.fromEntries(devOnly.map((d) => [d, "MODULE_NOT_FOUND"])),
  });
  // "exports" is the public surface: the package.json is reachable, internals are not.
  expect(resolve(consumer, [pkg.name, `${pkg.name}/stacks`, `${pkg.name}/package.json`, `${pkg.name}/dist/constructs/nodes.js`, `${pkg.name}/dist/stacks/config.js`])).toEqual({
    [pkg.name]: join(root, "dist", "constructs", "index.js"),
    [`${pkg.name}/stacks`]: join(root, "dist", "stacks", "index.js"),
    [`${pkg.name}/package.json`]: join(root, "package.json"),
    [`${pkg.name}/dist/constructs/nodes.js`]: "ERR_PACKAGE_PATH_NOT_EXPORTED",
    // The app's configuration loading (environment, working directory, ~/.ssh) is not reachable.
    [`${pkg.name}/dist/stacks/config.js`]: "ERR_PACKAGE_PATH_NOT_EXPORTED",
  });
});

test("the consumer's Azure stack keeps its own provider block and VNet", () => {
  const json = out.get("platform-azure")!;
  expect(json.provider.azurerm).toEqual([{ features: [{}], subscription_id: "00000000-0000-0000-0000-000000000001" }]);
  expect(Object.keys(json.resource.azurerm_virtual_network)).toEqual(["vnet"]);
  expect(json.resource.azurerm_nat_gateway).toBeUndefined();
  const masters = userDataNodes(json).filter((n) => n.kind === "fixed");
  expect(masters.map((m) => `${m.name} ${m.privateIp} ${m.zone}`)).toEqual(["platform-masters-1 10.50.1.10 1", "platform-masters-2 10.50.1.11 2", "platform-masters-3 10.50.1.12 3"]);
  for (const m of masters) {
    const vm = json.resource.azurerm_linux_virtual_machine[m.address.split(".")[1]];
    const nic = resolveRef(json, (vm.network_interface_ids as string[])[0])!;
    expect((nic.ip_configuration as { subnet_id: string }[])[0].subnet_id).toBe("${azurerm_subnet.mesos-masters.id}");
    expect(m.text).toContain("server.1=10.50.1.10:2888:3888;2181\n");
    expect(m.text).toContain("server.3=10.50.1.12:2888:3888;2181\n");
  }
  const pool = Object.values(json.resource.azurerm_linux_virtual_machine_scale_set)[0];
  expect(pool).toMatchObject({ instances: 4, location: "northeurope", resource_group_name: "${azurerm_resource_group.rg.name}" });
});

test("the consumer's AWS stack keeps its own provider block and VPC", () => {
  const json = out.get("platform-aws")!;
  expect(json.provider.aws).toEqual([{ allowed_account_ids: ["123456789012"], region: "us-east-2" }]);
  expect(Object.keys(json.resource.aws_vpc)).toEqual(["vpc"]);
  const instances = Object.values(json.resource.aws_instance);
  expect(instances.map((i) => [i.subnet_id, i.private_ip, i.availability_zone])).toEqual([
    ["${aws_subnet.masters-us-east-2a.id}", "10.60.0.10", "us-east-2a"],
    ["${aws_subnet.masters-us-east-2b.id}", "10.60.1.10", "us-east-2b"],
    ["${aws_subnet.masters-us-east-2c.id}", "10.60.2.10", "us-east-2c"],
  ]);
  expect(Object.keys(json.resource.aws_ebs_volume)).toHaveLength(3);
  const asg = Object.values(json.resource.aws_autoscaling_group)[0];
  expect(asg.vpc_zone_identifier).toEqual(["${aws_subnet.agents-us-east-2a.id}", "${aws_subnet.agents-us-east-2b.id}", "${aws_subnet.agents-us-east-2c.id}"]);
});

test("the packaged MesosClusterStack takes a remote state backend", () => {
  const json = out.get("whole-cluster")!;
  expect(json.terraform?.backend).toEqual({
    s3: { bucket: "acme-tf-state", region: "eu-west-1", key: "mesos-cluster/aws/mesos-whole-cluster.tfstate", encrypt: true, use_lockfile: true },
  });
  expect(Object.keys(json.resource.aws_instance)).toHaveLength(3);
});
