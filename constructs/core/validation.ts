import type { Annotations as AnnotationsType, Token as TokenType } from "cdktf";
import { IConstruct } from "constructs";

/**
 * A configuration mistake caught at synth time.
 *
 * Every message has the same four parts so that a user can find and fix the
 * mistake without reading our code: the construct path, the property, the
 * value that was given and what would have been accepted.
 */
export class ClusterConfigError extends Error {
  public readonly constructPath: string;
  public readonly property: string;
  public readonly value: unknown;
  public readonly allowed: string;
  /**
   * The one-line message. cdktf prefixes errors thrown while it resolves
   * tokens ("Resolution error: ...") and appends stack traces to `message`;
   * this copy stays clean for printing.
   */
  public readonly summary: string;
  /**
   * Where the value came from when the app's configuration set it: the
   * environment variable (`CLUSTER_HA_AGENT_COUNT`) or the config file key
   * (`cluster.config.json stacks.ha.agentCount`); undefined for a value a
   * construct was given in code.
   */
  public readonly source?: string;

  constructor(constructPath: string, property: string, value: unknown, allowed: string, source?: string) {
    const from = source ? ` (from ${source})` : "";
    const summary = `${constructPath}: invalid ${property} ${describeValue(value)}${from}; allowed: ${allowed}`;
    super(summary);
    this.summary = summary;
    this.name = "ClusterConfigError";
    this.constructPath = constructPath;
    this.property = property;
    this.value = value;
    this.allowed = allowed;
    this.source = source;
  }
}

/**
 * Tells, for a construct path under a stack (`agents/machines` under `ha`)
 * and a property, which setting of the app's configuration gave the value:
 * a variable name or a config file key. Undefined when none did.
 */
export type ValueSourceResolver = (stackId: string, relativePath: string, property: string) => string | undefined;

const RESOLVERS = new WeakMap<IConstruct, ValueSourceResolver>();

/**
 * Registers where the configuration of the stacks under `root` (an App)
 * came from, so that errors and warnings name the variable or file key
 * along with the construct path (stacks/app.ts does this for `cdktf synth`).
 */
export function setValueSources(root: IConstruct, resolver: ValueSourceResolver): void {
  RESOLVERS.set(root, resolver);
}

/** The variable or file key that set `property` of `scope`, when the app's configuration did. */
export function sourceOf(scope: IConstruct, property: string): string | undefined {
  const resolver = RESOLVERS.get(scope.node.root);
  if (!resolver) return undefined;
  const [stackId, ...rest] = scope.node.path.split("/");
  if (!stackId) return undefined;
  return resolver(stackId, rest.join("/"), property.replace(/\[\d+\]$/, ""));
}

const WARNED = new WeakMap<IConstruct, Set<string>>();

/**
 * A synth warning (an annotation cdktf prints once) on `scope`, prefixed
 * with its path and followed by where the value came from when `property`
 * names one the configuration set. The same message on the same construct
 * is added once.
 */
export function warn(scope: IConstruct, message: string, property?: string): void {
  const source = property ? sourceOf(scope, property) : undefined;
  const text = `${pathOf(scope)}: ${message}${source ? ` (from ${source})` : ""}`;
  const seen = WARNED.get(scope) ?? new Set<string>();
  if (seen.has(text)) return;
  seen.add(text);
  WARNED.set(scope, seen);
  cdktf().Annotations.of(scope).addWarning(text);
}

/** Renders a value for an error message: strings quoted, everything else as JSON. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "(undefined)";
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** The construct path used in messages; a stack-level path is never empty. */
export function pathOf(scope: IConstruct | string): string {
  if (typeof scope === "string") return scope;
  return scope.node.path || scope.node.id || "(app)";
}

/** Throws a {@link ClusterConfigError} for `scope`. */
export function fail(scope: IConstruct | string, property: string, value: unknown, allowed: string): never {
  throw new ClusterConfigError(pathOf(scope), property, value, allowed, typeof scope === "string" ? undefined : sourceOf(scope, property));
}

/** True when the value is (or contains) an unresolved token and cannot be checked at construction. */
export function isUnresolved(value: unknown): boolean {
  return value !== undefined && value !== null && cdktf().Token.isUnresolved(value);
}

/** Checks an integer within [min, max]; tokens are skipped. */
export function checkInteger(
  scope: IConstruct | string,
  property: string,
  value: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (isUnresolved(value)) return value;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    fail(scope, property, value, range);
  }
  return value;
}

/** Checks a `[first, last]` port range: whole numbers from `min` to 65535, first <= last. Returns it. */
export function checkPortRange(scope: IConstruct | string, property: string, range: readonly [number, number], min = 1024): [number, number] {
  const [from, to] = range;
  checkInteger(scope, `${property}[0]`, from, min, 65535);
  checkInteger(scope, `${property}[1]`, to, min, 65535);
  if (from > to) fail(scope, property, range, "[first, last] with first <= last");
  return [from, to];
}

/** Checks a value is one of a fixed set; tokens are skipped. */
export function checkOneOf<T>(scope: IConstruct | string, property: string, value: T, allowed: readonly T[]): T {
  if (isUnresolved(value)) return value;
  if (!allowed.includes(value)) fail(scope, property, value, allowed.map((a) => describeValue(a)).join(", "));
  return value;
}

/** Checks a string against a pattern; tokens are skipped. */
export function checkPattern(
  scope: IConstruct | string,
  property: string,
  value: string,
  pattern: RegExp,
  allowed: string,
): string {
  if (isUnresolved(value)) return value;
  if (typeof value !== "string" || !pattern.test(value)) fail(scope, property, value, allowed);
  return value;
}

/** A DNS-label-like name used for clusters and machines: lower case, digits and hyphens. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,22}[a-z0-9]$/;
/** What {@link NAME_PATTERN} allows, for error messages. */
export const NAME_ALLOWED = "2-24 characters: lower-case letters, digits and '-', starting with a letter, not ending with '-'";

/**
 * cdktf, loaded on first use rather than with this module: the repository's
 * tools (validate, plan-diff) import contracts that depend on this module
 * through constructs/internal.ts without synthesizing anything, and loading
 * cdktf cost each of their processes about 0.3 s.
 */
function cdktf(): { Annotations: typeof AnnotationsType; Token: typeof TokenType } {
  return require("cdktf");
}
