import { TerraformProvider, TerraformStack } from "cdktf";
import { IConstruct } from "constructs";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { TlsProvider } from "@cdktf/provider-tls/lib/provider";

/** True when the stack already holds a provider of this type (the user's own block, or ours). */
export function hasProvider(stack: IConstruct, type: string): boolean {
  return stack.node.findAll().some((c) => TerraformProvider.isTerraformProvider(c) && c.terraformResourceType === type);
}

/** The stack's `tls` provider block, added once. */
export function ensureTlsProvider(scope: IConstruct): void {
  const stack = TerraformStack.of(scope);
  if (!hasProvider(stack, "tls")) new TlsProvider(stack, "tls-provider");
}

/** The stack's `random` provider block, added once. */
export function ensureRandomProvider(scope: IConstruct): void {
  const stack = TerraformStack.of(scope);
  if (!hasProvider(stack, "random")) new RandomProvider(stack, "random-provider");
}
