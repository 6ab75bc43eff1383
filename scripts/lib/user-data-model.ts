/**
 * Reads a decoded cloud-config document the way the machine will: the files
 * it writes, the shell it runs, the systemd units it installs and the
 * containers those units start. What `npm run validate` and the tests check.
 */
import { parse } from "yaml";
import { parseEnvFile } from "../../constructs/internal";

/** A `write_files` entry. */
export interface WrittenFile {
  readonly path: string;
  readonly content: string;
  /** Octal mode; cloud-init's default is 0644. */
  readonly permissions: string;
}

/** The parts of a cloud-config document the checks look at. */
export interface UserDataModel {
  /** The whole document as parsed. */
  readonly raw: Record<string, unknown>;
  readonly files: WrittenFile[];
  /** Package names from `packages` (without versions). */
  readonly packages: string[];
  /** Units enabled by `systemctl enable [--now] ...` commands in runcmd. */
  readonly enabledUnits: string[];
}

/** Parses a document; throws with a readable message when it is not a YAML mapping. */
export function readUserData(text: string): UserDataModel {
  const raw = parse(text) as unknown;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error("the document is not a YAML mapping");
  const doc = raw as Record<string, unknown>;
  const files = asList(doc.write_files).map((f, i) => {
    const entry = f as Record<string, unknown>;
    if (typeof entry?.path !== "string") throw new Error(`write_files[${i}] has no path`);
    return { path: entry.path, content: String(entry.content ?? ""), permissions: String(entry.permissions ?? "0644") };
  });
  const packages = asList(doc.packages).map((p) => String(Array.isArray(p) ? p[0] : p));
  const enabledUnits = asList(doc.runcmd)
    .filter((c): c is string[] => Array.isArray(c) && c[0] === "systemctl" && c[1] === "enable")
    .flatMap((c) => c.slice(2).map(String).filter((w) => !w.startsWith("-")));
  return { raw: doc, files, packages, enabledUnits };
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function fileAt(model: UserDataModel, path: string): WrittenFile | undefined {
  return model.files.find((f) => f.path === path);
}

// ---------------------------------------------------------------------------
// Shell

/** A piece of shell the document carries, as the machine will run (or source) it. */
export interface ShellScript {
  /** Where it comes from: a file path, `runcmd`, `bootcmd` or `power_state.condition`. */
  readonly where: string;
  /** Text to give shellcheck: the script, with a header line when it has no shebang of its own. */
  readonly text: string;
  /** Lines prepended to the original; subtract from reported line numbers. */
  readonly headerLines: number;
  /** shellcheck codes that do not apply (e.g. SC2034 for a file another script sources). */
  readonly exclude: string[];
}

/**
 * cloud-init's `util.shellify`: runcmd and bootcmd become one `/bin/sh`
 * script, a list entry being its words each single-quoted, a string entry
 * copied verbatim (so a string is shell, with all its expansions).
 */
export function shellify(commands: unknown[]): string {
  let content = "#!/bin/sh\n";
  for (const command of commands) {
    if (Array.isArray(command)) {
      content += command.map((w) => `'${String(w).replace(/'/g, "'\\''")}'`).join(" ") + "\n";
    } else if (typeof command === "string") {
      content += `${command}\n`;
    } else {
      throw new Error(`runcmd entry ${JSON.stringify(command)} is neither a list nor a string`);
    }
  }
  return content;
}

const SHELL_SHEBANG = /^#!\s*(?:\/usr)?\/bin\/(?:env\s+)?(sh|bash|dash|ksh)\b/;
/** Files that shells source (no shebang): /etc/default/grub.d/*.cfg is read by grub-mkconfig, /etc/default/* by init scripts. */
const SOURCED_SHELL = /^\/etc\/default\//;

/** Every piece of shell in the document. */
export function shellScripts(model: UserDataModel): ShellScript[] {
  const scripts: ShellScript[] = [];
  for (const f of model.files) {
    if (SHELL_SHEBANG.test(f.content)) {
      scripts.push({ where: f.path, text: f.content, headerLines: 0, exclude: [] });
    } else if (SOURCED_SHELL.test(f.path)) {
      // Assignments in a sourced file are read by the script that sources it.
      scripts.push({ where: f.path, text: `# shellcheck shell=sh\n${f.content}`, headerLines: 1, exclude: ["SC2034"] });
    }
  }
  for (const key of ["bootcmd", "runcmd"]) {
    const commands = model.raw[key];
    if (Array.isArray(commands) && commands.length > 0) scripts.push({ where: key, text: shellify(commands), headerLines: 1, exclude: [] });
  }
  const condition = (model.raw.power_state as Record<string, unknown> | undefined)?.condition;
  if (typeof condition === "string") {
    scripts.push({ where: "power_state.condition", text: `#!/bin/sh\n${condition}\n`, headerLines: 1, exclude: [] });
  } else if (Array.isArray(condition) && /^(\/bin\/)?(sh|bash)$/.test(String(condition[0])) && condition[1] === "-c") {
    const shell = String(condition[0]).replace(/^\/bin\//, "");
    scripts.push({ where: "power_state.condition", text: `#!/bin/${shell}\n${String(condition[2] ?? "")}\n`, headerLines: 1, exclude: [] });
  }
  return scripts;
}

// ---------------------------------------------------------------------------
// systemd units

export const UNIT_DIR = "/etc/systemd/system";

/** A unit file or drop-in the document writes. */
export interface UnitFile {
  readonly path: string;
  /** The unit it defines or, for a drop-in, extends (e.g. `docker.service`). */
  readonly unit: string;
  readonly dropIn: boolean;
  /** section -> key -> values in order (a key may repeat). */
  readonly sections: Map<string, Map<string, string[]>>;
}

const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+\.(service|socket|timer|mount|automount|path|target|slice|scope|swap|device)$/;

/** Units and drop-ins written under /etc/systemd/system. */
export function unitFiles(model: UserDataModel): UnitFile[] {
  const units: UnitFile[] = [];
  for (const f of model.files) {
    if (!f.path.startsWith(`${UNIT_DIR}/`)) continue;
    const rel = f.path.slice(UNIT_DIR.length + 1);
    const dropIn = /^([^/]+)\.d\/[^/]+\.conf$/.exec(rel);
    if (dropIn && UNIT_NAME.test(dropIn[1])) units.push({ path: f.path, unit: dropIn[1], dropIn: true, sections: parseUnit(f.content) });
    else if (!rel.includes("/") && UNIT_NAME.test(rel)) units.push({ path: f.path, unit: rel, dropIn: false, sections: parseUnit(f.content) });
  }
  return units;
}

/** Parses unit file syntax: sections, `Key=value` (repeatable), comments, backslash continuations. */
export function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, " ").split("\n");
  for (const line of lines) {
    const t = line.trim();
    if (!t || t.startsWith("#") || t.startsWith(";")) continue;
    const section = /^\[(.+)\]$/.exec(t);
    if (section) {
      current = sections.get(section[1]) ?? new Map();
      sections.set(section[1], current);
      continue;
    }
    const eq = t.indexOf("=");
    if (eq < 0 || !current) continue; // systemd-analyze verify reports these
    const key = t.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), t.slice(eq + 1).trim()]);
  }
  return sections;
}

/** All values of a key, split on whitespace (After=, Requires=, Wants= lists). */
export function unitList(unit: UnitFile, section: string, key: string): string[] {
  return (unit.sections.get(section)?.get(key) ?? []).flatMap((v) => v.split(/\s+/).filter(Boolean));
}

/**
 * Splits an Exec line into words as systemd does (quotes, C escapes, `$$`
 * and `%%`), after dropping its prefix characters (`-`, `@`, `:`, `+`, `!`).
 */
export function splitExecLine(value: string): string[] {
  const line = value.replace(/^[-@:+!]+/, "");
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && i + 1 < line.length) word += unescape(line[++i]);
      else word += c;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += unescape(line[++i]);
      inWord = true;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words.map((w) => w.replace(/\$\$/g, "$").replace(/%%/g, "%"));
}

function unescape(c: string): string {
  return ({ n: "\n", t: "\t", r: "\r" } as Record<string, string>)[c] ?? c;
}

// ---------------------------------------------------------------------------
// Containers started by units

/** A `docker run` a unit's ExecStart performs. */
export interface ContainerRun {
  readonly unit: UnitFile;
  readonly image: string;
  /** `--env-file` paths in order. */
  readonly envFiles: string[];
  /** `-e KEY=VALUE` settings. */
  readonly env: Record<string, string>;
  /** `-v HOST:CONTAINER[:opts]` bind mounts. */
  readonly volumes: string[];
  /** Arguments after the image (the entrypoint's flags). */
  readonly args: string[];
  /** `--entrypoint`, which replaces the image's ENTRYPOINT and drops its CMD. */
  readonly entrypoint?: string;
  /** Options this reader could not interpret. */
  readonly problems: string[];
}

/** docker run options that take a value (docker 27 `docker run --help`). */
const DOCKER_VALUE_OPTIONS = new Set([
  "--add-host", "--annotation", "--attach", "-a", "--blkio-weight", "--cap-add", "--cap-drop", "--cgroup-parent", "--cgroupns",
  "--cidfile", "--cpu-period", "--cpu-quota", "--cpu-shares", "-c", "--cpus", "--cpuset-cpus", "--cpuset-mems", "--device",
  "--device-cgroup-rule", "--dns", "--dns-option", "--dns-search", "--entrypoint", "--env", "-e", "--env-file", "--expose",
  "--gpus", "--group-add", "--health-cmd", "--health-interval", "--health-retries", "--health-start-period", "--health-timeout",
  "--hostname", "-h", "--ip", "--ip6", "--ipc", "--isolation", "--label", "-l", "--label-file", "--link", "--log-driver",
  "--log-opt", "--mac-address", "--memory", "-m", "--memory-reservation", "--memory-swap", "--mount", "--name", "--network",
  "--net", "--network-alias", "--pid", "--platform", "--publish", "-p", "--pull", "--restart", "--runtime", "--security-opt",
  "--shm-size", "--stop-signal", "--stop-timeout", "--storage-opt", "--sysctl", "--tmpfs", "--ulimit", "--user", "-u",
  "--userns", "--uts", "--volume", "-v", "--volume-driver", "--volumes-from", "--workdir", "-w",
]);
const DOCKER_SWITCHES = new Set([
  "--rm", "--privileged", "--init", "--read-only", "--detach", "-d", "--interactive", "-i", "--tty", "-t", "--publish-all", "-P",
  "--no-healthcheck", "--oom-kill-disable", "--sig-proxy", "--quiet", "-q", "--disable-content-trust",
]);

/** The `docker run` of every unit whose ExecStart runs one. */
export function containerRuns(model: UserDataModel): ContainerRun[] {
  const runs: ContainerRun[] = [];
  for (const unit of unitFiles(model)) {
    for (const exec of unit.sections.get("Service")?.get("ExecStart") ?? []) {
      const argv = splitExecLine(exec);
      if (!/(^|\/)docker$/.test(argv[0] ?? "") || argv[1] !== "run") continue;
      runs.push(parseDockerRun(unit, argv.slice(2)));
    }
  }
  return runs;
}

function parseDockerRun(unit: UnitFile, words: string[]): ContainerRun {
  const envFiles: string[] = [];
  const env: Record<string, string> = {};
  const volumes: string[] = [];
  const problems: string[] = [];
  let entrypoint: string | undefined;
  let i = 0;
  for (; i < words.length && words[i].startsWith("-"); i++) {
    const word = words[i];
    const eq = word.indexOf("=");
    const name = word.startsWith("--") && eq > 0 ? word.slice(0, eq) : word;
    let value: string | undefined;
    if (name !== word) value = word.slice(eq + 1);
    else if (DOCKER_VALUE_OPTIONS.has(word)) value = words[++i];
    else if (!DOCKER_SWITCHES.has(word)) problems.push(`unknown docker run option ${word}`);
    if (value === undefined) continue;
    if (name === "--env-file") envFiles.push(value);
    if (name === "-e" || name === "--env") {
      const k = value.indexOf("=");
      if (k > 0) env[value.slice(0, k)] = value.slice(k + 1);
    }
    if (name === "-v" || name === "--volume") volumes.push(value);
    if (name === "--entrypoint") entrypoint = value;
  }
  if (i >= words.length) problems.push("docker run names no image");
  return { unit, image: words[i] ?? "", envFiles, env, volumes, args: words.slice(i + 1), entrypoint, problems };
}

/** Image repository without registry, tag or digest: `mesosphere/mesos-master:1.7.1` -> `mesos-master`. */
export function imageName(image: string): string {
  const noDigest = image.split("@")[0];
  const last = noDigest.split("/").pop() ?? "";
  return last.split(":")[0];
}

/**
 * The environment a container gets: its env files (those the document
 * writes, read as docker reads them) and `-e` settings. A file written at
 * boot (e.g. under /run) is not in the document: the variables the writing
 * script names are taken instead, with empty values.
 */
export function containerEnvironment(model: UserDataModel, run: ContainerRun): { env: Record<string, string>; unresolved: string[] } {
  const env: Record<string, string> = {};
  const unresolved: string[] = [];
  for (const path of run.envFiles) {
    const file = fileAt(model, path);
    if (file) {
      Object.assign(env, parseEnvFile(file.content));
      continue;
    }
    const writers = model.files.filter((f) => f.content.includes(path) && SHELL_SHEBANG.test(f.content));
    if (writers.length === 0) {
      unresolved.push(path);
      continue;
    }
    for (const w of writers) for (const m of w.content.matchAll(/(?<![A-Z0-9_])([A-Z][A-Z0-9_]*)=/g)) env[m[1]] ??= "";
  }
  return { env: { ...env, ...run.env }, unresolved };
}
