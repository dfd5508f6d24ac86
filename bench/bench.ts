/**
 * `deno task bench`: the figures of bench/README.md, printed as one table. It drives the real
 * daemon (as a process) against the simulator and, where an engine answers, a real Docker engine
 * with the stand-in runner image; the other figures run the daemon's own cycle and planner code
 * in this process. A benchmark, not a test: nothing here passes or fails on time.
 */
import { sign } from "@octokit/webhooks-methods";
import { DryRunBackend } from "../lib/runners/backend.ts";
import { type CycleSettings, observe, runCycle } from "../lib/daemon/cycle.ts";
import { createGitHub } from "../lib/github/client.ts";
import { EtagCache } from "../lib/github/etag_cache.ts";
import type { ManagedRunner, QueuedJob } from "../lib/core/model.ts";
import { plan } from "../lib/core/plan.ts";
import { GitHubSimulator, type SimulatorOptions } from "../lib/simulator/server.ts";
import { SimWorld } from "../lib/simulator/world.ts";
import { cliCommand } from "../tests/helpers/cli.ts";
import { ensureTestImage, TEST_IMAGE } from "../tests/helpers/runner_image.ts";
import { profileStartTimes } from "./profile_start.ts";

const TOKEN = "ghp_" + "B".repeat(36);
const LABELS = ["self-hosted", "linux", "x64", "cpu-only"];
const SETTINGS: CycleSettings = {
  selection: { owners: [], repos: [], sinceDays: 1, app: false },
  host: { arch: "x64", labels: LABELS, kinds: { cpu: { labels: LABELS, capacity: Infinity } } },
  maxRunners: 4,
  archFilter: true,
  runnerPrefix: "autoscaler-bench-",
  concurrency: 8,
  idleTimeoutMs: 300_000,
  runnerScope: "repo",
};

const rows: [string, string, string][] = [];
const record = (what: string, figure: string, target: string) => {
  rows.push([what, figure, target]);
  console.error(`${what}: ${figure}`);
};

async function withSim<T>(options: SimulatorOptions, fn: (sim: GitHubSimulator) => Promise<T>) {
  const sim = new GitHubSimulator({ tokens: [TOKEN], world: new SimWorld(), ...options });
  await sim.start();
  try {
    return await fn(sim);
  } finally {
    await sim.stop();
  }
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

const deps = (sim: GitHubSimulator, cache?: EtagCache) => ({
  github: createGitHub(sim.url, { kind: "token", token: TOKEN }, { cache, concurrency: 8 }),
  backend: new DryRunBackend(),
  now: () => new Date(),
  signal: new AbortController().signal,
});

async function idleRequests(conditional: boolean): Promise<number> {
  return await withSim({}, async (sim) => {
    for (let i = 0; i < 100; i++) sim.world.addRepo(`org/r${i}`, { org: true });
    const d = deps(sim, conditional ? new EtagCache() : undefined);
    await observe(d, SETTINGS);
    const before = sim.log.filter((r) => r.counted).length;
    await observe(d, SETTINGS);
    return sim.log.filter((r) => r.counted).length - before;
  });
}

async function cycleWallTime(): Promise<number> {
  return await withSim({ latencyMs: 5 }, async (sim) => {
    for (let i = 0; i < 100; i++) sim.world.addRepo(`org/r${i}`, { org: true });
    const times: number[] = [];
    const d = deps(sim, new EtagCache());
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      await runCycle(d, SETTINGS);
      times.push(performance.now() - start);
    }
    return quantile(times, 0.5);
  });
}

function planTime(): number {
  const jobs: QueuedJob[] = Array.from({ length: 10_000 }, (_, i) => ({
    repo: `org/r${i % 100}`,
    runId: i,
    jobId: i,
    workflow: i % 7 === 0 ? "arm64 build" : "CI",
    workflowPath: ".github/workflows/ci.yml",
    jobName: `job ${i}`,
    labels: i % 5 === 0 ? ["self-hosted", "gpu"] : ["self-hosted", "linux"],
    createdAt: new Date(1_800_000_000_000 + i * 1000).toISOString(),
  }));
  const runners: ManagedRunner[] = Array.from({ length: 1_000 }, (_, i) => ({
    name: `autoscaler-bench-${i}`,
    scope: `org/r${i % 100}`,
    labels: LABELS,
    state: (["starting", "idle", "busy"] as const)[i % 3]!,
  }));
  const input = { host: SETTINGS.host, jobs, runners, maxRunners: 2000, archFilter: true };
  // Five runs to warm the JIT, then the measured ones.
  for (let i = 0; i < 5; i++) plan(input);
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const start = performance.now();
    plan(input);
    times.push(performance.now() - start);
  }
  return quantile(times, 0.5);
}

/**
 * The daemon process's resident memory (from /proc) after each count of idle cycles in
 * `targets`; `v8Flag` false runs it without the program's `--v8-flags`, for comparison. One
 * repository, as the daemon paces each endpoint under GitHub's secondary limit (850 points a
 * minute): with two run-list requests a cycle, about 400 cycles a minute.
 */
async function residentMemory(v8Flag: boolean, targets: number[]): Promise<number[]> {
  // A rate limit this loop cannot spend, so the daemon never stretches its interval here.
  return await withSim({ rateLimit: 100_000_000 }, async (sim) => {
    sim.world.addRepo("org/r0", { org: true });
    const child = (await cliCommand(
      ["run", "--dry-run", "--interval", "0.01", "--api-url", sim.url, "--log-level", "warning"],
      {
        env: { GH_TOKEN: TOKEN },
        flags: (flags) => v8Flag ? flags : flags.filter((f) => !f.startsWith("--v8-flags")),
      },
    )).spawn();
    child.stdout.cancel();
    child.stderr.cancel();
    const cycles = () => sim.log.filter((r) => r.url.startsWith("/user/repos")).length;
    const rss = async () => {
      const status = new TextDecoder().decode(
        (await new Deno.Command("cat", {
          args: [`/proc/${child.pid}/status`],
          stdout: "piped",
        }).output()).stdout,
      );
      return Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1]) * 1024;
    };
    const at: number[] = [];
    try {
      for (const target of targets) {
        while (cycles() < target) await new Promise((resolve) => setTimeout(resolve, 20));
        at.push(await rss());
      }
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
    return at;
  });
}

/** Seconds from each job queued to its runner's container running (or, dry, its start decision). */
async function queuedToRunning(mode: "webhook" | "poll", engine: boolean): Promise<number[]> {
  const secretDir = await Deno.makeTempDir();
  const secretFile = `${secretDir}/secret`;
  await Deno.writeTextFile(secretFile, "bench-secret");
  try {
    return await withSim({ jobSeconds: 0 }, async (sim) => {
      sim.world.addRepo("org/app", { org: true });
      const prefix = `bench${crypto.randomUUID().slice(0, 4)}`;
      const args = [
        "run",
        "--api-url",
        sim.url,
        "--max-runners",
        "4",
        "--name-prefix",
        prefix,
        "--interval",
        mode === "poll" ? "2" : "3600",
        ...(engine ? ["--image", TEST_IMAGE, "--network", "host"] : ["--dry-run"]),
        ...(mode === "webhook"
          ? ["--webhook-listen", "127.0.0.1:0", "--webhook-secret-file", secretFile]
          : []),
      ];
      const child = (await cliCommand(args, { env: { GH_TOKEN: TOKEN } })).spawn();
      child.stdout.cancel();
      let log = "";
      const reading = (async () => {
        for await (const chunk of child.stderr) log += new TextDecoder().decode(chunk);
      })();
      const until = async (done: () => boolean | Promise<boolean>) => {
        const deadline = Date.now() + 30_000;
        while (!(await done())) {
          if (Date.now() > deadline) throw new Error(`bench timed out; daemon log:\n${log}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      const seconds: number[] = [];
      try {
        await until(() => log.includes("Found 1 repos"));
        const port = log.match(/Receiving webhooks on 127\.0\.0\.1:(\d+)/)?.[1];
        for (let i = 0; i < 30; i++) {
          const { jobs } = sim.world.addRun("org/app", {
            name: "CI",
            jobs: [{ name: `j${i}`, labels: ["self-hosted"] }],
          });
          const queued = performance.now();
          if (port) {
            const body = JSON.stringify({ action: "queued", workflow_job: { id: jobs[0]!.id } });
            await (await fetch(`http://127.0.0.1:${port}/`, {
              method: "POST",
              headers: {
                "x-github-event": "workflow_job",
                "x-hub-signature-256": await sign("bench-secret", body),
              },
              body,
            })).body?.cancel();
          }
          const starts = (log.match(/would start|Started cpu runner/g) ?? []).length;
          await until(async () => {
            if (!engine) return (log.match(/would start/g) ?? []).length > starts;
            const out = await new Deno.Command("docker", {
              args: [
                "ps",
                "--quiet",
                "--filter",
                `label=io.github-autoscaler.for-job=${jobs[0]!.id}`,
              ],
              stdout: "piped",
            }).output();
            return new TextDecoder().decode(out.stdout).trim() !== "";
          });
          seconds.push((performance.now() - queued) / 1000);
          if (!engine) sim.world.cancelJob(jobs[0]!);
          await until(() => jobs[0]!.status === "completed");
        }
      } finally {
        child.kill("SIGTERM");
        await child.status;
        await reading;
        const left = new TextDecoder().decode(
          (await new Deno.Command("docker", {
            args: ["ps", "--all", "--quiet", "--filter", `name=${prefix}`],
            stdout: "piped",
          }).output().catch(() => ({ stdout: new Uint8Array() }))).stdout,
        ).split("\n").filter(Boolean);
        if (left.length > 0) {
          await new Deno.Command("docker", { args: ["rm", "--force", ...left] }).output();
        }
      }
      return seconds;
    });
  } finally {
    await Deno.remove(secretDir, { recursive: true });
  }
}

// The planner first, before the other measurements have grown this process's heap.
record(
  "plan, 10,000 queued jobs and 1,000 runners (median of 21, after 5 warm-up runs)",
  `${planTime().toFixed(1)} ms`,
  "≤ 20 ms",
);
const engine = (await new Deno.Command("docker", {
  args: ["version", "--format", "{{.Server.Version}}"],
  stdout: "piped",
  stderr: "null",
}).output().catch(() => null))?.success === true;
if (engine) await ensureTestImage();
const where = engine ? "container running (real engine)" : "start decision (no engine: dry run)";
for (const mode of ["webhook", "poll"] as const) {
  const s = await queuedToRunning(mode, engine);
  record(
    `job queued → ${where}, ${mode} mode, 30 jobs`,
    `median ${quantile(s, 0.5).toFixed(2)} s, p95 ${quantile(s, 0.95).toFixed(2)} s`,
    mode === "webhook" ? "median ≤ 1 s" : "≤ interval (2 s) + 1 s",
  );
}
if (engine) {
  for (const [profile, times] of Object.entries(await profileStartTimes())) {
    record(
      `docker run → runner process started, profile ${profile} (5 starts)`,
      typeof times === "string"
        ? times
        : `median ${quantile(times, 0.5).toFixed(2)} s, max ${Math.max(...times).toFixed(2)} s`,
      "(measured)",
    );
  }
}
record(
  "counted API requests per idle cycle, 100 repos, conditional",
  String(await idleRequests(true)),
  "0",
);
record("same, conditional requests off", String(await idleRequests(false)), "(for comparison)");
record(
  "one cycle over 100 repos, 5 ms latency per request (median of 5)",
  `${(await cycleWallTime()).toFixed(0)} ms`,
  "about its slowest few requests",
);
const mib = (bytes: number[]) => bytes.map((b) => (b / 2 ** 20).toFixed(0)).join(" / ");
record(
  "daemon resident memory after 100 / 500 / 1,000 idle cycles (1 repo, dry run)",
  `${mib(await residentMemory(true, [100, 500, 1000]))} MiB`,
  "≤ 100 MB, no growth",
);
record(
  "same after 100 / 500 cycles, without --v8-flags=--max-semi-space-size=2",
  `${mib(await residentMemory(false, [100, 500]))} MiB`,
  "(for comparison)",
);

console.log("| measurement | figure | target |\n| --- | --- | --- |");
for (const [what, figure, target] of rows) console.log(`| ${what} | ${figure} | ${target} |`);
