/**
 * Renders a {@link PlanDiff} for people: Markdown for a pull request comment,
 * plain text for a terminal. Order of importance: what will be REPLACED and
 * what it does to the quorum first, then every changed resource, then the
 * decoded user data diffs, which are the first thing cut to fit a size limit.
 */
import { AttributeChange, PlanDiff, QuorumImpact, ResourceAction, ResourceChange, StackDiff, UserDataChange } from "./plan-diff";

export type ReportFormat = "markdown" | "text";

export interface ReportOptions {
  readonly format: ReportFormat;
  /** Labels of the two sides, e.g. `origin/main` and `working tree`. */
  readonly baseLabel: string;
  readonly headLabel: string;
  /**
   * Most characters of the report; user data diffs are cut (with a note) to
   * fit. 0 for no limit. GitHub refuses comments over 65536 characters.
   * @default 60000 for markdown, 0 for text
   */
  readonly maxChars?: number;
}

/** Where `cdktf synth` writes a stack, for the targeted apply commands. */
const SYNTH_DIR = "cdktf.out";

const SYMBOL: Record<ResourceAction, string> = { create: "+", destroy: "-", replace: "-/+", update: "~", unassessed: "-/+?", read: "<=" };
const VERB: Record<ResourceAction, string> = {
  create: "create",
  destroy: "destroy",
  replace: "replace",
  update: "update in place",
  unassessed: "may be replaced (the replacement table cannot judge it: confirm with cdktf diff)",
  read: "read again (its results may differ)",
};
/** Above this many created resources a stack lists them by type with counts. */
const MAX_LISTED_CREATES = 40;

function count(stack: StackDiff, action: ResourceAction): number {
  return stack.resources.filter((r) => r.action === action).length;
}

function short(value: unknown): string | undefined {
  if (value === undefined) return "(none)";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length <= 80 ? text : undefined;
}

/** One line under a resource: the attribute (or reference) and what happened to it. */
interface Detail {
  readonly subject: string;
  readonly text: string;
}

function describeAttribute(a: AttributeChange): Detail {
  let effect =
    a.effect === "replace"
      ? " [forces replacement]"
      : a.effect === "unassessed"
        ? a.recomputedFrom && !/not in the replacement table/.test(a.note ?? "")
          ? ` [${a.note}: replaced if it is]`
          : ` [${a.note ?? "not in the replacement table"}: may be replaced]`
        : a.effect === "fail"
          ? ` [APPLY FAILS: ${a.note}]`
          : "";
  // What the change does to running machines, data or the apply is what a reviewer must see.
  if (a.consequence && a.effect !== "fail") effect += ` [${a.note}]`;
  if (a.userData) return { subject: a.path, text: `user data changed (decoded diff below)${effect}` };
  if (a.recomputedFrom) return { subject: a.path, text: `known after apply: names ${a.recomputedFrom}, which ${a.recomputedHow ?? "is replaced"}${effect}` };

  const before = short(a.before);
  const after = short(a.after);
  return { subject: a.path, text: before !== undefined && after !== undefined ? `${before} -> ${after}${effect}` : `changed${effect}` };
}

function summaryLine(stack: StackDiff): string {
  const parts = [
    `${count(stack, "create")} to create`,
    `${count(stack, "update")} to update in place`,
    `${count(stack, "replace")} to replace`,
    `${count(stack, "destroy")} to destroy`,
  ];
  const unassessed = count(stack, "unassessed");
  if (unassessed > 0) parts.push(`${unassessed} that may be replaced`);
  const read = count(stack, "read");
  if (read > 0) parts.push(`${read} data source${read === 1 ? "" : "s"} read again`);
  return parts.join(", ");
}

/** A piece of the loud part: a paragraph, a list item, or a shell command. */
interface Block {
  readonly kind: "para" | "item" | "command";
  readonly text: string;
  /** Rendered in bold (Markdown) / upper case already. */
  readonly strong?: boolean;
}

/** The loud part: masters and data disks replaced, possibly replaced, destroyed, restarted or stopped; the quorum; refused changes. */
function warnings(stack: StackDiff): Block[] {
  const blocks: Block[] = [];
  const masters = stack.statefulReplacements.filter((r) => r.stateful === "master");
  const disks = stack.statefulReplacements.filter((r) => r.stateful === "data-disk");
  const verb = (r: ResourceChange) => (r.action === "destroy" ? "DESTROYED" : r.action === "replace" ? "REPLACED" : "POSSIBLY REPLACED");
  const item = (r: ResourceChange): Block => ({ kind: "item", text: `${r.machine}: ${verb(r)} (\`${r.address}\`) because ${reasonText(r)}` });
  if (masters.length > 0) {
    blocks.push({
      kind: "para",
      strong: true,
      text: `${masters.length} master${masters.length === 1 ? "" : "s"} will be replaced or destroyed${masters.some((r) => r.action === "unassessed") ? " (or may be)" : ""}: a replaced master is a new machine that boots from scratch (ZooKeeper, Mesos master and Marathon start anew on it).`,
    });
    blocks.push(...masters.map(item));
  }
  if (disks.some((r) => r.action !== "unassessed")) {
    blocks.push({
      kind: "para",
      strong: true,
      text: `${disks.length} data disk${disks.length === 1 ? "" : "s"} of masters will be replaced or destroyed: THEIR DATA (ZooKeeper snapshots and logs, the Mesos replicated log) IS LOST.`,
    });
    blocks.push(...disks.map(item));
  } else if (disks.length > 0) {
    blocks.push({
      kind: "para",
      strong: true,
      text: `${disks.length} data disk${disks.length === 1 ? "" : "s"} of masters may be replaced: if they are, their data (ZooKeeper snapshots and logs, the Mesos replicated log) is lost.`,
    });
    blocks.push(...disks.map(item));
  } else if (masters.some((r) => r.action === "replace")) {
    blocks.push({ kind: "para", text: "The masters' data disks are kept: they are detached and attached to the new machines." });
  }
  if (stack.statefulReplacements.some((r) => r.action === "unassessed")) {
    blocks.push({
      kind: "para",
      text:
        "\"Possibly replaced\" means plan-diff cannot rule a replacement out: a change on the way is of a type or attribute its replacement table does not judge, so it counts as a replacement. " +
        `Confirm with \`npx cdktf diff ${stack.stack}\` (terraform plan against the state): the machine is replaced if the plan says \`must be replaced\` for it.`,
    });
  }
  if (stack.restarts.length > 0) {
    blocks.push({
      kind: "para",
      strong: true,
      text: `${stack.restarts.length} master${stack.restarts.length === 1 ? " is" : "s are"} stopped and started again by an in-place update (not replaced: disks and data stay):`,
    });
    for (const r of stack.restarts) {
      const why = r.attributes.filter((a) => a.restarts).map((a) => `\`${a.path}\`: ${a.note}`);
      blocks.push({ kind: "item", text: `${r.machine}: RESTARTED (\`${r.address}\`) because ${why.join("; ")}` });
    }
  }
  if (stack.stopped.length > 0) {
    blocks.push({ kind: "para", strong: true, text: `${stack.stopped.length} master${stack.stopped.length === 1 ? " is" : "s are"} stopped by this apply and not started again:` });
  }
  for (const s of stack.stopped) {
    blocks.push({
      kind: "item",
      text:
        `${s.machine}: STOPPED and left stopped (\`${s.address}\`): \`${s.by}\` ${s.certain ? "is" : "may be"} destroyed with stop_instance_before_detaching, and the provider never starts the instance again; ` +
        "start it afterwards (`aws ec2 start-instances --instance-ids <its id>`)",
    });
  }
  if (stack.quorum) blocks.push(...quorumBlocks(stack, stack.quorum));
  if (stack.failures.length > 0) {
    blocks.push({
      kind: "para",
      strong: true,
      text: `The apply FAILS at ${stack.failures.length} resource${stack.failures.length === 1 ? "" : "s"}: the provider or the cloud refuses ${stack.failures.length === 1 ? "this change" : "these changes"} (nothing is replaced; the apply stops with an error, after whatever it changed before):`,
    });
    for (const r of stack.failures) {
      for (const a of r.attributes.filter((x) => x.effect === "fail")) {
        blocks.push({ kind: "item", text: `\`${r.address}\`${r.machine ? ` (${r.machine}${r.stateful === "data-disk" ? " data disk" : ""})` : ""}: \`${a.path}\` ${short(a.before) ?? "..."} -> ${short(a.after) ?? "..."}: ${a.note}` });
      }
    }
  }
  return blocks;
}

function reasonText(r: ResourceChange): string {
  if (r.action === "destroy") return "it is no longer in the configuration";
  if (r.reasonChains.length > 0) return r.reasonChains.slice(0, 3).join("; ") + (r.reasonChains.length > 3 ? ` (and ${r.reasonChains.length - 3} more)` : "");
  return r.replaceReasons
    .map((p) => (r.attributes.find((a) => a.path === p)?.userData ? `\`${p}\` (user data) changed` : p.includes(" ") ? p : `\`${p}\` changed`))
    .join("; ");
}

function quorumBlocks(stack: StackDiff, q: QuorumImpact): Block[] {
  const blocks: Block[] = [];
  const restarted = q.restarted ?? [];
  const stopped = q.stopped ?? [];
  const possibly = (name: string) => stack.statefulReplacements.some((r) => r.machine === name && r.stateful === "master" && r.action === "unassessed");
  const replacedWord = q.replaced.every(possibly) ? "possibly replaced" : q.replaced.some(possibly) ? "replaced or possibly replaced" : "replaced";
  const change = [
    q.replaced.length > 0 ? `${q.replaced.length} ${replacedWord} (${q.replaced.join(", ")})` : "",
    restarted.length > 0 ? `${restarted.length} stopped and started again (${restarted.join(", ")})` : "",
    stopped.length > 0 ? `${stopped.length} stopped (${stopped.join(", ")})` : "",
    q.added.length > 0 ? `${q.added.length} added (${q.added.join(", ")})` : "",
    q.destroyed.length > 0 ? `${q.destroyed.length} destroyed (${q.destroyed.join(", ")})` : "",
  ].filter((s) => s);
  blocks.push({ kind: "para", text: `ZooKeeper members affected: ${change.join(", ")}; the ensemble has ${q.ensembleSize} member${q.ensembleSize === 1 ? "" : "s"} after the change.` });
  if (!q.losesQuorum) return blocks;
  const down = q.replaced.length + restarted.length + stopped.length;
  const how =
    restarted.length + stopped.length === 0
      ? replacedWord
      : q.replaced.length + stopped.length === 0
        ? "stopped and started again"
        : q.replaced.length + restarted.length === 0
          ? "stopped"
          : `down (${change.slice(0, 3).filter((c) => c).join(", ")})`;
  if (q.ensembleSize === 1) {
    blocks.push({
      kind: "para",
      strong: true,
      text: `ZOOKEEPER DOWN: the only member is ${how}; ZooKeeper, and with it Mesos, Marathon and Swarm, are unavailable until ${how.endsWith("replaced") ? "the new machine has booted" : "it runs again"}.`,
    });
    return blocks;
  }
  blocks.push({
    kind: "para",
    strong: true,
    text:
      `QUORUM LOST: ${down} of ${q.ensembleSize} ZooKeeper members are ${how} at once, but an ensemble of ${q.ensembleSize} tolerates only ${q.tolerated} down (quorum ${q.quorum}). ` +
      `Terraform ${restarted.length > 0 && q.replaced.length === 0 ? "updates" : "replaces"} them in parallel by default, so ZooKeeper (and with it Mesos leader election, Marathon and Swarm) stops until enough members are back.`,
  });
  blocks.push({
    kind: "para",
    text:
      "Roll out one member at a time instead: `npm run rollout` applies one master per step (followers first, the leader last) and waits until ZooKeeper, Mesos, Marathon and the agents " +
      "are healthy again before the next, then applies the rest (`--dry-run` prints the steps; the base is the configuration deployed now):",
  });
  blocks.push({ kind: "command", text: `npm run rollout -- ${stack.stack} --base-ref <deployed ref>` });
  blocks.push({
    kind: "para",
    text:
      "Or by hand: after `npx cdktf synth`, apply one master, wait until `echo srvr | nc <its ip> 2181` answers `Mode: follower` or `Mode: leader`, then the next " +
      "(`-parallelism=1` alone is not enough: Terraform does not wait for ZooKeeper to rejoin), and apply the rest last:",
  });
  blocks.push({ kind: "command", text: `terraform -chdir=${SYNTH_DIR}/stacks/${stack.stack} init` });
  for (const { targets } of oneMasterAtATime(stack)) {
    blocks.push({ kind: "command", text: `terraform -chdir=${SYNTH_DIR}/stacks/${stack.stack} apply ${targets.map((a) => `-target='${a}'`).join(" ")}` });
  }
  blocks.push({ kind: "command", text: `npx cdktf deploy ${stack.stack}` });
  return blocks;
}

/**
 * What to apply for each master that goes down, one master at a time (the
 * rollout's steps, and the report's commands): its machine when replaced or
 * possibly replaced, with what is replaced because of it alone (its data disk
 * attachment, not a certificate naming every master); the resource whose
 * update restarts it; the attachment whose destroy stops it. By machine, in
 * the masters' order.
 */
export function oneMasterAtATime(stack: StackDiff): { machine: string; targets: string[] }[] {
  const byMachine = new Map<string, string[]>();
  const add = (machine: string, ...addresses: string[]) => byMachine.set(machine, [...new Set([...(byMachine.get(machine) ?? []), ...addresses])]);
  for (const r of stack.statefulReplacements.filter((x) => x.stateful === "master" && (x.action === "replace" || x.action === "unassessed"))) {
    const attachments = stack.resources
      .filter((x) => x.action === "replace" && x.replaceReasons.length > 0 && x.replaceReasons.every((reason) => reason.includes(` names ${r.address},`)))
      .map((x) => x.address);
    add(r.machine!, r.address, ...attachments);
  }
  for (const r of stack.restarts) add(r.machine!, r.address);
  for (const s of stack.stopped) add(s.machine, s.by);
  return [...byMachine.entries()].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true })).map(([machine, targets]) => ({ machine, targets }));
}

/** Markdown: a GitHub alert (blockquote) with lists and one code block per run of commands. */
function renderWarningsMarkdown(stack: string, blocks: Block[]): string[] {
  const out = ["> [!CAUTION]", `> **Stack \`${stack}\`: masters, data disks and the apply**`];
  let previous: Block["kind"] | undefined;
  for (const b of blocks) {
    if (b.kind === "command") {
      if (previous !== "command") out.push(">", "> ```sh");
      out.push(`> ${b.text}`);
    } else {
      if (previous === "command") out.push("> ```");
      if (!(b.kind === "item" && previous === "item")) out.push(">");
      const text = b.strong ? `**${b.text}**` : b.text;
      out.push(b.kind === "item" ? `> - ${text}` : `> ${text}`);
    }
    previous = b.kind;
  }
  if (previous === "command") out.push("> ```");
  return out;
}

function renderWarningsText(stack: string, blocks: Block[]): string[] {
  const out = [`!!! Stack ${stack}: masters, data disks and the apply`];
  for (const b of blocks) {
    const text = b.text.replace(/`/g, "");
    out.push(b.kind === "item" ? `!!!   - ${text}` : b.kind === "command" ? `!!!       ${text}` : `!!! ${text}`);
  }
  return out;
}

interface Entry {
  readonly action: ResourceAction;
  /** An address, or `N x type` for grouped creates. */
  readonly subject: string;
  readonly constructPath: string;
  readonly details: Detail[];
}

function resourceEntries(stack: StackDiff): Entry[] {
  const entries: Entry[] = [];
  const creates = stack.resources.filter((r) => r.action === "create");
  const listCreates = creates.length <= MAX_LISTED_CREATES;
  for (const r of stack.resources) {
    if (r.action === "create" && !listCreates) continue;
    // Attributes that name a replaced resource are among the attributes (recomputedFrom); chains say how it came to that.
    const details = r.attributes.map(describeAttribute);
    for (const chain of r.reasonChains.filter((c) => c.includes(" -> ")).slice(0, 3)) details.push({ subject: "why", text: chain });
    entries.push({ action: r.action, subject: r.address, constructPath: r.constructPath, details });
  }
  if (!listCreates) {
    const byType = new Map<string, number>();
    for (const r of creates) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
    for (const [type, n] of [...byType.entries()].sort()) entries.push({ action: "create", subject: `${n} x ${type}`, constructPath: "", details: [] });
  }
  return entries;
}

function userDataTitle(u: UserDataChange): string {
  const what = u.kind === "pool" ? "pool" : "machine";
  const roles = u.roles.length > 0 ? ` [${u.roles.join(", ")}]` : "";
  const changed = u.diff ? u.diff.split("\n").filter((l) => /^[-+](?![-+]{2} )/.test(l)).length : 0;
  const note = u.kind === "pool" && u.action === "changed" ? "; running members get it only when replaced: see the pool's resource change for how (rolling batches for the agent pools)" : "";
  if (u.action === "added") return `${u.name} (new ${what}${roles})`;
  if (u.action === "removed") return `${u.name} (${what} removed${roles})`;
  return `${u.name} (${what}${roles}, ${changed} lines changed${note})`;
}

/** A fence longer than any backtick run in `text`, so a diff cannot close it. */
function fenceFor(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return "`".repeat(longest + 1);
}

/** Cuts `text` at a line boundary to at most `limit` characters. */
function cut(text: string, limit: number): { text: string; droppedLines: number } {
  if (text.length <= limit) return { text, droppedLines: 0 };
  const kept = text.slice(0, Math.max(0, limit)).replace(/[^\n]*$/, "");
  return { text: kept, droppedLines: text.slice(kept.length).split("\n").filter((l) => l !== "").length };
}

/** The one-line verdict: what makes the exit code. */
function verdictLine(diff: PlanDiff): string {
  const stateful = diff.stacks.flatMap((s) => s.statefulReplacements);
  const failures = diff.stacks.reduce((n, s) => n + s.failures.length, 0);
  const fails = failures > 0 ? ` The apply FAILS at ${failures} resource${failures === 1 ? "" : "s"}: the provider or the cloud refuses the change (see below).` : "";
  if (diff.exitCode !== 3) return `Changes, none of which replaces a master or a data disk (exit code 2).${fails}`;
  const parts: string[] = [];
  if (stateful.some((r) => r.action !== "unassessed")) parts.push("Masters or their data disks are REPLACED or destroyed");
  if (stateful.some((r) => r.action === "unassessed")) parts.push(`${parts.length > 0 ? "others" : "Masters or their data disks"} MAY BE REPLACED (plan-diff cannot rule it out: confirm with \`cdktf diff\`)`);
  if (diff.stacks.some((s) => s.quorum?.losesQuorum && s.quorum.replaced.length === 0)) {
    parts.push(`${parts.length > 0 ? "masters" : "Masters"} are stopped at once by in-place updates: the ZooKeeper quorum is lost during the apply`);
  }
  return `${parts.join("; ")} (exit code 3).${fails}`;
}

const TRUNCATED = "run `npm run plan-diff` locally for the whole diff";

export function renderReport(diff: PlanDiff, options: ReportOptions): string {
  const markdown = options.format === "markdown";
  const maxChars = options.maxChars ?? (markdown ? 60000 : 0);
  const out: string[] = [];
  const title = `Plan diff: ${options.baseLabel} -> ${options.headLabel}`;
  out.push(markdown ? `### ${title.replace("->", "→")}` : title, "");

  if (diff.stacks.length === 0) {
    out.push("No changes: the synthesized Terraform configuration is the same.");
    return `${out.join("\n")}\n`;
  }
  const verdict = markdown ? verdictLine(diff) : verdictLine(diff).replace(/`/g, "");
  out.push(markdown ? `**${verdict}**` : verdict, "");

  if (markdown) {
    out.push("| stack | cloud | create | update | replace | destroy | user data changed |", "| --- | --- | ---: | ---: | ---: | ---: | --- |");
    for (const s of diff.stacks) {
      const ud = s.userData.filter((u) => u.action === "changed").map((u) => u.name);
      const maybe = count(s, "unassessed");
      out.push(
        `| ${s.stack} | ${s.cloud ?? ""} | ${count(s, "create")} | ${count(s, "update") + count(s, "read")} | ${count(s, "replace")}${maybe > 0 ? ` (+${maybe} may be)` : ""} | ${count(s, "destroy")} | ${ud.join(", ") || "none"} |`,
      );
    }
    out.push("");
  }

  for (const s of diff.stacks) {
    const warn = warnings(s);
    if (warn.length === 0) continue;
    out.push(...(markdown ? renderWarningsMarkdown(s.stack, warn) : renderWarningsText(s.stack, warn)));
    out.push("");
  }

  const diffs: { stack: string; change: UserDataChange }[] = [];
  for (const s of diff.stacks) {
    out.push(markdown ? `#### Stack \`${s.stack}\` (${s.cloud ?? "?"}): ${summaryLine(s)}` : `Stack ${s.stack} (${s.cloud ?? "?"}): ${summaryLine(s)}`, "");
    for (const e of resourceEntries(s)) {
      const where = e.constructPath ? ` (${e.constructPath})` : "";
      if (markdown) {
        out.push(`- \`${SYMBOL[e.action]}\` **${VERB[e.action]}** \`${e.subject}\`${where}`);
        for (const d of e.details) out.push(`  - \`${d.subject}\`: ${d.text}`);
      } else {
        out.push(`  ${SYMBOL[e.action].padEnd(3)} ${VERB[e.action]}: ${e.subject}${where}`);
        for (const d of e.details) out.push(`        ${d.subject}: ${d.text}`);
      }
    }
    if (s.outputs.length > 0) out.push("", `${markdown ? "Outputs" : "  Outputs"}: ${s.outputs.map((o) => `${o.name} (${o.action})`).join(", ")}`);
    for (const setting of s.settings) out.push("", markdown ? `**${setting}**` : `  ${setting}`);
    out.push("");
    for (const change of s.userData) diffs.push({ stack: s.stack, change });
  }

  // User data: what is left of the budget goes to the diffs, in order.
  let body = out.join("\n");
  const limit = maxChars > 0 ? maxChars : Number.MAX_SAFE_INTEGER;
  const tail: string[] = [];
  if (diffs.length > 0) tail.push(markdown ? "#### User data (decoded cloud-init)" : "User data (decoded cloud-init):", "");
  let omitted = 0;
  for (const { stack, change } of diffs) {
    const title = `${stack}: ${userDataTitle(change)}`;
    const reserve = 400; // room for the closing notes
    const used = body.length + tail.join("\n").length + reserve;
    if (!change.diff) {
      const line = markdown ? `- ${title}` : title;
      if (used + line.length < limit) tail.push(line, "");
      else omitted++;
      continue;
    }
    const fence = fenceFor(change.diff);
    const frame = markdown ? `<details><summary>${title}</summary>\n\n${fence}diff\n\n${fence}\n</details>\n`.length + 120 : title.length + 120;
    const room = limit - used - frame;
    if (room < 200) {
      omitted++;
      continue;
    }
    const { text, droppedLines } = cut(change.diff, room);
    const note = droppedLines > 0 ? `... ${droppedLines} more lines not shown: ${TRUNCATED}` : "";
    if (markdown) {
      tail.push(`<details><summary>${title}</summary>`, "", `${fence}diff`, `${text}${note ? `${note}\n` : ""}${fence}`, "</details>", "");
    } else {
      tail.push(`${title}`, text + note, "");
    }
  }
  if (omitted > 0) tail.push(`${omitted} more user data diff${omitted === 1 ? "" : "s"} not shown to keep this under ${limit} characters: ${TRUNCATED}.`, "");
  body = `${body}\n${tail.join("\n")}`.replace(/\n{3,}/g, "\n\n");
  if (body.length > limit) {
    // Only a pathological list of resources gets here: cut it, say so.
    const note = `\n\n(report cut at ${limit} characters: ${TRUNCATED})\n`;
    body = cut(body, limit - note.length).text + note;
  }
  return body.endsWith("\n") ? body : `${body}\n`;
}
