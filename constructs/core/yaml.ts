/**
 * A small YAML emitter for cloud-config documents.
 *
 * cloud-init documents are read by people in pull requests and plan diffs, so
 * file contents are emitted as literal blocks (`|`) instead of escaped one-line
 * strings. Only what cloud-config needs is supported: maps with string keys,
 * lists, strings, numbers and booleans. Anything ambiguous is double-quoted
 * (YAML double quotes accept JSON escapes, so JSON.stringify is a safe quoter).
 */
export type YamlValue = string | number | boolean | YamlValue[] | { [key: string]: YamlValue | undefined };

const PLAIN = /^[A-Za-z_/$][A-Za-z0-9_./@+$-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n)$/i;
// Block literals may hold any printable text; control characters other than tab force quoting.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f]/;

function scalar(value: string | number | boolean): string {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot render ${value} in YAML`);
    return String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (PLAIN.test(value) && !RESERVED.test(value)) return value;
  return JSON.stringify(value);
}

function isMultiline(value: YamlValue): value is string {
  // A first line starting with a space would need an indentation indicator; such rare text is quoted instead.
  return (
    typeof value === "string" &&
    value.includes("\n") &&
    !UNPRINTABLE.test(value) &&
    !value.includes("\r") &&
    !/^[ \t]/.test(value)
  );
}

function blockLiteral(value: string, indent: string): string {
  const trailing = /\n+$/.exec(value)?.[0].length ?? 0;
  const chomp = trailing === 0 ? "-" : trailing === 1 ? "" : "+";
  const body = trailing > 0 ? value.slice(0, value.length - trailing) : value;
  const lines = body.split("\n").map((line) => (line.length ? indent + line : ""));
  const extra = trailing > 1 ? "\n".repeat(trailing - 1) : "";
  return `|${chomp}\n${lines.join("\n")}${extra}`;
}

function emit(value: YamlValue, indent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    // Short lists of scalars read best inline: [systemctl, enable, docker]
    if (value.every((v) => !Array.isArray(v) && typeof v !== "object" && !isMultiline(v))) {
      const inline = `[${value.map((v) => scalar(v as string | number | boolean)).join(", ")}]`;
      if (inline.length <= 100) return inline;
    }
    return (
      "\n" +
      value
        .map((item) => {
          // A nested map or block list starts on the dash line: "- key: value", "- - item".
          const rendered = emit(item, indent + "  ").replace(/^\n\s*/, "");
          return `${indent}- ${rendered}`;
        })
        .join("\n")
    );
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined) as [string, YamlValue][];
    if (entries.length === 0) return "{}";
    return (
      "\n" +
      entries
        .map(([key, v]) => {
          const k = scalar(key);
          if (isMultiline(v)) return `${indent}${k}: ${blockLiteral(v, indent + "  ")}`;
          const rendered = emit(v, indent + "  ");
          return rendered.startsWith("\n") ? `${indent}${k}:${rendered}` : `${indent}${k}: ${rendered}`;
        })
        .join("\n")
    );
  }
  if (isMultiline(value)) return blockLiteral(value, indent);
  return scalar(value as string | number | boolean);
}

/** Renders a top-level mapping as YAML text (no document marker), ending with a newline. */
export function toYaml(document: { [key: string]: YamlValue | undefined }): string {
  return emit(document, "").replace(/^\n/, "") + "\n";
}
