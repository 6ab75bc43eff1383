import { IConstruct } from "constructs";
import { fail } from "./validation";

/**
 * A container image pinned by an exact tag (or digest).
 *
 * Images are values, not loose strings, so that a typo is caught at synth and
 * `latest` never sneaks into a cluster: the projects we run are archived, and a
 * moving tag would change what a replaced machine runs.
 */
export class ContainerImage {
  /** `repository:tag` or `repository@sha256:digest`; `latest` and untagged references are refused. */
  public static of(reference: string): ContainerImage {
    const problem = ContainerImage.problem(reference);
    if (problem) throw new Error(problem);
    return new ContainerImage(reference);
  }

  /** Why a reference is refused, or undefined when it is acceptable. */
  public static problem(reference: string): string | undefined {
    if (typeof reference !== "string" || reference.length === 0) return "an image reference is required";
    const m = IMAGE_REF.exec(reference);
    if (!m) return `${JSON.stringify(reference)} is not an image reference of the form repository:tag`;
    const tag = m[2];
    const digest = m[3];
    if (!tag && !digest) return `${JSON.stringify(reference)} has no tag: pin an exact tag`;
    if (digest) return undefined;
    // Any case: registries treat tags case-sensitively, but "Latest" is as moving as "latest".
    if (tag!.toLowerCase() === "latest") return `${JSON.stringify(reference)} uses the moving tag "${tag}": pin an exact tag`;
    // A tag without a digit names a channel or a distribution (stable, edge, alpine, jammy): it moves.
    if (!/\d/.test(tag!)) return `${JSON.stringify(reference)} uses the moving tag "${tag}" (no version in it): pin an exact tag`;
    // A bare major version (node:20, postgres:16) follows every release of that line; dates (20240131) are exact.
    if (/^v?\d{1,3}$/.test(tag!)) return `${JSON.stringify(reference)} uses the moving tag "${tag}" (a major version follows its releases): pin an exact tag`;
    return undefined;
  }

  /**
   * The release an exact version tag names, e.g. `[3, 8, 4]` for `3.8.4`
   * or `v1.8.244` (a suffix such as `-jre-17` is ignored); undefined for a
   * tag that is not at least major.minor.patch.
   */
  public static releaseOf(tag: string | undefined): number[] | undefined {
    const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+._].*)?$/.exec(tag ?? "");
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
  }

  private constructor(public readonly reference: string) {}

  /** The repository part, e.g. `mesosphere/mesos-master`. */
  public get repository(): string {
    return IMAGE_REF.exec(this.reference)![1];
  }

  /** The tag, e.g. `1.7.1` (undefined for a digest reference). */
  public get tag(): string | undefined {
    return IMAGE_REF.exec(this.reference)![2];
  }

  public toString(): string {
    return this.reference;
  }
}

// repository (lower-case path components, optional registry host:port), then :tag or @sha256:digest
const IMAGE_REF =
  /^((?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/;

/** Checks an image property of a construct and returns the image; a refused reference fails synth. */
export function imageProp(scope: IConstruct, property: string, reference: string): ContainerImage {
  const problem = ContainerImage.problem(reference);
  if (problem) fail(scope, property, reference, `a pinned image reference (${problem})`);
  const image = ContainerImage.of(reference);
  const role = (scope as { roleName?: unknown }).roleName;
  if (typeof role === "string") checkRoleImage(scope, property, role, image);
  return image;
}

/** The upstream images whose version rules this project knows, by the role that runs them. */
const ROLE_IMAGES: Record<string, { repository: RegExp; what: string; example: string }> = {
  zookeeper: { repository: /(^|\/)zookeeper$/, what: "ZooKeeper", example: "3.8.4" },
  "mesos-master": { repository: /(^|\/)mesos-master$/, what: "Mesos master", example: "1.7.1" },
  "mesos-agent": { repository: /(^|\/)mesos-(slave|agent)$/, what: "Mesos agent", example: "1.7.1" },
  marathon: { repository: /(^|\/)marathon$/, what: "Marathon", example: "v1.8.244" },
  "swarm-manager": { repository: /(^|\/)swarm$/, what: "Swarm", example: "1.2.8" },
};

const before = (a: number[], b: number[]): boolean => a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];

/**
 * Version rules of the images the cluster's roles run, for the upstream
 * repositories (an image of another repository is the user's own build and
 * is not second-guessed):
 * - an exact release (`zookeeper:3.8` follows 3.8.x: refused);
 * - ZooKeeper 3.5 or later: the rendered `server.N=host:peer:election;client`
 *   lines (client port after `;`) and the dynamic-config format need 3.5;
 * - Swarm 1.2.8 or earlier: 1.2.9 removed the Mesos driver
 *   (docker-archive/classicswarm, cluster/mesos);
 * - Marathon before 1.9 while the Mesos masters run a release before 1.9:
 *   Marathon 1.9+ suppresses and revives offers with UPDATE_FRAMEWORK, which
 *   Mesos added in 1.9 (MESOS-9793); see image-facts.ts.
 */
function checkRoleImage(scope: IConstruct, property: string, role: string, image: ContainerImage): void {
  const known = ROLE_IMAGES[role];
  if (!known || !known.repository.test(image.repository) || image.tag === undefined) return;
  const release = ContainerImage.releaseOf(image.tag);
  if (!release) {
    fail(scope, property, image.reference, `an exact ${known.what} release such as ${image.repository}:${known.example} ("${image.tag}" follows a release line, so a replaced machine could run another version)`);
  }
  if (role === "zookeeper" && before(release, [3, 5, 0])) {
    fail(scope, property, image.reference, `ZooKeeper 3.5 or later such as ${image.repository}:3.8.4 (the rendered server.N=host:2888:3888;2181 lines need 3.5+)`);
  }
  if (role === "swarm-manager" && !before(release, [1, 2, 9])) {
    fail(scope, property, image.reference, `Swarm 1.2.8 or earlier such as ${image.repository}:1.2.8 (1.2.9 removed the Mesos driver)`);
  }
  if (role === "marathon" && !before(release, [1, 9, 0])) {
    const masters = (scope as { masters?: { image?: ContainerImage } }).masters?.image;
    const mesos = masters && ROLE_IMAGES["mesos-master"].repository.test(masters.repository) ? ContainerImage.releaseOf(masters.tag) : undefined;
    if (mesos && before(mesos, [1, 9, 0])) {
      fail(
        scope,
        property,
        image.reference,
        `Marathon before 1.9 such as ${image.repository}:v1.8.244 with Mesos masters ${masters!.reference} (Marathon 1.9+ suppresses and revives offers with UPDATE_FRAMEWORK, which Mesos added in 1.9)`,
      );
    }
  }
}

/** The images the cluster runs by default (see RUNTIME facts in README: "Pinned versions"; facts in image-facts.ts). */
export const DEFAULT_IMAGES = {
  /** ZooKeeper 3.8 LTS, official image. */
  zookeeper: "zookeeper:3.8.4",
  /** Newest Mesos master image in public use. */
  mesosMaster: "mesosphere/mesos-master:1.7.1",
  /** Newest Mesos agent image in public use. */
  mesosAgent: "mesosphere/mesos-slave:1.7.1",
  /**
   * The last Marathon line that revives and suppresses offers with the plain
   * REVIVE/SUPPRESS calls a Mesos 1.7 master understands (1.9+ use
   * UPDATE_FRAMEWORK, which Mesos added in 1.9: MESOS-9793).
   */
  marathon: "mesosphere/marathon:v1.8.244",
  /** Last classic Swarm with the Mesos driver (1.2.9 removed it). */
  swarm: "swarm:1.2.8",
} as const;

/** The API floor Docker 25-28 run with by default (moby api.MinSupportedAPIVersion / defaultMinAPIVersion). */
export const DOCKER_DEFAULT_MIN_API = "1.24";

/** `major.minor` API versions: is `version` at least `floor`? */
export function apiVersionAtLeast(version: string, floor: string): boolean {
  const [a, b] = version.split(".").map(Number);
  const [c, d] = floor.split(".").map(Number);
  return a > c || (a === c && b >= d);
}

/**
 * Whether a Docker version accepts `DOCKER_MIN_API_VERSION` below 1.24: up to
 * 25.0.x (moby v25.0.5 daemon/config/config_linux.go); 25.1 / 26.0 and later
 * refuse to start with it (moby commit 19a04efa2f; v27.5.1 daemon/config/config.go).
 */
export function acceptsApiFloorBelowDefault(version: string): boolean {
  const [major, minor] = version.split(".").map(Number);
  return major < 25 || (major === 25 && minor === 0);
}

/**
 * A Docker CE engine at an exact version, from Docker's apt repository.
 *
 * Which versions can work depends on the machine's role:
 * - agents whose engine classic Swarm drives must run 25.0.x: Swarm 1.2.8
 *   sends API 1.15 calls (samalba/dockerclient), 25.0.x accepts them with
 *   `DOCKER_MIN_API_VERSION=1.12`, and from 26.0 on dockerd refuses to start
 *   with any value below 1.24 (moby commit 19a04efa2f; v27.5.1
 *   daemon/config/config.go) — see {@link DockerEngine.swarmProblem};
 * - agents run the Mesos image's own docker CLI (API 1.29), which 25-28 accept
 *   (their default floor is 1.24) — see {@link DockerEngine.clientProblem};
 * - masters only start their own containers with the host's matching CLI.
 */
export class DockerEngine {
  /** Docker CE at an exact upstream version such as `27.5.1` (major 25 to 28). */
  public static ce(version: string): DockerEngine {
    const problem = DockerEngine.problem(version);
    if (problem) throw new Error(problem);
    return new DockerEngine(version);
  }

  /** Why a version is refused for any machine, or undefined. */
  public static problem(version: string): string | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version ?? "");
    if (!m) return `${JSON.stringify(version)} is not an exact Docker version like "27.5.1"`;
    const major = Number(m[1]);
    if (major < 25 || major > 28) {
      return `Docker ${version} is outside 25 to 28, the engines whose API floor and jammy packages this project knows`;
    }
    return undefined;
  }

  private constructor(public readonly version: string) {}

  public get major(): number {
    return Number(this.version.split(".")[0]);
  }

  public get minor(): number {
    return Number(this.version.split(".")[1]);
  }

  /** The apt package version for Ubuntu 22.04 (jammy), e.g. `5:25.0.5-1~ubuntu.22.04~jammy`. */
  public get aptVersion(): string {
    return `5:${this.version}-1~ubuntu.22.04~jammy`;
  }

  /** The containerd.io apt version installed and held with this engine, e.g. `1.7.27-1` (the same for every engine). */
  public get containerdAptVersion(): string {
    return CONTAINERD_IO_APT_VERSION;
  }

  /**
   * Why this engine cannot serve classic Swarm's API 1.15, or undefined.
   * Only 25.0.x both defaults to a floor above 1.15 and accepts
   * `DOCKER_MIN_API_VERSION=1.12`; 26.0 and later refuse to start with it.
   */
  public swarmProblem(): string | undefined {
    if (acceptsApiFloorBelowDefault(this.version)) return undefined;
    return `Docker ${this.version} cannot serve classic Swarm's API 1.15: only 25.0.x accepts DOCKER_MIN_API_VERSION=1.12 (26.0 and later refuse to start with it)`;
  }

  /**
   * Why this engine refuses a docker CLI that speaks at most `apiVersion`,
   * or undefined. 25-28 accept API 1.24 and later by default.
   */
  public clientProblem(apiVersion: string): string | undefined {
    if (apiVersionAtLeast(apiVersion, DOCKER_DEFAULT_MIN_API)) return undefined;
    return `Docker ${this.version} refuses API ${apiVersion} clients (its floor is ${DOCKER_DEFAULT_MIN_API})`;
  }
}

/**
 * The containerd.io package (containerd and runc) every Docker host installs
 * and holds, for both engines. Sources:
 * - docker-ce 25.0.5 and 27.5.1 need `containerd.io (>= 1.6.24)`
 *   (docker/docker-ce-packaging deb/common/control: master when 25.0.5 was
 *   released, branch 27.x at 27.5.1; 28.x raised it to 1.7.27);
 * - both were built and tested with containerd 1.7 (moby v25.0.5 and v27.5.1
 *   Dockerfile CONTAINERD_VERSION v1.7.13 and v1.7.25);
 * - `1.7.27-1` is docker/containerd-packaging debian/changelog's release of
 *   containerd 1.7.27 (31 Mar 2025; runc 1.2.5 since 1.7.26-1), built for
 *   ubuntu:jammy amd64 (Jenkinsfile) under the changelog's version as is
 *   (scripts/build-deb runs dpkg-buildpackage: no distribution suffix).
 * Held, it never takes a later runc's fixes: bump it here.
 */
const CONTAINERD_IO_APT_VERSION: `${number}.${number}.${number}-${number}` = "1.7.27-1";

/** The engine masters run unless told otherwise (a current engine: they serve no old client). */
export const MASTER_DOCKER_ENGINE_VERSION = "27.5.1";
/**
 * The engine agents run unless told otherwise: the newest 25.0.x, the only
 * line that serves classic Swarm's API 1.15 (see {@link DockerEngine.swarmProblem}).
 */
export const AGENT_DOCKER_ENGINE_VERSION = "25.0.5";
