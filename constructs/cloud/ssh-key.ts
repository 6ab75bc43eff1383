import { TerraformOutput, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { ensureTlsProvider } from "../core/providers";
import { fail, isUnresolved, warn } from "../core/validation";

/** Key types each cloud accepts for its admin user. */
export const SSH_KEY_TYPES = {
  azure: ["ssh-rsa", "ssh-ed25519"],
  aws: ["ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"],
} as const;

/** The admin SSH key of a cluster: the user's, or one generated and kept in Terraform state. */
export interface SshKey {
  /** OpenSSH public key text (a token when generated). */
  readonly publicKey: string;
  /** True when the key was generated (its private half is a sensitive output). */
  readonly generated: boolean;
}

/**
 * Checks a configured public key, or generates an RSA key with the tls
 * provider when none is given. A generated key lives in Terraform state (the
 * same key on every plan) and its private half is only a sensitive output.
 */
export function resolveSshKey(scope: Construct, cloud: keyof typeof SSH_KEY_TYPES, configured?: string): SshKey {
  if (configured !== undefined && !isUnresolved(configured)) {
    const key = configured.trim();
    const types: readonly string[] = SSH_KEY_TYPES[cloud];
    const m = /^(\S+) ([A-Za-z0-9+/]+={0,3})(?: .*)?$/.exec(key);
    if (!m || !types.includes(m[1])) {
      fail(scope, "sshPublicKey", abbreviate(key), `one OpenSSH public key line of type ${types.join(", ")}`);
    }
    return { publicKey: key, generated: false };
  }
  if (configured !== undefined) return { publicKey: configured, generated: false };
  const stack = TerraformStack.of(scope);
  ensureTlsProvider(stack);
  const key = new PrivateKey(scope, "ssh-key", { algorithm: "RSA", rsaBits: 4096 });
  const output = new TerraformOutput(stack, "ssh_private_key", {
    value: key.privateKeyOpenssh,
    sensitive: true,
    description: "Generated admin SSH private key (no sshPublicKey was configured): terraform output -raw ssh_private_key",
  });
  output.overrideLogicalId("ssh_private_key");
  // Said once at synth, so that nobody looks for their own key on the machines.
  warn(
    scope,
    "no SSH public key was given (sshPublicKey / CLUSTER_SSH_PUBLIC_KEY, sshPublicKeyFile, or ~/.ssh/id_ed25519.pub or id_rsa.pub): a key pair is generated and kept in the Terraform state; its private half is the sensitive output ssh_private_key (terraform output -raw ssh_private_key)",
  );
  return { publicKey: key.publicKeyOpenssh, generated: true };
}

function abbreviate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 40)}...${text.slice(-12)}` : text;
}
