import { RETRY_MAIN } from "./retry-main";

/**
 * The Azure secret fetcher a machine runs at boot: Python 3, standard
 * library only (Ubuntu 22.04 ships python3.10; no Azure CLI needed).
 */

/** The VM tag that names the cluster's Key Vault (its name is random, so it cannot be in user data). */
export const KEY_VAULT_TAG = "mesos-cluster-key-vault";

export const AZURE_SECRET_FETCHER = String.raw`#!/usr/bin/python3
"""fetch-cluster-secret NAME: prints a cluster secret kept in Azure Key Vault.

Authenticates with the VM's managed identity through the instance metadata
service; the vault is named by the VM tag ${KEY_VAULT_TAG}. Retries for up
to 10 minutes while the identity, its access policy and the secret propagate.
MESOS_CLUSTER_IMDS and MESOS_CLUSTER_SECRET_ENDPOINT override the endpoints
(tests only).
"""
import json
import os
import sys
import time
import urllib.parse
import urllib.request

IMDS = os.environ.get("MESOS_CLUSTER_IMDS", "http://169.254.169.254")
VAULT_ENDPOINT = os.environ.get("MESOS_CLUSTER_SECRET_ENDPOINT")
TIMEOUT = float(os.environ.get("MESOS_CLUSTER_SECRET_TIMEOUT", "600"))


def get_json(url, headers):
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def fetch(name):
    metadata = {"Metadata": "true"}
    tags = get_json(IMDS + "/metadata/instance/compute/tagsList?api-version=2021-02-01", metadata)
    vaults = [tag["value"] for tag in tags if tag["name"] == "${KEY_VAULT_TAG}"]
    if not vaults:
        raise LookupError("the VM has no ${KEY_VAULT_TAG} tag")
    resource = urllib.parse.quote("https://vault.azure.net", safe="")
    token = get_json(IMDS + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + resource, metadata)
    base = VAULT_ENDPOINT or "https://%s.vault.azure.net" % vaults[0]
    url = base + "/secrets/" + urllib.parse.quote(name) + "?api-version=7.4"
    return get_json(url, {"Authorization": "Bearer " + token["access_token"]})["value"]


${RETRY_MAIN}`;
