/**
 * The Swarm check behind mutual TLS: the readiness gate and `npm run smoke`
 * reach a Swarm API that demands a client certificate of the cluster's CA
 * (what stunnel does on the master). Certificates are made with openssl.
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { createServer, Server } from "https";
import { AddressInfo } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { checkSwarm } from "../constructs/cluster-client/checks";
import { OPENSSL } from "../scripts/lib/tools";
import { describeWithTool } from "./helpers/tools";
import { localExecs, nullResource } from "./helpers/local-exec";
import { synthCluster } from "./helpers/synth";

/** A CA, a server certificate for 127.0.0.1 and a client certificate, in a temp folder. */
function makeCertificates(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "swarm-tls-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = (name: string) => run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`);
  key("ca");
  run("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=test CA", "-days", "1", "-out", "ca.pem");
  for (const [name, ext] of [["server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"], ["client", "extendedKeyUsage=clientAuth\n"]]) {
    key(name);
    run("req", "-new", "-key", `${name}.key`, "-subj", `/CN=swarm ${name}`, "-out", `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    run("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", `${name}.ext`, "-out", `${name}.pem`);
  }
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return { ca: read("ca.pem"), serverCert: read("server.pem"), serverKey: read("server.key"), clientCert: read("client.pem"), clientKey: read("client.key") };
}

describeWithTool(OPENSSL, "a Swarm API behind mutual TLS", () => {
  let certs: Record<string, string>;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    certs = makeCertificates();
    server = createServer({ key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: true }, (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ SystemStatus: [["Role", "primary"], ["Offers", "2"]] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  test("passes with the cluster's client certificate", async () => {
    const result = await checkSwarm([url], 2, 5000, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
    expect(result).toEqual({ ok: true, summary: "primary, 2 Mesos offers" });
  });

  test("fails with a client certificate of another CA (the proxy refuses the handshake)", async () => {
    const stranger = makeCertificates();
    await expect(checkSwarm([url], 2, 5000, { ca: certs.ca, cert: stranger.clientCert, key: stranger.clientKey })).rejects.toThrow(
      /ECONNRESET|alert|certificate|socket hang up|EPROTO/i,
    );
  });

  test("the ha stack's gate speaks https to the TLS port with the client certificate", () => {
    const { json } = synthCluster({ profile: "ha", readinessGate: "on" });
    const [exec] = localExecs(nullResource(json, "readiness/gate").config, "create");
    const env = exec.environment as Record<string, string>;
    expect(env.SWARM_URLS).toBe("https://10.20.0.10:2376");
    expect(env.SWARM_TLS_CA).toMatch(/^\$\{tls_self_signed_cert\..*\.cert_pem\}$/);
    expect(env.SWARM_TLS_CERT).toMatch(/nonsensitive\(sensitive\(tls_locally_signed_cert\..*\.cert_pem\)\)/);
    expect(env.SWARM_TLS_KEY).toMatch(/nonsensitive\(sensitive\(tls_private_key\..*\.private_key_pem\)\)/);
  });
});
