/**
 * `npm run endpoints -- <stack>`: where each Marathon app can be reached —
 * its instances (host:port of each task), its Mesos-DNS names and its
 * marathon-lb address — and the protocol pieces `npm run smoke`'s discovery
 * walk uses: a minimal DNS client (UDP, A and SRV), a Redis PING, the app's
 * endpoints from Marathon's app JSON.
 *
 * Node's built-in modules and the cluster client (plain JavaScript) only:
 * nothing here loads cdktf, so the command starts in well under a second.
 *
 * Upstream facts it relies on:
 * - Marathon (mesosphere/marathon v1.8.244): `GET /v2/apps?embed=apps.tasks`
 *   embeds each app's tasks (api/v2/InfoEmbedResolver.scala: prefixes
 *   `apps.`/`app.`, `tasks`); `GET /v2/apps/{id}` always does
 *   (api/v2/AppsResource.scala `show`: Embed.Tasks). A task is
 *   `{appId, host, id, ports, servicePorts, slaveId, state, ...}`
 *   (docs/docs/rest-api/public/api/v2/types/task.raml; raml/TaskConversion.scala:
 *   `host` is the agent's hostname, `ports` the task's host ports while it is
 *   active, else empty). Embedded tasks carry no service ports
 *   (core/appinfo/EnrichedTask.scala `singleFromInstance` passes Nil): those
 *   come from the app (`container.portMappings[].servicePort` on bridge and
 *   container networks, `portDefinitions[].port` on host networking).
 * - Mesos-DNS names: see {@link mesosDnsLabel} and {@link appDnsNames}.
 * - marathon-lb (mesosphere/marathon-lb v1.15.0): see {@link appEndpoints}.
 */
import { createSocket } from "dgram";
import { randomBytes } from "crypto";
import { isIP, Socket } from "net";
import { findMesosLeader } from "../../constructs/cluster-client/checks";
import { ClusterApiError, jsonOf, messageOf, refuseAuth, request } from "../../constructs/cluster-client/http";
import { appPath, marathonTimeoutMs, pickMarathon } from "../../constructs/cluster-client/marathon";
import { appDnsNames, type AppDnsNames, type MesosDnsNaming } from "../../constructs/internal";
import type { SmokeOptions, StackOutputs } from "./smoke";
import { readCommandLine } from "./command-line";

// ---------------------------------------------------------------------------------------------
// Mesos-DNS naming
// ---------------------------------------------------------------------------------------------

// One definition for the construct and the tools (constructs/core/mesos-dns-names.ts).
export { appDnsNames, type AppDnsNames, marathonTaskName, mesosDnsLabel, type MesosDnsNaming } from "../../constructs/internal";

// ---------------------------------------------------------------------------------------------
// An app's endpoints, from Marathon's app JSON
// ---------------------------------------------------------------------------------------------

/** One task of an app as Marathon reports it. */
export interface TaskEndpoint {
  readonly id: string;
  /** e.g. `TASK_RUNNING`, `TASK_STAGING`. */
  readonly state: string;
  /** The agent's hostname (the agents of this project register with their private IP). */
  readonly host: string;
  /** Host ports, one per app port, in the app's port order (empty while the task is not active). */
  readonly ports: number[];
}

/** One port of an app. */
export interface PortEndpoint {
  readonly index: number;
  readonly name?: string;
  /** `tcp`, `udp` (a `udp,tcp` mapping is both). */
  readonly protocols: string[];
  /** The container port (bridge and container networks). */
  readonly containerPort?: number;
  /** Marathon's service port (0 or absent: none). */
  readonly servicePort?: number;
  /** The port marathon-lb binds for it: `HAPROXY_{n}_PORT`, else the service port (marathon-lb config.py `set_port`). */
  readonly lbPort?: number;
  /** Its marathon-lb groups: `HAPROXY_{n}_GROUP`, else `HAPROXY_GROUP`, split on `,` (marathon_lb.py `get_apps`, config.py `set_group`). */
  readonly lbGroups: string[];
  /** `HAPROXY_{n}_ENABLED` (what `--strict-mode` requires to be true). */
  readonly lbEnabled?: boolean;
}

/** An app with its tasks, ports and names. */
export interface AppEndpoints {
  readonly id: string;
  readonly instances: number;
  readonly image?: string;
  /** `host`, `container/bridge` or `container`. */
  readonly networkMode: string;
  readonly tasks: TaskEndpoint[];
  readonly ports: PortEndpoint[];
  readonly dns: AppDnsNames;
}

/** marathon-lb as a stack runs it. */
export interface LoadBalancerTarget {
  /** The group it serves (`--group`). */
  readonly group: string;
  /** Where it listens: the edge agents (empty when not known). */
  readonly hosts: string[];
  /** Service ports it may bind (the LB's reserved range). */
  readonly servicePorts: [number, number];
  /** Where the hosts came from, for messages. */
  readonly hostsSource: string;
}

/**
 * An app's endpoints from Marathon's app JSON (with embedded tasks).
 * Ports: `container.portMappings` (also the pre-1.5 `container.docker.portMappings`)
 * on bridge and container networks, `portDefinitions` on host networking, as
 * marathon-lb reads them (mesosphere/marathon-lb v1.15.0 utils.py
 * `get_app_networking_mode`, `get_app_port_mappings`, `get_service_ports`).
 */
export function appEndpoints(app: any, naming: MesosDnsNaming = {}): AppEndpoints {
  const id = String(app?.id ?? "");
  const networkMode = String(app?.networks?.[0]?.mode ?? (app?.container?.docker?.network === "BRIDGE" ? "container/bridge" : "host"));
  const labels: Record<string, string> = app?.labels && typeof app.labels === "object" ? app.labels : {};
  const mappings: any[] = app?.container?.portMappings?.length ? app.container.portMappings : (app?.container?.docker?.portMappings ?? []);
  const raw: { name?: string; protocol?: string; containerPort?: number; servicePort?: number }[] =
    networkMode === "host"
      ? (app?.portDefinitions ?? []).map((p: any) => ({ name: p.name, protocol: p.protocol, servicePort: p.port }))
      : mappings.map((m: any) => ({ name: m.name, protocol: m.protocol, containerPort: m.containerPort, servicePort: m.servicePort }));
  const ports: PortEndpoint[] = raw.map((p, index) => {
    const groups = labels[`HAPROXY_${index}_GROUP`] ?? labels.HAPROXY_GROUP;
    const bind = labels[`HAPROXY_${index}_PORT`];
    const enabled = labels[`HAPROXY_${index}_ENABLED`];
    const servicePort = typeof p.servicePort === "number" && p.servicePort > 0 ? p.servicePort : undefined;
    return {
      index,
      ...(p.name ? { name: p.name } : {}),
      protocols: String(p.protocol ?? "tcp").split(","),
      ...(typeof p.containerPort === "number" ? { containerPort: p.containerPort } : {}),
      ...(servicePort !== undefined ? { servicePort } : {}),
      ...(bind !== undefined && /^\d+$/.test(bind) ? { lbPort: Number(bind) } : servicePort !== undefined ? { lbPort: servicePort } : {}),
      lbGroups: groups === undefined ? [] : groups.split(",").filter(Boolean),
      ...(enabled !== undefined ? { lbEnabled: /^(true|yes|1)$/i.test(enabled.trim()) } : {}),
    };
  });
  const tasks: TaskEndpoint[] = (Array.isArray(app?.tasks) ? app.tasks : []).map((t: any) => ({
    id: String(t.id ?? ""),
    state: String(t.state ?? ""),
    host: String(t.host ?? ""),
    ports: Array.isArray(t.ports) ? t.ports.map(Number) : [],
  }));
  return {
    id,
    instances: Number(app?.instances ?? 0),
    ...(app?.container?.docker?.image ? { image: String(app.container.docker.image) } : {}),
    networkMode,
    tasks,
    ports,
    dns: appDnsNames(id, naming),
  };
}

/**
 * Whether marathon-lb serves a port, and why not: marathon-lb configures a
 * port when the LB's group is `*` or is one of the port's groups
 * (marathon_lb.py `has_group`; an app without a group only under `*`), the
 * port has a service port (`get_service_ports`: None is skipped), and,
 * under `--strict-mode`, `HAPROXY_{n}_ENABLED` is true (`MarathonService.enabled`).
 */
export function lbServes(port: PortEndpoint, lb: { group: string; strictMode?: boolean }): { served: boolean; why: string } {
  const group = lb.group;
  if (group !== "*" && !port.lbGroups.includes(group)) {
    const has = port.lbGroups.length ? `its groups are ${port.lbGroups.join(",")}` : "HAPROXY_GROUP is unset";
    return { served: false, why: `not served: ${has}, marathon-lb serves group ${group}` };
  }
  if (port.lbPort === undefined) return { served: false, why: "not served: the port has no service port" };
  if (lb.strictMode && port.lbEnabled !== true) return { served: false, why: `not served: marathon-lb runs --strict-mode and HAPROXY_${port.index}_ENABLED is not true` };
  if (port.lbEnabled === false) return { served: false, why: `not served: HAPROXY_${port.index}_ENABLED is false` };
  return { served: true, why: `group ${port.lbGroups.length ? port.lbGroups.join(",") : "*"}` };
}

/** The table of one app: one row per instance, Mesos-DNS name and marathon-lb address. */
export function renderAppEndpoints(app: AppEndpoints, discovery: DiscoveryTarget | undefined): string[] {
  const running = app.tasks.filter((t) => t.state === "TASK_RUNNING").length;
  const rows: string[][] = [["what", "endpoint", "detail"]];
  for (const t of app.tasks) {
    const address = t.ports.length ? t.ports.map((p) => `${t.host}:${p}`).join(", ") : t.host;
    rows.push(["instance", address || "-", `${t.state} ${t.id}`]);
  }
  if (app.tasks.length === 0) rows.push(["instance", "-", "no task"]);
  if (discovery) {
    rows.push(["dns A", app.dns.hostname, "the agent of each running task"]);
    const protocols = [...new Set(app.ports.flatMap((p) => p.protocols))];
    for (const protocol of protocols) rows.push(["dns SRV", app.dns.srv(protocol), `each task's host port (${protocol})`]);
    for (const p of app.ports) {
      if (p.name) for (const protocol of p.protocols) rows.push(["dns SRV", app.dns.namedSrv(p.name, protocol), `port ${p.index} "${p.name}"`]);
    }
    for (const p of app.ports) {
      const what = `port ${p.index}${p.containerPort !== undefined ? ` (container ${p.containerPort})` : ""}`;
      if (!discovery.lb) {
        rows.push(["marathon-lb", "-", `${what}: the stack runs no marathon-lb`]);
        continue;
      }
      const { served, why } = lbServes(p, discovery.lb);
      const host = discovery.lb.hosts[0] ?? "<edge agent>";
      const inRange = p.lbPort !== undefined && p.lbPort >= discovery.lb.servicePorts[0] && p.lbPort <= discovery.lb.servicePorts[1];
      const range = served && !inRange ? `; outside the LB's service ports ${discovery.lb.servicePorts.join("-")}, so closed in the firewall` : "";
      rows.push(["marathon-lb", served ? `${host}:${p.lbPort}` : "-", `${what}: ${served ? `service port ${p.lbPort}, ${why}` : why}${range}`]);
    }
  } else {
    rows.push(["dns", "-", "the stack runs no Mesos-DNS (discovery off)"]);
  }
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c].length)));
  const header = `${app.id}: ${running} of ${app.instances} instance${app.instances === 1 ? "" : "s"} running${app.image ? ` (${app.image}, ${app.networkMode})` : ` (${app.networkMode})`}`;
  return [header, ...rows.map((r) => `  ${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`.trimEnd())];
}

// ---------------------------------------------------------------------------------------------
// Marathon
// ---------------------------------------------------------------------------------------------

/** Marathon instances as the cluster client takes them (constructs/cluster-client/marathon.js `MarathonTarget`). */
export interface MarathonTarget {
  readonly servers: string[][];
  readonly credentials?: { username: string; password: string };
  readonly tls?: { ca: string };
  readonly requestTimeoutMs?: number;
}

/**
 * Apps with their tasks: all (`GET /v2/apps?embed=apps.tasks`) or one
 * (`GET /v2/apps/{id}`, tasks embedded; none when it does not exist), and
 * the framework name Mesos-DNS names them under (`/v2/info`
 * `marathon_config.framework_name`, api/v2/InfoResource.scala).
 */
export async function fetchApps(target: MarathonTarget, appId?: string): Promise<{ base: string; framework: string; apps: any[] }> {
  const { base, info } = await pickMarathon(target as Parameters<typeof pickMarathon>[0]);
  const framework = typeof info?.marathon_config?.framework_name === "string" ? info.marathon_config.framework_name : "marathon";
  const url = appId === undefined ? `${base}/v2/apps?embed=apps.tasks` : base + appPath(appId);
  const response = await request(url, { credentials: target.credentials, tls: target.tls, timeoutMs: marathonTimeoutMs(target.requestTimeoutMs) });
  refuseAuth(response, "Marathon", target.credentials);
  if (appId !== undefined && response.status === 404) return { base, framework, apps: [] };
  if (response.status !== 200) throw new ClusterApiError(`GET ${url} answered HTTP ${response.status}: ${messageOf(response)}`, "status", response.status);
  const body = jsonOf(response);
  const apps = appId === undefined ? body.apps : [body.app];
  if (!Array.isArray(apps)) throw new ClusterApiError(`GET ${url} did not answer apps`, "protocol");
  return { base, framework, apps };
}

// ---------------------------------------------------------------------------------------------
// Discovery: Mesos-DNS servers and marathon-lb, from flags or the stack's outputs
// ---------------------------------------------------------------------------------------------

/** A DNS server. */
export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

/** Where the stack's Mesos-DNS and marathon-lb are. */
export interface DiscoveryTarget {
  /** Mesos-DNS's domain. */
  readonly domain: string;
  readonly dnsServers: DnsServer[];
  /** `--dns` or the `discovery` output. */
  readonly dnsSource: "flags" | "outputs";
  /** marathon-lb, when the stack runs it (`discovery: "dns+lb"`). */
  readonly lb?: LoadBalancerTarget;
}

/** The flags that name discovery endpoints. */
export interface DiscoveryFlags {
  /** `--dns HOST[:PORT],...` */
  readonly dns?: string;
  /** `--lb HOST,...` */
  readonly lb?: string;
  /** `--domain NAME` */
  readonly domain?: string;
  /** `--lb-group NAME` */
  readonly lbGroup?: string;
}

/** The defaults of constructs/marathon-lb.ts (group "external", service ports 10000-10100). */
const LB_DEFAULTS = { group: "external", servicePorts: [10000, 10100] as [number, number] };

/** `host`, `host:port`, `[v6]:port` -> a DNS server (port 53 unless given). */
export function parseDnsServer(text: string): DnsServer {
  const t = text.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) return { host: v6[1], port: v6[2] ? Number(v6[2]) : 53 };
  if (isIP(t) === 6) return { host: t, port: 53 };
  const colon = t.lastIndexOf(":");
  if (colon > 0 && /^\d+$/.test(t.slice(colon + 1))) return { host: t.slice(0, colon), port: Number(t.slice(colon + 1)) };
  return { host: t, port: 53 };
}

function list(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string" && v.trim() !== "").map((v) => v.trim());
  if (typeof value === "string") return value.split(",").map((v) => v.trim()).filter(Boolean);
  return undefined;
}

/**
 * Discovery from `--dns`/`--lb` and the stack's `discovery` output
 * (`{domain, dns_servers, marathon_lb_hosts?, marathon_lb_group?,
 * marathon_lb_service_ports?}`; marathon-lb runs when the output has
 * `marathon_lb_hosts`, even empty: the edge agents are a pool whose
 * addresses Terraform does not know, then found in Mesos). Undefined: no
 * discovery (the stack's `discovery: "off"`, or flags without `--dns`).
 */
export function discoveryTarget(outputs: Record<string, unknown> | undefined, flags: DiscoveryFlags): DiscoveryTarget | undefined {
  const d = outputs?.discovery && typeof outputs.discovery === "object" && !Array.isArray(outputs.discovery) ? (outputs.discovery as Record<string, unknown>) : undefined;
  const dnsFlag = list(flags.dns);
  const dnsOutput = list(d?.dns_servers);
  const servers = dnsFlag ?? dnsOutput;
  if (!servers || servers.length === 0) return undefined;
  const domain = flags.domain ?? (typeof d?.domain === "string" ? d.domain : "mesos");
  const lbFlag = list(flags.lb);
  const lbOutput = list(d?.marathon_lb_hosts);
  const lbOn = lbFlag !== undefined || lbOutput !== undefined || (typeof d?.mode === "string" && d.mode.includes("lb"));
  const range = Array.isArray(d?.marathon_lb_service_ports) && d.marathon_lb_service_ports.length === 2 ? (d.marathon_lb_service_ports.map(Number) as [number, number]) : LB_DEFAULTS.servicePorts;
  const lb: LoadBalancerTarget | undefined = lbOn
    ? {
        group: flags.lbGroup ?? (typeof d?.marathon_lb_group === "string" ? d.marathon_lb_group : LB_DEFAULTS.group),
        hosts: lbFlag ?? lbOutput ?? [],
        servicePorts: range,
        hostsSource: lbFlag ? "--lb" : lbOutput?.length ? "the discovery output" : "",
      }
    : undefined;
  return { domain, dnsServers: servers.map(parseDnsServer), dnsSource: dnsFlag ? "flags" : "outputs", ...(lb ? { lb } : {}) };
}

/**
 * The edge agents from the leading master's /master/state: marathon-lb runs
 * on the agents whose resources are reserved to `slave_public` (their
 * `--default_role`); Mesos lists an agent's reservations by role in
 * `reserved_resources` (apache/mesos 1.7.1 src/master/http.cpp `SlaveWriter`).
 */
export function edgeAgents(state: any): string[] {
  const slaves: any[] = Array.isArray(state?.slaves) ? state.slaves : [];
  return slaves.filter((s) => s?.active !== false && s?.reserved_resources && typeof s.reserved_resources === "object" && "slave_public" in s.reserved_resources).map((s) => String(s.hostname));
}

// ---------------------------------------------------------------------------------------------
// A minimal DNS client (RFC 1035 over UDP; SRV per RFC 2782)
// ---------------------------------------------------------------------------------------------

/** Record types this client names. */
export const DNS_TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, AAAA: 28, SRV: 33 } as const;
const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DNS_TYPES).map(([k, v]) => [v, k]));
/** RFC 1035 4.1.1 RCODEs (3 is NXDOMAIN). */
const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export interface DnsRecord {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  /** A/AAAA: `address`; SRV: `priority`, `weight`, `port`, `target`; NS/CNAME: `target`; SOA: `mname`, `rname`, `serial`; else `hex`. */
  readonly data: { address?: string; priority?: number; weight?: number; port?: number; target?: string; mname?: string; rname?: string; serial?: number; hex?: string };
}

export interface DnsMessage {
  readonly id: number;
  readonly response: boolean;
  readonly opcode: number;
  readonly authoritative: boolean;
  readonly truncated: boolean;
  readonly recursionDesired: boolean;
  readonly recursionAvailable: boolean;
  readonly rcode: number;
  readonly questions: DnsQuestion[];
  readonly answers: DnsRecord[];
  readonly authorities: DnsRecord[];
  readonly additionals: DnsRecord[];
}

/** A message this client cannot read. */
export class DnsFormatError extends Error {}

/** The name of an RCODE, e.g. 3 -> NXDOMAIN. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE ${rcode}`;
}

/** The name of a record type, e.g. 33 -> SRV. */
export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

/** A name in wire format (RFC 1035 3.1): length-prefixed labels of at most 63 octets, a zero octet, 255 octets in all. */
function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, "").split(".").filter((l) => l.length > 0);
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, "ascii");
    if (bytes.length > 63) throw new DnsFormatError(`label ${JSON.stringify(label)} is longer than 63 octets`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const wire = Buffer.concat(parts);
  if (wire.length > 255) throw new DnsFormatError(`name ${name} is longer than 255 octets`);
  return wire;
}

/**
 * A standard query (RFC 1035 4.1): header with the id, opcode QUERY, RD set
 * (as dig and the stub resolvers send it; Mesos-DNS answers its own domain
 * authoritatively either way), one question of class IN.
 */
export function encodeDnsQuery(id: number, name: string, type: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2); // IN
  return Buffer.concat([header, encodeName(name), tail]);
}

/** Reads a possibly compressed name (RFC 1035 4.1.4) at `offset`: the name and the offset after it. */
function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let position = offset;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (position >= buf.length) throw new DnsFormatError(`name at offset ${offset} runs past the end of the message`);
    const len = buf[position];
    if ((len & 0xc0) === 0xc0) {
      if (position + 1 >= buf.length) throw new DnsFormatError(`compression pointer at offset ${position} is cut off`);
      const target = ((len & 0x3f) << 8) | buf[position + 1];
      if (next < 0) next = position + 2;
      // A pointer must go back; more jumps than the message has octets is a loop.
      if (target >= position || ++jumps > 127) throw new DnsFormatError(`compression pointer at offset ${position} loops (to ${target})`);
      position = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError(`label type 0x${(len & 0xc0).toString(16)} at offset ${position} is not supported`);
    if (len === 0) {
      if (next < 0) next = position + 1;
      break;
    }
    if (position + 1 + len > buf.length) throw new DnsFormatError(`label at offset ${position} runs past the end of the message`);
    labels.push(buf.toString("latin1", position + 1, position + 1 + len));
    length += len + 1;
    if (length > 255) throw new DnsFormatError(`name at offset ${offset} is longer than 255 octets`);
    position += 1 + len;
  }
  return { name: labels.join("."), next };
}

function readRecord(buf: Buffer, offset: number): { record: DnsRecord; next: number } {
  const { name, next: afterName } = readName(buf, offset);
  if (afterName + 10 > buf.length) throw new DnsFormatError(`record ${name} at offset ${offset} is cut off`);
  const type = buf.readUInt16BE(afterName);
  const klass = buf.readUInt16BE(afterName + 2);
  const ttl = buf.readUInt32BE(afterName + 4);
  const rdlength = buf.readUInt16BE(afterName + 8);
  const start = afterName + 10;
  const end = start + rdlength;
  if (end > buf.length) throw new DnsFormatError(`data of record ${name} (${typeName(type)}) runs past the end of the message`);
  const need = (n: number) => {
    if (rdlength < n) throw new DnsFormatError(`${typeName(type)} record ${name} has ${rdlength} octets of data, needs ${n}`);
  };
  let data: DnsRecord["data"];
  if (type === DNS_TYPES.A) {
    if (rdlength !== 4) throw new DnsFormatError(`A record ${name} has ${rdlength} octets of data, not 4`);
    data = { address: [...buf.subarray(start, end)].join(".") };
  } else if (type === DNS_TYPES.AAAA) {
    if (rdlength !== 16) throw new DnsFormatError(`AAAA record ${name} has ${rdlength} octets of data, not 16`);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(start + i).toString(16));
    data = { address: groups.join(":") };
  } else if (type === DNS_TYPES.SRV) {
    need(7);
    // RFC 2782: priority, weight, port, then the target (compressed by Mesos-DNS's miekg/dns).
    data = { priority: buf.readUInt16BE(start), weight: buf.readUInt16BE(start + 2), port: buf.readUInt16BE(start + 4), target: readName(buf, start + 6).name };
  } else if (type === DNS_TYPES.NS || type === DNS_TYPES.CNAME) {
    data = { target: readName(buf, start).name };
  } else if (type === DNS_TYPES.SOA) {
    const mname = readName(buf, start);
    const rname = readName(buf, mname.next);
    if (rname.next + 20 > end) throw new DnsFormatError(`SOA record ${name} is cut off`);
    data = { mname: mname.name, rname: rname.name, serial: buf.readUInt32BE(rname.next) };
  } else {
    data = { hex: buf.subarray(start, end).toString("hex") };
  }
  return { record: { name, type, class: klass, ttl, data }, next: end };
}

/** Parses a DNS message (RFC 1035 4.1), or throws a DnsFormatError naming what is wrong. */
export function decodeDnsMessage(buf: Buffer): DnsMessage {
  if (buf.length < 12) throw new DnsFormatError(`a DNS message has a 12-octet header; this one has ${buf.length} octets`);
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  let offset = 12;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const { name, next } = readName(buf, offset);
    if (next + 4 > buf.length) throw new DnsFormatError(`question ${name} is cut off`);
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    offset = next + 4;
  }
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) {
      const { record, next } = readRecord(buf, offset);
      sections[s].push(record);
      offset = next;
    }
  }
  return {
    id: buf.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: flags & 0x0f,
    questions,
    answers: sections[0],
    authorities: sections[1],
    additionals: sections[2],
  };
}

/** No answer from a DNS server within the timeout (a firewall drops it, or nothing listens). */
export class DnsNoAnswer extends Error {}

/**
 * Asks one server over UDP and returns its answer to this query (same id,
 * same question; anything else arriving on the socket is ignored), or
 * rejects with DnsNoAnswer after `timeoutMs`.
 */
export function queryDns(server: DnsServer, name: string, type: number, timeoutMs: number): Promise<DnsMessage> {
  const id = randomBytes(2).readUInt16BE(0);
  const query = encodeDnsQuery(id, name, type);
  const socket = createSocket(isIP(server.host) === 6 ? "udp6" : "udp4");
  return new Promise<DnsMessage>((resolve, reject) => {
    const done = (settle: () => void) => {
      clearTimeout(timer);
      socket.close();
      settle();
    };
    const timer = setTimeout(() => done(() => reject(new DnsNoAnswer(`${server.host}:${server.port}: no answer to ${typeName(type)} ${name} within ${timeoutMs} ms`))), timeoutMs);
    socket.on("message", (packet) => {
      let message: DnsMessage;
      try {
        message = decodeDnsMessage(packet);
      } catch (e) {
        done(() => reject(new DnsFormatError(`${server.host}:${server.port} answered ${typeName(type)} ${name} with a message that is not DNS: ${(e as Error).message}`)));
        return;
      }
      const question = message.questions[0];
      if (message.id !== id || !message.response || !question || question.name.toLowerCase() !== name.replace(/\.$/, "").toLowerCase()) return;
      done(() => resolve(message));
    });
    socket.on("error", (e) => done(() => reject(new DnsNoAnswer(`${server.host}:${server.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`))));
    socket.send(query, server.port, server.host);
  });
}

/** One SRV answer with the address of its target (from the additional section, else an A query). */
export interface SrvEndpoint {
  readonly target: string;
  readonly port: number;
  readonly address?: string;
}

/**
 * Resolves an SRV name at one server: the answers' targets and ports, each
 * target's address from the additional section (Mesos-DNS adds the A record
 * of every target there, resolver/resolver.go `handleSRV`) or else by an A
 * query. `rcode` and `message` tell why there is none: Mesos-DNS answers an
 * SRV name it has no record of with NOERROR and no answer
 * (`handleEmpty`), an A name with NXDOMAIN.
 */
export async function resolveSrv(server: DnsServer, name: string, timeoutMs: number): Promise<{ rcode: number; truncated: boolean; endpoints: SrvEndpoint[] }> {
  const message = await queryDns(server, name, DNS_TYPES.SRV, timeoutMs);
  const endpoints: SrvEndpoint[] = [];
  for (const answer of message.answers.filter((a) => a.type === DNS_TYPES.SRV)) {
    const target = answer.data.target ?? "";
    let address = message.additionals.find((a) => a.type === DNS_TYPES.A && a.name.toLowerCase() === target.toLowerCase())?.data.address;
    if (!address && target) {
      const a = await queryDns(server, target, DNS_TYPES.A, timeoutMs);
      address = a.answers.find((r) => r.type === DNS_TYPES.A)?.data.address;
    }
    endpoints.push({ target, port: answer.data.port ?? 0, ...(address ? { address } : {}) });
  }
  return { rcode: message.rcode, truncated: message.truncated, endpoints };
}

// ---------------------------------------------------------------------------------------------
// Redis PING
// ---------------------------------------------------------------------------------------------

/**
 * PING as a RESP array of one bulk string (clients send commands as arrays of
 * bulk strings: redis/redis-doc docs/reference/protocol-spec.md); Redis
 * answers the simple string `+PONG` (redis/redis src/server.c
 * `createSharedObjects`: `shared.pong`, sent by `pingCommand`).
 */
export const REDIS_PING = "*1\r\n$4\r\nPING\r\n";

/** What a PING got: `pong`, another `reply`, or no conversation (`refused`, `unreachable`, `closed`, `error`). */
export interface PingResult {
  readonly ok: boolean;
  readonly kind: "pong" | "reply" | "refused" | "unreachable" | "closed" | "error";
  /** The reply line, or what went wrong. */
  readonly detail: string;
}

/** Sends PING to `host:port` and reads the first reply line. */
export function redisPing(host: string, port: number, timeoutMs: number): Promise<PingResult> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let buffer = "";
    let settled = false;
    const settle = (result: PingResult) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => settle({ ok: false, kind: "unreachable", detail: `no answer within ${timeoutMs} ms` }));
    socket.on("connect", () => socket.write(REDIS_PING));
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("latin1");
      const end = buffer.indexOf("\r\n");
      if (end < 0) return;
      const line = buffer.slice(0, end);
      settle(line === "+PONG" ? { ok: true, kind: "pong", detail: "+PONG" } : { ok: false, kind: "reply", detail: line });
    });
    socket.on("end", () => settle({ ok: false, kind: "closed", detail: buffer ? `the connection closed after ${JSON.stringify(buffer)}` : "the connection closed without a reply" }));
    socket.on("close", () => settle({ ok: false, kind: "closed", detail: "the connection closed without a reply" }));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      const code = e.code ?? e.message;
      const kind = code === "ECONNREFUSED" ? "refused" : code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "ETIMEDOUT" ? "unreachable" : "error";
      settle({ ok: false, kind, detail: code === "ECONNREFUSED" ? "connection refused" : code });
    });
    socket.connect(port, host);
  });
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

export const ENDPOINTS_USAGE = `usage: npm run endpoints -- <stack> [options]

Lists each Marathon app: its instances (host:port of every task), its
Mesos-DNS names (<app>.marathon.mesos, SRV _<app>._tcp.marathon.mesos; an app
/grp/redis is redis-grp) and its marathon-lb address (an edge agent and the
app's service port) when the stack runs marathon-lb.

Where the cluster is (default: the stack's Terraform outputs, as npm run smoke):
  --outputs FILE          outputs as JSON (terraform output -json, or cdktf output --outputs-file)
  --synth-dir DIR         cdktf's output folder (default cdktf.out)
  --terraform PATH|none   terraform binary used to read outputs from state (default terraform)
  --via both|private|public   master addresses to try (default both)
  --marathon URL,...      Marathon instances (https://host:8443 behind the masters' TLS proxy)
  --mesos URL,...         Mesos masters (to find the edge agents when the outputs do not name them)
  --tls-ca FILE           CA of https URLs (default: output tls_ca_pem)
  --dns HOST[:PORT],...   Mesos-DNS servers (default: output discovery.dns_servers)
  --domain NAME           Mesos-DNS's domain (default: output discovery.domain, else mesos)
  --lb HOST,...           marathon-lb hosts (default: output discovery.marathon_lb_hosts, else the
                          agents with the slave_public role)
  --lb-group NAME         the group marathon-lb serves (default: the outputs', else external)
Credentials (when the cluster's HTTP authentication is on):
  --marathon-user NAME    password from MARATHON_PASSWORD (default: outputs marathon_username/_password)
  --mesos-user NAME       password from MESOS_PASSWORD (default: outputs mesos_username/_password)
Other:
  --app ID                only this app
  --request-timeout S     seconds per request (default 5)

Exit status: 0 listed, 1 Marathon could not be read, 2 misuse (a missing outputs file included).`;

/** Misuse of `npm run endpoints`. */
export class EndpointsUsageError extends Error {}

const ENDPOINTS_VALUE_FLAGS = new Set([
  "--outputs", "--synth-dir", "--terraform", "--via", "--marathon", "--mesos", "--tls-ca", "--dns", "--domain", "--lb", "--lb-group",
  "--marathon-user", "--mesos-user", "--app", "--request-timeout",
]);

export interface EndpointsOptions {
  readonly stack: string;
  readonly values: ReadonlyMap<string, string>;
  readonly app?: string;
  readonly requestTimeoutMs: number;
  readonly help: boolean;
}

/** Reads the command line. */
export function parseEndpointsArgs(argv: string[]): EndpointsOptions {
  const { values, switches, stack } = readCommandLine(argv, {
    values: ENDPOINTS_VALUE_FLAGS,
    switches: ["--help"],
    alone: ["--help"],
    example: "ha",
    misuse: (m) => new EndpointsUsageError(m),
  });
  if (switches.has("--help")) return { stack: "", values, requestTimeoutMs: 5000, help: true };
  const timeout = Number(values.get("--request-timeout") ?? 5);
  if (!Number.isFinite(timeout) || timeout < 0.05) throw new EndpointsUsageError(`--request-timeout must be a number >= 0.05, not ${JSON.stringify(values.get("--request-timeout"))}`);
  const via = values.get("--via") ?? "both";
  if (!["both", "private", "public"].includes(via)) throw new EndpointsUsageError(`--via must be both, private or public, not ${JSON.stringify(via)}`);
  return { stack, values, app: values.get("--app"), requestTimeoutMs: timeout * 1000, help: false };
}

type Out = (line: string) => void;

/**
 * The smoke options that make `resolveEndpoints` (scripts/lib/smoke.ts) find
 * Marathon, and Mesos when `withMesos`, from these flags and the outputs.
 */
function smokeOptionsFor(options: EndpointsOptions, env: NodeJS.ProcessEnv, withMesos: boolean): SmokeOptions {
  const v = options.values;
  const skip = ["zookeeper", "mesos-health", "mesos-agents", "marathon-leader", "swarm", "runtime", "test-app", "discovery", ...(withMesos ? [] : ["mesos-leader"])];
  return {
    stack: options.stack,
    outputsFile: v.get("--outputs"),
    synthDir: v.get("--synth-dir") ?? "cdktf.out",
    terraform: v.get("--terraform") ?? "terraform",
    via: (v.get("--via") ?? "both") as SmokeOptions["via"],
    mesos: v.get("--mesos"),
    marathon: v.get("--marathon"),
    tlsCa: v.get("--tls-ca"),
    marathonUser: v.get("--marathon-user"),
    marathonPassword: env.MARATHON_PASSWORD,
    mesosUser: v.get("--mesos-user"),
    mesosPassword: env.MESOS_PASSWORD,
    skip,
    deployTestApp: false,
    testAppImage: "",
    retries: 0,
    retryIntervalMs: 0,
    requestTimeoutMs: options.requestTimeoutMs,
    deployTimeoutMs: 0,
    discoveryTimeoutMs: 0,
  };
}

/**
 * The edge agents marathon-lb runs on, from the leading master, when neither
 * `--lb` nor the outputs name them; undefined with the reason when Mesos
 * cannot tell.
 */
export async function findEdgeAgents(mesos: string[][], credentials: { username: string; password: string } | undefined, tls: { ca: string } | undefined, timeoutMs: number): Promise<{ hosts?: string[]; problem?: string }> {
  const leader = await findMesosLeader(mesos, credentials, timeoutMs, tls).catch((e: Error) => ({ ok: false, summary: e.message, state: undefined }));
  if (!leader.ok || !leader.state) return { problem: `the Mesos leader could not be read (${leader.summary})` };
  const hosts = edgeAgents(leader.state);
  return hosts.length ? { hosts } : { problem: "no agent has the slave_public role" };
}

/** The whole command: 0 listed, 1 Marathon could not be read, 2 misuse. */
export async function endpointsMain(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out, cwd = process.cwd()): Promise<number> {
  const smoke = await import("./smoke");
  let options: EndpointsOptions;
  let outputs: StackOutputs | undefined;
  let discovery: DiscoveryTarget | undefined;
  let target: MarathonTarget;
  let mesos: { servers: string[][]; credentials?: { username: string; password: string }; tls?: { ca: string } } | undefined;
  let source: string;
  try {
    options = parseEndpointsArgs(argv);
    if (options.help) {
      out(ENDPOINTS_USAGE);
      return 0;
    }
    const v = options.values;
    // The outputs are read once, at the start, and fail fast (no file, never deployed) before any request.
    const smokeOptions = smokeOptionsFor(options, env, false);
    if (v.has("--outputs") || !v.has("--marathon")) outputs = smoke.loadOutputs(smokeOptions, cwd);
    const load = () => {
      if (!outputs) outputs = smoke.loadOutputs(smokeOptions, cwd);
      return outputs;
    };
    discovery = discoveryTarget(outputs?.values, { dns: v.get("--dns"), lb: v.get("--lb"), domain: v.get("--domain"), lbGroup: v.get("--lb-group") });
    const needMesos = discovery?.lb !== undefined && discovery.lb.hosts.length === 0 && (v.has("--mesos") || outputs?.values.mesos_urls !== undefined);
    const resolved = smoke.resolveEndpoints(smokeOptionsFor(options, env, needMesos), load);
    source = resolved.source;
    target = { servers: resolved.endpoints.marathon, credentials: resolved.endpoints.marathonCredentials, tls: resolved.endpoints.marathonTls, requestTimeoutMs: options.requestTimeoutMs };
    if (needMesos) mesos = { servers: resolved.endpoints.mesos, credentials: resolved.endpoints.mesosCredentials, tls: resolved.endpoints.mesosTls };
  } catch (e) {
    if (!(e instanceof EndpointsUsageError) && !(e instanceof smoke.SmokeUsageError)) throw e;
    err(`endpoints: ${e.message}`);
    err(ENDPOINTS_USAGE);
    return 2;
  }
  let apps: { base: string; framework: string; apps: any[] };
  try {
    apps = await fetchApps(target, options.app);
  } catch (e) {
    err(`endpoints: Marathon could not be read: ${(e as Error).message}`);
    return 1;
  }
  if (discovery?.lb && discovery.lb.hosts.length === 0) {
    const found = mesos ? await findEdgeAgents(mesos.servers, mesos.credentials, mesos.tls, options.requestTimeoutMs) : { problem: "no Mesos URL to ask" };
    discovery = { ...discovery, lb: { ...discovery.lb, hosts: found.hosts ?? [], hostsSource: found.hosts ? "the agents with the slave_public role" : `unknown: ${found.problem}` } };
  }
  out(`endpoints: stack ${options.stack}; Marathon ${apps.base} (framework ${apps.framework}); endpoints from ${source}`);
  out(describeDiscovery(discovery));
  const naming: MesosDnsNaming = { domain: discovery?.domain, framework: apps.framework };
  if (apps.apps.length === 0) out(options.app ? `no app ${options.app} in Marathon` : "no app in Marathon");
  for (const app of apps.apps.map((a) => appEndpoints(a, naming)).sort((a, b) => a.id.localeCompare(b.id))) {
    out("");
    for (const line of renderAppEndpoints(app, discovery)) out(line);
  }
  return 0;
}

/** One line on the stack's Mesos-DNS and marathon-lb. */
export function describeDiscovery(discovery: DiscoveryTarget | undefined): string {
  if (!discovery) return "discovery: off (no Mesos-DNS, no marathon-lb; the stack's discovery knob, or --dns)";
  const servers = discovery.dnsServers.map((s) => `${s.host}:${s.port}`).join(", ");
  const lb = discovery.lb
    ? `marathon-lb group ${discovery.lb.group} on ${discovery.lb.hosts.length ? discovery.lb.hosts.join(", ") : "the edge agents"} (service ports ${discovery.lb.servicePorts.join("-")}${discovery.lb.hostsSource ? `; hosts from ${discovery.lb.hostsSource}` : ""})`
    : "no marathon-lb";
  return `discovery: Mesos-DNS domain ${discovery.domain} at ${servers}; ${lb}`;
}
