import { getLogger } from "@logtape/logtape";
import type { QueuedJob } from "../core/model.ts";
import { mapLimit } from "./pool.ts";
import type { GitHub } from "./client.ts";
import { RateLimited } from "./budget.ts";
import { AuthError, authErrorFor, describeError, isHttpError } from "./errors.ts";
import { listAll } from "./list.ts";

const log = getLogger(["autoscaler", "demand"]);

/** The fields of a workflow run that matter here. */
interface RunData {
  id: number;
  name?: string | null;
  path?: string | null;
}

/** The fields of a job that matter here. */
interface JobData {
  id: number;
  run_id: number;
  name: string;
  status: string;
  labels: string[];
  created_at: string;
  workflow_name?: string | null;
}

function isRun(value: unknown): value is RunData {
  return typeof (value as Partial<RunData> | null)?.id === "number";
}

function isJob(value: unknown): value is JobData {
  const job = value as Partial<JobData> | null;
  return typeof job?.id === "number" && typeof job.run_id === "number" &&
    typeof job.name === "string" && typeof job.status === "string" &&
    typeof job.created_at === "string" && Array.isArray(job.labels) &&
    job.labels.every((label) => typeof label === "string");
}

/** What one look at the queue found. */
export interface Demand {
  jobs: QueuedJob[];
  /** Repositories that answered 404 (deleted or renamed since they were listed). */
  gone: string[];
  /** One line per repository that could not be read this time. */
  problems: string[];
}

/**
 * The queued jobs of `repos`: jobs with status `queued` in runs that are `queued` or
 * `in_progress` (later jobs of a run queue while earlier ones run). A repository whose answers
 * fail or are malformed is logged and skipped; the others go on. An auth failure throws, and so
 * does `signal`'s reason once it aborts.
 */
export async function queuedJobs(
  github: GitHub,
  repos: string[],
  concurrency: number,
  signal?: AbortSignal,
): Promise<Demand> {
  const demand: Demand = { jobs: [], gone: [], problems: [] };
  const forbidden: AuthError[] = [];
  const results = await mapLimit(repos, concurrency, (repo) => repoJobs(github, repo, concurrency));
  // Stopped: every request failed for that, not for its repository.
  signal?.throwIfAborted();
  for (const [i, result] of results.entries()) {
    const repo = repos[i]!;
    if (result.status === "fulfilled") {
      demand.jobs.push(...result.value);
      continue;
    }
    const error = result.reason;
    const auth = authErrorFor(error);
    // A rejected token fails everything; a 403 is this repository's (its settings, the token's
    // reach), and the other repositories are still served.
    if (auth?.reach === "token") throw auth;
    if (error instanceof RateLimited) throw error;
    if (isHttpError(error) && error.status === 404) {
      log.debug("Repository {repo} is gone (404); dropped", { repo });
      demand.gone.push(repo);
      continue;
    }
    if (auth) forbidden.push(auth);
    const reason = auth ? auth.message : describeError(error);
    const problem = `${repo}: ${reason}`;
    log.warn("Skipped {repo} this cycle: {reason}", { repo, reason });
    demand.problems.push(problem);
  }
  // Refused everywhere is the token's problem, not the repositories': say so, as for a 401.
  if (repos.length > 0 && forbidden.length === repos.length) throw forbidden[0];
  return demand;
}

async function repoJobs(github: GitHub, repo: string, concurrency: number): Promise<QueuedJob[]> {
  const [owner, name] = repo.split("/") as [string, string];
  const runs: RunData[] = [];
  const statuses = ["queued", "in_progress"] as const;
  const lists = await Promise.all(
    statuses.map((status) =>
      listAll(
        github,
        "GET /repos/{owner}/{repo}/actions/runs",
        { owner, repo: name, status },
        "workflow_runs",
      )
    ),
  );
  for (const [i, items] of lists.entries()) {
    runs.push(...keep(items, isRun, repo, `${statuses[i]} runs`));
  }
  const perRun = await mapLimit(runs, concurrency, async (run) => {
    const items = await listAll(
      github,
      "GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs",
      { owner, repo: name, run_id: run.id, filter: "latest" },
      "jobs",
    );
    return keep(items, isJob, repo, `jobs of run ${run.id}`)
      .filter((job) => job.status === "queued")
      .map((job): QueuedJob => ({
        repo,
        runId: run.id,
        jobId: job.id,
        workflow: job.workflow_name ?? run.name ?? "",
        workflowPath: run.path ?? null,
        jobName: job.name,
        labels: job.labels,
        createdAt: job.created_at,
      }));
  });
  const jobs: QueuedJob[] = [];
  for (const result of perRun) {
    if (result.status === "rejected") throw result.reason;
    jobs.push(...result.value);
  }
  return jobs;
}

function keep<T>(
  items: unknown[],
  valid: (item: unknown) => item is T,
  repo: string,
  what: string,
): T[] {
  const good = items.filter(valid);
  if (good.length < items.length) {
    log.warn("Skipped {count} malformed {what} of {repo}", {
      count: items.length - good.length,
      what,
      repo,
    });
  }
  return good;
}
