/**
 * The Docker engine the tests may use (`DOCKER_HOST` as .ci/run sets it, or the default socket):
 * its version, or null when none answers. Without one, engine tests are skipped, visibly; in CI
 * (`CI` set) a missing engine fails the run instead.
 */
export const ENGINE_VERSION: string | null = await (async () => {
  const output = await new Deno.Command("docker", {
    args: ["version", "--format", "{{.Server.Version}}"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  const version = output?.success ? new TextDecoder().decode(output.stdout).trim() : null;
  if (version === null && Deno.env.get("CI")) {
    throw new Error("CI must provide a Docker engine (.ci/run starts one and sets DOCKER_HOST)");
  }
  if (version === null) console.warn("No Docker engine answers: the engine tests are skipped");
  return version;
})();

/** Whether this test process may start a Docker engine of its own (root, with dockerd). */
export const CAN_START_ENGINE: boolean = Deno.uid() === 0 &&
  (await new Deno.Command("sh", { args: ["-c", "command -v dockerd"], stdout: "null" }).output())
    .success;

/** A Docker engine a test started, on a socket of its own, that it may stop and start again. */
export interface OwnEngine {
  /** `unix://...`, for `DOCKER_HOST`. */
  host: string;
  /** Stops the engine (SIGTERM to dockerd, by its PID), as a restart or a crash would. */
  stop(): Promise<void>;
  /** Starts it again on the same data, and waits until it answers. */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  remove(): Promise<void>;
}

/**
 * Starts a throwaway dockerd (no firewall changes; no bridge unless `bridge`, which makes one
 * without NAT: containers then reach nothing beyond it)
 * with its data in a temporary folder, and `extraArgs` (`--userns-remap=default`). Needs root
 * (`CAN_START_ENGINE`).
 */
export async function startOwnEngine(
  extraArgs: string[] = [],
  options: { bridge?: boolean } = {},
): Promise<OwnEngine> {
  const dir = await Deno.makeTempDir({ prefix: "autoscaler-engine-" });
  // A remapped root must be able to pass through to its data (--userns-remap).
  await Deno.chmod(dir, 0o755);
  const host = `unix://${dir}/docker.sock`;
  let child: Deno.ChildProcess | null = null;
  const start = async () => {
    const args = [
      "--iptables=false",
      "--ip-masq=false",
      ...(options.bridge ? [] : ["--bridge=none"]),
      `--data-root=${dir}/data`,
      `--exec-root=${dir}/exec`,
      `--pidfile=${dir}/dockerd.pid`,
      `--host=${host}`,
      ...extraArgs,
    ];
    // Through sh, to keep its log in a file; `exec` leaves dockerd with the PID we hold.
    child = new Deno.Command("sh", {
      args: ["-c", `exec dockerd "$@" >>"${dir}/dockerd.log" 2>&1`, "sh", ...args],
      stdin: "null",
    }).spawn();
    // The first start with --userns-remap=default also makes the remap user: give it a minute.
    let ended = false;
    child.status.then(() => ended = true);
    for (let i = 0; i < 240 && !ended; i++) {
      const answer = await new Deno.Command("docker", {
        args: ["version", "--format", "{{.Server.Version}}"],
        env: { DOCKER_HOST: host },
        stdout: "null",
        stderr: "null",
      }).output();
      if (answer.success) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const log = await Deno.readTextFile(`${dir}/dockerd.log`).catch(() => "");
    throw new Error(
      `the test's own dockerd ${ended ? "ended" : "did not answer within 60 s"} on ${host}; ` +
        `its log ends:\n` +
        log.split("\n").slice(-15).join("\n"),
    );
  };
  const stop = async () => {
    if (!child) return;
    try {
      child.kill("SIGTERM");
    } catch {
      // It has ended by itself (a flag it refused, a crash).
    }
    await child.status;
    child = null;
  };
  const remove = async () => {
    await stop();
    // dockerd leaves its network namespace mounted under its exec root.
    await new Deno.Command("sh", {
      args: ["-c", `umount "${dir}"/exec/netns/* 2>/dev/null; true`],
    }).output();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await start();
  } catch (error) {
    // An engine that never answered is stopped and its files removed all the same.
    await remove();
    throw error;
  }
  return { host, stop, start, remove };
}
