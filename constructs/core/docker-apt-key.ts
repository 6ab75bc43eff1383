import type { AptKey } from "./cloud-config";

/**
 * Docker's apt repository signing key ("Docker Release (CE deb)",
 * fingerprint 9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88), fetched at
 * first boot from the host that serves the packages and installed only if it
 * is that key (cloud-config.ts `aptKeyScript`).
 *
 * Why not carried in the document: the armored key is 3.8 KB of base64 that
 * gzip cannot shrink, nearly half of a master's 16 KB of AWS user data. Why
 * not cloud-init's `keyid:`: that fetches from keyserver.ubuntu.com, a second
 * host whose outage would leave the machine without Docker
 * (canonical/cloud-init cloudinit/config/cc_apt_configure.py). Fetched from
 * download.docker.com, the key depends on nothing the packages do not
 * already depend on; pinned by fingerprint, a substituted file installs no
 * key and apt refuses the repository (NO_PUBKEY), so nothing unsigned is
 * installed. A test runs the script with real gpg against Docker's key
 * (__tests__/fixtures/docker-apt-key.asc, the public file at the URL below)
 * and against another key.
 */
export const DOCKER_APT_KEY: AptKey = {
  url: "https://download.docker.com/linux/ubuntu/gpg",
  fingerprint: "9DC858229FC7DD38854AE2D88D81803C0EBFCD88",
};
