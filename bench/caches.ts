/**
 * What the runner caches save: a daemon process against the simulator and a real Docker engine
 * with the stand-in runner image, whose job sets up a tool of `TOOL_BYTES` the way
 * `actions/setup-*` does (downloaded unless the tool cache has it). The same job of one
 * repository runs twice, one after the other, with caches and with `--no-cache`; the figure is
 * the bytes each run downloaded from the simulator.
 */
import { GitHubSimulator } from "../lib/simulator/server.ts";
import { SimWorld } from "../lib/simulator/world.ts";
import { cliCommand } from "../tests/helpers/cli.ts";
import { containersOf, removeCachesOf, removeContainersOf } from "../tests/helpers/engine_runs.ts";
import { TEST_IMAGE } from "../tests/helpers/runner_image.ts";

/** The size of the tool each stand-in job sets up. */
export const TOOL_BYTES = 20_000_000;

const TOKEN = "ghp_" + "C".repeat(36);

/** Bytes each of two runs of one job downloaded, with caches (`cached`) or without. */
export async function cacheDownloads(cached: boolean, signal: AbortSignal): Promise<number[]> {
  const sim = new GitHubSimulator({
    tokens: [TOKEN],
    world: new SimWorld(),
    jobSeconds: 0,
    toolBytes: TOOL_BYTES,
  });
  await sim.start();
  sim.world.addRepo("org/app");
  const prefix = `bench${crypto.randomUUID().slice(0, 4)}`;
  const child = (await cliCommand([
    "run",
    "--api-url",
    sim.url,
    "--interval",
    "0.5",
    "--name-prefix",
    prefix,
    "--image",
    TEST_IMAGE,
    "--network",
    "host",
    ...(cached ? [] : ["--no-cache"]),
  ], { env: { GH_TOKEN: TOKEN } })).spawn();
  child.stdout.cancel();
  child.stderr.cancel();
  const until = async (done: () => boolean | Promise<boolean>) => {
    while (!(await done())) {
      signal.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const bytes: number[] = [];
  try {
    for (let run = 0; run < 2; run++) {
      const before = sim.toolBytesServed;
      const { jobs } = sim.world.addRun("org/app", {
        name: "CI",
        jobs: [{ name: "build", labels: ["self-hosted"] }],
      });
      await until(() => jobs[0]!.status === "completed");
      bytes.push(sim.toolBytesServed - before);
      // The next run comes once this one's container is gone, as a later push's would.
      await until(async () => (await containersOf(prefix)).length === 0);
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await sim.stop();
    await removeContainersOf(prefix);
    await removeCachesOf(prefix);
  }
  return bytes;
}
