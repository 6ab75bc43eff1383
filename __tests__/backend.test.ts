/** Remote state: the backend knobs, the per-stack key, and the errors for bad settings. */
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App } from "cdktf";
import { ClusterConfigError } from "../constructs/core/validation";
import { buildApp } from "../stacks/app";
import { BACKEND_KNOBS } from "../stacks/backend";
import { loadAppConfig } from "../stacks/config";
import { MesosClusterStack } from "../stacks/mesos-cluster-stack";
import { readSynthOutput } from "../scripts/lib/synth-output";
import { synthStack, TEST_SSH_KEY, warningsOf } from "./helpers/synth";

/** The synthesized `terraform.backend` of both stacks for this environment (and config file). */
function backends(env: Record<string, string>, file?: unknown): Record<string, unknown> {
  const cwd = mkdtempSync(join(tmpdir(), "backend-"));
  if (file !== undefined) writeFileSync(join(cwd, "cluster.config.json"), JSON.stringify(file));
  const config = loadAppConfig({ env: { CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, ...env }, cwd, homeDir: cwd });
  // A real app synth: cdktf adds its default local backend only there.
  buildApp({ config, outdir: join(cwd, "out") }).app.synth();
  return Object.fromEntries([...readSynthOutput(join(cwd, "out"))].map(([name, json]) => [name, json.terraform?.backend]));
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ClusterConfigError) return e.message;
    throw e;
  }
  throw new Error("no ClusterConfigError");
}

test("azurerm from the environment: one state blob per stack, keyed by cloud and cluster name", () => {
  expect(
    backends({
      CLUSTER_BACKEND: "azurerm",
      CLUSTER_BACKEND_STORAGE_ACCOUNT: "acmetfstate",
      CLUSTER_BACKEND_CONTAINER: "tfstate",
      CLUSTER_BACKEND_RESOURCE_GROUP: "state-rg",
      CLUSTER_BACKEND_USE_AZUREAD_AUTH: "true",
      CLUSTER_HA_BACKEND_KEY: "prod/mesos-ha.tfstate",
    }),
  ).toEqual({
    dev: { azurerm: { storage_account_name: "acmetfstate", container_name: "tfstate", resource_group_name: "state-rg", use_azuread_auth: true, key: "mesos-cluster/azure/mesos-dev.tfstate" } },
    ha: { azurerm: { storage_account_name: "acmetfstate", container_name: "tfstate", resource_group_name: "state-rg", use_azuread_auth: true, key: "prod/mesos-ha.tfstate" } },
  });
});

test("azurerm authenticates with Entra ID unless told to use the account key", () => {
  const env = { CLUSTER_BACKEND: "azurerm", CLUSTER_BACKEND_STORAGE_ACCOUNT: "acmetfstate", CLUSTER_BACKEND_CONTAINER: "tfstate", CLUSTER_BACKEND_RESOURCE_GROUP: "state-rg" };
  expect((backends(env) as Record<string, { azurerm: Record<string, unknown> }>).ha.azurerm.use_azuread_auth).toBe(true);
  expect((backends({ ...env, CLUSTER_BACKEND_USE_AZUREAD_AUTH: "false" }) as Record<string, { azurerm: Record<string, unknown> }>).ha.azurerm.use_azuread_auth).toBe(false);
});

test("s3 with a KMS key: SSE-KMS; without one SSE-S3 and a warning naming the knob; a malformed key is refused", () => {
  const key = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const file = { cloud: "aws", backend: { type: "s3", bucket: "acme-tf-state", region: "eu-central-1", kmsKeyId: key } };
  expect((backends({}, file) as Record<string, { s3: Record<string, unknown> }>).ha.s3).toMatchObject({ encrypt: true, kms_key_id: key });
  const stack = (backend: Record<string, unknown>) =>
    new MesosClusterStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "prod", { cloud: "aws", sshPublicKey: TEST_SSH_KEY, backend: backend as never });
  const warnings = (s: MesosClusterStack) => warningsOf(s).filter((w) => w.includes("S3"));
  expect(warnings(stack({ type: "s3", bucket: "acme-tf-state", region: "us-east-2" }))).toEqual([expect.stringContaining("prod: the S3 state is encrypted with S3-managed keys (SSE-S3)")]);
  expect(warnings(stack({ type: "s3", bucket: "acme-tf-state", region: "us-east-2", kmsKeyId: "alias/tf-state" }))).toEqual([]);
  expect(errorOf(() => stack({ type: "s3", bucket: "acme-tf-state", region: "us-east-2", kmsKeyId: "my-key" }))).toBe(
    'prod: invalid backend.kmsKeyId "my-key"; allowed: a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or :alias/NAME), a key id or alias/NAME',
  );
});

test("s3 from the config file: encrypted, locked with a lock file unless a DynamoDB table is named", () => {
  const file = { cloud: "aws", backend: { type: "s3", bucket: "acme-tf-state", region: "eu-central-1", keyPrefix: "platform/" } };
  expect(backends({}, file)).toEqual({
    dev: { s3: { bucket: "acme-tf-state", region: "eu-central-1", key: "platform/aws/mesos-dev.tfstate", encrypt: true, use_lockfile: true } },
    ha: { s3: { bucket: "acme-tf-state", region: "eu-central-1", key: "platform/aws/mesos-ha.tfstate", encrypt: true, use_lockfile: true } },
  });
  const withTable = backends({ CLUSTER_BACKEND_DYNAMODB_TABLE: "tf-locks" }, file) as Record<string, { s3: Record<string, unknown> }>;
  expect(withTable.ha.s3).toEqual({ bucket: "acme-tf-state", region: "eu-central-1", key: "platform/aws/mesos-ha.tfstate", encrypt: true, dynamodb_table: "tf-locks" });
});

test("a layer that names another backend type starts afresh; local keeps cdktf's default file", () => {
  const file = { backend: { type: "s3", bucket: "acme-tf-state", region: "eu-west-1" } };
  const local = backends({ CLUSTER_DEV_BACKEND: "local" }, file) as Record<string, Record<string, unknown>>;
  expect(Object.keys(local.dev)).toEqual(["local"]);
  expect(String((local.dev.local as { path: string }).path)).toMatch(/terraform\.dev\.tfstate$/);
  expect(Object.keys(local.ha)).toEqual(["s3"]);
  expect(backends({ CLUSTER_BACKEND: "local", CLUSTER_BACKEND_PATH: "/srv/state/cluster.tfstate" })).toMatchObject({ ha: { local: { path: "/srv/state/cluster.tfstate" } } });
});

test("bad settings name the setting, the value and what is allowed", () => {
  const cwd = mkdtempSync(join(tmpdir(), "backend-"));
  const load = (env: Record<string, string>, file?: unknown) => () => {
    if (file !== undefined) writeFileSync(join(cwd, "cluster.config.json"), JSON.stringify(file));
    buildApp({ config: loadAppConfig({ env: { CLUSTER_SSH_PUBLIC_KEY: TEST_SSH_KEY, ...env }, cwd, homeDir: cwd }), outdir: join(cwd, "out") });
  };
  expect(errorOf(load({ CLUSTER_BACKEND: "gcs" }))).toBe('dev: invalid backend.type "gcs" (from CLUSTER_BACKEND); allowed: "local", "azurerm", "s3" (CLUSTER_BACKEND)');
  expect(errorOf(load({ CLUSTER_BACKEND: "s3", CLUSTER_BACKEND_REGION: "eu-west-1" }))).toBe(
    'dev: invalid backend.bucket (undefined); allowed: the S3 bucket holding the state (CLUSTER_BACKEND_BUCKET), required with backend "s3"',
  );
  expect(errorOf(load({ CLUSTER_BACKEND: "azurerm", CLUSTER_BACKEND_STORAGE_ACCOUNT: "Acme-State", CLUSTER_BACKEND_CONTAINER: "tfstate", CLUSTER_BACKEND_RESOURCE_GROUP: "rg" }))).toBe(
    'dev: invalid backend.storageAccountName "Acme-State" (from CLUSTER_BACKEND_STORAGE_ACCOUNT); allowed: 3-24 lower-case letters and digits (an Azure storage account name)',
  );
  expect(errorOf(load({ CLUSTER_BACKEND: "azurerm", CLUSTER_BACKEND_BUCKET: "acme" }))).toBe('dev: invalid backend.bucket "acme" (from CLUSTER_BACKEND_BUCKET); allowed: only with backend "s3", not "azurerm"');
  expect(errorOf(load({ CLUSTER_BACKEND: "s3", CLUSTER_BACKEND_BUCKET: "acme", CLUSTER_BACKEND_REGION: "eu-west-1", CLUSTER_BACKEND_USE_LOCKFILE: "false" }))).toBe(
    "dev: invalid backend.useLockfile false (from CLUSTER_BACKEND_USE_LOCKFILE); allowed: true, or false together with backend.dynamodbTable (state without a lock can be corrupted by two applies)",
  );
  expect(errorOf(load({ CLUSTER_BACKEND_USE_LOCKFILE: "yes" }))).toBe('app: invalid CLUSTER_BACKEND_USE_LOCKFILE "yes"; allowed: "true" or "false"');
  expect(errorOf(load({}, { backend: { type: "s3", bucktet: "acme" } }))).toMatch(/cluster\.config\.json: invalid backend\.bucktet "bucktet"; allowed: one of type, path, key, /);
});

test("the library: MesosClusterStack takes a typed backend", () => {
  const stack = new MesosClusterStack(new App({ outdir: "/tmp/mesos-cluster-test-out" }), "prod", {
    cloud: "aws",
    sshPublicKey: TEST_SSH_KEY,
    backend: { type: "s3", bucket: "acme-tf-state", region: "us-east-2", key: "prod.tfstate", dynamodbTable: "locks", useLockfile: true },
  });
  expect(synthStack(stack).terraform?.backend).toEqual({
    s3: { bucket: "acme-tf-state", region: "us-east-2", key: "prod.tfstate", encrypt: true, dynamodb_table: "locks", use_lockfile: true },
  });
});

test("every backend setting is documented in the README", () => {
  const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
  for (const knob of BACKEND_KNOBS) {
    expect(readme).toContain(`| \`CLUSTER_${knob.env}\` | \`backend.${knob.key}\` |`);
  }
});
