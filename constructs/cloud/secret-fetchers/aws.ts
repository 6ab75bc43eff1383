import { RETRY_MAIN } from "./retry-main";

/**
 * The AWS secret fetcher a machine runs at boot: Python 3, standard library
 * only (no AWS CLI on Ubuntu images), signing SSM requests with SigV4.
 * `fetch-cluster-secret NAME` prints the SecureString `<prefix>NAME` read with
 * the instance profile's credentials (IMDSv2) and a SigV4-signed GetParameter
 * call, retrying for up to 10 minutes while the role and its policy propagate.
 * MESOS_CLUSTER_IMDS and MESOS_CLUSTER_SECRET_ENDPOINT override the endpoints
 * (tests only). The script itself carries one line of documentation: every
 * byte counts against the 16 KB of AWS user data.
 */

/** SSM parameter path of a cluster's secrets. */
export function ssmPrefix(clusterName: string): string {
  return `/mesos-cluster/${clusterName}/`;
}

export function awsSecretFetcher(region: string, clusterName: string): string {
  return String.raw`#!/usr/bin/python3
"""fetch-cluster-secret NAME: prints ${ssmPrefix(clusterName)}NAME from SSM (README: Where secrets live)."""
import datetime, hashlib, hmac, json, os, sys, time, urllib.parse, urllib.request

REGION = "${region}"
PREFIX = "${ssmPrefix(clusterName)}"
IMDS = os.environ.get("MESOS_CLUSTER_IMDS", "http://169.254.169.254")
ENDPOINT = os.environ.get("MESOS_CLUSTER_SECRET_ENDPOINT", "https://ssm.%s.amazonaws.com" % REGION)
TIMEOUT = float(os.environ.get("MESOS_CLUSTER_SECRET_TIMEOUT", "600"))


def read(request):
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def credentials():
    token = read(urllib.request.Request(IMDS + "/latest/api/token", method="PUT",
                                        headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"}))
    headers = {"X-aws-ec2-metadata-token": token}
    path = IMDS + "/latest/meta-data/iam/security-credentials/"
    role = read(urllib.request.Request(path, headers=headers)).split("\n")[0].strip()
    return json.loads(read(urllib.request.Request(path + role, headers=headers)))


def hmac_sha256(key, message):
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def fetch(name):
    creds = credentials()
    body = json.dumps({"Name": PREFIX + name, "WithDecryption": True}).encode()
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": urllib.parse.urlparse(ENDPOINT).netloc,
        "x-amz-date": amz_date,
        "x-amz-security-token": creds["Token"],
        "x-amz-target": "AmazonSSM.GetParameter",
    }
    signed_headers = ";".join(sorted(headers))
    canonical_headers = "".join("%s:%s\n" % (key, headers[key]) for key in sorted(headers))
    canonical_request = "\n".join(["POST", "/", "", canonical_headers, signed_headers, hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/ssm/aws4_request" % (day, REGION)
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = hmac_sha256(("AWS4" + creds["SecretAccessKey"]).encode(), day)
    for part in (REGION, "ssm", "aws4_request"):
        key = hmac_sha256(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        creds["AccessKeyId"], scope, signed_headers, signature)
    request = urllib.request.Request(ENDPOINT + "/", data=body, method="POST", headers=headers)
    return json.loads(read(request))["Parameter"]["Value"]


${RETRY_MAIN}`;
}
