/**
 * Marathon's own app JSON schema (1.7), from the shared reference folder
 * beside the repository (`../shared/reference`). Users' checkouts do not have
 * it: tests that need it say so and are skipped when it is absent (CI has it).
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import Ajv from "ajv";

export const MARATHON_SCHEMA_PATH = join(__dirname, "..", "..", "..", "shared", "reference", "marathon-app-definition.schema.json");

export type SchemaCheck = (definition: unknown) => string[];

/** A validator for app definitions (the problems it finds, none when valid), or undefined without the schema. */
export function loadMarathonSchema(): SchemaCheck | undefined {
  if (!existsSync(MARATHON_SCHEMA_PATH)) return undefined;
  const schema = JSON.parse(readFileSync(MARATHON_SCHEMA_PATH, "utf8")) as Record<string, unknown>;
  // The schema names the unversioned "http://json-schema.org/schema#"; its keywords are draft-04/07 alike.
  delete schema.$schema;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  return (definition) => (validate(definition) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`));
}

/** `describe` when the schema is there; otherwise a loud note and a skipped block. */
export function describeWithMarathonSchema(title: string, body: (check: SchemaCheck) => void): void {
  const check = loadMarathonSchema();
  if (!check) {
    // Not a failure even in CI mode: a fresh clone has no ../shared; the CI that validates has it.
    console.warn(`SKIPPED "${title}": Marathon's app schema is not at ${MARATHON_SCHEMA_PATH} (it comes from the shared reference folder beside the repository)`);
    describe.skip(title, () => body(() => []));
    return;
  }
  describe(title, () => body(check));
}
