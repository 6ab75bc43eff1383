import type { CloudConfig } from "./core/cloud-config";
import { ROLE_NAMES } from "./core/role-header";
import { addUnit } from "./core/systemd";
import type { INodeRole } from "./nodes";

/*
 * The agents' side of classic Swarm: each agent's Docker engine serves its
 * API over TCP for the Swarm manager, behind a host firewall that admits the
 * masters only (SwarmManager.addAgentPool attaches this role to a pool).
 */

/** The drop-in that makes an agent's Docker engine serve Swarm over TCP. */
export const SWARM_ENGINE_DROP_IN = "/etc/systemd/system/docker.service.d/10-swarm-tcp.conf";
/** The host firewall that keeps the engine's TCP API for the Swarm manager's machines. */
export const ENGINE_FIREWALL_RULES = "/etc/mesos-cluster/engine-firewall.nft";
/** Its unit, which docker.service requires and starts after. */
export const ENGINE_FIREWALL_UNIT = "mesos-engine-firewall.service";

/**
 * The nftables ruleset that admits the engine's TCP port from the masters'
 * addresses only, on the host itself.
 *
 * Security groups and NSGs filter traffic between machines; a task reaches
 * its own agent's engine without crossing them: from a bridge container at
 * 172.17.0.1 or the agent's IP, from a host-network task at 127.0.0.1. Each of
 * those arrives at the host's `input` hook (traffic to a local address is
 * never forwarded, so Docker's DOCKER-USER chain, which filters FORWARD, does
 * not see it). A drop in any base chain at a hook is final, so this table
 * holds whatever Docker's own iptables rules accept. IPv6 to the port is
 * dropped outright (the engine listens on IPv4 only).
 */
export function engineFirewallRules(port: number, allowed: readonly string[]): string {
  return [
    "#!/usr/sbin/nft -f",
    `# Docker's TCP API (${port}) answers the Swarm manager's machines only; a task must not reach its own`,
    "# agent's engine (docker run --privileged -v /:/host would be root). Loaded before dockerd starts.",
    "table inet mesos_cluster_engine",
    "delete table inet mesos_cluster_engine",
    "table inet mesos_cluster_engine {",
    "  set swarm_managers {",
    "    type ipv4_addr",
    `    elements = { ${allowed.join(", ")} }`,
    "  }",
    "  chain input {",
    "    type filter hook input priority filter - 10; policy accept;",
    `    tcp dport ${port} ip saddr @swarm_managers accept`,
    `    tcp dport ${port} counter drop`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/**
 * An agent's engine on TCP `port` for the Swarm manager, admitted from the
 * `managers`' addresses only: the firewall unit, and a docker.service drop-in
 * that requires it and lowers the API floor to what Swarm 1.2.8 speaks.
 */
export class SwarmEngineRole implements INodeRole {
  public readonly roleName = ROLE_NAMES.swarmEngine;

  constructor(
    private readonly port: number,
    private readonly managers: readonly string[],
  ) {}

  public configure(config: CloudConfig): void {
    config.addPackage("nftables");
    config.addFile({ path: ENGINE_FIREWALL_RULES, permissions: "0600", content: engineFirewallRules(this.port, this.managers) });
    addUnit(
      config,
      ENGINE_FIREWALL_UNIT,
      {
        Unit: { Description: "Host firewall: the Docker engine's TCP API for the Swarm manager's machines only", DefaultDependencies: "no", Before: "docker.service network-pre.target", Wants: "network-pre.target" },
        Service: { Type: "oneshot", RemainAfterExit: "yes", ExecStart: `/usr/sbin/nft -f ${ENGINE_FIREWALL_RULES}` },
        Install: { WantedBy: "multi-user.target" },
      },
    );
    config.enableUnit(ENGINE_FIREWALL_UNIT);
    // Written before the engine is installed, so its first start (at package install) already
    // listens on TCP and already requires the firewall: dockerd never serves the port unfiltered.
    addUnit(
      config,
      SWARM_ENGINE_DROP_IN,
      {
        Unit: { Requires: ENGINE_FIREWALL_UNIT, After: ENGINE_FIREWALL_UNIT },
        Service: { Environment: "DOCKER_MIN_API_VERSION=1.12", ExecStart: ["", `/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:${this.port} --containerd=/run/containerd/containerd.sock`] },
      },
      ["Classic Swarm reaches this engine over TCP with API 1.15; Docker 25.0.x accepts APIs", "below 1.24 only with DOCKER_MIN_API_VERSION (26+ refuse to start). The host firewall", `(${ENGINE_FIREWALL_UNIT}) admits the port from the masters only, locally too.`],
    );
  }
}
