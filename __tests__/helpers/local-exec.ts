/**
 * Runs `local-exec` provisioners exactly as synthesized, the way Terraform
 * would (there is no terraform here to run them): argv is `interpreter` +
 * `command`, the working directory is the stack's folder, the environment is
 * ours plus `environment`, and every string is evaluated as a Terraform
 * template first. The evaluator knows only what our provisioners use —
 * `self.triggers.NAME`, `count.index`, references the test provides,
 * `sensitive()`/`nonsensitive()` and string literals — and throws on anything
 * else, so a construct that starts using more fails these tests instead of
 * being run half-evaluated.
 */
import { spawn } from "child_process";
import { TfJson } from "./synth";

export interface LocalExec {
  readonly command: string;
  readonly interpreter?: string[];
  readonly environment?: Record<string, string>;
  readonly when?: string;
  readonly working_dir?: string;
}

/** A resource instance as Terraform holds it while running its provisioners. */
export interface InstanceState {
  readonly id: string;
  readonly triggers: Record<string, string>;
  readonly countIndex?: number;
}

/** The null_resource at construct path `path` below the stack (e.g. `web/deploy`: logical id `web_deploy_<hash>`). */
export function nullResource(json: TfJson, path: string): { address: string; config: Record<string, any> } {
  const id = new RegExp(`^${path.replace(/\//g, "_")}_[0-9A-F]{8}$`);
  const found = Object.entries(json.resource.null_resource ?? {}).filter(([key]) => id.test(key));
  if (found.length !== 1) throw new Error(`expected one null_resource at ${path}, found ${found.length}`);
  return { address: `null_resource.${found[0][0]}`, config: found[0][1] as Record<string, any> };
}

/** The resource's local-exec provisioners: `create` ones or the `destroy` ones. */
export function localExecs(config: Record<string, any>, when: "create" | "destroy"): LocalExec[] {
  return ((config.provisioner ?? []) as Record<string, LocalExec>[])
    .map((p) => p["local-exec"])
    .filter((p): p is LocalExec => p !== undefined && (p.when === "destroy") === (when === "destroy"));
}

interface Scope {
  readonly self?: InstanceState;
  readonly references: Record<string, string>;
}

/** Evaluates one Terraform template string. */
export function evaluateTemplate(text: string, scope: Scope): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      out += "${";
      i += 3;
    } else if (text.startsWith("%%{", i)) {
      out += "%{";
      i += 3;
    } else if (text.startsWith("%{", i)) {
      throw new Error(`template directive in ${JSON.stringify(text)}: not supported by this evaluator`);
    } else if (text.startsWith("${", i)) {
      const end = closingBrace(text, i + 2);
      out += evaluateExpression(text.slice(i + 2, end).trim(), scope);
      i = end + 1;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}

function closingBrace(text: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "(" || c === "[") depth += 1;
    else if (c === ")" || c === "]") depth -= 1;
    else if (c === "}") {
      if (depth === 0) return i;
      depth -= 1;
    }
  }
  throw new Error(`unterminated interpolation in ${JSON.stringify(text)}`);
}

function evaluateExpression(expr: string, scope: Scope): string {
  const call = /^([a-z_]+)\(([\s\S]*)\)$/.exec(expr);
  if (call) {
    const [, name, arg] = call;
    if (name === "sensitive" || name === "nonsensitive") return evaluateExpression(arg.trim(), scope);
    throw new Error(`function ${name}() is not supported by this evaluator`);
  }
  if (/^"([^"\\]|\\.)*"$/.test(expr)) return evaluateTemplate(JSON.parse(expr), scope);
  const withIndex = expr.replace(/\[count\.index\]/g, `[${scope.self?.countIndex ?? 0}]`);
  const trigger = /^self\.triggers\.([A-Za-z0-9_]+)$/.exec(withIndex);
  if (trigger) {
    if (!scope.self) throw new Error(`${expr} outside a resource`);
    const value = scope.self.triggers[trigger[1]];
    if (value === undefined) throw new Error(`${expr}: the instance has no such trigger`);
    return value;
  }
  if (withIndex === "self.id" && scope.self) return scope.self.id;
  if (withIndex in scope.references) return scope.references[withIndex];
  throw new Error(`reference ${expr} is not known to this evaluator (give it in references)`);
}

/** The instance Terraform would create from this configuration: triggers evaluated, a fresh id. */
export function plannedInstance(config: Record<string, any>, id: string, references: Record<string, string> = {}): InstanceState {
  const triggers: Record<string, string> = {};
  for (const [key, value] of Object.entries((config.triggers ?? {}) as Record<string, string>)) {
    triggers[key] = evaluateTemplate(value, { self: { id, triggers: {}, countIndex: 0 }, references });
  }
  return { id, triggers, countIndex: 0 };
}

export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** argv as run, for assertions that nothing secret is on the command line. */
  readonly argv: string[];
}

/** Runs one provisioner for an instance, as Terraform's local-exec does. */
export function runLocalExec(
  provisioner: LocalExec,
  options: { cwd: string; self: InstanceState; references?: Record<string, string>; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ExecResult> {
  const scope = { self: options.self, references: options.references ?? {} };
  const interpreter = (provisioner.interpreter ?? []).map((s) => evaluateTemplate(s, scope));
  if (interpreter.length === 0) throw new Error("no interpreter: the default shell would differ between platforms");
  const argv = [...interpreter, evaluateTemplate(provisioner.command, scope)];
  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(provisioner.environment ?? {})) environment[key] = evaluateTemplate(value, scope);
  if (provisioner.working_dir !== undefined) throw new Error("working_dir is not used by our provisioners");
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: options.cwd, env: { ...(options.env ?? process.env), ...environment }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, argv });
    });
  });
}
