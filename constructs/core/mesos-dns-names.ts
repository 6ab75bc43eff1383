/**
 * The names Mesos-DNS gives a Marathon app's tasks: one place for the
 * MesosDns construct (`appHostname`, `appSrvName`) and the tools (`npm run
 * endpoints`, the smoke walk). Plain TypeScript: the tools load it without
 * cdktf.
 */

/** What Mesos-DNS names records with: its `domain`, the framework's name, and its `EnforceRFC952` setting. */
export interface MesosDnsNaming {
  /** Mesos-DNS's `domain`. @default "mesos" */
  readonly domain?: string;
  /** The framework's name (Marathon's `--framework_name`). @default "marathon" */
  readonly framework?: string;
  /** Mesos-DNS's `EnforceRFC952` (labels of at most 24 characters, no leading digit). @default false */
  readonly rfc952?: boolean;
}

/**
 * Mesos-DNS's label function (mesosphere/mesos-dns records/labels/labels.go,
 * the same at v0.6.0 and v0.7.0-rc2): upper case lowered, `-`, `.` and `_`
 * become `-`, any other character dropped; then cut at 63 characters (RFC
 * 1123) or 24 (RFC 952, with `EnforceRFC952`) by `trimCut`, which trims `-`
 * (and, for RFC 952, digits) from the start and `-` from the end.
 */
export function mesosDnsLabel(name: string, rfc952 = false): string {
  const mapped = [...name]
    .map((c) => (/[A-Z]/.test(c) ? c.toLowerCase() : /[a-z0-9]/.test(c) ? c : c === "-" || c === "." || c === "_" ? "-" : ""))
    .join("");
  const [maxlen, left, right] = rfc952 ? [24, "-0123456789", "-"] : [63, "-", "-"];
  const trimLeft = (s: string, set: string) => {
    let i = 0;
    while (i < s.length && set.includes(s[i])) i++;
    return s.slice(i);
  };
  const trimRight = (s: string, set: string) => {
    let j = s.length;
    while (j > 0 && set.includes(s[j - 1])) j--;
    return s.slice(0, j);
  };
  const trim = trimLeft(mapped, left);
  const size = Math.min(trim.length, maxlen);
  const head = trimRight(trim.slice(0, size), right);
  if (head.length === size) return head;
  const tail = trimLeft(trim.slice(size), right);
  return tail.length > 0 ? head + tail.slice(0, Math.min(tail.length, size - head.length)) : head;
}

/** labels.DomainFrag: each `.`-separated part through the label function, empty ones dropped. */
function domainFrag(name: string, rfc952: boolean): string {
  return name
    .split(".")
    .map((part) => mesosDnsLabel(part, rfc952))
    .filter(Boolean)
    .join(".");
}

/** The Mesos-DNS names of one Marathon app. */
export interface AppDnsNames {
  /** The task label: Marathon's DiscoveryInfo name through the label function, e.g. `redis-grp` for `/grp/redis`. */
  readonly label: string;
  /** A records of every running task (the agents' IPs with Mesos-DNS's `IPSources: ["host"]`): `<label>.<framework>.<domain>`. */
  readonly hostname: string;
  /** SRV name of the app's ports of a protocol: `_<label>._<protocol>.<framework>.<domain>`. */
  srv(protocol?: string): string;
  /** SRV name of one named port: `_<port>._<label>._<protocol>.<framework>.<domain>`. */
  namedSrv(portName: string, protocol?: string): string;
  /** SRV name Mesos-DNS also keeps under `slave`, from the task's port resources: `_<label>._<protocol>.<framework>.slave.<domain>`. */
  slaveSrv(protocol?: string): string;
}

/**
 * The Mesos-DNS names of a Marathon app (an absolute id such as `/redis` or
 * `/grp/redis`):
 *
 * - Marathon 1.8 names each task and its DiscoveryInfo `appId.toHostname`,
 *   the path's names in reverse joined by `.` (`/grp/redis` -> `redis.grp`),
 *   with ports from the host ports (mesosphere/marathon v1.8.244
 *   src/main/scala/mesosphere/mesos/TaskBuilder.scala `setName`,
 *   `computeDiscoveryInfo`; state/PathId.scala `toHostname`;
 *   mesos/PortDiscovery.scala: a mapping with a host port is discovered by it).
 * - Mesos-DNS takes the DiscoveryInfo name, through its label function, and
 *   the framework's name through `DomainFrag`: `<label>.<framework>.<domain>`
 *   (A, from the task's IPs), `_<label>._<protocol>.<framework>.<domain>` and
 *   `_<port name>._<label>...` (SRV to `<label>-<hash>-<agent>.<framework>.<domain>:<host port>`),
 *   plus `_<label>._tcp|_udp.<framework>.slave.<domain>` from the port
 *   resources (mesosphere/mesos-dns records/generator.go `taskRecord`,
 *   `taskContextRecord`; records/chains.go `withProtocol`, `withNamedPort`).
 *   It also still writes the unmangled name (`redis.grp.marathon.mesos`, the
 *   "LEGACY TODO: REMOVE" records); the names here are the mangled ones.
 */
export function appDnsNames(appId: string, naming: MesosDnsNaming = {}): AppDnsNames {
  const rfc952 = naming.rfc952 ?? false;
  const label = mesosDnsLabel(marathonTaskName(appId), rfc952);
  // records/config.go SetConfig lower-cases the domain.
  const domain = (naming.domain ?? "mesos").toLowerCase();
  const framework = domainFrag(naming.framework ?? "marathon", rfc952);
  return {
    label,
    hostname: `${label}.${framework}.${domain}`,
    srv: (protocol = "tcp") => `_${label}._${protocol}.${framework}.${domain}`,
    namedSrv: (portName, protocol = "tcp") => `_${mesosDnsLabel(portName, rfc952)}._${label}._${protocol}.${framework}.${domain}`,
    slaveSrv: (protocol = "tcp") => `_${label}._${protocol}.${framework}.slave.${domain}`,
  };
}

/** Marathon's task and DiscoveryInfo name of an app: `PathId.toHostname` (`/grp/redis` -> `redis.grp`). */
export function marathonTaskName(appId: string): string {
  return appId.split("/").filter(Boolean).reverse().join(".");
}
