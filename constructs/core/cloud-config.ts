import { gzipSync } from "zlib";
import { toYaml, YamlValue } from "./yaml";

/** One file that cloud-init writes (`write_files`). */
export interface CloudConfigFile {
  /** Absolute path on the machine. */
  readonly path: string;
  /** Text content. */
  readonly content: string;
  /** Octal mode, e.g. "0644" (default) or "0755" for scripts. */
  readonly permissions?: string;
  /**
   * Write the file late (after packages are installed and users exist).
   * @default false
   */
  readonly defer?: boolean;
}

/** A package to install, optionally pinned to an exact version. */
export interface CloudConfigPackage {
  readonly name: string;
  readonly version?: string;
}

/** The phase of `runcmd` a command belongs to; commands run in phase order, then in the order added. */
export enum RunPhase {
  /** Before services are enabled (prepare disks, directories, kernel settings). */
  PREPARE = 0,
  /** Enable and start services. */
  SERVICES = 1,
  /** After services (health waits, reboot preparation). */
  FINALLY = 2,
}

/**
 * A cloud-config document assembled from contributions of several roles.
 *
 * Roles add files, packages, services and commands; the document rejects
 * conflicting contributions (two roles writing different content to one path)
 * instead of letting the last one win silently.
 */
export class CloudConfig {
  private readonly files = new Map<string, CloudConfigFile>();
  private readonly packages = new Map<string, CloudConfigPackage>();
  private readonly aptSources = new Map<string, { line: string; key: AptKey }>();
  private readonly commands: { phase: RunPhase; command: string[] }[] = [];
  private readonly enabledUnits: string[] = [];
  private readonly startedUnits: string[] = [];
  private readonly comments: string[] = [];
  private rebootCondition?: string;
  private readonly options = new Map<string, YamlValue>();

  /** Adds a comment line to the document header (who rendered it, which roles). */
  public addComment(text: string): this {
    this.comments.push(...text.split("\n"));
    return this;
  }

  public addFile(file: CloudConfigFile): this {
    if (!file.path.startsWith("/")) throw new Error(`cloud-config file path must be absolute: ${file.path}`);
    const existing = this.files.get(file.path);
    if (existing && (existing.content !== file.content || existing.permissions !== file.permissions)) {
      throw new Error(`two roles write different content to ${file.path}`);
    }
    this.files.set(file.path, file);
    return this;
  }

  public hasFile(path: string): boolean {
    return this.files.has(path);
  }

  public file(path: string): CloudConfigFile | undefined {
    return this.files.get(path);
  }

  /** Sets a top-level scalar option such as `ssh_pwauth: false`. */
  public setOption(key: string, value: string | number | boolean): this {
    const existing = this.options.get(key);
    if (existing !== undefined && existing !== value) throw new Error(`two roles set ${key} differently`);
    this.options.set(key, value);
    return this;
  }

  public addPackage(name: string, version?: string): this {
    const existing = this.packages.get(name);
    if (existing && existing.version !== version) {
      throw new Error(`package ${name} is pinned to two versions: ${existing.version} and ${version}`);
    }
    this.packages.set(name, { name, version });
    return this;
  }

  /**
   * Adds an apt source (`line`: URI, suite and components, e.g.
   * `https://download.docker.com/linux/ubuntu $RELEASE stable`) trusted
   * through one key only: `signed-by=` its own keyring, which a `bootcmd`
   * fetches from `key.url` and installs only if it holds the key with
   * `key.fingerprint` ({@link aptKeyScript}).
   */
  public addAptSource(name: string, line: string, key: AptKey): this {
    if (!/^[a-z0-9-]+\.list$/.test(name)) throw new Error(`apt source ${name}: the name must look like docker.list`);
    if (!/^[0-9A-F]{40}$/.test(key.fingerprint)) throw new Error(`apt source ${name}: the key fingerprint must be 40 upper-case hex digits`);
    this.aptSources.set(name, { line, key });
    return this;
  }

  /** Adds a command to `runcmd` (argv form: no shell unless the caller asks for one). */
  public addCommand(phase: RunPhase, ...command: string[]): this {
    this.commands.push({ phase, command });
    return this;
  }

  /**
   * Enables a systemd unit at boot. With `start`, it is also started by
   * cloud-init now; without, it first starts on the next boot (after a reboot
   * the document asks for).
   */
  public enableUnit(unit: string, start = true): this {
    if (!this.enabledUnits.includes(unit)) this.enabledUnits.push(unit);
    if (start && !this.startedUnits.includes(unit)) this.startedUnits.push(unit);
    return this;
  }

  /**
   * Reboots once at the end of first boot when `condition` (a shell test)
   * holds, e.g. to switch the kernel to cgroup v1.
   */
  public rebootWhen(condition: string): this {
    if (this.rebootCondition && this.rebootCondition !== condition) {
      throw new Error("two roles ask for a reboot under different conditions");
    }
    this.rebootCondition = condition;
    return this;
  }

  /** The document as cloud-init reads it, beginning with `#cloud-config`. */
  public render(): string {
    const doc: { [key: string]: YamlValue | undefined } = {};
    for (const [key, value] of this.options) doc[key] = value;
    if (this.aptSources.size > 0) {
      // bootcmd runs in cloud-init's init stage, before apt-configure (config
      // stage) and package installs (final stage): canonical/cloud-init
      // config/cloud.cfg.tmpl, cloud_init_modules / cloud_config_modules.
      doc.bootcmd = [...this.aptSources].map(([name, s]) => ["sh", "-ec", aptKeyScript(aptKeyring(name), s.key)]);
      const sources: { [key: string]: YamlValue } = {};
      for (const [name, s] of this.aptSources) sources[name] = { source: `deb [signed-by=${aptKeyring(name)}] ${s.line}` };
      doc.apt = { sources };
    }
    if (this.packages.size > 0) {
      doc.package_update = true;
      doc.packages = [...this.packages.values()].map((p) => (p.version ? [p.name, p.version] : p.name));
    }
    if (this.files.size > 0) {
      // cloud-init's defaults (owner root:root, mode 0644) are left implicit to save bytes on AWS.
      doc.write_files = [...this.files.values()].map((f) => ({
        path: f.path,
        permissions: f.permissions && f.permissions !== "0644" ? f.permissions : undefined,
        defer: f.defer ? true : undefined,
        content: f.content,
      }));
    }
    const runcmd: YamlValue[] = [];
    const byPhase = (phase: RunPhase) => this.commands.filter((c) => c.phase === phase).map((c) => c.command);
    runcmd.push(...byPhase(RunPhase.PREPARE));
    if (this.enabledUnits.length > 0) {
      runcmd.push(["systemctl", "daemon-reload"]);
      const enableOnly = this.enabledUnits.filter((u) => !this.startedUnits.includes(u));
      if (enableOnly.length > 0) runcmd.push(["systemctl", "enable", ...enableOnly]);
      if (this.startedUnits.length > 0) runcmd.push(["systemctl", "enable", "--now", ...this.startedUnits]);
    }
    runcmd.push(...byPhase(RunPhase.SERVICES));
    runcmd.push(...byPhase(RunPhase.FINALLY));
    if (runcmd.length > 0) doc.runcmd = runcmd;
    if (this.rebootCondition) {
      doc.power_state = {
        mode: "reboot",
        message: "Rebooting once to apply kernel settings written by cloud-init",
        condition: ["sh", "-c", this.rebootCondition],
      };
    }
    const header = ["#cloud-config", ...this.comments.map((c) => `# ${c}`.trimEnd())].join("\n");
    return `${header}\n${toYaml(doc)}`;
  }
}

/** How user data is carried in the Terraform attribute. */
export type UserDataEncoding = "plain" | "base64" | "gzip+base64";

/** User data as a cloud attribute takes it, with the size the cloud counts against its limit. */
export interface EncodedUserData {
  readonly value: string;
  readonly encoding: UserDataEncoding;
  /** Size of the document before any encoding, in bytes. */
  readonly rawBytes: number;
  /** Size the cloud counts against its limit, in bytes. */
  readonly countedBytes: number;
}

/** How user data must be encoded for a cloud attribute, and its size limit. */
export interface UserDataLimits {
  /** The cloud's limit on user data, in bytes, counted as `countedBytes`. */
  readonly limitBytes: number;
  /** Whether the attribute takes base64 (Azure custom_data, AWS launch templates). */
  readonly base64: boolean;
  /** Whether the attribute can take gzip+base64 instead of plain text. */
  readonly gzipAllowed: boolean;
}

/**
 * Above this share of the cloud's limit a document is gzipped (where the
 * provider accepts base64): users get readable plain text while they are far
 * from the limit and a working machine when they are close to it.
 */
export const GZIP_THRESHOLD = 0.5;

/**
 * Encodes a rendered document for a Terraform attribute. Deterministic: the
 * gzip header carries no timestamp, so the same document always synthesizes
 * to the same string and plan diffs stay quiet.
 */
export function encodeUserData(text: string, limits: UserDataLimits): EncodedUserData {
  const raw = Buffer.from(text, "utf8");
  if (limits.gzipAllowed && raw.length > limits.limitBytes * GZIP_THRESHOLD) {
    const gz = gzipSync(raw, { level: 9 });
    // Byte 9 of a gzip header is the OS; fix it so synth output is identical on every platform.
    gz[9] = 3;
    return {
      value: gz.toString("base64"),
      encoding: "gzip+base64",
      rawBytes: raw.length,
      countedBytes: gz.length,
    };
  }
  // Terraform reads "${" and "%{" in a JSON string as template syntax: text holding them
  // (a shell "${VAR}") cannot travel as a plain literal, so it goes base64 instead.
  if (limits.base64 || /[$%]\{/.test(text)) {
    return { value: raw.toString("base64"), encoding: "base64", rawBytes: raw.length, countedBytes: raw.length };
  }
  return { value: text, encoding: "plain", rawBytes: raw.length, countedBytes: raw.length };
}

/** An apt repository's signing key: where to fetch it, and the fingerprint it must have. */
export interface AptKey {
  /** HTTPS URL of the armored (or binary) public key. */
  readonly url: string;
  /** The primary key's full fingerprint, 40 upper-case hex digits. */
  readonly fingerprint: string;
}

/** The keyring an apt source `NAME.list` is signed by. */
export function aptKeyring(sourceName: string): string {
  return `/etc/apt/keyrings/${sourceName.replace(/\.list$/, "")}.gpg`;
}

/**
 * The boot command that installs an apt source's keyring, once: fetch the
 * key file, import it into a throw-away gpg home, and export only the key
 * with the pinned fingerprint (its subkeys included). A file that does not
 * hold that key exports nothing: no keyring is installed, apt refuses the
 * repository (NO_PUBKEY) and the packages from it are not installed; the
 * reason is in cloud-init's log. curl and gpg ship in Ubuntu's cloud images.
 */
export function aptKeyScript(keyring: string, key: AptKey): string {
  return [
    `k=${keyring}`,
    '[ -s "$k" ] && exit 0',
    "h=$(mktemp -d)",
    "trap 'rm -rf \"$h\"' EXIT",
    `curl -fsSL --retry 10 --retry-all-errors -o "$h/key" ${key.url}`,
    'gpg -q --batch --homedir "$h" --import "$h/key"',
    `gpg -q --batch --homedir "$h" --export ${key.fingerprint} >"$h/keyring"`,
    `[ -s "$h/keyring" ] || { echo "${key.url} does not hold key ${key.fingerprint}" >&2; exit 1; }`,
    'chmod 644 "$h/keyring"',
    // No `${...}` anywhere: Terraform would read it as an interpolation in plain user_data.
    `mkdir -p ${keyring.slice(0, keyring.lastIndexOf("/"))}`,
    'mv "$h/keyring" "$k"',
  ].join("\n");
}
