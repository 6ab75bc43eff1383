import { createHash } from "crypto";
import { Aspects, Fn, ITerraformDependable, TerraformStack, Token } from "cdktf";
import { Construct } from "constructs";
import { dependable } from "cdktf/lib/tfExpression";
import { Resource } from "@cdktf/provider-null/lib/resource";
import {
  checkPollSeconds,
  clearTextUrl,
  clusterClientInterpreter,
  credentialsEnvironment,
  ensureNullProvider,
  environmentSecret,
  environmentSecretOfTrigger,
  machineUrls,
  serversText,
} from "./cluster-client";
import { ClusterReadinessGate } from "./cluster-readiness-gate";
import { HttpCredentials } from "./core/credentials";
import { validateJsonSchema } from "./core/json-schema";
import { MARATHON_APP_SCHEMA } from "./core/marathon-app-schema";
import { MarathonAppDefinition, MarathonAppSpec, renderAppDefinition } from "./core/marathon-app-definition";
import { checkInteger, fail, pathOf, warn } from "./core/validation";
import { MesosAgentPool } from "./mesos-agent-pool";
import { checkUserAllowed } from "./core/mesos-acls";
import { MarathonService } from "./marathon-service";
import { MarathonLb } from "./marathon-lb";
import { MasterTlsProxy } from "./master-tls-proxy";

/** Properties of a {@link MarathonApp}: the app ({@link MarathonAppSpec}) and where and how it is deployed. */
export interface MarathonAppProps extends MarathonAppSpec {
  /** The Marathon to deploy to. */
  readonly marathon: MarathonService;
  /**
   * Basic-auth credentials for Marathon's API; the password may be a token
   * (a generated secret). It reaches the deploy command through its
   * environment only.
   * @default marathon.credentials (none while Marathon's authentication is off)
   */
  readonly credentials?: HttpCredentials;
  /**
   * Marathon base URLs as the deploying machine reaches them; all are tried
   * at once and the first that answers is used. Behind a
   * {@link MasterTlsProxy} only https URLs (or http to loopback, an SSH
   * tunnel) are accepted.
   * @default every Marathon instance at its private IP and, where the masters have one, its public IP (https on the TLS port behind a MasterTlsProxy)
   */
  readonly marathonUrls?: string[];
  /** How long creating, updating or deleting may wait for Marathon and for the deployment, in seconds. @default 900 */
  readonly deployTimeoutSeconds?: number;
  /** Seconds between polls of Marathon while waiting. @default 5 */
  readonly pollIntervalSeconds?: number;
  /**
   * Delete the app from Marathon while keeping it in the code. Terraform runs
   * a destroy-time command only while its resource is still configured: to
   * remove an app, deploy with `removed: true`, then delete the construct.
   * @default false
   */
  readonly removed?: boolean;
  /**
   * What the deployment must wait for besides the cluster (e.g. the agent pool).
   * The cluster's {@link ClusterReadinessGate} is added by itself when there is one.
   * @default the Marathon machines
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * A Marathon app deployed by `cdktf deploy`, through Marathon's REST API from
 * the deploying machine (two `null_resource`s with local-exec):
 *
 * - `deploy` runs `PUT /v2/apps/{id}?partialUpdate=false` with the rendered
 *   definition and waits until the deployment leaves `GET /v2/deployments`.
 *   Its triggers hold the definition and its sha256, so any change shows in
 *   the plan and re-runs the PUT (a rolling update by Marathon, not a
 *   re-creation).
 * - `app` stands for the app's existence: destroying it runs
 *   `DELETE /v2/apps/{id}`. Its triggers hold what the destroy-time command
 *   may use (Terraform lets it see only `self`): the id, the URLs and the
 *   credentials. Changing the credentials replaces it (the app is deleted and
 *   created again); URL changes are ignored (every address of every master
 *   is tried at destroy time).
 *
 * Both depend on the cluster's readiness gate when it has one, else on the
 * Marathon machines, so that `cdktf destroy` deletes the app before the
 * machines go.
 */
export class MarathonApp extends Construct {
  /** The absolute app id, e.g. `/shop/web`. */
  public readonly appId: string;
  /** The definition PUT to Marathon. */
  public readonly definition: MarathonAppDefinition;
  /** The definition as sent: JSON text, or a `jsonencode(...)` expression when it holds tokens. */
  public readonly definitionJson: string;
  /** sha256 of {@link definitionJson} (hex; a `sha256(...)` expression when the definition holds tokens). */
  public readonly definitionSha256: string;
  /** What plans show of the definition (the `deploy` trigger): every env value replaced by `sha256:<hex>`. */
  public readonly shownDefinitionJson: string;
  public readonly marathon: MarathonService;
  public readonly credentials?: HttpCredentials;
  public readonly marathonUrls: string[];
  /** Escape hatch: the resource whose destruction deletes the app. */
  public readonly appResource: Resource;
  /** Escape hatch: the resource whose creation PUTs the definition. */
  public readonly deployResource: Resource;

  constructor(scope: Construct, id: string, props: MarathonAppProps) {
    super(scope, id);
    this.marathon = props.marathon;
    this.credentials = props.credentials ?? props.marathon.credentials;
    this.definition = renderAppDefinition(this, props);
    if (typeof this.definition.user === "string") checkUserAllowed(this, "user", this.definition.user, props.marathon.masters);
    checkSchema(this, this.definition);
    this.appId = this.definition.id;
    claimAppId(this, props.marathon, props.id);
    // An app in another stack than its cluster: that stack deploys after the cluster's and is destroyed before it.
    const stack = TerraformStack.of(this);
    const clusterStack = TerraformStack.of(props.marathon);
    if (clusterStack !== stack) stack.addDependency(clusterStack);
    // Behind a MasterTlsProxy: https on its port, verified with its CA; the CA reaches the client's environment.
    const tls = props.marathon.tls;
    this.marathonUrls = props.marathonUrls ?? (tls ? machineUrls(props.marathon.nodes, tls.port, "https") : machineUrls(props.marathon.nodes, props.marathon.httpPort)).flat();
    if (this.marathonUrls.length === 0) fail(this, "marathonUrls", this.marathonUrls, "at least one Marathon base URL");
    for (const url of this.marathonUrls) {
      if (!Token.isUnresolved(url) && !/^https?:\/\/[^/\s|,]+$/.test(url)) fail(this, "marathonUrls", url, "base URLs such as http://10.20.0.10:8080 (no path, no ',' or '|')");
      if (tls && !Token.isUnresolved(url) && clearTextUrl(url)) {
        fail(this, "marathonUrls", url, "https URLs (or http to loopback, an SSH tunnel): Marathon has TLS, and its basic-auth credentials must not cross a network in clear text");
      }
    }
    const timeout = checkInteger(this, "deployTimeoutSeconds", props.deployTimeoutSeconds ?? 900, 1, 86400);
    const poll = checkPollSeconds(this, "pollIntervalSeconds", props.pollIntervalSeconds ?? 5, 0.01, 300);

    // What plans and PR comments show (the `deploy` trigger): the definition with each env value
    // replaced by its sha256, so a changed value shows as a changed digest and no value is printed.
    // The definition itself reaches the client through the provisioner's environment, which plans
    // do not show; definition_sha256 covers all of it, so any change still re-runs the PUT.
    const shown: MarathonAppDefinition = this.definition.env
      ? { ...this.definition, env: Object.fromEntries(Object.entries(this.definition.env).map(([k, v]) => [k, digestOf(v)])) }
      : this.definition;
    if (hasTokens(this.definition)) {
      this.definitionJson = Fn.jsonencode(this.definition);
      this.definitionSha256 = Fn.sha256(this.definitionJson);
      this.shownDefinitionJson = Fn.jsonencode(shown);
    } else {
      this.definitionJson = JSON.stringify(this.definition);
      this.definitionSha256 = createHash("sha256").update(this.definitionJson).digest("hex");
      this.shownDefinitionJson = JSON.stringify(shown);
    }

    ensureNullProvider(this);
    const interpreter = clusterClientInterpreter(this);
    const count = props.removed ? 0 : 1;
    const timing = { CLUSTER_CLIENT_TIMEOUT_SECONDS: String(timeout), CLUSTER_CLIENT_POLL_SECONDS: String(poll) };
    const urls = serversText(this.marathonUrls.map((u) => [u]));
    const creds = this.credentials;

    this.appResource = new Resource(this, "app", {
      count,
      triggers: {
        app_id: this.appId,
        marathon_urls: urls,
        marathon_username: creds?.username ?? "",
        ...(creds ? { marathon_password: Fn.sensitive(creds.password) } : {}),
        ...(tls ? { marathon_tls_ca: tls.caCertPem } : {}),
      },
      // Destroy-time commands read the URLs from state; every address of every master is tried, so a stale list still works.
      // The CA likewise: an app created before TLS keeps its http URLs and no CA (README: its DELETE then needs a hand).
      lifecycle: { ignoreChanges: ['triggers["marathon_urls"]', ...(tls ? ['triggers["marathon_tls_ca"]'] : [])] },
      provisioners: [
        {
          type: "local-exec",
          when: "destroy",
          interpreter,
          command: "delete-app",
          environment: {
            MARATHON_URLS: "${self.triggers.marathon_urls}",
            MARATHON_APP_ID: "${self.triggers.app_id}",
            MARATHON_USERNAME: "${self.triggers.marathon_username}",
            ...(creds ? { MARATHON_PASSWORD: environmentSecretOfTrigger("marathon_password") } : {}),
            // lookup: state written before TLS has no such trigger.
            ...(tls ? { MARATHON_TLS_CA: '${lookup(self.triggers, "marathon_tls_ca", "")}' } : {}),
            ...timing,
          },
        },
      ],
    });

    this.deployResource = new Resource(this, "deploy", {
      count,
      triggers: {
        app_id: this.appId,
        definition: this.shownDefinitionJson,
        definition_sha256: this.definitionSha256,
        // A new `app` (credentials changed: the app was deleted) must be followed by a new PUT.
        app_resource: `\${${this.appResource.terraformResourceType}.${this.appResource.friendlyUniqueId}[count.index].id}`,
      },
      dependsOn: [this.appResource],
      provisioners: [
        {
          type: "local-exec",
          interpreter,
          command: "put-app",
          environment: {
            MARATHON_URLS: urls,
            MARATHON_APP_ID: "${self.triggers.app_id}",
            MARATHON_APP_DEFINITION: hasTokens(this.definition) ? environmentSecret(this.definitionJson) : this.definitionJson,
            MARATHON_APP_DEFINITION_SHA256: "${self.triggers.definition_sha256}",
            ...credentialsEnvironment("MARATHON", creds),
            ...(tls ? { MARATHON_TLS_CA: tls.caCertPem } : {}),
            ...timing,
          },
        },
      ],
    });

    // The readiness gate may be created after this app: its dependency is added at synth.
    const explicit = props.dependsOn ?? [];
    Aspects.of(this).add({
      visit: (node) => {
        if (node !== this) return;
        const gate = ClusterReadinessGate.of(this.marathon);
        const cluster: ITerraformDependable[] = gate ? [gate.resource] : this.marathon.nodes.resources.instances;
        // depends_on names resources of this stack only; another stack's come first through the stack dependency.
        const local = [...cluster, ...explicit].filter((d) => {
          const other = d instanceof Construct ? TerraformStack.of(d) : stack;
          if (other !== stack) stack.addDependency(other);
          return other === stack;
        });
        this.appResource.dependsOn = uniqueFqns(local);
        if (!tls && this.marathon.tls && props.marathonUrls === undefined) {
          fail(this, "marathon", pathOf(this.marathon), `a Marathon whose MasterTlsProxy exists before this app (${pathOf(MasterTlsProxy.of(this.marathon.masters) ?? this.marathon)} came later: the app would deploy over plain http)`);
        }
        const pools = this.poolsOffering(MesosAgentPool.of(this.marathon.masters));
        this.checkHostPorts(pools);
        this.checkResources(pools);
        this.checkLoadBalancer(props.loadBalancer?.servicePort);
      },
    });
  }

  /**
   * The pools whose offers can run this app: Marathon gets offers of its
   * `mesosRole` and of `*` (mesosphere/marathon v1.8.244 MarathonConf.scala
   * `expectedResourceRoles`) and uses those the app accepts (its
   * `acceptedResourceRoles`, else `--default_accepted_resource_roles`, `*`).
   * An app accepting none of Marathon's roles would wait forever: refused.
   */
  private poolsOffering(pools: MesosAgentPool[]): MesosAgentPool[] {
    const marathonRoles = this.marathon.mesosRole === "*" ? ["*"] : [this.marathon.mesosRole, "*"];
    const accepted = this.definition.acceptedResourceRoles ?? ["*"];
    const usable = accepted.filter((r) => marathonRoles.includes(r));
    if (usable.length === 0) {
      fail(this, "acceptedResourceRoles", accepted, `roles ${pathOf(this.marathon)} gets offers for: ${marathonRoles.map((r) => `"${r}"`).join(", ")} (its mesosRole and "*"); the app would wait for an offer forever`);
    }
    const offering = pools.filter((p) => usable.includes(p.role));
    if (pools.length > 0 && offering.length === 0) warn(this, `no agent pool of ${pathOf(this.marathon.masters)} offers role ${usable.join(" or ")}: the app's tasks wait until one does`, "acceptedResourceRoles");
    return offering;
  }

  /**
   * With `loadBalancer`: a {@link MarathonLb} of this Marathon serves the
   * group (else a warning: the labels expose nothing), and the service port
   * lies within one such LB's service ports and is no other app's.
   */
  private checkLoadBalancer(servicePort: number | undefined): void {
    const group = this.definition.labels?.HAPROXY_GROUP;
    if (group === undefined) return;
    const lbs = MarathonLb.of(this.marathon).filter((lb) => lb.group === group);
    if (lbs.length === 0) {
      warn(this, `no MarathonLb of ${pathOf(this.marathon)} serves group "${group}": the app is not exposed`, "loadBalancer.group");
      return;
    }
    if (servicePort === undefined) return;
    if (!lbs.some((lb) => servicePort >= lb.servicePorts[0] && servicePort <= lb.servicePorts[1])) {
      fail(this, "loadBalancer.servicePort", servicePort, `a port within the service ports of the MarathonLb serving "${group}": ${lbs.map((lb) => `${lb.servicePorts[0]}-${lb.servicePorts[1]} (${pathOf(lb)})`).join(", ")}`);
    }
    const taken = SERVICE_PORTS.get(this.marathon) ?? new Map<number, string>();
    const other = taken.get(servicePort);
    if (other !== undefined && other !== pathOf(this)) fail(this, "loadBalancer.servicePort", servicePort, `a service port no other app uses (${other} has it: HAProxy binds each once)`);
    taken.set(servicePort, pathOf(this));
    SERVICE_PORTS.set(this.marathon, taken);
  }

  /**
   * Fixed host ports (a mapping's hostPort, or portDefinitions with
   * requirePorts) must be ports the agents offer their tasks: Mesos offers
   * only the task range, so any other port (the agent's own, the Docker
   * engine's, SSH) never comes in an offer and the deployment waits forever.
   */
  private checkHostPorts(pools: MesosAgentPool[]): void {
    if (pools.length === 0) return;
    const fixed: [string, unknown][] = [];
    (this.definition.container?.portMappings ?? []).forEach((m, i) => fixed.push([`container.portMappings[${i}].hostPort`, m.hostPort]));
    if (this.definition.requirePorts) (this.definition.portDefinitions ?? []).forEach((p, i) => fixed.push([`portDefinitions[${i}].port`, p.port]));
    const ranges = [...new Set(pools.map((p) => `${p.taskPorts.from}-${p.taskPorts.to}`))].join(", ");
    for (const [property, port] of fixed) {
      if (typeof port !== "number" || port === 0) continue;
      const offered = pools.some((p) => port >= p.taskPorts.from && port <= p.taskPorts.to);
      // What holds the port on the agents (the one port registry: MachineSet.claimPort), the task range aside.
      const holders = pools.map((p) => p.nodes.portOwner(port)).filter((w) => w !== undefined && !w.startsWith("the agents' task ports"));
      const what = holders[0];
      if (offered && !what) continue;
      fail(
        this,
        property,
        port,
        `0 (Mesos picks a free port) or a port the agents offer their tasks (${ranges}): ${port} is ${what ?? "not offered, so the app would wait for an offer forever"}`,
      );
    }
  }

  /** An app asking more than the largest agent can offer waits forever: said at synth (a warning, the table may not know every size). */
  private checkResources(pools: MesosAgentPool[]): void {
    if (pools.length === 0 || this.definition.instances === 0) return;
    if (pools.every((p) => p.count === 0)) {
      warn(this, `the agent pools of ${pathOf(this.marathon.masters)} have no machines: the app's tasks wait until agents join`);
      return;
    }
    const sizes = pools.filter((p) => p.count > 0).map((p) => p.nodes.target.describeVmSize?.(p.nodes.vmSize));
    if (sizes.some((s) => s === undefined)) return;
    // Mesos offers all CPUs, and the memory less 1 GiB for the system (half below 2 GiB).
    const offers = sizes.map((s) => ({ name: s!.name, cpus: s!.vcpus, mem: s!.memoryGib >= 2 ? (s!.memoryGib - 1) * 1024 : s!.memoryGib * 512 }));
    const { cpus, mem } = this.definition;
    if (typeof cpus !== "number" || typeof mem !== "number" || offers.some((o) => cpus <= o.cpus && mem <= o.mem)) return;
    const best = offers.map((o) => `${o.name}: ${o.cpus} CPUs, ${Math.floor(o.mem)} MiB`).join("; ");
    warn(
      this,
      `asks ${cpus} CPUs and ${mem} MiB per task, more than any agent offers (${best}; Mesos keeps 1 GiB of each agent for the system): Marathon will wait for an offer that never comes`,
      "mem",
    );
  }
}

/** marathon-lb service ports of the apps of each Marathon (app path by port). */
const SERVICE_PORTS = new WeakMap<MarathonService, Map<number, string>>();

/** App ids deployed through each Marathon, to refuse a second app with the same id (it would overwrite the first). */
const APP_IDS = new WeakMap<MarathonService, Map<string, string>>();

function claimAppId(app: MarathonApp, marathon: MarathonService, given: string): void {
  const ids = APP_IDS.get(marathon) ?? new Map<string, string>();
  for (const [id, path] of ids) {
    if (id === app.appId) {
      fail(app, "id", given, `an id no other MarathonApp of ${pathOf(marathon)} uses (${path} deploys ${id}: each deploy would overwrite the other's app, and destroying one deletes both)`);
    }
    if (id.startsWith(`${app.appId}/`) || app.appId.startsWith(`${id}/`)) {
      fail(app, "id", given, `an id that is neither a group holding another app nor inside one (${path} deploys ${id}; Marathon refuses an app id that is also a group)`);
    }
  }
  ids.set(app.appId, pathOf(app));
  APP_IDS.set(marathon, ids);
}

/** `depends_on` entries (plain addresses, as the constructor's `dependsOn` renders them), without repeats. */
function uniqueFqns(dependables: ITerraformDependable[]): string[] {
  return [...new Set(dependables)].map((d) => dependable(d));
}

/**
 * Fails synth when the definition, as sent (JSON), breaks the app schema of
 * the Marathon the stacks deploy (1.8.244): the first violation, with its JSON
 * pointer under `definition`, the value and the schema's rule. Typed props and
 * the renderer's own checks refuse most mistakes first; this catches what gets
 * past them (values of the wrong type from JavaScript or parsed configuration).
 * Skipped while the definition holds tokens: their values come at apply.
 */
function checkSchema(app: MarathonApp, definition: MarathonAppDefinition): void {
  if (hasTokens(definition) || hasTokens(keysOf(definition))) return;
  const [first] = validateJsonSchema(MARATHON_APP_SCHEMA, JSON.parse(JSON.stringify(definition)));
  if (first) fail(app, `definition${first.pointer}`, first.value, `${first.allowed} (Marathon 1.8's app schema)`);
}

/** Every object key in a rendered value (env names, labels), to look for tokens in them too. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]);
  return [];
}

/** Whether a rendered value holds a Terraform token anywhere. */
/** `sha256:<hex>` of an env value (Terraform computes it when the value is a token). */
function digestOf(value: string): string {
  return Token.isUnresolved(value) ? `sha256:${Fn.sha256(value)}` : `sha256:${createHash("sha256").update(value).digest("hex")}`;
}

function hasTokens(value: unknown): boolean {
  if (typeof value === "string" || typeof value === "number") return Token.isUnresolved(value);
  if (Array.isArray(value)) return value.some(hasTokens);
  if (value && typeof value === "object") return Object.values(value).some(hasTokens);
  return false;
}

