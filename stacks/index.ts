/**
 * mesos-cluster-cdktf/stacks: the whole-cluster stack (`dev` or `ha`
 * profile) with its remote-state backend settings, for teams that take the
 * cluster as one unit. It reads nothing from the environment, the working
 * directory or ~/.ssh: every setting is a prop. The app in this repository
 * (main.ts with stacks/app.ts and stacks/config.ts, which read
 * `CLUSTER_*` variables and cluster.config.json) is one consumer of it;
 * that loading is not part of the package.
 */
export * from "./mesos-cluster-stack";
export { type StateBackend, type LocalStateBackend, type AzurermStateBackend, type S3StateBackend, type RemoteStateBackendBase, BACKEND_TYPES } from "./backend";
