import { IConstruct } from "constructs";
import { CloudConfig } from "./cloud-config";
import { checkCredentials } from "./credentials";
import { addScript } from "./systemd";
import { fail } from "./validation";

/**
 * ZooKeeper digest credentials of a service (`zk://USER:PASSWORD@hosts/path`).
 *
 * With them Mesos and Marathon authenticate to ZooKeeper and create their
 * znodes with ACLs that keep other clients from changing them (see
 * {@link ZkAclPolicy}). The password (usually a token: a generated secret) is
 * kept in the cloud's secret store and written at boot to a root-only file in
 * tmpfs; it never enters user data, a command line or a container's
 * `docker inspect`-visible environment.
 */
export interface ZookeeperCredentials {
  /** Digest user name: a literal of letters, digits, '.', '_' and '-'. */
  readonly username: string;
  /** The password; a token when generated. 16-128 URL-safe characters when literal. */
  readonly password: string;
}

/**
 * Whose ACL a path gets, as the service itself sets it when it authenticates:
 *
 * - `mesos`: `world:anyone:r` + `auth::cdrwa`, Mesos' EVERYONE_READ_CREATOR_ALL
 *   (apache/mesos 1.7.1 src/zookeeper/group.cpp: `acl(_auth.isSome() ?
 *   EVERYONE_READ_CREATOR_ALL : ZOO_OPEN_ACL_UNSAFE)`;
 *   src/zookeeper/authentication.cpp). Agents, Marathon's `--master` and
 *   Swarm find the leader by reading, which stays open.
 * - `marathon`: `auth::cdrwa`, ZooKeeper's CREATOR_ALL_ACL, no world read,
 *   except `<path>/leader-curator` which adds `world:anyone:r`
 *   (mesosphere/marathon v1.8.244 src/main/scala/mesosphere/marathon/ZookeeperConf.scala
 *   `zkDefaultCreationACL`; core/storage/store/impl/zk/RichCuratorFramework.scala
 *   `getAclForPath`). Marathon 1.8 has no flag to change it.
 */
export type ZkAclPolicy = "mesos" | "marathon";

/**
 * The ACL each policy gives its path, in ZooKeeper's shell syntax
 * (`scheme:id:perms`, `auth::` standing for the session's digest identity).
 */
export const ZK_ACLS: Record<ZkAclPolicy, string> = {
  mesos: "world:anyone:r,auth::cdrwa",
  marathon: "auth::cdrwa",
};

/**
 * Checks credentials at construction (the same rules as HTTP credentials:
 * the user name and password travel inside a `zk://` URL, so no ':', '@' or
 * '/'); returns them.
 */
export function checkZookeeperCredentials(scope: IConstruct, property: string, credentials: ZookeeperCredentials | undefined): ZookeeperCredentials {
  // Never echo the value: a string here may well be "user:password".
  if (credentials === null || typeof credentials !== "object") fail(scope, property, `(a ${credentials === null ? "null" : typeof credentials})`, "{ username, password } digest credentials");
  return checkCredentials(scope, property, credentials);
}

/** Options of {@link addZkAclGuard}. */
export interface ZkAclGuardOptions {
  /** The construct to blame when the options cannot work (a nested path). */
  readonly scope: IConstruct;
  /** Script name (under /usr/local/sbin). */
  readonly name: string;
  /** Whose ACL the path gets ({@link ZK_ACLS}). */
  readonly policy: ZkAclPolicy;
  /** The shell command that prints the password on the machine (from `storeSecret`). */
  readonly passwordCommand: string;
  /** The digest user name (checked by {@link checkZookeeperCredentials}). */
  readonly username: string;
  /** The service's URL without credentials, `zk://hosts/path` (from {@link ZookeeperEnsemble.zkUrl}). */
  readonly zkUrl: string;
  /** The root-only file to write, in tmpfs. */
  readonly file: string;
  /** Write `NAME=URL` (a docker env file) instead of the bare URL. */
  readonly envName?: string;
  /** The image the ZooKeeper ensemble runs (on every master already): its `zkCli.sh` is the client. */
  readonly image: string;
}

/**
 * Adds the boot script that sets a service up with its ZooKeeper
 * credentials before it starts, and returns its path (an `ExecStartPre=`):
 *
 * 1. fetches the password from the cloud's secret store and refuses
 *    characters a `zk://` URL cannot carry (they could end the
 *    `user:password` part early, or a line of the shell's input);
 * 2. writes `zk://USER:PASSWORD@HOSTS/PATH` (or `ENV=` that, a docker env
 *    file) to a root-only file in tmpfs (umask 077): the password never
 *    appears in user data, on a command line or in a container's
 *    configuration. Mesos trims the trailing newline (apache/mesos 1.7.1
 *    include/mesos/zookeeper/url.hpp `URL::parse`: `strings::trim(url)`);
 * 3. runs ZooKeeper's own shell, `zkCli.sh` from the ensemble's image, with
 *    `addauth digest USER:PASSWORD`, `create PATH '' ACL` and
 *    `setAcl PATH ACL` on its standard input, and exits with its status.
 *
 * Why a service cannot be left to set its ACL alone: every Mesos ZooKeeper
 * group, readers included, creates its base path when it is missing, and a
 * reader without credentials creates it open (apache/mesos 1.7.1
 * src/zookeeper/group.cpp `GroupProcess::sync` calls `create()`, which uses
 * ZOO_OPEN_ACL_UNSAFE without credentials). An agent or Marathon's
 * `--master` detector that reaches ZooKeeper before the first master would
 * leave `/mesos` writable by everyone for good. Creating the path first
 * closes that race; `setAcl` then gives the ACL to a path a reader did
 * create open (everyone holds ADMIN on it), rewrites the service's own ACL
 * unchanged, and fails with `Insufficient permission : PATH` on a path that
 * carries another ACL (one made with another password, say): the unit fails
 * and systemd's `Restart=` tries again, as it does while ZooKeeper has no
 * quorum yet (each failed connection fails the queued commands with
 * `KeeperErrorCode = ConnectionLoss`, so the shell ends within seconds).
 *
 * How the shell behaves (apache/zookeeper release-3.8.4):
 * - zookeeper-server/src/main/java/org/apache/zookeeper/ZooKeeperMain.java
 *   `run()`: with no command on its command line it reads commands line by
 *   line from standard input (JLine's ConsoleReader when JLine is on the
 *   classpath, as it is in the binary release's lib/, else a
 *   BufferedReader) until end of input, then exits with `exitCode`;
 *   `processCmd` sets `exitCode` after every command (0, or the
 *   CliException's code: 1), so the status is the last command's, `setAcl`,
 *   and `create` failing on an existing path does not count. Failures are
 *   printed to stderr (cli/CliWrapperException.java: "Insufficient
 *   permission : /mesos", "Node does not exist: /mesos"; ConnectionLoss as
 *   "KeeperErrorCode = ..."); cli/CreateCommand.java prints
 *   "Created /mesos" there too. cli/AddAuthCommand.java only queues the
 *   credentials (ClientCnxn sends them first on every connection).
 * - `create path [data] [acl]`, `setAcl path acl`: cli/AclParser.java reads
 *   `scheme:id:perms,...`; `auth::cdrwa` stands for the session's digest
 *   identity.
 * - JLine 2.14.6 (the release's lib/jline-2.14.6.jar; jline/jline2
 *   TerminalFactory.create, ConsoleReader.readLine): on a pipe it still
 *   builds a UnixTerminal and ConsoleReader echoes each line it reads,
 *   `addauth digest USER:PASSWORD` included, to stdout, hence to the
 *   container's log; with TERM=dumb it takes UnsupportedTerminal and
 *   `readLineSimple`, which echoes nothing. Hence `TERM=dumb` and `-e TERM`.
 * - The image (31z4/zookeeper-docker 3.8.4/Dockerfile): PATH holds
 *   /apache-zookeeper-3.8.4-bin/bin; zkCli.sh runs ZooKeeperMain with the
 *   release's lib/*.jar and /conf/logback.xml, whose CONSOLE appender logs
 *   to stdout (dropped here); stderr, the shell's messages, goes to the
 *   journal.
 *
 * The password reaches the shell only through the pipe and the file
 * through `echo` (bash builtins: no process shows it in `ps`); the command
 * lines of docker, the JVM and the fetcher carry the servers, the user name
 * and the secret's name only.
 *
 * Left out to fit AWS's 16 KB of user data (the Python client before did
 * them): the fix of open nodes below the path (a cluster from before
 * credentials keeps its open children until `setAcl -R` is run once by
 * hand: README, "ZooKeeper credentials on an existing cluster"), retries
 * inside the program (systemd's `Restart=` retries) and paths of more than
 * one level (refused here at synth: the shell creates no parents).
 *
 * `ZKCLI`, when set, replaces the docker command (the tests run Debian's
 * ZooKeeper shell with it).
 */
export function addZkAclGuard(config: CloudConfig, options: ZkAclGuardOptions): string {
  const m = /^zk:\/\/([^/]+)(\/.*)$/.exec(options.zkUrl);
  if (!m) throw new Error(`not a zk:// URL with a path: ${options.zkUrl}`);
  const [, hosts, path] = m;
  if (!/^\/[^/]+$/.test(path)) {
    fail(options.scope, "zkPath", path, "a path of one level such as /mesos when zookeeperCredentials are set (the ACL guard creates no parent nodes)");
  }
  const acl = ZK_ACLS[options.policy];
  const user = options.username;
  const dir = options.file.slice(0, options.file.lastIndexOf("/"));
  // Every byte counts: AWS counts the gzipped user data against 16 KB, and the masters' must stay below half of it.
  return addScript(
    config,
    options.name,
    `
w=$(${options.passwordCommand})
[[ $w =~ ^[A-Za-z0-9._~-]+$ ]] || { echo "${options.name}: bad password" >&2; exit 1; }
umask 077
mkdir -p ${dir}
echo "${options.envName ? `${options.envName}=` : ""}zk://${user}:$w@${hosts}${path}" >${options.file}
# The password travels on the shell's stdin only; the status is setAcl's.
printf '%s\\n' "addauth digest ${user}:$w" "create ${path} '' ${acl}" "setAcl ${path} ${acl}" | TERM=dumb \${ZKCLI:-docker run -i --rm --net=host -e TERM --entrypoint zkCli.sh ${options.image}} -server ${hosts} >/dev/null`,
  );
}
