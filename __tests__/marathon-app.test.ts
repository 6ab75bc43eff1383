/**
 * MarathonApp at synth: the definition it renders, Marathon's rules checked
 * with clear errors, the resources and commands it adds, and every app our
 * code renders validated against Marathon's own JSON schema.
 */
import { createHash } from "crypto";
import { Testing } from "cdktf";
import { Password } from "@cdktf/provider-random/lib/password";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { ClusterReadinessGate } from "../constructs/cluster-readiness-gate";
import {
  AppNetwork,
  HealthCheck,
  HealthCheckProtocol,
  PlacementConstraint,
  renderAppDefinition,
} from "../constructs/core/marathon-app-definition";
import { MarathonAppProps } from "../constructs/marathon-app";
import { EXAMPLE_APPS } from "../stacks/example-apps";
import { smokeTestApp } from "../scripts/lib/smoke";
import { describeWithMarathonSchema } from "./helpers/marathon-schema";
import { MARATHON_APP_SCHEMA_PATH, marathonAppSchemaProblems } from "./helpers/fake-cluster";
import { nullResource } from "./helpers/local-exec";
import { addApp, devStack, SPECIMENS } from "./helpers/marathon-apps";
import { synthCluster, synthStack } from "./helpers/synth";

describe("rendering", () => {
  test("defaults are Marathon's, written out; ids become absolute", () => {
    expect(renderAppDefinition("t", { id: "sleeper", cmd: "sleep 1" })).toEqual({
      id: "/sleeper",
      cmd: "sleep 1",
      instances: 1,
      cpus: 1,
      mem: 128,
      disk: 0,
      networks: [{ mode: "host" }],
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
    });
  });

  test("a container with port mappings joins the bridge and its health checks address the mapped ports", () => {
    const def = renderAppDefinition("t", {
      id: "/web",
      container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80, name: "http" }] },
      healthChecks: [HealthCheck.http(), HealthCheck.command("true")],
      constraints: [PlacementConstraint.unique("hostname"), PlacementConstraint.maxPer("zone", 2)],
    });
    expect(def.networks).toEqual([{ mode: "container/bridge" }]);
    expect(def.container).toEqual({
      type: "DOCKER",
      docker: { image: "nginx:1.27.3", forcePullImage: false, privileged: false, parameters: [] },
      portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 0, protocol: "tcp", name: "http" }],
    });
    expect(def.healthChecks).toEqual([
      { protocol: "HTTP", portIndex: 0, path: "/", gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3 },
      { protocol: "COMMAND", command: { value: "true" }, gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3, delaySeconds: 15 },
    ]);
    expect(def.constraints).toEqual([["hostname", "UNIQUE"], ["zone", "MAX_PER", "2"]]);
  });

  test("health check protocols are values: each knows who probes and what", () => {
    expect(HealthCheckProtocol.ALL.map((p) => `${p}:${p.kind}:${p.mesosSide}`)).toEqual([
      "HTTP:http:false",
      "HTTPS:http:false",
      "TCP:tcp:false",
      "COMMAND:command:true",
      "MESOS_HTTP:http:true",
      "MESOS_HTTPS:http:true",
      "MESOS_TCP:tcp:true",
    ]);
    expect(HealthCheckProtocol.of("MESOS_TCP")).toBe(HealthCheckProtocol.MESOS_TCP);
    expect(() => HealthCheckProtocol.of("HTTP2")).toThrow('unknown health check protocol "HTTP2"; allowed: HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP');
  });
});

describe("Marathon's rules fail synth with the path, the property, the value and what is allowed", () => {
  const bridge = { image: "nginx:1.27.3", portMappings: [{ containerPort: 80 }] };
  const cases: [string, Partial<MarathonAppProps>, string][] = [
    ["upper case id", { id: "Web" }, 'invalid id "Web"; allowed: a path such as /shop/web: names of lower-case letters, digits, \'-\' and \'.\''],
    ["relative id parts", { id: "/a/../b" }, 'invalid id "/a/../b"'],
    ["trailing slash", { id: "web/" }, 'invalid id "web/"'],
    ["name ending with a dash", { id: "/web-" }, 'invalid id "/web-"'],
    ["cmd and args", { cmd: "x", args: ["y"] }, 'invalid args ["y"]; allowed: either cmd or args, not both'],
    ["nothing to run", { container: undefined }, "invalid cmd (undefined); allowed: a command: cmd, args, or a container"],
    ["zero cpus", { cpus: 0 }, "invalid cpus 0; allowed: a number greater than 0"],
    ["negative memory", { mem: -64 }, "invalid mem -64; allowed: a number greater than 0"],
    ["negative disk", { disk: -1 }, "invalid disk -1; allowed: a number at least 0"],
    ["fractional instances", { instances: 1.5 }, "invalid instances 1.5; allowed: an integer >= 0"],
    ["untagged image", { container: { image: "nginx" } }, 'invalid container.image "nginx"; allowed: a pinned image reference ("nginx" has no tag: pin an exact tag)'],
    ["latest", { container: { image: "nginx:latest" } }, 'invalid container.image "nginx:latest"; allowed: a pinned image reference ("nginx:latest" uses the moving tag "latest": pin an exact tag)'],
    ["mappings on host networking", { container: bridge, network: AppNetwork.host() }, "invalid container.portMappings"],
    ["port definitions on the bridge", { container: bridge, portDefinitions: [{ port: 0 }] }, 'invalid portDefinitions [{"port":0}]; allowed: no portDefinitions on container/bridge networking'],
    ["bridge without a container", { container: undefined, cmd: "x", network: AppNetwork.bridge() }, 'invalid network "container/bridge"'],
    ["health check index past the ports", { container: bridge, healthChecks: [HealthCheck.http({ portIndex: 1 })] }, "invalid healthChecks[0].portIndex 1; allowed: an integer from 0 to 0"],
    ["health check without ports", { healthChecks: [HealthCheck.tcp()] }, "invalid healthChecks[0].portIndex 0; allowed: a port to probe"],
    ["port and portIndex", { container: bridge, healthChecks: [HealthCheck.http({ port: 80, portIndex: 0 })] }, "invalid healthChecks[0].port 80; allowed: either port or portIndex, not both"],
    ["path on TCP", { container: bridge, healthChecks: [HealthCheck.tcp({ path: "/x" } as never)] }, 'invalid healthChecks[0].path "/x"; allowed: no path: TCP checks probe no URL'],
    ["relative path", { container: bridge, healthChecks: [HealthCheck.http({ path: "health" })] }, 'invalid healthChecks[0].path "health"'],
    ["delay on a Marathon-side check", { container: bridge, healthChecks: [HealthCheck.http({ delaySeconds: 5 })] }, "invalid healthChecks[0].delaySeconds 5; allowed: no delaySeconds: only agent-side checks (MESOS_*, COMMAND) take it, not HTTP"],
    ["empty command check", { healthChecks: [HealthCheck.command(" ")] }, 'invalid healthChecks[0].command " "; allowed: a non-empty shell command'],
    ["bad regex", { constraints: [PlacementConstraint.like("hostname", "(")] }, 'invalid constraints[0].value "("; allowed: a regular expression'],
    ["max per 0", { constraints: [PlacementConstraint.maxPer("zone", 0)] }, "invalid constraints[0].value 0; allowed: an integer >= 1"],
    ["env name", { env: { "1BAD": "x" } }, 'invalid env.1BAD "1BAD"; allowed: a variable name'],
    ["upgrade capacity above 1", { upgradeStrategy: { minimumHealthCapacity: 1.5 } }, "invalid upgradeStrategy.minimumHealthCapacity 1.5; allowed: a number at least 0 and at most 1"],
    ["duplicate port names", { container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80, name: "http" }, { containerPort: 81, name: "http" }] } }, 'invalid container.portMappings[1].name "http"; allowed: a name unique'],
    ["backoff factor below 1", { backoffFactor: 0.5 }, "invalid backoffFactor 0.5; allowed: a number at least 1"],
    ["docker option with dashes", { container: { image: "nginx:1.27.3", parameters: [{ key: "--rm", value: "" }] } }, 'invalid container.parameters[0].key "--rm"'],
    ["requirePorts without ports", { cmd: "x", container: undefined, requirePorts: true }, "invalid requirePorts true; allowed: true only with portDefinitions"],
    ["URL with a path", { marathonUrls: ["http://10.0.0.1:8080/v2"] }, 'invalid marathonUrls "http://10.0.0.1:8080/v2"'],
    ["poll interval", { pollIntervalSeconds: 0 }, "invalid pollIntervalSeconds 0; allowed: a number of seconds from 0.01 to 300"],
  ];
  test.each(cases)("%s", (_name, props, message) => {
    const stack = devStack();
    expect(() => addApp(stack, props)).toThrow(`dev/web: ${message}`);
  });
});

describe("resources and commands", () => {
  test("two null resources: `deploy` PUTs on create, `app` DELETEs on destroy; the command runs the shipped client with node", () => {
    const stack = devStack({ adminCidrs: [] });
    const app = addApp(stack, { container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80 }] }, healthChecks: [HealthCheck.http()] });
    const json = synthStack(stack);
    const appRes = nullResource(json, "web/app").config;
    const deployRes = nullResource(json, "web/deploy").config;
    expect(json.terraform?.required_providers).toHaveProperty("null");
    expect(appRes.count).toBe(1);
    expect(appRes.triggers).toEqual({
      app_id: "/web",
      // Without adminCidrs an Azure master has no public IP: its private address only.
      marathon_urls: "http://10.20.0.10:8080",
      marathon_username: "",
    });
    expect(appRes.lifecycle).toEqual({ ignore_changes: ['triggers["marathon_urls"]'] });
    expect(appRes.provisioner).toEqual([
      {
        "local-exec": {
          when: "destroy",
          interpreter: ["node", expect.stringMatching(/^assets\/cluster-client\/[0-9A-F]+\/cli\.js$/)],
          command: "delete-app",
          environment: {
            MARATHON_URLS: "${self.triggers.marathon_urls}",
            MARATHON_APP_ID: "${self.triggers.app_id}",
            MARATHON_USERNAME: "${self.triggers.marathon_username}",
            CLUSTER_CLIENT_TIMEOUT_SECONDS: "900",
            CLUSTER_CLIENT_POLL_SECONDS: "5",
          },
        },
      },
    ]);
    // Without a readiness gate the app waits for the Marathon machines (and is deleted before they go).
    expect(appRes.depends_on).toEqual([expect.stringMatching(/^azurerm_linux_virtual_machine\.masters_/)]);
    expect(deployRes.triggers).toEqual({
      app_id: "/web",
      definition: app.shownDefinitionJson,
      definition_sha256: app.definitionSha256,
      app_resource: expect.stringMatching(/^\$\{null_resource\.web_app_[0-9A-F]+\[count\.index\]\.id\}$/),
    });
    expect(app.definitionSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(deployRes.provisioner[0]["local-exec"]).toMatchObject({ command: "put-app", environment: { MARATHON_APP_DEFINITION: app.definitionJson } });
    expect(deployRes.provisioner[0]["local-exec"].when).toBeUndefined();
  });

  test("with a readiness gate the app depends on it, also when the gate is created after the app", () => {
    const stack = devStack();
    addApp(stack, {});
    new ClusterReadinessGate(stack, "gate", { mesos: stack.mesos, marathon: stack.marathon, agentPools: [stack.agents] });
    const json = synthStack(stack);
    expect(nullResource(json, "web/app").config.depends_on).toEqual([expect.stringMatching(/^null_resource\.gate_[0-9A-F]{8}$/)]);
  });

  test("removed: true keeps the resources configured with count 0, so Terraform runs the DELETE", () => {
    const stack = devStack();
    addApp(stack, { removed: true });
    const json = synthStack(stack);
    expect(nullResource(json, "web/app").config.count).toBe(0);
    expect(nullResource(json, "web/deploy").config.count).toBe(0);
  });

  test("env values stay out of the triggers (plans, PR comments): the trigger shows their sha256, the PUT sends them", () => {
    const stack = devStack();
    addApp(stack, { env: { DB_PASSWORD: "hunter2-hunter2", MODE: "prod" } });
    const deploy = nullResource(synthStack(stack), "web/deploy").config;
    expect(JSON.stringify(deploy.triggers)).not.toContain("hunter2");
    expect(JSON.parse(deploy.triggers.definition).env).toEqual({
      DB_PASSWORD: `sha256:${createHash("sha256").update("hunter2-hunter2").digest("hex")}`,
      MODE: `sha256:${createHash("sha256").update("prod").digest("hex")}`,
    });
    const sent = JSON.parse(deploy.provisioner[0]["local-exec"].environment.MARATHON_APP_DEFINITION);
    expect(sent.env).toEqual({ DB_PASSWORD: "hunter2-hunter2", MODE: "prod" });
    // Any change of a value changes the recorded sha256 (of the definition sent), so the PUT runs again.
    expect(deploy.triggers.definition_sha256).toBe(createHash("sha256").update(deploy.provisioner[0]["local-exec"].environment.MARATHON_APP_DEFINITION).digest("hex"));
  });

  test("a definition holding tokens is encoded by Terraform (jsonencode), and hashed by it", () => {
    const stack = devStack();
    new RandomProvider(stack, "random");
    const token = new Password(stack, "token", { length: 16, special: false }).result;
    addApp(stack, { env: { API_TOKEN: token } });
    const triggers = nullResource(synthStack(stack), "web/deploy").config.triggers;
    // The plan shows a digest of the value, computed by Terraform; the value itself only travels in the provisioner's environment.
    expect(triggers.definition).toMatch(/^\$\{jsonencode\(\{.*"API_TOKEN" = "sha256:\$\{sha256\(random_password\.token\.result\)\}".*\}\)\}$/s);
    const deploy = nullResource(synthStack(stack), "web/deploy").config;
    const sent = deploy.provisioner[0]["local-exec"].environment.MARATHON_APP_DEFINITION as string;
    expect(sent).toMatch(/^\$\{nonsensitive\(sensitive\(jsonencode\(\{.*"API_TOKEN" = random_password\.token\.result.*\}\)\)\)\}$/s);
    expect(triggers.definition_sha256).toBe(`\${sha256(${sent.slice("${nonsensitive(sensitive(".length, -3)})}`);
  });

  test("the dev stack's example web app is opt-in, and needs agents", () => {
    const off = synthCluster({ profile: "dev" }).json;
    expect(off.resource.null_resource).toBeUndefined();
    const { stack, json } = synthCluster({ profile: "dev", exampleApps: ["web"] });
    expect(stack.exampleApps.map((a) => a.appId)).toEqual(["/examples/web"]);
    expect(JSON.parse(nullResource(json, "example-web/deploy").config.triggers.definition)).toMatchObject({
      id: "/examples/web",
      instances: 2,
      constraints: [["hostname", "GROUP_BY"]],
      container: { docker: { image: "nginx:1.27.3" } },
      healthChecks: [{ protocol: "HTTP", path: "/" }],
    });
    expect(() => synthCluster({ profile: "dev", exampleApps: ["web"], agentCount: 0 })).toThrow("dev: invalid exampleApps [\"web\"]; allowed: none while agentCount is 0");
    expect(() => synthCluster({ profile: "dev", exampleApps: ["blog"] })).toThrow('dev: invalid exampleApps "blog"; allowed: "web"');
  });
});

describeWithMarathonSchema("every app our code renders is valid by Marathon's JSON schema (1.7)", (check) => {
  test.each(Object.entries(SPECIMENS))("%s", (_name, spec) => {
    expect(check(renderAppDefinition("specimen", spec))).toEqual([]);
  });

  test.each(Object.keys(EXAMPLE_APPS))("example app %s", (name) => {
    const stack = devStack({ exampleApps: [name] });
    expect(check(stack.exampleApps[0].definition)).toEqual([]);
    Testing.synth(stack);
  });

  test("the smoke test app", () => {
    expect(check(renderAppDefinition("smoke", smokeTestApp("/smoke/probe-0123abcd", "busybox:1.36.1")))).toEqual([]);
  });

  test("the schema check itself refuses what Marathon refuses", () => {
    expect(check({ id: "/x", cmd: "a", args: ["b"] }).length).toBeGreaterThan(0);
    expect(check({ id: "/x", cmd: "a", healthChecks: [{ protocol: "HTTP2" }] }).join()).toContain("/healthChecks/0/protocol");
    expect(check({ id: "Upper Case", cmd: "a" }).join()).toContain("/id");
  });
});

/**
 * The deployed line's own schema (Marathon 1.8.244, vendored in
 * __tests__/fixtures/cluster-api/marathon-1.8-app.schema.json with its
 * provenance): always present, so never skipped. The fake Marathon validates
 * PUT bodies against the same file. Stricter than Marathon 1.8 on one point:
 * unknown fields fail here (Marathon 1.8 silently drops them), so a misspelt
 * field is caught at test time instead of vanishing on deploy.
 */
describe("every app our code renders is valid by Marathon 1.8's schema (the pinned v1.8.244)", () => {
  const problems = (definition: unknown) => marathonAppSchemaProblems(definition).map((p) => `${p.path} ${p.message}`);

  test("the schema says where it comes from", () => {
    const schema = JSON.parse(require("fs").readFileSync(MARATHON_APP_SCHEMA_PATH, "utf8"));
    expect(schema.$comment).toContain("ef6874f89");
    expect(schema.$comment).toContain("v1.8.244");
  });

  test.each(Object.entries(SPECIMENS))("%s", (_name, spec) => {
    expect(problems(renderAppDefinition("specimen", spec))).toEqual([]);
  });

  test.each(Object.keys(EXAMPLE_APPS))("example app %s, and the definition its deploy resource carries", (name) => {
    const stack = devStack({ exampleApps: [name] });
    expect(problems(stack.exampleApps[0].definition)).toEqual([]);
    const json = synthStack(stack);
    expect(problems(JSON.parse(nullResource(json, `example-${name}/deploy`).config.triggers.definition))).toEqual([]);
  });

  test("the smoke test app", () => {
    expect(problems(renderAppDefinition("smoke", smokeTestApp("/smoke/probe-0123abcd", "busybox:1.36.1")))).toEqual([]);
  });

  test("a MarathonApp's definition as synthesized", () => {
    const stack = devStack();
    const app = addApp(stack, { instances: 2, container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80, name: "http" }] }, healthChecks: [HealthCheck.http()] });
    expect(problems(app.definition)).toEqual([]);
    expect(problems(JSON.parse(nullResource(synthStack(stack), "web/deploy").config.triggers.definition))).toEqual([]);
  });

  test("it refuses what Marathon 1.8 refuses, and a misspelt field", () => {
    expect(problems({ id: "/x", cmd: "a", args: ["b"] }).length).toBeGreaterThan(0);
    expect(problems({ id: "/x", cmd: "a", healthChecks: [{ protocol: "HTTP2" }] }).join()).toContain("/healthChecks/0/protocol");
    expect(problems({ id: "Upper Case", cmd: "a" }).join()).toContain("/id");
    expect(problems({ id: "/x", cmd: "a", instnaces: 2 })).toEqual(["/instnaces must NOT have additional properties"]);
  });
});
