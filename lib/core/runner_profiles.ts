/**
 * Runner profiles: what a runner container may do, which labels say so, and what each asks of
 * the Docker engine. Pure: the engine's facts come in as `EngineSecurity`.
 */

/** The profiles, the default first. */
export const RUNNER_PROFILES = ["hardened", "sudo", "docker"] as const;
export type RunnerProfile = typeof RUNNER_PROFILES[number];

/** What `docker info` says about how the engine confines containers. */
export interface EngineSecurity {
  /** The engine maps container root to an unprivileged host user (`userns-remap`). */
  usernsRemap: boolean;
  /** The engine itself runs as an unprivileged user (rootless Docker). */
  rootless: boolean;
  /** The OCI runtimes registered with the engine (`runc`, `sysbox-runc`, `runsc`...). */
  runtimes: string[];
  /** The host's cgroup version (`docker info`'s CgroupVersion), null when not told. */
  cgroupVersion: number | null;
}

/** The labels a profile adds: a runner claims `sudo` or `docker` only where it can give it. */
export function profileLabels(profile: RunnerProfile): string[] {
  return profile === "hardened" ? [] : profile === "sudo" ? ["sudo"] : ["sudo", "docker"];
}

/** How the `docker` profile gives each runner an engine of its own. */
export type NestedEngine = "sysbox" | "rootless";

/** The way the `docker` profile runs nested engines on this engine; null when it cannot. */
export function nestedEngine(engine: EngineSecurity): NestedEngine | null {
  if (engine.runtimes.includes("sysbox-runc")) return "sysbox";
  // Under a rootless engine, nested containers need cgroup v2: on v1 the nested runc cannot make
  // its cgroups ("mkdir /sys/fs/cgroup/cpuset/docker/...: permission denied", seen on our hosts).
  if (engine.rootless && engine.cgroupVersion === 2) return "rootless";
  return null;
}

const REMAP_FIX = 'add "userns-remap": "default" to /etc/docker/daemon.json and restart Docker, ' +
  "or run a rootless Docker engine (dockerd-rootless-setuptool.sh install) and point DOCKER_HOST " +
  "at it";

/**
 * Why this engine cannot give a profile (on `network`) safely, with the fix; null when it can. `sudo` makes
 * the job root in its container: only where that root is not the host's. `docker` gives each
 * runner its own engine: only through sysbox, or privileged inside a rootless engine's user
 * namespace, never privileged on a rootful engine or with the host's socket.
 */
export function profileRefusal(
  profile: RunnerProfile,
  engine: EngineSecurity,
  network: "bridge" | "host" = "bridge",
): string | null {
  if (engine.usernsRemap && network === "host") {
    return "--network host cannot be given on this Docker engine: it maps container root away " +
      "from the host's (userns-remap), and Docker refuses such a container the host's network " +
      "namespace; use --network bridge";
  }
  if (profile === "sudo" && !engine.usernsRemap && !engine.rootless) {
    return "--profile sudo makes a job root in its container, and this Docker engine runs " +
      "containers' root as the host's root (docker info shows neither userns nor rootless): " +
      REMAP_FIX;
  }
  if (profile === "docker" && nestedEngine(engine) === null) {
    return "--profile docker gives each runner a Docker engine of its own, which needs the " +
      "sysbox runtime (sysbox-runc, registered with Docker) or a rootless Docker engine on " +
      "cgroup v2, and this engine has neither: install sysbox (it registers sysbox-runc), or " +
      "run a rootless Docker engine (dockerd-rootless-setuptool.sh install) on a host booted " +
      "with cgroup v2 and point DOCKER_HOST at it";
  }
  return null;
}
