/**
 * Bad input fails synth with a message that names the construct path, the
 * property, the value given and what is allowed.
 */
import { execFileSync } from "child_process";
import { mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack } from "cdktf";
import { AzureTarget, ClusterConfigError, MesosMasterGroup, NodeGroup, ZookeeperEnsemble } from "../constructs";
import { MesosClusterStack, MesosClusterStackProps } from "../stacks/mesos-cluster-stack";
import { TEST_SSH_KEY } from "./helpers/synth";

function stackError(props: MesosClusterStackProps): ClusterConfigError {
  try {
    new MesosClusterStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "ha", { sshPublicKey: TEST_SSH_KEY, ...props });
  } catch (e) {
    if (e instanceof ClusterConfigError) return e;
    throw e;
  }
  throw new Error("no error was raised");
}

type Case = [string, MesosClusterStackProps, { path: string; property: string; value: string; allowed: string }];

const CASES: Case[] = [
  ["an even master count", { masterCount: 2 }, { path: "ha", property: "masterCount", value: "2", allowed: "1, 3, 5 or 7" }],
  ["another even master count", { cloud: "aws", masterCount: 4 }, { path: "ha", property: "masterCount", value: "4", allowed: "1, 3, 5 or 7" }],
  ["too many masters", { masterCount: 9 }, { path: "ha", property: "masterCount", value: "9", allowed: "1, 3, 5 or 7" }],
  ["no masters", { masterCount: 0 }, { path: "ha", property: "masterCount", value: "0", allowed: "1, 3, 5 or 7" }],
  ["a negative agent count", { agentCount: -1 }, { path: "ha", property: "agentCount", value: "-1", allowed: "an integer from 0 to 1000" }],
  ["a fractional agent count", { cloud: "aws", agentCount: 2.5 }, { path: "ha", property: "agentCount", value: "2.5", allowed: "an integer from 0 to 1000" }],
  ["a malformed address space", { addressSpace: "10.20.0.0/33" }, { path: "ha/azure", property: "addressSpace", value: '"10.20.0.0/33"', allowed: "an IPv4 CIDR block" }],
  ["an address space with host bits", { cloud: "aws", addressSpace: "10.20.0.1/16" }, { path: "ha/aws", property: "addressSpace", value: '"10.20.0.1/16"', allowed: "no host bits set" }],
  ["a malformed admin CIDR", { adminCidrs: ["203.0.113.0/24", "my-office"] }, { path: "ha", property: "adminCidrs[1]", value: '"my-office"', allowed: "an IPv4 CIDR block" }],
  ["a subnet outside the address space", { cloud: "aws", masterSubnetCidrs: ["10.20.0.0/24", "10.20.1.0/24", "10.99.2.0/24"] }, { path: "ha/aws", property: "masterSubnetCidrs[2]", value: '"10.99.2.0/24"', allowed: "inside the address space 10.20.0.0/16" }],
];

describe("bad stack input fails synth with path, property, value and what is allowed", () => {
  test.each(CASES)("%s", (_name, props, expected) => {
    const e = stackError(props);
    expect(e.constructPath).toBe(expected.path);
    expect(e.property).toBe(expected.property);
    expect(e.message).toContain(`${expected.path}: invalid ${expected.property} ${expected.value}`);
    expect(e.message).toContain(`allowed: `);
    expect(e.allowed).toContain(expected.allowed);
  });
});

describe("construct-level checks", () => {
  function target(stack: TerraformStack, props: Partial<ConstructorParameters<typeof AzureTarget>[2]> = {}): AzureTarget {
    return new AzureTarget(stack, "azure", { clusterName: "lib", sshPublicKey: TEST_SSH_KEY, ...props });
  }

  test("static IPs outside their subnet", () => {
    const stack = new TerraformStack(new App(), "lib");
    const t = target(stack);
    expect(() => new NodeGroup(stack, "masters", { target: t, count: 3, vmSize: "Standard_D2s_v5", privateIps: ["10.20.0.10", "10.20.0.11", "10.20.5.12"] })).toThrow(
      'lib/masters: invalid privateIps[2] "10.20.5.12"; allowed: a usable address of subnet 10.20.0.0/24 (zone 3), not its first four or last',
    );
  });

  test("a static IP the cloud reserves", () => {
    const stack = new TerraformStack(new App(), "lib");
    expect(() => new NodeGroup(stack, "masters", { target: target(stack), count: 1, vmSize: "Standard_D2s_v5", privateIps: ["10.20.0.3"] })).toThrow(
      'lib/masters: invalid privateIps[0] "10.20.0.3"',
    );
  });

  test("an even ensemble built from the constructs directly", () => {
    const stack = new TerraformStack(new App(), "lib");
    const nodes = new NodeGroup(stack, "masters", { target: target(stack), count: 4, vmSize: "Standard_D2s_v5" });
    expect(() => new ZookeeperEnsemble(stack, "zk", { nodes })).toThrow(
      "lib/zk: invalid count 4; allowed: 1, 3, 5 or 7 members (an odd number keeps a majority through failures)",
    );
  });

  test("Mesos masters on an even group", () => {
    const stack = new TerraformStack(new App(), "lib");
    const t = target(stack);
    const zk = new ZookeeperEnsemble(stack, "zk", { target: t, count: 3, vmSize: "Standard_D2s_v5" });
    const nodes = new NodeGroup(stack, "masters", { target: t, count: 2, vmSize: "Standard_D2s_v5", firstHostOffset: 50 });
    expect(() => new MesosMasterGroup(stack, "mesos", { nodes, zookeeper: zk })).toThrow("lib/mesos: invalid count 2; allowed: 1, 3, 5 or 7 masters");
  });

  test("a malformed subnet CIDR on the target", () => {
    const stack = new TerraformStack(new App(), "lib");
    expect(() => target(stack, { masterSubnetCidr: "10.20.0.0/24x" })).toThrow('lib/azure: invalid masterSubnetCidrs[0] "10.20.0.0/24x"; allowed: an IPv4 CIDR block');
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
