import type { QueuedJob } from "./model.ts";
import type { RunnerArch } from "../system/arch.ts";

/** Whether this host may run a job, and why, in words a person can read. */
export interface Match {
  compatible: boolean;
  reason: string;
}

/** Names of each architecture as they appear in workflow files, job names and labels. */
const ARCH_WORDS: Record<RunnerArch, string[]> = {
  x64: ["x64", "amd64", "x86_64", "x86-64"],
  arm64: ["arm64", "aarch64"],
};

/** Labels of GitHub-hosted runners (`ubuntu-latest`, `windows-2022`, `macos-14`...). */
const HOSTED_LABEL = /^(ubuntu|windows|macos)-/i;

/** One pattern per architecture: any of its words, as a whole word. */
const ARCH_PATTERNS = (Object.keys(ARCH_WORDS) as RunnerArch[]).map((arch) =>
  [
    arch,
    new RegExp(
      `(?<![a-z0-9])(?:${
        ARCH_WORDS[arch].map((w) => w.replace("-", "\\-")).join("|")
      })(?![a-z0-9])`,
      "i",
    ),
  ] as const
);

/** The architecture a text names as a whole word (`arm64-ci.yml`, `test-amd64-x`), if exactly one. */
export function namedArch(text: string): RunnerArch | null {
  // Every word of ARCH_WORDS has "64" in it: most texts are settled without a pattern.
  if (!text.includes("64")) return null;
  let named: RunnerArch | null = null;
  for (const [arch, pattern] of ARCH_PATTERNS) {
    if (!pattern.test(text)) continue;
    if (named !== null) return null;
    named = arch;
  }
  return named;
}

/**
 * Decides whether a runner with `hostLabels` on a host of `arch` should take a job.
 *
 * First GitHub's own rule: every `runs-on` label must be among the runner's labels. Then, with
 * `archFilter`, the job is refused when its job name, workflow name or workflow file names the
 * other architecture as a whole word (the most specific of these that names one decides), since
 * `runs-on: self-hosted` in `arm64-ci.yml` matches any self-hosted runner by labels alone. A job
 * whose labels name an architecture has said where it runs: its labels decide, not its names
 * (`cross-compile (x86_64)` on `[self-hosted, arm64]` is an arm64 job).
 */
export function matchJob(
  job: Pick<QueuedJob, "labels" | "jobName" | "workflow" | "workflowPath">,
  host: { arch: RunnerArch; labels: readonly string[] },
  archFilter: boolean,
  hostLabels: ReadonlySet<string> = new Set(host.labels.map((label) => label.toLowerCase())),
): Match {
  const { namesArch, ...byLabels } = matchLabels(job.labels, hostLabels);
  if (!byLabels.compatible || !archFilter || namesArch) return byLabels;
  return matchNames(job, host.arch) ?? byLabels;
}

/** GitHub's label rule alone; `namesArch` when a label names an architecture. */
export function matchLabels(
  labels: readonly string[],
  hostLabels: ReadonlySet<string>,
): Match & { namesArch: boolean } {
  const refuse = (reason: string) => ({ compatible: false, reason, namesArch: false });
  if (labels.length === 0) return refuse("the job names no runs-on labels");
  const missing = labels.filter((label) => !hostLabels.has(label.toLowerCase()));
  const hosted = missing.length === 0 ? missing : missing.filter((l) => HOSTED_LABEL.test(l));
  if (hosted.length > 0) {
    return refuse(
      `runs-on ${hosted.join(", ")} is for GitHub-hosted runners, never a self-hosted one`,
    );
  }
  if (missing.length > 0) {
    return refuse(
      `this host's runners lack the label${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`,
    );
  }
  return {
    compatible: true,
    reason: `runs-on ${labels.join(", ")} matches this host's runner labels`,
    namesArch: labels.some((label) => namedArch(label) !== null),
  };
}

/** Verdicts of `matchNames` on workflows, by workflow name and file, kept for one plan. */
export type WorkflowVerdicts = Map<string, Map<string | null, Match | null>>;

/**
 * The architecture filter alone: a refusal when the job name, else the workflow name, else the
 * workflow file names the other architecture; null when none names one or it is `arch`. The
 * workflow's part is the same for all its jobs: `memo` keeps it.
 */
export function matchNames(
  job: Pick<QueuedJob, "jobName" | "workflow" | "workflowPath">,
  arch: RunnerArch,
  memo?: WorkflowVerdicts,
): Match | null {
  // Most specific first; written out, as this runs for every queued job in every cycle.
  const byName = namesOther("job name", job.jobName, arch);
  if (byName !== undefined) return byName;
  let byPath = memo?.get(job.workflow);
  let verdict = byPath?.get(job.workflowPath);
  if (verdict !== undefined) return verdict;
  verdict = namesOther("workflow", job.workflow, arch);
  if (verdict === undefined) verdict = namesOther("workflow file", job.workflowPath, arch);
  if (verdict === undefined) verdict = null;
  if (memo) {
    if (!byPath) memo.set(job.workflow, byPath = new Map());
    byPath.set(job.workflowPath, verdict);
  }
  return verdict;
}

/** Undefined when `text` names no architecture, null when it names `arch`, else a refusal. */
function namesOther(what: string, text: string | null, arch: RunnerArch): Match | null | undefined {
  const named = text === null ? null : namedArch(text);
  if (named === null) return undefined;
  if (named === arch) return null;
  return {
    compatible: false,
    reason: `${what} ${JSON.stringify(text)} names ${named}; this host is ${arch}`,
  };
}
