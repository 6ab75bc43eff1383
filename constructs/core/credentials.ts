import { IConstruct } from "constructs";
import { fail, isUnresolved } from "./validation";

/**
 * HTTP basic-auth credentials of a cluster API (Marathon, Mesos).
 * The password may be a Terraform token (a generated secret): never put it
 * into a literal that is printed; pass it through environment instead.
 */
export interface HttpCredentials {
  readonly username: string;
  /** The password; a token when generated. */
  readonly password: string;
}

/** User names: they end up in `user:password` (Marathon) and JSON (Mesos), so no ':' or quotes. */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/**
 * Passwords given literally: URL- and shell-safe characters only, at least
 * 16 of them. Generated passwords and sensitive variables (tokens) are
 * checked by their generator or the variable's own validation instead.
 */
export const PASSWORD_PATTERN = /^[A-Za-z0-9._~-]{16,128}$/;

/** Checks credentials at construction; returns them. */
export function checkCredentials(scope: IConstruct, property: string, credentials: HttpCredentials): HttpCredentials {
  // The user name goes into user data, which must stay a literal: no token here.
  if (isUnresolved(credentials.username) || !USERNAME_PATTERN.test(credentials.username ?? "")) {
    fail(scope, `${property}.username`, credentials.username, "a literal of 1-64 characters: letters, digits, '.', '_' and '-' (no ':', spaces or quotes)");
  }
  if (!isUnresolved(credentials.password) && !PASSWORD_PATTERN.test(credentials.password ?? "")) {
    // Never echo a password back, even a bad one.
    fail(scope, `${property}.password`, "(hidden)", "16-128 characters: letters, digits, '.', '_', '~' and '-'");
  }
  return credentials;
}
