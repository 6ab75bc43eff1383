/**
 * Runs real ZooKeeper servers (Debian's `zookeeper` package, 3.8:
 * `QuorumPeerMain` under Java) from the zoo.cfg our user data renders.
 *
 * One machine stands in for the cluster: each member gets a loopback address
 * (127.0.0.N) in place of its private IP and its own temporary data
 * directories; every other line of the configuration is used exactly as
 * rendered. Every JVM started here is ended by `stopAll()`; should a test
 * runner exit or die without it, by a watcher process within a second (and,
 * failing that, by the next `startEnsemble` that needs the same addresses).
 */
import { ChildProcess, spawn } from "child_process";
import { createHash } from "crypto";
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { connect, createServer, Socket } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { ToolSpec } from "../../scripts/lib/tools";

const SLF4J_SIMPLE = "/usr/share/java/slf4j-simple.jar";
/**
 * RUNTIME.md's classpath (the jar's manifest names its other dependencies),
 * plus slf4j's simple binding from libslf4j-java (a dependency of the
 * package) so that each member's log reaches its log file instead of nowhere.
 */
export const ZOOKEEPER_CLASSPATH = ["/etc/zookeeper/conf", "/usr/share/java/zookeeper.jar", ...(existsSync(SLF4J_SIMPLE) ? [SLF4J_SIMPLE] : [])].join(":");
const MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
/**
 * JVM settings only (start-up speed, small heaps); they change nothing ZooKeeper reads from zoo.cfg.
 * One C1 compiler thread and no hsperfdata file: about a tenth less CPU per JVM, of which the suite starts dozens.
 */
const JVM_OPTIONS = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:-UsePerfData"];

export const ZOOKEEPER_TOOL: ToolSpec = {
  name: "ZooKeeper (java + Debian's zookeeper 3.8)",
  debianPackage: "zookeeper",
  probe: ["java", "-cp", ZOOKEEPER_CLASSPATH, "org.apache.zookeeper.version.VersionInfoMain"],
};

/** One member as the user data configures it. */
export interface ZkMemberConfig {
  readonly myid: number;
  /** zoo.cfg text exactly as the user data renders it. */
  readonly zooCfg: string;
}

export type ZkMode = "leader" | "follower" | "standalone" | "down";

export interface RunningMember {
  readonly myid: number;
  /** Loopback address standing in for the member's private IP (127.0.0.N). */
  readonly host: string;
  readonly clientPort: number;
  /** The member's temporary dataDir (holds `myid`). */
  readonly dataDir: string;
}

export interface RunningEnsemble {
  readonly members: RunningMember[];
  /** `127.0.0.1:2181,127.0.0.2:2181,...` */
  readonly connectString: string;
  /** Raw four-letter-word reply; "" when the member does not answer. */
  fourLetter(myid: number, cmd: "ruok" | "srvr" | "mntr" | "stat"): Promise<string>;
  /** The member's mode from `srvr`; "down" when it is stopped or not serving (e.g. no quorum yet). */
  mode(myid: number): Promise<ZkMode>;
  /** Stops one member (SIGTERM, SIGKILL after 5 s) and waits for its exit. */
  stop(myid: number): Promise<void>;
  /** (Re)starts one member and waits until it answers on its client port. */
  start(myid: number): Promise<void>;
  /** Ends every process this ensemble started and removes its files; safe to call twice. */
  stopAll(): Promise<void>;
  /** Creates a znode (open ACL, persistent) through one member's client port. */
  write(myid: number, path: string, data: string): Promise<void>;
  /** Reads a znode through one member after a `sync`, so a follower answers with what the leader has committed. */
  read(myid: number, path: string): Promise<string>;
  /** Opens a session on one member, runs `fn` with it, closes the session. */
  withSession<T>(myid: number, fn: (s: ZkSession) => Promise<T>): Promise<T>;
  /** The end of one member's log, for failure messages. */
  logTail(myid: number, lines?: number): string;
}

// ---------------------------------------------------------------------------
// zoo.cfg rewriting: addresses and directories only.

const SERVER_LINE = /^server\.(\d+)=([^:;\s]+):(\d+):(\d+)(:participant|:observer)?(?:;(?:([^:;\s]+):)?(\d+))?$/;
const IPV4 = /\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/;

interface RewrittenCfg {
  readonly text: string;
  readonly host: string;
  readonly clientPort: number;
  /** Ports this member binds on `host`. */
  readonly ports: number[];
}

/**
 * Maps the addresses of a rendered zoo.cfg to loopback ones and points its
 * directories at `dirs`. A `server.N` line without a client address (`;2181`)
 * listens on every interface; on one machine its members would collide on
 * port 2181, so the client address becomes the member's loopback address.
 */
export function rewriteZooCfg(
  zooCfg: string,
  myid: number,
  ipMap: Record<string, string>,
  dirs: { dataDir: string; dataLogDir: string },
): RewrittenCfg {
  const mapIp = (ip: string, where: string): string => {
    const mapped = ipMap[ip];
    if (!mapped) throw new Error(`zoo.cfg ${where} names ${ip}, which ipMap does not map (${JSON.stringify(ipMap)})`);
    return mapped;
  };
  let own: { host: string; clientPort?: number; ports: number[] } | undefined;
  let clientPortLine: number | undefined;
  let hasClientPortAddress = false;
  const out: string[] = [];
  for (const line of zooCfg.split("\n")) {
    const [key, ...rest] = line.split("=");
    const value = rest.join("=");
    const server = SERVER_LINE.exec(line);
    if (line.startsWith("#") || line.trim() === "") {
      out.push(line);
    } else if (key === "dataDir") {
      out.push(`dataDir=${dirs.dataDir}`);
    } else if (key === "dataLogDir") {
      out.push(`dataLogDir=${dirs.dataLogDir}`);
    } else if (server) {
      const [, id, host, peer, election, role = "", clientHost, clientPort] = server;
      const mapped = mapIp(host, `server.${id}`);
      const client = clientPort === undefined ? "" : `;${clientHost === undefined ? mapped : mapIp(clientHost, `server.${id} client address`)}:${clientPort}`;
      out.push(`server.${id}=${mapped}:${peer}:${election}${role}${client}`);
      if (Number(id) === myid) {
        own = { host: mapped, clientPort: clientPort === undefined ? undefined : Number(clientPort), ports: [Number(peer), Number(election)] };
      }
    } else if (key.startsWith("server.")) {
      throw new Error(`cannot read zoo.cfg line ${JSON.stringify(line)}`);
    } else if (key === "clientPortAddress") {
      hasClientPortAddress = true;
      out.push(`clientPortAddress=${mapIp(value, "clientPortAddress")}`);
    } else if (key === "dynamicConfigFile") {
      throw new Error("zoo.cfg with dynamicConfigFile is not supported here: the rendered configuration is static");
    } else {
      if (key === "clientPort") clientPortLine = Number(value);
      if (IPV4.test(value)) throw new Error(`zoo.cfg line ${JSON.stringify(line)} names an address this harness does not map`);
      out.push(line);
    }
  }
  if (!own) {
    // A standalone configuration without server lines: its only address is the one it is mapped to.
    const hosts = Object.values(ipMap);
    if (hosts.length !== 1) throw new Error(`zoo.cfg has no server.${myid} line; ipMap must then map exactly one address`);
    own = { host: hosts[0], ports: [] };
  }
  const clientPort = own.clientPort ?? clientPortLine;
  if (clientPort === undefined) throw new Error(`zoo.cfg gives member ${myid} no client port`);
  if (own.clientPort === undefined && !hasClientPortAddress) out.push(`clientPortAddress=${own.host}`);
  return { text: out.join("\n"), host: own.host, clientPort, ports: [clientPort, ...own.ports] };
}

// ---------------------------------------------------------------------------
// Cross-process guard: one ensemble per loopback address at a time.

// Machine-wide, so not in a jest run's own temporary folder (scripts/jest-global-setup.js).
const LOCK_ROOT = join(process.env.MESOS_TEST_MACHINE_TMPDIR ?? tmpdir(), "mesos-cluster-zk-harness");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ends JVMs a dead owner recorded, each only if its command line still names that owner's zoo.cfg. */
function reapStale(lockDir: string): void {
  const jvms = join(lockDir, "jvms");
  if (existsSync(jvms)) {
    for (const entry of readFileSync(jvms, "utf8").split("\n").filter(Boolean)) {
      const [pid, cfg] = [Number(entry.split(" ")[0]), entry.slice(entry.indexOf(" ") + 1)];
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(cfg)) process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
  rmSync(lockDir, { recursive: true, force: true });
}

async function lockHost(host: string, deadline: number): Promise<string> {
  mkdirSync(LOCK_ROOT, { recursive: true });
  const lockDir = join(LOCK_ROOT, host);
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, "owner"), String(process.pid));
      return lockDir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const ownerFile = join(lockDir, "owner");
    const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, "utf8")) : 0;
    if (owner === process.pid) throw new Error(`${host} already runs a ZooKeeper member of this process: stopAll() the previous ensemble first`);
    // A lock without an owner is either being created this instant or left by a crash mid-creation.
    const abandoned = owner ? !alive(owner) : existsSync(lockDir) && Date.now() - statSync(lockDir).mtimeMs > 5000;
    if (abandoned) {
      reapStale(lockDir);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${host} is held by process ${owner || "(starting)"} (another test running a ZooKeeper ensemble)`);
    await sleep(250);
  }
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------
// Four-letter words and a minimal ZooKeeper client (jute over TCP).

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sends a four-letter word; resolves with the reply, "" when nothing answers. */
export function fourLetterWord(host: string, port: number, cmd: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host, port });
    const finish = () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    socket.setTimeout(timeoutMs, finish);
    socket.on("connect", () => socket.write(cmd));
    socket.on("data", (c) => chunks.push(c));
    socket.on("close", finish);
    socket.on("error", () => undefined);
  });
}

class JuteWriter {
  private readonly parts: Buffer[] = [];
  int(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  long(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    this.parts.push(b);
    return this;
  }
  bool(v: boolean): this {
    this.parts.push(Buffer.from([v ? 1 : 0]));
    return this;
  }
  buffer(b: Buffer): this {
    this.int(b.length);
    this.parts.push(b);
    return this;
  }
  string(s: string): this {
    return this.buffer(Buffer.from(s, "utf8"));
  }
  /** The record, prefixed with its length as ZooKeeper frames it. */
  frame(): Buffer {
    const body = Buffer.concat(this.parts);
    const len = Buffer.alloc(4);
    len.writeInt32BE(body.length);
    return Buffer.concat([len, body]);
  }
}

class JuteReader {
  private offset = 0;
  constructor(private readonly b: Buffer) {}
  int(): number {
    const v = this.b.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  long(): bigint {
    const v = this.b.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  buffer(): Buffer {
    const len = this.int();
    if (len < 0) return Buffer.alloc(0);
    const v = this.b.subarray(this.offset, this.offset + len);
    this.offset += len;
    return v;
  }
}

/** Operation codes and error codes of the ZooKeeper protocol (ZooDefs.OpCode, KeeperException.Code). */
const OP = {
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  auth: 100,
  closeSession: -11,
} as const;
/** The xid ZooKeeper expects (and answers) for an auth packet (ClientCnxn.AUTHPACKET_XID). */
const AUTH_XID = -4;
const ZK_ERRORS: Record<number, string> = {
  [-4]: "CONNECTIONLOSS",
  [-101]: "NONODE",
  [-102]: "NOAUTH",
  [-103]: "BADVERSION",
  [-108]: "NOCHILDRENFOREPHEMERALS",
  [-110]: "NODEEXISTS",
  [-111]: "NOTEMPTY",
  [-112]: "SESSIONEXPIRED",
  [-114]: "INVALIDACL",
  [-115]: "AUTHFAILED",
};

/** A ZooKeeper error reply; `code` is its KeeperException.Code name (NOAUTH, NONODE, ...). */
export class ZkError extends Error {
  constructor(public readonly code: string, where: string, path: string) {
    super(`${where}: ZooKeeper error ${code}${path ? ` on ${path}` : ""}`);
    this.name = "ZkError";
  }
}

/** ZooDefs.Perms. */
export const PERMS = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

/** One ACL entry: permissions (bits of {@link PERMS}) for an identity (`scheme:id`). */
export interface ZkAcl {
  readonly perms: number;
  readonly scheme: string;
  readonly id: string;
}

/** ZooDefs.Ids.OPEN_ACL_UNSAFE: everything for everyone (what clients without credentials create). */
export const OPEN_ACL_UNSAFE: ZkAcl[] = [{ perms: PERMS.ALL, scheme: "world", id: "anyone" }];
/** ZooDefs.Ids.READ_ACL_UNSAFE. */
export const READ_ACL_UNSAFE: ZkAcl[] = [{ perms: PERMS.READ, scheme: "world", id: "anyone" }];
/** ZooDefs.Ids.CREATOR_ALL_ACL: everything for the session's authenticated identities (`auth:` expands to them). */
export const CREATOR_ALL_ACL: ZkAcl[] = [{ perms: PERMS.ALL, scheme: "auth", id: "" }];

/**
 * What Mesos 1.7.1 creates its znodes with when its `zk://` URL carries
 * credentials: apache/mesos src/zookeeper/group.cpp (`acl(_auth.isSome() ?
 * EVERYONE_READ_CREATOR_ALL : ZOO_OPEN_ACL_UNSAFE)`, used for the base path
 * and every member's ephemeral node), src/zookeeper/authentication.cpp
 * (`{ ZOO_PERM_READ, ZOO_ANYONE_ID_UNSAFE }, { ZOO_PERM_ALL, ZOO_AUTH_IDS }`).
 */
export const MESOS_ACL: ZkAcl[] = [...READ_ACL_UNSAFE, ...CREATOR_ALL_ACL];
/**
 * What Marathon 1.8.244 creates its znodes with when its `zk://` URL carries
 * credentials: CREATOR_ALL_ACL, no world read (mesosphere/marathon
 * src/main/scala/mesosphere/marathon/ZookeeperConf.scala `zkDefaultCreationACL`,
 * the default of its Curator ACLProvider).
 */
export const MARATHON_ACL: ZkAcl[] = CREATOR_ALL_ACL;
/**
 * Marathon 1.8.244's leader latch, `<zk path>/leader-curator`, which everyone
 * may also read (mesosphere/marathon
 * src/main/scala/mesosphere/marathon/core/storage/store/impl/zk/RichCuratorFramework.scala
 * `getAclForPath`).
 */
export const MARATHON_LEADER_ACL: ZkAcl[] = [...CREATOR_ALL_ACL, ...READ_ACL_UNSAFE];

/** The identity ZooKeeper's digest provider derives from `user:password` (DigestAuthenticationProvider.generateDigest). */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash("sha1").update(`${user}:${password}`).digest("base64")}`;
}

/** CreateMode flags. */
export const CREATE_MODE = { PERSISTENT: 0, EPHEMERAL: 1, PERSISTENT_SEQUENTIAL: 2, EPHEMERAL_SEQUENTIAL: 3 } as const;

/** One client session: sequential requests, no watches. */
export class ZkSession {
  private buffered = Buffer.alloc(0);
  private readonly waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  private xid = 0;
  private closedError?: Error;

  private constructor(private readonly socket: Socket, private readonly where: string) {
    socket.on("data", (chunk) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const len = this.buffered.readInt32BE(0);
        const frame = this.buffered.subarray(4, 4 + len);
        this.buffered = this.buffered.subarray(4 + len);
        this.waiting.shift()?.resolve(frame);
      }
    });
    const fail = (e: Error) => {
      this.closedError = e;
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    socket.on("error", (e) => fail(new Error(`${where}: ${e.message}`)));
    socket.on("close", () => fail(new Error(`${where}: connection closed by the server`)));
  }

  static async open(host: string, port: number): Promise<ZkSession> {
    const where = `ZooKeeper ${host}:${port}`;
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", (e) => reject(new Error(`${where}: ${e.message}`)));
    });
    const session = new ZkSession(socket, where);
    // ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly.
    const reply = new JuteReader(
      await session.exchange(new JuteWriter().int(0).long(0n).int(10000).long(0n).buffer(Buffer.alloc(16)).bool(false).frame()),
    );
    reply.int(); // protocolVersion
    const timeOut = reply.int();
    if (timeOut <= 0) throw new Error(`${where}: the server refused the session`);
    return session;
  }

  // 30 s: under a busy suite (JVMs of several ensembles and zkCli runs on 2 cores) a member can
  // take a leader election's worth of seconds to answer; a real hang still fails.
  private exchange(frame: Buffer, timeoutMs = 30000): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.where}: no reply within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push({
        resolve: (b) => (clearTimeout(timer), resolve(b)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.socket.write(frame);
    });
  }

  /** Sends one request; returns the reader positioned at the response body. */
  private async request(op: number, body: (w: JuteWriter) => JuteWriter, path = "", xid = ++this.xid): Promise<JuteReader> {
    const reply = new JuteReader(await this.exchange(body(new JuteWriter().int(xid).int(op)).frame()));
    const replyXid = reply.int();
    reply.long(); // zxid
    const err = reply.int();
    if (replyXid !== xid) throw new Error(`${this.where}: reply ${replyXid} to request ${xid}`);
    if (err !== 0) throw new ZkError(ZK_ERRORS[err] ?? String(err), this.where, path);
    return reply;
  }

  /**
   * `addauth SCHEME AUTH` (an AuthPacket, xid -4). The digest provider
   * accepts any `user:password`; what it grants depends on the ACLs that
   * name the identity it derives ({@link digestId}).
   */
  async addAuth(scheme: string, auth: string): Promise<void> {
    await this.request(OP.auth, (w) => w.int(0).string(scheme).buffer(Buffer.from(auth, "utf8")), "(auth)", AUTH_XID);
  }

  /** Creates a znode (open ACL and persistent unless told); returns its path (with the sequence number, if any). */
  async create(path: string, data: string, acl: readonly ZkAcl[] = OPEN_ACL_UNSAFE, mode: number = CREATE_MODE.PERSISTENT): Promise<string> {
    const reply = await this.request(
      OP.create,
      (w) => {
        w.string(path).buffer(Buffer.from(data, "utf8")).int(acl.length);
        for (const a of acl) w.int(a.perms).string(a.scheme).string(a.id);
        return w.int(mode);
      },
      path,
    );
    return reply.buffer().toString("utf8");
  }

  async setData(path: string, data: string, version = -1): Promise<void> {
    await this.request(OP.setData, (w) => w.string(path).buffer(Buffer.from(data, "utf8")).int(version), path);
  }

  async delete(path: string, version = -1): Promise<void> {
    await this.request(OP.delete, (w) => w.string(path).int(version), path);
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.request(OP.exists, (w) => w.string(path).bool(false), path);
      return true;
    } catch (e) {
      if (e instanceof ZkError && e.code === "NONODE") return false;
      throw e;
    }
  }

  async getACL(path: string): Promise<ZkAcl[]> {
    const reply = await this.request(OP.getACL, (w) => w.string(path), path);
    const count = reply.int();
    const acl: ZkAcl[] = [];
    for (let i = 0; i < count; i++) acl.push({ perms: reply.int(), scheme: reply.buffer().toString("utf8"), id: reply.buffer().toString("utf8") });
    return acl;
  }

  async setACL(path: string, acl: readonly ZkAcl[], version = -1): Promise<void> {
    await this.request(
      OP.setACL,
      (w) => {
        w.string(path).int(acl.length);
        for (const a of acl) w.int(a.perms).string(a.scheme).string(a.id);
        return w.int(version);
      },
      path,
    );
  }

  async getChildren(path: string): Promise<string[]> {
    const reply = await this.request(OP.getChildren, (w) => w.string(path).bool(false), path);
    const count = reply.int();
    const children: string[] = [];
    for (let i = 0; i < count; i++) children.push(reply.buffer().toString("utf8"));
    return children.sort();
  }

  async sync(path: string): Promise<void> {
    await this.request(OP.sync, (w) => w.string(path), path);
  }

  async getData(path: string): Promise<string> {
    const reply = await this.request(OP.getData, (w) => w.string(path).bool(false), path);
    return reply.buffer().toString("utf8");
  }

  async close(): Promise<void> {
    try {
      if (!this.closedError) await this.request(OP.closeSession, (w) => w);
    } finally {
      this.socket.destroy();
    }
  }
}

/** Opens a session on one server, runs `fn`, closes the session. */
export async function withZkSession<T>(host: string, port: number, fn: (s: ZkSession) => Promise<T>): Promise<T> {
  const session = await ZkSession.open(host, port);
  try {
    return await fn(session);
  } finally {
    await session.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------
// The ensemble.

interface MemberState extends RunningMember {
  readonly configPath: string;
  readonly logPath: string;
  readonly lockDir: string;
  readonly ports: number[];
  process?: ChildProcess;
  exited?: Promise<void>;
}

const liveProcesses = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Ends the JVMs listed in the lock files once the process that started them
 * is gone, then removes the locks and the ensemble's files. Jest runs tests
 * in a sandbox whose `process.on("exit")` never fires, and a killed runner
 * runs no hook at all; this watcher (a shell polling once a second) still
 * cleans up. Each JVM is matched by pid and its zoo.cfg path, so a recycled
 * pid is never hit.
 */
const GUARDIAN = `parent=$1; files=$2; shift 2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
for f in "$@"; do
  [ -f "$f" ] || continue
  while read -r pid cfg; do
    if tr '\\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$cfg"; then kill -9 "$pid"; fi
  done < "$f"
  rm -rf "\${f%/jvms}"
done
rm -rf "$files"`;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort when a test runner exits without stopAll().
  process.on("exit", () => {
    for (const child of liveProcesses) child.kill("SIGKILL");
  });
}

/**
 * Starts one JVM per member: maps the rendered servers' IPs to loopback ones
 * (`ipMap`: original IP -> 127.0.0.N), rewrites dataDir/dataLogDir to
 * temporary directories, writes `myid`, and resolves once every member
 * answers on its client port (leader election may still be running).
 */
export async function startEnsemble(members: ZkMemberConfig[], ipMap: Record<string, string>): Promise<RunningEnsemble> {
  if (members.length === 0) throw new Error("startEnsemble needs at least one member");
  if (new Set(members.map((m) => m.myid)).size !== members.length) throw new Error("member myids must be unique");
  for (const host of Object.values(ipMap)) {
    if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`ipMap must map to loopback addresses, not ${host}`);
  }
  installExitHook();
  const root = mkdtempSync(join(tmpdir(), "zk-ensemble-"));
  const states: MemberState[] = [];
  const locks: string[] = [];
  let stopped = false;

  let guardian: ChildProcess | undefined;

  const stopAll = async (): Promise<void> => {
    await Promise.all(states.map((s) => stopMember(s)));
    if (stopped) return;
    stopped = true;
    guardian?.kill("SIGKILL");
    for (const lock of locks) rmSync(lock, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 120000;
    for (const m of [...members].sort((a, b) => a.myid - b.myid)) {
      const dir = join(root, `member-${m.myid}`);
      const dataDir = join(dir, "data");
      const dataLogDir = join(dir, "datalog");
      mkdirSync(dataDir, { recursive: true });
      mkdirSync(dataLogDir, { recursive: true });
      writeFileSync(join(dataDir, "myid"), `${m.myid}\n`);
      const cfg = rewriteZooCfg(m.zooCfg, m.myid, ipMap, { dataDir, dataLogDir });
      const configPath = join(dir, "zoo.cfg");
      writeFileSync(configPath, cfg.text);
      let lockDir = join(LOCK_ROOT, cfg.host);
      if (!locks.includes(lockDir)) {
        lockDir = await lockHost(cfg.host, deadline);
        locks.push(lockDir);
      }
      states.push({ myid: m.myid, host: cfg.host, clientPort: cfg.clientPort, dataDir, configPath, logPath: join(dir, "zookeeper.log"), lockDir, ports: cfg.ports });
    }
    const taken = new Set<string>();
    for (const s of states) {
      for (const port of s.ports) {
        const key = `${s.host}:${port}`;
        if (taken.has(key)) throw new Error(`two members would listen on ${key}: map them to different loopback addresses`);
        taken.add(key);
        if (!(await portFree(s.host, port))) throw new Error(`${key} is already in use on this machine (another ZooKeeper?); member ${s.myid} cannot start`);
      }
    }
    guardian = spawn("sh", ["-c", GUARDIAN, "zk-harness-guardian", String(process.pid), root, ...locks.map((l) => join(l, "jvms"))], {
      detached: true,
      stdio: "ignore",
    });
    guardian.unref();
    await Promise.all(states.map((s) => startMember(s)));
  } catch (e) {
    await stopAll();
    throw e;
  }

  const member = (myid: number): MemberState => {
    const s = states.find((x) => x.myid === myid);
    if (!s) throw new Error(`no member ${myid} (members: ${states.map((x) => x.myid).join(", ")})`);
    return s;
  };
  const fourLetter = (myid: number, cmd: string) => fourLetterWord(member(myid).host, member(myid).clientPort, cmd);

  return {
    members: states.map(({ myid, host, clientPort, dataDir }) => ({ myid, host, clientPort, dataDir })),
    connectString: states.map((s) => `${s.host}:${s.clientPort}`).join(","),
    fourLetter,
    async mode(myid) {
      const reply = await fourLetter(myid, "srvr");
      const m = /^Mode: (\w+)/m.exec(reply);
      if (!m) return "down";
      if (m[1] === "leader" || m[1] === "follower" || m[1] === "standalone") return m[1];
      throw new Error(`member ${myid} reports mode ${m[1]}`);
    },
    stop: (myid) => stopMember(member(myid)),
    start: (myid) => startMember(member(myid)),
    stopAll,
    write: (myid, path, data) => withZkSession(member(myid).host, member(myid).clientPort, async (s) => {
      await s.create(path, data);
    }),
    read: (myid, path) =>
      withZkSession(member(myid).host, member(myid).clientPort, async (s) => {
        await s.sync(path);
        return s.getData(path);
      }),
    withSession: (myid, fn) => withZkSession(member(myid).host, member(myid).clientPort, fn),
    logTail(myid, lines = 30) {
      const path = member(myid).logPath;
      return existsSync(path) ? readFileSync(path, "utf8").split("\n").slice(-lines).join("\n") : "(no log)";
    },
  };
}

async function startMember(s: MemberState): Promise<void> {
  if (s.process) throw new Error(`member ${s.myid} is already running`);
  const log = openSync(s.logPath, "a");
  const child = spawn("java", [...JVM_OPTIONS, "-cp", ZOOKEEPER_CLASSPATH, MAIN_CLASS, s.configPath], { stdio: ["ignore", log, log] });
  closeSync(log);
  // A forgotten stopAll() must not keep the test runner alive: the exit hook then ends the JVM.
  child.unref();
  s.process = child;
  liveProcesses.add(child);
  let exitCode: number | string | null | undefined;
  s.exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitCode = code ?? signal;
      liveProcesses.delete(child);
      resolve();
    });
    child.once("error", (e) => {
      exitCode = e.message;
      liveProcesses.delete(child);
      resolve();
    });
  });
  if (child.pid) appendFileSync(join(s.lockDir, "jvms"), `${child.pid} ${s.configPath}\n`);
  const deadline = Date.now() + 30000;
  for (;;) {
    if (exitCode !== undefined) {
      s.process = undefined;
      const tail = readFileSync(s.logPath, "utf8").split("\n").slice(-20).join("\n");
      throw new Error(`ZooKeeper member ${s.myid} exited (${exitCode}) while starting:\n${tail}`);
    }
    if ((await fourLetterWord(s.host, s.clientPort, "ruok", 1000)) === "imok") return;
    if (Date.now() > deadline) throw new Error(`ZooKeeper member ${s.myid} did not answer on ${s.host}:${s.clientPort} within 30 s`);
    await sleep(100);
  }
}

async function stopMember(s: MemberState): Promise<void> {
  const child = s.process;
  if (!child) return;
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await s.exited;
  clearTimeout(killer);
  s.process = undefined;
}

// ---------------------------------------------------------------------------
// ZooKeeper's own shell, for a second opinion from the real Java client.

/**
 * JLine 2.14.6 from Debian's libjline2-java, with the jansi 1 it needs
 * beside it (upstream's jline-2.14.6.jar, in the ZooKeeper release's lib/,
 * carries jansi inside). When both are installed the shell reads its input
 * through JLine's ConsoleReader, as `zkCli.sh` does in the zookeeper image;
 * without them it falls back to a plain BufferedReader (ZooKeeperMain.run).
 */
const JLINE_JARS = ["/usr/share/java/jline2.jar", "/usr/share/java/jansi1.jar"];
/** True when {@link ZKCLI_COMMAND} reads its input through JLine, like the image's zkCli.sh. */
export const ZKCLI_HAS_JLINE = JLINE_JARS.every((jar) => existsSync(jar));

/**
 * ZooKeeper's shell as the machines run it (`zkCli.sh` in the zookeeper
 * image), from Debian's package: JLine on the classpath when available, and
 * the log on stdout, where the image's logback CONSOLE appender writes it
 * (stderr keeps only the shell's own messages). For `ZKCLI=` of the
 * machines' `*-zk-auth` scripts: words separated by spaces.
 */
export const ZKCLI_COMMAND = [
  "java",
  ...JVM_OPTIONS,
  "-Dorg.slf4j.simpleLogger.logFile=System.out",
  "-cp",
  [ZOOKEEPER_CLASSPATH, ...(ZKCLI_HAS_JLINE ? JLINE_JARS : [])].join(":"),
  "org.apache.zookeeper.ZooKeeperMain",
];

/**
 * Runs commands in ZooKeeper's own shell (`org.apache.zookeeper.ZooKeeperMain`
 * from Debian's package: what `zkCli.sh` runs) against `server`, one command
 * per line on its standard input (without JLine on the classpath it reads
 * them as plain lines), and resolves with what it printed, log lines left
 * out. `addauth digest user:password` works as in an interactive session.
 */
export function zkCli(server: string, commands: string[], timeoutMs = 60000): Promise<string> {
  return new Promise((resolve, reject) => {
    // One stream for both outputs keeps each reply next to the command that caused it.
    const child = spawn("sh", ["-c", 'exec "$@" 2>&1', "zkCli", "java", ...JVM_OPTIONS, "-cp", ZOOKEEPER_CLASSPATH, "org.apache.zookeeper.ZooKeeperMain", "-server", server], {
      stdio: ["pipe", "pipe", "ignore"],
    });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`ZooKeeperMain on ${server} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", () => {
      clearTimeout(timer);
      const lines = Buffer.concat(chunks).toString("utf8").split("\n");
      // slf4j-simple's lines start with "[thread]"; the rest is the shell's own output.
      resolve(lines.filter((l) => !/^\[[^\]]+\] /.test(l)).join("\n"));
    });
    child.stdin.end(`${commands.join("\n")}\n`);
  });
}
