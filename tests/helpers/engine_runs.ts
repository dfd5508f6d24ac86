import { LABEL, MANAGED_BY } from "../../lib/runners/docker.ts";
import type { SimJob } from "../../lib/simulator/objects.ts";
import type { GitHubSimulator, SimulatorOptions } from "../../lib/simulator/server.ts";
import { runnerPrefix } from "../../lib/commands/setup.ts";
import { cliCommand, TEST_HOST_ID } from "./cli.ts";
import { ENGINE_VERSION } from "./engine.ts";
import { ensureTestImage, TEST_IMAGE } from "./runner_image.ts";
import { TOKEN, withSimulator } from "./sim.ts";

/** Whether a Docker engine answers (the engine tests are skipped, visibly, without one). */
export const ENGINE = ENGINE_VERSION !== null;
if (ENGINE) await ensureTestImage();

const decoder = new TextDecoder();

/** Runs the real docker CLI; throws with its stderr when it fails. */
export function docker(...args: string[]): Promise<string> {
  return dockerOn(undefined, ...args);
}

/** `docker` against the engine at `host` (`DOCKER_HOST`'s when undefined); its stdout. */
export async function dockerOn(host: string | undefined, ...args: string[]): Promise<string> {
  const output = await new Deno.Command("docker", {
    args,
    env: host ? { DOCKER_HOST: host } : {},
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`docker ${args.join(" ")}: ${decoder.decode(output.stderr)}`);
  }
  return decoder.decode(output.stdout);
}

/**
 * Our containers whose runner names start with `prefix` (running ones only unless `all`), on the
 * engine at `host` (`DOCKER_HOST`'s when undefined).
 */
export async function containersOf(prefix: string, all = true, host?: string): Promise<string[]> {
  const out = await dockerOn(
    host,
    "ps",
    ...(all ? ["--all"] : []),
    "--quiet",
    "--filter",
    `label=${LABEL}.managed-by=${MANAGED_BY}`,
    "--filter",
    `name=${prefix}`,
  );
  return out.split("\n").filter((id) => id !== "");
}

/** The cache volumes of runners named with `prefix` (their owner label), on `DOCKER_HOST`'s engine. */
export async function cacheVolumesOf(prefix: string): Promise<string[]> {
  const owner = runnerPrefix(Deno.hostname(), TEST_HOST_ID, prefix);
  const out = await docker(
    "volume",
    "ls",
    "--quiet",
    "--filter",
    `label=${LABEL}.cache-owner=${owner}`,
  );
  return out.split("\n").filter((name) => name !== "").sort();
}

/** Polls `condition` every 200 ms; throws after `seconds`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  seconds = 60,
) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${seconds} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** How a test daemon is started, besides its flags. */
export interface DaemonOptions {
  /** Goes in front of PATH (a docker that fails on demand). */
  pathPrefix?: string;
  env?: Record<string, string>;
}

/** A running daemon (`run` with the test image) whose stderr is collected as it comes. */
export class Daemon {
  stderr = "";
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<void>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    child.stdout.cancel();
    this.#done = (async () => {
      for await (const chunk of child.stderr) this.stderr += decoder.decode(chunk);
    })();
  }

  /** The PID of the daemon's process. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Polls every second with the test image on the host network, at most 3 runners, named
   * `prefix`-...; `extra` flags come last and so win.
   */
  static async start(
    sim: GitHubSimulator,
    prefix: string,
    extra: string[] = [],
    options: DaemonOptions = {},
  ): Promise<Daemon> {
    const command = await cliCommand([
      "run",
      "--api-url",
      sim.url,
      "--interval",
      "1",
      "--image",
      TEST_IMAGE,
      "--network",
      "host",
      "--max-runners",
      "3",
      "--idle-timeout",
      "30",
      "--name-prefix",
      prefix,
      ...extra,
    ], { pathPrefix: options.pathPrefix, env: { GH_TOKEN: TOKEN, ...options.env } });
    return new Daemon(command.spawn());
  }

  /** Waits until the log matches, or throws with the log after `seconds`. */
  async waitFor(pattern: RegExp, seconds = 30): Promise<RegExpMatchArray> {
    let match: RegExpMatchArray | null = null;
    await waitFor(`${pattern} in:\n${this.stderr}`, () => {
      match = this.stderr.match(pattern);
      return match !== null;
    }, seconds);
    return match!;
  }

  /** Waits for the daemon to end by itself; returns its exit code once the output is read. */
  async exited(): Promise<number> {
    const status = await this.#child.status;
    await this.#done;
    return status.code;
  }

  /** Sends `signal` (SIGTERM by default) and returns the exit code once the output is read. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    this.#child.kill(signal);
    const status = await this.#child.status;
    await this.#done;
    return status.code;
  }
}

/**
 * Runs `fn` with a unique runner-name prefix, and removes any container and cache volume it
 * left behind.
 */
export async function withPrefix(fn: (prefix: string) => Promise<void>) {
  const prefix = `t${crypto.randomUUID().slice(0, 6)}`;
  try {
    await fn(prefix);
  } finally {
    await removeContainersOf(prefix);
    await removeCachesOf(prefix);
  }
}

/** Removes the cache volumes of runners named with `prefix` (their containers must be gone). */
export async function removeCachesOf(prefix: string): Promise<void> {
  const volumes = await cacheVolumesOf(prefix);
  if (volumes.length > 0) await docker("volume", "rm", "--force", ...volumes);
}

/** Removes every container of ours whose runner name starts with `prefix`. */
export async function removeContainersOf(prefix: string): Promise<void> {
  const left = await containersOf(prefix);
  if (left.length > 0) await docker("rm", "--force", ...left);
}

/** The body of an engine test: a running simulator and a runner-name prefix of its own. */
export type EngineTestBody = (sim: GitHubSimulator, prefix: string) => Promise<void>;

/**
 * A test that needs the engine (skipped, visibly, without one): a simulator with `options` and a
 * unique runner-name prefix, both cleaned up afterwards.
 */
export function engineTest(name: string, fn: EngineTestBody, options: SimulatorOptions = {}) {
  Deno.test({
    name,
    ignore: !ENGINE,
    fn: () => withSimulator((sim) => withPrefix((prefix) => fn(sim, prefix)), options),
  });
}

/** The registrations of our runners (`--name-prefix prefix`, this host, `TEST_HOST_ID`). */
export const ours = (sim: GitHubSimulator, prefix: string) =>
  sim.world.runners.filter((r) =>
    r.name.startsWith(runnerPrefix(Deno.hostname(), TEST_HOST_ID, prefix))
  );

/** Waits until `jobs` are done and no registration or container of `prefix` is left. */
export async function waitUntilClean(
  sim: GitHubSimulator,
  prefix: string,
  jobs: SimJob[],
  onPoll: () => void | Promise<void> = () => {},
  seconds = 60,
): Promise<void> {
  await waitFor("the jobs done and nothing of ours left", async () => {
    await onPoll();
    return jobs.every((job) => job.status === "completed") && ours(sim, prefix).length === 0 &&
      (await containersOf(prefix)).length === 0;
  }, seconds);
}
