import { getLogger } from "@logtape/logtape";
import type { ManagedContainer } from "../core/model.ts";
import { type CommandRunner, toolResult } from "../system/command.ts";
import { SETTINGS_DIR, settingsFile, WRITE_SETTINGS } from "./launcher.ts";
import type { NestedEngine, RunnerProfile } from "../core/runner_profiles.ts";

const log = getLogger(["autoscaler", "docker"]);

/** The prefix of our container labels; every managed container carries `<prefix>.managed-by`. */
export const LABEL = "io.github-autoscaler";

/** The value of `<LABEL>.managed-by` on our containers. */
export const MANAGED_BY = "github-autoscaler";

/** The environment variable the runner reads its just-in-time configuration from. */
export const JIT_ENV = "ACTIONS_RUNNER_INPUT_JITCONFIG";

/** How long a docker command may take by default; `docker run` gets twice this. */
export const DEFAULT_DOCKER_TIMEOUT_MS = 60_000;

/** Everything `docker run` needs for one runner. */
export interface ContainerSpec {
  name: string;
  image: string;
  /** Without the `<LABEL>.` prefix. */
  labels: Record<string, string>;
  /**
   * The runner's settings (its secret among them): written after the start into the launcher's
   * tmpfs over `docker exec`'s standard input; never on a command line or in the container's
   * configuration.
   */
  settings: Record<string, string>;
  profile: RunnerProfile;
  /** How a `docker` profile runner gets its own engine. */
  nested: NestedEngine | null;
  cpus: number;
  memoryMiB: number;
  pidsLimit: number;
  network: "bridge" | "host";
  /** `/dev/shm` for machine-learning jobs (GPU runners); Docker's 64 MiB when null. */
  shmMiB: number | null;
  /** Device arguments (`--gpus ...`, `--device ...`, `--group-add ...`). */
  deviceArgs: string[];
  /** The cache volumes and the variables naming them (`--mount ...`, `--env ...`). */
  cacheArgs: string[];
  command: string[];
}

/** The runner user of GitHub's runner image (`runner`, uid and gid 1001). */
export const RUNNER_UID = 1001;

/**
 * The capabilities of the `sudo` profile: what `sudo`, `apt-get` and `dpkg` use (changing
 * users and groups, owning and writing root's files). Docker's defaults without `NET_RAW`
 * (forged packets) and `MKNOD` (device nodes).
 */
export const SUDO_CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "SETUID",
  "SETGID",
  "SETFCAP",
  "SETPCAP",
  "KILL",
  "AUDIT_WRITE",
  "NET_BIND_SERVICE",
  "SYS_CHROOT",
];

/** How a profile confines its containers (see the README's table of profiles). */
export function confinementArgs(profile: RunnerProfile, nested: NestedEngine | null): string[] {
  switch (profile) {
    case "hardened":
      return [
        "--user",
        `${RUNNER_UID}:${RUNNER_UID}`,
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
      ];
    case "sudo":
      // The uid alone: the image's /etc/group then gives the runner its groups (sudo, docker).
      return [
        "--user",
        String(RUNNER_UID),
        "--cap-drop",
        "ALL",
        ...SUDO_CAPABILITIES.flatMap((cap) => ["--cap-add", cap]),
      ];
    case "docker":
      // Root inside, to start the runner's own engine; the launcher runs the runner as uid 1001.
      // Under sysbox that root is an unprivileged user of the host; on a rootless engine,
      // --privileged grants only what the engine's own user namespace holds.
      return nested === "sysbox"
        ? ["--runtime", "sysbox-runc", "--user", "0"]
        : ["--privileged", "--user", "0"];
  }
}

/** The `docker run` arguments for a runner container. No secret value appears here. */
export function runArgs(spec: ContainerSpec): string[] {
  return [
    "run",
    "--detach",
    "--name",
    spec.name,
    ...confinementArgs(spec.profile, spec.nested),
    ...(spec.shmMiB === null ? [] : ["--shm-size", `${spec.shmMiB}m`]),
    "--pids-limit",
    String(spec.pidsLimit),
    "--memory",
    `${spec.memoryMiB}m`,
    "--cpus",
    String(spec.cpus),
    "--init",
    // The image was checked (and pulled) just before; never a pull under the start timeout.
    "--pull",
    "never",
    "--network",
    spec.network,
    // Where the launcher receives its settings: in memory, the runner user's alone.
    "--tmpfs",
    `${SETTINGS_DIR}:rw,nosuid,nodev,noexec,size=1m,mode=0700,uid=${RUNNER_UID},gid=${RUNNER_UID}`,
    "--label",
    `${LABEL}.managed-by=${MANAGED_BY}`,
    ...Object.entries(spec.labels).flatMap((
      [key, value],
    ) => ["--label", `${LABEL}.${key}=${value}`]),
    ...spec.deviceArgs,
    ...spec.cacheArgs,
    spec.image,
    ...spec.command,
  ];
}

/** A docker command failed; the message names the action, the exit code and docker's words. */
export class DockerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DockerError";
  }
}

/** A docker command's output, or a `DockerError` naming the action and docker's words. */
export async function dockerOutput(
  run: CommandRunner,
  action: string,
  args: string[],
  timeoutMs: number,
): Promise<string> {
  const result = toolResult("docker", await run("docker", args, { timeoutMs }));
  if (!result.ok) throw new DockerError(`Cannot ${action}: ${result.reason}`);
  return result.stdout;
}

/** A JSON list docker printed, or a `DockerError` naming the command whose answer it is. */
export function parseDockerList<T>(command: string, text: string): T[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DockerError(`Cannot read ${command}'s answer: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) {
    throw new DockerError(`Cannot read ${command}'s answer: it is not a list`);
  }
  return parsed as T[];
}

/** The docker CLI, for the containers this program manages. */
export class Docker {
  constructor(private run: CommandRunner, private timeoutMs = DEFAULT_DOCKER_TIMEOUT_MS) {}

  #docker(action: string, args: string[], timeoutMs = this.timeoutMs) {
    return dockerOutput(this.run, action, args, timeoutMs);
  }

  /**
   * Every container with our `managed-by` label, running or not. A container removed between
   * `ps` and `inspect` makes inspect fail: the listing is tried once more, and if it fails
   * again this throws, since a failed observation must never look like an empty one. A failed
   * `ps` throws at once.
   */
  async list(): Promise<ManagedContainer[]> {
    const ids = await this.#ids();
    if (ids.length === 0) return [];
    try {
      return await this.#inspect(ids);
    } catch (error) {
      log.debug("Listing containers again after: {error}", { error });
      const again = await this.#ids();
      return again.length === 0 ? [] : await this.#inspect(again);
    }
  }

  async #ids(): Promise<string[]> {
    return (await this.#docker("list containers", [
      "ps",
      "--all",
      "--quiet",
      "--no-trunc",
      "--filter",
      `label=${LABEL}.managed-by=${MANAGED_BY}`,
    ])).split("\n").filter((id) => id !== "");
  }

  async #inspect(ids: string[]): Promise<ManagedContainer[]> {
    const inspected = parseDockerList<
      {
        Id: string;
        Created?: string;
        State?: { Status?: string; ExitCode?: number };
        Config?: {
          Labels?: Record<string, string> | null;
        };
      }
    >("docker inspect", await this.#docker("inspect containers", ["inspect", ...ids]));
    return inspected.flatMap((c) => {
      const all: Record<string, string> = c?.Config?.Labels ?? {};
      if (all[`${LABEL}.managed-by`] !== MANAGED_BY) return [];
      const labels = Object.fromEntries(
        Object.entries(all).filter(([key]) => key.startsWith(`${LABEL}.`))
          .map(([key, value]) => [key.slice(LABEL.length + 1), value]),
      );
      return [{
        id: String(c.Id),
        state: String(c.State?.Status ?? "unknown"),
        exitCode: Number(c.State?.ExitCode ?? 0),
        labels,
        createdAt: labels.created ?? String(c.Created),
      }];
    });
  }

  /**
   * Starts a container and hands its launcher the settings over `docker exec`'s standard input;
   * returns its id. A container whose settings could not be handed over is removed again.
   */
  async start(spec: ContainerSpec): Promise<string> {
    const id =
      (await this.#docker(`start runner "${spec.name}"`, runArgs(spec), 2 * this.timeoutMs))
        .trim();
    const outcome = await this.run("docker", ["exec", "--interactive", id, ...WRITE_SETTINGS], {
      timeoutMs: this.timeoutMs,
      stdin: settingsFile(spec.settings),
    });
    const result = toolResult("docker", outcome);
    if (!result.ok) {
      await this.remove(id).catch((error) =>
        log.warn("Could not remove the container of runner {name}: {error}", {
          name: spec.name,
          error: (error as Error).message,
        })
      );
      throw new DockerError(`Cannot hand runner "${spec.name}" its settings: ${result.reason}`);
    }
    return id;
  }

  /** Stops and removes a container (`docker rm --force`). */
  async remove(id: string): Promise<void> {
    await this.#docker(`remove container ${id.slice(0, 12)}`, ["rm", "--force", id]);
  }

  /** Whether the image is present locally. */
  async hasImage(image: string): Promise<boolean> {
    const outcome = await this.run("docker", ["image", "inspect", image], {
      timeoutMs: this.timeoutMs,
    });
    return outcome.kind === "exited" && outcome.code === 0;
  }

  /** Pulls an image, with docker's progress on a terminal. */
  async pull(image: string, terminal: boolean): Promise<void> {
    const outcome = await this.run("docker", ["pull", image], {
      timeoutMs: 30 * 60_000,
      passthrough: terminal,
    });
    const result = toolResult("docker", outcome);
    if (!result.ok) throw new DockerError(`Cannot pull image "${image}": ${result.reason}`);
  }
}
