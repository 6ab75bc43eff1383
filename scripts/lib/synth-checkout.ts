/**
 * Synthesizes a checkout of the project (the working tree, or a git ref in a
 * temporary worktree) into a folder, with the checkout's own app command
 * (`app` of its cdktf.json) exactly as `cdktf synth` would run it.
 */
import { execFileSync, spawnSync } from "child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";

/** Runs the app of `checkout`'s cdktf.json with its output going to `outdir`. */
export function synthesizeCheckout(checkout: string, outdir: string, env: NodeJS.ProcessEnv = process.env): void {
  const cdktfJson = join(checkout, "cdktf.json");
  if (!existsSync(cdktfJson)) throw new Error(`${checkout} has no cdktf.json: not a checkout of this project`);
  const app = (JSON.parse(readFileSync(cdktfJson, "utf8")) as { app?: string }).app;
  if (!app) throw new Error(`${cdktfJson} names no "app" command`);
  // The same variable the cdktf CLI sets: App() writes there.
  const result = spawnSync(app, {
    cwd: checkout,
    shell: true,
    env: { ...env, CDKTF_OUTDIR: resolve(outdir), CHECKPOINT_DISABLE: "1" },
    encoding: "utf8",
    timeout: 10 * 60 * 1000,
  });
  if (result.error) throw new Error(`synthesizing ${checkout} failed: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`synthesizing ${checkout} (\`${app}\`) exited with ${result.status}:\n${(result.stderr || result.stdout).trim()}`);
  }
  if (!existsSync(join(outdir, "manifest.json"))) throw new Error(`\`${app}\` in ${checkout} wrote no ${join(outdir, "manifest.json")}`);
}

function git(cwd: string, args: string[]): string {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`git ${args.join(" ")}: ${(err.stderr || err.message).trim()}`);
  }
}

/** What {@link synthesizeRef} reports besides the output. */
export interface RefSynthesis {
  /** The commit the ref resolved to. */
  readonly commit: string;
  /** Set when the ref's package-lock.json differs from the current one (its synth ran on the current node_modules). */
  readonly warning?: string;
}

/**
 * Synthesizes `ref` of the repository at `repoDir` into `outdir`: a
 * temporary detached worktree borrows the current node_modules (no install)
 * and runs the ref's own app command. The worktree is removed even when the
 * synth fails.
 */
export function synthesizeRef(repoDir: string, ref: string, outdir: string, env: NodeJS.ProcessEnv = process.env): RefSynthesis {
  const top = git(repoDir, ["rev-parse", "--show-toplevel"]);
  let commit: string;
  try {
    commit = git(top, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  } catch {
    throw new Error(`${ref} is no commit of ${top} (a shallow CI checkout needs \`git fetch origin <branch>\` or fetch-depth: 0)`);
  }

  const temp = mkdtempSync(join(tmpdir(), "plan-diff-ref-"));
  const worktree = join(temp, "checkout");
  let added = false;
  const cleanup = () => {
    if (added) {
      try {
        git(top, ["worktree", "remove", "--force", worktree]);
      } catch {
        // Removed below; prune forgets it.
      }
    }
    rmSync(temp, { recursive: true, force: true });
    if (added) git(top, ["worktree", "prune"]);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    git(top, ["worktree", "add", "--detach", "--quiet", worktree, commit]);
    added = true;
    const modules = join(top, "node_modules");
    if (!existsSync(modules)) throw new Error(`${modules} is missing: run \`npm ci\` first (the ref's synth borrows it)`);
    symlinkSync(modules, join(worktree, "node_modules"), "dir");
    const lock = (dir: string) => (existsSync(join(dir, "package-lock.json")) ? readFileSync(join(dir, "package-lock.json"), "utf8") : "");
    const warning =
      lock(worktree) === lock(top)
        ? undefined
        : `${ref}'s package-lock.json differs from the current one; it was synthesized with the current node_modules`;
    synthesizeCheckout(worktree, outdir, env);
    return { commit, warning };
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    cleanup();
  }
}
