/**
 * The regions each cloud offers and their availability zones: what the
 * targets check `region`/`location` and `zones` against, and where AWS's
 * default zones come from.
 *
 * Azure: the public cloud's physical regions and their logical zones, from
 * the ARM Locations API (`availabilityZoneMappings`) as recorded by
 * Azure/terraform-azurerm-avm-utl-regions in
 * modules/cached-data/locations.tf.json, commit e9d62409c6fc (2026-03-12).
 * Canary and staging regions (eastus2euap, centraluseuap, *stg) are left out;
 * sovereign clouds (Azure Government, Azure China) are not this provider
 * block's cloud and are left out too.
 *
 * AWS: zone names of every commercial region, from EC2
 * DescribeInstanceTypeOfferings by availability zone as recorded by
 * getmoto/moto in moto/ec2/resources/instance_type_offerings/availability-zone/,
 * commit c6bd43ff2d09 (2026-08-01); regions moto does not record
 * (ap-southeast-6, ap-southeast-7, mx-central-1) from an account's
 * DescribeAvailabilityZones in networknext/next
 * terraform/prod/relays/amazon/generated.tf, commit 028b7a0723d9
 * (2026-01-29); GovCloud and China from moto's
 * moto/ec2/models/availability_zones_and_regions.py (same checkout).
 * AWS maps zone letters to physical zones per account, and in two regions
 * the letters themselves differ by account: us-west-1 offers two of a, b, c
 * (moto's account has a and b, networknext's a and c), and ap-northeast-1b
 * exists only in accounts older than its closing to new ones. Those
 * letters are allowed; defaults use letters every account has.
 *
 * A region missing here (a newer one) is refused with this file named: add
 * it with its zones (`aws ec2 describe-availability-zones --region R`,
 * `az account list-locations`).
 */

/** An Azure location: its logical zones (none for a location without availability zones). */
export const AZURE_LOCATIONS: Readonly<Record<string, readonly string[]>> = {
  australiacentral: [],
  australiacentral2: [],
  australiaeast: ["1", "2", "3"],
  australiasoutheast: [],
  austriaeast: ["1", "2", "3"],
  belgiumcentral: ["1", "2", "3"],
  brazilsouth: ["1", "2", "3"],
  brazilsoutheast: [],
  canadacentral: ["1", "2", "3"],
  canadaeast: [],
  centralindia: ["1", "2", "3"],
  centralus: ["1", "2", "3"],
  chilecentral: ["1", "2", "3"],
  denmarkeast: ["1", "2", "3"],
  eastasia: ["1", "2", "3"],
  eastus: ["1", "2", "3"],
  eastus2: ["1", "2", "3"],
  francecentral: ["1", "2", "3"],
  francesouth: [],
  germanynorth: [],
  germanywestcentral: ["1", "2", "3"],
  indonesiacentral: ["1", "2", "3"],
  israelcentral: ["1", "2", "3"],
  italynorth: ["1", "2", "3"],
  japaneast: ["1", "2", "3"],
  japanwest: ["1", "2", "3"],
  jioindiacentral: [],
  jioindiawest: [],
  koreacentral: ["1", "2", "3"],
  koreasouth: [],
  malaysiawest: ["1", "2", "3"],
  mexicocentral: ["1", "2", "3"],
  newzealandnorth: ["1", "2", "3"],
  northcentralus: [],
  northeurope: ["1", "2", "3"],
  norwayeast: ["1", "2", "3"],
  norwaywest: [],
  polandcentral: ["1", "2", "3"],
  qatarcentral: ["1", "2", "3"],
  southafricanorth: ["1", "2", "3"],
  southafricawest: [],
  southcentralus: ["1", "2", "3"],
  southeastasia: ["1", "2", "3"],
  southindia: [],
  spaincentral: ["1", "2", "3"],
  swedencentral: ["1", "2", "3"],
  switzerlandnorth: ["1", "2", "3"],
  switzerlandwest: [],
  uaecentral: [],
  uaenorth: ["1", "2", "3"],
  uksouth: ["1", "2", "3"],
  ukwest: [],
  westcentralus: [],
  westeurope: ["1", "2", "3"],
  westindia: [],
  westus: [],
  westus2: ["1", "2", "3"],
  westus3: ["1", "2", "3"],
};

/** An AWS region: the zone letters it has, and the letters every account has (the defaults). */
export interface AwsRegionZones {
  /** Letters that exist in some account (`a` for `eu-west-1a`). */
  readonly letters: string;
  /**
   * Letters every account has, in the order default zones take them;
   * fewer than three where accounts differ (us-west-1: none).
   */
  readonly defaults: string;
  /** The partition, where it is not the commercial `aws` one (other AMI owners and endpoints). */
  readonly partition?: "aws-us-gov" | "aws-cn";
}

const z = (letters: string, defaults = letters.slice(0, 3), partition?: AwsRegionZones["partition"]): AwsRegionZones => ({
  letters,
  defaults,
  ...(partition ? { partition } : {}),
});

/** AWS regions and their zone letters. */
export const AWS_REGIONS: Readonly<Record<string, AwsRegionZones>> = {
  "af-south-1": z("abc"),
  "ap-east-1": z("abc"),
  "ap-northeast-1": z("abcd", "acd"),
  "ap-northeast-2": z("abcd"),
  "ap-northeast-3": z("abc"),
  "ap-south-1": z("abc"),
  "ap-south-2": z("abc"),
  "ap-southeast-1": z("abc"),
  "ap-southeast-2": z("abc"),
  "ap-southeast-3": z("abc"),
  "ap-southeast-4": z("abc"),
  "ap-southeast-5": z("abc"),
  "ap-southeast-6": z("abc"),
  "ap-southeast-7": z("abc"),
  "ca-central-1": z("abd"),
  "ca-west-1": z("abc"),
  "eu-central-1": z("abc"),
  "eu-central-2": z("abc"),
  "eu-north-1": z("abc"),
  "eu-south-1": z("abc"),
  "eu-south-2": z("abc"),
  "eu-west-1": z("abc"),
  "eu-west-2": z("abc"),
  "eu-west-3": z("abc"),
  "il-central-1": z("abc"),
  "me-central-1": z("abc"),
  "me-south-1": z("abc"),
  "mx-central-1": z("abc"),
  "sa-east-1": z("abc"),
  "us-east-1": z("abcdef"),
  "us-east-2": z("abc"),
  "us-west-1": z("abc", ""),
  "us-west-2": z("abcd"),
  "us-gov-east-1": z("abc", "abc", "aws-us-gov"),
  "us-gov-west-1": z("abc", "abc", "aws-us-gov"),
  "cn-north-1": z("ab", "ab", "aws-cn"),
  "cn-northwest-1": z("abc", "abc", "aws-cn"),
};

/** The edit distance of two strings (for "did you mean" hints). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * The candidates closest to `value`: within an edit distance of a third of
 * its length (at least 2), and at most one more than the closest one; at
 * most `limit` of them. Case, spaces, `-` and `_` are ignored first, so
 * `West Europe` finds `westeurope`.
 */
export function closest(value: string, candidates: Iterable<string>, limit = 3): string[] {
  const norm = (s: string) => s.toLowerCase().replace(/[\s_-]/g, "");
  const target = norm(String(value));
  const max = Math.max(2, Math.floor(target.length / 3));
  const near = [...candidates]
    .map((c) => ({ c, d: editDistance(target, norm(c)) }))
    .filter((x) => x.d <= max)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
  return near
    .filter((x) => x.d <= near[0].d + 1)
    .slice(0, limit)
    .map((x) => x.c);
}

/** ` (did you mean X or Y?)`, or nothing. */
export function didYouMean(value: string, candidates: Iterable<string>): string {
  const near = closest(value, candidates);
  if (near.length === 0) return "";
  return ` (did you mean ${near.length === 1 ? near[0] : `${near.slice(0, -1).join(", ")} or ${near[near.length - 1]}`}?)`;
}
