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
