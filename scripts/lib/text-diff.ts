/**
 * Line-based unified diff (the `diff -u` format reviewers read every day),
 * without a dependency: user data documents are a few hundred lines, and the
 * common head and tail are trimmed before the LCS table is built.
 */

/** One hunk of a unified diff. */
export interface DiffHunk {
  /** 1-based first line in the old text (0 when the hunk adds to an empty range). */
  readonly oldStart: number;
  readonly oldLines: number;
  readonly newStart: number;
  readonly newLines: number;
  /** Lines prefixed with ' ', '-' or '+'. */
  readonly lines: string[];
}

type Op = { readonly kind: " " | "-" | "+"; readonly text: string };

/** The edit script from `a` to `b` (longest common subsequence, deletions before insertions). */
function editScript(a: string[], b: string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  // lcs[i * (m + 1) + j]: length of the LCS of midA[i..] and midB[j..].
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = midA[i] === midB[j] ? lcs[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
    }
  }
  const ops: Op[] = a.slice(0, start).map((text) => ({ kind: " ", text }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && midA[i] === midB[j]) {
      ops.push({ kind: " ", text: midA[i] });
      i++;
      j++;
    } else if (j >= m || (i < n && lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1])) {
      ops.push({ kind: "-", text: midA[i++] });
    } else {
      ops.push({ kind: "+", text: midB[j++] });
    }
  }
  for (const text of a.slice(endA)) ops.push({ kind: " ", text });
  return ops;
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** The hunks turning `oldText` into `newText`, with `context` unchanged lines around each change. */
export function diffHunks(oldText: string, newText: string, context = 3): DiffHunk[] {
  const ops = editScript(splitLines(oldText), splitLines(newText));
  const changed = ops.map((op, k) => (op.kind !== " " ? k : -1)).filter((k) => k >= 0);
  const hunks: DiffHunk[] = [];
  let g = 0;
  while (g < changed.length) {
    // Group changes whose context windows touch.
    let last = g;
    while (last + 1 < changed.length && changed[last + 1] - changed[last] <= 2 * context + 1) last++;
    const from = Math.max(0, changed[g] - context);
    const to = Math.min(ops.length, changed[last] + context + 1);
    let oldLine = 1;
    let newLine = 1;
    for (let k = 0; k < from; k++) {
      if (ops[k].kind !== "+") oldLine++;
      if (ops[k].kind !== "-") newLine++;
    }
    const slice = ops.slice(from, to);
    const oldLines = slice.filter((op) => op.kind !== "+").length;
    const newLines = slice.filter((op) => op.kind !== "-").length;
    hunks.push({
      // diff -u names the line before an empty range.
      oldStart: oldLines === 0 ? oldLine - 1 : oldLine,
      oldLines,
      newStart: newLines === 0 ? newLine - 1 : newLine,
      newLines,
      lines: slice.map((op) => `${op.kind}${op.text}`),
    });
    g = last + 1;
  }
  return hunks;
}

/** A unified diff with `---`/`+++` headers; empty when the texts are equal. */
export function unifiedDiff(oldText: string, newText: string, oldName: string, newName: string, context = 3): string {
  const hunks = diffHunks(oldText, newText, context);
  if (hunks.length === 0) return "";
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  for (const h of hunks) {
    out.push(`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`);
    out.push(...h.lines);
  }
  return `${out.join("\n")}\n`;
}
