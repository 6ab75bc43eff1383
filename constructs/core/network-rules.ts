import { Cidr } from "./net";

/** The transport protocols a rule can open. */
export type PortProtocol = "tcp" | "udp";

/** A TCP or UDP port or port range that a rule opens. */
export class Port {
  public static tcp(port: number): Port {
    return Port.tcpRange(port, port);
  }

  public static tcpRange(from: number, to: number): Port {
    return Port.range("tcp", from, to);
  }

  /** A UDP port (DNS: Mesos-DNS answers on 53/udp and 53/tcp). */
  public static udp(port: number): Port {
    return Port.range("udp", port, port);
  }

  private static range(protocol: PortProtocol, from: number, to: number): Port {
    for (const p of [from, to]) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`port ${p} is outside 1-65535`);
    }
    if (from > to) throw new Error(`port range ${from}-${to} is reversed`);
    return new Port(from, to, protocol);
  }

  private constructor(
    public readonly from: number,
    public readonly to: number,
    /** `tcp` (every port but DNS's) or `udp`. */
    public readonly protocol: PortProtocol = "tcp",
  ) {}

  /** `2181` or `31000-32000`, the form both clouds' rules and our docs use (the protocol aside: see {@link label}). */
  public toString(): string {
    return this.from === this.to ? String(this.from) : `${this.from}-${this.to}`;
  }

  /** {@link toString} with `/udp` for a UDP port (`53/udp`), for names and messages. */
  public get label(): string {
    return this.protocol === "udp" ? `${this.toString()}/udp` : this.toString();
  }
}

/** An opaque handle to a cloud's group of machines used as a rule's source or destination. */
export interface SecurityGroupRef {
  /** Name of the group (for rule names and docs). */
  readonly name: string;
  /**
   * The cloud's id of the group (an Azure application security group, an AWS
   * security group); empty where the cloud names the group by `addresses`.
   */
  readonly id: string;
  /** The members' static IPs, when the cloud's rules name this group by address. */
  readonly addresses?: string[];
}

/** Where traffic may come from. */
export abstract class Peer {
  /** The machines of a group (Azure application security group, AWS security group). */
  public static group(group: SecurityGroupRef): Peer {
    return new GroupPeer(group);
  }

  /** Explicit IPv4 CIDR blocks (e.g. admin networks). `0.0.0.0/0` is refused here: use {@link Peer.anyIpv4}. */
  public static cidrs(cidrs: string[]): Peer {
    if (cidrs.length === 0) throw new Error("Peer.cidrs needs at least one CIDR block");
    for (const c of cidrs) {
      const parsed = Cidr.tryParse(c);
      if (!parsed) throw new Error(`not an IPv4 CIDR block: ${JSON.stringify(c)}`);
      if (parsed.prefixLength === 0) throw new Error("0.0.0.0/0 opens a port to the internet: use Peer.anyIpv4()");
    }
    return new CidrPeer(cidrs);
  }

  /** The whole internet: only through an explicit, separately named opt-in. */
  public static anyIpv4(): Peer {
    return new CidrPeer(["0.0.0.0/0"]);
  }

  /** A short name for resource ids and descriptions. */
  public abstract get label(): string;
}

/** A peer named by its security group (application security group on Azure). */
export class GroupPeer extends Peer {
  constructor(public readonly group: SecurityGroupRef) {
    super();
  }

  public get label(): string {
    return this.group.name;
  }
}

/** A peer named by address blocks. */
export class CidrPeer extends Peer {
  constructor(public readonly cidrs: string[]) {
    super();
  }

  public get isInternet(): boolean {
    return this.cidrs.includes("0.0.0.0/0");
  }

  public get label(): string {
    return this.isInternet ? "internet" : "cidrs";
  }
}

/** One ingress rule: traffic from `from` to the machines of `to` on `port`. */
export interface IngressRule {
  readonly to: SecurityGroupRef;
  readonly from: Peer;
  readonly port: Port;
  /** Why the port is open, shown in the cloud console and in plan diffs. */
  readonly description: string;
}
