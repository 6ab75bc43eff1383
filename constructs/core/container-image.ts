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
    if (tag === "latest") return `${JSON.stringify(reference)} uses the moving tag "latest": pin an exact tag`;
    return undefined;
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
  return ContainerImage.of(reference);
}

/** The images the cluster runs by default (see RUNTIME facts in README: "Pinned versions"). */
export const DEFAULT_IMAGES = {
  /** ZooKeeper 3.8 LTS, official image. */
  zookeeper: "zookeeper:3.8.4",
  /** Newest Mesos master image in public use. */
  mesosMaster: "mesosphere/mesos-master:1.7.1",
  /** Newest Mesos agent image in public use. */
  mesosAgent: "mesosphere/mesos-slave:1.7.1",
  /** Last Marathon release (archived). */
  marathon: "mesosphere/marathon:v1.11.24",
  /** Last classic Swarm with the Mesos driver (1.2.9 removed it). */
  swarm: "swarm:1.2.8",
} as const;

/**
 * The Docker engine every machine runs, from Docker's apt repository.
 *
 * Classic Swarm 1.2.8 speaks Docker API 1.15; engines 26-28 accept it when
 * `DOCKER_MIN_API_VERSION=1.12` is set, 29 refuses it. So the engine is pinned.
 */
export class DockerEngine {
  /** Docker CE at an exact upstream version such as `27.5.1` (major 25 to 28). */
  public static ce(version: string): DockerEngine {
    const problem = DockerEngine.problem(version);
    if (problem) throw new Error(problem);
    return new DockerEngine(version);
  }

  public static problem(version: string): string | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version ?? "");
    if (!m) return `${JSON.stringify(version)} is not an exact Docker version like "27.5.1"`;
    const major = Number(m[1]);
    if (major < 25 || major > 28) {
      return `Docker ${version} cannot serve classic Swarm's API 1.15 (needs 25 to 28 with DOCKER_MIN_API_VERSION)`;
    }
    return undefined;
  }

  private constructor(public readonly version: string) {}

  /** The apt package version for Ubuntu 22.04 (jammy), e.g. `5:27.5.1-1~ubuntu.22.04~jammy`. */
  public get aptVersion(): string {
    return `5:${this.version}-1~ubuntu.22.04~jammy`;
  }
}

/** The Docker CE version machines run unless told otherwise (Swarm 1.2.8 needs 25-28). */
export const DEFAULT_DOCKER_ENGINE_VERSION = "27.5.1";
