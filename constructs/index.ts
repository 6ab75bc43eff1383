/**
 * mesos-cluster-cdktf: typed CDK for Terraform constructs for Apache Mesos,
 * Marathon, ZooKeeper and classic Docker Swarm clusters on Azure and AWS.
 *
 * The library's entry point (package.json `main`/`types`): constructs,
 * cloud targets and value classes only. The whole-cluster stack is
 * `mesos-cluster-cdktf/stacks` (stacks/index.ts); the app's configuration
 * loading (stacks/config.ts) is not exported at all.
 */
export * from "./zookeeper-ensemble";
export * from "./mesos-master-group";
export * from "./mesos-agent-pool";
export * from "./marathon-service";
export * from "./swarm-manager";
export * from "./master-tls-proxy";
export * from "./mesos-dns";
export * from "./marathon-lb";
export { checkTaskUsers, checkUserAllowed, runTasksAcl } from "./core/mesos-acls";
export * from "./marathon-app";
export * from "./cluster-readiness-gate";
export * from "./core/marathon-app-definition";
export * from "./nodes";
export * from "./cloud/target";
export * from "./cloud/azure";
export * from "./cloud/aws";
export * from "./cloud/address-plan";
export { type SshKey, SSH_KEY_TYPES } from "./cloud/ssh-key";
export * from "./core/cloud-config";
export * from "./core/container-image";
export * from "./core/credentials";
export * from "./core/network-rules";
export * from "./core/net";
export * from "./core/validation";
export { type ContainerServiceOptions, addContainerService, addScript, renderEnvFile, parseEnvFile, envFilePath, CONFIG_DIR, RUNTIME_DIR } from "./core/systemd";
