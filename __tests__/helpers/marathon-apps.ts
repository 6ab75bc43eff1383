/**
 * What the MarathonApp tests build apps with: a dev cluster stack, an app on
 * it, and the specimens (every feature of the renderer at least once) that the
 * schema tests validate along with the example apps and the smoke test app.
 */
import { App } from "cdktf";
import { AppNetwork, HealthCheck, MarathonAppSpec, PlacementConstraint } from "../../constructs/core/marathon-app-definition";
import { MarathonApp, MarathonAppProps } from "../../constructs/marathon-app";
import { MesosClusterStack } from "../../stacks/mesos-cluster-stack";
import { TEST_SSH_KEY } from "./synth";

export function devStack(props: Record<string, unknown> = {}): MesosClusterStack {
  const app = new App({ outdir: "/tmp/mesos-cluster-test-out" });
  return new MesosClusterStack(app, "dev", { sshPublicKey: TEST_SSH_KEY, ...props });
}

export function addApp(stack: MesosClusterStack, props: Partial<MarathonAppProps>, id = "web"): MarathonApp {
  return new MarathonApp(stack, id, { marathon: stack.marathon, id: "/web", container: { image: "nginx:1.27.3" }, ...props } as MarathonAppProps);
}

/** Every feature of the renderer at least once: these, the example apps and the smoke test app are what the schema test validates. */
export const SPECIMENS: Record<string, MarathonAppSpec> = {
  "command only": { id: "sleeper", cmd: "sleep 3600", cpus: 0.05, mem: 16 },
  "args with a container entrypoint": { id: "/tools/echo", args: ["--port", "8080"], container: { image: "hashicorp/http-echo:1.0.0" } },
  "bridge with every health check on a mapped port": {
    id: "/shop/web.v2",
    instances: 3,
    cpus: 0.25,
    mem: 256,
    disk: 100,
    container: {
      image: "nginx:1.27.3",
      portMappings: [
        { containerPort: 80, name: "http", labels: { VIP_0: "/web:80" } },
        { containerPort: 443, hostPort: 0, servicePort: 10443, protocol: "tcp", name: "https" },
        { containerPort: 53, protocol: "udp,tcp" },
      ],
      parameters: [{ key: "log-opt", value: "max-size=10m" }, { key: "log-opt", value: "max-file=3" }],
      forcePullImage: true,
      volumes: [{ containerPath: "/usr/share/nginx/html", hostPath: "/srv/www", mode: "RO" }],
    },
    env: { GREETING: "hello", LOG_LEVEL: "info" },
    labels: { team: "shop", tier: "frontend" },
    constraints: [
      PlacementConstraint.unique("hostname"),
      PlacementConstraint.groupBy("zone", 3),
      PlacementConstraint.like("hostname", "10\\.20\\..*"),
      PlacementConstraint.unlike("rack", "r9"),
      PlacementConstraint.maxPer("zone", 2),
      PlacementConstraint.cluster("disk", "ssd"),
      PlacementConstraint.cluster("rack"),
      PlacementConstraint.groupBy("zone"),
    ],
    healthChecks: [
      HealthCheck.http({ path: "/health", portIndex: 0, gracePeriodSeconds: 30, intervalSeconds: 10, timeoutSeconds: 5, maxConsecutiveFailures: 2, ignoreHttp1xx: true }),
      HealthCheck.https({ portIndex: 1 }),
      HealthCheck.tcp({ portIndex: 0 }),
      HealthCheck.mesosHttp({ path: "/", delaySeconds: 5 }),
      HealthCheck.mesosHttps({ portIndex: 1 }),
      HealthCheck.mesosTcp({ port: 8080 }),
      HealthCheck.command("curl -f http://localhost/"),
    ],
    upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.2 },
    backoffSeconds: 2,
    backoffFactor: 1.5,
    maxLaunchDelaySeconds: 600,
    taskKillGracePeriodSeconds: 30,
    user: "nobody",
  },
  "host networking with port definitions": {
    id: "/api",
    cmd: "python3 -m http.server $PORT0",
    portDefinitions: [{ port: 0, name: "http" }, { port: 10001, protocol: "udp", labels: { purpose: "metrics" } }],
    requirePorts: false,
    healthChecks: [HealthCheck.http({ portIndex: 0 })],
    fetch: [{ uri: "https://example.org/app.tgz" }, { uri: "https://example.org/run.sh", executable: true, extract: false, cache: true }],
  },
  "a named container network": { id: "/overlay/db", container: { image: "postgres:16.4", portMappings: [{ containerPort: 5432 }] }, network: AppNetwork.container("dcos") },
  "stopped (0 instances)": { id: "/paused", cmd: "true", instances: 0 },
};
