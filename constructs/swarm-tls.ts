import { Construct } from "constructs";
import { CertRequest } from "@cdktf/provider-tls/lib/cert-request";
import { LocallySignedCert } from "@cdktf/provider-tls/lib/locally-signed-cert";
import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import { ensureTlsProvider } from "./core/providers";

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
  /** Undefined with `clientCertificate: false`. */
  public readonly clientCertPem?: string;
  public readonly clientKeyPem?: string;

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
      validityPeriodHours: 10 * 8760,
      allowedUses: ["cert_signing", "crl_signing"],
    });
    const signed = (certName: string, privateKeyPem: string, uses: string[], ipAddresses?: string[]) => {
      const request = new CertRequest(this, `${certName}-request`, {
        privateKeyPem,
        subject: [{ commonName: `${name} ${certName}` }],
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
      const clientKey = key("client");
      this.clientKeyPem = clientKey.privateKeyPem;
      this.clientCertPem = signed("client", clientKey.privateKeyPem, ["client_auth"]).certPem;
    }
  }
}
