import { AGENT_CREDENTIAL_FILE, AGENT_DRAIN_CLASSID } from "./agent-http-auth";
import { CloudConfig } from "./cloud-config";
import { addUnit, RUNTIME_DIR } from "./systemd";

/**
 * An agent leaving gracefully: before the cloud removes a pool member
 * (scale-in, instance refresh, rolling upgrade, eviction), a unit on the
 * agent sees the cloud's notice, takes the machine out of Mesos, waits up to
 * a bound for Marathon to run the apps it had elsewhere, and lets the cloud
 * go on.
 *
 * How Mesos 1.7.1 drains (no DRAIN_AGENT call before 1.9): maintenance
 * primitives (apache/mesos 1.7.1 docs/maintenance.md, src/master/http.cpp,
 * src/master/maintenance.cpp):
 * - POST /master/maintenance/schedule replaces the whole schedule (read,
 *   add a window, write back); each machine in it becomes DRAINING. A
 *   schedule that drops a DOWN machine is refused
 *   (maintenance.cpp validation::schedule). GET and POST are served by the
 *   leader only; another master answers 307 to it (http.cpp
 *   maintenanceSchedule: `redirect(request)`), which urllib follows for a GET.
 * - Marathon 1.8 declines offers of an agent whose unavailability has begun
 *   (mesosphere/marathon v1.8.244 src/main/scala/mesosphere/mesos/
 *   ResourceMatcher.scala checkAvailability, Availability.scala; on by
 *   default: MarathonConf.scala `maintenance_mode`; `--enable_features
 *   maintenance_mode` is no longer an available feature in 1.8, Features.scala).
 *   It acts on no inverse offer (docs/docs/maintenance-mode.md: "Automatic
 *   draining is not yet implemented"): nothing moves before the machine goes down.
 * - POST /master/machine/down (a DRAINING machine only) sends the agent a
 *   ShutdownMessage, which kills every executor, and removes it at once:
 *   each of its tasks is reported TASK_LOST, reason REASON_SLAVE_REMOVED
 *   (http.cpp _startMaintenance, master.cpp _removeSlave; not
 *   TASK_GONE_BY_OPERATOR, which only markGone and unreachable removals
 *   send). An agent of a DOWN machine is refused registration (master.cpp
 *   "because the machine ... is `DOWN`").
 * - Marathon maps TASK_LOST with REASON_SLAVE_REMOVED to Unreachable
 *   (core/task/state/TaskConditionMapping.scala); with the default unreachable
 *   strategy (inactiveAfterSeconds 0, state/UnreachableStrategy.scala) the
 *   instance is UnreachableInactive at once (core/instance/Instance.scala,
 *   Timestamp.expired) and a scale check launches its replacement
 *   (core/task/update/impl/steps/ScaleAppUpdateStepImpl.scala). An app with a
 *   larger inactiveAfterSeconds waits that long first.
 * - POST /master/machine/up (a DOWN machine) also deletes it from the
 *   schedule (http.cpp _stopMaintenance): the drain does so last, once the
 *   agent is stopped, so that a new machine given the same address later
 *   registers; at start it also brings up its own machine if it was left
 *   DOWN (GET /master/maintenance/status `down_machines`).
 * - A machine is `{hostname, ip}` as the agent registers (master.cpp: the
 *   agent's `--hostname` and the address of its pid): both are the private
 *   IP here (the agent's prestart writes MESOS_HOSTNAME=MESOS_IP).
 *
 * Authorization: update_maintenance_schedules, start_maintenances,
 * stop_maintenances (include/mesos/authorizer/acls.proto), whose object is
 * always ANY (src/authorizer/local/authorizer.cpp): an ACL cannot limit the
 * agents' principal to its own machine (core/mesos-acls.ts).
 *
 * The wait: the leader's /master/state before the machine goes down gives,
 * per app of the waited-for frameworks (Marathon) with a task here, how many
 * of its tasks run (TASK_RUNNING in the masters' state); the drain waits
 * until each such app runs as many again, or the bound passes. Marathon's
 * task ids name their app (Task.scala Task.Id.parse, whose patterns the
 * script uses). The agent has no credential for Marathon's API (giving every
 * agent one would let root on any agent run anything), and reads Mesos'
 * state with its own principal instead.
 */

/** Properties of an agent pool's drain ({@link MesosAgentPool} `drain`). */
export interface AgentDrainOptions {
  /**
   * Drain agents before the cloud removes them: an AWS lifecycle hook
   * (`autoscaling:EC2_INSTANCE_TERMINATING`) or Azure's terminate
   * notification, a unit on every agent, and the agents' principal allowed
   * Mesos maintenance on the masters.
   * @default true where the agents authenticate to the masters (their
   * credential signs the maintenance calls, and instance metadata is closed
   * to tasks), false otherwise
   */
  readonly enabled?: boolean;
  /**
   * Seconds an agent waits, once the cloud's notice is seen, for Marathon to
   * run its apps' tasks elsewhere before it lets the cloud go on anyway. The
   * cloud waits this plus 60 s at most (AWS: the hook's heartbeat timeout,
   * 30 to 7200 s, so at most 7140 here; Azure: the terminate notification,
   * whole minutes from 5 to 15, so at most 840 here).
   * @default 600
   */
  readonly timeoutSeconds?: number;
  /**
   * Mesos framework names whose tasks the drain waits for (frameworks that
   * reschedule lost tasks: Swarm does not).
   * @default ["marathon"]
   */
  readonly frameworks?: string[];
}

/** The drain unit on an agent. */
export const AGENT_DRAIN_UNIT = "mesos-agent-drain.service";
/** Where the drain program lives on an agent. */
export const AGENT_DRAIN_SCRIPT = "/usr/local/lib/mesos-cluster/mesos-agent-drain.py";
/** The default bound, in seconds. */
export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 600;
/** What the cloud waits beyond the bound: the notice's polling, the Mesos calls, the completion. */
export const DRAIN_MARGIN_SECONDS = 60;
/** Exit status of a drain that let the machine go without every app running elsewhere (the unit is not restarted). */
export const DRAIN_INCOMPLETE_STATUS = 3;

/** What an agent's drain is rendered from. */
export interface AgentDrainConfig {
  /** How the cloud gives notice: an AWS lifecycle hook seen through IMDS, or Azure's Scheduled Events. */
  readonly notice: "aws-lifecycle-hook" | "azure-scheduled-events";
  /** Values of the notice (AWS: asg, hook, region). */
  readonly settings: Readonly<Record<string, string>>;
  /** The masters' base URLs (`http://ip:5050`). */
  readonly masters: readonly string[];
  readonly timeoutSeconds: number;
  readonly frameworks: readonly string[];
}

/**
 * The drain program (Python 3 standard library, as the secret fetchers; the
 * AWS CLI is not on the image): SigV4 is a dozen lines, checked in the
 * tests against AWS's published test vector (`sign` takes lower-case
 * header names). `MESOS_DRAIN_*` variables
 * override endpoints, paths, the bound and the poll (tests only). It
 * carries no comments: every byte counts against AWS's 16 KB of user data.
 *
 * - Notice, polled every 5 s. AWS: IMDSv2 `autoscaling/target-lifecycle-state`
 *   says `Terminated` once the instance waits in Terminating:Wait (EC2 Auto
 *   Scaling User Guide, "Retrieve the target lifecycle state through
 *   instance metadata"). Azure: a `Terminate` or `Preempt` event of
 *   /metadata/scheduledevents naming this VM (IMDS compute/name) among its
 *   `Resources`: events of every member of the placement group reach every
 *   member (MicrosoftDocs azure-docs articles/virtual-machines/linux/
 *   scheduled-events.md, "Scope"); its NotBefore caps the wait (Preempt: 30 s).
 * - Drain: the leader's schedule and state, a window for this machine
 *   (start now, duration the bound), machine/down (retried until the bound:
 *   another agent's schedule write may race this one; DOWN is checked in
 *   /master/maintenance/status), then the wait, then `systemctl stop
 *   mesos-agent` and machine/up (which removes the machine from the schedule).
 * - Let go. AWS: CompleteLifecycleAction (CONTINUE) for this instance id,
 *   signed with the pool's role from IMDS (it may complete exactly this
 *   group's actions). Azure: a StartRequest for the event, only when the
 *   event names this VM alone (acknowledging lets every VM of the event go:
 *   scheduled-events.md, "Start an event"); otherwise Azure goes on at
 *   NotBefore. A bound reached or a failed drain is logged and the machine
 *   still let go; the unit then exits {@link DRAIN_INCOMPLETE_STATUS}.
 * - At start, a machine of this address left DOWN in Mesos (a drain cut
 *   short; addresses are handed out again) is brought up, or its agent
 *   would be refused.
 * - Before any socket, the program joins the net_cls group of class
 *   {@link AGENT_DRAIN_CLASSID}, the one the metadata block admits
 *   (core/agent-http-auth.ts), in systemd's v1 net_cls hierarchy
 *   (/sys/fs/cgroup/net_cls after the reboot into cgroup v1). On the first
 *   boot, still cgroup v2, there is none: metadata stays closed to it, and
 *   a machine removed then (it runs no task yet) goes when the cloud's
 *   wait ends.
 * - The wait counts TASK_RUNNING tasks, whatever their health checks say.
 */
export function agentDrainSource(c: AgentDrainConfig): string {
  const cloud = c.notice === "aws-lifecycle-hook" ? awsNotice(c.settings) : AZURE_NOTICE;
  return String.raw`#!/usr/bin/python3
import base64, email.utils, hashlib, hmac, json, os, re, subprocess, sys, time, urllib.error, urllib.parse, urllib.request

E = os.environ.get
MASTERS = E("MESOS_DRAIN_MASTERS", "${c.masters.join(" ")}").split()
FRAMEWORKS = ${JSON.stringify(c.frameworks)}
TIMEOUT = float(E("MESOS_DRAIN_TIMEOUT", "${c.timeoutSeconds}"))
POLL = float(E("MESOS_DRAIN_POLL", "5"))
IMDS = E("MESOS_DRAIN_IMDS", "http://169.254.169.254")
RUN = E("MESOS_DRAIN_RUN", "${RUNTIME_DIR}")
CREDENTIAL = RUN + "/secrets/${AGENT_CREDENTIAL_FILE}"
DONE = RUN + "/mesos-agent-drained"


def log(message):
    print("mesos-agent-drain:", message, file=sys.stderr, flush=True)


def call(url, body=None, method=None, headers={}, timeout=10):
    if body is not None and type(body) is not bytes:
        body = json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers, method=method), timeout=timeout) as r:
            return r.geturl(), r.read().decode()
    except urllib.error.HTTPError as e:
        raise RuntimeError("%s: HTTP %d %s" % (url, e.code, e.read().decode()[:300])) from None


def mesos(path, body=None, base=None):
    headers = {"Content-Type": "application/json"}
    if os.path.exists(CREDENTIAL):
        with open(CREDENTIAL) as f:
            c = json.load(f)
        headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % (c["principal"], c["secret"])).encode()).decode()
    for master in [base] if base else MASTERS:
        try:
            url, text = call(master + path, body, headers=headers)
            return url.split("/master/")[0], json.loads(text or "{}")
        except Exception as e:
            error = e
    raise error


def machine():
    with open(RUN + "/mesos-agent.env") as f:
        env = dict(line.strip().split("=", 1) for line in f if "=" in line)
    return {"hostname": env["MESOS_HOSTNAME"], "ip": env["MESOS_IP"]}


def tasks(base, me):
    state = mesos("/master/state", base=base)[1]
    mine = [s["id"] for s in state["slaves"] if s["hostname"] == me["hostname"]]
    count, here = {}, set()
    for f in state["frameworks"]:
        for t in f["tasks"] if f["name"] in FRAMEWORKS else []:
            if t["state"] == "TASK_RUNNING":
                app = f["name"] + ":" + re.sub(r"\.(instance|marathon)-[^_.]+[._][^.]+(\.\d+)?$", "", t["id"])
                count[app] = count.get(app, 0) + 1
                if t["slave_id"] in mine:
                    here.add(app)
    return count, here


def down(me):
    base, schedule = mesos("/master/maintenance/schedule")
    count, here = tasks(base, me)
    windows = schedule.get("windows", [])
    if not any(me in w["machine_ids"] for w in windows):
        window = {"machine_ids": [me], "unavailability": {"start": {"nanoseconds": time.time_ns()}, "duration": {"nanoseconds": int(TIMEOUT * 1e9)}}}
        mesos("/master/maintenance/schedule", {"windows": windows + [window]}, base)
    try:
        mesos("/master/machine/down", [me], base)
    except RuntimeError:
        if me not in mesos("/master/maintenance/status", base=base)[1].get("down_machines", []):
            raise
    log("%s is down in Mesos; waiting for %s" % (me["ip"], sorted(here)))
    return {app: count[app] for app in here}


def forget(me):
    base, status = mesos("/master/maintenance/status")
    if me in status.get("down_machines", []):
        mesos("/master/machine/up", [me], base)
        log("%s is up in Mesos again" % me["ip"])
${cloud}

def drain(event):
    deadline, done = event["deadline"], False
    log("the cloud is removing this machine: draining it for %ds at most" % max(0, deadline - time.time()))
    need = None
    try:
        me = machine()
        while True:
            try:
                need = down(me) if need is None else need
                have = tasks(mesos("/master/maintenance/schedule")[0], me)[0]
                short = sorted(app for app in need if have.get(app, 0) < need[app])
            except Exception as e:
                short = [str(e)]
            if not short or time.time() + POLL > deadline:
                break
            time.sleep(POLL)
        if need is None:
            raise RuntimeError(short[0])
        log("bound reached; not running elsewhere yet: %s" % short if short else "every app that ran here runs elsewhere")
        subprocess.run(E("MESOS_DRAIN_STOP_AGENT", "systemctl stop mesos-agent.service").split(), check=True)
        forget(me)
        done = not short
    except Exception as e:
        log("drain failed: %s" % e)
    for _ in range(3):
        try:
            let_go(event)
            break
        except Exception as e:
            log("could not let the cloud go on: %s" % e)
            time.sleep(POLL)
    open(DONE, "w").close()
    return 0 if done else ${DRAIN_INCOMPLETE_STATUS}


def main():
    if os.path.exists(DONE):
        return 0
    group = E("MESOS_DRAIN_NET_CLS", "/sys/fs/cgroup/net_cls") + "/mesos-agent-drain"
    if os.path.isdir(os.path.dirname(group)):
        os.makedirs(group, exist_ok=True)
        for name, value in ("net_cls.classid", "${AGENT_DRAIN_CLASSID}"), ("cgroup.procs", str(os.getpid())):
            with open(group + "/" + name, "w") as f:
                f.write(value)
    last, forgotten = None, False
    while True:
        try:
            event = notice()
            if event:
                return drain(event)
            if not forgotten and os.path.exists(RUN + "/mesos-agent.env"):
                forget(machine())
                forgotten = True
            last = None
        except Exception as e:
            if str(e) != last:
                log(e)
            last = str(e)
        if E("MESOS_DRAIN_ONCE"):
            return 2 if last else 0
        time.sleep(POLL)


if __name__ == "__main__":
    sys.exit(main())
`;
}

/** AWS: the hook's state in IMDSv2, CompleteLifecycleAction signed with SigV4 (the role's credentials from IMDS). */
function awsNotice(settings: Readonly<Record<string, string>>): string {
  return String.raw`
AUTOSCALING = E("MESOS_DRAIN_AUTOSCALING", "https://autoscaling.${settings.region}.amazonaws.com") + "/"


def meta(path):
    token = call(IMDS + "/latest/api/token", b"", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "300"})[1]
    return call(IMDS + "/latest/meta-data/" + path, headers={"X-aws-ec2-metadata-token": token})[1].strip()


def notice():
    if meta("autoscaling/target-lifecycle-state") == "Terminated":
        return {"deadline": time.time() + TIMEOUT}


def sign(url, body, headers, region, service, key_id, secret, amz_date):
    h = dict(headers, host=urllib.parse.urlparse(url).netloc, **{"x-amz-date": amz_date})
    names = sorted(h)
    canonical = "POST\n/\n\n%s\n%s\n%s" % ("".join("%s:%s\n" % (k, h[k]) for k in names), ";".join(names), hashlib.sha256(body).hexdigest())
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    to_sign = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest())
    h["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        key_id, scope, ";".join(names), hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest())
    return h


def let_go(event):
    c = json.loads(meta("iam/security-credentials/" + meta("iam/security-credentials/").split()[0]))
    body = urllib.parse.urlencode({"Action": "CompleteLifecycleAction", "AutoScalingGroupName": "${settings.asg}", "InstanceId": meta("instance-id"),
                                   "LifecycleActionResult": "CONTINUE", "LifecycleHookName": "${settings.hook}", "Version": "2011-01-01"}).encode()
    headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8", "x-amz-security-token": c["Token"]}
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    call(AUTOSCALING, body, "POST", sign(AUTOSCALING, body, headers, "${settings.region}", "autoscaling", c["AccessKeyId"], c["SecretAccessKey"], amz_date))
    log("completed the lifecycle action")
`;
}

/** Azure: Terminate and Preempt events naming this VM; a StartRequest when the event names it alone. */
const AZURE_NOTICE = String.raw`
EVENTS = IMDS + "/metadata/scheduledevents?api-version=2020-07-01"
AZURE = {"Metadata": "true"}


def notice():
    name = call(IMDS + "/metadata/instance/compute/name?api-version=2020-09-01&format=text", headers=AZURE)[1].strip()
    for e in json.loads(call(EVENTS, headers=AZURE, timeout=30)[1]).get("Events", []):
        if e.get("EventType") in ("Terminate", "Preempt") and name in e.get("Resources", []):
            at = email.utils.parsedate_to_datetime(e["NotBefore"]).timestamp() - 5 if e.get("NotBefore") else 0
            return dict(e, name=name, deadline=min(time.time() + TIMEOUT, at))


def let_go(event):
    if event["Resources"] != [event["name"]]:
        return log("event %s also names %s: Azure goes on at %s" % (event["EventId"], event["Resources"], event["NotBefore"]))
    call(EVENTS, {"StartRequests": [{"EventId": event["EventId"]}]}, "POST", AZURE)
    log("acknowledged event " + event["EventId"])
`;

/**
 * Adds the drain (program, unit) to an agent's document. Root: it joins a
 * net_cls group, reads the agent's credential and stops the agent. Restarted
 * after a crash; not after a drain that let the machine go incomplete (its
 * journal says why), nor after one that finished (a marker in tmpfs).
 */
export function addAgentDrain(config: CloudConfig, c: AgentDrainConfig): void {
  config.addFile({ path: AGENT_DRAIN_SCRIPT, permissions: "0700", content: agentDrainSource(c) });
  addUnit(config, AGENT_DRAIN_UNIT, {
    Unit: { Description: "Takes this Mesos agent out of service before the cloud removes the machine", Wants: "network-online.target", After: "network-online.target" },
    Service: { ExecStart: `/usr/bin/python3 ${AGENT_DRAIN_SCRIPT}`, Restart: "on-failure", RestartSec: "10", RestartPreventExitStatus: String(DRAIN_INCOMPLETE_STATUS) },
    Install: { WantedBy: "multi-user.target" },
  });
  config.enableUnit(AGENT_DRAIN_UNIT);
}
