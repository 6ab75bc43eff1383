/** Configuration without editing code: environment variables and the config file. */
import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ClusterConfigError } from "../constructs/core/validation";
import { buildApp } from "../stacks/app";
import { loadAppConfig } from "../stacks/config";
import { synthStack, TEST_SSH_KEY } from "./helpers/synth";

function dirs(): { cwd: string; home: string } {
  const root = mkdtempSync(join(tmpdir(), "cfg-"));
  mkdirSync(join(root, "cwd"));
  mkdirSync(join(root, "home"));
  return { cwd: join(root, "cwd"), home: join(root, "home") };
}

test("with no configuration at all: Azure, dev and ha with profile defaults, a generated key", () => {
  const { cwd, home } = dirs();
  const config = loadAppConfig({ env: {}, cwd, homeDir: home });
  expect(config.cloud).toBe("azure");
  expect(config.source).toBe("defaults");
  expect(config.stacks.dev).toMatchObject({ cloud: "azure", profile: "dev", clusterName: "mesos-dev" });
  expect(config.stacks.ha).toMatchObject({ cloud: "azure", profile: "ha", clusterName: "mesos-ha" });
  expect(config.stacks.dev.sshPublicKey).toBeUndefined();
  const { stacks } = buildApp({ config, outdir: join(cwd, "out") });
  const dev = synthStack(stacks[0]);
  expect(dev.output.ssh_private_key).toMatchObject({ sensitive: true });
  expect(Object.keys(dev.resource.tls_private_key)).toHaveLength(1);
  expect(Object.keys(synthStack(stacks[1]).resource.azurerm_linux_virtual_machine)).toHaveLength(3);
});

test("CLUSTER_CLOUD=aws selects AWS; azure names the default", () => {
  const { cwd, home } = dirs();
  expect(loadAppConfig({ env: { CLUSTER_CLOUD: "aws" }, cwd, homeDir: home }).stacks.ha.cloud).toBe("aws");
  expect(loadAppConfig({ env: { CLUSTER_CLOUD: "azure" }, cwd, homeDir: home }).stacks.ha.cloud).toBe("azure");
});

test("layers: file < cloud section < stack section < CLUSTER_<KNOB> < CLUSTER_<STACK>_<KNOB>", () => {
  const { cwd, home } = dirs();
  writeFileSync(
    join(cwd, "cluster.config.json"),
    JSON.stringify({
      cloud: "aws",
      namePrefix: "acme",
      region: "westus3",
      agentCount: 4,
      adminCidrs: ["198.51.100.0/24"],
      // dev runs without auth: opening it to admin networks takes the explicit opt-in.
      stacks: { ha: { agentCount: 6, name: "acme-prod" }, dev: { insecure: true } },
      images: { marathon: "mesosphere/marathon:v1.8.243" },
      aws: { region: "eu-central-1", masterVmSize: "m6i.large" },
    }),
  );
  const env = { CLUSTER_AGENT_VM_SIZE: "m6i.xlarge", CLUSTER_HA_MASTER_COUNT: "5", CLUSTER_DEV_AGENT_COUNT: "1", CLUSTER_IMAGE_SWARM: "swarm:1.2.8", CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY };
  const config = loadAppConfig({ env, cwd, homeDir: home });
  expect(config.source).toBe(join(cwd, "cluster.config.json"));
  expect(config.stacks.dev).toMatchObject({
    cloud: "aws",
    clusterName: "acme-dev",
    region: "eu-central-1",
    masterVmSize: "m6i.large",
    agentVmSize: "m6i.xlarge",
    agentCount: 1,
    adminCidrs: ["198.51.100.0/24"],
    images: { marathon: "mesosphere/marathon:v1.8.243", swarm: "swarm:1.2.8" },
    sshPublicKey: TEST_SSH_KEY,
  });
  expect(config.stacks.dev.masterCount).toBeUndefined();
  expect(config.stacks.ha).toMatchObject({ clusterName: "acme-prod", agentCount: 6, masterCount: 5 });

  // The configuration really drives the synthesized stacks.
  const { stacks } = buildApp({ config, outdir: join(cwd, "out") });
  const ha = synthStack(stacks[1]);
  expect(Object.keys(ha.resource.aws_instance)).toHaveLength(5);
  const [asg] = Object.values(ha.resource.aws_autoscaling_group);
  expect(asg.desired_capacity).toBe(6);
  expect((ha.provider.aws[0] as { region: string }).region).toBe("eu-central-1");
});

test("an SSH key from a file, or found in ~/.ssh", () => {
  const { cwd, home } = dirs();
  writeFileSync(join(cwd, "admin.pub"), `${TEST_SSH_KEY}\n`);
  expect(loadAppConfig({ env: { CLUSTER_SSH_PUBLIC_KEY_FILE: "admin.pub" }, cwd, homeDir: home }).stacks.dev.sshPublicKey).toBe(TEST_SSH_KEY);
  mkdirSync(join(home, ".ssh"));
  writeFileSync(join(home, ".ssh", "id_rsa.pub"), "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 me@laptop\n");
  expect(loadAppConfig({ env: {}, cwd, homeDir: home }).stacks.ha.sshPublicKey).toBe("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 me@laptop");
});

test.each([
  [{ CLUSTER_CLOUD: "gcp" }, undefined, 'app: invalid CLUSTER_CLOUD "gcp"; allowed: "azure" or "aws"'],
  [{ CLUSTER_AGENT_COUNT: "three" }, undefined, 'app: invalid CLUSTER_AGENT_COUNT "three"; allowed: an integer'],
  [{ CLUSTER_CONFIG: "missing.json" }, undefined, 'app: invalid CLUSTER_CONFIG "missing.json"; allowed: the path of an existing JSON config file'],
  [{}, { agentCuont: 3 }, 'invalid agentCuont "agentCuont"; allowed: one of'],
  [{}, { stacks: { prod: {} } }, 'invalid stacks.prod "prod"; allowed: a stack name: dev, ha'],
  [{}, { images: { zk: "zookeeper:3.8.4" } }, 'invalid images.zk "zk"; allowed: one of zookeeper, mesosMaster'],
  [{}, "{ not json", "invalid (file)"],
])("refuses bad configuration %#", (env, file, message) => {
  const { cwd, home } = dirs();
  if (file !== undefined) writeFileSync(join(cwd, "cluster.config.json"), typeof file === "string" ? file : JSON.stringify(file));
  let error: unknown;
  try {
    loadAppConfig({ env, cwd, homeDir: home });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ClusterConfigError);
  expect((error as Error).message).toContain(message);
});

test("the split Docker engine knobs: per role, and the old single knob is refused with what replaced it", () => {
  const { cwd, home } = dirs();
  const config = loadAppConfig({ env: { CLUSTER_MASTER_DOCKER_ENGINE_VERSION: "28.0.4", CLUSTER_HA_AGENT_DOCKER_ENGINE_VERSION: "25.0.4" }, cwd, homeDir: home });
  expect(config.stacks.ha).toMatchObject({ masterDockerEngineVersion: "28.0.4", agentDockerEngineVersion: "25.0.4" });
  expect(config.stacks.dev.agentDockerEngineVersion).toBeUndefined();
  for (const name of ["CLUSTER_DOCKER_ENGINE_VERSION", "CLUSTER_HA_DOCKER_ENGINE_VERSION"]) {
    expect(() => loadAppConfig({ env: { [name]: "27.5.1" }, cwd, homeDir: home })).toThrow(
      new RegExp(`${name}.*"27\\.5\\.1".*masterDockerEngineVersion / agentDockerEngineVersion`),
    );
  }
  writeFileSync(join(cwd, "cluster.config.json"), JSON.stringify({ stacks: { ha: { dockerEngineVersion: "27.5.1" } } }));
  let error: unknown;
  try {
    loadAppConfig({ env: {}, cwd, homeDir: home });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ClusterConfigError);
  expect(String((error as Error).message)).toMatch(/stacks\.ha\.dockerEngineVersion.*agents need 25\.0\.x/);
});
