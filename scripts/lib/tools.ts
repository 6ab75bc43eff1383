/**
 * The real tools the checks run (Debian packages), and how to tell whether
 * one is installed. Shared by `npm run validate` and the tests, so both agree
 * on what "missing" means and name the same package to install.
 */
import { spawnSync } from "child_process";

/** A command-line tool the checks depend on. */
export interface ToolSpec {
  /** What to call it in messages, e.g. `shellcheck`. */
  readonly name: string;
  /** The Debian/Ubuntu package that provides it (`apt-get install <package>`). */
  readonly debianPackage: string;
  /** A cheap command that succeeds only when the tool works, e.g. `["shellcheck", "--version"]`. */
  readonly probe: string[];
}

export const CLOUD_INIT: ToolSpec = { name: "cloud-init", debianPackage: "cloud-init", probe: ["cloud-init", "--version"] };
export const SHELLCHECK: ToolSpec = { name: "shellcheck", debianPackage: "shellcheck", probe: ["shellcheck", "--version"] };
export const SYSTEMD_ANALYZE: ToolSpec = { name: "systemd-analyze", debianPackage: "systemd", probe: ["systemd-analyze", "--version"] };
/** Runs the machines' secret fetchers in the tests. */
export const PYTHON3: ToolSpec = { name: "python3", debianPackage: "python3", probe: ["python3", "--version"] };
/** Makes certificates for the Swarm TLS client tests. */
export const OPENSSL: ToolSpec = { name: "openssl", debianPackage: "openssl", probe: ["openssl", "version"] };

/** Reads the fingerprint of the Docker apt key the machines carry. */
export const GPG: ToolSpec = { name: "gpg", debianPackage: "gnupg", probe: ["gpg", "--version"] };

const probed = new Map<string, boolean>();

/**
 * Is a command available? Probes by running it (exit status 0 within 20 s);
 * the answer is cached per command line for the life of the process.
 */
export function toolAvailable(argv: string[]): boolean {
  const key = JSON.stringify(argv);
  let ok = probed.get(key);
  if (ok === undefined) {
    const result = spawnSync(argv[0], argv.slice(1), { stdio: "ignore", timeout: 20000 });
    ok = !result.error && result.status === 0;
    probed.set(key, ok);
  }
  return ok;
}

/** The one-line hint for a missing tool. */
export function missingToolMessage(tool: ToolSpec): string {
  return `${tool.name} is not installed (\`${tool.probe.join(" ")}\` failed): install the Debian package \`${tool.debianPackage}\` (apt-get install ${tool.debianPackage})`;
}
