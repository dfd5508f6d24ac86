import { getLogger } from "@logtape/logtape";
import type { RunnerBackend } from "../runners/backend.ts";
import type { GitHub } from "../github/client.ts";
import { queuedJobs } from "../github/demand.ts";
import { describeError } from "../github/errors.ts";
import { listRepositories, type RepoSelection } from "../github/repos.ts";
import { deleteRunner, listRegistrations } from "../github/runners.ts";
import { matchJob } from "../core/match.ts";
import { JobBackoff } from "../core/backoff.ts";
import {
  type ManagedContainer,
  type ManagedRunner,
  type QueuedJob,
  type RunnerKind,
  type RunnerScope,
  scopeFor,
} from "../core/model.ts";
import { type HostProfile, type Plan, plan, startTarget } from "../core/plan.ts";
import type { Metrics } from "./metrics.ts";
import {
  type CleanUp,
  poolRetirements,
  reconcile,
  statesFromRegistrations,
} from "../core/reconcile.ts";

const log = getLogger(["autoscaler", "cycle"]);

/** The I/O a cycle uses. */
export interface CycleDeps {
  github: GitHub;
  backend: RunnerBackend;
  now: () => Date;
  /** Aborts on SIGTERM: the cycle finishes its current step and starts nothing more. */
  signal: AbortSignal;
  metrics?: Metrics;
  /** Jobs held off across cycles; without one (plan, --once) a cycle keeps its own. */
  backoff?: JobBackoff;
  /**
   * Since when (epoch ms) each job has waited for a place, kept across cycles by the daemon: a
   * job reclaims an idle runner only after waiting `RECLAIM_AFTER_MS`.
   */
  waiting?: Map<number, number>;
}

/**
 * How long a job waits for a place before it may retire an idle runner that cannot take it.
 * GitHub hands a queued job to a fitting idle runner within seconds, here or on another host: a
 * job still waiting after this is not being taken, and one look (two cycles a webhook apart)
 * that may be out of date retires nothing.
 */
const RECLAIM_AFTER_MS = 15_000;

/** What a cycle works with; fixed for the life of the daemon. */
export interface CycleSettings {
  selection: RepoSelection;
  host: HostProfile;
  maxRunners: number;
  archFilter: boolean;
  /** Runners whose name starts with this are ours (`autoscaler-<host>-`). */
  runnerPrefix: string;
  /** Requests to GitHub in flight at once. */
  concurrency: number;
  /** A runner not busy after this long is removed. */
  idleTimeoutMs: number;
  /** Runners are registered to the job's repository, or to its organization. */
  runnerScope: RunnerScope;
  /**
   * `--min-idle`: idle runners of each kind kept ready in every watched scope (each
   * organization, or each repository with `--runner-scope repo`), recycled at `maxAgeMs`.
   */
  pool?: { minIdle: Partial<Record<RunnerKind, number>>; maxAgeMs: number };
}

/** One observation and the plan made from it. */
export interface Observation {
  repos: string[];
  runners: ManagedRunner[];
  /** Containers and registrations to remove (empty for backends without containers). */
  cleanUps: CleanUp[];
  plan: Plan;
  /** Repositories that could not be read this time, one line each. */
  problems: string[];
}

/**
 * Looks at GitHub and Docker once and plans. Runner lists are read for the scopes (repositories,
 * or their organizations) with jobs this host could take and those with containers of ours;
 * `sweep` reads every watched one's, to find registrations left by a crash.
 */
export async function observe(
  deps: CycleDeps,
  settings: CycleSettings,
  sweep = false,
): Promise<Observation> {
  const repos = await listRepositories(deps.github, settings.selection, deps.now());
  const demand = await queuedJobs(deps.github, repos, settings.concurrency, deps.signal);
  const containers: ManagedContainer[] | null = await deps.backend.containers();
  const scope = (repo: string) => scopeFor(repo, settings.runnerScope);
  const wanted = new Set(
    demand.jobs.filter((job) => matchJob(job, settings.host, settings.archFilter).compatible)
      .map((job) => scope(job.repo)),
  );
  for (const container of containers ?? []) {
    if (container.labels.scope) wanted.add(container.labels.scope);
  }
  const poolScopes = settings.pool ? [...new Set(repos.map(scope))] : [];
  // A pool's runner lists are read every cycle: it is told how many runners are ready there.
  for (const poolScope of poolScopes) wanted.add(poolScope);
  if (sweep) { for (const repo of repos) wanted.add(scope(repo)); }
  const observed = await listRegistrations(
    deps.github,
    [...wanted].sort(),
    settings.runnerPrefix,
    settings.concurrency,
    deps.signal,
  );
  const reconciled = containers === null
    ? { runners: statesFromRegistrations(observed.registrations), cleanUps: [] }
    : reconcile({
      containers,
      registrations: observed.registrations,
      readScopes: new Set(observed.read),
      now: deps.now(),
      idleTimeoutMs: settings.idleTimeoutMs,
      poolMaxAgeMs: settings.pool?.maxAgeMs ?? settings.idleTimeoutMs,
    });
  const holdOff = backOff(deps, settings, reconciled.cleanUps, demand.jobs);
  const blind = new Set(observed.unreadable);
  const seen = (repo: string) => !blind.has(scope(repo));
  return {
    repos: repos.filter((repo) => !demand.gone.includes(repo)),
    runners: reconciled.runners,
    cleanUps: reconciled.cleanUps,
    plan: plan({
      host: settings.host,
      jobs: demand.jobs.filter((job) => seen(job.repo)),
      runners: reconciled.runners,
      maxRunners: settings.maxRunners,
      archFilter: settings.archFilter,
      runnerScope: settings.runnerScope,
      ...(settings.pool
        ? {
          pool: {
            scopes: poolScopes.filter((s) => !blind.has(s)),
            minIdle: settings.pool.minIdle,
          },
        }
        : {}),
      holdOff,
      ...(deps.waiting ? { waitedBefore: waitedLong(deps.waiting, deps.now()) } : {}),
    }),
    problems: [
      ...demand.problems,
      ...observed.unreadable.map((s) => `${s}: its runners could not be listed`),
    ],
  };
}

/** The jobs that have waited for a place for `RECLAIM_AFTER_MS` or longer. */
function waitedLong(waiting: ReadonlyMap<number, number>, now: Date): Set<number> {
  const since = now.getTime() - RECLAIM_AFTER_MS;
  return new Set([...waiting].filter(([, first]) => first <= since).map(([jobId]) => jobId));
}

/**
 * Holds off the jobs whose runners sat idle until reaped while the job stayed queued: GitHub
 * does not hand them to our runners, and a new runner each idle timeout would change nothing.
 */
function backOff(
  deps: CycleDeps,
  settings: CycleSettings,
  cleanUps: readonly CleanUp[],
  jobs: readonly QueuedJob[],
): Map<number, string> {
  const backoff = deps.backoff ?? new JobBackoff(settings.idleTimeoutMs);
  const now = deps.now().getTime();
  backoff.keepOnly(new Set(jobs.map((job) => job.jobId)));
  for (const step of cleanUps) {
    if (step.kind !== "retire" || step.unusedFor === undefined) continue;
    const job = jobs.find((j) => j.jobId === step.unusedFor);
    if (!job) continue;
    const ms = backoff.strike(job.jobId, now);
    log.warn(
      "Job {jobId} of {repo} was not taken by runner {runner} within {timeout} s: GitHub may " +
        "not hand it to our runners (another runner group?); backing off {seconds} s",
      {
        jobId: job.jobId,
        repo: job.repo,
        runner: step.runner,
        timeout: Math.round(settings.idleTimeoutMs / 1000),
        seconds: Math.round(ms / 1000),
      },
    );
  }
  return backoff.holding(now);
}

/** What one cycle saw and did. */
export interface CycleResult extends Observation {
  /** Names of the runners started. */
  started: string[];
  /** Names of the runners removed (container or registration). */
  removed: string[];
}

/** One cycle: observe, clean up, start what the plan says, and tell the story in the log. */
export async function runCycle(
  deps: CycleDeps,
  settings: CycleSettings,
  sweep = false,
): Promise<CycleResult> {
  // The first cycle and every sweep: the image is pulled before a job waits for it.
  if (sweep) deps.backend.prepare?.();
  const observation = await observe(deps, settings, sweep);
  const { decisions, actions } = observation.plan;
  if (deps.waiting) {
    const now = deps.now().getTime();
    const waiting = new Set(observation.plan.waiting);
    for (const jobId of deps.waiting.keys()) if (!waiting.has(jobId)) deps.waiting.delete(jobId);
    for (const jobId of waiting) if (!deps.waiting.has(jobId)) deps.waiting.set(jobId, now);
  }
  const count = (decision: string) => decisions.filter((d) => d.decision === decision).length;
  log.info("Found {repos} repos with {jobs} queued jobs", {
    repos: observation.repos.length,
    jobs: decisions.length,
  });
  if (count("skip") > 0) {
    log.info("Filtered {skipped} incompatible jobs for {arch}", {
      skipped: count("skip"),
      arch: settings.host.arch,
    });
  }
  for (const d of decisions) {
    log.debug("{repo} job {jobId} ({jobName}): {decision}, {reason}", {
      repo: d.job.repo,
      jobId: d.job.jobId,
      jobName: d.job.jobName,
      decision: d.decision,
      reason: d.reason,
    });
  }
  const removed = await cleanUp(deps, [...observation.cleanUps, ...reclaimed(observation)]);
  const started: string[] = [];
  for (const action of actions) {
    if (deps.signal.aborted) break;
    try {
      const names = await deps.backend.start(action, deps.signal);
      started.push(...names);
      deps.metrics?.starts.inc(names.length);
      const now = deps.now().getTime();
      for (const jobId of action.jobIds.slice(0, names.length)) {
        const job = decisions.find((d) => d.job.jobId === jobId)?.job;
        if (job) deps.metrics?.queuedToStarted.observe((now - Date.parse(job.createdAt)) / 1000);
      }
    } catch (error) {
      deps.metrics?.startFailures.inc();
      log.error("Could not start runners for {repo}: {error}", {
        repo: startTarget(action),
        error: describeError(error),
      });
    }
  }
  const states = (state: string) => observation.runners.filter((r) => r.state === state).length;
  log.info(
    "Runners of ours: {total} ({starting} starting, {idle} idle, {busy} busy); {started} " +
      "started and {removed} removed this cycle; {waiting} jobs waiting",
    {
      total: observation.runners.length + started.length,
      starting: states("starting"),
      idle: states("idle"),
      busy: states("busy"),
      removed: removed.length,
      started: started.length,
      waiting: count("wait"),
    },
  );
  return { ...observation, started, removed };
}

/**
 * Retires the warm pool's idle runners as the daemon stops, all at once, until `signal` aborts;
 * `deps.github` must be a client the stop signal does not cut off. A runner counts as retired
 * once its registration is deleted (its container may still be going); those GitHub could not be
 * asked about, or that time ran out for, are `left`.
 */
export async function retireWarmPool(
  deps: Pick<CycleDeps, "github" | "backend">,
  settings: CycleSettings,
  signal: AbortSignal,
): Promise<{ retired: string[]; left: string[] }> {
  const pool = (await untilAborted(deps.backend.containers(), signal) ?? [])
    .filter((c) => c.labels.pool === "true");
  const names = pool.map((c) => c.labels["runner-name"] ?? "");
  if (pool.length === 0) return { retired: [], left: [] };
  const scopes = [...new Set(pool.map((c) => c.labels.scope ?? ""))].sort();
  const observed = await untilAborted(
    listRegistrations(deps.github, scopes, settings.runnerPrefix, settings.concurrency, signal),
    signal,
  ).catch(() => null);
  if (!observed) return { retired: [], left: names };
  const steps = poolRetirements(pool, observed.registrations);
  const retired: string[] = [];
  const all = Promise.all(steps.map((step) => cleanUpStep(deps, step, (r) => retired.push(r))));
  await untilAborted(all, signal).catch(() => {});
  // Busy ones finish their jobs; the others, unlisted or not retired in time, are left.
  const busy = new Set(
    observed.registrations.filter((r) => r.busy).map((r) => r.name),
  );
  return {
    retired: [...retired],
    left: names.filter((name) => !retired.includes(name) && !busy.has(name)),
  };
}

/** `promise`, or a rejection once `signal` aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    }),
  ]);
}

/** The retirement of each runner the plan reclaims for a waiting job. */
function reclaimed(observation: Observation): CleanUp[] {
  return observation.plan.reclaims.flatMap((r) => {
    const ids = observation.runners.find((m) => m.name === r.runner && m.scope === r.scope)?.ids;
    return ids
      ? [{ kind: "retire", scope: r.scope, runner: r.runner, reason: r.reason, ...ids }]
      : [];
  });
}

/**
 * Removes containers and deletes registrations; a runner is retired registration first, so a
 * busy one's delete (refused by GitHub) leaves its container running, and is retried next cycle.
 */
async function cleanUp(
  deps: Pick<CycleDeps, "github" | "backend">,
  cleanUps: CleanUp[],
): Promise<string[]> {
  const removed = new Set<string>();
  for (const step of cleanUps) await cleanUpStep(deps, step, (runner) => removed.add(runner));
  return [...removed];
}

/**
 * One clean-up step; `gone` hears of the runner once GitHub has let its registration go (or,
 * for a container alone, once it is removed). A failure is logged, never thrown.
 */
async function cleanUpStep(
  deps: Pick<CycleDeps, "github" | "backend">,
  step: CleanUp,
  gone: (runner: string) => void,
): Promise<void> {
  try {
    if (step.kind === "remove-container") {
      await deps.backend.remove(step.containerId);
      log.info("Removed the container of runner {runner}: {reason}", step);
      gone(step.runner);
      return;
    }
    const outcome = await deleteRunner(deps.github, step.scope, step.runnerId);
    if (outcome === "busy") {
      log.info("Runner {runner} is busy; will delete it later", step);
      return;
    }
    log.info("Deleted the registration of runner {runner}: {reason}", step);
    gone(step.runner);
    if (step.kind === "retire") {
      await deps.backend.remove(step.containerId);
      log.info("Removed the container of runner {runner}: {reason}", step);
    }
  } catch (error) {
    log.warn("Could not remove runner {runner}: {error}", {
      runner: step.runner,
      error: describeError(error),
    });
  }
}
