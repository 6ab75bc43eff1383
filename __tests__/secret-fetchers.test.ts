/**
 * The programs masters run at boot to read their secrets, taken from the
 * synthesized user data and run for real with python3 against local fakes
 * of each cloud's metadata service and secret store. The AWS fake checks the
 * SigV4 signature by recomputing it.
 */
import { execFile } from "child_process";
import { createHash, createHmac } from "crypto";
import { mkdtempSync, writeFileSync } from "fs";
import { IncomingMessage } from "http";
import { tmpdir } from "os";
import { join } from "path";
import { KEY_VAULT_URI_PLACEHOLDER, parseVaultUriTemplate } from "../constructs/cloud/secret-fetchers/azure";
import { PYTHON3 } from "../scripts/lib/tools";
import { fileOf, machineDocs, parseCloudConfig, resolveRef, synthCluster } from "./helpers/synth";
import { closeFakes, reply, serveFake } from "./helpers/http-fake";
import { describeWithTool } from "./helpers/tools";

function run(script: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("python3", [script, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * The fetcher exactly as the first master of the ha stack receives it. On
 * Azure, Terraform writes the URI of the masters' vault into custom_data at
 * apply (`replace` of the placeholder); `vaultUri` stands in for it here.
 */
function fetcherOf(cloud: "azure" | "aws", vaultUri?: string): string {
  const { json } = synthCluster({ cloud, profile: "ha" });
  const master = machineDocs(json, cloud)[0];
  const doc = parseCloudConfig(master.text);
  expect(doc.files.get("/usr/local/sbin/fetch-cluster-secret")?.permissions).toBe("0700");
  let text = fileOf(doc, "/usr/local/sbin/fetch-cluster-secret");
  if (cloud === "azure") {
    const template = parseVaultUriTemplate(String(master.resource.custom_data));
    expect(resolveRef(json, template?.vaultUri).name).toEqual(expect.stringMatching(/^mesos-ha-\$\{random_string\.azure_vault-suffix/));
    expect(text.split(KEY_VAULT_URI_PLACEHOLDER)).toHaveLength(2);
    text = text.split(KEY_VAULT_URI_PLACEHOLDER).join(vaultUri ?? "");
  }
  const path = join(mkdtempSync(join(tmpdir(), "fetcher-")), "fetch-cluster-secret");
  writeFileSync(path, text);
  return path;
}

afterAll(closeFakes);

describeWithTool(PYTHON3, "Azure: Key Vault through the managed identity", () => {
  let script: string;
  const seen: string[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    const imds = await serveFake((req, _body, res) => {
      seen.push(`imds ${req.url}`);
      if (req.headers.metadata !== "true") return reply(res, 400, { error: "Metadata header required" });
      // Whoever may write the VM's tags names another vault here: the fetcher must not ask.
      if (req.url?.startsWith("/metadata/instance/compute/tagsList")) return reply(res, 200, [{ name: "mesos-cluster-key-vault", value: "attacker-vault" }]);
      if (req.url === "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net") {
        return reply(res, 200, { access_token: "vault-token" });
      }
      reply(res, 404, {});
    });
    const vault = await serveFake((req, _body, res) => {
      seen.push(`vault ${req.url} ${req.headers.authorization}`);
      if (req.headers.authorization !== "Bearer vault-token") return reply(res, 401, {});
      if (req.url === "/secrets/marathon-password?api-version=7.4") return reply(res, 200, { value: "s3cretFromVault" });
      reply(res, 403, { error: { code: "Forbidden" } });
    });
    // vault_uri as azurerm_key_vault exports it, with its trailing slash.
    script = fetcherOf("azure", `${vault}/`);
    env = { MESOS_CLUSTER_IMDS: imds, MESOS_CLUSTER_SECRET_TIMEOUT: "3" };
  });

  test("prints the secret from the vault whose URI Terraform wrote into it; the VM's tags are never read", async () => {
    const result = await run(script, ["marathon-password"], env);
    expect(result).toMatchObject({ code: 0, stdout: "s3cretFromVault" });
    expect(seen).toContain("vault /secrets/marathon-password?api-version=7.4 Bearer vault-token");
    // The fetcher of earlier versions read the vault's name from this tag (and went to attacker-vault).
    expect(seen.filter((s) => s.includes("tagsList"))).toEqual([]);
  });

  test("retries, then fails clearly when the identity may not read the secret", async () => {
    const result = await run(script, ["mesos-password"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^fetch-cluster-secret: mesos-password: HTTP Error 403/);
    expect(seen.filter((s) => s.startsWith("vault /secrets/mesos-password")).length).toBeGreaterThan(1);
  });

  test("a file Terraform did not complete reaches no vault and says why", async () => {
    const unrendered = fetcherOf("azure", KEY_VAULT_URI_PLACEHOLDER);
    const before = seen.length;
    const result = await run(unrendered, ["marathon-password"], { ...env, MESOS_CLUSTER_SECRET_TIMEOUT: "1" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^fetch-cluster-secret: marathon-password: no vault URI in this file/);
    expect(seen.slice(before)).toEqual([]);
  });
});

describeWithTool(PYTHON3, "AWS: SSM Parameter Store through the instance profile (IMDSv2, SigV4)", () => {
  let script: string;
  let env: Record<string, string>;
  const requests: { headers: IncomingMessage["headers"]; body: string }[] = [];
  const creds = { AccessKeyId: "AKIATESTKEY", SecretAccessKey: "secret/key+test", Token: "session-token" };

  beforeAll(async () => {
    script = fetcherOf("aws");
    const imds = await serveFake((req, _body, res) => {
      if (req.method === "PUT" && req.url === "/latest/api/token") {
        if (req.headers["x-aws-ec2-metadata-token-ttl-seconds"] !== "300") return reply(res, 400, {});
        res.end("imds-v2-token");
        return;
      }
      // IMDSv2: every read needs the session token.
      if (req.headers["x-aws-ec2-metadata-token"] !== "imds-v2-token") return reply(res, 401, {});
      if (req.url === "/latest/meta-data/iam/security-credentials/") return void res.end("mesos-ha-machines");
      if (req.url === "/latest/meta-data/iam/security-credentials/mesos-ha-machines") return reply(res, 200, creds);
      reply(res, 404, {});
    });
    const ssm = await serveFake((req, body, res) => {
      requests.push({ headers: req.headers, body });
      const name = JSON.parse(body).Name;
      if (name === "/mesos-cluster/mesos-ha/marathon-password") return reply(res, 200, { Parameter: { Name: name, Value: "s3cretFromSsm" } });
      reply(res, 400, { __type: "ParameterNotFound" });
    });
    env = { MESOS_CLUSTER_IMDS: imds, MESOS_CLUSTER_SECRET_ENDPOINT: ssm, MESOS_CLUSTER_SECRET_TIMEOUT: "3" };
  });

  test("prints the parameter, asked for with a valid SigV4 signature", async () => {
    const result = await run(script, ["marathon-password"], env);
    expect(result).toMatchObject({ code: 0, stdout: "s3cretFromSsm" });
    const { headers, body } = requests[0];
    expect(JSON.parse(body)).toEqual({ Name: "/mesos-cluster/mesos-ha/marathon-password", WithDecryption: true });
    expect(headers["x-amz-target"]).toBe("AmazonSSM.GetParameter");
    expect(headers["x-amz-security-token"]).toBe("session-token");
    // Recompute the signature as AWS would.
    const amzDate = String(headers["x-amz-date"]);
    const day = amzDate.slice(0, 8);
    const signed = ["content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"];
    const canonical = [
      "POST",
      "/",
      "",
      signed.map((h) => `${h}:${headers[h]}\n`).join(""),
      signed.join(";"),
      createHash("sha256").update(body).digest("hex"),
    ].join("\n");
    const scope = `${day}/eu-west-1/ssm/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
    let key: Buffer = createHmac("sha256", `AWS4${creds.SecretAccessKey}`).update(day).digest();
    for (const part of ["eu-west-1", "ssm", "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
    const signature = createHmac("sha256", key).update(toSign).digest("hex");
    expect(headers.authorization).toBe(`AWS4-HMAC-SHA256 Credential=AKIATESTKEY/${scope}, SignedHeaders=${signed.join(";")}, Signature=${signature}`);
  });

  test("fails clearly for a parameter outside the cluster's path", async () => {
    const result = await run(script, ["nope"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^fetch-cluster-secret: nope: HTTP Error 400/);
  });
});
