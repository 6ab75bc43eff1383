import { IConstruct } from "constructs";
import { fail } from "./validation";

const FLAG_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Checks user-supplied extra flags for a Mesos or Marathon process: names
 * must look like flags and must not collide with the flags the construct
 * manages itself (a silent override would break the cluster's wiring).
 */
export function checkExtraFlags(
  scope: IConstruct,
  property: string,
  flags: Record<string, string> | undefined,
  managed: readonly string[],
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(flags ?? {})) {
    if (!FLAG_NAME.test(name)) {
      fail(scope, `${property}.${name}`, name, "a flag name without dashes: lower-case letters, digits and '_', e.g. offer_timeout");
    }
    if (managed.includes(name)) {
      fail(scope, `${property}.${name}`, name, `a flag not managed by this construct (managed: ${managed.join(", ")})`);
    }
    if (typeof value !== "string" || /[\n\r]/.test(value)) {
      fail(scope, `${property}.${name}`, value, "a one-line string value");
    }
    result[name] = value;
  }
  return result;
}

/** `MESOS_<FLAG>` for a Mesos flag name. */
export function mesosEnvName(flag: string): string {
  return `MESOS_${flag.toUpperCase()}`;
}
