/**
 * What each pinned image really runs: its ENTRYPOINT and CMD, the user, the
 * base OS and whether it carries a docker CLI of its own. These decide the
 * effective command line of every container the cluster starts (an argument
 * after the image replaces the CMD; `--entrypoint` replaces both), so they are
 * data with a source, read by the constructs (what to pass) and by the
 * runtime check (scripts/lib/effective-runtime.ts: what will run).
 *
 * Each entry names the upstream file it was read from. A test fails when a
 * default image has no entry here. Images a user pins that have no entry are
 * run all the same; `npm run validate -- --explain` then says the effective
 * command line is unknown.
 */

/** Facts about one image, as its Dockerfile builds it. */
export interface ImageFacts {
  /** Image reference, `repository:tag`. */
  readonly reference: string;
  /** The process it runs, for the flags it takes. */
  readonly process: "zookeeper" | "mesos-master" | "mesos-agent" | "marathon" | "swarm" | "marathon-lb" | "mesos-dns";
  /** ENTRYPOINT, exec form. */
  readonly entrypoint: readonly string[];
  /** CMD, exec form; replaced by any argument after the image in `docker run`. */
  readonly cmd: readonly string[];
  /** The user the process runs as (after the entrypoint drops privileges). */
  readonly user: string;
  /** Base image / OS release. */
  readonly base: string;
  /**
   * The docker CLI the image carries, with the newest Docker API it speaks,
   * or undefined when it has none.
   */
  readonly dockerCli?: { readonly version: string; readonly apiVersion: string };
  /** Where each fact was read: repository and path (and what to run to settle what only a host can). */
  readonly sources: readonly string[];
  /** Facts inferred rather than read, with the command that settles them on a host. */
  readonly uncertain?: readonly string[];
}

/** Facts of every image the cluster pins by default, keyed by reference. */
export const IMAGE_FACTS: Readonly<Record<string, ImageFacts>> = {
  "zookeeper:3.8.4": {
    reference: "zookeeper:3.8.4",
    process: "zookeeper",
    entrypoint: ["/docker-entrypoint.sh"],
    cmd: ["zkServer.sh", "start-foreground"],
    user: "zookeeper (the entrypoint drops root with gosu)",
    base: "eclipse-temurin:17-jre-jammy (Ubuntu 22.04)",
    sources: [
      "31z4/zookeeper-docker 3.8.4/Dockerfile (ENTRYPOINT, CMD, base, user)",
      "31z4/zookeeper-docker 3.8.4/docker-entrypoint.sh (zoo.cfg generated only when /conf/zoo.cfg is absent; myid written only when absent)",
    ],
  },
  "mesosphere/mesos-master:1.7.1": {
    reference: "mesosphere/mesos-master:1.7.1",
    process: "mesos-master",
    entrypoint: ["mesos-master"],
    // A command-line flag beats MESOS_REGISTRY (stout), so this CMD must be replaced by arguments.
    cmd: ["--registry=in_memory"],
    user: "root",
    base: "ubuntu:trusty with Mesosphere's mesos package (the templates' base)",
    sources: [
      "mesosphere-backup/docker-containers mesos/dockerfile-templates/mesos-master (ENTRYPOINT [\"mesos-master\"], CMD [\"--registry=in_memory\"])",
      "apache/mesos 1.7.1 3rdparty/stout/include/stout/flags/flags.hpp FlagsBase::load (command line beats MESOS_* environment)",
      "apache/mesos 1.7.1 src/master/flags.cpp (registry defaults to replicated_log; it needs --work_dir and, with ZooKeeper, --quorum)",
    ],
    uncertain: [
      "the templates hold no 1.7-specific Dockerfile; the published tag's base and entrypoint: docker inspect --format '{{.Config.Entrypoint}} {{.Config.Cmd}}' mesosphere/mesos-master:1.7.1",
    ],
  },
  "mesosphere/mesos-slave:1.7.1": {
    reference: "mesosphere/mesos-slave:1.7.1",
    process: "mesos-agent",
    entrypoint: ["mesos-slave"],
    cmd: [],
    user: "root",
    base: "ubuntu:trusty with Mesosphere's mesos package (the templates' base)",
    // docker-engine from apt.dockerproject.org, unpinned; that repository's last release was 17.05 (API 1.29).
    dockerCli: { version: "docker-engine <= 17.05 (apt.dockerproject.org)", apiVersion: "1.29" },
    sources: [
      "mesosphere-backup/docker-containers mesos/dockerfile-templates/mesos-slave (ENTRYPOINT [\"mesos-slave\"], no CMD)",
      "mesosphere-backup/docker-containers mesos base template (docker-engine from apt.dockerproject.org)",
    ],
    uncertain: [
      "the CLI's exact version: docker run --rm --entrypoint docker mesosphere/mesos-slave:1.7.1 --version",
    ],
  },
  "mesosphere/marathon:v1.8.244": {
    reference: "mesosphere/marathon:v1.8.244",
    process: "marathon",
    entrypoint: ["/marathon/bin/marathon"],
    cmd: [],
    user: "nobody",
    base: "debian:stretch-slim with OpenJDK 8 and libmesos 1.8.0 (Debian package 1.8.0-2.0.6)",
    sources: [
      "mesosphere/marathon v1.8.244 build.sbt (dockerBaseImage debian:stretch-slim, daemonUser nobody, install location /marathon)",
      "sbt/sbt-native-packager v1.3.9 DockerPlugin.scala (dockerEntrypoint = INSTALL/bin/NAME, dockerCmd = empty)",
      "mesosphere/marathon v1.8.244 project/Dependencies.scala (MesosDebian 1.8.0-2.0.6)",
      "mesosphere/marathon v1.8.244 core/launchqueue/impl/ReviveOffersActor.scala (plain suppress/revive; UPDATE_FRAMEWORK arrived in v1.9.32)",
    ],
    uncertain: ["the published image's entrypoint: docker inspect --format '{{.Config.Entrypoint}} {{.Config.User}}' mesosphere/marathon:v1.8.244"],
  },
  "swarm:1.2.8": {
    reference: "swarm:1.2.8",
    process: "swarm",
    entrypoint: ["/swarm"],
    cmd: ["--help"],
    user: "root",
    base: "a static Go binary",
    sources: [
      "docker-archive/classicswarm Dockerfile (ENTRYPOINT [\"/swarm\"], CMD [\"--help\"])",
      "docker-archive/classicswarm v1.2.8 cluster/mesos/cluster.go (mesos.checkpointfailover, no failover timeout, offers held 30 s)",
      "docker-archive/classicswarm v1.2.8 cluster/mesos/scheduler.go (agent attribute docker_port, scalar or text; default 2375)",
    ],
  },
  "mesosphere/mesos-dns:v0.6.0": {
    reference: "mesosphere/mesos-dns:v0.6.0",
    process: "mesos-dns",
    entrypoint: [],
    // Replaced by MesosDns's arguments, which therefore start with the binary.
    cmd: ["/usr/bin/mesos-dns"],
    user: "root (FROM scratch, no USER)",
    base: "scratch with the static mesos-dns binary",
    sources: [
      "mesosphere/mesos-dns-pkg docker/Dockerfile (FROM scratch, ADD mesos-dns_rootfs.tar.gz /, EXPOSE 53, CMD [\"/usr/bin/mesos-dns\"], no ENTRYPOINT, no USER)",
      "mesosphere/mesos-dns-pkg docker-rootfs/bap.sh (the root file system: the release binary at /usr/bin/mesos-dns)",
    ],
    uncertain: ["the published image's entrypoint, user and binary: docker inspect --format '{{.Config.Entrypoint}} {{.Config.Cmd}} {{.Config.User}}' mesosphere/mesos-dns:v0.6.0"],
  },
  "mesosphere/marathon-lb:v1.15.0": {
    reference: "mesosphere/marathon-lb:v1.15.0",
    process: "marathon-lb",
    entrypoint: ["tini", "-g", "--", "/marathon-lb/run"],
    // Replaced by MarathonLb's arguments: the first is the mode (`run`: poll or sse), the rest go to marathon_lb.py.
    cmd: ["sse", "--health-check", "--group", "external"],
    user: "root (no USER; HAProxy binds 80 and 443 on the host network)",
    base: "debian:buster with HAProxy 2.0.17 built from source, tini v0.18.0",
    sources: [
      "mesosphere/marathon-lb v1.15.0 Dockerfile (FROM debian:buster, HAPROXY_VERSION 2.0.17, ENTRYPOINT tini -g -- /marathon-lb/run, CMD, no USER, EXPOSE 80 443 9090 9091)",
      "mesosphere/marathon-lb v1.15.0 run (exits without PORTS; MODE poll|sse; prints the generated run file, arguments included, to stdout; self-signed certificate without HAPROXY_SSL_CERT or --ssl-certs)",
      "mesosphere/marathon-lb v1.15.0 service/haproxy/run (haproxy -W -x: no iptables since v1.12.0, so neither privileged nor NET_ADMIN)",
    ],
    uncertain: [
      "the tag on Docker Hub (the repository's Makefile pushes CI images only): docker manifest inspect mesosphere/marathon-lb:v1.15.0",
    ],
  },
};

/** The facts of an image reference, or undefined when none are recorded. */
export function imageFacts(reference: string): ImageFacts | undefined {
  return IMAGE_FACTS[reference];
}
