import { CloudConfig, RunPhase } from "./cloud-config";
import { ContainerImage } from "./container-image";

/** Where roles keep their configuration on a machine. */
export const CONFIG_DIR = "/etc/mesos-cluster";
/** Where boot-time facts (the machine's own IP on a scale set) are written. */
export const RUNTIME_DIR = "/run/mesos-cluster";
/** Where launcher scripts live. */
export const SCRIPT_DIR = "/usr/local/sbin";

/** A container run by systemd with `docker run`, restarted when it exits. */
export interface ContainerServiceOptions {
  /** Unit and container name, e.g. `zookeeper`. */
  readonly name: string;
  readonly description: string;
  readonly image: ContainerImage;
  /** Arguments after the image (the entrypoint's flags). */
  readonly args?: string[];
  /**
   * Environment for the container, written to `/etc/mesos-cluster/NAME.env`
   * and passed with `--env-file`.
   */
  readonly environment?: Record<string, string>;
  /**
   * Env files written at boot by `preStart` (e.g. the machine's own IP on a
   * scale set), passed with `--env-file` after the static one.
   */
  readonly runtimeEnvFiles?: string[];
  /** Bind mounts, `HOST:CONTAINER[:ro]`. */
  readonly volumes?: string[];
  /** `--privileged`. @default false */
  readonly privileged?: boolean;
  /** `--pid=host`. @default false */
  readonly hostPid?: boolean;
  /** Commands run before the container starts (absolute paths). */
  readonly preStart?: string[];
  /** Extra units to start after (and require). */
  readonly requires?: string[];
  /**
   * Enable and start the unit. A unit left disabled is installed for an
   * operator to start by hand (e.g. a cold standby).
   * @default true
   */
  readonly enable?: boolean;
}

const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Quotes one argument for a systemd Exec line: systemd splits on whitespace,
 * expands `$VAR` and `%` specifiers, so those are escaped.
 */
export function systemdArg(arg: string): string {
  const escaped = arg.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@%+=:,./$-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Renders a docker env file: one `KEY=VALUE` per line, values taken literally by docker. */
export function renderEnvFile(env: Record<string, string>): string {
  return (
    Object.entries(env)
      .map(([key, value]) => {
        if (!ENV_KEY.test(key)) throw new Error(`invalid environment variable name ${JSON.stringify(key)}`);
        if (/[\n\r]/.test(value)) throw new Error(`environment variable ${key} must be one line`);
        return `${key}=${value}`;
      })
      .join("\n") + "\n"
  );
}

/** Parses a docker env file back to a map (used by tests and the validator). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** Where the environment file of service `name` lives on a machine. */
export function envFilePath(name: string): string {
  return `${CONFIG_DIR}/${name}.env`;
}

/**
 * A systemd unit (or drop-in) as data: its sections in order, each a map of
 * key to value. A value that is a list gives one line per item, in order
 * (`ExecStartPre=` lines, or `ExecStart=` to clear then the new command in a
 * drop-in); `undefined` leaves the key out. Keys keep the order given.
 */
export type UnitSections = Record<string, Record<string, string | readonly string[] | undefined>>;

/**
 * The one renderer of every unit this library writes: comment lines first
 * (`# ...`), then each section, a blank line between sections, a newline at
 * the end.
 */
export function renderUnit(sections: UnitSections, comments: readonly string[] = []): string {
  const lines = comments.map((c) => `# ${c}`);
  Object.entries(sections).forEach(([name, keys], i) => {
    if (i > 0) lines.push("");
    lines.push(`[${name}]`);
    for (const [key, value] of Object.entries(keys)) {
      if (value === undefined) continue;
      for (const item of typeof value === "string" ? [value] : value) lines.push(`${key}=${item}`);
    }
  });
  return `${lines.join("\n")}\n`;
}

/** Writes a unit (`NAME.service`, `.timer`, or a drop-in path under /etc/systemd/system) to a cloud-config. */
export function addUnit(config: CloudConfig, nameOrPath: string, sections: UnitSections, comments?: readonly string[]): string {
  const path = nameOrPath.startsWith("/") ? nameOrPath : `/etc/systemd/system/${nameOrPath}`;
  config.addFile({ path, content: renderUnit(sections, comments) });
  return path;
}

/**
 * Adds a container service to a cloud-config: its env file, its unit and the
 * command that enables it. The unit orders itself after docker and the network
 * and after the data disk when the machine has one.
 */
export function addContainerService(config: CloudConfig, options: ContainerServiceOptions): void {
  const { name } = options;
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`invalid service name ${JSON.stringify(name)}`);
  const docker = "/usr/bin/docker";
  const run: string[] = [docker, "run", "--rm", "--name", name, "--net=host"];
  if (options.hostPid) run.push("--pid=host");
  if (options.privileged) run.push("--privileged");
  if (options.environment && Object.keys(options.environment).length > 0) {
    config.addFile({ path: envFilePath(name), content: renderEnvFile(options.environment), permissions: "0640" });
    run.push("--env-file", envFilePath(name));
  }
  for (const file of options.runtimeEnvFiles ?? []) run.push("--env-file", file);
  for (const volume of options.volumes ?? []) run.push("-v", volume);
  run.push(options.image.reference, ...(options.args ?? []));

  const after = ["docker.service", "network-online.target", ...(options.requires ?? [])];
  const requires = ["docker.service", ...(options.requires ?? [])];
  addUnit(config, `${name}.service`, {
    Unit: { Description: options.description, After: after.join(" "), Wants: "network-online.target", Requires: requires.join(" ") },
    Service: {
      Restart: "always",
      RestartSec: "10",
      // Image pulls on a fresh machine can take minutes.
      TimeoutStartSec: "0",
      // No `docker pull` first: images are exact pins and `docker run` pulls a
      // missing one itself (docker/cli cli/command/container/create.go: `--pull`
      // defaults to "missing"), so a restart never fetches a tag that moved
      // upstream, and a registry outage never stops a machine that has its image.
      ExecStartPre: [`-${docker} rm -f ${name}`, ...(options.preStart ?? [])],
      ExecStart: run.map(systemdArg).join(" "),
      ExecStop: `${docker} stop ${name}`,
    },
    Install: { WantedBy: "multi-user.target" },
  });
  if (options.enable ?? true) config.enableUnit(`${name}.service`);
}

/**
 * Adds a shell script (strict mode) to a cloud-config at `/usr/local/sbin/NAME`.
 *
 * Full-line comments stay in the TypeScript source and are left out of the
 * machine's copy (shellcheck directives excepted): every role shares AWS's
 * 16 KB of user data, and the comments were a tenth of a master's document.
 * Scripts hold no heredocs, so no content line is taken for a comment.
 */
export function addScript(config: CloudConfig, name: string, body: string): string {
  if (/<<-?\s*['"]?\w/.test(body)) throw new Error(`script ${name}: heredocs are not supported (comment lines are stripped)`);
  const path = `${SCRIPT_DIR}/${name}`;
  const lines = body
    .trim()
    .split("\n")
    .filter((line) => !/^\s*#/.test(line) || /^\s*# shellcheck /.test(line));
  config.addFile({ path, permissions: "0755", content: `#!/bin/bash\nset -euo pipefail\n${lines.join("\n")}\n` });
  return path;
}

/** Adds a command that runs once during first boot, before services start. */
export function addPrepareCommand(config: CloudConfig, ...command: string[]): void {
  config.addCommand(RunPhase.PREPARE, ...command);
}
