/**
 * The latency a user feels, end to end: a daemon process against the simulator, and where an
 * engine answers, a real Docker engine with the stand-in runner image, whose runner boots for
 * `BOOT_SECONDS` before it comes online (as GitHub's does) and then long-polls for a job. Per
 * job: queued → its runner's container running (ours alone), and queued → the job started (ours,
 * the runner's boot, the simulator's assignment); cold, or with a warm pool (`--min-idle`).
 */
import { sign } from "@octokit/webhooks-methods";
import { GitHubSimulator } from "../lib/simulator/server.ts";
import { SimWorld } from "../lib/simulator/world.ts";
import { LABEL } from "../lib/runners/docker.ts";
import { cliCommand } from "../tests/helpers/cli.ts";
import { docker, ours, removeCachesOf, removeContainersOf } from "../tests/helpers/engine_runs.ts";
import { TEST_IMAGE } from "../tests/helpers/runner_image.ts";

/** How long the stand-in runner boots before it comes online, in seconds. */
export const BOOT_SECONDS = 2;

/** The poll interval of the poll mode, in seconds. */
export const POLL_SECONDS = 2;

const TOKEN = "ghp_" + "L".repeat(36);
const SECRET = "bench-secret";

/** One way of running the daemon for the measurement. */
export interface LatencySetup {
  /** scaleset: the daemon's own scale set, jobs pushed over its long poll (needs the engine). */
  mode: "webhook" | "poll" | "scaleset";
  /** Keep one idle runner ready (`--min-idle 1`); needs the engine. */
  warm: boolean;
  /** Start real containers; without, a dry run and only the start decision is timed. */
  engine: boolean;
  jobs: number;
}

/** Seconds per job: to its container running (or, dry, the start decision) and to its start. */
export interface Latencies {
  running: number[];
  started: number[];
}

/** Measures `setup.jobs` jobs queued one after another; `signal` cuts the measurement short. */
export async function latencies(setup: LatencySetup, signal: AbortSignal): Promise<Latencies> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/secret`, SECRET);
  const sim = new GitHubSimulator({
    tokens: [TOKEN],
    world: new SimWorld(),
    jobSeconds: 0,
    runnerBootSeconds: BOOT_SECONDS,
    // GitHub's own hold: a job comes in the middle of a long poll, as it would.
    scaleSets: { longPollSeconds: 50 },
  });
  await sim.start();
  sim.world.addRepo("org/app", { org: true });
  const prefix = `bench${crypto.randomUUID().slice(0, 4)}`;
  const child = (await cliCommand([
    "run",
    "--api-url",
    sim.url,
    "--max-runners",
    "4",
    "--name-prefix",
    prefix,
    "--interval",
    setup.mode === "poll" ? String(POLL_SECONDS) : "3600",
    ...(setup.engine ? ["--image", TEST_IMAGE, "--network", "host"] : ["--dry-run"]),
    ...(setup.mode === "scaleset" ? ["--mode", "scaleset", "--owner", "org", "--no-cache"] : []),
    ...(setup.warm ? ["--min-idle", "1", "--runner-scope", "org"] : []),
    ...(setup.mode === "webhook"
      ? ["--webhook-listen", "127.0.0.1:0", "--webhook-secret-file", `${dir}/secret`]
      : []),
  ], { env: { GH_TOKEN: TOKEN } })).spawn();
  child.stdout.cancel();
  let log = "";
  const reading = (async () => {
    for await (const chunk of child.stderr) log += new TextDecoder().decode(chunk);
  })();
  const until = async (what: string, done: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + 30_000;
    while (!(await done())) {
      signal.throwIfAborted();
      if (Date.now() > deadline) throw new Error(`no ${what} within 30 s; daemon log:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const result: Latencies = { running: [], started: [] };
  try {
    await until(
      "first cycle",
      () => log.includes(setup.mode === "scaleset" ? "Listening for the jobs" : "Found 1 repos"),
    );
    const port = log.match(/Receiving webhooks on 127\.0\.0\.1:(\d+)/)?.[1];
    const readyRunners = () => ours(sim, prefix).filter((r) => r.status === "online" && !r.busy);
    for (let i = 0; i < setup.jobs; i++) {
      if (setup.warm) await until("a pool runner online", () => readyRunners().length > 0);
      // A job comes at any moment of the poll interval, not just after the last one ended.
      if (setup.mode === "poll") {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * POLL_SECONDS * 1000));
      }
      const { jobs } = sim.world.addRun("org/app", {
        name: "CI",
        jobs: [{ name: `j${i}`, labels: ["self-hosted"] }],
      });
      const job = jobs[0]!;
      const before = new Set(setup.mode === "scaleset" ? await running(prefix) : []);
      const queued = performance.now();
      if (port) await webhook(port, job.id, "queued");
      const decisions = (log.match(/would start/g) ?? []).length;
      if (!setup.warm) {
        await until(
          "a runner for the job",
          async () =>
            setup.mode === "scaleset"
              // A scale set's runners are for whichever job GitHub hands them: a new one.
              ? (await running(prefix)).some((id) => !before.has(id))
              : setup.engine
              ? await docker("ps", "--quiet", "--filter", `label=${LABEL}.for-job=${job.id}`) !== ""
              : (log.match(/would start/g) ?? []).length > decisions,
        );
        result.running.push((performance.now() - queued) / 1000);
      }
      if (!setup.engine) {
        sim.world.cancelJob(job);
        continue;
      }
      await until("the job started", () => job.status !== "queued");
      result.started.push((performance.now() - queued) / 1000);
      // As GitHub does: with a pool it wakes the daemon to replace the runner taken.
      if (port) await webhook(port, job.id, "in_progress");
      await until("the job done", () => job.status === "completed");
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reading;
    await sim.stop();
    if (setup.engine) {
      await removeContainersOf(prefix);
      await removeCachesOf(prefix);
    }
    await Deno.remove(dir, { recursive: true });
  }
  return result;
}

/** The running containers of runners named with `prefix`. */
async function running(prefix: string): Promise<string[]> {
  const ids = await docker(
    "ps",
    "--quiet",
    "--filter",
    `label=${LABEL}.runner-name`,
    "--filter",
    `name=^${prefix}-`,
  );
  return ids.split("\n").filter((id) => id !== "");
}

/** Sends the `workflow_job` webhook GitHub would send for `jobId`. */
async function webhook(port: string, jobId: number, action: string): Promise<void> {
  const body = JSON.stringify({ action, workflow_job: { id: jobId } });
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    method: "POST",
    headers: {
      "x-github-event": "workflow_job",
      "x-hub-signature-256": await sign(SECRET, body),
    },
    body,
  });
  await response.body?.cancel();
}
