import { matchJob } from "./match.ts";
import type { ManagedRunner, QueuedJob, RunnerKind } from "./model.ts";
import type { RunnerArch } from "../system/arch.ts";

/** What the plan decided for one job. */
export type Decision = "provision" | "wait" | "skip";

/** One job with its decision and the reason for it. */
export interface JobDecision {
  job: QueuedJob;
  decision: Decision;
  reason: string;
  /** The kind of runner the job needs, for jobs this host can run. */
  runnerKind: RunnerKind | null;
}

/** Start `count` runners of one kind for one repository. */
export interface StartAction {
  kind: "start";
  repo: string;
  runnerKind: RunnerKind;
  labels: string[];
  count: number;
  /** The jobs these runners are started for, oldest first. */
  jobIds: number[];
}

/** What a cycle should do, and why for every job. */
export interface Plan {
  decisions: JobDecision[];
  actions: StartAction[];
}

/** The host as the planner needs it: labels, and what each kind of runner gets. */
export interface HostProfile {
  arch: RunnerArch;
  /** Every label a runner of this host can have (`hostLabels`). */
  labels: string[];
  /** Each kind of runner the host can start: its labels and how many may run at once. */
  kinds: Partial<Record<RunnerKind, { labels: string[]; capacity: number }>>;
}

/** Everything a plan is computed from. */
export interface PlanInput {
  host: HostProfile;
  jobs: readonly QueuedJob[];
  /** Our runners that exist now (starting, idle or busy). */
  runners: readonly ManagedRunner[];
  /** At most this many runners of ours at once, all kinds together. */
  maxRunners: number;
  archFilter: boolean;
  /** Jobs not to start runners for now, with the reason (see `JobBackoff`). */
  holdOff?: ReadonlyMap<number, string>;
}

const KIND_NAMES: Record<RunnerKind, string> = {
  cpu: "CPU",
  cuda: "NVIDIA GPU",
  rocm: "AMD GPU",
  openvino: "Intel accelerator",
};

/**
 * The kind of runner a job needs: the accelerator its labels ask for (`gpu` alone takes the
 * first the host has: NVIDIA, AMD, Intel), else a CPU runner.
 */
export function kindForLabels(labels: readonly string[], host: HostProfile): RunnerKind {
  const asked = (label: string) => labels.some((l) => l.toLowerCase() === label);
  if (asked("cuda")) return "cuda";
  if (asked("rocm")) return "rocm";
  if (asked("openvino") || asked("npu")) return "openvino";
  if (asked("gpu")) {
    const gpuKinds: RunnerKind[] = ["cuda", "rocm", "openvino"];
    return gpuKinds.find((kind) => host.kinds[kind] !== undefined) ?? "cpu";
  }
  return "cpu";
}

/** Takes the first spare runner registered to the job's repository or organization with all its labels. */
function takeCover(
  spare: Map<string, { runner: ManagedRunner; labels: Set<string> }[]>,
  job: QueuedJob,
): ManagedRunner | null {
  const byRepo = spare.get(job.repo);
  const byOrg = spare.get(job.repo.slice(0, job.repo.indexOf("/")));
  if (!byRepo?.length && !byOrg?.length) return null;
  const wanted = job.labels.map((label) => label.toLowerCase());
  for (const list of [byRepo, byOrg]) {
    const at = list?.findIndex((s) => wanted.every((label) => s.labels.has(label))) ?? -1;
    if (list && at >= 0) return list.splice(at, 1)[0]!.runner;
  }
  return null;
}

/** Oldest first; ties broken by repository and job id, so a plan never depends on input order. */
function byAge(a: QueuedJob, b: QueuedJob): number {
  return order(a.createdAt, b.createdAt) || order(a.repo, b.repo) || a.jobId - b.jobId;
}

function order(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Decides, with no I/O, what to do about the queued jobs: skip those this host must not run;
 * let an idle or starting runner of ours cover a job it can take (registered to the job's
 * repository or to its organization, with all its labels); start runners for the rest,
 * oldest first, while `maxRunners` and the per-kind capacity (one runner per GPU) allow.
 */
export function plan(input: PlanInput): Plan {
  const { host } = input;
  const inUse = input.runners.length;
  const kindInUse = new Map<RunnerKind, number>();
  for (const runner of input.runners) {
    const kind = kindForLabels(runner.labels, host);
    kindInUse.set(kind, (kindInUse.get(kind) ?? 0) + 1);
  }
  // Idle and starting runners by scope, each with its label set, to find a cover quickly.
  const spare = new Map<string, { runner: ManagedRunner; labels: Set<string> }[]>();
  for (
    const runner of input.runners.filter((r) => r.state !== "busy")
      .sort((a, b) => order(a.name, b.name))
  ) {
    const list = spare.get(runner.scope) ?? [];
    list.push({ runner, labels: new Set(runner.labels.map((l) => l.toLowerCase())) });
    spare.set(runner.scope, list);
  }
  const hostLabels = new Set(host.labels.map((l) => l.toLowerCase()));
  let started = 0;
  const decisions: JobDecision[] = [];
  const actions = new Map<string, StartAction>();

  for (const job of [...input.jobs].sort(byAge)) {
    const match = matchJob(job, host, input.archFilter, hostLabels);
    if (!match.compatible) {
      decisions.push({ job, decision: "skip", reason: match.reason, runnerKind: null });
      continue;
    }
    const runnerKind = kindForLabels(job.labels, host);
    const runner = takeCover(spare, job);
    if (runner) {
      decisions.push({
        job,
        decision: "wait",
        reason: `covered by ${runner?.state} runner ${runner?.name}`,
        runnerKind,
      });
      continue;
    }
    const held = input.holdOff?.get(job.jobId);
    if (held !== undefined) {
      decisions.push({ job, decision: "wait", reason: held, runnerKind });
      continue;
    }
    const kind = host.kinds[runnerKind];
    if (kind === undefined) {
      const reason = `this host has no ${KIND_NAMES[runnerKind]} for it`;
      decisions.push({ job, decision: "skip", reason, runnerKind: null });
      continue;
    }
    // The host has every label, but a runner gets only its kind's: a job asking for two kinds
    // (`cuda` and `openvino`) would get a runner every cycle that can never take it.
    const kindLabels = new Set(kind.labels.map((l) => l.toLowerCase()));
    const lacking = job.labels.filter((l) => !kindLabels.has(l.toLowerCase()));
    if (lacking.length > 0) {
      const article = runnerKind === "cpu" ? "a" : "an";
      const reason = `no runner of this host has all its labels: ${article} ` +
        `${KIND_NAMES[runnerKind]} runner lacks ${lacking.join(", ")}`;
      decisions.push({ job, decision: "skip", reason, runnerKind: null });
      continue;
    }
    const kindUsed = kindInUse.get(runnerKind) ?? 0;
    if (inUse + started >= input.maxRunners) {
      decisions.push({
        job,
        decision: "wait",
        reason: `no capacity: ${input.maxRunners} of ${input.maxRunners} runners in use ` +
          "(--max-runners)",
        runnerKind,
      });
      continue;
    }
    if (kindUsed >= kind.capacity) {
      decisions.push({
        job,
        decision: "wait",
        reason: `all ${kind.capacity} ${KIND_NAMES[runnerKind]}${kind.capacity > 1 ? "s" : ""} ` +
          "in use",
        runnerKind,
      });
      continue;
    }
    started++;
    kindInUse.set(runnerKind, kindUsed + 1);
    const key = `${job.repo}\n${runnerKind}`;
    const action = actions.get(key) ??
      { kind: "start", repo: job.repo, runnerKind, labels: kind.labels, count: 0, jobIds: [] };
    action.count++;
    action.jobIds.push(job.jobId);
    actions.set(key, action);
    decisions.push({
      job,
      decision: "provision",
      reason: `starting a ${KIND_NAMES[runnerKind]} runner for it`,
      runnerKind,
    });
  }
  return { decisions, actions: [...actions.values()] };
}
