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
  private readonly aptSources = new Map<string, { source: string; key: string }>();
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
   * Adds an apt source signed by `key`, an armored public key carried in the
   * document (never `keyid:`, which makes first boot depend on a keyserver).
   * Put `$KEY_FILE` in the source line (`signed-by=$KEY_FILE`) so the key
   * trusts this repository only.
   */
  public addAptSource(name: string, source: string, key: string): this {
    if (!key.includes("-----BEGIN PGP PUBLIC KEY BLOCK-----")) throw new Error(`apt source ${name}: the key must be an armored public key block`);
    this.aptSources.set(name, { source, key });
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
      const sources: { [key: string]: YamlValue } = {};
      for (const [name, s] of this.aptSources) sources[name] = { source: s.source, key: s.key };
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
