/**
 * The constructs as a library: a user's own stack, with the user's own
 * network, composing the constructs differently from our stacks (dedicated
 * ZooKeeper machines) and adding a role after the machines exist.
 */
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
  AwsTarget,
  AzureTarget,
  CloudConfig,
  CloudTarget,
  INodeRole,
  MarathonService,
  MesosAgentPool,
  MesosMasterGroup,
  NodeContext,
  NodeGroup,
  Peer,
  Port,
  SwarmManager,
  ZookeeperEnsemble,
} from "../constructs";
import {
  Cloud,
  envOf,
  execStartOf,
  fileOf,
  parseCloudConfig,
  poolDoc,
  resourceCounts,
  ruleTable,
  synthStack,
  TEST_SSH_KEY,
  TfJson,
} from "./helpers/synth";
import { userDataNodes } from "../scripts/lib/synth-output";

/** A role a user adds: writes a marker file with the machine's name. */
class MarkerRole implements INodeRole {
  public readonly roleName = "marker";
  public configure(config: CloudConfig, node: NodeContext): void {
    config.addFile({ path: "/etc/marker", content: `${node.name}\n` });
  }
}

function byoTarget(stack: Construct, cloud: Cloud): CloudTarget {
  if (cloud === "azure") {
    // The user's own provider block and network.
    new AzurermProvider(stack, "my-azurerm", { features: [{}] });
    const rg = new ResourceGroup(stack, "my-rg", { name: "platform-rg", location: "northeurope" });
    const vnet = new VirtualNetwork(stack, "my-vnet", { name: "platform", resourceGroupName: rg.name, location: rg.location, addressSpace: ["10.50.0.0/16"] });
    const sub = (name: string, cidr: string) =>
      new AzureSubnet(stack, `my-${name}`, { name, resourceGroupName: rg.name, virtualNetworkName: vnet.name, addressPrefixes: [cidr] });
    const masters = sub("mesos-masters", "10.50.1.0/24");
    const agents = sub("mesos-agents", "10.50.8.0/22");
    return new AzureTarget(stack, "azure", {
      clusterName: "platform",
      location: "northeurope",
      sshPublicKey: TEST_SSH_KEY,
      existingNetwork: {
        resourceGroupName: rg.name,
        addressSpace: ["10.50.0.0/16"],
        masterSubnet: { id: masters.id, cidr: "10.50.1.0/24" },
        agentSubnet: { id: agents.id, cidr: "10.50.8.0/22" },
      },
    });
  }
  new AwsProvider(stack, "my-aws", { region: "us-east-2" });
  const vpc = new Vpc(stack, "my-vpc", { cidrBlock: "10.60.0.0/16" });
  const zones = ["us-east-2a", "us-east-2b", "us-east-2c"];
  const sub = (name: string, cidr: string, zone: string) => new AwsSubnet(stack, `my-${name}`, { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: zone });
  return new AwsTarget(stack, "aws", {
    clusterName: "platform",
    region: "us-east-2",
    sshPublicKey: TEST_SSH_KEY,
    existingNetwork: {
      vpcId: vpc.id,
      addressSpace: ["10.60.0.0/16"],
      masterSubnets: zones.map((zone, i) => ({ id: sub(`m${i}`, `10.60.${i}.0/24`, zone).id, cidr: `10.60.${i}.0/24`, zone })),
      agentSubnets: zones.map((zone, i) => ({ id: sub(`a${i}`, `10.60.${16 + i * 4}.0/22`, zone).id, cidr: `10.60.${16 + i * 4}.0/22`, zone })),
    },
  });
}

/** Fixed machines' documents by machine name, decoded. */
function docsByName(json: TfJson): Map<string, string> {
  return new Map(userDataNodes(json).filter((n) => n.kind === "fixed").map((n) => [n.name, n.text]));
}

describe.each(["azure", "aws"] as Cloud[])("library use on %s with a bring-your-own network", (cloud) => {
  let json: TfJson;
  let zk: ZookeeperEnsemble;
  let mesos: MesosMasterGroup;

  beforeAll(() => {
    const app = new App({ outdir: "/tmp/mesos-cluster-test-out" });
    const stack = new TerraformStack(app, "platform");
    const target = byoTarget(stack, cloud);
    const vmSize = cloud === "azure" ? "Standard_D2s_v5" : "t3.large";
    // Dedicated ZooKeeper machines, separate from the Mesos masters.
    zk = new ZookeeperEnsemble(stack, "zk", { target, count: 3, vmSize });
    const masterNodes = new NodeGroup(stack, "masters", {
      target,
      count: 3,
      vmSize,
      privateIps: cloud === "azure" ? ["10.50.1.100", "10.50.1.101", "10.50.1.102"] : ["10.60.0.100", "10.60.1.100", "10.60.2.100"],
      dataDiskGb: 0,
    });
    mesos = new MesosMasterGroup(stack, "mesos", { nodes: masterNodes, zookeeper: zk, clusterName: "platform-mesos" });
    const marathon = new MarathonService(stack, "marathon", { masters: mesos });
    const agents = new MesosAgentPool(stack, "agents", { target, masters: mesos, count: 5, vmSize });
    const swarm = new SwarmManager(stack, "swarm", { masters: mesos });
    swarm.addAgentPool(agents);
    // Added after every machine exists: must still land in the user data.
    masterNodes.addRole(new MarkerRole());
    // The one way to open a port: a service's default port to the user's own machines, any port to CIDRs.
    const tools = new NodeGroup(stack, "tools", { target, count: 1, vmSize, dataDiskGb: 0, publicIp: false });
    zk.connections.allowDefaultPortFrom(tools, "the platform team's tools read ZooKeeper");
    marathon.connections.allowDefaultPortFrom(tools, "the platform team's tools deploy apps");
    marathon.connections.allowDefaultPortFrom(tools, "asked twice, opened once");
    mesos.connections.allowFrom(Peer.cidrs(["10.99.0.0/24"]), Port.tcp(5050), "the VPN reaches the Mesos UI", "vpn-mesos");
    expect(() => tools.connections.allowDefaultPortFrom(mesos, "a machine set has no port of its own")).toThrow("platform/tools: these connections have no default port");
    json = synthStack(stack);
  });

  test("uses the user's network and creates none of its own", () => {
    const counts = resourceCounts(json);
    if (cloud === "azure") {
      expect(counts.azurerm_virtual_network).toBe(1);
      expect(counts.azurerm_subnet).toBe(2);
      expect(counts.azurerm_resource_group).toBe(1);
      expect(counts.azurerm_nat_gateway).toBeUndefined();
      expect(counts.azurerm_linux_virtual_machine).toBe(7); // 3 ZooKeeper, 3 masters, the user's tools machine
      expect(counts.azurerm_managed_disk).toBe(3); // the ZooKeeper machines keep data disks; the masters were given none
      expect(json.provider.azurerm).toHaveLength(1);
    } else {
      expect(counts.aws_vpc).toBe(1);
      expect(counts.aws_subnet).toBe(6);
      expect(counts.aws_nat_gateway).toBeUndefined();
      expect(counts.aws_instance).toBe(7);
      expect(counts.aws_ebs_volume).toBe(3);
      expect(json.provider.aws).toHaveLength(1);
      expect((json.provider.aws[0] as { region: string }).region).toBe("us-east-2");
    }
  });

  test("Mesos masters find the dedicated ensemble; ZooKeeper machines run nothing else", () => {
    const docs = docsByName(json);
    const zkIps = zk.members.map((m) => m.ip);
    expect(zkIps).toEqual(cloud === "azure" ? ["10.50.1.10", "10.50.1.11", "10.50.1.12"] : ["10.60.0.10", "10.60.1.10", "10.60.2.10"]);
    for (let i = 1; i <= 3; i++) {
      const zkDoc = parseCloudConfig(docs.get(`platform-zookeeper-${i}`)!);
      expect(envOf(zkDoc, "zookeeper").ZOO_MY_ID).toBe(String(i));
      expect(zkDoc.files.has("/etc/mesos-cluster/mesos-master.env")).toBe(false);
      expect(zkDoc.files.has("/etc/marker")).toBe(false);
      const masterDoc = parseCloudConfig(docs.get(`platform-masters-${i}`)!);
      expect(masterDoc.files.has("/etc/mesos-cluster/zookeeper/zoo.cfg")).toBe(false);
      // The master's flags are its container's arguments (the image's CMD would otherwise win).
      const args = execStartOf(masterDoc, "mesos-master");
      expect(args).toContain(`--zk=zk://${zkIps.map((ip) => `${ip}:2181`).join(",")}/mesos`);
      expect(args).toContain(`--ip=${mesos.nodes.privateIps[i - 1]}`);
      expect(args).toContain("--cluster=platform-mesos");
      expect(fileOf(masterDoc, "/etc/marker")).toBe(`platform-masters-${i}\n`);
    }
    expect(parseCloudConfig(poolDoc(json, cloud)).files.has("/etc/systemd/system/docker.service.d/10-swarm-tcp.conf")).toBe(true);
  });

  test("rules follow the composition: clients of the ensemble, quorum between its members", () => {
    const rules = ruleTable(json, cloud, "platform");
    expect(rules.filter((r) => r.startsWith("zookeeper <-"))).toEqual([
      "zookeeper <- agents : 2181",
      "zookeeper <- masters : 2181",
      "zookeeper <- tools : 2181",
      "zookeeper <- zookeeper : 2181",
      "zookeeper <- zookeeper : 2888",
      "zookeeper <- zookeeper : 3888",
    ]);
    expect(rules.filter((r) => r.startsWith("agents <-"))).toEqual([
      "agents <- agents : 31000-32000",
      "agents <- masters : 22",
      "agents <- masters : 2375",
      "agents <- masters : 31000-32000",
      "agents <- masters : 5051",
    ]);
    expect(rules.filter((r) => r.startsWith("masters <- tools") || r.includes("10.99.0.0/24"))).toEqual(["masters <- 10.99.0.0/24 : 5050", "masters <- tools : 8080"]);
  });
});
