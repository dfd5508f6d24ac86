/** The kinds of runner this program starts, by the accelerator a runner gets. */
export type RunnerKind = "cpu" | "cuda" | "rocm" | "openvino";

/** A queued GitHub Actions job, as the demand side observed it. */
export interface QueuedJob {
  /** `owner/name`. */
  repo: string;
  runId: number;
  jobId: number;
  /** The workflow's name (`CI`), and its file (`.github/workflows/arm64-ci.yml`) when known. */
  workflow: string;
  workflowPath: string | null;
  jobName: string;
  /** The job's `runs-on` labels as GitHub reports them. */
  labels: string[];
  /** When the job was created (ISO 8601). */
  createdAt: string;
}

/** Where runners are registered: `repo` (the job's repository) or `org` (its organization). */
export type RunnerScope = "repo" | "org";

/** The scope a runner for a job in `repo` is registered to: `owner/name`, or `owner`. */
export function scopeFor(repo: string, scope: RunnerScope): string {
  return scope === "org" ? repo.split("/")[0]! : repo;
}

/** What a runner of ours is doing. */
export type RunnerState = "starting" | "idle" | "busy";

/** A runner this program manages, as observed. */
export interface ManagedRunner {
  name: string;
  /** Where it is registered: a repository (`owner/name`) or an organization (`owner`). */
  scope: string;
  labels: string[];
  state: RunnerState;
  /** Its registration and container, where both are known: what retiring it takes. */
  ids?: { runnerId: number; containerId: string };
}

/** A runner registration of ours, as GitHub lists it. */
export interface Registration {
  id: number;
  name: string;
  /** Where it is registered: a repository (`owner/name`) or an organization (`owner`). */
  scope: string;
  labels: string[];
  online: boolean;
  busy: boolean;
}

/** A container of ours, as `docker inspect` describes it. */
export interface ManagedContainer {
  id: string;
  /** `running`, `exited`, `created`, `dead`... */
  state: string;
  exitCode: number;
  /** Our labels, without the `<LABEL>.` prefix. */
  labels: Record<string, string>;
  /** When we created it (our `created` label, else Docker's own time). */
  createdAt: string;
}
