import { IConstruct } from "constructs";
import { Cidr, DOCKER_ADDRESS_POOLS, DOCKER_DEFAULT_BRIDGE } from "../core/net";
import { fail, warn } from "../core/validation";

/** Inputs of the address plan of a network the target creates. */
export interface AddressPlanInput {
  /** The VNet/VPC block, e.g. `10.20.0.0/16`. */
  readonly addressSpace: string;
  /** Zones machines are spread over. */
  readonly zones: string[];
  /** One subnet per zone (AWS) or one regional subnet per tier (Azure). */
  readonly zonal: boolean;
  /** Explicit master subnets (one per zone when zonal, else one). */
  readonly masterSubnetCidrs?: string[];
  /** Explicit agent subnets (one per zone when zonal, else one). */
  readonly agentSubnetCidrs?: string[];
  /**
   * Also plan one small public subnet, in the first zone (AWS: the NAT
   * gateway's, the only subnet routed to the internet gateway unless
   * machines ask for public IPs).
   */
  readonly publicSubnet?: boolean;
  /**
   * The public subnet's block, with `publicSubnet`.
   * @default the highest /28 of the address space that overlaps no master or agent subnet
   */
  readonly publicSubnetCidr?: string;
}

/** One subnet of an {@link AddressPlan}: its block and, on zonal clouds, its zone. */
export interface PlannedSubnet {
  readonly cidr: string;
  /** Zone of a zonal subnet. */
  readonly zone?: string;
}

/** The checked address plan: the network block and the master and agent subnets carved from it. */
export interface AddressPlan {
  readonly addressSpace: string;
  readonly masters: PlannedSubnet[];
  readonly agents: PlannedSubnet[];
  /** The public subnet, when the input asked for one. */
  readonly public?: PlannedSubnet;
}

/**
 * Carves master and agent subnets out of the address space, or checks the
 * ones given. Default carving of a /N (N from 8 to 20): the address space is
 * cut into sixteen /(N+4) blocks; block 0 holds the master subnets, /(N+8)
 * each, and blocks 1, 2, 3 ... hold one agent subnet each. For 10.20.0.0/16:
 * masters 10.20.0.0/24 (10.20.1.0/24, ...), agents 10.20.16.0/20 (10.20.32.0/20, ...).
 * The public subnet, when asked for, is the highest free /28 (10.20.255.240/28):
 * no other subnet moves for it, and it stays where it is while the others do.
 */
export function planAddresses(scope: IConstruct, input: AddressPlanInput): AddressPlan {
  const space = Cidr.tryParse(input.addressSpace);
  if (!space) fail(scope, "addressSpace", input.addressSpace, "an IPv4 CIDR block such as 10.20.0.0/16 (no host bits set)");
  if (!isPrivate(space)) fail(scope, "addressSpace", input.addressSpace, "a private range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16");
  checkDockerOverlap(scope, space);
  const tiers = input.zonal ? input.zones.length : 1;
  const explicit = input.masterSubnetCidrs !== undefined || input.agentSubnetCidrs !== undefined;
  if (!explicit && (space.prefixLength < 8 || space.prefixLength > 20)) {
    fail(scope, "addressSpace", input.addressSpace, "a /8 to /20 block when subnets are carved automatically (give masterSubnetCidrs and agentSubnetCidrs for smaller ones)");
  }
  if (space.prefixLength > 26) fail(scope, "addressSpace", input.addressSpace, "a block of /26 or larger");

  const carve = (offsetBlock: number, prefix: number, count: number): string[] =>
    Array.from({ length: count }, (_, i) =>
      offsetBlock === 0 ? space.subnet(space.prefixLength + 4, 0).subnet(prefix, i).toString() : space.subnet(prefix, offsetBlock + i).toString(),
    );
  const masters = input.masterSubnetCidrs ?? carve(0, space.prefixLength + 8, tiers);
  const agents = input.agentSubnetCidrs ?? carve(1, space.prefixLength + 4, tiers);

  const checked: { prop: string; cidr: Cidr; text: string }[] = [];
  for (const [prop, list] of [["masterSubnetCidrs", masters], ["agentSubnetCidrs", agents]] as const) {
    if (list.length !== tiers) {
      fail(scope, prop, list, input.zonal ? `one subnet per zone (${input.zones.length}: ${input.zones.join(", ")})` : "exactly one subnet");
    }
    list.forEach((text, i) => {
      const cidr = Cidr.tryParse(text);
      if (!cidr) fail(scope, `${prop}[${i}]`, text, "an IPv4 CIDR block such as 10.20.0.0/24 (no host bits set)");
      if (cidr.prefixLength > 28) fail(scope, `${prop}[${i}]`, text, "a /28 or larger subnet (the clouds keep 5 addresses of each)");
      if (!space.containsCidr(cidr)) fail(scope, `${prop}[${i}]`, text, `a subnet inside the address space ${space.toString()}`);
      const clash = checked.find((c) => c.cidr.overlaps(cidr));
      if (clash) fail(scope, `${prop}[${i}]`, text, `a subnet that does not overlap ${clash.prop} ${clash.text}`);
      checked.push({ prop, cidr, text });
    });
  }
  const withZones = (list: string[]): PlannedSubnet[] =>
    list.map((cidr, i) => (input.zonal ? { cidr, zone: input.zones[i] } : { cidr }));
  const plan = { addressSpace: space.toString(), masters: withZones(masters), agents: withZones(agents) };
  if (!input.publicSubnet) return plan;
  const publicCidr = input.publicSubnetCidr !== undefined ? checkPublicSubnet(scope, space, input.publicSubnetCidr, checked) : freeBlock(scope, space, checked);
  return { ...plan, public: withZones([publicCidr])[0] };
}

/** The explicit public subnet: a block inside the space that overlaps no master or agent subnet. */
function checkPublicSubnet(scope: IConstruct, space: Cidr, text: string, taken: { prop: string; cidr: Cidr; text: string }[]): string {
  const cidr = Cidr.tryParse(text);
  if (!cidr) fail(scope, "publicSubnetCidr", text, "an IPv4 CIDR block such as 10.20.255.240/28 (no host bits set)");
  if (cidr.prefixLength > 28) fail(scope, "publicSubnetCidr", text, "a /28 or larger subnet (the clouds keep 5 addresses of each)");
  if (!space.containsCidr(cidr)) fail(scope, "publicSubnetCidr", text, `a subnet inside the address space ${space.toString()}`);
  const clash = taken.find((c) => c.cidr.overlaps(cidr));
  if (clash) fail(scope, "publicSubnetCidr", text, `a subnet that does not overlap ${clash.prop} ${clash.text}`);
  return cidr.toString();
}

/** The highest /28 of the space that no master or agent subnet overlaps. */
function freeBlock(scope: IConstruct, space: Cidr, taken: { cidr: Cidr }[]): string {
  const found = highestFreeBlock(space, taken.map((c) => c.cidr));
  if (found) return found.toString();
  return fail(scope, "addressSpace", space.toString(), "an address space with a free /28 beside the master and agent subnets, for the public subnet of the NAT gateway (or give publicSubnetCidr)");
}

/** The highest /28 of `space` that overlaps none of `taken`, if any. */
export function highestFreeBlock(space: Cidr, taken: Cidr[]): Cidr | undefined {
  for (let i = 2 ** (28 - space.prefixLength) - 1; i >= 0; i--) {
    const candidate = space.subnet(28, i);
    if (!taken.some((c) => c.overlaps(candidate))) return candidate;
  }
  return undefined;
}

const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((c) => Cidr.parse(c));

function isPrivate(cidr: Cidr): boolean {
  return PRIVATE_RANGES.some((range) => range.containsCidr(cidr));
}

/**
 * Every machine runs Docker, whose default bridge docker0 takes
 * 172.17.0.0/16 and whose user-defined networks take blocks of its other
 * default pools (net.ts). A machine routes a block Docker took to its own
 * bridge: cluster addresses inside it become unreachable from that machine.
 * docker0 exists on every machine, so overlapping it is refused; the other
 * pools are used only when a network is created (Docker then skips a block
 * that overlaps a route the machine already has), so overlapping them warns.
 */
function checkDockerOverlap(scope: IConstruct, space: Cidr): void {
  if (space.overlaps(Cidr.parse(DOCKER_DEFAULT_BRIDGE))) {
    fail(scope, "addressSpace", space.toString(), `a private range that does not overlap ${DOCKER_DEFAULT_BRIDGE}, Docker's default bridge (docker0) on every machine, e.g. 10.20.0.0/16`);
  }
  const pools = DOCKER_ADDRESS_POOLS.filter((p) => space.overlaps(Cidr.parse(p)));
  if (pools.length > 0) {
    warn(
      scope,
      `address space ${space.toString()} overlaps Docker's default address pools ${pools.join(", ")}: a Docker network created on a machine (docker network create, an app on a named container network) may take a block of it, and cluster addresses in that block become unreachable from that machine; 10.0.0.0/8 is clear of them`,
      "addressSpace",
    );
  }
}
