/**
 * A small JSON schema validator for the keywords Marathon's app schema uses
 * (constructs/core/marathon-app-schema.ts), so that the library checks
 * definitions at synth without a run-time dependency. Keywords follow draft-04
 * (the schema names the unversioned "http://json-schema.org/schema#"), as ajv
 * applies them with `strict: false, validateFormats: false`, which the tests
 * compare it with:
 *
 * - type-specific keywords apply to values of their type only (`items` on an
 *   object, `minLength` on a number: no effect);
 * - `format` is not checked (the only format, `date-time`, is on `version` and
 *   `versionInfo`, read-only fields Marathon writes and the renderer never
 *   does);
 * - annotations (`description`, `default`, `$comment`, `$schema`) are ignored,
 *   and so is a keyword this file does not know: {@link unknownKeywords} lists
 *   them, and a test fails when the vendored schema has one it does not expect.
 */

/** A JSON schema, or the boolean schema of `additionalProperties`/`additionalItems`. */
export type JsonSchema = boolean | JsonSchemaObject;

/** A schema object with the keywords this validator applies. */
export interface JsonSchemaObject {
  readonly [keyword: string]: unknown;
  readonly type?: JsonType | readonly JsonType[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly patternProperties?: Readonly<Record<string, JsonSchema>>;
  readonly additionalProperties?: JsonSchema;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly items?: JsonSchema | readonly JsonSchema[];
  readonly additionalItems?: JsonSchema;
  readonly minItems?: number;
  readonly $ref?: string;
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly not?: JsonSchema;
  readonly format?: string;
  readonly definitions?: Readonly<Record<string, JsonSchema>>;
}

/** The JSON types a `type` keyword names. */
export type JsonType = "null" | "boolean" | "object" | "array" | "number" | "integer" | "string";

/** One way a value breaks a schema. */
export interface SchemaViolation {
  /** JSON pointer of the offending value in the validated document (`""` for the document itself), e.g. `/container/docker/image`. */
  readonly pointer: string;
  /** The offending value (for an unknown property: the property's value). */
  readonly value: unknown;
  /** The keyword that refused it. */
  readonly keyword: string;
  /** What the schema allows there, e.g. `a string matching ^[a-z]+$`. */
  readonly allowed: string;
}

/** Keywords the validator applies, and those it ignores on purpose (annotations, `format`, `definitions` which `$ref` reads). */
export const APPLIED_KEYWORDS: readonly string[] = [
  "type", "properties", "patternProperties", "additionalProperties", "required", "enum", "pattern", "minimum", "maximum",
  "minLength", "maxLength", "items", "additionalItems", "minItems", "$ref", "oneOf", "allOf", "not",
];
const IGNORED_KEYWORDS: readonly string[] = ["format", "definitions", "description", "default", "$comment", "$schema"];
const KNOWN = new Set([...APPLIED_KEYWORDS, ...IGNORED_KEYWORDS]);

/** `pointer: keyword` for every keyword of `schema` (and its subschemas) that this validator neither applies nor deliberately ignores. */
export function unknownKeywords(schema: JsonSchema, pointer = ""): string[] {
  if (typeof schema === "boolean") return [];
  const found: string[] = [];
  for (const [keyword, value] of Object.entries(schema)) {
    const at = `${pointer}/${escapePointer(keyword)}`;
    if (!KNOWN.has(keyword)) found.push(`${pointer}: ${keyword}`);
    else if (["properties", "patternProperties", "definitions"].includes(keyword)) {
      for (const [name, sub] of Object.entries(value as Record<string, JsonSchema>)) found.push(...unknownKeywords(sub, `${at}/${escapePointer(name)}`));
    } else if (["items", "oneOf", "allOf"].includes(keyword) && Array.isArray(value)) {
      value.forEach((sub: JsonSchema, i) => found.push(...unknownKeywords(sub, `${at}/${i}`)));
    } else if (["items", "additionalProperties", "additionalItems", "not"].includes(keyword)) {
      found.push(...unknownKeywords(value as JsonSchema, at));
    }
  }
  return found;
}

/**
 * Validates `value` against `schema` (whose `$ref`s point into `root`, `#/definitions/...`):
 * every violation, none when valid. Subschemas of a `oneOf` or `not` report as the keyword itself.
 */
export function validateJsonSchema(schema: JsonSchema, value: unknown, root: JsonSchema = schema, pointer = ""): SchemaViolation[] {
  if (schema === true) return [];
  if (schema === false) return [{ pointer, value, keyword: "false", allowed: "nothing (no value may be here)" }];
  const out: SchemaViolation[] = [];
  const refuse = (keyword: string, allowed: string, at = pointer, v = value) => out.push({ pointer: at, value: v, keyword, allowed });

  if (schema.$ref !== undefined) out.push(...validateJsonSchema(resolveRef(root, schema.$ref), value, root, pointer));
  if (schema.type !== undefined) {
    const types = (Array.isArray(schema.type) ? schema.type : [schema.type]) as JsonType[];
    if (!types.some((t) => hasType(value, t))) {
      refuse("type", types.map(article).join(" or "));
      return out; // the other keywords would only repeat it
    }
  }
  if (schema.enum !== undefined && !schema.enum.some((e) => deepEqual(e, value))) refuse("enum", `one of ${schema.enum.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join(", ")}`);

  if (typeof value === "string") {
    const length = [...value].length; // code points, as ajv counts
    if (schema.minLength !== undefined && length < schema.minLength) refuse("minLength", `a string of at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && length > schema.maxLength) refuse("maxLength", `a string of at most ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) refuse("pattern", `a string matching ${schema.pattern}`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) refuse("minimum", `a number >= ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) refuse("maximum", `a number <= ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) refuse("minItems", `a list of at least ${schema.minItems} items`);
    const items = schema.items;
    if (Array.isArray(items)) {
      value.forEach((item, i) => {
        const sub = i < items.length ? (items[i] as JsonSchema) : schema.additionalItems;
        if (i >= items.length && sub === false) refuse("additionalItems", `a list of at most ${items.length} items`, `${pointer}/${i}`, item);
        else if (sub !== undefined) out.push(...validateJsonSchema(sub, item, root, `${pointer}/${i}`));
      });
    } else if (items !== undefined) {
      value.forEach((item, i) => out.push(...validateJsonSchema(items as JsonSchema, item, root, `${pointer}/${i}`)));
    }
  }
  if (isObject(value)) {
    for (const name of schema.required ?? []) {
      if (!(name in value)) refuse("required", `an object with the property "${name}"`);
    }
    const properties = schema.properties ?? {};
    const patterns = Object.entries(schema.patternProperties ?? {}).map(([p, sub]) => [new RegExp(p, "u"), sub] as const);
    for (const [name, item] of Object.entries(value)) {
      const at = `${pointer}/${escapePointer(name)}`;
      let matched = false;
      if (Object.prototype.hasOwnProperty.call(properties, name)) {
        matched = true;
        out.push(...validateJsonSchema(properties[name], item, root, at));
      }
      for (const [re, sub] of patterns) {
        if (!re.test(name)) continue;
        matched = true;
        out.push(...validateJsonSchema(sub, item, root, at));
      }
      if (matched || schema.additionalProperties === undefined) continue;
      if (schema.additionalProperties === false) {
        const known = Object.keys(properties);
        refuse("additionalProperties", `no property "${name}" (allowed: ${known.length ? known.join(", ") : "none"})`, at, item);
      } else out.push(...validateJsonSchema(schema.additionalProperties, item, root, at));
    }
  }

  for (const sub of schema.allOf ?? []) out.push(...validateJsonSchema(sub, value, root, pointer));
  if (schema.oneOf !== undefined) {
    const results = schema.oneOf.map((sub) => validateJsonSchema(sub, value, root, pointer));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing !== 1) {
      // None passes but only one alternative has the value's type: its own complaint is the useful one.
      const typed = schema.oneOf.map((sub, i) => [sub, results[i]] as const).filter(([sub]) => typeAccepts(root, sub, value));
      if (passing === 0 && typed.length === 1) out.push(...typed[0][1]);
      else refuse("oneOf", `exactly one of: ${schema.oneOf.map((sub) => summary(root, sub)).join("; ")}${passing > 1 ? ` (${passing} match)` : ""}`);
    }
  }
  if (schema.not !== undefined && validateJsonSchema(schema.not, value, root, pointer).length === 0) refuse("not", `anything but ${summary(root, schema.not)}`);
  return out;
}

/** A short description of a subschema for messages: its type and what it requires. */
function summary(root: JsonSchema, schema: JsonSchema): string {
  if (typeof schema === "boolean") return schema ? "anything" : "nothing";
  if (schema.$ref !== undefined) return summary(root, resolveRef(root, schema.$ref));
  const parts: string[] = [];
  if (schema.type !== undefined) parts.push((Array.isArray(schema.type) ? schema.type : [schema.type]).map(article).join(" or "));
  if (schema.enum !== undefined) parts.push(`one of ${schema.enum.join(", ")}`);
  if (schema.required?.length) parts.push(`with ${schema.required.join(" and ")}`);
  if (schema.allOf?.length) parts.push(schema.allOf.map((s) => summary(root, s)).join(" and "));
  return parts.join(" ") || "a value";
}

function typeAccepts(root: JsonSchema, schema: JsonSchema, value: unknown): boolean {
  if (typeof schema === "boolean") return schema;
  if (schema.$ref !== undefined) return typeAccepts(root, resolveRef(root, schema.$ref), value);
  if (schema.type === undefined) return true;
  return (Array.isArray(schema.type) ? schema.type : [schema.type]).some((t: JsonType) => hasType(value, t));
}

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith("#")) throw new Error(`unsupported $ref ${JSON.stringify(ref)}: only local references (#/definitions/...)`);
  let node: unknown = root;
  for (const part of ref.slice(1).split("/").filter((p) => p !== "")) {
    node = isObject(node) ? node[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
    if (node === undefined) throw new Error(`unresolved $ref ${JSON.stringify(ref)}`);
  }
  return node as JsonSchema;
}

function hasType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

function escapePointer(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}
