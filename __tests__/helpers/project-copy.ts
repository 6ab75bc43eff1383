/**
 * A copy of this project as it is in the working tree (tracked files and new
 * ones git does not ignore; no node_modules, dist or cdktf.out), for tests
 * that must run the project's own commands somewhere clean: `npm pack`,
 * plan-diff's git worktrees. node_modules is borrowed through a symlink.
 */
import { execFileSync } from "child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";

export const ROOT = join(__dirname, "..", "..");

/** Runs git with a fixed identity (a CI machine may have none). */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false", ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** Copies the project into a new temporary folder; with `commit`, the copy is a git repository of one commit. */
export function copyProject(options: { commit?: boolean; linkNodeModules?: boolean } = {}): string {
  const dest = mkdtempSync(join(tmpdir(), "project-copy-"));
  const files = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0").filter((f) => f && existsSync(join(ROOT, f)));
  for (const file of files) {
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dest, file));
  }
  if (options.commit) {
    git(dest, "init", "--quiet", "--initial-branch=main");
    git(dest, "add", "-A");
    git(dest, "commit", "--quiet", "-m", "copy of the working tree");
  }
  if (options.linkNodeModules !== false) symlinkSync(join(ROOT, "node_modules"), join(dest, "node_modules"), "dir");
  return dest;
}
