/**
 * The synth-time schema check: Marathon 1.8's app schema carried by the
 * library (constructs/core/marathon-app-schema.ts, generated from the vendored
 * JSON), the library's own small validator (constructs/core/json-schema.ts,
 * no ajv at run time) agreeing with ajv, and MarathonApp refusing at synth a
 * definition the schema refuses.
 */
import { readFileSync } from "fs";
import Ajv from "ajv";
import { Password } from "@cdktf/provider-random/lib/password";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { JsonSchema, unknownKeywords, validateJsonSchema } from "../constructs/core/json-schema";
import { HealthCheck, renderAppDefinition } from "../constructs/core/marathon-app-definition";
import { MARATHON_APP_SCHEMA } from "../constructs/core/marathon-app-schema";
import { EXAMPLE_APPS } from "../stacks/example-apps";
import { smokeTestApp } from "../scripts/lib/smoke";
import { renderSchemaModule, SCHEMA_JSON, SCHEMA_MODULE } from "../scripts/vendor-marathon-schema";
import { MARATHON_APP_SCHEMA_PATH, marathonAppSchemaProblems } from "./helpers/fake-cluster";
import { addApp, devStack, SPECIMENS } from "./helpers/marathon-apps";

const ours = (definition: unknown) => validateJsonSchema(MARATHON_APP_SCHEMA, definition);
const json = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe("the schema the library carries", () => {
  test("is the vendored JSON, and the module is what the vendoring script writes", () => {
    expect(SCHEMA_JSON).toBe(MARATHON_APP_SCHEMA_PATH);
    const text = readFileSync(SCHEMA_JSON, "utf8");
    expect(MARATHON_APP_SCHEMA).toEqual(JSON.parse(text));
    expect(readFileSync(SCHEMA_MODULE, "utf8")).toBe(renderSchemaModule(text));
  });

  test("uses no keyword the validator does not know, but for upstream's misplaced executorResources fields", () => {
    // Upstream's schema puts cpus/mem/disk of executorResources beside `type` instead of under `properties`:
    // they are no keywords, ajv (strict: false) ignores them and so does the validator, so nothing checks them.
    expect(unknownKeywords(MARATHON_APP_SCHEMA)).toEqual(["/properties/executorResources: cpus", "/properties/executorResources: mem", "/properties/executorResources: disk"]);
    expect(unknownKeywords({ properties: { a: { items: [{ uniqueItems: true }] } } })).toEqual(["/properties/a/items/0: uniqueItems"]);
  });
});

/** Every app the project renders: the specimens, the example apps, the smoke test app. */
function renderedApps(): [string, unknown][] {
  const apps: [string, unknown][] = Object.entries(SPECIMENS).map(([name, spec]) => [name, renderAppDefinition("specimen", spec)]);
  for (const name of Object.keys(EXAMPLE_APPS)) apps.push([`example app ${name}`, devStack({ exampleApps: [name] }).exampleApps[0].definition]);
  apps.push(["smoke test app", renderAppDefinition("smoke", smokeTestApp("/smoke/probe-0123abcd", "busybox:1.36.1"))]);
  return apps.map(([name, def]) => [name, json(def)]);
}

type Change = (def: Record<string, any>) => void;
const BASE = json(renderAppDefinition("base", SPECIMENS["bridge with every health check on a mapped port"])) as Record<string, any>;
const broken = (change: Change) => {
  const def = json(BASE);
  change(def);
  return def;
};

/** Deliberately broken definitions: [what, change, the JSON pointer the validator names, what it says is allowed]. */
const BROKEN: [string, Change, string, string][] = [
  ["wrong type (cpus as a string)", (d) => (d.cpus = "1"), "/cpus", "a number"],
  ["fractional integer", (d) => (d.instances = 1.5), "/instances", "an integer"],
  ["unknown property", (d) => (d.instnaces = 2), "/instnaces", 'no property "instnaces" (allowed: '],
  ["unknown nested property", (d) => (d.container.docker.imgae = "x"), "/container/docker/imgae", 'no property "imgae"'],
  ["bad enum", (d) => (d.healthChecks[0].protocol = "HTTP2"), "/healthChecks/0/protocol", "one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP"],
  ["bad network mode", (d) => (d.networks[0].mode = "BRIDGE"), "/networks/0/mode", "one of container, container/bridge, host"],
  ["pattern ($ref'd id)", (d) => (d.id = "/Upper Case"), "/id", "a string matching ^(\\/?((\\.{2})|"],
  ["pattern (port name)", (d) => (d.container.portMappings[0].name = "HTTP"), "/container/portMappings/0/name", "a string matching ^[a-z][a-z0-9-]*$"],
  ["minLength", (d) => (d.container.docker.image = ""), "/container/docker/image", "a string of at least 1 characters"],
  ["maxLength", (d) => (d.container.portMappings[0].networkNames = ["n".repeat(64)]), "/container/portMappings/0/networkNames/0", "a string of at most 63 characters"],
  ["missing required", (d) => (d.container.docker.parameters = [{ key: "log-opt" }]), "/container/docker/parameters/0", 'an object with the property "value"'],
  ["minimum", (d) => (d.instances = -1), "/instances", "a number >= 0"],
  ["maximum", (d) => (d.upgradeStrategy.minimumHealthCapacity = 1.5), "/upgradeStrategy/minimumHealthCapacity", "a number <= 1"],
  ["port above 65535", (d) => (d.container.portMappings[0].hostPort = 70000), "/container/portMappings/0/hostPort", "a number <= 65535"],
  ["constraint of one item (minItems)", (d) => (d.constraints[0] = ["hostname"]), "/constraints/0", "a list of at least 2 items"],
  ["constraint of four items (additionalItems)", (d) => (d.constraints[0] = ["hostname", "UNIQUE", "a", "b"]), "/constraints/0/3", "a list of at most 3 items"],
  ["constraint operator", (d) => (d.constraints[0] = ["hostname", "unique"]), "/constraints/0/1", "one of UNIQUE, CLUSTER"],
  ["label value not a string (additionalProperties schema)", (d) => (d.labels.team = 1), "/labels/team", "a string"],
  ["env value matching no oneOf alternative", (d) => (d.env.GREETING = 42), "/env/GREETING", "exactly one of: a string; an object with secret"],
  ["env secret breaking its alternative", (d) => (d.env.GREETING = { secret: "" }), "/env/GREETING/secret", "a string of at least 1 characters"],
  ["check command with shell and argv (oneOf: none)", (d) => (d.check = { exec: { command: { shell: "true", argv: ["true"] } } }), "/check/exec/command", "exactly one of: an object with shell; an object with argv"],
  ["cmd and args (not)", (d) => Object.assign(d, { cmd: "a", args: ["b"] }), "", "anything but with cmd and with args"],
  ["dependency path ($ref in items)", (d) => (d.dependencies = ["/Bad Path"]), "/dependencies/0", "a string matching"],
  ["boolean of the wrong type", (d) => (d.container.docker.forcePullImage = "true"), "/container/docker/forcePullImage", "a boolean"],
];

/** Valid ones that exercise the same keywords' other side. */
const VALID: [string, Change][] = [
  ["env secret", (d) => (d.env.DB_PASSWORD = { secret: "db" })],
  ["unreachableStrategy disabled (oneOf)", (d) => (d.unreachableStrategy = "disabled")],
  ["unreachableStrategy object (oneOf)", (d) => (d.unreachableStrategy = { inactiveAfterSeconds: 60, expungeAfterSeconds: 120 })],
  ["IS constraint of 3 items", (d) => (d.constraints[0] = ["zone", "IS", "a"])],
  ["check command argv", (d) => (d.check = { exec: { command: { argv: ["true"] } } })],
  ["version (format date-time, not checked by either)", (d) => (d.version = "not a date")],
];

describe("the validator agrees with ajv", () => {
  test.each(renderedApps())("every app the project renders: %s", (_name, def) => {
    expect(marathonAppSchemaProblems(def)).toEqual([]);
    expect(ours(def)).toEqual([]);
  });

  test.each(BROKEN)("refused by both: %s", (_name, change, pointer, allowed) => {
    const def = broken(change);
    expect(marathonAppSchemaProblems(def).length).toBeGreaterThan(0);
    const problems = ours(def);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0].pointer).toBe(pointer);
    expect(problems[0].allowed).toContain(allowed);
  });

  test.each(VALID)("accepted by both: %s", (_name, change) => {
    const def = broken(change);
    expect(marathonAppSchemaProblems(def)).toEqual([]);
    expect(ours(def)).toEqual([]);
  });

  // The Marathon schema has no oneOf whose alternatives can both match, nor an exclusive or schema-valued additionalItems: small schemas show them.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const SMALL: [string, JsonSchema, unknown][] = [
    ["oneOf with two matching", { oneOf: [{ type: "number" }, { minimum: 0 }] }, 5],
    ["oneOf with one matching", { oneOf: [{ type: "number" }, { minimum: 0 }] }, -5],
    ["oneOf with none matching", { oneOf: [{ type: "number" }, { type: "boolean" }] }, "x"],
    ["additionalItems as a schema", { type: "array", items: [{ type: "string" }], additionalItems: { type: "integer" } }, ["a", 1, 2.5]],
    ["items on an object are ignored", { type: "object", items: { type: "string" } }, { a: 1 }],
    ["patternProperties and additionalProperties false", { patternProperties: { "^x-": { type: "string" } }, additionalProperties: false }, { "x-a": "1", b: 2 }],
    ["allOf", { allOf: [{ minimum: 1 }, { maximum: 3 }] }, 4],
    ["integer or null", { type: ["integer", "null"] }, null],
    ["enum of objects", { enum: [{ a: [1] }] }, { a: [1] }],
    ["minLength counts code points", { minLength: 2 }, "😀"],
    ["boolean schema false", { properties: { a: false } }, { a: 1 }],
  ];
  test.each(SMALL)("same verdict on a small schema: %s", (_name, schema, value) => {
    expect(validateJsonSchema(schema, value).length === 0).toBe(ajv.validate(schema as object, value));
  });
});

describe("MarathonApp refuses at synth what the schema refuses: path, property, value, allowed", () => {
  // With correct TypeScript types no prop reaches a schema violation: the typed props and the renderer's
  // checks refuse first. Values of the wrong type (JavaScript callers, parsed configuration) get past them.
  const cases: [string, Record<string, unknown>, string][] = [
    ["user as a number (a uid)", { user: 1000 }, "invalid definition/user 1000; allowed: a string (Marathon 1.8's app schema)"],
    ["a fetch flag as a string", { fetch: [{ uri: "https://example.org/a.tgz", executable: "yes" }] }, 'invalid definition/fetch/0/executable "yes"; allowed: a boolean'],
    ["a fetch uri as a number", { fetch: [{ uri: 42 }] }, "invalid definition/fetch/0/uri 42; allowed: a string"],
    ["forcePullImage as a string", { container: { image: "nginx:1.27.3", forcePullImage: "true" } }, 'invalid definition/container/docker/forcePullImage "true"; allowed: a boolean'],
    ["privileged as a number", { container: { image: "nginx:1.27.3", privileged: 1 } }, "invalid definition/container/docker/privileged 1; allowed: a boolean"],
    ["requirePorts as a string", { cmd: "x", container: undefined, portDefinitions: [{ port: 10001 }], requirePorts: "yes" }, 'invalid definition/requirePorts "yes"; allowed: a boolean'],
    ["ignoreHttp1xx as a string", { container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80 }] }, healthChecks: [HealthCheck.http({ ignoreHttp1xx: "no" as never })] }, 'invalid definition/healthChecks/0/ignoreHttp1xx "no"; allowed: a boolean'],
  ];
  test.each(cases)("%s", (_name, props, message) => {
    expect(() => addApp(devStack(), props as never)).toThrow(`dev/web: ${message}`);
  });

  test("the message is one line, with the schema's rule", () => {
    let error: Error | undefined;
    try {
      addApp(devStack(), { user: 1000 } as never);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.name).toBe("ClusterConfigError");
    expect((error as unknown as { summary: string }).summary).toBe("dev/web: invalid definition/user 1000; allowed: a string (Marathon 1.8's app schema)");
  });

  test("a definition holding tokens is not checked (their values come at apply) and still synthesizes", () => {
    const stack = devStack();
    new RandomProvider(stack, "random");
    const token = new Password(stack, "token", { length: 32 }).result;
    expect(() => addApp(stack, { env: { API_TOKEN: token }, user: 1000 } as never)).not.toThrow();
  });

  test("valid apps pass", () => {
    expect(() => addApp(devStack(), { instances: 2, container: { image: "nginx:1.27.3", portMappings: [{ containerPort: 80, name: "http" }] }, healthChecks: [HealthCheck.http()] })).not.toThrow();
  });
});
