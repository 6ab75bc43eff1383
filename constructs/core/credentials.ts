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
