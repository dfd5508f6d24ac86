import type { SimAccount, SimJob, SimRelease, SimRepo, SimRun, SimRunner } from "./objects.ts";

/** A job to put in a new run. */
export interface JobSpec {
  name: string;
  labels: string[] | null;
  status?: SimJob["status"];
  createdAt?: string;
}

/** A new workflow run and its jobs. */
export interface RunSpec {
  name: string;
  /** The workflow file; defaults to `.github/workflows/<name>.yml`. */
  path?: string;
  event?: string;
  createdAt?: string;
  jobs: JobSpec[];
}

/**
 * The simulated GitHub: accounts, repositories, workflow runs, jobs and runners, plus GitHub's
 * own behaviour where scenarios need it (a run's status follows its jobs; queued jobs go to
 * matching idle online runners; an ephemeral runner is removed when its job completes).
 */
export class SimWorld {
  readonly accounts = new Map<string, SimAccount>();
  readonly repos: SimRepo[] = [];
  readonly runs: SimRun[] = [];
  readonly jobs: SimJob[] = [];
  readonly runners: SimRunner[] = [];
  readonly releases: SimRelease[] = [];
  #nextId = 1000;

  /** `now` gives the time stamps of what is created; tests pass a fixed clock. */
  constructor(readonly now: () => Date = () => new Date()) {}

  #id(): number {
    return this.#nextId++;
  }

  /** The account, created on first use (`type` only counts then). */
  account(login: string, type: SimAccount["type"] = "User"): SimAccount {
    const existing = this.accounts.get(login.toLowerCase());
    if (existing) return existing;
    const account = { login, id: this.#id(), type };
    this.accounts.set(login.toLowerCase(), account);
    return account;
  }

  /** Adds `owner/name`; the owner is a user unless `org` is set. */
  addRepo(
    fullName: string,
    options: { org?: boolean; private?: boolean; archived?: boolean; pushedAt?: string } = {},
  ): SimRepo {
    const [login, name] = fullName.split("/");
    if (!login || !name) throw new Error(`Repository name "${fullName}" is not owner/name`);
    const now = this.now().toISOString();
    const repo: SimRepo = {
      id: this.#id(),
      owner: this.account(login, options.org ? "Organization" : "User"),
      name,
      private: options.private ?? true,
      archived: options.archived ?? false,
      pushedAt: options.pushedAt ?? now,
      createdAt: "2024-01-01T00:00:00Z",
    };
    this.repos.push(repo);
    return repo;
  }

  /** The repository `owner/name`, compared case-insensitively as GitHub does. */
  repo(fullName: string): SimRepo | undefined {
    const wanted = fullName.toLowerCase();
    return this.repos.find((r) => `${r.owner.login}/${r.name}`.toLowerCase() === wanted);
  }

  /** Removes a repository and everything in it (a deleted or renamed repository). */
  removeRepo(fullName: string): void {
    const repo = this.repo(fullName);
    if (!repo) return;
    this.repos.splice(this.repos.indexOf(repo), 1);
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      if (this.jobs[i]?.run.repo === repo) this.jobs.splice(i, 1);
    }
  }

  /** Adds a run with its jobs to an existing repository. */
  addRun(fullName: string, spec: RunSpec): { run: SimRun; jobs: SimJob[] } {
    const repo = this.repo(fullName);
    if (!repo) throw new Error(`No repository ${fullName} in the simulator`);
    const createdAt = spec.createdAt ?? this.now().toISOString();
    const id = this.#id();
    const run: SimRun = {
      id,
      repo,
      name: spec.name,
      path: spec.path ?? `.github/workflows/${spec.name.toLowerCase().replace(/\W+/g, "-")}.yml`,
      workflowId: 7000 + (this.runs.filter((r) => r.repo === repo).length % 5),
      runNumber: this.runs.filter((r) => r.repo === repo).length + 1,
      event: spec.event ?? "push",
      headBranch: "main",
      headSha: id.toString(16).padStart(40, "0"),
      createdAt,
      updatedAt: createdAt,
    };
    this.runs.push(run);
    const jobs = spec.jobs.map((jobSpec) => {
      const jobCreated = jobSpec.createdAt ?? createdAt;
      const job: SimJob = {
        id: this.#id(),
        run,
        name: jobSpec.name,
        labels: jobSpec.labels,
        status: jobSpec.status ?? "queued",
        conclusion: jobSpec.status === "completed" ? "success" : null,
        createdAt: jobCreated,
        startedAt: jobCreated,
        completedAt: jobSpec.status === "completed" ? jobCreated : null,
        runnerId: null,
        runnerName: null,
      };
      this.jobs.push(job);
      return job;
    });
    return { run, jobs };
  }

  /** The run's status as GitHub derives it from its jobs. */
  runStatus(run: SimRun): "queued" | "in_progress" | "completed" {
    const statuses = this.jobs.filter((j) => j.run === run).map((j) => j.status);
    if (statuses.every((s) => s === "completed")) return "completed";
    if (statuses.every((s) => s === "queued")) return "queued";
    return "in_progress";
  }

  /** The jobs of a run. */
  jobsOf(run: SimRun): SimJob[] {
    return this.jobs.filter((j) => j.run === run);
  }

  /** Registers a runner to a repository (`owner/name`) or an organization (`org`). */
  addRunner(
    scope: string,
    options: { name: string; labels: string[]; status?: SimRunner["status"]; busy?: boolean },
  ): SimRunner {
    const runner: SimRunner = {
      id: this.#id(),
      name: options.name,
      scope,
      labels: options.labels,
      status: options.status ?? "offline",
      busy: options.busy ?? false,
      ephemeral: true,
    };
    this.runners.push(runner);
    return runner;
  }

  /** Removes a runner registration. */
  removeRunner(id: number): boolean {
    const at = this.runners.findIndex((r) => r.id === id);
    if (at < 0) return false;
    this.runners.splice(at, 1);
    return true;
  }

  /**
   * Whether `runner` may take `job`: same repository or its organization, and every label; a
   * job assigned to a scale set, only that scale set's runners.
   */
  fits(runner: SimRunner, job: SimJob): boolean {
    const repo = job.run.repo;
    const scope = runner.scope.toLowerCase();
    const wanted = (job.labels ?? []).map((l) => l.toLowerCase());
    if (runner.scaleSetId !== undefined || job.scaleSetId !== undefined) {
      return runner.scaleSetId === job.scaleSetId;
    }
    return job.labels !== null &&
      (scope === `${repo.owner.login}/${repo.name}`.toLowerCase() ||
        scope === repo.owner.login.toLowerCase()) &&
      wanted.every((label) => runner.labels.some((have) => have.toLowerCase() === label));
  }

  /**
   * GitHub's dispatch: each queued job, oldest first, goes to an idle online runner that fits
   * (only to `only`, when given: a runner asking for work).
   */
  dispatch(only?: SimRunner): SimJob[] {
    const assigned: SimJob[] = [];
    const queued = this.jobs.filter((j) => j.status === "queued" && j.labels !== null)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id);
    for (const job of queued) {
      const runner = (only ? [only] : this.runners).find((r) =>
        r.status === "online" && !r.busy && this.fits(r, job)
      );
      if (!runner) continue;
      runner.busy = true;
      Object.assign(job, {
        status: "in_progress",
        startedAt: this.now().toISOString(),
        runnerId: runner.id,
        runnerName: runner.name,
      });
      assigned.push(job);
    }
    return assigned;
  }

  /** Publishes a release of an existing repository with the given assets. */
  addRelease(
    fullName: string,
    tag: string,
    assets: Record<string, Uint8Array | string>,
    options: { prerelease?: boolean; draft?: boolean } = {},
  ): SimRelease {
    const repo = this.repo(fullName);
    if (!repo) throw new Error(`No repository ${fullName} in the simulator`);
    const release: SimRelease = {
      id: this.#id(),
      repo,
      tag,
      prerelease: options.prerelease ?? false,
      draft: options.draft ?? false,
      createdAt: this.now().toISOString(),
      assets: Object.entries(assets).map(([name, content]) => ({
        id: this.#id(),
        name,
        bytes: typeof content === "string" ? new TextEncoder().encode(content) : content,
      })),
    };
    this.releases.push(release);
    return release;
  }

  /** Cancels a queued job, as a person pressing "Cancel workflow" would. */
  cancelJob(job: SimJob): void {
    Object.assign(job, {
      status: "completed",
      conclusion: "cancelled",
      completedAt: this.now().toISOString(),
    });
  }

  /** Completes a job; an ephemeral runner that ran it is removed, as GitHub does. */
  completeJob(job: SimJob, conclusion: SimJob["conclusion"] = "success"): void {
    Object.assign(job, { status: "completed", conclusion, completedAt: this.now().toISOString() });
    const runner = this.runners.find((r) => r.id === job.runnerId);
    if (runner?.ephemeral) this.removeRunner(runner.id);
    else if (runner) runner.busy = false;
  }
}
