/**
 * What this repository's own tools (scripts/: validate, plan-diff, smoke,
 * bench) read from the library beyond its public entry: contracts between
 * what the constructs render and what the tools check. Not exported by the
 * package (package.json "exports" has no path to it); scripts import the
 * library through constructs/index.ts or this file only, never a construct's
 * own file (a test checks).
 */
export { acceptsApiFloorBelowDefault, apiVersionAtLeast, DOCKER_DEFAULT_MIN_API } from "./core/container-image";
export { imageFacts, type ImageFacts } from "./core/image-facts";
export { DATA_DISK_UNIT, DATA_ROOT } from "./base-roles";
export { POOL_MIN_HEALTHY_PERCENT, POOL_WARMUP_SECONDS } from "./cloud/pool-rolling";
export { parseRoleHeader, ROLE_NAMES, STATEFUL_ROLES, type RoleName } from "./core/role-header";
export { type MarathonAppSpec, renderAppDefinition } from "./core/marathon-app-definition";
export { parseEnvFile } from "./core/systemd";
export { parseVaultUriTemplate } from "./cloud/secret-fetchers/azure";
export { appDnsNames, type AppDnsNames, marathonTaskName, mesosDnsLabel, type MesosDnsNaming } from "./core/mesos-dns-names";
