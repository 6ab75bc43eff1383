import { Construct } from "constructs";
import { AppNetwork, HealthCheck, PlacementConstraint } from "../constructs/core/marathon-app-definition";
import { MarathonApp } from "../constructs/marathon-app";
import { MarathonService } from "../constructs/marathon-service";
import { MesosAgentPool } from "../constructs/mesos-agent-pool";

/** What an example app is built from. */
export interface ExampleAppContext {
  readonly marathon: MarathonService;
  readonly agents: MesosAgentPool;
}

/**
 * Apps a stack can deploy through Marathon as examples (opt-in with
 * `exampleApps`, e.g. `CLUSTER_EXAMPLE_APPS=web`).
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
};
