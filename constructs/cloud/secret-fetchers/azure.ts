import { RETRY_MAIN } from "./retry-main";

/**
 * The Azure secret fetcher a machine runs at boot: Python 3, standard
 * library only (Ubuntu 22.04 ships python3.10; no Azure CLI needed).
 */

/**
 * Stands for the vault's URI in the fetcher until Terraform writes the real
 * one: vault names carry a random suffix, unknown at synth, so azure.ts
 * renders `custom_data` as `base64encode(replace(base64decode(<document>),
 * <this>, <vault>.vault_uri))` ({@link parseVaultUriTemplate}). Longer than
 * any vault URI (`https://` + 24 characters + `.vault.azure.net/`, 49), so
 * the size checked at synth is never below what the machine receives.
 * Starts with "@@": never a URL, so a document Terraform did not render
 * fails loudly instead of reaching some vault.
 */
export const KEY_VAULT_URI_PLACEHOLDER = "@@KEY_VAULT_URI_WRITTEN_HERE_BY_TERRAFORM_AT_APPLY@@";

export const AZURE_SECRET_FETCHER = String.raw`#!/usr/bin/python3
"""fetch-cluster-secret NAME: prints a cluster secret kept in Azure Key Vault.

Authenticates with the VM's managed identity through the instance metadata
service. The vault is the one Terraform wrote into this file when it made the
machine: nothing read at run time (such as the VM's tags) can point it
elsewhere. Retries for up to 10 minutes while the identity, its role
assignment and the secret propagate. MESOS_CLUSTER_IMDS overrides the
metadata endpoint (tests only).
"""
import json
import os
import sys
import time
import urllib.parse
import urllib.request

VAULT_URI = "${KEY_VAULT_URI_PLACEHOLDER}"
IMDS = os.environ.get("MESOS_CLUSTER_IMDS", "http://169.254.169.254")
TIMEOUT = float(os.environ.get("MESOS_CLUSTER_SECRET_TIMEOUT", "600"))


def get_json(url, headers):
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def fetch(name):
    if VAULT_URI.startswith("@@"):
        raise LookupError("no vault URI in this file (Terraform writes it into custom_data)")
    resource = urllib.parse.quote("https://vault.azure.net", safe="")
    token = get_json(IMDS + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + resource, {"Metadata": "true"})
    url = VAULT_URI.rstrip("/") + "/secrets/" + urllib.parse.quote(name) + "?api-version=7.4"
    return get_json(url, {"Authorization": "Bearer " + token["access_token"]})["value"]


${RETRY_MAIN}`;

/** An Azure `custom_data` whose document Terraform completes with a vault's URI. */
export interface VaultUriTemplate {
  /** The document as synthesized (with {@link KEY_VAULT_URI_PLACEHOLDER}), plain base64. */
  readonly base64: string;
  /** Terraform gzips the completed document (`base64gzip`): it is over the cloud's limit unzipped. */
  readonly gzip: boolean;
  /** The reference Terraform puts in place of the placeholder, `${azurerm_key_vault.<name>.vault_uri}`. */
  readonly vaultUri: string;
}

const TEMPLATE = /^\$\{base64(encode|gzip)\(replace\(base64decode\("([A-Za-z0-9+/]*={0,2})"\), "([^"\\]+)", (azurerm_key_vault\.[A-Za-z0-9_-]+\.vault_uri)\)\)\}$/;

/**
 * Reads a `custom_data` value as azure.ts renders it for machines that read
 * secrets: the synthesized document, and the vault whose URI Terraform puts
 * into it. Undefined for anything else (a literal document, another
 * expression). For tools that decode user data from the synthesized JSON
 * (scripts/lib/synth-output.ts).
 */
export function parseVaultUriTemplate(customData: string): VaultUriTemplate | undefined {
  const m = TEMPLATE.exec(customData);
  if (!m || m[3] !== KEY_VAULT_URI_PLACEHOLDER) return undefined;
  return { base64: m[2], gzip: m[1] === "gzip", vaultUri: `\${${m[4]}}` };
}
