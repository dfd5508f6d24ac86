import { getLogger } from "@logtape/logtape";
import type { RunnerBackend } from "../runners/backend.ts";
import { UsageError } from "../core/errors.ts";
import type { CycleSettings } from "../daemon/cycle.ts";
import { createGitHub } from "../github/client.ts";
import { EtagCache } from "../github/etag_cache.ts";
import { hostLabels, hostProfile } from "../core/labels.ts";
import { runLoop } from "../daemon/loop.ts";
import type { StartAction } from "../core/plan.ts";
import {
  DEMO_ARRIVALS,
  DEMO_HOST,
  DEMO_LABELS,
  setUpDemoWorld,
} from "../simulator/demo_scenario.ts";
import { GitHubSimulator } from "../simulator/server.ts";
import type { SimWorld } from "../simulator/world.ts";
import type { Command } from "./command.ts";

const log = getLogger(["autoscaler", "demo"]);
const TOKEN = "demo-token";
const MAX_CYCLES = 12;

/**
 * Stands in for Docker in the demo: each "started" runner is registered online in the simulated
 * GitHub, which then hands it a job, as GitHub does.
 */
class SimulatedRunners implements RunnerBackend {
  started = 0;
  constructor(private world: SimWorld, private prefix: string) {}

  containers(): Promise<null> {
    return Promise.resolve(null);
  }

  remove(): Promise<void> {
    return Promise.resolve();
  }

  start(action: StartAction): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < action.count; i++) {
      const name = `${this.prefix}${(++this.started).toString(16).padStart(4, "0")}`;
      this.world.addRunner(action.scope, { name, labels: action.labels, status: "online" });
      names.push(name);
      log.info("Started {kind} runner {name} for {what} (simulated)", {
        kind: action.runnerKind,
        name,
        what: action.repo ?? `the warm pool of ${action.scope}`,
      });
    }
    return Promise.resolve(names);
  }
}

/** `autoscaler demo`: the real loop against the simulated GitHub with a scripted scenario. */
export const demoCommand: Command = {
  name: "demo",
  summary: "Run the real loop against a simulated GitHub (about 5 s, no token needed)",
  help: `Usage: autoscaler demo [--interval-ms MS]

Starts a GitHub API simulator on 127.0.0.1 and runs the autoscaler's real loop against it for
a simulated x64 host with one NVIDIA GPU and the extra label big-ram, at most 4 runners. Jobs
arrive over three cycles: x64, arm64, GPU, GitHub-hosted and custom-label jobs, and a matrix.
Runners are simulated: each one is registered with the simulated GitHub, which hands it a job
that completes a cycle later. Ends by itself with a summary once every job is served.

Options:
  --interval-ms MS          Pause between cycles (default: 1000)`,
  options: { "interval-ms": { type: "string" } },
  async run(values, deps) {
    const intervalText = typeof values["interval-ms"] === "string" ? values["interval-ms"] : "1000";
    const intervalMs = Number(intervalText);
    if (!/^\d+$/.test(intervalText) || intervalMs > 60_000) {
      throw new UsageError(`Invalid --interval-ms "${intervalText}": give 0 to 60000`);
    }
    const sim = new GitHubSimulator({ tokens: [TOKEN] });
    setUpDemoWorld(sim.world);
    await sim.start();
    try {
      const host = hostProfile(DEMO_HOST, DEMO_LABELS)!;
      const prefix = "autoscaler-demo-";
      const settings: CycleSettings = {
        selection: { owners: [], repos: [], sinceDays: 1, app: false },
        host,
        maxRunners: 4,
        archFilter: true,
        runnerPrefix: prefix,
        concurrency: 8,
        idleTimeoutMs: 300_000,
        runnerScope: "repo",
      };
      const backend = new SimulatedRunners(sim.world, prefix);
      log.info(
        "Demo host: x64, 8 CPUs, 1 NVIDIA GPU (simulated); labels {labels}; at most 4 runners",
        {
          labels: hostLabels(DEMO_HOST, DEMO_LABELS).join(","),
        },
      );
      const skipped = new Map<number, string>();
      let cycles = 0;
      addArrivals(sim.world, 1);
      await runLoop(
        {
          // As `run` does: conditional requests, so unchanged answers cost no rate limit.
          github: createGitHub(sim.url, { kind: "token", token: TOKEN }, {
            cache: new EtagCache(),
            concurrency: 8,
          }),
          backend,
          now: () => new Date(),
          signal: deps.signal,
        },
        settings,
        {
          intervalMs,
          once: false,
          signal: deps.signal,
          afterCycle(result, cycle) {
            cycles = cycle;
            for (const d of result?.plan.decisions ?? []) {
              if (d.decision === "skip") skipped.set(d.job.jobId, `${d.job.jobName}: ${d.reason}`);
            }
            for (const job of sim.world.jobs.filter((j) => j.status === "in_progress")) {
              sim.world.completeJob(job);
              log.info("Job {job} of {repo} completed on {runner}", {
                job: job.name,
                repo: `${job.run.repo.owner.login}/${job.run.repo.name}`,
                runner: job.runnerName,
              });
            }
            for (const job of sim.world.dispatch()) {
              log.info("GitHub gave job {job} to {runner}", {
                job: job.name,
                runner: job.runnerName,
              });
            }
            addArrivals(sim.world, cycle + 1);
            const waiting = sim.world.jobs.some((j) =>
              j.status === "in_progress" || (j.status === "queued" && !skipped.has(j.id))
            );
            return cycle < MAX_CYCLES && (waiting || cycle + 1 in DEMO_ARRIVALS);
          },
        },
      );
      const served = sim.world.jobs.filter((j) => j.status === "completed");
      const left = sim.world.jobs.filter((j) => j.status !== "completed" && !skipped.has(j.id));
      const counted = sim.log.filter((r) => r.counted).length;
      deps.print(
        [
          `Demo finished after ${cycles} cycles.`,
          `  ${served.length} jobs served by ${backend.started} runners the autoscaler started`,
          `  ${skipped.size} jobs left alone, as this host must not run them:`,
          ...[...skipped.values()].map((line) => `    - ${line}`),
          ...(left.length > 0 ? [`  ${left.length} jobs still waiting`] : []),
          `  ${sim.log.length} API requests to the simulated GitHub (${counted} counted against ` +
          "the rate limit)",
        ].join("\n") + "\n",
      );
      return left.length === 0 ? 0 : 1;
    } finally {
      await sim.stop();
    }
  },
};

function addArrivals(world: SimWorld, cycle: number): void {
  for (const [repo, run] of DEMO_ARRIVALS[cycle] ?? []) {
    world.addRun(repo, run);
    log.info("Queued: {repo} {workflow} with {jobs} jobs", {
      repo,
      workflow: run.name,
      jobs: run.jobs.length,
    });
  }
}
