import { Construct } from "constructs";
import { CertRequest } from "@cdktf/provider-tls/lib/cert-request";
import { LocallySignedCert } from "@cdktf/provider-tls/lib/locally-signed-cert";
import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import { ensureTlsProvider } from "./core/providers";

/** Properties of {@link SwarmTlsCertificates}. */
export interface SwarmTlsCertificatesProps {
  /** Addresses clients use to reach the Swarm API (every master's private and public IP). */
  readonly ipAddresses: string[];
  /** Validity of the server and client certificates, in hours. @default 8760 (one year) */
  readonly validityHours?: number;
}

/**
 * A private CA, a server certificate for the Swarm API on the masters and one
 * client certificate for admins, made by the tls provider: the keys live in
 * Terraform state, the server's reach the masters through the secret store,
 * the client's only as sensitive outputs. ECDSA P-256 keeps each PEM small
 * (SSM standard parameters hold 4 KB).
 */
export class SwarmTlsCertificates extends Construct {
  public readonly caCertPem: string;
  public readonly serverCertPem: string;
  public readonly serverKeyPem: string;
  public readonly clientCertPem: string;
  public readonly clientKeyPem: string;

  constructor(scope: Construct, id: string, props: SwarmTlsCertificatesProps) {
    super(scope, id);
    ensureTlsProvider(this);
    const validity = props.validityHours ?? 8760;
    const key = (name: string) => new PrivateKey(this, `${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const caKey = key("ca");
    const ca = new SelfSignedCert(this, "ca", {
      privateKeyPem: caKey.privateKeyPem,
      subject: [{ commonName: "mesos-cluster swarm CA" }],
      isCaCertificate: true,
      validityPeriodHours: 10 * 8760,
      allowedUses: ["cert_signing", "crl_signing"],
    });
    const signed = (name: string, privateKeyPem: string, uses: string[], ipAddresses?: string[]) => {
      const request = new CertRequest(this, `${name}-request`, {
        privateKeyPem,
        subject: [{ commonName: `swarm ${name}` }],
        ipAddresses,
      });
      return new LocallySignedCert(this, `${name}-cert`, {
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
    const clientKey = key("client");
    this.caCertPem = ca.certPem;
    this.serverKeyPem = serverKey.privateKeyPem;
    this.serverCertPem = signed("server", serverKey.privateKeyPem, ["server_auth"], ["127.0.0.1", ...props.ipAddresses]).certPem;
    this.clientKeyPem = clientKey.privateKeyPem;
    this.clientCertPem = signed("client", clientKey.privateKeyPem, ["client_auth"]).certPem;
  }
}
