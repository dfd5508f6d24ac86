/**
 * Per runner profile, the time from `docker run` to the runner's process starting: the daemon's
 * own `Docker.start` (run, then the settings handed over `docker exec`) with the profile's
 * arguments, until the stand-in `run.sh` prints its first line. hardened on the engine of
 * `DOCKER_HOST`; sudo on an engine of the bench's own with `--userns-remap=default` (a bridge
 * network: Docker refuses a remapped container the host's); docker on an engine of its own
 * with runc registered as `sysbox-runc` (sysbox is not installed here, and the stand-in's
 * engine is a stand-in: this measures up to the runtime).
 */
import { type ContainerSpec, Docker } from "../lib/runners/docker.ts";
import { launcherCommand } from "../lib/runners/launcher.ts";
import type { RunnerProfile } from "../lib/core/runner_profiles.ts";
import { type CommandRunner, runCommand } from "../lib/system/command.ts";
import { CAN_START_ENGINE, startOwnEngine } from "../tests/helpers/engine.ts";
import {
  ensureProfileImage,
  PROFILE_IMAGE,
  PROFILE_IMAGE_MISSING,
} from "../tests/helpers/runner_image.ts";

/** A command runner whose docker talks to the engine at `host` (DOCKER_HOST's when undefined). */
const on = (host: string | undefined): CommandRunner => (command, args, options = {}) =>
  runCommand(
    command,
    args,
    host ? { ...options, env: { ...options.env, DOCKER_HOST: host } } : options,
  );

/** Seconds from `docker run` to run.sh's first line, `times` times, on the engine at `host`. */
async function startTimes(
  profile: RunnerProfile,
  host: string | undefined,
  network: "bridge" | "host",
  times: number,
): Promise<number[]> {
  const run = on(host);
  const docker = new Docker(run);
  await ensureProfileImage(host);
  // A config the stand-in reads; it prints "connecting" before it tries the (closed) port.
  const config = btoa("url=http://127.0.0.1:9\nrunner_id=1\nsecret=bench\n");
  const seconds: number[] = [];
  for (let i = 0; i < times; i++) {
    const spec: ContainerSpec = {
      name: `autoscaler-bench-${profile}-${crypto.randomUUID().slice(0, 8)}`,
      image: PROFILE_IMAGE,
      labels: { "runner-name": "bench" },
      settings: { ACTIONS_RUNNER_INPUT_JITCONFIG: config },
      profile,
      nested: profile === "docker" ? "sysbox" : null,
      cpus: 1,
      memoryMiB: 512,
      pidsLimit: 4096,
      network,
      shmMiB: null,
      deviceArgs: [],
      cacheArgs: [],
      command: launcherCommand("jit", profile === "docker"),
    };
    const started = performance.now();
    const id = await docker.start(spec);
    try {
      for (;;) {
        const logs = await run("docker", ["logs", id], { timeoutMs: 10_000 });
        if (logs.kind === "exited" && /connecting to/.test(logs.stdout + logs.stderr)) break;
        if (performance.now() - started > 60_000) throw new Error(`${profile}: no runner start`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      seconds.push((performance.now() - started) / 1000);
    } finally {
      await docker.remove(id);
    }
  }
  return seconds;
}

/** Per profile, the start times; a profile this machine cannot measure gives its reason. */
export async function profileStartTimes(
  times = 5,
): Promise<Record<RunnerProfile, number[] | string>> {
  if (PROFILE_IMAGE_MISSING !== null) {
    const why = `not measured: ${PROFILE_IMAGE_MISSING}`;
    return { hardened: why, sudo: why, docker: why };
  }
  const result: Record<RunnerProfile, number[] | string> = {
    hardened: await startTimes("hardened", undefined, "host", times),
    sudo: "not measured: starting a Docker engine needs root",
    docker: "not measured: starting a Docker engine needs root",
  };
  if (!CAN_START_ENGINE) return result;
  const remapped = await startOwnEngine(["--userns-remap=default"], { bridge: true });
  try {
    result.sudo = await startTimes("sudo", remapped.host, "bridge", times);
  } finally {
    await remapped.remove();
  }
  const runc = new TextDecoder().decode(
    (await new Deno.Command("sh", { args: ["-c", "command -v runc"], stdout: "piped" }).output())
      .stdout,
  ).trim();
  const sysbox = await startOwnEngine([`--add-runtime=sysbox-runc=${runc}`]);
  try {
    result.docker = await startTimes("docker", sysbox.host, "host", times);
  } finally {
    await sysbox.remove();
  }
  return result;
}
