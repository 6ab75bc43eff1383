import { Construct } from "constructs";
import { AppNetwork, HealthCheck, PlacementConstraint } from "../constructs/core/marathon-app-definition";
import { MarathonApp } from "../constructs/marathon-app";
import { MarathonService } from "../constructs/marathon-service";
import { MesosAgentPool } from "../constructs/mesos-agent-pool";

/** What an example app is built from. */
export interface ExampleAppContext {
  readonly marathon: MarathonService;
  readonly agents: MesosAgentPool;
  /**
   * The stack's marathon-lb (a `MarathonLb`), when it runs one (`discovery:
   * "dns+lb"`): apps that can be exposed then are, in its group.
   * @default none (the apps are reached by Mesos-DNS or their host ports only)
   */
  readonly marathonLb?: { readonly group: string; readonly servicePorts: readonly [number, number] };
}

/**
 * The Docker official Redis image, pinned: 7.2.5 on Debian bookworm
 * (docker-library/redis 7.2/debian/Dockerfile: `FROM debian:bookworm-slim`,
 * `ENV REDIS_VERSION 7.2.5`, `EXPOSE 6379`, `ENTRYPOINT
 * ["docker-entrypoint.sh"]`, `CMD ["redis-server"]`, no `USER`). The same
 * image as `npm run smoke`'s discovery walk (scripts/lib/smoke.ts
 * REDIS_IMAGE; a test keeps the two equal).
 */
export const REDIS_IMAGE = "redis:7.2.5";

/**
 * Apps a stack can deploy through Marathon as examples (opt-in with
 * `exampleApps`, e.g. `CLUSTER_EXAMPLE_APPS=web,redis`).
 */
export const EXAMPLE_APPS: Record<string, (scope: Construct, context: ExampleAppContext) => MarathonApp> = {
  /**
   * nginx on the Docker bridge, two tasks (one with a single agent) spread
   * over the agents, with an HTTP health check Marathon runs against the
   * mapped host port (task ports are open from the masters). Host ports are
   * dynamic, so an upgrade can start new tasks beside the old ones.
   */
  web: (scope, { marathon, agents }) =>
    new MarathonApp(scope, "example-web", {
      marathon,
      id: "/examples/web",
      instances: Math.min(2, agents.count),
      cpus: 0.1,
      mem: 64,
      container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80, name: "http" }] },
      network: AppNetwork.bridge(),
      healthChecks: [HealthCheck.http({ path: "/", gracePeriodSeconds: 120, intervalSeconds: 10, timeoutSeconds: 5 })],
      constraints: [PlacementConstraint.groupBy("hostname")],
      labels: { "managed-by": "mesos-cluster-cdktf" },
      // Without a readiness gate the deployment still has to wait for agents to exist.
      dependsOn: [agents.nodes.resources.pool],
    }),

  /**
   * Redis, two tasks on the Docker bridge: container port 6379 mapped to a
   * host port Mesos picks (31000-32000), found by Mesos-DNS as
   * `redis-examples.marathon.mesos` (SRV `_redis-examples._tcp.marathon.mesos`)
   * and, with marathon-lb, on the edge agents at the first of its service
   * ports (10000) in its group. Marathon probes the task port over TCP (task
   * ports are open from the masters); marathon-lb (`--health-check`) then
   * sends traffic to healthy tasks only.
   *
   * It runs as nobody: the Docker containerizer runs a container as its
   * image's user (constructs/core/mesos-acls.ts), which this image does not
   * set; its entrypoint drops root to `redis` itself, and only when started
   * as root (docker-library/redis 7.2/debian/docker-entrypoint.sh: "allow the
   * container to be started with `--user`"). So `--user=65534:65534`
   * (nobody:nogroup; Mesos passes each Docker parameter as `--key=value`,
   * apache/mesos 1.7.1 src/docker/docker.cpp), and nothing is saved (`--save
   * ""`, `--appendonly no`): nobody may not write the image's /data (owned by
   * `redis`, Dockerfile `chown redis:redis /data`), and an example keeps no data.
   * Protected mode is off in the image (Dockerfile "disable Redis protected
   * mode"), so anyone who reaches a port may use it: keep its ports inside.
   */
  redis: (scope, { marathon, agents, marathonLb }) =>
    new MarathonApp(scope, "example-redis", {
      marathon,
      id: "/examples/redis",
      instances: 2,
      cpus: 0.1,
      mem: 64,
      args: ["redis-server", "--save", "", "--appendonly", "no"],
      container: {
        image: REDIS_IMAGE,
        portMappings: [{ containerPort: 6379, name: "redis" }],
        parameters: [{ key: "user", value: "65534:65534" }],
      },
      network: AppNetwork.bridge(),
      healthChecks: [HealthCheck.tcp({ gracePeriodSeconds: 60, intervalSeconds: 10, timeoutSeconds: 5 })],
      constraints: [PlacementConstraint.groupBy("hostname")],
      labels: { "managed-by": "mesos-cluster-cdktf" },
      ...(marathonLb ? { loadBalancer: { group: marathonLb.group, servicePort: marathonLb.servicePorts[0] } } : {}),
      dependsOn: [agents.nodes.resources.pool],
    }),
};
