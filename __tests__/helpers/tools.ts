/**
 * Tests that run real tools (cloud-init, shellcheck, systemd-analyze,
 * ZooKeeper). Where a tool is missing they are skipped with a loud warning on
 * a developer's machine, and fail under CI (`CI` set), where a silent skip
 * would pass a check that never ran.
 */
import { missingToolMessage, toolAvailable, ToolSpec } from "../../scripts/lib/tools";

export { toolAvailable } from "../../scripts/lib/tools";
export type { ToolSpec } from "../../scripts/lib/tools";

/**
 * `describe(title, body)` when the tool is present. Otherwise: under CI a
 * single failing test saying the tool is missing; elsewhere `describe.skip`
 * with a loud `console.warn` naming the tool and its Debian package.
 */
export function describeWithTool(tool: ToolSpec, title: string, body: () => void): void {
  if (toolAvailable(tool.probe)) {
    describe(title, body);
    return;
  }
  const message = missingToolMessage(tool);
  if (process.env.CI) {
    describe(title, () => {
      test(`${tool.name} is installed (required when CI is set)`, () => {
        throw new Error(`${message}; CI is set, so its tests fail instead of being skipped`);
      });
    });
    return;
  }
  const banner = "!".repeat(78);
  console.warn(`${banner}\nSKIPPED: "${title}"\n${message}.\nThese checks did NOT run. Under CI (CI=1) this is a failure.\n${banner}`);
  describe.skip(title, body);
}
