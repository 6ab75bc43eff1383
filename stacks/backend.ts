/**
 * Where a stack keeps its Terraform state: cdktf's local file (the default),
 * an Azure storage container (`azurerm`) or an S3 bucket (`s3`). A plan in CI
 * (`cdktf diff`) only means something against the state the deployments
 * wrote, so CI needs one of the remote backends.
 *
 * Configuration: `CLUSTER_BACKEND=azurerm|s3|local` plus `CLUSTER_BACKEND_*`
 * settings, or a `backend` object in the config file (see {@link BACKEND_KNOBS}).
 */
import { Annotations, AzurermBackend, LocalBackend, S3Backend } from "cdktf";
import { Construct } from "constructs";
import { CloudName } from "../constructs/cloud/target";
import { ClusterConfigError, describeValue, fail, pathOf } from "../constructs/core/validation";

/** State in a local file (cdktf's default). */
export interface LocalStateBackend {
  readonly type: "local";
  /**
   * Path of the state file.
   * @default cdktf's `terraform.<stack>.tfstate` in the project folder
   */
  readonly path?: string;
}

/** Settings every remote backend shares. */
export interface RemoteStateBackendBase {
  /**
   * Blob name / object key of this stack's state.
   * @default `<keyPrefix>/<cloud>/<cluster name>.tfstate`
   */
  readonly key?: string;
  /**
   * Folder of the default key; ignored when `key` is given.
   * @default "mesos-cluster"
   */
  readonly keyPrefix?: string;
}

/** State in an Azure storage container; Terraform locks it with a blob lease. */
export interface AzurermStateBackend extends RemoteStateBackendBase {
  readonly type: "azurerm";
  /** Storage account holding the container (must exist). */
  readonly storageAccountName: string;
  /** Blob container for the state (must exist). */
  readonly containerName: string;
  /** Resource group of the storage account. */
  readonly resourceGroupName: string;
  /** Subscription of the storage account. @default the provider's (ARM_SUBSCRIPTION_ID) */
  readonly subscriptionId?: string;
  /**
   * Authenticate to the blob with Entra ID (the identity running Terraform
   * needs "Storage Blob Data Contributor" on the container) instead of
   * fetching the storage account key, which opens every blob of the account
   * (hashicorp/terraform `internal/backend/remote-state/azure`:
   * `use_azuread_auth`). `false` falls back to the account key.
   * @default true
   */
  readonly useAzureadAuth?: boolean;
}

/** State in an S3 bucket, encrypted at rest. */
export interface S3StateBackend extends RemoteStateBackendBase {
  readonly type: "s3";
  /** Bucket for the state (must exist; enable versioning on it). */
  readonly bucket: string;
  /** Region of the bucket. */
  readonly region: string;
  /**
   * DynamoDB table for locks (the pre-1.10 way). Without it the state is
   * locked with a lock file next to it (`use_lockfile`, Terraform 1.10 or later).
   * @default none: S3 lock file
   */
  readonly dynamodbTable?: string;
  /**
   * Lock with an S3 lock file. Turn off only together with `dynamodbTable`
   * (running without any lock lets two applies corrupt the state).
   * @default true unless `dynamodbTable` is given
   */
  readonly useLockfile?: boolean;
  /**
   * A KMS key (ARN, id or alias ARN) the state is encrypted with (SSE-KMS):
   * reading the state then also needs `kms:Decrypt` on this key, so the key's
   * policy decides who can read the cluster's secrets in the state. Without
   * it the state is encrypted with S3-managed keys (SSE-S3: anyone who can
   * read the object reads the state), and synth warns.
   * @default none: SSE-S3
   */
  readonly kmsKeyId?: string;
}

/** Where a stack keeps its Terraform state. */
export type StateBackend = LocalStateBackend | AzurermStateBackend | S3StateBackend;

/** The backend types. */
export const BACKEND_TYPES = ["local", "azurerm", "s3"] as const;

/** Backend settings before validation (what the config layers merge). */
export type BackendSettings = { -readonly [K in BackendKey]?: unknown };
type BackendKey = "type" | "path" | "key" | "keyPrefix" | "storageAccountName" | "containerName" | "resourceGroupName" | "subscriptionId" | "useAzureadAuth" | "bucket" | "region" | "dynamodbTable" | "useLockfile" | "kmsKeyId";

/**
 * Each setting: its key in the file's `backend` object, its environment name
 * (`CLUSTER_[<STACK>_]<env>`), its kind, and the backend types it applies to.
 */
export const BACKEND_KNOBS: readonly { readonly key: BackendKey; readonly env: string; readonly kind: "string" | "bool"; readonly types: readonly string[] }[] = [
  { key: "type", env: "BACKEND", kind: "string", types: BACKEND_TYPES },
  { key: "path", env: "BACKEND_PATH", kind: "string", types: ["local"] },
  { key: "key", env: "BACKEND_KEY", kind: "string", types: ["azurerm", "s3"] },
  { key: "keyPrefix", env: "BACKEND_KEY_PREFIX", kind: "string", types: ["azurerm", "s3"] },
  { key: "storageAccountName", env: "BACKEND_STORAGE_ACCOUNT", kind: "string", types: ["azurerm"] },
  { key: "containerName", env: "BACKEND_CONTAINER", kind: "string", types: ["azurerm"] },
  { key: "resourceGroupName", env: "BACKEND_RESOURCE_GROUP", kind: "string", types: ["azurerm"] },
  { key: "subscriptionId", env: "BACKEND_SUBSCRIPTION_ID", kind: "string", types: ["azurerm"] },
  { key: "useAzureadAuth", env: "BACKEND_USE_AZUREAD_AUTH", kind: "bool", types: ["azurerm"] },
  { key: "bucket", env: "BACKEND_BUCKET", kind: "string", types: ["s3"] },
  { key: "region", env: "BACKEND_REGION", kind: "string", types: ["s3"] },
  { key: "dynamodbTable", env: "BACKEND_DYNAMODB_TABLE", kind: "string", types: ["s3"] },
  { key: "useLockfile", env: "BACKEND_USE_LOCKFILE", kind: "bool", types: ["s3"] },
  { key: "kmsKeyId", env: "BACKEND_KMS_KEY_ID", kind: "string", types: ["s3"] },
];

/** Reads `<prefix>BACKEND*` variables; undefined when none is set. */
export function backendFromEnv(env: NodeJS.ProcessEnv, prefix: string): BackendSettings | undefined {
  const settings: BackendSettings = {};
  for (const knob of BACKEND_KNOBS) {
    const name = `${prefix}${knob.env}`;
    const text = env[name];
    if (text === undefined || text === "") continue;
    if (knob.kind === "bool") {
      if (text !== "true" && text !== "false") throw new ClusterConfigError("app", name, text, '"true" or "false"');
      settings[knob.key] = text === "true";
    } else settings[knob.key] = text;
  }
  return Object.keys(settings).length > 0 ? settings : undefined;
}

/** Checks the keys of a file's `backend` object (values are checked per stack by {@link checkBackend}). */
export function checkBackendKeys(where: string, property: string, value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ClusterConfigError(where, property, value, `an object such as {"type": "s3", "bucket": "...", "region": "..."}`);
  }
  const keys = BACKEND_KNOBS.map((k) => k.key as string);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new ClusterConfigError(where, `${property}.${key}`, key, `one of ${keys.join(", ")}`);
  }
}

/**
 * Layers backend settings: a later layer's values win, and a layer that names
 * another `type` starts afresh (settings of the other backend do not carry over).
 */
export function mergeBackend(lower: BackendSettings | undefined, upper: BackendSettings): BackendSettings {
  if (!lower || (upper.type !== undefined && upper.type !== lower.type)) return { ...upper };
  return { ...lower, ...upper };
}

/** Validates settings into a {@link StateBackend}; every problem names the setting, the value and what is allowed. */
export function checkBackend(scope: Construct | string, settings: BackendSettings | StateBackend): StateBackend {
  const s = settings as BackendSettings;
  const type = s.type;
  if (!BACKEND_TYPES.includes(type as StateBackend["type"])) {
    fail(scope, "backend.type", type, `${BACKEND_TYPES.map((t) => describeValue(t)).join(", ")} (CLUSTER_BACKEND)`);
  }
  for (const knob of BACKEND_KNOBS) {
    const value = s[knob.key];
    if (value === undefined) continue;
    if (!knob.types.includes(type as string)) {
      fail(scope, `backend.${knob.key}`, value, `only with backend ${knob.types.map((t) => describeValue(t)).join(" or ")}, not ${describeValue(type)}`);
    }
    if (knob.kind === "bool" ? typeof value !== "boolean" : typeof value !== "string" || value.trim() === "") {
      fail(scope, `backend.${knob.key}`, value, knob.kind === "bool" ? "true or false" : "a non-empty string");
    }
  }
  const need = (key: BackendKey, what: string, pattern?: RegExp, shape?: string) => {
    const value = s[key] as string | undefined;
    const env = BACKEND_KNOBS.find((k) => k.key === key)!.env;
    if (value === undefined) fail(scope, `backend.${key}`, value, `${what} (CLUSTER_${env}), required with backend ${describeValue(type)}`);
    if (pattern && !pattern.test(value)) fail(scope, `backend.${key}`, value, shape ?? what);
  };
  if (s.key !== undefined && !/^[A-Za-z0-9._\-/]+$/.test(s.key as string)) fail(scope, "backend.key", s.key, "an object key of letters, digits and . _ - /");
  if (s.keyPrefix !== undefined && !/^[A-Za-z0-9._\-/]+$/.test(s.keyPrefix as string)) fail(scope, "backend.keyPrefix", s.keyPrefix, "a key folder of letters, digits and . _ - /");
  if (type === "azurerm") {
    // Azure's naming rules: storage accounts 3-24 lower-case letters and digits; containers 3-63, lower case, digits, '-'.
    need("storageAccountName", "the storage account holding the state", /^[a-z0-9]{3,24}$/, "3-24 lower-case letters and digits (an Azure storage account name)");
    need("containerName", "the blob container for the state", /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, "3-63 lower-case letters, digits and single '-' (an Azure container name)");
    need("resourceGroupName", "the resource group of the storage account", /^[-\w._()]{1,90}$/, "an Azure resource group name");
  } else if (type === "s3") {
    need("bucket", "the S3 bucket holding the state", /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "3-63 lower-case letters, digits, '.' and '-' (an S3 bucket name)");
    need("region", "the region of the bucket", /^[a-z]{2}(-gov)?-[a-z]+-\d$/, "an AWS region name such as eu-west-1");
    if (s.kmsKeyId !== undefined && !/^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key\/[0-9a-f-]{36}|alias\/[A-Za-z0-9/_-]+)|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|alias\/[A-Za-z0-9/_-]+)$/.test(s.kmsKeyId as string)) {
      fail(scope, "backend.kmsKeyId", s.kmsKeyId, "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or :alias/NAME), a key id or alias/NAME");
    }
    if (s.useLockfile === false && s.dynamodbTable === undefined) {
      fail(scope, "backend.useLockfile", false, "true, or false together with backend.dynamodbTable (state without a lock can be corrupted by two applies)");
    }
  }
  return settings as StateBackend;
}

/**
 * Configures `stack`'s backend. The default key is per stack: the cloud and
 * the cluster name tell two deployments sharing a bucket apart.
 */
export function applyBackend(stack: Construct, settings: BackendSettings | StateBackend | undefined, cloud: CloudName, clusterName: string): void {
  if (settings === undefined) return;
  const backend = checkBackend(stack, settings);
  if (backend.type === "local") {
    // cdktf already writes a local backend; only a custom path needs saying.
    if (backend.path !== undefined) new LocalBackend(stack, { path: backend.path });
    return;
  }
  const key = backend.key ?? `${(backend.keyPrefix ?? "mesos-cluster").replace(/\/+$/, "")}/${cloud}/${clusterName}.tfstate`;
  if (backend.type === "azurerm") {
    new AzurermBackend(stack, {
      storageAccountName: backend.storageAccountName,
      containerName: backend.containerName,
      resourceGroupName: backend.resourceGroupName,
      subscriptionId: backend.subscriptionId,
      useAzureadAuth: backend.useAzureadAuth ?? true,
      key,
    });
    return;
  }
  const s3 = new S3Backend(stack, {
    bucket: backend.bucket,
    region: backend.region,
    key,
    encrypt: true,
    kmsKeyId: backend.kmsKeyId,
    dynamodbTable: backend.dynamodbTable,
  });
  if (backend.kmsKeyId === undefined) {
    Annotations.of(stack).addWarning(
      `${pathOf(stack)}: the S3 state is encrypted with S3-managed keys (SSE-S3): whoever may read the object reads every cluster secret in it; name a KMS key (backend.kmsKeyId, CLUSTER_BACKEND_KMS_KEY_ID) so that its key policy decides`,
    );
  }
  // cdktf 0.21's S3BackendConfig predates `use_lockfile` (Terraform 1.10): set it as an override.
  if (backend.useLockfile ?? backend.dynamodbTable === undefined) s3.addOverride("use_lockfile", true);
}
