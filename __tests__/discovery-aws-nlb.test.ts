/**
 * Service discovery on AWS (issue 14): the edge agents sit in the private
 * agent subnets behind the NAT gateway, so 80 and 443 opened beyond the VPC
 * (internetIngress "web", adminCidrs) reach marathon-lb through a Network
 * Load Balancer (AwsTarget.exposeEdge): in a public subnet of every zone,
 * cross-zone, TCP 80 and 443 passed through, health checks on marathon-lb's
 * /_haproxy_health_check (9090), the edge's auto scaling group attached.
 * Read from the synthesized Terraform JSON; turning it on is diffed with
 * plan-diff like a running cluster would be.
 */
import { App, TerraformStack } from "cdktf";
import { AwsTarget } from "../constructs";
import { Peer } from "../constructs/core/network-rules";
import { MARATHON_LB_HEALTH_PATH } from "../constructs/marathon-lb";
import { NodePool } from "../constructs/nodes";
import { diffSynthOutputs } from "../scripts/lib/plan-diff";
import { DISCOVERY_STACKS, resolveRef, resourcesOf, ruleTable, synthCluster, synthStack, TEST_SSH_KEY, TfJson } from "./helpers/synth";

type Resource = Record<string, unknown>;
const ADMIN = "203.0.113.0/24";
const LB = { cloud: "aws", profile: "ha", discovery: "dns+lb" } as const;
const closed = () => synthCluster(LB).json;
const web = () => synthCluster({ ...LB, internetIngress: ["web"] }).json;
const admin = () => synthCluster({ ...LB, adminCidrs: [ADMIN] }).json;

const LB_TYPES = ["aws_lb", "aws_lb_target_group", "aws_lb_listener", "aws_autoscaling_attachment"];

function only(json: TfJson, type: string): Resource {
  const all = Object.values(resourcesOf(json, type));
  expect(all).toHaveLength(1);
  return all[0];
}

function edgeGroup(json: TfJson): Resource {
  return Object.values(resourcesOf(json, "aws_autoscaling_group")).find((g) => g.name === "mesos-ha-edge")!;
}

/** The 0.0.0.0/0 route of a subnet's route table. */
function defaultRoute(json: TfJson, subnet: Resource): Resource {
  const [association] = Object.values(resourcesOf(json, "aws_route_table_association")).filter((a) => resolveRef(json, a.subnet_id) === subnet);
  const table = resolveRef(json, association.route_table_id);
  const [route] = Object.values(resourcesOf(json, "aws_route")).filter((r) => resolveRef(json, r.route_table_id) === table && r.destination_cidr_block === "0.0.0.0/0");
  return route;
}

/** The load balancer's own security group rules: `in <- cidr : port` and `out -> group : port`. */
function lbRules(json: TfJson): string[] {
  const group = resolveRef(json, (only(json, "aws_lb").security_groups as string[])[0]);
  const rows: string[] = [];
  for (const r of Object.values(resourcesOf(json, "aws_vpc_security_group_ingress_rule"))) {
    if (resolveRef(json, r.security_group_id) === group) rows.push(`in <- ${String(r.cidr_ipv4)} : ${r.ip_protocol}/${r.from_port}-${r.to_port}`);
  }
  for (const r of Object.values(resourcesOf(json, "aws_vpc_security_group_egress_rule"))) {
    if (resolveRef(json, r.security_group_id) === group) rows.push(`out -> ${String(resolveRef(json, r.referenced_security_group_id).name)} : ${r.ip_protocol}/${r.from_port}-${r.to_port}`);
  }
  return rows.sort();
}

describe.each([
  ["internetIngress web", web, "0.0.0.0/0"],
  ["adminCidrs", admin, ADMIN],
] as const)("AWS ha dns+lb, 80/443 opened by %s", (_what, synth, source) => {
  test("an internet-facing NLB in a public subnet of every zone (the NAT gateway's, and a /28 per other zone), cross-zone on", () => {
    const json = synth();
    const lb = only(json, "aws_lb");
    expect({ ...lb, subnets: undefined, security_groups: undefined, depends_on: undefined }).toEqual({
      name: "mesos-ha-edge",
      load_balancer_type: "network",
      internal: false,
      ip_address_type: "ipv4",
      enable_cross_zone_load_balancing: true,
      tags: { Name: "mesos-ha-edge" },
    });
    const subnets = (lb.subnets as string[]).map((id) => resolveRef(json, id));
    expect(subnets.map((s) => [s.availability_zone, s.cidr_block])).toEqual([
      ["eu-west-1a", "10.20.255.240/28"],
      ["eu-west-1b", "10.20.255.224/28"],
      ["eu-west-1c", "10.20.255.208/28"],
    ]);
    const [igw] = Object.values(resourcesOf(json, "aws_internet_gateway"));
    const nat = only(json, "aws_nat_gateway");
    for (const subnet of subnets) {
      expect(resolveRef(json, defaultRoute(json, subnet).gateway_id)).toBe(igw);
      expect(subnet.map_public_ip_on_launch).toBe(false);
      // A /28 keeps 16 - 5 addresses; the NAT gateway takes one in its subnet: an internet-facing NLB needs 8 free.
      expect(16 - 5 - (resolveRef(json, nat.subnet_id) === subnet ? 1 : 0)).toBeGreaterThanOrEqual(8);
    }
    // No machine is placed in them; the edge agents stay in the private agent subnets, without public IPs.
    for (const instance of Object.values(resourcesOf(json, "aws_instance"))) expect(subnets).not.toContain(resolveRef(json, instance.subnet_id));
    const template = resolveRef(json, (edgeGroup(json).launch_template as Resource).id);
    expect((template.network_interfaces as Resource[])[0].associate_public_ip_address).toBe("false");
    for (const id of edgeGroup(json).vpc_zone_identifier as string[]) expect(String(resolveRef(json, id).cidr_block)).toMatch(/^10\.20\.(16|32|48)\.0\/20$/);
  });

  test("listeners TCP 80 and 443 forward to a TCP target group of the same instance port, health-checked over HTTP on 9090", () => {
    const json = synth();
    const lb = only(json, "aws_lb");
    const listeners = Object.values(resourcesOf(json, "aws_lb_listener"));
    expect(listeners.map((l) => [resolveRef(json, l.load_balancer_arn), l.port, l.protocol]).sort()).toEqual([
      [lb, 443, "TCP"],
      [lb, 80, "TCP"],
    ]);
    for (const listener of listeners) {
      const actions = listener.default_action as Resource[];
      expect(actions).toHaveLength(1);
      expect(actions[0].type).toBe("forward");
      const targets = resolveRef(json, actions[0].target_group_arn);
      expect({ ...targets, vpc_id: resolveRef(json, targets.vpc_id) }).toEqual({
        name: `mesos-ha-${listener.port}`,
        port: listener.port,
        protocol: "TCP",
        target_type: "instance",
        vpc_id: only(json, "aws_vpc"),
        preserve_client_ip: "true",
        deregistration_delay: "30",
        health_check: { enabled: true, protocol: "HTTP", port: "9090", path: "/_haproxy_health_check", matcher: "200", interval: 10, timeout: 5, healthy_threshold: 3, unhealthy_threshold: 3 },
        tags: { Name: `mesos-ha-edge-${listener.port}` },
      });
    }
    expect(MARATHON_LB_HEALTH_PATH).toBe("/_haproxy_health_check");
  });

  test("the edge's auto scaling group is attached to both target groups (attachments of their own: the group itself names none)", () => {
    const json = synth();
    const attached = Object.values(resourcesOf(json, "aws_autoscaling_attachment")).map((a) => [resolveRef(json, a.autoscaling_group_name), resolveRef(json, a.lb_target_group_arn).port]);
    expect(attached.sort()).toEqual([
      [edgeGroup(json), 443],
      [edgeGroup(json), 80],
    ]);
    expect(edgeGroup(json).target_group_arns).toBeUndefined();
    expect(edgeGroup(json).health_check_type).toBe("EC2");
  });

  test(`rules: the edge takes 80/443 from ${source} only (client addresses are kept), 9090 from inside the VPC only; the NLB's group the same`, () => {
    const json = synth();
    const edge = ruleTable(json, "aws", "mesos-ha").filter((r) => r.startsWith("edge <- "));
    expect(edge.filter((r) => / : (80|443)$/.test(r))).toEqual([`edge <- ${source} : 443`, `edge <- ${source} : 80`]);
    // The probes come from the NLB's addresses in the public subnets, all inside the VPC's block.
    expect(edge.filter((r) => r.includes(" : 9090"))).toEqual(["edge <- 10.20.0.0/16 : 9090-9091"]);
    expect(edge.filter((r) => !r.includes("<- 10.20.0.0/16") && !/<- (masters|agents|edge)/.test(r)).sort()).toEqual([`edge <- ${source} : 443`, `edge <- ${source} : 80`]);
    expect(lbRules(json)).toEqual([
      `in <- ${source} : tcp/443-443`,
      `in <- ${source} : tcp/80-80`,
      "out -> mesos-ha-edge : tcp/443-443",
      "out -> mesos-ha-edge : tcp/80-80",
      "out -> mesos-ha-edge : tcp/9090-9090",
    ]);
  });

  test("output discovery.marathon_lb_address is the NLB's DNS name; marathon_lb_hosts stays empty (the tools use the service ports)", () => {
    const json = synth();
    const value = (json.output.discovery as { value: Record<string, unknown> }).value;
    expect(value.marathon_lb_hosts).toEqual([]);
    const match = /^\$\{(aws_lb\.[^.]+)\.dns_name\}$/.exec(String(value.marathon_lb_address));
    expect(match).not.toBeNull();
    expect(resolveRef(json, `\${${match![1]}.arn}`)).toBe(only(json, "aws_lb"));
  });
});

test("no load balancer, extra subnet or address output while 80/443 stay closed (ha and the shared dev dns+lb)", () => {
  for (const json of [closed(), synthCluster(DISCOVERY_STACKS.awsDevLb).json]) {
    for (const type of LB_TYPES) expect(resourcesOf(json, type)).toEqual({});
    expect(Object.values(resourcesOf(json, "aws_subnet")).filter((s) => String(s.cidr_block).endsWith("/28"))).toHaveLength(1);
    expect((json.output.discovery as { value: Record<string, unknown> }).value.marathon_lb_address).toBeUndefined();
  }
});

test("web alone gives the masters no public IP", () => {
  for (const instance of Object.values(resourcesOf(web(), "aws_instance"))) expect(instance.associate_public_ip_address).toBe(false);
});

test("plan-diff: turning web on creates the NLB, its subnets and rules; the edge group, its template and every machine stay", () => {
  const diff = diffSynthOutputs(new Map([["ha", closed()]]), new Map([["ha", web()]]));
  const [stack] = diff.stacks;
  expect(diff.stacks).toHaveLength(1);
  expect(stack.resources.filter((r) => r.action !== "create").map((r) => `${r.action} ${r.address}`)).toEqual([]);
  const created = stack.resources.map((r) => r.type);
  expect([...new Set(created)].sort()).toEqual(
    ["aws_autoscaling_attachment", "aws_lb", "aws_lb_listener", "aws_lb_target_group", "aws_route_table_association", "aws_security_group", "aws_subnet", "aws_vpc_security_group_egress_rule", "aws_vpc_security_group_ingress_rule"].sort(),
  );
  expect(created.filter((t) => t === "aws_subnet")).toHaveLength(2);
});

describe("an existing network", () => {
  const existing = (publicSubnets?: { id: string; cidr: string; zone: string }[]) => {
    const stack = new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");
    const target = new AwsTarget(stack, "aws", {
      clusterName: "lib",
      sshPublicKey: TEST_SSH_KEY,
      existingNetwork: {
        vpcId: "vpc-0123456789abcdef0",
        addressSpace: ["10.40.0.0/16"],
        masterSubnets: ["a", "b", "c"].map((z, i) => ({ id: `subnet-m${i}`, cidr: `10.40.${i}.0/24`, zone: `eu-west-1${z}` })),
        agentSubnets: ["a", "b", "c"].map((z, i) => ({ id: `subnet-a${i}`, cidr: `10.40.${16 * (i + 1)}.0/20`, zone: `eu-west-1${z}` })),
        publicSubnets,
      },
    });
    const pool = new NodePool(stack, "edge", { target, count: 1, vmSize: "t3.large" });
    const expose = () => target.exposeEdge(stack, pool.resources, { ports: [80, 443], healthCheck: { port: 9090, path: MARATHON_LB_HEALTH_PATH }, from: [Peer.anyIpv4()] });
    return { stack, expose };
  };

  test("uses the public subnets given, one per zone, and makes none", () => {
    const { stack, expose } = existing(["a", "b", "c"].map((z, i) => ({ id: `subnet-p${i}`, cidr: `10.40.255.${16 * i}/28`, zone: `eu-west-1${z}` })));
    expose();
    const json = synthStack(stack);
    expect(only(json, "aws_lb").subnets).toEqual(["subnet-p0", "subnet-p1", "subnet-p2"]);
    expect(resourcesOf(json, "aws_subnet")).toEqual({});
  });

  test("without one in a zone of the pool, exposeEdge is refused naming existingNetwork.publicSubnets", () => {
    expect(() => existing().expose()).toThrow(/^lib\/aws: invalid existingNetwork\.publicSubnets \[\]; allowed: a public subnet \(routed to an internet gateway, 8 free addresses\) in each zone of the edge pool.*\(missing: eu-west-1a\)$/);
    expect(() => existing([{ id: "subnet-p", cidr: "10.40.255.0/29", zone: "eu-west-1a" }])).toThrow('lib/aws: invalid existingNetwork.publicSubnets[0].cidr "10.40.255.0/29"; allowed: a /28 or larger block');
  });
});
