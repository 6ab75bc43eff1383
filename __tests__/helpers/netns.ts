/**
 * Network namespaces as root, for the tests that load our nftables rulesets
 * into a real kernel (engine-firewall.test.ts, agent-auth.test.ts): how to
 * run a command as root, the tool probe, and a TCP reachability check.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import { ToolSpec } from "../../scripts/lib/tools";

/** Root runs these directly; elsewhere (GitHub's runners) through passwordless sudo. */
export const AS_ROOT = process.getuid?.() === 0 ? [] : ["sudo", "-n"];

/**
 * nftables and network namespaces, as root: the probe makes and removes a
 * namespace. `extra` adds what a test needs besides (a package and a shell
 * check run before the namespace is made).
 */
export function netnsTool(prefix: string, extra?: { name: string; debianPackage: string; check: string }): ToolSpec {
  return {
    name: `nft + ip netns${extra ? ` + ${extra.name}` : ""} (root)`,
    debianPackage: `nftables iproute2${extra ? ` ${extra.debianPackage}` : ""}`,
    probe: [...AS_ROOT, "sh", "-c", `nft --version${extra ? ` && ${extra.check}` : ""} && ip netns add ${prefix}$$ && ip netns exec ${prefix}$$ nft list ruleset && ip netns del ${prefix}$$`],
  };
}

/** Runs a bash script as root (`-euo pipefail`); its standard output. */
export function sh(script: string): string {
  const [cmd, ...args] = [...AS_ROOT, "bash", "-euo", "pipefail", "-c", script];
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Connects from a namespace; true when the TCP handshake completes within 1.5 s. */
export function reaches(ns: string, ip: string, port: number): Promise<boolean> {
  const code = "import socket,sys\ntry:\n  socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5).close()\nexcept OSError:\n  sys.exit(1)\n";
  return new Promise((resolve) => {
    const [cmd, ...args] = [...AS_ROOT, "ip", "netns", "exec", ns, "python3", "-c", code, ip, String(port)];
    spawn(cmd, args, { stdio: "ignore" }).on("exit", (status) => resolve(status === 0));
  });
}

/** Starts TCP servers on `ports` inside a namespace that accept and close every connection; resolves once they listen. */
export async function listenIn(ns: string, ports: number[]): Promise<ChildProcess> {
  const code = [
    "import socket, threading",
    "def serve(port):",
    "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', port)); s.listen(16)",
    "    while True:",
    "        c, _ = s.accept(); c.close()",
    `for p in (${ports.join(", ")},): threading.Thread(target=serve, args=(p,), daemon=True).start()`,
    "print('ready', flush=True)",
    "threading.Event().wait()",
  ].join("\n");
  const [cmd, ...args] = [...AS_ROOT, "ip", "netns", "exec", ns, "python3", "-c", code];
  const server = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once("data", () => resolve());
    server.once("exit", (status) => reject(new Error(`the servers on ${ports.join(", ")} in ${ns} exited ${status}`)));
  });
  return server;
}

/** Deletes the namespaces that exist of `names` (the others are already gone). */
export function deleteNamespaces(names: string[]): void {
  for (const n of names) {
    try {
      const [cmd, ...args] = [...AS_ROOT, "ip", "netns", "del", n];
      execFileSync(cmd, args, { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
}
