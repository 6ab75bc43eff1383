/**
 * IPv4 addresses and CIDR blocks as small value classes.
 *
 * Static IPs of masters, ZooKeeper server lists and Mesos `zk://` URLs are
 * computed from these at synth time, so they must be exact: no token may
 * stand in for an address that ends up in user data.
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad IPv4 text to an unsigned 32-bit integer, or undefined when malformed. */
export function parseIpv4(text: string): number | undefined {
  if (typeof text !== "string") return undefined;
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i];
    // Leading zeros are ambiguous (octal in some tools): refuse them.
    if (part.length > 1 && part.startsWith("0")) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** A 32-bit address as a dotted quad. */
export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** An IPv4 CIDR block such as `10.20.0.0/16`. */
export class Cidr {
  /** Parses `a.b.c.d/n`; returns undefined for malformed text or host bits set. */
  public static tryParse(text: string): Cidr | undefined {
    if (typeof text !== "string") return undefined;
    const slash = text.indexOf("/");
    if (slash < 0) return undefined;
    const base = parseIpv4(text.slice(0, slash));
    const bitsText = text.slice(slash + 1);
    if (base === undefined || !/^\d{1,2}$/.test(bitsText)) return undefined;
    const bits = Number(bitsText);
    if (bits > 32) return undefined;
    const size = 2 ** (32 - bits);
    // Host bits set ("10.0.0.1/24") is a typo, not a network: refuse it rather than guess.
    if (base % size !== 0) return undefined;
    return new Cidr(base, bits);
  }

  /** Parses or throws; use {@link Cidr.tryParse} where the caller reports the error. */
  public static parse(text: string): Cidr {
    const cidr = Cidr.tryParse(text);
    if (!cidr) throw new Error(`not an IPv4 CIDR block: ${JSON.stringify(text)}`);
    return cidr;
  }

  private constructor(public readonly network: number, public readonly prefixLength: number) {}

  /** Number of addresses in the block. */
  public get size(): number {
    return 2 ** (32 - this.prefixLength);
  }

  public get last(): number {
    return this.network + this.size - 1;
  }

  public contains(ip: string | number): boolean {
    const value = typeof ip === "number" ? ip : parseIpv4(ip);
    return value !== undefined && value >= this.network && value <= this.last;
  }

  public containsCidr(other: Cidr): boolean {
    return other.network >= this.network && other.last <= this.last;
  }

  public overlaps(other: Cidr): boolean {
    return this.network <= other.last && other.network <= this.last;
  }

  /** The address at `offset` from the start of the block. */
  public host(offset: number): string {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size) {
      throw new Error(`offset ${offset} is outside ${this.toString()}`);
    }
    return formatIpv4(this.network + offset);
  }

  /** The `index`-th sub-block of prefix length `prefixLength`. */
  public subnet(prefixLength: number, index: number): Cidr {
    if (prefixLength < this.prefixLength || prefixLength > 32) {
      throw new Error(`/${prefixLength} does not fit in ${this.toString()}`);
    }
    const size = 2 ** (32 - prefixLength);
    const network = this.network + index * size;
    if (index < 0 || network + size - 1 > this.last) {
      throw new Error(`sub-block ${index} of /${prefixLength} is outside ${this.toString()}`);
    }
    return new Cidr(network, prefixLength);
  }

  public toString(): string {
    return `${formatIpv4(this.network)}/${this.prefixLength}`;
  }
}

/**
 * Addresses the clouds keep for themselves in every subnet: the first four and
 * the last (Azure and AWS both reserve .0-.3 and the broadcast address).
 */
export const RESERVED_LEADING_ADDRESSES = 4;

/** True when `ip` is a usable host address of `cidr` on Azure and AWS. */
export function isUsableHost(cidr: Cidr, ip: string): boolean {
  const value = parseIpv4(ip);
  return value !== undefined && value >= cidr.network + RESERVED_LEADING_ADDRESSES && value < cidr.last;
}

/**
 * Docker's default networks on every machine (docker-ce 25-28): the default
 * bridge `docker0` takes the first local pool, 172.17.0.0/16, and
 * user-defined bridge networks (`docker network create`, Marathon apps on a
 * named container network) take /16 blocks of 172.18.0.0-172.31.255.255 and
 * /20 blocks of 192.168.0.0/16 (moby/moby v25.0.5
 * libnetwork/ipamutils/utils.go, localScopeDefaultNetworks).
 */
export const DOCKER_DEFAULT_BRIDGE = "172.17.0.0/16";
/** The other local pools of Docker's default address pools (see {@link DOCKER_DEFAULT_BRIDGE}). */
export const DOCKER_ADDRESS_POOLS = ["172.18.0.0/15", "172.20.0.0/14", "172.24.0.0/13", "192.168.0.0/16"];

/** An IPv6 CIDR block as first and last address (for telling `::/0` forms apart; the clusters are IPv4). */
export interface Ipv6Block {
  readonly first: bigint;
  readonly last: bigint;
  readonly prefixLength: number;
}

/** Parses `2001:db8::/32`, `::/0` and the like; undefined for anything else. */
export function parseIpv6Cidr(text: string): Ipv6Block | undefined {
  if (typeof text !== "string") return undefined;
  const m = /^([0-9A-Fa-f:]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m || Number(m[2]) > 128) return undefined;
  const halves = m[1].split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (all.length !== 8 || all.some((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g))) return undefined;
  const value = all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  const bits = Number(m[2]);
  const size = 1n << BigInt(128 - bits);
  const first = value - (value % size);
  return { first, last: first + size - 1n, prefixLength: bits };
}

/**
 * True when the blocks together cover every address from `0` to `max`
 * (`0.0.0.0/1` and `128.0.0.0/1`, four /2 quarters, `::/1` and `8000::/1`).
 */
export function coversAll(blocks: { first: bigint; last: bigint }[], max: bigint): boolean {
  let next = 0n;
  for (const b of [...blocks].sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0))) {
    if (b.first > next) return false;
    if (b.last + 1n > next) next = b.last + 1n;
    if (next > max) return true;
  }
  return next > max;
}

/** An IPv4 block as a bigint range, for {@link coversAll}. */
export function ipv4Range(cidr: Cidr): { first: bigint; last: bigint } {
  return { first: BigInt(cidr.network), last: BigInt(cidr.last) };
}

/** Addresses Azure and AWS keep in every subnet: the first four and the last. */
export const CLOUD_RESERVED_ADDRESSES = RESERVED_LEADING_ADDRESSES + 1;
