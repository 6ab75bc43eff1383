/**
 * Bad input as a new user writes it (project issue 12, part 2): environment
 * variables, cluster.config.json and construct props. Each mistake is
 * refused at synth with one line naming where (variable, file key or
 * construct path), the value and what is allowed; a legal but risky input
 * is warned about once. Every class has cases on both clouds.
 */
import { execFileSync } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack, Testing } from "cdktf";
import { AwsTarget, AzureTarget, ClusterConfigError, MesosAgentPool, MesosDns, MesosMasterGroup, NodeGroup, ZookeeperEnsemble } from "../constructs";
import { AWS_REGIONS, AZURE_LOCATIONS } from "../constructs/cloud/regions";
import { awsInstanceType } from "../constructs/cloud/vm-sizes-aws";
import { azureVmSize } from "../constructs/cloud/vm-sizes-azure";
import { ContainerImage } from "../constructs/core/container-image";
import { MarathonApp, MarathonAppProps } from "../constructs/marathon-app";
import { buildApp } from "../stacks/app";
import { loadAppConfig } from "../stacks/config";
import { MesosClusterStack, MesosClusterStackProps } from "../stacks/mesos-cluster-stack";
import { synthStack, TEST_SSH_KEY, warningsOf } from "./helpers/synth";

type Cloud = "azure" | "aws";
const CLOUDS: Cloud[] = ["azure", "aws"];
const VM: Record<Cloud, string> = { azure: "Standard_D2s_v5", aws: "t3.large" };
const ROOT = join(tmpdir(), `bad-input-${process.pid}`);

function app(): App {
  return new App({ outdir: "/tmp/mesos-cluster-test-out" });
}

/** A working directory and home for one case; the config file (when given) is `<dir>/cwd/cluster.config.json`. */
function dirs(name: string, file?: unknown): { cwd: string; home: string; file: string } {
  const dir = join(ROOT, name.replace(/[^a-z0-9]+/gi, "-"));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "cwd"), { recursive: true });
  mkdirSync(join(dir, "home", ".ssh"), { recursive: true });
  const path = join(dir, "cwd", "cluster.config.json");
  if (file !== undefined) writeFileSync(path, typeof file === "string" ? file : JSON.stringify(file));
  return { cwd: join(dir, "cwd"), home: join(dir, "home"), file: path };
}

/** Loads the configuration like `cdktf synth` does and synthesizes both stacks (deferred checks run at synth). */
function configured(name: string, env: Record<string, string>, file?: unknown): { warnings: string[] } {
  const { cwd, home } = dirs(name, file);
  const { stacks } = buildApp({ env: { CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, ...env }, cwd, homeDir: home, outdir: join(cwd, "out") });
  stacks.forEach((s) => synthStack(s));
  return { warnings: stacks.flatMap(warningsOf) };
}

function fileOf(name: string): string {
  return join(ROOT, name.replace(/[^a-z0-9]+/gi, "-"), "cwd", "cluster.config.json");
}

/** A stack from props, synthesized. */
function cluster(cloud: Cloud, props: MesosClusterStackProps = {}, id = "ha"): MesosClusterStack {
  const stack = new MesosClusterStack(app(), id, { cloud, profile: id === "dev" ? "dev" : "ha", sshPublicKey: TEST_SSH_KEY, ...props });
  synthStack(stack);
  return stack;
}

/** A library-style stack with a target of `cloud` and whatever the row builds on it. */
function lib(cloud: Cloud, build: (stack: TerraformStack, target: AzureTarget | AwsTarget) => void): TerraformStack {
  const stack = new TerraformStack(app(), "lib");
  const target = cloud === "azure" ? new AzureTarget(stack, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY }) : new AwsTarget(stack, "aws", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY });
  build(stack, target);
  synthStack(stack);
  return stack;
}

function masters(stack: TerraformStack, target: AzureTarget | AwsTarget): MesosMasterGroup {
  const nodes = new NodeGroup(stack, "masters", { target, count: 3, vmSize: VM[target.cloud] });
  return new MesosMasterGroup(stack, "mesos", { nodes, zookeeper: new ZookeeperEnsemble(stack, "zk", { nodes }) });
}

/** A cluster with its Marathon and one agent pool, and the apps the row adds. */
function withApps(cloud: Cloud, add: (stack: MesosClusterStack) => void): MesosClusterStack {
  const stack = new MesosClusterStack(app(), "dev", { cloud, sshPublicKey: TEST_SSH_KEY });
  add(stack);
  synthStack(stack);
  return stack;
}

function webApp(stack: MesosClusterStack, id: string, props: Partial<MarathonAppProps> = {}): MarathonApp {
  return new MarathonApp(stack, id, { marathon: stack.marathon, id: "/web", container: { image: "nginx:1.27.3" }, ...props } as MarathonAppProps);
}


interface Expected {
  path: string;
  property: string;
  value?: string;
  allowed: string;
  /** The variable or file key named after the value. */
  source?: string;
}

type Row = [string, () => void, Expected];

const rows: Row[] = [];
const row = (name: string, build: () => void, expected: Expected) => rows.push([name, build, expected]);

// --- Misspelled or unknown CLUSTER_* variables, unknown stacks in CLUSTER_<STACK>_*
row("a misspelled knob (azure)", () => configured("typo", { CLUSTER_AGENT_CUONT: "3" }), { path: "app", property: "CLUSTER_AGENT_CUONT", value: '"3"', allowed: "did you mean CLUSTER_AGENT_COUNT?" });
row("a misspelled per-stack knob (aws)", () => configured("typo-aws", { CLUSTER_CLOUD: "aws", CLUSTER_HA_AGENT_VMSIZE: "m6i.large" }), { path: "app", property: "CLUSTER_HA_AGENT_VMSIZE", value: '"m6i.large"', allowed: "did you mean CLUSTER_HA_AGENT_VM_SIZE?" });
row("an unknown stack in CLUSTER_<STACK>_* (azure)", () => configured("stack", { CLUSTER_PROD_AGENT_COUNT: "6" }), { path: "app", property: "CLUSTER_PROD_AGENT_COUNT", value: '"6"', allowed: 'CLUSTER_DEV_AGENT_COUNT or CLUSTER_HA_AGENT_COUNT ("PROD" is not a stack' });
row("an unknown stack's name (aws)", () => configured("stack-aws", { CLUSTER_CLOUD: "aws", CLUSTER_STAGING_NAME: "acme-staging" }), { path: "app", property: "CLUSTER_STAGING_NAME", value: '"acme-staging"', allowed: "CLUSTER_DEV_NAME or CLUSTER_HA_NAME" });
row("a guessed name variable", () => configured("name", { CLUSTER_NAME: "acme" }), { path: "app", property: "CLUSTER_NAME", value: '"acme"', allowed: "did you mean CLUSTER_HA_NAME or CLUSTER_DEV_NAME?" });
row("a secret-looking unknown variable hides its value", () => configured("secret", { CLUSTER_AUTH_PASSWORD: "hunter2hunter2hunter2" }), { path: "app", property: "CLUSTER_AUTH_PASSWORD", value: '"(hidden)"', allowed: "did you mean CLUSTER_AUTH_PASSWORDS?" });
row("a misspelled file key", () => configured("file-typo", {}, { stacks: { ha: { agentCuont: 6 } } }), { path: fileOf("file-typo"), property: "stacks.ha.agentCuont", value: '"agentCuont"', allowed: "(did you mean agentCount?)" });
row("a misspelled stack in the file", () => configured("file-stack", {}, { stacks: { hq: { agentCount: 6 } } }), { path: fileOf("file-stack"), property: "stacks.hq", value: '"hq"', allowed: "a stack name: dev, ha (did you mean ha?)" });

// --- An error caused by a variable or a file key names it
row("an Arm agent size from a variable (azure)", () => configured("env-size", { CLUSTER_HA_AGENT_VM_SIZE: "Standard_D2ps_v5" }), { path: "ha/agents/machines", property: "vmSize", value: '"Standard_D2ps_v5"', allowed: "an x86-64 VM size", source: "CLUSTER_HA_AGENT_VM_SIZE" });
row("an even master count from a variable (aws)", () => configured("env-count", { CLUSTER_CLOUD: "aws", CLUSTER_MASTER_COUNT: "4" }), { path: "dev", property: "masterCount", value: "4", allowed: "1, 3, 5 or 7", source: "CLUSTER_MASTER_COUNT" });
row("an unknown region from the file (aws)", () => configured("file-region", {}, { cloud: "aws", aws: { region: "eu-west-4" } }), { path: "dev/aws", property: "region", value: '"eu-west-4"', allowed: "an AWS region name", source: "cluster.config.json aws.region" });
row("a moving image tag from a variable (azure)", () => configured("env-image", { CLUSTER_IMAGE_ZOOKEEPER: "zookeeper:3.8" }), { path: "dev/zookeeper", property: "image", value: '"zookeeper:3.8"', allowed: "an exact ZooKeeper release such as zookeeper:3.8.4", source: "CLUSTER_IMAGE_ZOOKEEPER" });
row("a cluster name from the name prefix (aws)", () => configured("prefix", { CLUSTER_CLOUD: "aws", CLUSTER_NAME_PREFIX: "Acme" }), { path: "dev", property: "clusterName", value: '"Acme-dev"', allowed: "lower-case letters", source: "CLUSTER_NAME_PREFIX (Acme-dev)" });

// --- Regions and zones
row("an Azure location misspelled", () => cluster("azure", { region: "westeruope" }), { path: "ha/azure", property: "location", value: '"westeruope"', allowed: "(did you mean westeurope?)" });
row("an Azure location as displayed", () => cluster("azure", { region: "West Europe" }), { path: "ha/azure", property: "location", value: '"West Europe"', allowed: "(did you mean westeurope?)" });
row("an Azure location without availability zones", () => cluster("azure", { region: "westus" }), { path: "ha/azure", property: "location", value: '"westus"', allowed: "a location with availability zones (westus has none" });
row("an Azure zone the location lacks", () => cluster("azure", { region: "northeurope", zones: ["1", "2", "4"] }), { path: "ha/azure", property: "zones", value: '"4"', allowed: "Azure availability zones 1, 2 and 3 of northeurope" });
row("an AWS region that does not exist", () => cluster("aws", { region: "eu-west-4" }), { path: "ha/aws", property: "region", value: '"eu-west-4"', allowed: "(did you mean eu-west-1, eu-west-2 or eu-west-3?)" });
row("an AWS zone letter the region lacks", () => cluster("aws", { region: "ca-central-1", zones: ["ca-central-1a", "ca-central-1b", "ca-central-1c"] }), { path: "ha/aws", property: "zones", value: '"ca-central-1c"', allowed: "availability zones of ca-central-1: ca-central-1a, ca-central-1b, ca-central-1d" });
row("AWS default zones where accounts differ (us-west-1)", () => cluster("aws", { region: "us-west-1" }), { path: "ha/aws", property: "zones", allowed: "zones named for us-west-1: its zone letters differ by account" });
row("an AWS GovCloud region without an AMI", () => cluster("aws", { region: "us-gov-west-1" }), { path: "ha/aws", property: "region", value: '"us-gov-west-1"', allowed: "a region of the commercial partition, or amiId" });

// --- Subnets too small for the agents; Docker's bridge and pools
row("an Azure agent subnet too small for the agents (with rolling surge)", () => cluster("azure", { agentCount: 20, agentSubnetCidrs: ["10.20.16.0/28"] }), { path: "ha/agents/machines", property: "count", value: "20", allowed: "at most 8 machines in agent subnet 10.20.16.0/28 (11 usable addresses: Azure and AWS keep 5 of every subnet; a rolling upgrade adds up to 34% new machines" });
row("AWS agent subnets too small for the agents", () => cluster("aws", { agentCount: 40, agentSubnetCidrs: ["10.20.16.0/28", "10.20.16.16/28", "10.20.16.32/28"] }), { path: "ha/agents/machines", property: "count", value: "40", allowed: "at most 33 machines in agent subnets 10.20.16.0/28, 10.20.16.16/28, 10.20.16.32/28 (11 usable addresses each" });
row("two pools sharing a subnet that holds one of them", () => {
  const stack = new TerraformStack(app(), "lib");
  const target = new AzureTarget(stack, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY, agentSubnetCidr: "10.20.16.0/26" });
  const m = masters(stack, target);
  new MesosAgentPool(stack, "pool-a", { target, masters: m, name: "pool-a", count: 30, vmSize: VM.azure });
  new MesosAgentPool(stack, "pool-b", { target, masters: m, name: "pool-b", count: 20, vmSize: VM.azure });
}, { path: "lib/pool-b/machines", property: "count", value: "20", allowed: "at most 13 machines in agent subnet 10.20.16.0/26 (59 usable addresses: Azure and AWS keep 5 of every subnet; a rolling upgrade adds up to 34% new machines before removing old ones; lib/pool-a/machines already take 41)" });
row("an Azure address space on Docker's default bridge", () => cluster("azure", { addressSpace: "172.17.0.0/16" }), { path: "ha/azure", property: "addressSpace", value: '"172.17.0.0/16"', allowed: "does not overlap 172.17.0.0/16, Docker's default bridge (docker0)" });
row("an AWS address space holding Docker's default bridge", () => cluster("aws", { addressSpace: "172.16.0.0/12", masterSubnetCidrs: ["172.16.0.0/24", "172.16.1.0/24", "172.16.2.0/24"], agentSubnetCidrs: ["172.16.16.0/20", "172.16.32.0/20", "172.16.48.0/20"] }), { path: "ha/aws", property: "addressSpace", value: '"172.16.0.0/12"', allowed: "does not overlap 172.17.0.0/16" });

// --- The whole internet spelled as several blocks
row("the internet as two halves (azure)", () => cluster("azure", { adminCidrs: ["0.0.0.0/1", "128.0.0.0/1"] }), { path: "ha", property: "adminCidrs", value: '["0.0.0.0/1","128.0.0.0/1"]', allowed: "a block narrower than the whole internet (to open a service to everyone, name it in internetIngress): together these blocks cover 0.0.0.0/0" });
row("the internet as four quarters (aws)", () => cluster("aws", { adminCidrs: ["192.0.0.0/2", "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2"] }), { path: "ha", property: "adminCidrs", allowed: "together these blocks cover 0.0.0.0/0" });
row("::/0 (azure)", () => cluster("azure", { adminCidrs: ["203.0.113.0/24", "::/0"] }), { path: "ha", property: "adminCidrs[1]", value: '"::/0"', allowed: "a block narrower than the whole internet (to open a service to everyone, name it in internetIngress); ::/0 is the whole IPv6 internet" });
row("the IPv6 internet as two halves (aws)", () => cluster("aws", { adminCidrs: ["::/1", "8000::/1"] }), { path: "ha", property: "adminCidrs", allowed: "together these blocks cover ::/0" });
row("an IPv6 admin network (aws)", () => cluster("aws", { adminCidrs: ["2001:db8::/32"] }), { path: "ha", property: "adminCidrs[0]", value: '"2001:db8::/32"', allowed: "an IPv4 CIDR block such as 203.0.113.0/24 (the cluster's networks and rules are IPv4 only)" });

// --- VM sizes too small for the role, Arm sizes
row("Azure masters with 4 GiB", () => cluster("azure", { masterVmSize: "Standard_B2s" }), { path: "ha/masters", property: "vmSize", value: '"Standard_B2s"', allowed: "a size with at least 2 vCPUs and 8 GiB for machines that run ZooKeeper, the Mesos master, Marathon and Swarm (Standard_B2s has 2 vCPUs and 4 GiB)" });
row("Azure masters with 7 GiB (D2_v2)", () => cluster("azure", { masterVmSize: "Standard_D2_v2" }), { path: "ha/masters", property: "vmSize", value: '"Standard_D2_v2"', allowed: "(Standard_D2_v2 has 2 vCPUs and 7 GiB)" });
row("AWS masters with 4 GiB", () => cluster("aws", { masterVmSize: "t3.medium" }), { path: "ha/masters", property: "vmSize", value: '"t3.medium"', allowed: "at least 2 vCPUs and 8 GiB for machines that run ZooKeeper, the Mesos master, Marathon and Swarm (t3.medium has 2 vCPUs and 4 GiB)" });
row("AWS agents with 1 GiB", () => cluster("aws", { agentVmSize: "t3.micro" }), { path: "ha/agents/machines", property: "vmSize", value: '"t3.micro"', allowed: "at least 1 vCPU and 2 GiB for machines that run the Mesos agent (t3.micro has 2 vCPUs and 1 GiB)" });
row("Azure agents with 1 GiB", () => cluster("azure", { agentVmSize: "Standard_B1s" }), { path: "ha/agents/machines", property: "vmSize", value: '"Standard_B1s"', allowed: "(Standard_B1s has 1 vCPU and 1 GiB)" });
row("a first-generation Graviton type (a1)", () => cluster("aws", { agentVmSize: "a1.xlarge" }), { path: "ha/agents/machines", property: "vmSize", value: '"a1.xlarge"', allowed: "an x86-64 instance type" });
row("an Arm Azure size with constrained cores", () => cluster("azure", { masterVmSize: "Standard_E4-2ps_v5" }), { path: "ha/masters", property: "vmSize", value: '"Standard_E4-2ps_v5"', allowed: "an x86-64 VM size" });
row("a dedicated ZooKeeper on a 1 GiB machine", () => lib("aws", (s, t) => new ZookeeperEnsemble(s, "zk", { target: t, vmSize: "t3.micro" })), { path: "lib/zk/machines", property: "vmSize", value: '"t3.micro"', allowed: "at least 1 vCPU and 2 GiB for machines that run ZooKeeper" });

// --- Image pins
row("a ZooKeeper release line (azure)", () => cluster("azure", { images: { zookeeper: "zookeeper:3.8" } }), { path: "ha/zookeeper", property: "image", value: '"zookeeper:3.8"', allowed: "an exact ZooKeeper release such as zookeeper:3.8.4" });
row("latest in capitals (aws)", () => cluster("aws", { images: { swarm: "swarm:LATEST" } }), { path: "ha/swarm", property: "image", value: '"swarm:LATEST"', allowed: 'uses the moving tag "LATEST"' });
row("Latest, capitalised (azure)", () => cluster("azure", { images: { marathon: "mesosphere/marathon:Latest" } }), { path: "ha/marathon", property: "image", value: '"mesosphere/marathon:Latest"', allowed: 'moving tag "Latest"' });
row("a channel tag without a version", () => cluster("aws", { images: { zookeeper: "zookeeper:stable" } }), { path: "ha/zookeeper", property: "image", value: '"zookeeper:stable"', allowed: "no version in it" });
row("Swarm 1.2.9, without the Mesos driver (azure)", () => cluster("azure", { images: { swarm: "swarm:1.2.9" } }), { path: "ha/swarm", property: "image", value: '"swarm:1.2.9"', allowed: "Swarm 1.2.8 or earlier such as swarm:1.2.8 (1.2.9 removed the Mesos driver)" });
row("a later Swarm (aws)", () => cluster("aws", { images: { swarm: "swarm:1.3.0" } }), { path: "ha/swarm", property: "image", value: '"swarm:1.3.0"', allowed: "1.2.9 removed the Mesos driver" });
row("ZooKeeper 3.4 (aws)", () => cluster("aws", { images: { zookeeper: "zookeeper:3.4.14" } }), { path: "ha/zookeeper", property: "image", value: '"zookeeper:3.4.14"', allowed: "ZooKeeper 3.5 or later such as zookeeper:3.8.4 (the rendered server.N=host:2888:3888;2181 lines need 3.5+)" });
row("ZooKeeper 3.4 (azure)", () => cluster("azure", { images: { zookeeper: "library/zookeeper:3.4.13" } }), { path: "ha/zookeeper", property: "image", value: '"library/zookeeper:3.4.13"', allowed: "ZooKeeper 3.5 or later" });
row("Marathon 1.9 with the Mesos 1.7 masters (azure)", () => cluster("azure", { images: { marathon: "mesosphere/marathon:v1.9.109" } }), { path: "ha/marathon", property: "image", value: '"mesosphere/marathon:v1.9.109"', allowed: "Marathon before 1.9 such as mesosphere/marathon:v1.8.244 with Mesos masters mesosphere/mesos-master:1.7.1" });
row("Marathon 1.11 with the Mesos 1.7 masters (aws)", () => cluster("aws", { images: { marathon: "mesosphere/marathon:v1.11.24" } }), { path: "ha/marathon", property: "image", value: '"mesosphere/marathon:v1.11.24"', allowed: "UPDATE_FRAMEWORK, which Mesos added in 1.9" });
row("a Mesos release line", () => cluster("aws", { images: { mesosAgent: "mesosphere/mesos-slave:1.7" } }), { path: "ha/agents", property: "image", value: '"mesosphere/mesos-slave:1.7"', allowed: "an exact Mesos agent release such as mesosphere/mesos-slave:1.7.1" });
row("an app image on a major version", () => withApps("azure", (s) => webApp(s, "web", { container: { image: "node:20" } })), { path: "dev/web", property: "container.image", value: '"node:20"', allowed: "a major version follows its releases" });

// --- Cluster names: two stacks with one name, a stack id too long for its default name
row("two stacks named alike by variables (azure)", () => configured("same-name", { CLUSTER_DEV_NAME: "acme", CLUSTER_HA_NAME: "acme" }), { path: "ha", property: "clusterName", value: '"acme"', allowed: "a name no other stack of this app uses on azure (stack dev is acme", source: "CLUSTER_HA_NAME" });
row("two library stacks named alike (aws)", () => {
  const a = app();
  new MesosClusterStack(a, "blue", { cloud: "aws", clusterName: "shop", sshPublicKey: TEST_SSH_KEY });
  new MesosClusterStack(a, "green", { cloud: "aws", clusterName: "shop", sshPublicKey: TEST_SSH_KEY });
}, { path: "green", property: "clusterName", value: '"shop"', allowed: "a name no other stack of this app uses on aws (stack blue is shop" });
row("a stack id too long for its default name (azure)", () => new MesosClusterStack(app(), "production-westeurope-2", { sshPublicKey: TEST_SSH_KEY }), { path: "production-westeurope-2", property: "clusterName", value: '"mesos-production-westeurope-2"', allowed: 'stack id "production-westeurope-2" makes it 29 characters, over the 24 of a cluster name (names derived from it must fit the clouds\' limits: Azure Key Vault names 24 characters' });
row("a stack id with capitals (aws)", () => new MesosClusterStack(app(), "Prod", { cloud: "aws", sshPublicKey: TEST_SSH_KEY }), { path: "Prod", property: "clusterName", value: '"mesos-Prod"', allowed: "the default is mesos-<stack id>" });

// --- Config values of the wrong JSON type
row("a string for a boolean", () => configured("bool", {}, { stacks: { dev: { auth: "true" } } }), { path: fileOf("bool"), property: "stacks.dev.auth", value: '"true"', allowed: "a JSON boolean: true or false, without quotes, not a string" });
row("a string for a list", () => configured("list", {}, { cloud: "aws", zones: "eu-west-1a,eu-west-1b" }), { path: fileOf("list"), property: "zones", value: '"eu-west-1a,eu-west-1b"', allowed: 'a JSON list of strings such as ["1", "2"] (the comma-separated form is for environment variables), not a string' });
row("a string for a number", () => configured("number", {}, { azure: { agentCount: "3" } }), { path: fileOf("number"), property: "azure.agentCount", value: '"3"', allowed: "a JSON number such as 3 (an integer, without quotes), not a string" });
row("a fraction for a count", () => configured("fraction", {}, { cloud: "aws", masterDataDiskGb: 32.5 }), { path: fileOf("fraction"), property: "masterDataDiskGb", value: "32.5", allowed: "a JSON number such as 3" });
row("a list for an image", () => configured("image-type", {}, { images: { marathon: ["mesosphere/marathon:v1.8.244"] } }), { path: fileOf("image-type"), property: "images.marathon", allowed: "a JSON string, not a list" });

// --- SSH key paths
row("an SSH key path that is a directory (azure)", () => {
  const { cwd, home } = dirs("key-dir");
  loadAppConfig({ env: { CLUSTER_SSH_PUBLIC_KEY_FILE: "~/.ssh" }, cwd, homeDir: home });
}, { path: "app", property: "CLUSTER_SSH_PUBLIC_KEY_FILE", value: '"~/.ssh"', allowed: "the path of a public key file, not a directory" });
row("an SSH key file that cannot be read (aws)", () => {
  const { cwd, home } = dirs("key-unreadable", { cloud: "aws", sshPublicKeyFile: "admin.pub" });
  symlinkSync("/proc/self/mem", join(cwd, "admin.pub"));
  loadAppConfig({ env: {}, cwd, homeDir: home });
}, { path: fileOf("key-unreadable"), property: "sshPublicKeyFile", value: '"admin.pub"', allowed: "a readable public key file" });
row("a private key given as the public key (azure)", () => {
  const { cwd, home } = dirs("key-private", { stacks: { ha: { sshPublicKeyFile: "id_ed25519" } } });
  writeFileSync(join(cwd, "id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
  loadAppConfig({ env: {}, cwd, homeDir: home });
}, { path: fileOf("key-private"), property: "stacks.ha.sshPublicKeyFile", value: '"id_ed25519"', allowed: "it holds a private key; give the public half, the .pub file next to it" });
row("a file that is not a public key (aws)", () => {
  const { cwd, home } = dirs("key-text");
  writeFileSync(join(cwd, "key.pub"), "my laptop key\n");
  loadAppConfig({ env: { CLUSTER_CLOUD: "aws", CLUSTER_SSH_PUBLIC_KEY_FILE: "key.pub" }, cwd, homeDir: home });
}, { path: "app", property: "CLUSTER_SSH_PUBLIC_KEY_FILE", value: '"key.pub"', allowed: 'it is not a public key line such as "ssh-ed25519 AAAA... you@host"' });
row("a key found in ~/.ssh that is not a key", () => {
  const { cwd, home } = dirs("key-home");
  writeFileSync(join(home, ".ssh", "id_ed25519.pub"), "");
  loadAppConfig({ env: {}, cwd, homeDir: home });
}, { path: "app", property: "sshPublicKeyFile", allowed: "it is empty) (found in ~/.ssh because no sshPublicKey or sshPublicKeyFile was configured" });

// --- Library props
for (const cloud of CLOUDS) {
  row(`two agent pools with the same default name (${cloud})`, () => lib(cloud, (s, t) => {
    const m = masters(s, t);
    new MesosAgentPool(s, "blue", { target: t, masters: m, count: 1, vmSize: VM[cloud] });
    new MesosAgentPool(s, "green", { target: t, masters: m, count: 1, vmSize: VM[cloud] });
  }), { path: "lib/green/machines", property: "name", value: '"agents"', allowed: 'a group name no other machine group of cluster lib uses (lib/blue/machines is "agents"' });
  row(`two apps with one id (${cloud})`, () => withApps(cloud, (s) => {
    webApp(s, "web-a");
    webApp(s, "web-b", { id: "web" });
  }), { path: "dev/web-b", property: "id", value: '"web"', allowed: "an id no other MarathonApp of dev/marathon uses (dev/web-a deploys /web" });
}
row("an app id that is another app's group", () => withApps("aws", (s) => {
  webApp(s, "web", { id: "/shop/web" });
  webApp(s, "shop", { id: "/shop" });
}), { path: "dev/shop", property: "id", value: '"/shop"', allowed: "an id that is neither a group holding another app nor inside one (dev/web deploys /shop/web" });
row("an app host port on the agent's own port (azure)", () => withApps("azure", (s) => webApp(s, "web", { container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80, hostPort: 5051 }] } })), { path: "dev/web", property: "container.portMappings[0].hostPort", value: "5051", allowed: "0 (Mesos picks a free port) or a port the agents offer their tasks (31000-32000): 5051 is the Mesos agent (dev/agents port)" });
row("an app host port on the agents' Docker engine (aws)", () => withApps("aws", (s) => webApp(s, "web", { container: undefined, cmd: "python3 -m http.server 2375", portDefinitions: [{ port: 2375 }], requirePorts: true })), { path: "dev/web", property: "portDefinitions[0].port", value: "2375", allowed: "2375 is the agents' Docker engine (Swarm) (dev/swarm agentEnginePort)" });
row("an app host port the agents never offer (aws)", () => withApps("aws", (s) => webApp(s, "web", { container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80, hostPort: 8080 }] } })), { path: "dev/web", property: "container.portMappings[0].hostPort", value: "8080", allowed: "8080 is not offered, so the app would wait for an offer forever" });

// --- Part 3: services without authentication opened to admin networks (the refusal is in place; catalogued here)
for (const cloud of CLOUDS) {
  row(`dev's open APIs to admin networks without insecure (${cloud})`, () => cluster(cloud, { adminCidrs: ["203.0.113.0/24"] }, "dev"), { path: "dev", property: "adminCidrs", value: '["203.0.113.0/24"]', allowed: "openings of authenticated services only: the Mesos API (auth is off), Marathon (auth is off), the Swarm API (swarmTls is off) would serve anyone on those networks" });
}
row("from variables: the refusal names them", () => configured("insecure", { CLUSTER_DEV_ADMIN_CIDRS: "203.0.113.0/24" }), { path: "dev", property: "adminCidrs", value: '["203.0.113.0/24"]', allowed: "CLUSTER_INSECURE=on", source: "CLUSTER_DEV_ADMIN_CIDRS" });

// --- Service discovery (issue 14): the knob, the edge pool, web openings, Mesos-DNS's props
row("an unknown discovery mode from a variable (azure)", () => configured("discovery", { CLUSTER_HA_DISCOVERY: "consul" }), { path: "ha", property: "discovery", value: '"consul"', allowed: '"off", "dns", "dns+lb"', source: "CLUSTER_HA_DISCOVERY" });
row("no edge agents with dns+lb, from the file (aws)", () => configured("edge-count", {}, { cloud: "aws", stacks: { ha: { discovery: "dns+lb", edgeAgentCount: 0 } } }), { path: "ha", property: "edgeAgentCount", value: "0", allowed: "an integer from 1 to 1000", source: "cluster.config.json stacks.ha.edgeAgentCount" });
row("edge agents too small for the Mesos agent, from a variable (aws)", () => configured("edge-size", { CLUSTER_CLOUD: "aws", CLUSTER_HA_DISCOVERY: "dns+lb", CLUSTER_HA_EDGE_VM_SIZE: "t3.micro" }), { path: "ha/edge/machines", property: "vmSize", value: '"t3.micro"', allowed: "at least 1 vCPU and 2 GiB for machines that run the Mesos agent", source: "CLUSTER_HA_EDGE_VM_SIZE" });
row("web from the internet without the edge (azure)", () => cluster("azure", { internetIngress: ["web"] }), { path: "ha", property: "internetIngress", value: '["web"]', allowed: 'services this stack runs: "web" is marathon-lb on the edge pool (discovery "dns+lb"; it is "dns")' });
row("web from the internet on AWS in an existing network without public subnets for the edge's load balancer", () =>
  cluster("aws", {
    discovery: "dns+lb",
    internetIngress: ["web"],
    target: (s) =>
      new AwsTarget(s, "aws", {
        clusterName: "byo",
        sshPublicKey: TEST_SSH_KEY,
        zones: ["eu-west-1a"],
        existingNetwork: { vpcId: "vpc-1", addressSpace: ["10.40.0.0/16"], masterSubnets: [{ id: "m", cidr: "10.40.0.0/24", zone: "eu-west-1a" }], agentSubnets: [{ id: "a", cidr: "10.40.16.0/20", zone: "eu-west-1a" }] },
      }),
  }), { path: "ha/aws", property: "existingNetwork.publicSubnets", value: "[]", allowed: "a public subnet (routed to an internet gateway, 8 free addresses) in each zone of the edge pool, eu-west-1a: " });
// --- The agents' drain (issue 15): the stack's knob; each cloud's most is its target's check, named by the knob
row("a drain bound the group cannot wait for, from a variable (aws)", () => configured("drain-aws", { CLUSTER_CLOUD: "aws", CLUSTER_HA_AGENT_DRAIN_SECONDS: "7200" }), { path: "ha/agents", property: "drain.timeoutSeconds", value: "7200", allowed: "whole seconds from 30 to 7140 (the group waits the bound plus 60 s, and a lifecycle hook's heartbeat timeout is at most 7200 s)", source: "CLUSTER_HA_AGENT_DRAIN_SECONDS" });
row("a drain bound the scale set cannot wait for, from the file (azure)", () => configured("drain-azure", {}, { stacks: { ha: { agentDrainSeconds: 900 } } }), { path: "ha/agents", property: "drain.timeoutSeconds", value: "900", allowed: "whole seconds from 30 to 840 (the scale set waits the bound plus 60 s, and its terminate notification at most 15 minutes)", source: "cluster.config.json stacks.ha.agentDrainSeconds" });
row("a drain bound under 30 s, from a variable (azure)", () => configured("drain-short", { CLUSTER_AGENT_DRAIN_SECONDS: "10" }), { path: "dev/agents", property: "drain.timeoutSeconds", value: "10", allowed: "whole seconds from 30 to 840", source: "CLUSTER_AGENT_DRAIN_SECONDS" });
row("a negative drain bound, from the file (aws)", () => configured("drain-negative", {}, { cloud: "aws", stacks: { dev: { agentDrainSeconds: -1 } } }), { path: "dev", property: "agentDrainSeconds", value: "-1", allowed: "an integer >= 0", source: "cluster.config.json stacks.dev.agentDrainSeconds" });
row("a drain bound that is not a number, from a variable", () => configured("drain-text", { CLUSTER_AGENT_DRAIN_SECONDS: "10m" }), { path: "app", property: "CLUSTER_AGENT_DRAIN_SECONDS", value: '"10m"', allowed: "an integer" });
row("a moving Mesos-DNS tag from a variable (azure)", () => configured("dns-image", { CLUSTER_IMAGE_MESOS_DNS: "mesosphere/mesos-dns:latest" }), { path: "ha/dns", property: "image", value: '"mesosphere/mesos-dns:latest"', allowed: 'uses the moving tag "latest"', source: "CLUSTER_IMAGE_MESOS_DNS" });
for (const cloud of CLOUDS) {
  row(`Mesos-DNS forwarding to systemd-resolved's stub (${cloud})`, () => lib(cloud, (s, t) => new MesosDns(s, "dns", { masters: masters(s, t), resolvers: ["127.0.0.53"] })), { path: "lib/dns", property: "resolvers[0]", value: '"127.0.0.53"', allowed: "none a master's own (a loop) or in 127.0.0.0/8 (systemd-resolved's stub routes back here)" });
}
row("Mesos-DNS credentials for masters without HTTP authentication", () => lib("aws", (s, t) => new MesosDns(s, "dns", { masters: masters(s, t), credentials: { username: "dns", password: "dns-Pa55word-0123456789" } })), { path: "lib/dns", property: "credentials", value: '"dns"', allowed: "none while lib/mesos does not authenticate HTTP" });
row("a Mesos-DNS domain with capitals and underscores (azure)", () => lib("azure", (s, t) => new MesosDns(s, "dns", { masters: masters(s, t), domain: "Mesos_Cluster" })), { path: "lib/dns", property: "domain", value: '"Mesos_Cluster"', allowed: "lower-case DNS labels" });
row("a record TTL shorter than the refresh (aws)", () => lib("aws", (s, t) => new MesosDns(s, "dns", { masters: masters(s, t), refreshSeconds: 60, ttlSeconds: 30 })), { path: "lib/dns", property: "ttlSeconds", value: "30", allowed: "an integer from 60 to 86400" });

function errorOf(build: () => void): ClusterConfigError {
  try {
    build();
  } catch (e) {
    if (e instanceof ClusterConfigError) return e;
    throw new Error(`expected a ClusterConfigError, got: ${(e as Error).stack}`);
  }
  throw new Error("no error was raised");
}

afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

describe("bad input is refused with one line: where, the value, what is allowed", () => {
  test("every case is distinct", () => {
    expect(new Set(rows.map(([name]) => name)).size).toBe(rows.length);
  });

  test.each(rows)("%s", (_name, build, expected) => {
    const e = errorOf(build);
    expect({ path: e.constructPath, property: e.property }).toEqual({ path: expected.path, property: expected.property });
    const value = expected.value === undefined ? "" : ` ${expected.value}`;
    expect(e.summary.startsWith(`${expected.path}: invalid ${expected.property}${value}`)).toBe(true);
    expect(e.summary).toContain("; allowed: ");
    expect(e.summary).not.toContain("\n");
    expect(e.message).toContain(e.summary);
    expect(e.allowed).toContain(expected.allowed);
    expect(e.source).toBe(expected.source);
    if (expected.source) expect(e.summary).toContain(`(from ${expected.source}); allowed: `);
  });
});

describe("legal but risky input is warned about, once", () => {
  const once = (warnings: string[], text: string) => {
    const hits = warnings.filter((w) => w.includes(text));
    expect(hits).toHaveLength(1);
    return hits[0];
  };

  test.each(CLOUDS)("passwords from variables while auth is off (%s): dev warns, naming the variable; ha (auth on) does not", (cloud) => {
    const { warnings } = configured(`passwords-${cloud}`, { CLUSTER_CLOUD: cloud, CLUSTER_AUTH_PASSWORDS: "variables" });
    expect(once(warnings, "authPasswords")).toBe(
      'dev: authPasswords "variables" has no effect while auth is off: no password variable is declared and Marathon and Mesos stay open (turn auth on, CLUSTER_AUTH=on) (from CLUSTER_AUTH_PASSWORDS)',
    );
  });

  test.each(CLOUDS)("an address space in Docker's address pools (%s)", (cloud) => {
    const stack = cluster(cloud, { addressSpace: "192.168.0.0/16" });
    expect(once(warningsOf(stack), "Docker's default address pools")).toMatch(/^ha\/(azure|aws): address space 192\.168\.0\.0\/16 overlaps Docker's default address pools 192\.168\.0\.0\/16: /);
  });

  test.each(CLOUDS)("an admin network on Docker's default bridge (%s)", (cloud) => {
    const stack = cluster(cloud, { adminCidrs: ["172.17.8.0/24"] });
    expect(once(warningsOf(stack), "docker0")).toBe("ha: adminCidrs 172.17.8.0/24 overlaps 172.17.0.0/16, Docker's default bridge (docker0) on every machine: answers to those addresses go to docker0, not back to you");
  });

  test.each(CLOUDS)("admin networks wider than a /8 (%s)", (cloud) => {
    const stack = cluster(cloud, { adminCidrs: ["0.0.0.0/1"] });
    expect(once(warningsOf(stack), "more than a /8")).toContain("ha: adminCidrs cover 2147483648 addresses, more than a /8 (50.0% of the internet)");
  });

  test("three masters over AWS us-west-1's two zones: the quorum does not survive the zone with two", () => {
    const stack = cluster("aws", { region: "us-west-1", zones: ["us-west-1a", "us-west-1c"] });
    expect(once(warningsOf(stack), "quorum")).toBe(
      "ha/masters: 3 machines over 2 zones (us-west-1a, us-west-1c): one zone holds 2 of them, a majority, so losing that zone loses the quorum; spread them over 3 zones",
    );
  });

  test("three masters in one Azure zone, from a variable", () => {
    const { warnings } = configured("one-zone", { CLUSTER_ZONES: "2" });
    expect(once(warnings, "quorum")).toBe("ha/masters: 3 machines over 1 zone (2): one zone holds 3 of them, a majority, so losing that zone loses the quorum; spread them over 3 zones (from CLUSTER_ZONES)");
  });

  test.each(CLOUDS)("an app asking more than any agent offers (%s)", (cloud) => {
    const stack = withApps(cloud, (s) => webApp(s, "big", { cpus: 4, mem: 4096 }));
    expect(once(warningsOf(stack), "more than any agent offers")).toBe(
      `dev/big: asks 4 CPUs and 4096 MiB per task, more than any agent offers (${VM[cloud]}: 2 CPUs, 7168 MiB; Mesos keeps 1 GiB of each agent for the system): Marathon will wait for an offer that never comes`,
    );
    // Within what an agent offers: no warning.
    expect(warningsOf(withApps(cloud, (s) => webApp(s, "fits", { cpus: 2, mem: 7168 })))).toEqual([]);
  });

  test.each(CLOUDS)("no key anywhere: one is generated, and synth says so (%s)", (cloud) => {
    const { cwd, home } = dirs(`no-key-${cloud}`);
    const { stacks } = buildApp({ env: { CLUSTER_CLOUD: cloud }, cwd, homeDir: home, outdir: join(cwd, "out") });
    for (const stack of stacks) {
      synthStack(stack);
      expect(once(warningsOf(stack), "no SSH public key was given")).toMatch(/: no SSH public key was given .*: a key pair is generated .*terraform output -raw ssh_private_key\)$/);
    }
  });
});

describe("an app in another stack than its cluster", () => {
  test.each(CLOUDS)("deploys after the cluster's stack and names no resource of it in depends_on (%s)", (cloud) => {
    const a = Testing.app();
    const clusterStack = new MesosClusterStack(a, "dev", { cloud, sshPublicKey: TEST_SSH_KEY });
    const apps = new TerraformStack(a, "apps");
    new MarathonApp(apps, "web", { marathon: clusterStack.marathon, id: "/web", container: { image: "nginx:1.27.3" } });
    const json = synthStack(apps);
    expect(apps.dependencies).toContain(clusterStack);
    for (const r of Object.values(json.resource.null_resource)) {
      for (const d of ((r as { depends_on?: string[] }).depends_on ?? [])) expect(d).toMatch(/^null_resource\./);
    }
  });
});

describe("the data the checks rely on", () => {
  test("regions: the defaults exist with three zones; zone letters are not always a, b, c", () => {
    expect(AZURE_LOCATIONS.westeurope).toEqual(["1", "2", "3"]);
    expect(AZURE_LOCATIONS.westus).toEqual([]);
    expect(AWS_REGIONS["eu-west-1"]).toMatchObject({ letters: "abc", defaults: "abc" });
    expect(AWS_REGIONS["ca-central-1"].defaults).toBe("abd");
    expect(AWS_REGIONS["ap-northeast-1"].defaults).toBe("acd");
  });

  test.each<[string, string[]]>([
    ["ca-central-1", ["ca-central-1a", "ca-central-1b", "ca-central-1d"]],
    ["ap-northeast-1", ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]],
  ])("AWS default zones of %s are the letters every account has", (region, zones) => {
    const stack = cluster("aws", { region });
    expect(stack.target.network.zones).toEqual(zones);
  });

  test("sizes: the defaults fit the masters; constrained cores count as active", () => {
    expect(azureVmSize("Standard_D2s_v5")).toMatchObject({ vcpus: 2, memoryGib: 8, arch: "x86_64" });
    expect(azureVmSize("Standard_E4-2s_v5")).toMatchObject({ vcpus: 2, memoryGib: 32 });
    expect(azureVmSize("Standard_D2ps_v5")?.arch).toBe("arm64");
    expect(awsInstanceType("t3.large")).toMatchObject({ vcpus: 2, memoryGib: 8, arch: "x86_64" });
    expect(awsInstanceType("a1.large")?.arch).toBe("arm64");
    // A size the tables do not know is not refused (the tables are snapshots).
    expect(azureVmSize("Standard_Z9s_v9")).toBeUndefined();
    expect(() => cluster("aws", { agentVmSize: "m99i.large" })).not.toThrow();
  });

  test("image tags: exact releases and dates pass, moving ones do not", () => {
    for (const ok of ["zookeeper:3.8.4", "nginx:1.27.3-alpine", "example/app:20240131", "busybox@sha256:" + "a".repeat(64)]) expect(ContainerImage.problem(ok)).toBeUndefined();
    for (const moving of ["zookeeper:latest", "zookeeper:LATEST", "nginx:alpine", "node:20", "app:v2"]) expect(ContainerImage.problem(moving)).toContain("moving tag");
  });
});

describe("the app prints an error caused by a variable once, naming it", () => {
  test("CLUSTER_HA_MASTER_VM_SIZE=t3.medium on AWS: exit 1, one line", () => {
    const out = mkdtempSync(join(tmpdir(), "synth-"));
    let status = 0;
    let stderr = "";
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: out, CDKTF_OUTDIR: out, CLUSTER_CLOUD: "aws", CLUSTER_HA_MASTER_VM_SIZE: "t3.medium" };
    try {
      execFileSync(process.execPath, ["scripts/run-ts.js", "main.ts"], { cwd: join(__dirname, ".."), env, stdio: "pipe" });
    } catch (e) {
      const err = e as { status: number; stderr: Buffer };
      status = err.status;
      stderr = err.stderr.toString();
    }
    expect(status).toBe(1);
    expect(stderr.trim().split("\n")).toEqual([
      'Error: ha/masters: invalid vmSize "t3.medium" (from CLUSTER_HA_MASTER_VM_SIZE); allowed: a size with at least 2 vCPUs and 8 GiB for machines that run ZooKeeper, the Mesos master, Marathon and Swarm (t3.medium has 2 vCPUs and 4 GiB)',
    ]);
  });

  test("a warning from a variable is in the synth output once", () => {
    const out = mkdtempSync(join(tmpdir(), "synth-"));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: out, CDKTF_OUTDIR: out, CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, CLUSTER_AUTH_USERNAME: "ops" };
    execFileSync(process.execPath, ["scripts/run-ts.js", "main.ts"], { cwd: join(__dirname, ".."), env, stdio: "pipe" });
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { stacks: Record<string, { annotations: { message: string }[] }> };
    const messages = Object.values(manifest.stacks).flatMap((s) => s.annotations.map((a) => a.message));
    expect(messages.filter((m) => m.includes("authUsername"))).toEqual(['dev: authUsername "ops" has no effect while auth is off (turn auth on, CLUSTER_AUTH=on) (from CLUSTER_AUTH_USERNAME)']);
  });
});

describe("cluster.config.example.json", () => {
  test.each(CLOUDS)("synthesizes as is (%s) on a machine without any SSH key, saying that one is generated", (cloud) => {
    const { cwd, home } = dirs(`example-${cloud}`);
    writeFileSync(join(cwd, "cluster.config.json"), readFileSync(join(__dirname, "..", "cluster.config.example.json")));
    const { stacks } = buildApp({ env: { CLUSTER_CLOUD: cloud }, cwd, homeDir: home, outdir: join(cwd, "out") });
    for (const stack of stacks) {
      synthStack(stack);
      expect(warningsOf(stack).filter((w) => w.includes("no SSH public key was given"))).toHaveLength(1);
    }
  });
});
