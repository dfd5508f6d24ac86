/**
 * `deno task bench`: the figures of bench/README.md, printed as one table. It drives the real
 * daemon (as a process) against the simulator and, where an engine answers, a real Docker engine
 * with the stand-in runner image; the other figures run the daemon's own cycle and planner code
 * in this process. A benchmark, not a test: nothing here passes or fails on time. Each part has
 * a deadline; a part that passes it is cut short and its row says it was not measured, so the
 * bench ends in minutes whatever holds a part up.
 */
import { DryRunBackend } from "../lib/runners/backend.ts";
import { type CycleSettings, observe, runCycle } from "../lib/daemon/cycle.ts";
import { createGitHub } from "../lib/github/client.ts";
import { EtagCache } from "../lib/github/etag_cache.ts";
import type { ManagedRunner, QueuedJob } from "../lib/core/model.ts";
import { plan } from "../lib/core/plan.ts";
import { GitHubSimulator, type SimulatorOptions } from "../lib/simulator/server.ts";
import { SimWorld } from "../lib/simulator/world.ts";
import { cliCommand } from "../tests/helpers/cli.ts";
import { ensureTestImage } from "../tests/helpers/runner_image.ts";
import { BOOT_SECONDS, latencies, POLL_SECONDS } from "./latency.ts";
import { profileStartTimes } from "./profile_start.ts";
import { cacheDownloads, TOOL_BYTES } from "./caches.ts";
import { pollIdleHour, scaleSetIdleHour } from "./idle_hour.ts";

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

/**
 * Runs one part of the bench with `seconds` to finish; past them its signal aborts and the part
 * is abandoned. Null when it failed or ran out of time, after one row per name in `names` says so.
 */
async function part<T>(
  names: string[],
  seconds: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T | null> {
  const signal = AbortSignal.timeout(seconds * 1000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`took more than ${seconds} s`)),
      seconds * 1000 + 10_000,
    );
  });
  try {
    return await Promise.race([fn(signal), late]);
  } catch (error) {
    const why = signal.aborted
      ? `took more than ${seconds} s`
      : (error as Error).message.split("\n")[0];
    for (const name of names) record(name, `not measured: ${why}`, "");
    return null;
  } finally {
    clearTimeout(timer);
  }
}

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

/** The planner's median time over `runs` runs for `count` queued jobs against 1,000 runners. */
function planTime(count: number, runs: number): number {
  const jobs: QueuedJob[] = Array.from({ length: count }, (_, i) => ({
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
  const input = {
    host: SETTINGS.host,
    jobs,
    runners,
    maxRunners: 2000,
    archFilter: true,
    runnerScope: "repo" as const,
  };
  // Five runs to warm the JIT, then the measured ones.
  for (let i = 0; i < 5; i++) plan(input);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
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
async function residentMemory(
  v8Flag: boolean,
  targets: number[],
  signal: AbortSignal,
): Promise<number[]> {
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
        while (cycles() < target) {
          signal.throwIfAborted();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        at.push(await rss());
      }
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
    return at;
  });
}

// The planner first, before the other measurements have grown this process's heap.
for (const [count, runs] of [[1_000, 21], [10_000, 21], [100_000, 5]] as const) {
  record(
    `plan, ${count.toLocaleString("en")} queued jobs and 1,000 runners (median of ${runs}, ` +
      "after 5 warm-up runs)",
    `${planTime(count, runs).toFixed(1)} ms`,
    count === 10_000 ? "≤ 10 ms" : "(growth)",
  );
}
const engine = (await new Deno.Command("docker", {
  args: ["version", "--format", "{{.Server.Version}}"],
  stdout: "piped",
  stderr: "null",
}).output().catch(() => null))?.success === true;
if (engine) await ensureTestImage();
const figure = (s: number[]) =>
  s.length === 0
    ? "none measured"
    : `median ${quantile(s, 0.5).toFixed(2)} s, p95 ${quantile(s, 0.95).toFixed(2)} s`;
const JOBS = 15;
const boot = `runner boot ${BOOT_SECONDS} s`;
for (const mode of ["webhook", "poll", "scaleset"] as const) {
  const interval = mode === "poll"
    ? ` (--interval ${POLL_SECONDS}, jobs at random moments)`
    : mode === "scaleset"
    ? " (--mode scaleset, each job pushed during a 50 s long poll)"
    : "";
  const cold = [
    `job queued → ${engine ? "container running" : "start decision (no engine: dry run)"}, ` +
    `${mode}${interval}, cold, ${JOBS} jobs`,
    `job queued → job started, ${mode}${interval}, cold, ${boot}, ${JOBS} jobs`,
  ];
  const warm = [
    `job queued → job started, ${mode}${interval}, warm pool (--min-idle 1), ${boot}, ` +
    `${JOBS} jobs`,
  ];
  if (mode === "scaleset" && !engine) {
    for (const row of cold) record(row, "not measured: no Docker engine", "");
    continue;
  }
  const measured = await part(
    engine ? cold : cold.slice(0, 1),
    120,
    (signal) => latencies({ mode, warm: false, engine, jobs: JOBS }, signal),
  );
  if (measured) {
    record(
      cold[0]!,
      figure(measured.running),
      mode === "poll" ? `≤ ${POLL_SECONDS} s + 1 s` : "median ≤ 1 s",
    );
    if (engine) {
      record(
        cold[1]!,
        figure(measured.started),
        `the row above + ${BOOT_SECONDS} s boot + 0.2 s`,
      );
    }
  }
  if (!engine) {
    for (const row of [cold[1]!, warm[0]!]) record(row, "not measured: no Docker engine", "");
    continue;
  }
  // A scale set starts a runner per job GitHub assigns it: no warm pool.
  if (mode === "scaleset") continue;
  const pooled = await part(
    warm,
    120,
    (signal) => latencies({ mode, warm: true, engine, jobs: JOBS }, signal),
  );
  if (pooled) record(warm[0]!, figure(pooled.started), "median ≤ 0.1 s");
}
const profileRow = (profile: string) =>
  `docker run → runner process started, profile ${profile} (5 starts)`;
const profileRows = ["hardened", "sudo", "docker"].map(profileRow);
if (!engine) {
  for (const row of profileRows) record(row, "not measured: no Docker engine", "");
} else {
  const profiles = await part(profileRows, 180, () => profileStartTimes());
  for (const [profile, times] of Object.entries(profiles ?? {})) {
    record(
      profileRow(profile),
      typeof times === "string"
        ? times
        : `median ${quantile(times, 0.5).toFixed(2)} s, max ${Math.max(...times).toFixed(2)} s`,
      "(measured)",
    );
  }
}
const megabytes = (bytes: number[]) => bytes.map((b) => `${(b / 1e6).toFixed(1)} MB`).join(" / ");
for (const cached of [true, false]) {
  const row = `bytes a repeated job downloads, first / second run, tool of ${TOOL_BYTES / 1e6} MB${
    cached ? "" : ", --no-cache"
  }`;
  if (!engine) {
    record(row, "not measured: no Docker engine", "");
    continue;
  }
  const bytes = await part([row], 90, (signal) => cacheDownloads(cached, signal));
  if (bytes) record(row, megabytes(bytes), cached ? "second run 0" : "(for comparison)");
}
const idleRow = "counted API requests per idle cycle, 100 repos, conditional";
const idle = await part([idleRow], 60, () => idleRequests(true));
if (idle !== null) record(idleRow, String(idle), "0");
const plainRow = "same, conditional requests off";
const plain = await part([plainRow], 60, () => idleRequests(false));
if (plain !== null) record(plainRow, String(plain), "(for comparison)");
const hourRows = [
  "REST requests in an idle hour, 3 repos, poll or webhook (polling stays on), --interval 60: " +
  "all / counted against the rate limit",
  "same, --mode scaleset: REST all / counted (10 s idle, scaled to an hour); long polls in " +
  "those 10 s, each held 1 s",
];
const pollHour = await part([hourRows[0]!], 60, (signal) => pollIdleHour(signal));
if (pollHour) record(hourRows[0]!, `${pollHour.rest} / ${pollHour.counted}`, "(for comparison)");
if (!engine) record(hourRows[1]!, "not measured: no Docker engine", "");
else {
  const setHour = await part([hourRows[1]!], 60, (signal) => scaleSetIdleHour(10, signal));
  if (setHour) {
    record(hourRows[1]!, `${setHour.rest} / ${setHour.counted}; ${setHour.polls} polls`, "REST 0");
  }
}
const cycleRow = "one cycle over 100 repos, 5 ms latency per request (median of 5)";
const cycle = await part([cycleRow], 60, () => cycleWallTime());
if (cycle !== null) record(cycleRow, `${cycle.toFixed(0)} ms`, "about its slowest few requests");
const mib = (bytes: number[]) => bytes.map((b) => (b / 2 ** 20).toFixed(0)).join(" / ");
const memoryRows = [
  "daemon resident memory after 100 / 500 / 1,000 idle cycles (1 repo, dry run)",
  "same after 100 / 500 cycles, without --v8-flags=--max-semi-space-size=2",
];
// The two daemons side by side: each spends most of its time waiting on its pacing.
const [withFlag, withoutFlag] = await Promise.all([
  part([memoryRows[0]!], 240, (signal) => residentMemory(true, [100, 500, 1000], signal)),
  part([memoryRows[1]!], 240, (signal) => residentMemory(false, [100, 500], signal)),
]);
if (withFlag) record(memoryRows[0]!, `${mib(withFlag)} MiB`, "≤ 100 MB, no growth");
if (withoutFlag) record(memoryRows[1]!, `${mib(withoutFlag)} MiB`, "(for comparison)");

console.log("| measurement | figure | target |\n| --- | --- | --- |");
for (const [what, figure, target] of rows) console.log(`| ${what} | ${figure} | ${target} |`);
