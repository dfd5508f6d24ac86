import { getLogger } from "@logtape/logtape";
import type { RunnerBackend } from "./backend.ts";
import type { GitHub } from "./github/client.ts";
import { queuedJobs } from "./github/demand.ts";
import { listRepositories, type RepoSelection } from "./github/repos.ts";
import { managedRunners } from "./github/runners.ts";
import { matchJob } from "./match.ts";
import type { ManagedRunner } from "./model.ts";
import { type HostProfile, type Plan, plan } from "./plan.ts";

const log = getLogger(["autoscaler", "cycle"]);

/** The I/O a cycle uses. */
export interface CycleDeps {
  github: GitHub;
  backend: RunnerBackend;
  now: () => Date;
}

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
}

/** One observation and the plan made from it. */
export interface Observation {
  repos: string[];
  runners: ManagedRunner[];
  plan: Plan;
  /** Repositories that could not be read this time, one line each. */
  problems: string[];
}

/**
 * Looks at GitHub once and plans: the repositories, their queued jobs, and our runners in the
 * repositories that have jobs this host could take (no other runner lists are fetched).
 */
export async function observe(deps: CycleDeps, settings: CycleSettings): Promise<Observation> {
  const repos = await listRepositories(deps.github, settings.selection, deps.now());
  const demand = await queuedJobs(deps.github, repos, settings.concurrency);
  const wanted = [
    ...new Set(
      demand.jobs.filter((job) => matchJob(job, settings.host, settings.archFilter).compatible)
        .map((job) => job.repo),
    ),
  ].sort();
  const observed = await managedRunners(
    deps.github,
    wanted,
    settings.runnerPrefix,
    settings.concurrency,
  );
  const blind = new Set(observed.unreadable);
  const problems = [
    ...demand.problems,
    ...observed.unreadable.map((repo) => `${repo}: its runners could not be listed`),
  ];
  return {
    repos: repos.filter((repo) => !demand.gone.includes(repo)),
    runners: observed.runners,
    plan: plan({
      host: settings.host,
      jobs: demand.jobs.filter((job) => !blind.has(job.repo)),
      runners: observed.runners,
      maxRunners: settings.maxRunners,
      archFilter: settings.archFilter,
    }),
    problems,
  };
}

/** What one cycle saw and did. */
export interface CycleResult extends Observation {
  /** Names of the runners started. */
  started: string[];
}

/** One cycle: observe, plan, start what the plan says, and tell the story in the log. */
export async function runCycle(deps: CycleDeps, settings: CycleSettings): Promise<CycleResult> {
  const observation = await observe(deps, settings);
  const { decisions, actions } = observation.plan;
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
  const started: string[] = [];
  for (const action of actions) {
    try {
      started.push(...await deps.backend.start(action));
    } catch (error) {
      log.error("Could not start runners for {repo}: {error}", { repo: action.repo, error });
    }
  }
  const states = (state: string) => observation.runners.filter((r) => r.state === state).length;
  log.info(
    "Runners of ours: {total} before this cycle ({starting} starting, {idle} idle, {busy} busy); " +
      "{provision} to start, {waiting} jobs waiting",
    {
      total: observation.runners.length,
      starting: states("starting"),
      idle: states("idle"),
      busy: states("busy"),
      provision: count("provision"),
      waiting: count("wait"),
    },
  );
  return { ...observation, started };
}
