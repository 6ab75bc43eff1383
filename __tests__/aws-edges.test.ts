/**
 * Issue 18, AWS edges: masters without public addresses unless something may
 * reach them (FSBP EC2.9), their subnets out through the NAT gateway, which
 * sits in a small public subnet of its own; SSM Session Manager as the admin
 * path (least privilege, masters only); a customer managed KMS key for the
 * SSM parameters. Everything is read from the synthesized Terraform JSON.
 */
import { App, TerraformStack, TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { AwsTarget, ClusterConfigError, NodeGroup } from "../constructs";
import { SESSION_MANAGER_ACTIONS } from "../constructs/cloud/aws";
import { buildApp } from "../stacks/app";
import { loadAppConfig } from "../stacks/config";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { resolveRef, resourcesOf, synthCluster, synthStack, TEST_SSH_KEY, TfJson } from "./helpers/synth";

type Resource = Record<string, unknown>;
const KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** Each subnet's default route: the route table associated with it, and where its 0.0.0.0/0 goes. */
function defaultRouteOf(json: TfJson, subnet: Resource): { table: Resource; route: Resource; addresses: string[] } {
  const associations = Object.entries(resourcesOf(json, "aws_route_table_association")).filter(([, a]) => resolveRef(json, a.subnet_id) === subnet);
  expect(associations).toHaveLength(1);
  const table = resolveRef(json, associations[0][1].route_table_id);
  const routes = Object.entries(resourcesOf(json, "aws_route")).filter(([, r]) => resolveRef(json, r.route_table_id) === table && r.destination_cidr_block === "0.0.0.0/0");
  expect(routes).toHaveLength(1);
  return { table, route: routes[0][1], addresses: [`aws_route_table_association.${associations[0][0]}`, `aws_route.${routes[0][0]}`] };
}

function masters(json: TfJson): Resource[] {
  return Object.values(resourcesOf(json, "aws_instance")).filter((i) => (i.tags as Record<string, string>).role === "masters");
}

/** The role behind an instance profile reference, and the inline policies on it by name. */
function roleOf(json: TfJson, profileRef: unknown): { role: Resource; policies: Record<string, { Statement: Resource[] }> } {
  const role = resolveRef(json, resolveRef(json, profileRef).role);
  const policies = Object.fromEntries(
    Object.values(resourcesOf(json, "aws_iam_role_policy"))
      .filter((p) => resolveRef(json, p.role) === role)
      .map((p) => [String(p.name), JSON.parse(String(p.policy))]),
  );
  return { role, policies };
}

describe("by default (ha, no adminCidrs)", () => {
  const { json } = synthCluster({ cloud: "aws", profile: "ha" });
  const nat = Object.values(resourcesOf(json, "aws_nat_gateway"));
  const igw = Object.values(resourcesOf(json, "aws_internet_gateway"));

  test("no machine of the cluster has a public IP, and there is no master_public_ips output", () => {
    expect(masters(json)).toHaveLength(3);
    for (const instance of Object.values(resourcesOf(json, "aws_instance"))) expect(instance.associate_public_ip_address).toBe(false);
    for (const template of Object.values(resourcesOf(json, "aws_launch_template"))) {
      expect((template.network_interfaces as Resource[]).map((n) => n.associate_public_ip_address)).toEqual(["false"]);
    }
    for (const subnet of Object.values(resourcesOf(json, "aws_subnet"))) expect(subnet.map_public_ip_on_launch).toBe(false);
    expect(json.output.master_public_ips).toBeUndefined();
  });

  test("each master's subnet sends 0.0.0.0/0 to the NAT gateway, never to the internet gateway, and the master boots after that way out exists", () => {
    expect(nat).toHaveLength(1);
    for (const instance of masters(json)) {
      const { route, addresses } = defaultRouteOf(json, resolveRef(json, instance.subnet_id));
      expect(route.gateway_id).toBeUndefined();
      expect(resolveRef(json, route.nat_gateway_id)).toBe(nat[0]);
      // The route names the NAT gateway, which is created "available".
      expect(instance.depends_on).toEqual(expect.arrayContaining(addresses));
    }
  });

  test("the NAT gateway sits in a public subnet of its own: the highest /28, first zone, routed to the internet gateway, holding no machine", () => {
    const subnet = resolveRef(json, nat[0].subnet_id);
    expect(subnet).toMatchObject({ cidr_block: "10.20.255.240/28", availability_zone: "eu-west-1a", tags: { Name: "mesos-ha-public-eu-west-1a" } });
    const { route } = defaultRouteOf(json, subnet);
    expect(resolveRef(json, route.gateway_id)).toBe(igw[0]);
    for (const instance of Object.values(resourcesOf(json, "aws_instance"))) expect(resolveRef(json, instance.subnet_id)).not.toBe(subnet);
    // It is created after its route to the internet exists.
    expect(nat[0].depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_route\./), expect.stringMatching(/^aws_route_table_association\./)]));
    // The master and agent subnets keep their blocks.
    expect(Object.values(resourcesOf(json, "aws_subnet")).map((s) => s.cidr_block).sort()).toEqual(
      ["10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24", "10.20.16.0/20", "10.20.32.0/20", "10.20.48.0/20", "10.20.255.240/28"].sort(),
    );
  });

  test("masters' profile: Session Manager's five actions and nothing more, next to the secrets policy; agents never get them", () => {
    const profiles = new Set(masters(json).map((m) => m.iam_instance_profile));
    expect(profiles.size).toBe(1);
    const { role, policies } = roleOf(json, [...profiles][0]);
    expect(role.name).toBe("mesos-ha-machines");
    expect(Object.keys(policies).sort()).toEqual(["read-cluster-secrets", "session-manager"]);
    expect(policies["session-manager"].Statement).toEqual([
      {
        Effect: "Allow",
        Action: ["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
        Resource: "*",
      },
    ]);
    expect(SESSION_MANAGER_ACTIONS).toHaveLength(5);
    // No other role may do any of it (the agents' pool role reads its one parameter only).
    const others = Object.values(resourcesOf(json, "aws_iam_role_policy")).filter((p) => resolveRef(json, p.role) !== role);
    expect(others.length).toBeGreaterThan(0);
    for (const p of others) expect(String(p.policy)).not.toMatch(/ssmmessages|UpdateInstanceInformation/);
    const [template] = Object.values(resourcesOf(json, "aws_launch_template"));
    expect(resolveRef(json, (template.iam_instance_profile as { name: string }).name).name).toBe("mesos-ha-pool-agents");
  });

  test("output master_session_commands: one start-session per master, by name, not sensitive", () => {
    const output = json.output.master_session_commands as { value: Record<string, string>; sensitive: boolean };
    expect(output.sensitive).toBe(false);
    expect(Object.keys(output.value)).toEqual(["mesos-ha-masters-1", "mesos-ha-masters-2", "mesos-ha-masters-3"]);
    for (const [name, command] of Object.entries(output.value)) {
      const match = /^aws ssm start-session --region eu-west-1 --target \$\{(aws_instance\.[^.]+)\.id\}$/.exec(command);
      expect(match).not.toBeNull();
      expect((resolveRef(json, `\${${match![1]}.id}`).tags as Record<string, string>).Name).toBe(name);
    }
  });

  test("parameters use the AWS managed key and no role is given kms:Decrypt", () => {
    for (const p of Object.values(resourcesOf(json, "aws_ssm_parameter"))) expect(p.key_id).toBeUndefined();
    for (const p of Object.values(resourcesOf(json, "aws_iam_role_policy"))) expect(String(p.policy)).not.toContain("kms:");
  });
});

test("dev: the master reads no secret but still gets Session Manager (and only that)", () => {
  const { json } = synthCluster({ cloud: "aws", profile: "dev" });
  const [master] = masters(json);
  expect(master.associate_public_ip_address).toBe(false);
  const { policies } = roleOf(json, master.iam_instance_profile);
  expect(Object.keys(policies)).toEqual(["session-manager"]);
  expect(resourcesOf(json, "aws_ssm_parameter")).toEqual({});
  expect(Object.values(resourcesOf(json, "aws_launch_template"))[0].iam_instance_profile).toBeUndefined();
});

test("with adminCidrs the masters get public IPs and their subnets route to the internet gateway; the NAT gateway stays put", () => {
  const { json } = synthCluster({ cloud: "aws", profile: "ha", adminCidrs: ["203.0.113.0/24"] });
  const [igw] = Object.values(resourcesOf(json, "aws_internet_gateway"));
  const [nat] = Object.values(resourcesOf(json, "aws_nat_gateway"));
  for (const instance of masters(json)) {
    expect(instance.associate_public_ip_address).toBe(true);
    const { route } = defaultRouteOf(json, resolveRef(json, instance.subnet_id));
    expect(resolveRef(json, route.gateway_id)).toBe(igw);
  }
  expect(resolveRef(json, nat.subnet_id).cidr_block).toBe("10.20.255.240/28");
  expect((json.output.master_public_ips as { value: string[] }).value).toHaveLength(3);
  // The agents still leave through the NAT gateway and have no public IP.
  for (const subnet of Object.values(resourcesOf(json, "aws_subnet")).filter((s) => String((s.tags as Record<string, string>).Name).includes("-agents-"))) {
    expect(resolveRef(json, defaultRouteOf(json, subnet).route.nat_gateway_id)).toBe(nat);
  }
});

describe("secretsKmsKeyArn", () => {
  test("every parameter is encrypted with the key, and every role that reads them may decrypt with exactly it, through SSM only", () => {
    const { json } = synthCluster({ cloud: "aws", profile: "ha", secretsKmsKeyArn: KEY_ARN });
    const parameters = Object.values(resourcesOf(json, "aws_ssm_parameter"));
    expect(parameters.length).toBeGreaterThan(0);
    for (const p of parameters) expect(p.key_id).toBe(KEY_ARN);
    const decrypt = { Effect: "Allow", Action: "kms:Decrypt", Resource: KEY_ARN, Condition: { StringEquals: { "kms:ViaService": "ssm.eu-west-1.amazonaws.com" } } };
    const readers = Object.values(resourcesOf(json, "aws_iam_role_policy")).filter((p) => String(p.policy).includes("ssm:GetParameter"));
    expect(readers.map((p) => p.name).sort()).toEqual(["read-cluster-secrets", "read-pool-secrets"]);
    for (const p of readers) expect(JSON.parse(String(p.policy)).Statement).toContainEqual(decrypt);
    // Session Manager's policy gets no key.
    const session = Object.values(resourcesOf(json, "aws_iam_role_policy")).find((p) => p.name === "session-manager")!;
    expect(String(session.policy)).not.toContain("kms:");
  });

  const refused = (arn: string) => () => synthCluster({ cloud: "aws", profile: "ha", secretsKmsKeyArn: arn });
  test.each([
    ["an alias", "arn:aws:kms:eu-west-1:111122223333:alias/mesos"],
    ["a key of another region", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
    ["a bare key id", "1234abcd-12ab-34cd-56ef-1234567890ab"],
    ["another service", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x"],
    ["another partition", "arn:aws-cn:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
  ])("%s is refused at synth, naming path, property, value and what is allowed", (_what, arn) => {
    expect(refused(arn)).toThrow(ClusterConfigError);
    expect(refused(arn)).toThrow(
      `ha/aws: invalid secretsKmsKeyArn ${JSON.stringify(arn)}; allowed: the ARN of a customer managed KMS key of eu-west-1, such as arn:aws:kms:eu-west-1:111122223333:key/`,
    );
  });

  test("a multi-Region key and a token are taken", () => {
    expect(refused("arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab")).not.toThrow();
    const stack = new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");
    const key = new TerraformVariable(stack, "key", { type: "string" });
    const target = new AwsTarget(stack, "aws", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY, secretsKmsKeyArn: key.stringValue });
    target.storeSecret(stack, "secret", "one", "value");
    const json = synthStack(stack);
    expect(Object.values(resourcesOf(json, "aws_ssm_parameter"))[0].key_id).toBe("${var.key}");
  });

  test("refused on Azure and with your own target", () => {
    expect(() => synthCluster({ cloud: "azure", profile: "dev", secretsKmsKeyArn: KEY_ARN })).toThrow(
      'dev: invalid secretsKmsKeyArn "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"; allowed: unset on azure',
    );
    const own = (scope: Construct) => new AwsTarget(scope, "aws", { clusterName: "own", sshPublicKey: TEST_SSH_KEY });
    expect(() => new MesosClusterStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "own", { cloud: "aws", target: own, secretsKmsKeyArn: KEY_ARN })).toThrow(
      "own: invalid secretsKmsKeyArn",
    );
    expect(() => new MesosClusterStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "own", { cloud: "aws", target: own, secretsKmsKeyArn: KEY_ARN })).toThrow(
      "allowed: unset with your own target (set it on the AwsTarget)",
    );
  });

  test("the knob CLUSTER_SECRETS_KMS_KEY_ARN reaches the AWS stacks, and a bad value names the variable", () => {
    const home = "/nonexistent";
    const env = { CLUSTER_CLOUD: "aws", CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, CLUSTER_HA_SECRETS_KMS_KEY_ARN: KEY_ARN };
    const config = loadAppConfig({ env, cwd: "/tmp", homeDir: home });
    expect(config.stacks.ha.secretsKmsKeyArn).toBe(KEY_ARN);
    expect(config.stacks.dev.secretsKmsKeyArn).toBeUndefined();
    const bad = loadAppConfig({ env: { ...env, CLUSTER_HA_SECRETS_KMS_KEY_ARN: "alias/mesos" }, cwd: "/tmp", homeDir: home });
    expect(() => buildApp({ config: bad, outdir: "/tmp/mesos-cluster-test-out" })).toThrow('ha/aws: invalid secretsKmsKeyArn "alias/mesos" (from CLUSTER_HA_SECRETS_KMS_KEY_ARN); allowed: ');
    expect(() => loadAppConfig({ env: { ...env, CLUSTER_SECRET_KMS_KEY_ARN: KEY_ARN }, cwd: "/tmp", homeDir: home })).toThrow("did you mean CLUSTER_SECRETS_KMS_KEY_ARN?");
  });
});

describe("as a library (AwsTarget and NodeGroup)", () => {
  const setup = (props: Partial<ConstructorParameters<typeof AwsTarget>[2]> = {}) => {
    const stack = new TerraformStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "lib");
    const target = new AwsTarget(stack, "aws", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY, ...props });
    return { stack, target };
  };

  test("a master subnet is public exactly when the group placed in it asks for public IPs", () => {
    const { stack, target } = setup();
    // NodeGroup's default is a public IP; one master in zone a only.
    new NodeGroup(stack, "edge", { target, count: 1, zones: ["eu-west-1a"], vmSize: "t3.large", dataDiskGb: 0 });
    new NodeGroup(stack, "inner", { target, count: 1, zones: ["eu-west-1b"], vmSize: "t3.large", dataDiskGb: 0, publicIp: false });
    const json = synthStack(stack);
    const [igw] = Object.values(resourcesOf(json, "aws_internet_gateway"));
    const [nat] = Object.values(resourcesOf(json, "aws_nat_gateway"));
    const bySubnet = (cidr: string) => defaultRouteOf(json, Object.values(resourcesOf(json, "aws_subnet")).find((s) => s.cidr_block === cidr)!).route;
    expect(resolveRef(json, bySubnet("10.20.0.0/24").gateway_id)).toBe(igw);
    expect(resolveRef(json, bySubnet("10.20.1.0/24").nat_gateway_id)).toBe(nat);
    // A subnet no group uses stays private.
    expect(resolveRef(json, bySubnet("10.20.2.0/24").nat_gateway_id)).toBe(nat);
  });

  test("two groups that disagree about public IPs in one subnet are refused", () => {
    const { stack, target } = setup();
    new NodeGroup(stack, "edge", { target, count: 1, zones: ["eu-west-1a"], vmSize: "t3.large", dataDiskGb: 0 });
    expect(() => new NodeGroup(stack, "inner", { target, count: 1, zones: ["eu-west-1a"], vmSize: "t3.large", dataDiskGb: 0, publicIp: false, firstHostOffset: 20 })).toThrow(
      "lib/inner: invalid publicIp false; allowed: true like group edge in master subnet 10.20.0.0/24",
    );
  });

  test("sessionManager: false gives machines that read no secret no profile, and the stack no session output", () => {
    const { stack, target } = setup({ sessionManager: false });
    const group = new NodeGroup(stack, "masters", { target, count: 1, vmSize: "t3.large", dataDiskGb: 0, publicIp: false });
    const json = synthStack(stack);
    expect(resourcesOf(json, "aws_iam_role")).toEqual({});
    expect(Object.values(resourcesOf(json, "aws_instance"))[0].iam_instance_profile).toBeUndefined();
    expect(target.sessionCommands(group.resources)).toEqual([]);
  });

  test("the public subnet: an explicit block is checked; the default steps around explicit subnets", () => {
    const taken = setup({ addressSpace: "10.30.0.0/24", masterSubnetCidrs: ["10.30.0.0/26", "10.30.0.64/26", "10.30.0.128/27"], agentSubnetCidrs: ["10.30.0.160/27", "10.30.0.192/27", "10.30.0.224/28"] });
    const json = synthStack(taken.stack);
    expect(resolveRef(json, Object.values(resourcesOf(json, "aws_nat_gateway"))[0].subnet_id).cidr_block).toBe("10.30.0.240/28");
    expect(() =>
      setup({ addressSpace: "10.30.0.0/24", masterSubnetCidrs: ["10.30.0.0/26", "10.30.0.64/26", "10.30.0.128/26"], agentSubnetCidrs: ["10.30.0.192/28", "10.30.0.208/28", "10.30.0.224/28"], publicSubnetCidr: "10.30.0.224/28" }),
    ).toThrow('lib/aws: invalid publicSubnetCidr "10.30.0.224/28"; allowed: a subnet that does not overlap agentSubnetCidrs 10.30.0.224/28');
    expect(() => setup({ addressSpace: "10.30.0.0/24", masterSubnetCidrs: ["10.30.0.0/26", "10.30.0.64/26", "10.30.0.128/26"], agentSubnetCidrs: ["10.30.0.192/28", "10.30.0.208/28", "10.30.0.224/27"] })).toThrow(
      'lib/aws: invalid addressSpace "10.30.0.0/24"; allowed: an address space with a free /28 beside the master and agent subnets',
    );
  });

  test("an existing network is used as given: no subnet, route or NAT gateway of ours", () => {
    const { stack, target } = setup({
      existingNetwork: {
        vpcId: "vpc-0123456789abcdef0",
        addressSpace: ["10.40.0.0/16"],
        masterSubnets: ["a", "b", "c"].map((z, i) => ({ id: `subnet-m${i}`, cidr: `10.40.${i}.0/24`, zone: `eu-west-1${z}` })),
        agentSubnets: ["a", "b", "c"].map((z, i) => ({ id: `subnet-a${i}`, cidr: `10.40.${16 * (i + 1)}.0/20`, zone: `eu-west-1${z}` })),
      },
    });
    new NodeGroup(stack, "edge", { target, count: 3, vmSize: "t3.large", dataDiskGb: 0 });
    new NodeGroup(stack, "inner", { target, count: 3, vmSize: "t3.large", dataDiskGb: 0, publicIp: false, firstHostOffset: 20 });
    const json = synthStack(stack);
    for (const type of ["aws_subnet", "aws_route", "aws_route_table_association", "aws_nat_gateway"]) expect(resourcesOf(json, type)).toEqual({});
  });
});
