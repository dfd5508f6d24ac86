import { type Match, matchLabels, matchNames, type WorkflowVerdicts } from "./match.ts";
import {
  type ManagedRunner,
  type QueuedJob,
  type RunnerKind,
  type RunnerScope,
  scopeFor,
} from "./model.ts";
import type { RunnerArch } from "../system/arch.ts";
import { type Reclaim, type Starved, type WarmPool, warmPool } from "./warm_pool.ts";

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

/** Start `count` runners of one kind in one scope, for jobs of one repository or for the pool. */
export interface StartAction {
  kind: "start";
  /** Where they are registered: the jobs' repository or its organization. */
  scope: string;
  /** The jobs' repository; null for warm-pool runners, which wait for any job of the scope. */
  repo: string | null;
  runnerKind: RunnerKind;
  labels: string[];
  count: number;
  /** The jobs these runners are started for, oldest first; empty for the pool. */
  jobIds: number[];
  /** The runner scale set they are for (`run --mode scaleset`), which registers them. */
  scaleSetId?: number;
}

/** Whom a start action's runners are for, for the log. */
export function startTarget(action: StartAction): string {
  if (action.repo !== null) return action.repo;
  return action.scaleSetId === undefined
    ? `the warm pool of ${action.scope}`
    : `scale set ${action.scaleSetId} of ${action.scope}`;
}

/** What a cycle should do, and why for every job. */
export interface Plan {
  decisions: JobDecision[];
  actions: StartAction[];
  reclaims: Reclaim[];
  /** The jobs waiting for a place (all runners, or their kind's devices, in use). */
  waiting: number[];
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
  runnerScope: RunnerScope;
  pool?: WarmPool;
  /** Jobs not to start runners for now, with the reason (see `JobBackoff`). */
  holdOff?: ReadonlyMap<number, string>;
  /**
   * The jobs that have waited for a place for a while (`Plan.waiting` of earlier plans): only
   * those reclaim an idle runner, so one look that may be out of date retires nothing. Without
   * it (one look, as `plan` takes) any waiting job does.
   */
  waitedBefore?: ReadonlySet<number>;
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

/** An idle or starting runner of ours, with what a job needs to know to take it. */
export interface Spare {
  runner: ManagedRunner;
  labels: Set<string>;
  kind: RunnerKind;
}

/**
 * Takes the first spare runner of the job's kind registered to its repository or organization
 * with all its labels. A GPU runner has every label of a CPU one, but is not counted on for a
 * CPU job: it is there for GPU work (GitHub may still hand it the CPU job).
 */
function takeCover(
  spare: Map<string, Spare[]>,
  job: QueuedJob,
  verdict: LabelVerdict,
): ManagedRunner | null {
  const byRepo = spare.get(job.repo);
  const byOrg = spare.get(job.repo.slice(0, job.repo.indexOf("/")));
  if (!byRepo?.length && !byOrg?.length) return null;
  const { lowered, runnerKind } = verdict;
  // Plain loops: this runs for every queued job in every cycle.
  for (const list of [byRepo, byOrg]) {
    if (list === undefined) continue;
    for (let at = 0; at < list.length; at++) {
      const s = list[at]!;
      if (s.kind !== runnerKind) continue;
      let all = true;
      for (const label of lowered) {
        if (!s.labels.has(label)) {
          all = false;
          break;
        }
      }
      if (all) return list.splice(at, 1)[0]!.runner;
    }
  }
  return null;
}

interface TrieNode<T> {
  next: Map<string, TrieNode<T>>;
  value?: T;
}

/** Values kept per list of labels, found label by label: no key string is built per job. */
class LabelTrie<T> {
  #root: TrieNode<T> = { next: new Map() };

  /** The value for `labels`, made by `make` the first time. */
  get(labels: readonly string[], make: () => T): T {
    let node = this.#root;
    for (const label of labels) {
      let next = node.next.get(label);
      if (next === undefined) node.next.set(label, next = { next: new Map() });
      node = next;
    }
    if (!("value" in node)) node.value = make();
    return node.value as T;
  }
}

/** What a job's labels alone decide, computed once per distinct set of labels. */
interface LabelVerdict {
  /** GitHub's label rule, and whether a label names an architecture. */
  match: Match & { namesArch: boolean };
  lowered: string[];
  runnerKind: RunnerKind;
  /** Why this host starts no runner for such a job, or null. */
  unfit: string | null;
  /** The reasons of a job started for, or waiting for a device of, its kind. */
  starting: string;
  kindFull: string;
}

function labelVerdict(labels: readonly string[], host: HostProfile, hostLabels: Set<string>) {
  const runnerKind = kindForLabels(labels, host);
  const kind = host.kinds[runnerKind];
  let unfit: string | null = null;
  if (kind === undefined) unfit = `this host has no ${KIND_NAMES[runnerKind]} for it`;
  else {
    // The host has every label, but a runner gets only its kind's: a job asking for two kinds
    // (`cuda` and `openvino`) would get a runner every cycle that can never take it.
    const kindLabels = new Set(kind.labels.map((l) => l.toLowerCase()));
    const lacking = labels.filter((l) => !kindLabels.has(l.toLowerCase()));
    if (lacking.length > 0) {
      const article = runnerKind === "cpu" ? "a" : "an";
      unfit = `no runner of this host has all its labels: ${article} ` +
        `${KIND_NAMES[runnerKind]} runner lacks ${lacking.join(", ")}`;
    }
  }
  const capacity = kind?.capacity ?? 0;
  return {
    match: matchLabels(labels, hostLabels),
    lowered: labels.map((l) => l.toLowerCase()),
    runnerKind,
    unfit,
    starting: `starting a ${KIND_NAMES[runnerKind]} runner for it`,
    kindFull: `all ${capacity} ${KIND_NAMES[runnerKind]}${capacity > 1 ? "s" : ""} in use`,
  };
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
 * oldest first, while `maxRunners` and the per-kind capacity (one runner per GPU) allow. Then
 * the warm pool: a job still waiting for capacity reclaims an idle or starting runner that
 * cannot take it, and what capacity is left tops each pool scope up to its `minIdle`.
 */
export function plan(input: PlanInput): Plan {
  const { host } = input;
  const inUse = input.runners.length;
  const kindInUse = new Map<RunnerKind, number>();
  const spare = new Map<string, Spare[]>();
  const runnerKinds = new LabelTrie<RunnerKind>();
  const kindOf = (runner: ManagedRunner) =>
    runnerKinds.get(runner.labels, () => kindForLabels(runner.labels, host));
  for (const runner of input.runners) {
    const kind = kindOf(runner);
    kindInUse.set(kind, (kindInUse.get(kind) ?? 0) + 1);
  }
  // Idle and starting runners by scope, each with its label set, to find a cover quickly.
  for (
    const runner of input.runners.filter((r) => r.state !== "busy")
      .sort((a, b) => order(a.name, b.name))
  ) {
    const list = spare.get(runner.scope) ?? [];
    const labels = new Set(runner.labels.map((l) => l.toLowerCase()));
    list.push({ runner, labels, kind: kindOf(runner) });
    spare.set(runner.scope, list);
  }
  const hostLabels = new Set(host.labels.map((l) => l.toLowerCase()));
  const verdicts = new LabelTrie<LabelVerdict>();
  const workflows: WorkflowVerdicts = new Map();
  // Reasons shared by many jobs are made once.
  const full = `no capacity: ${input.maxRunners} of ${input.maxRunners} runners in use ` +
    "(--max-runners)";
  let started = 0;
  const decisions: JobDecision[] = [];
  const actions = new Map<string, StartAction>();
  const starved: Starved[] = [];

  for (const job of [...input.jobs].sort(byAge)) {
    const verdict = verdicts.get(job.labels, () => labelVerdict(job.labels, host, hostLabels));
    const refusal = !verdict.match.compatible
      ? verdict.match
      : input.archFilter && !verdict.match.namesArch
      ? matchNames(job, host.arch, workflows)
      : null;
    if (refusal !== null) {
      decisions.push({ job, decision: "skip", reason: refusal.reason, runnerKind: null });
      continue;
    }
    const { runnerKind } = verdict;
    const runner = takeCover(spare, job, verdict);
    if (runner) {
      decisions.push({
        job,
        decision: "wait",
        reason: `covered by ${runner.state} runner ${runner.name}`,
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
    if (kind === undefined || verdict.unfit !== null) {
      decisions.push({ job, decision: "skip", reason: verdict.unfit ?? "", runnerKind: null });
      continue;
    }
    const kindUsed = kindInUse.get(runnerKind) ?? 0;
    const noRoom = inUse + started >= input.maxRunners;
    const noDevice = kindUsed >= kind.capacity;
    if (noRoom || noDevice) {
      // A job held by its kind's devices waits for one of them, whatever else frees up.
      starved.push({ jobId: job.jobId, kind: noDevice ? runnerKind : null });
      decisions.push({
        job,
        decision: "wait",
        reason: noRoom ? full : verdict.kindFull,
        runnerKind,
      });
      continue;
    }
    started++;
    kindInUse.set(runnerKind, kindUsed + 1);
    const actionKey = `${job.repo}\n${runnerKind}`;
    const action = actions.get(actionKey) ?? {
      kind: "start",
      scope: scopeFor(job.repo, input.runnerScope),
      repo: job.repo,
      runnerKind,
      labels: kind.labels,
      count: 0,
      jobIds: [],
    };
    action.count++;
    action.jobIds.push(job.jobId);
    actions.set(actionKey, action);
    decisions.push({
      job,
      decision: "provision",
      reason: verdict.starting,
      runnerKind,
    });
  }
  const left = [...spare.values()].flat();
  const pool = warmPool({
    host,
    spares: left,
    starved: input.waitedBefore ? starved.filter((s) => input.waitedBefore!.has(s.jobId)) : starved,
    pool: input.pool,
    room: input.maxRunners - inUse - started,
    kindInUse,
  });
  return {
    decisions,
    actions: [...actions.values(), ...pool.actions],
    reclaims: pool.reclaims,
    waiting: starved.map((s) => s.jobId),
  };
}
