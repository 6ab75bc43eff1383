import { Construct } from "constructs";
import { ROLE_NAMES } from "./core/role-header";
import { CloudConfig } from "./core/cloud-config";
import { addScript, addUnit, CONFIG_DIR } from "./core/systemd";
import { Port } from "./core/network-rules";
import { checkInteger, fail } from "./core/validation";
import type { MarathonService } from "./marathon-service";
import type { MesosMasterGroup } from "./mesos-master-group";
import { INodeRole, NodeContext, SECRETS_DIR } from "./nodes";
import type { SwarmManager } from "./swarm-manager";
import { SwarmTlsCertificates } from "./swarm-tls";

/*
 * stunnel as Ubuntu 22.04 ships it (stunnel4 5.63, linked against OpenSSL
 * 3.0.2). What this file relies on, from mtrojnar/stunnel stunnel-5.63:
 *
 * - src/options.c: service-level options written in the global section (before
 *   the first `[name]`) are the defaults of every section: each new section
 *   starts as a copy of them (`parse_service_option(CMD_SET_COPY, ...)`, which
 *   duplicates `new_service_options`: cert, key, CAfile, ciphers,
 *   sslVersionMin, verifyChain, requireCert alike). So one process serves
 *   several ports, each section adding only what differs.
 * - doc/stunnel.pod.in: `ciphers` selects the TLS 1.2-and-older ciphers and
 *   does not touch TLS 1.3; `sslVersionMin` (OpenSSL 1.1.0+) sets the lowest
 *   version, and sslVersionMax defaults to the highest the library supports
 *   (options.c: `max_proto_version=0`), so TLS 1.3 stays on. TLS 1.3 uses
 *   `ciphersuites`, default (options.c `stunnel_ciphersuites`)
 *   TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:
 *   AEAD only, which is why this config sets no `ciphersuites`.
 * - `accept = PORT` without a host listens on all IPv4 addresses.
 */

/** The TLS 1.2 ciphers allowed: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 (AEAD only). */
export const TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20";

/** One port stunnel serves. */
export interface StunnelService {
  /** Section name (log lines name it). */
  readonly name: string;
  /** Port it accepts TLS on, on every IPv4 address. */
  readonly accept: number;
  /** `host:port` it forwards the decrypted stream to. */
  readonly connect: string;
  /** Mutual TLS: clients must present a certificate of the CA (`verifyChain`, `requireCert`). */
  readonly clientCertificates?: boolean;
}

/** Shell commands that print the CA, the server certificate and its key on a machine. */
export interface TlsSecretCommands {
  /** Needed only when a service asks for client certificates. */
  readonly ca?: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * stunnel's configuration: the server certificate, the protocol floor and the
 * TLS 1.2 ciphers once in the global section (every section inherits them),
 * then one section per service. `user`: the account stunnel drops to after
 * reading the keys (none: stays as it was started).
 */
export function renderStunnelConfig(dir: string, services: readonly StunnelService[], user?: string): string {
  const lines = ["foreground = yes", "pid ="];
  if (user) lines.push(`setuid = ${user}`, `setgid = ${user}`);
  lines.push(`cert = ${dir}/cert.pem`, `key = ${dir}/key.pem`, "sslVersionMin = TLSv1.2", `ciphers = ${TLS12_CIPHERS}`);
  for (const s of services) {
    lines.push(`[${s.name}]`, `accept = ${s.accept}`, `connect = ${s.connect}`);
    // verifyPeer: the client's certificate itself must be in CAfile (the admins' list), so removing
    // a name revokes its certificate without a CRL (mtrojnar/stunnel doc/stunnel.pod.in, verifyPeer).
    if (s.clientCertificates) lines.push(`CAfile = ${dir}/ca.pem`, "verifyChain = yes", "verifyPeer = yes", "requireCert = yes");
  }
  return `${lines.join("\n")}\n`;
}

/** What {@link addStunnel} writes. */
export interface StunnelOptions {
  /** Base name of the unit, its config, its boot script and its secrets folder, e.g. `master-tls`. */
  readonly name: string;
  readonly description: string;
  readonly commands: TlsSecretCommands;
  readonly services: readonly StunnelService[];
  /** Enable and start the unit and its hourly refresh on this machine. */
  readonly enable: boolean;
  /** A unit this one starts after and stops with (`After=` + `BindsTo=`). @default none */
  readonly boundTo?: string;
}

/**
 * stunnel from Ubuntu's archive as a systemd unit: a boot script fetches the
 * certificate and key (and the CA for mutual TLS) from the cloud's secret
 * store to tmpfs, readable by root only (stunnel reads them before dropping
 * to its own account); an hourly timer installs a certificate Terraform has
 * reissued (renewal, a new public IP) and restarts stunnel.
 */
export function addStunnel(config: CloudConfig, options: StunnelOptions): void {
  const { name, commands } = options;
  const dir = `${SECRETS_DIR}/${name}`;
  const conf = `${CONFIG_DIR}/${name}.conf`;
  if (options.services.some((s) => s.clientCertificates) && !commands.ca) throw new Error(`${name}: mutual TLS needs the CA`);
  const files = [...(commands.ca ? ["ca.pem"] : []), "cert.pem", "key.pem"];
  config.addPackage("stunnel4");
  config.addFile({ path: conf, content: renderStunnelConfig(dir, options.services, "stunnel4") });
  const prepare = addScript(
    config,
    `${name}-prepare`,
    `
# Fetches the certificate and key (and the CA) from the cloud's secret store
# to tmpfs, root only. With --restart-if-changed (the hourly timer), a
# certificate Terraform has reissued is installed and stunnel restarted.
umask 077
mkdir -p ${dir}
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
${commands.ca ? `${commands.ca} > "$fresh/ca.pem"\n` : ""}${commands.cert} > "$fresh/cert.pem"
${commands.key} > "$fresh/key.pem"
changed=no
for f in ${files.join(" ")}; do
  if ! cmp -s "$fresh/$f" "${dir}/$f"; then
    mv "$fresh/$f" "${dir}/$f"
    changed=yes
  fi
done
if [ "$changed" = yes ] && [ "$*" = --restart-if-changed ]; then
  systemctl restart ${name}.service
fi`,
  );
  addUnit(config, `${name}-refresh.service`, {
    Unit: { Description: "Install a reissued TLS certificate" },
    Service: { Type: "oneshot", ExecStart: `${prepare} --restart-if-changed` },
  });
  addUnit(config, `${name}-refresh.timer`, {
    Unit: { Description: "Check hourly for a reissued TLS certificate" },
    Timer: { OnBootSec: "15min", OnUnitActiveSec: "1h" },
    Install: { WantedBy: "timers.target" },
  });
  addUnit(config, `${name}.service`, {
    Unit: {
      Description: options.description,
      After: ["network-online.target", ...(options.boundTo ? [options.boundTo] : [])],
      Wants: "network-online.target",
      BindsTo: options.boundTo,
    },
    Service: { Restart: "always", RestartSec: "10", ExecStartPre: prepare, ExecStart: `/usr/bin/stunnel4 ${conf}` },
    Install: { WantedBy: "multi-user.target" },
  });
  if (options.enable) {
    config.enableUnit(`${name}.service`);
    config.enableUnit(`${name}-refresh.timer`);
  }
}

/** Properties of a {@link MasterTlsProxy}. */
export interface MasterTlsProxyProps {
  /** The Mesos masters whose HTTP API gets a TLS port. */
  readonly masters: MesosMasterGroup;
  /** Marathon, on the masters' machines: its HTTP API gets a TLS port too. @default not served */
  readonly marathon?: MarathonService;
  /**
   * A Swarm manager of these masters with `tls`: its mutual-TLS port joins
   * this proxy (one stunnel per master), and its CA and server certificate,
   * which name every master, serve the Mesos and Marathon ports as well.
   * @default none: the proxy makes its own CA and server certificate
   */
  readonly swarm?: SwarmManager;
  /** TLS port of the Mesos API. @default 5443 */
  readonly mesosPort?: number;
  /** TLS port of Marathon's API. @default 8443 */
  readonly marathonPort?: number;
}

/** The TLS endpoint of an HTTP API: its port and the CA clients verify it with. */
export interface ApiTls {
  readonly port: number;
  readonly caCertPem: string;
}

const PROXIES = new WeakMap<MesosMasterGroup, MasterTlsProxy>();

/**
 * TLS in front of the Mesos masters' and Marathon's HTTP APIs, so that their
 * basic-auth credentials never cross an admin network in clear text: one
 * stunnel on each master (Ubuntu's stunnel4), a section per port, Mesos on
 * 5443 and Marathon on 8443, server authentication only (basic auth stays
 * the authentication), TLS 1.2 or later with AEAD ciphers. With a
 * {@link SwarmManager} that has TLS, the Swarm API's mutual-TLS port is a
 * section of the same stunnel, on every master (a standby that takes over
 * serves it at once), and its CA and server certificate serve all ports;
 * otherwise the proxy makes its own (no client certificate).
 *
 * Where stunnel forwards to: the master's `--ip` (libprocess binds that
 * address only: apache/mesos 1.7.1 src/master/main.cpp sets LIBPROCESS_IP
 * from `--ip`, 3rdparty/libprocess/src/process.cpp `initialize` binds it), and
 * Marathon's `--http_address`, which is unset unless given, so Jetty listens
 * on every address (mesosphere/marathon v1.8.244 HttpConf.scala `http_address`
 * default None, api/HttpModule.scala `configureConnectorAddress` sets a host
 * only when given): the master's private IP. stunnel rather than Marathon's
 * own HTTPS (`--ssl_keystore_path`): that needs a Java keystore built at boot
 * and a flag on Marathon's command line, and would leave the cipher policy to
 * Jetty's defaults; one stunnel keeps one policy for every port.
 *
 * It opens no port: the stack opens the TLS ports to admin networks instead
 * of 5050 and 8080. Clients (the readiness gate, MarathonApp, `npm run
 * smoke`) speak https with the CA ({@link caCertPem}).
 */
export class MasterTlsProxy extends Construct implements INodeRole {
  /** The proxy of a master group, if one was created. */
  public static of(masters: MesosMasterGroup): MasterTlsProxy | undefined {
    return PROXIES.get(masters);
  }

  public readonly roleName = ROLE_NAMES.tlsProxy;
  public readonly masters: MesosMasterGroup;
  public readonly marathon?: MarathonService;
  public readonly mesosPort: number;
  /** Undefined without `marathon`. */
  public readonly marathonPort?: number;
  /** The CA that signs the server certificate (not a secret). */
  public readonly caCertPem: string;
  /** The certificates this proxy made; undefined when it uses the Swarm manager's. */
  public readonly certificates?: SwarmTlsCertificates;
  /** The Swarm manager whose mutual-TLS port this proxy serves. */
  public readonly swarm?: SwarmManager;
  private readonly commands: TlsSecretCommands;

  constructor(scope: Construct, id: string, props: MasterTlsProxyProps) {
    super(scope, id);
    this.masters = props.masters;
    if (PROXIES.has(this.masters)) fail(this, "masters", this.masters.node.path, "masters without another MasterTlsProxy (one stunnel per machine)");
    this.marathon = props.marathon;
    if (this.marathon && this.marathon.nodes !== this.masters.nodes) {
      fail(this, "marathon", this.marathon.node.path, "a Marathon on the masters' machines (the proxy runs there)");
    }
    if (this.marathon?.extraFlags.ssl_keystore_path !== undefined) {
      fail(this, "marathon", this.marathon.node.path, "a Marathon without its own HTTPS (extraFlags.ssl_keystore_path): the proxy would serve the same API twice");
    }
    if (props.swarm && props.swarm.masters !== this.masters) fail(this, "swarm", props.swarm.node.path, `a Swarm manager of ${this.masters.node.path}`);
    // Ports on the masters are claimed in one registry (MachineSet.claimPort), which names any collision.
    const port = (property: string, value: number, what: string) => {
      checkInteger(this, property, value, 1, 65535);
      this.masters.nodes.claimPort(this, property, Port.tcp(value), what);
      return value;
    };
    this.mesosPort = port("mesosPort", props.mesosPort ?? 5443, "the Mesos API's TLS port");
    if (this.marathon) this.marathonPort = port("marathonPort", props.marathonPort ?? 8443, "Marathon's TLS port");
    else if (props.marathonPort !== undefined) fail(this, "marathonPort", props.marathonPort, "no marathonPort without marathon");

    const swarmTls = props.swarm?.tlsCertificates ? props.swarm : undefined;
    if (swarmTls) {
      // One CA and one server certificate for every port (the Swarm manager's, at its own
      // Terraform address), and its secrets: no new resource in a stack that had Swarm TLS.
      this.swarm = swarmTls;
      this.caCertPem = swarmTls.tlsCertificates!.caCertPem;
      this.commands = swarmTls.serveTlsThrough(this);
    } else {
      const nodes = this.masters.nodes;
      this.certificates = new SwarmTlsCertificates(this, "tls", { ipAddresses: [...nodes.privateIps, ...nodes.publicIps], clientCertificate: false, name: "masters" });
      this.caCertPem = this.certificates.caCertPem;
      const store = (name: string, value: string) => nodes.storeSecret(this, `${name}-secret`, `${this.node.id}-${name}`, value);
      this.commands = { cert: store("cert", this.certificates.serverCertPem), key: store("key", this.certificates.serverKeyPem) };
    }
    PROXIES.set(this.masters, this);
    this.masters.tls = { port: this.mesosPort, caCertPem: this.caCertPem };
    if (this.marathon && this.marathonPort !== undefined) this.marathon.tls = { port: this.marathonPort, caCertPem: this.caCertPem };
    this.masters.nodes.addRole(this);
  }

  /** The sections of the master at `ip`. */
  public servicesFor(ip: string): StunnelService[] {
    // The master binds --ip only (see the class comment); read from its own flags.
    const services: StunnelService[] = [{ name: "mesos", accept: this.mesosPort, connect: `${this.masters.flagsFor(ip).ip ?? ip}:${this.masters.port}` }];
    if (this.marathon && this.marathonPort !== undefined) {
      services.push({ name: "marathon", accept: this.marathonPort, connect: `${this.marathon.extraFlags.http_address || ip}:${this.marathon.httpPort}` });
    }
    if (this.swarm) services.push(this.swarm.tlsService);
    return services;
  }

  /** Role contribution: one stunnel with every section, on every master. */
  public configure(config: CloudConfig, node: NodeContext): void {
    if (!node.privateIp) throw new Error("the TLS proxy needs fixed machines");
    addStunnel(config, {
      name: "master-tls",
      description: "TLS for the masters' APIs",
      commands: this.commands,
      services: this.servicesFor(node.privateIp),
      enable: true,
    });
  }
}
