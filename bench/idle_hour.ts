/**
 * What an idle hour costs in requests to GitHub, by where demand comes from: REST polling (the
 * webhook mode polls too) against 3 repositories (more would meet the daemon's own pacing under
 * GitHub's secondary limit, 850 points a minute per endpoint, in the measurement's fast cycles),
 * and the scale set's long poll. Both run the daemon as a process against the simulator.
 */
import { GitHubSimulator } from "../lib/simulator/server.ts";
import { SimWorld } from "../lib/simulator/world.ts";
import { cliCommand } from "../tests/helpers/cli.ts";
import { removeContainersOf } from "../tests/helpers/engine_runs.ts";
import { TEST_IMAGE } from "../tests/helpers/runner_image.ts";

const TOKEN = "ghp_" + "I".repeat(36);

/** Requests in an idle hour: all of them, and those counted against the REST rate limit. */
export interface IdleHour {
  rest: number;
  counted: number;
  /** Long polls of the scale set service (no rate limit) in the measured window. */
  polls?: number;
}

/** The simulator's requests to the Actions service (not the REST API). */
const isService = (url: string) => /^\/(_services\/|actions\/runner-registration)/.test(url);

/** Runs the daemon with `args` until `ready(log, sim)`; returns what `measure` made of it. */
async function withDaemon<T>(
  args: string[],
  sim: GitHubSimulator,
  signal: AbortSignal,
  measure: (log: () => string) => Promise<T>,
): Promise<T> {
  const child = (await cliCommand(["run", "--api-url", sim.url, ...args], {
    env: { GH_TOKEN: TOKEN },
  })).spawn();
  child.stdout.cancel();
  let log = "";
  const reading = (async () => {
    for await (const chunk of child.stderr) log += new TextDecoder().decode(chunk);
  })();
  const abort = () => child.kill("SIGTERM");
  signal.addEventListener("abort", abort);
  try {
    return await measure(() => log);
  } finally {
    signal.removeEventListener("abort", abort);
    child.kill("SIGTERM");
    await child.status;
    await reading;
  }
}

async function until(what: string, done: () => boolean, signal: AbortSignal, log: () => string) {
  while (!done()) {
    if (signal.aborted) throw new Error(`no ${what}; daemon log:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Polling: 60 idle cycles (an hour at the default --interval 60, two runner sweeps in it) over
 * 3 repositories, with conditional requests.
 */
export async function pollIdleHour(signal: AbortSignal): Promise<IdleHour> {
  const sim = new GitHubSimulator({ tokens: [TOKEN], world: new SimWorld() });
  await sim.start();
  try {
    for (let i = 0; i < 3; i++) sim.world.addRepo(`org/r${i}`, { org: true });
    const args = ["--owner", "org", "--dry-run", "--interval", "0.1"];
    return await withDaemon(args, sim, signal, async (log) => {
      const cycles = () => (log().match(/Found 3 repos/g) ?? []).length;
      await until("first cycle", () => cycles() >= 1, signal, log);
      const start = sim.log.length;
      await until("61 cycles", () => cycles() >= 61, signal, log);
      const hour = sim.log.slice(start).filter((r) => !isService(r.url));
      return { rest: hour.length, counted: hour.filter((r) => r.counted).length };
    });
  } finally {
    await sim.stop();
  }
}

/**
 * The scale set: `seconds` idle with the simulator holding each long poll 1 s; the REST requests
 * scaled to an hour, and the long polls in the window (one per hold: at GitHub's 50 s hold, 72
 * an hour).
 */
export async function scaleSetIdleHour(seconds: number, signal: AbortSignal): Promise<IdleHour> {
  const sim = new GitHubSimulator({
    tokens: [TOKEN],
    world: new SimWorld(),
    scaleSets: { longPollSeconds: 1 },
  });
  await sim.start();
  const prefix = `idle${crypto.randomUUID().slice(0, 4)}`;
  try {
    sim.world.addRepo("org/app", { org: true });
    const args = [
      "--mode",
      "scaleset",
      "--owner",
      "org",
      "--image",
      TEST_IMAGE,
      "--name-prefix",
      prefix,
      "--no-cache",
    ];
    return await withDaemon(args, sim, signal, async (log) => {
      await until("the listener", () => log().includes("Listening for the jobs"), signal, log);
      const start = sim.log.length;
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      const window = sim.log.slice(start);
      const rest = window.filter((r) => !isService(r.url));
      const polls = window.filter((r) => r.method === "GET" && r.url.includes("/queue/")).length;
      const perHour = 3600 / seconds;
      return {
        rest: Math.round(rest.length * perHour),
        counted: Math.round(rest.filter((r) => r.counted).length * perHour),
        polls,
      };
    });
  } finally {
    await sim.stop();
    await removeContainersOf(prefix);
  }
}
