/**
 * The catalogue of bad input: one row per mistake, across the stack's
 * configuration, the constructs and the cloud targets. Each must fail synth
 * with a message naming the construct path, the property, the value given
 * and what is allowed; each row asserts all four. Valid edge values pass.
 * The mistakes of a new user's configuration (variables, config file keys,
 * regions and zones, sizes, image pins, SSH key files, apps across stacks)
 * are catalogued the same way, on both clouds, in bad-input.test.ts.
 */
import { randomBytes } from "crypto";
import { execFileSync } from "child_process";
import { mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack, Token } from "cdktf";
import {
  AwsTarget,
  AzureTarget,
  CloudConfig,
  ClusterConfigError,
  INodeRole,
  MarathonService,
  MesosAgentPool,
  MesosMasterGroup,
  NodeGroup,
  SwarmManager,
  ZookeeperEnsemble,
} from "../constructs";
import { MesosClusterStack, MesosClusterStackProps } from "../stacks/mesos-cluster-stack";
import { machineDocs, synthStack, TEST_SSH_KEY } from "./helpers/synth";

const VM = "Standard_D2s_v5";

function app(): App {
  return new App({ outdir: "/tmp/mesos-cluster-test-out" });
}

/** A stack built from props; its synth runs deferred checks too. */
function cluster(props: MesosClusterStackProps): void {
  synthStack(new MesosClusterStack(app(), "ha", { sshPublicKey: TEST_SSH_KEY, ...props }));
}

/** A library-style stack with an Azure target and whatever the row builds on it. */
function lib(build: (stack: TerraformStack, target: AzureTarget) => void): void {
  const stack = new TerraformStack(app(), "lib");
  const target = new AzureTarget(stack, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY });
  build(stack, target);
  synthStack(stack);
}

/** The usual masters: ZooKeeper and Mesos masters on three machines. */
function masters(stack: TerraformStack, target: AzureTarget): MesosMasterGroup {
  const nodes = new NodeGroup(stack, "masters", { target, count: 3, vmSize: VM });
  const zookeeper = new ZookeeperEnsemble(stack, "zk", { nodes });
  return new MesosMasterGroup(stack, "mesos", { nodes, zookeeper });
}

/** A role that writes incompressible bytes, to push user data over the cloud's limit. */
class BulkRole implements INodeRole {
  public readonly roleName = "bulk";
  public configure(config: CloudConfig): void {
    config.addFile({ path: "/opt/bulk", content: randomBytes(15000).toString("base64") });
  }
}

type Row = [string, () => void, { path: string; property: string; value?: string; allowed: string }];

const CATALOGUE: Row[] = [
  // Counts
  ["an even master count", () => cluster({ masterCount: 2 }), { path: "ha", property: "masterCount", value: "2", allowed: "1, 3, 5 or 7" }],
  ["another even master count (AWS)", () => cluster({ cloud: "aws", masterCount: 4 }), { path: "ha", property: "masterCount", value: "4", allowed: "1, 3, 5 or 7" }],
  ["too many masters", () => cluster({ masterCount: 9 }), { path: "ha", property: "masterCount", value: "9", allowed: "1, 3, 5 or 7" }],
  ["no masters", () => cluster({ masterCount: 0 }), { path: "ha", property: "masterCount", value: "0", allowed: "1, 3, 5 or 7" }],
  ["a negative agent count", () => cluster({ agentCount: -1 }), { path: "ha", property: "agentCount", value: "-1", allowed: "an integer from 0 to 1000" }],
  ["a fractional agent count", () => cluster({ cloud: "aws", agentCount: 2.5 }), { path: "ha", property: "agentCount", value: "2.5", allowed: "an integer from 0 to 1000" }],
  ["too many agents", () => cluster({ agentCount: 1001 }), { path: "ha", property: "agentCount", value: "1001", allowed: "an integer from 0 to 1000" }],
  ["an ensemble of four", () => lib((s, t) => new ZookeeperEnsemble(s, "zk", { nodes: new NodeGroup(s, "m", { target: t, count: 4, vmSize: VM }) })), { path: "lib/zk", property: "count", value: "4", allowed: "1, 3, 5 or 7 members" }],
  ["a negative agent pool", () => lib((s, t) => new MesosAgentPool(s, "agents", { target: t, masters: masters(s, t), count: -2, vmSize: VM })), { path: "lib/agents/machines", property: "count", value: "-2", allowed: "an integer from 0 to 1000" }],
  ["a negative data disk", () => cluster({ masterDataDiskGb: -1 }), { path: "ha/masters", property: "dataDiskGb", value: "-1", allowed: "an integer from 0 to 4095" }],
  // Names
  ["a cluster name with capitals", () => cluster({ clusterName: "Mesos_HA" }), { path: "ha", property: "clusterName", value: '"Mesos_HA"', allowed: "lower-case letters, digits and '-'" }],
  ["an empty cluster name", () => cluster({ clusterName: "" }), { path: "ha", property: "clusterName", value: '""', allowed: "2-24 characters" }],
  ["a group name with punctuation", () => lib((s, t) => new NodeGroup(s, "masters", { target: t, name: "Masters!", count: 1, vmSize: VM })), { path: "lib/masters", property: "name", value: '"Masters!"', allowed: "1-15 characters" }],
  ["an unknown profile", () => cluster({ profile: "prod" as never }), { path: "ha", property: "profile", value: '"prod"', allowed: '"dev", "ha"' }],
  ["an unknown cloud", () => cluster({ cloud: "gcp" as never }), { path: "ha", property: "cloud", value: '"gcp"', allowed: '"azure", "aws"' }],
  // CIDRs, overlaps, subnets
  ["a malformed address space", () => cluster({ addressSpace: "10.20.0.0/33" }), { path: "ha/azure", property: "addressSpace", value: '"10.20.0.0/33"', allowed: "an IPv4 CIDR block" }],
  ["an address space with host bits", () => cluster({ cloud: "aws", addressSpace: "10.20.0.1/16" }), { path: "ha/aws", property: "addressSpace", value: '"10.20.0.1/16"', allowed: "no host bits set" }],
  ["a public address space", () => cluster({ addressSpace: "8.8.0.0/16" }), { path: "ha/azure", property: "addressSpace", value: '"8.8.0.0/16"', allowed: "a private range" }],
  ["an address space too small to carve", () => cluster({ cloud: "aws", addressSpace: "10.20.0.0/24" }), { path: "ha/aws", property: "addressSpace", value: '"10.20.0.0/24"', allowed: "a /8 to /20 block" }],
  ["a subnet outside the address space", () => cluster({ cloud: "aws", masterSubnetCidrs: ["10.20.0.0/24", "10.20.1.0/24", "10.99.2.0/24"] }), { path: "ha/aws", property: "masterSubnetCidrs[2]", value: '"10.99.2.0/24"', allowed: "inside the address space 10.20.0.0/16" }],
  ["overlapping master and agent subnets", () => cluster({ agentSubnetCidrs: ["10.20.0.0/20"] }), { path: "ha/azure", property: "agentSubnetCidrs[0]", value: '"10.20.0.0/20"', allowed: "does not overlap masterSubnetCidrs 10.20.0.0/24" }],
  ["a subnet smaller than /28", () => cluster({ masterSubnetCidrs: ["10.20.0.0/29"] }), { path: "ha/azure", property: "masterSubnetCidrs[0]", value: '"10.20.0.0/29"', allowed: "a /28 or larger subnet" }],
  ["too few zonal subnets on AWS", () => cluster({ cloud: "aws", agentSubnetCidrs: ["10.20.16.0/20", "10.20.32.0/20"] }), { path: "ha/aws", property: "agentSubnetCidrs", value: '["10.20.16.0/20","10.20.32.0/20"]', allowed: "one subnet per zone (3" }],
  ["two subnets for one Azure tier", () => cluster({ masterSubnetCidrs: ["10.20.0.0/24", "10.20.1.0/24"] }), { path: "ha", property: "masterSubnetCidrs", allowed: "exactly one subnet on Azure" }],
  ["seven masters in a /28", () => cluster({ masterCount: 7, masterSubnetCidrs: ["10.20.0.0/28"] }), { path: "ha/masters", property: "count", value: "7", allowed: "at most 5 machines in subnet 10.20.0.0/28" }],
  ["overlapping bring-your-own subnets", () => {
    const stack = new TerraformStack(app(), "lib");
    new AzureTarget(stack, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY, existingNetwork: { resourceGroupName: "rg", addressSpace: ["10.9.0.0/16"], masterSubnet: { id: "m", cidr: "10.9.0.0/24" }, agentSubnet: { id: "a", cidr: "10.9.0.128/25" } } });
  }, { path: "lib/azure", property: "agentSubnetCidrs[0]", value: '"10.9.0.128/25"', allowed: "does not overlap" }],
  // Static IPs
  ["a static IP outside its subnet", () => lib((s, t) => new NodeGroup(s, "masters", { target: t, count: 3, vmSize: VM, privateIps: ["10.20.0.10", "10.20.0.11", "10.20.5.12"] })), { path: "lib/masters", property: "privateIps[2]", value: '"10.20.5.12"', allowed: "a usable address of subnet 10.20.0.0/24" }],
  ["a static IP the cloud reserves", () => lib((s, t) => new NodeGroup(s, "masters", { target: t, count: 1, vmSize: VM, privateIps: ["10.20.0.3"] })), { path: "lib/masters", property: "privateIps[0]", value: '"10.20.0.3"', allowed: "not its first four or last" }],
  ["a duplicated static IP", () => lib((s, t) => new NodeGroup(s, "masters", { target: t, count: 3, vmSize: VM, privateIps: ["10.20.0.10", "10.20.0.11", "10.20.0.10"] })), { path: "lib/masters", property: "privateIps[2]", value: '"10.20.0.10"', allowed: "unique within the group" }],
  ["fewer static IPs than machines", () => lib((s, t) => new NodeGroup(s, "masters", { target: t, count: 3, vmSize: VM, privateIps: ["10.20.0.10"] })), { path: "lib/masters", property: "privateIps", value: '["10.20.0.10"]', allowed: "exactly 3 addresses" }],
  // Zones and regions
  ["an Azure zone that does not exist", () => cluster({ zones: ["1", "4"] }), { path: "ha/azure", property: "zones", value: '"4"', allowed: "Azure availability zones 1, 2 and 3" }],
  ["an AWS zone of another region", () => cluster({ cloud: "aws", zones: ["us-east-1a", "us-east-1b", "us-east-1c"] }), { path: "ha/aws", property: "zones", value: '"us-east-1a"', allowed: "availability zones of eu-west-1" }],
  ["a zone twice", () => cluster({ zones: ["1", "1", "2"] }), { path: "ha/azure", property: "zones", value: '["1","1","2"]', allowed: "distinct zones" }],
  ["a machine zone outside the network", () => lib((s, t) => new NodeGroup(s, "masters", { target: t, count: 1, vmSize: VM, zones: ["westeurope-1"] })), { path: "lib/masters", property: "zones", value: '"westeurope-1"', allowed: "one of the network's zones: 1, 2, 3" }],
  ["an Azure location with spaces", () => cluster({ region: "West Europe" }), { path: "ha/azure", property: "location", value: '"West Europe"', allowed: "an Azure location name" }],
  ["an AWS region that is not one", () => cluster({ cloud: "aws", region: "mars-1" }), { path: "ha/aws", property: "region", value: '"mars-1"', allowed: "an AWS region name" }],
  // Images and engines
  ["a moving image tag", () => cluster({ images: { zookeeper: "zookeeper:latest" } }), { path: "ha/zookeeper", property: "image", value: '"zookeeper:latest"', allowed: 'moving tag "latest"' }],
  ["an untagged image", () => cluster({ cloud: "aws", images: { marathon: "mesosphere/marathon" } }), { path: "ha/marathon", property: "image", value: '"mesosphere/marathon"', allowed: "has no tag" }],
  ["a malformed image reference", () => cluster({ images: { swarm: "Swarm Manager:1.2.8" } }), { path: "ha/swarm", property: "image", value: '"Swarm Manager:1.2.8"', allowed: "not an image reference" }],
  ["an image the stack does not run", () => cluster({ images: { kafka: "kafka:3" } as never }), { path: "ha", property: "images", value: '"kafka"', allowed: '"zookeeper", "mesosMaster"' }],
  ["a master Docker engine outside 25-28", () => cluster({ masterDockerEngineVersion: "29.0.0" }), { path: "ha/masters", property: "dockerEngineVersion", value: '"29.0.0"', allowed: "from 25.0.0 to 28.x.y" }],
  ["a Docker engine version that is not exact", () => cluster({ cloud: "aws", masterDockerEngineVersion: "27.5" }), { path: "ha/masters", property: "dockerEngineVersion", value: '"27.5"', allowed: "an exact Docker CE version" }],
  ["an agent engine Swarm cannot talk to (26+ refuse DOCKER_MIN_API_VERSION=1.12)", () => cluster({ agentDockerEngineVersion: "27.5.1" }), { path: "ha/agents", property: "dockerEngineVersion", value: '"27.5.1"', allowed: "25.0.x on agents that classic Swarm drives" }],
  ["an agent engine Swarm cannot talk to, on AWS", () => cluster({ cloud: "aws", agentDockerEngineVersion: "26.1.4" }), { path: "ha/agents", property: "dockerEngineVersion", value: '"26.1.4"', allowed: "25.0.x on agents that classic Swarm drives" }],
  ["an agent engine outside 25-28", () => cluster({ agentDockerEngineVersion: "24.0.9" }), { path: "ha/agents/machines", property: "dockerEngineVersion", value: '"24.0.9"', allowed: "from 25.0.0 to 28.x.y" }],
  ["an agent attribute docker_port next to Swarm's", () => lib((s, t) => { const m = masters(s, t); const a = new MesosAgentPool(s, "agents", { target: t, masters: m, count: 1, vmSize: VM, attributes: "docker_port:2376" }); new SwarmManager(s, "swarm", { masters: m, agentPools: [a] }); }), { path: "lib/agents", property: "attributes", value: '"docker_port:2376"', allowed: "attributes without docker_port" }],
  ["an agent port on the health relay's", () => lib((s, t) => new MesosAgentPool(s, "agents", { target: t, masters: masters(s, t), count: 1, vmSize: VM, port: 5052 })), { path: "lib/agents", property: "port", value: "5052", allowed: "a port not used by the agent's loopback health relay (lib/agents healthPort)" }],
  // VM sizes
  ["an Arm VM size on Azure", () => cluster({ masterVmSize: "Standard_D2ps_v5" }), { path: "ha/masters", property: "vmSize", value: '"Standard_D2ps_v5"', allowed: "an x86-64 VM size" }],
  ["a Graviton instance type on AWS", () => cluster({ cloud: "aws", agentVmSize: "t4g.large" }), { path: "ha/agents/machines", property: "vmSize", value: '"t4g.large"', allowed: "an x86-64 instance type" }],
  ["an AWS instance type on Azure", () => cluster({ agentVmSize: "t3.large" }), { path: "ha/agents/machines", property: "vmSize", value: '"t3.large"', allowed: "an Azure VM size" }],
  ["an empty VM size", () => cluster({ masterVmSize: "" }), { path: "ha/masters", property: "vmSize", value: '""', allowed: "a VM size or instance type" }],
  // Ports
  ["a client port of 0", () => lib((s, t) => new ZookeeperEnsemble(s, "zk", { target: t, vmSize: VM, clientPort: 0 })), { path: "lib/zk", property: "clientPort", value: "0", allowed: "an integer from 1 to 65535" }],
  ["the same peer and election port", () => lib((s, t) => new ZookeeperEnsemble(s, "zk", { target: t, vmSize: VM, peerPort: 3888 })), { path: "lib/zk", property: "electionPort", value: "3888", allowed: "a port not used by ZooKeeper's quorum port (lib/zk peerPort)" }],
  ["Marathon on the Mesos master's port", () => lib((s, t) => new MarathonService(s, "marathon", { masters: masters(s, t), httpPort: 5050 })), { path: "lib/marathon", property: "httpPort", value: "5050", allowed: "a port not used by the Mesos master (lib/mesos port)" }],
  ["the Swarm API on ZooKeeper's port", () => lib((s, t) => new SwarmManager(s, "swarm", { masters: masters(s, t), port: 2181 })), { path: "lib/swarm", property: "port", value: "2181", allowed: "a port not used by ZooKeeper" }],
  ["the Swarm TLS port on the master's", () => lib((s, t) => new SwarmManager(s, "swarm", { masters: masters(s, t), tls: true, tlsPort: 5050 })), { path: "lib/swarm", property: "tlsPort", value: "5050", allowed: "a port not used by the Mesos master (lib/mesos port)" }],
  ["an agent port inside the task range", () => lib((s, t) => new MesosAgentPool(s, "agents", { target: t, masters: masters(s, t), count: 1, vmSize: VM, port: 31500 })), { path: "lib/agents", property: "port", value: "31500", allowed: "a port not used by the agents' task ports (lib/agents taskPorts 31000-32000" }],
  ["a reversed task port range", () => lib((s, t) => new MesosAgentPool(s, "agents", { target: t, masters: masters(s, t), count: 1, vmSize: VM, taskPorts: [32000, 31000] })), { path: "lib/agents", property: "taskPorts", value: "[32000,31000]", allowed: "first <= last" }],
  ["a Swarm manager on a master that does not exist", () => lib((s, t) => new SwarmManager(s, "swarm", { masters: masters(s, t), managerIndex: 3 })), { path: "lib/swarm", property: "managerIndex", value: "3", allowed: "an integer from 0 to 2" }],
  // Resources, attributes and paths
  ["agent attributes without values", () => lib((s, t) => new MesosAgentPool(s, "agents", { target: t, masters: masters(s, t), count: 1, vmSize: VM, attributes: "rack" })), { path: "lib/agents", property: "attributes", value: '"rack"', allowed: "key:value pairs separated by ';'" }],
  ["a relative ZooKeeper path", () => lib((s, t) => { const nodes = new NodeGroup(s, "m", { target: t, count: 1, vmSize: VM }); new MesosMasterGroup(s, "mesos", { nodes, zookeeper: new ZookeeperEnsemble(s, "zk", { nodes }), zkPath: "mesos" }); }), { path: "lib/zk", property: "zkUrl path", value: '"mesos"', allowed: "an absolute znode path" }],
  ["an unknown registry", () => lib((s, t) => { const nodes = new NodeGroup(s, "m", { target: t, count: 1, vmSize: VM }); new MesosMasterGroup(s, "mesos", { nodes, zookeeper: new ZookeeperEnsemble(s, "zk", { nodes }), registry: "zookeeper" as never }); }), { path: "lib/mesos", property: "registry", value: '"zookeeper"', allowed: '"replicated_log", "in_memory"' }],
  // Extra flags
  ["a Mesos flag written with dashes", () => lib((s, t) => { const nodes = new NodeGroup(s, "m", { target: t, count: 1, vmSize: VM }); new MesosMasterGroup(s, "mesos", { nodes, zookeeper: new ZookeeperEnsemble(s, "zk", { nodes }), extraFlags: { "--offer-timeout": "10secs" } }); }), { path: "lib/mesos", property: "extraFlags.--offer-timeout", value: '"--offer-timeout"', allowed: "a flag name without dashes" }],
  ["a Mesos flag the construct manages", () => lib((s, t) => { const nodes = new NodeGroup(s, "m", { target: t, count: 1, vmSize: VM }); new MesosMasterGroup(s, "mesos", { nodes, zookeeper: new ZookeeperEnsemble(s, "zk", { nodes }), extraFlags: { quorum: "1" } }); }), { path: "lib/mesos", property: "extraFlags.quorum", value: '"quorum"', allowed: "a flag not managed by this construct" }],
  ["a Marathon flag the construct manages", () => lib((s, t) => new MarathonService(s, "marathon", { masters: masters(s, t), extraFlags: { http_credentials: "a:b" } })), { path: "lib/marathon", property: "extraFlags.http_credentials", value: '"http_credentials"', allowed: "a flag not managed by this construct" }],
  ["an agent flag the construct manages", () => lib((s, t) => new MesosAgentPool(s, "agents", { target: t, masters: masters(s, t), count: 1, vmSize: VM, extraFlags: { containerizers: "mesos" } })), { path: "lib/agents", property: "extraFlags.containerizers", value: '"containerizers"', allowed: "a flag not managed by this construct" }],
  ["a multi-line flag value", () => lib((s, t) => new MarathonService(s, "marathon", { masters: masters(s, t), extraFlags: { task_launch_timeout: "1\n2" } })), { path: "lib/marathon", property: "extraFlags.task_launch_timeout", value: '"1\\n2"', allowed: "a one-line string value" }],
  // Credentials
  ["a user name with a colon", () => cluster({ authUsername: "ad:min" }), { path: "ha", property: "authUsername", value: '"ad:min"', allowed: "no ':', spaces or quotes" }],
  ["a user name with a space (auth on)", () => cluster({ cloud: "aws", profile: "ha", authUsername: "a b" }), { path: "ha", property: "authUsername", value: '"a b"', allowed: "no ':', spaces or quotes" }],
  ["credentials with a token for a user name", () => lib((s, t) => new MarathonService(s, "marathon", { masters: masters(s, t), credentials: { username: Token.asString({ resolve: () => "x" }), password: Token.asString({ resolve: () => "y" }) } })), { path: "lib/marathon", property: "credentials.username", allowed: "a literal of 1-64 characters" }],
  ["a short literal password", () => lib((s, t) => new MarathonService(s, "marathon", { masters: masters(s, t), credentials: { username: "admin", password: "secret" } })), { path: "lib/marathon", property: "credentials.password", value: '"(hidden)"', allowed: "16-128 characters" }],
  ["an unknown password source", () => cluster({ authPasswords: "plaintext" as never }), { path: "ha", property: "authPasswords", value: '"plaintext"', allowed: '"generated", "variables"' }],
  ["a malformed SSH key", () => cluster({ sshPublicKey: "not a key" }), { path: "ha/azure", property: "sshPublicKey", value: '"not a key"', allowed: "one OpenSSH public key line" }],
  ["an ECDSA key on Azure", () => cluster({ sshPublicKey: "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= me" }), { path: "ha/azure", property: "sshPublicKey", allowed: "of type ssh-rsa, ssh-ed25519" }],
  // Admin CIDRs and exposure
  ["a malformed admin CIDR", () => cluster({ adminCidrs: ["203.0.113.0/24", "my-office"] }), { path: "ha", property: "adminCidrs[1]", value: '"my-office"', allowed: "an IPv4 CIDR block" }],
  ["an admin CIDR with host bits", () => cluster({ cloud: "aws", adminCidrs: ["203.0.113.5/24"] }), { path: "ha", property: "adminCidrs[0]", value: '"203.0.113.5/24"', allowed: "no host bits set" }],
  ["the whole internet as admin network", () => cluster({ adminCidrs: ["0.0.0.0/0"] }), { path: "ha", property: "adminCidrs[0]", value: '"0.0.0.0/0"', allowed: "name it in internetIngress" }],
  ["an unknown internet service", () => cluster({ internetIngress: ["telnet" as never] }), { path: "ha", property: "internetIngress[0]", value: '"telnet"', allowed: '"ssh", "mesos", "marathon", "swarm"' }],
  // Cloud targets
  ["a malformed AMI id", () => new AwsTarget(new TerraformStack(app(), "lib"), "aws", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY, amiId: "ubuntu-22.04" }), { path: "lib/aws", property: "amiId", value: '"ubuntu-22.04"', allowed: "an AMI id" }],
  ["bring-your-own subnets in the wrong zones", () => {
    const zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
    new AwsTarget(new TerraformStack(app(), "lib"), "aws", {
      clusterName: "lib",
      sshPublicKey: TEST_SSH_KEY,
      existingNetwork: {
        vpcId: "vpc-1",
        addressSpace: ["10.8.0.0/16"],
        masterSubnets: zones.map((_z, i) => ({ id: `m${i}`, cidr: `10.8.${i}.0/24`, zone: zones[(i + 1) % 3] })),
        agentSubnets: zones.map((zone, i) => ({ id: `a${i}`, cidr: `10.8.${16 + i}.0/24`, zone })),
      },
    });
  }, { path: "lib/aws", property: "existingNetwork.masterSubnets[0].zone", value: '"eu-west-1b"', allowed: "the zone eu-west-1a" }],
  ["a root login user on Azure", () => new AzureTarget(new TerraformStack(app(), "lib"), "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY, adminUsername: "root" }), { path: "lib/azure", property: "adminUsername", value: '"root"', allowed: "not root or admin" }],
  // User data
  ["user data over the AWS limit (checked at synth)", () => {
    const stack = new MesosClusterStack(app(), "dev", { cloud: "aws", sshPublicKey: TEST_SSH_KEY });
    stack.masters.addRole(new BulkRole());
    synthStack(stack);
  }, { path: "dev/masters", property: "userData", allowed: "at most 16384 bytes on aws" }],
  ["a role attached twice", () => lib((s, t) => { const nodes = new NodeGroup(s, "m", { target: t, count: 1, vmSize: VM }); nodes.addRole(new BulkRole()); nodes.addRole(new BulkRole()); }), { path: "lib/m", property: "roles", value: '"bulk"', allowed: "each role at most once per machine group" }],
];

function errorOf(build: () => void): ClusterConfigError {
  try {
    build();
  } catch (e) {
    if (e instanceof ClusterConfigError) return e;
    throw new Error(`expected a ClusterConfigError, got: ${(e as Error).message}`);
  }
  throw new Error("no error was raised");
}

describe("the catalogue of bad input", () => {
  test("holds more than 30 distinct cases", () => {
    expect(new Set(CATALOGUE.map(([name]) => name)).size).toBe(CATALOGUE.length);
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(30);
  });

  test.each(CATALOGUE)("%s", (_name, build, expected) => {
    const e = errorOf(build);
    expect({ path: e.constructPath, property: e.property }).toEqual({ path: expected.path, property: expected.property });
    const value = expected.value === undefined ? "" : ` ${expected.value}`;
    expect(e.summary.startsWith(`${expected.path}: invalid ${expected.property}${value}`)).toBe(true);
    expect(e.summary).toContain("; allowed: ");
    expect(e.message).toContain(e.summary);
    expect(e.allowed).toContain(expected.allowed);
  });
});

describe("valid edge values pass", () => {
  test.each<[string, MesosClusterStackProps, number, number]>([
    ["1 master", { masterCount: 1 }, 1, 3],
    ["7 masters", { masterCount: 7 }, 7, 3],
    ["0 agents", { agentCount: 0 }, 3, 0],
    ["1000 agents", { cloud: "aws", agentCount: 1000 }, 3, 1000],
    ["a /28 subnet that still fits three masters", { masterSubnetCidrs: ["10.20.0.0/28"] }, 3, 3],
    ["/28 subnets per zone on AWS", { cloud: "aws", masterSubnetCidrs: ["10.20.0.0/28", "10.20.0.16/28", "10.20.0.32/28"] }, 3, 3],
  ])("%s", (_name, props, masterCount, agentCount) => {
    const stack = new MesosClusterStack(app(), "ha", { profile: "ha", sshPublicKey: TEST_SSH_KEY, ...props });
    const json = synthStack(stack);
    const cloud = props.cloud ?? "azure";
    expect(machineDocs(json, cloud)).toHaveLength(masterCount);
    expect(stack.agents.count).toBe(agentCount);
    expect(stack.mesos.quorum).toBe(Math.floor(masterCount / 2) + 1);
  });
});

describe("the app refuses an unknown cloud", () => {
  test("CLUSTER_CLOUD=gcp exits 1 with a one-line error naming the variable and the allowed values", () => {
    const out = mkdtempSync(join(tmpdir(), "synth-"));
    let status = 0;
    let stderr = "";
    try {
      execFileSync(process.execPath, ["scripts/run-ts.js", "main.ts"], {
        cwd: join(__dirname, ".."),
        env: { ...process.env, CLUSTER_CLOUD: "gcp", CDKTF_OUTDIR: out, HOME: out },
        stdio: "pipe",
      });
    } catch (e) {
      const err = e as { status: number; stderr: Buffer };
      status = err.status;
      stderr = err.stderr.toString();
    }
    expect(status).toBe(1);
    expect(stderr.trim()).toBe('Error: app: invalid CLUSTER_CLOUD "gcp"; allowed: "azure" or "aws" (default azure)');
  });
});
