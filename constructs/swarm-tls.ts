import { Construct } from "constructs";
import { CertRequest } from "@cdktf/provider-tls/lib/cert-request";
import { LocallySignedCert } from "@cdktf/provider-tls/lib/locally-signed-cert";
import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import { Fn } from "cdktf";
import { ensureTlsProvider } from "./core/providers";
import { fail } from "./core/validation";

/** The CA's validity, in hours: 10 years (a new CA means new certificates for every admin). */
export const TLS_CA_VALIDITY_HOURS = 10 * 8760;
/** At most this many client certificates: the masters' copy of the allowed list must fit one SSM standard parameter (4 KB). */
export const MAX_TLS_CLIENTS = 4;

/** Properties of {@link SwarmTlsCertificates}. */
export interface SwarmTlsCertificatesProps {
  /** Addresses clients use to reach the TLS endpoints (every master's private and public IP). */
  readonly ipAddresses: string[];
  /** Validity of the server and client certificates, in hours. @default 8760 (one year) */
  readonly validityHours?: number;
  /**
   * Also make one client certificate for admins (mutual TLS, the Swarm API).
   * Without it only the CA and the server certificate exist.
   * @default true
   */
  readonly clientCertificate?: boolean;
  /**
   * Admin names, one client certificate each (common name `NAME client
   * ADMIN`; the first keeps the plain `NAME client` of earlier versions).
   * The servers accept exactly these certificates (stunnel `verifyPeer`):
   * removing a name revokes its certificate at the masters' next hourly
   * refresh, without a CRL or a new CA.
   * @default ["admin"]
   */
  readonly clientNames?: string[];
  /**
   * The name in the CA's and certificates' common names: `mesos-cluster NAME CA`,
   * `NAME server`, `NAME client`. Changing it replaces the CA.
   * @default "swarm"
   */
  readonly name?: string;
}

/**
 * A private CA, a server certificate for the TLS endpoints on the masters
 * (the Swarm API, and the Mesos and Marathon APIs behind a MasterTlsProxy)
 * and, for mutual TLS, one client certificate for admins, made by the tls
 * provider: the keys live in Terraform state, the server's reach the masters
 * through the secret store, the client's only as sensitive outputs. ECDSA
 * P-256 keeps each PEM small (SSM standard parameters hold 4 KB).
 */
export class SwarmTlsCertificates extends Construct {
  public readonly caCertPem: string;
  public readonly serverCertPem: string;
  public readonly serverKeyPem: string;
  /** The first admin's client certificate and key; undefined with `clientCertificate: false`. */
  public readonly clientCertPem?: string;
  public readonly clientKeyPem?: string;
  /** Every admin's client certificate and key, in `clientNames` order. */
  public readonly clients: { readonly name: string; readonly certPem: string; readonly keyPem: string }[] = [];
  /**
   * What the servers verify clients against: the CA, then every allowed
   * client certificate (stunnel `verifyChain` + `verifyPeer`).
   */
  public readonly allowedClientsPem: string;

  constructor(scope: Construct, id: string, props: SwarmTlsCertificatesProps) {
    super(scope, id);
    ensureTlsProvider(this);
    const validity = props.validityHours ?? 8760;
    const name = props.name ?? "swarm";
    const key = (keyName: string) => new PrivateKey(this, `${keyName}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const caKey = key("ca");
    const ca = new SelfSignedCert(this, "ca", {
      privateKeyPem: caKey.privateKeyPem,
      subject: [{ commonName: `mesos-cluster ${name} CA` }],
      isCaCertificate: true,
      validityPeriodHours: TLS_CA_VALIDITY_HOURS,
      allowedUses: ["cert_signing", "crl_signing"],
    });
    const signed = (certName: string, privateKeyPem: string, uses: string[], ipAddresses?: string[], commonName = `${name} ${certName}`) => {
      const request = new CertRequest(this, `${certName}-request`, {
        privateKeyPem,
        subject: [{ commonName }],
        ipAddresses,
      });
      return new LocallySignedCert(this, `${certName}-cert`, {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: validity,
        // Renewed by the first apply in the last month, never left to expire silently.
        earlyRenewalHours: 720,
        allowedUses: ["digital_signature", "key_encipherment", ...uses],
      });
    };
    const serverKey = key("server");
    this.caCertPem = ca.certPem;
    this.serverKeyPem = serverKey.privateKeyPem;
    this.serverCertPem = signed("server", serverKey.privateKeyPem, ["server_auth"], ["127.0.0.1", ...props.ipAddresses]).certPem;
    if (props.clientCertificate ?? true) {
      const names = props.clientNames ?? ["admin"];
      if (!Array.isArray(names) || names.length < 1 || names.length > MAX_TLS_CLIENTS || new Set(names).size !== names.length) {
        fail(this, "clientNames", names, `1 to ${MAX_TLS_CLIENTS} distinct admin names (the masters' list of allowed certificates must fit 4 KB)`);
      }
      names.forEach((admin, i) => {
        if (typeof admin !== "string" || !/^[a-z][a-z0-9-]{0,30}$/.test(admin)) fail(this, `clientNames[${i}]`, admin, "a name of lower-case letters, digits and '-', starting with a letter");
        // The first admin keeps the construct ids (and so the Terraform addresses) of the one client certificate of earlier versions.
        const id = i === 0 ? "client" : `client-${admin}`;
        const clientKey = key(id);
        const cert = signed(id, clientKey.privateKeyPem, ["client_auth"], undefined, i === 0 ? `${name} client` : `${name} client ${admin}`);
        this.clients.push({ name: admin, certPem: cert.certPem, keyPem: clientKey.privateKeyPem });
      });
      this.clientCertPem = this.clients[0].certPem;
      this.clientKeyPem = this.clients[0].keyPem;
    }
    this.allowedClientsPem = this.clients.length ? Fn.join("", [this.caCertPem, ...this.clients.map((c) => c.certPem)]) : this.caCertPem;
  }
}
