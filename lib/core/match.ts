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
  if (job.labels.length === 0) {
    return { compatible: false, reason: "the job names no runs-on labels" };
  }
  const missing = job.labels.filter((label) => !hostLabels.has(label.toLowerCase()));
  const hosted = missing.length === 0 ? missing : missing.filter((l) => HOSTED_LABEL.test(l));
  if (hosted.length > 0) {
    return {
      compatible: false,
      reason: `runs-on ${hosted.join(", ")} is for GitHub-hosted runners, never a self-hosted one`,
    };
  }
  if (missing.length > 0) {
    return {
      compatible: false,
      reason: `this host's runners lack the label${missing.length > 1 ? "s" : ""} ${
        missing.join(", ")
      }`,
    };
  }
  if (archFilter && !job.labels.some((label) => namedArch(label) !== null)) {
    const sources: [string, string | null][] = [
      ["job name", job.jobName],
      ["workflow", job.workflow],
      ["workflow file", job.workflowPath],
    ];
    for (const [what, text] of sources) {
      const arch = text === null ? null : namedArch(text);
      if (arch === null) continue;
      if (arch === host.arch) break;
      return {
        compatible: false,
        reason: `${what} ${JSON.stringify(text)} names ${arch}; this host is ${host.arch}`,
      };
    }
  }
  return {
    compatible: true,
    reason: `runs-on ${job.labels.join(", ")} matches this host's runner labels`,
  };
}
