import { getLogger } from "@logtape/logtape";
import type { ManagedContainer, RunnerKind } from "../core/model.ts";
import { scaleSetDecision, type ScaleSetRunner, type ScaleSetSpec } from "../core/scale_set.ts";
import { describeError } from "../github/errors.ts";
import type { JobEvent, ScaleSetClient, ScaleSetStatistics } from "../github/scale_set_client.ts";
import type { RunnerBackend } from "../runners/backend.ts";
import type { Metrics } from "./metrics.ts";

const log = getLogger(["autoscaler", "scaleset"]);

/** How long a runner that exited counts against a job GitHub has not yet said is over. */
const LIMBO_MS = 60_000;

/** How soon a pass that had to hold starts back (a runner still ending) is made again. */
const AGAIN_MS = 1000;

/** What the scaler works with. */
export interface ScalerDeps {
  backend: RunnerBackend;
  client: ScaleSetClient;
  now: () => Date;
  /** Stops starting runners (SIGTERM). */
  signal: AbortSignal;
  metrics?: Metrics;
}

/** What it scales. */
export interface ScalerSettings {
  org: string;
  specs: ScaleSetSpec[];
  /** At most this many runners of ours at once, all kinds (and leftovers of `--mode poll`). */
  maxRunners: number;
  /** An idle runner no job is left for is retired after this long. */
  idleTimeoutMs: number;
}

/** A live runner of a scale set, with what retiring it takes. */
type Live = ScaleSetRunner & { containerId: string; runnerId: number };

/**
 * Turns what the listeners hear into runners, one pass at a time, a pass asked for while one is
 * waiting being that one: each scale set gets a runner per job GitHub assigned it and no more
 * (`scaleSetDecision`); runners whose containers exited are removed with their registrations.
 * What GitHub said of each runner (`JobStarted`, `JobCompleted`) is kept here, since the
 * containers do not know it. A listener does not wait for a pass (a `docker run`, or an image
 * pull, would hold its long poll up).
 */
export class ScaleSetScaler {
  readonly #ids = new Map<RunnerKind, number>();
  readonly #assigned = new Map<RunnerKind, number>();
  readonly #busy = new Set<string>();
  /** Runners whose job completed (and since when): their containers are on their way out. */
  readonly #done = new Map<string, number>();
  /**
   * Runners whose containers exited before GitHub said their job completed (messages lag the
   * runners): each still counts against its job until `JobCompleted` or `LIMBO_MS`, or the
   * next pass would start a runner for a job that is over.
   */
  readonly #limbo = new Map<string, { kind: RunnerKind; since: number }>();
  /**
   * The runners this run has seen running: only one of those may have taken a job GitHub has
   * not yet said is over (GitHub's counts at a session's start leave out what ended before).
   */
  #seen = new Set<string>();
  /** When each assigned job not yet started was queued, per kind, for the metric. */
  readonly #queued = new Map<RunnerKind, Map<number, number>>();
  #serial: Promise<void> = Promise.resolve();
  #waiting: Promise<void> | null = null;
  #again: ReturnType<typeof setTimeout> | null = null;

  constructor(private deps: ScalerDeps, private settings: ScalerSettings) {}

  /** The scale set of `kind` is now `id` (made anew after GitHub deleted the last one). */
  track(kind: RunnerKind, id: number): void {
    this.#ids.set(kind, id);
  }

  /**
   * What a listener heard: GitHub's counts for its scale set (null after an empty poll: the
   * last ones hold) and the job events of a message. Taken at once; the pass it asks for runs
   * in turn (the promise it returns).
   */
  assigned(kind: RunnerKind, statistics: ScaleSetStatistics | null, jobs: JobEvent[]) {
    if (statistics) this.#assigned.set(kind, statistics.totalAssignedJobs);
    const queued = this.#queued.get(kind) ?? new Map<number, number>();
    this.#queued.set(kind, queued);
    for (const job of jobs) {
      const runner = job.runnerName ?? "";
      // A job that ends with no runner of ours started for it (cancelled, or handed to another
      // scale set) is no longer waited for.
      if (job.messageType === "JobAssigned") {
        queued.set(job.runnerRequestId, Date.parse(job.queueTime));
      } else if (job.messageType === "JobCompleted") queued.delete(job.runnerRequestId);
      if (job.messageType === "JobStarted" && runner) this.#busy.add(runner);
      else if (job.messageType === "JobCompleted" && runner) {
        this.#busy.delete(runner);
        if (!this.#limbo.delete(runner)) this.#done.set(runner, this.deps.now().getTime());
      }
      this.deps.metrics?.scaleSetEvents.inc({ type: job.messageType });
      log.debug("{type} for job {job} ({runner}) of {kind} runners", {
        type: job.messageType,
        job: job.runnerRequestId,
        runner: runner || "no runner",
        kind,
      });
    }
    return this.pass();
  }

  /** Removes what exited, retires what no job is left for, starts what jobs are waiting for. */
  pass(): Promise<void> {
    this.#waiting ??= this.#serial.then(() => {
      this.#waiting = null;
      return this.#pass();
    }).catch((error) => {
      log.error("Could not scale the runners of the scale sets: {error}", {
        error: describeError(error),
      });
    });
    this.#serial = this.#waiting;
    return this.#waiting;
  }

  /** How many live runners of ours the scale set `id` has. */
  async runnersOf(id: number): Promise<number> {
    const containers = await this.deps.backend.containers() ?? [];
    return containers.filter((c) =>
      c.labels["scale-set"] === String(id) && !["exited", "dead"].includes(c.state)
    ).length;
  }

  /** Ends the passes to come; resolves once the one under way is done. */
  async stop(): Promise<void> {
    if (this.#again !== null) clearTimeout(this.#again);
    this.#again = null;
    await this.#serial;
  }

  async #pass(): Promise<void> {
    const { backend, now } = this.deps;
    const containers = await backend.containers() ?? [];
    const live = containers.filter((c) => !["exited", "dead"].includes(c.state));
    for (const c of containers.filter((c) => !live.includes(c))) await this.#removeExited(c);
    const names = new Set(live.map((c) => c.labels["runner-name"] ?? ""));
    this.#seen = names;
    for (const name of this.#done.keys()) if (!names.has(name)) this.#done.delete(name);
    for (const [name, { since }] of this.#limbo) {
      if (now().getTime() - since > LIMBO_MS) this.#limbo.delete(name);
    }
    await this.#retireStrays(live);
    let hostFree = this.settings.maxRunners - live.length;
    // A runner whose job is done still ends (for a while: one that hangs is not waited on).
    const held = [...this.#done.values()].some((since) => now().getTime() - since < LIMBO_MS);
    let failed = false;
    const counts = { starting: 0, busy: 0 };
    for (const spec of this.settings.specs) {
      const id = this.#ids.get(spec.kind);
      if (id === undefined) continue;
      const runners = live.filter((c) =>
        c.labels["scale-set"] === String(id) && !this.#done.has(c.labels["runner-name"] ?? "")
      ).map((c) => this.#live(c));
      const assigned = this.#assigned.get(spec.kind) ?? 0;
      const exiting = [...this.#limbo.values()].filter((l) => l.kind === spec.kind).length;
      const decision = scaleSetDecision({
        assigned: assigned - exiting,
        runners,
        capacity: spec.capacity,
        hostFree,
        now: now().getTime(),
        idleMs: this.settings.idleTimeoutMs,
      });
      for (const name of decision.retire) await this.#retire(runners.find((r) => r.name === name)!);
      const busy = runners.filter((r) => r.busy).length;
      counts.busy += busy;
      counts.starting += runners.length - busy - decision.retire.length;
      const started = decision.start > 0 && !this.deps.signal.aborted
        ? await this.#start(spec, id, decision.start)
        : 0;
      failed ||= started < decision.start;
      counts.starting += started;
      hostFree -= started;
      if (started > 0) {
        log.info(
          "Scale set {name}: {assigned} jobs assigned, {runners} runners; started {started}",
          {
            name: spec.name,
            assigned,
            runners: runners.length - decision.retire.length + started,
            started,
          },
        );
      }
    }
    this.deps.metrics?.runnerStates({ ...counts, idle: 0 });
    // A runner whose job is done is ending, and a job may wait for its place: look again soon,
    // not at the next message, which GitHub sends only when something happens. A start that
    // failed waits for that, or for the interval, rather than being tried every second; so does
    // a job waiting for a place another container holds.
    if (held && !failed && !this.deps.signal.aborted) {
      this.#again ??= setTimeout(() => {
        this.#again = null;
        this.pass();
      }, AGAIN_MS);
    }
  }

  #live(c: ManagedContainer): Live {
    const name = c.labels["runner-name"] ?? "";
    return {
      name,
      busy: this.#busy.has(name),
      createdAt: Date.parse(c.createdAt),
      containerId: c.id,
      runnerId: Number(c.labels["runner-id"]),
    };
  }

  /**
   * Runners of a scale set this host no longer has (GitHub deleted it, or it was made anew):
   * they can take no job of the new one, so the idle ones go after the idle timeout.
   */
  async #retireStrays(live: ManagedContainer[]): Promise<void> {
    const current = new Set([...this.#ids.values()].map(String));
    const tracked = new Set(this.#ids.keys());
    const strays = live.filter((c) =>
      c.labels["scale-set"] !== undefined && tracked.has(c.labels.kind as RunnerKind) &&
      !current.has(c.labels["scale-set"])
    ).map((c) => this.#live(c));
    for (const runner of strays) {
      if (
        !runner.busy && this.deps.now().getTime() - runner.createdAt >= this.settings.idleTimeoutMs
      ) {
        await this.#retire(runner);
      }
    }
  }

  async #start(spec: ScaleSetSpec, scaleSetId: number, count: number): Promise<number> {
    const { backend, metrics, signal, now } = this.deps;
    // The jobs waiting longest are the ones these runners are for, as far as the metric goes:
    // taken before the start, which events may overtake.
    const queued = this.#queued.get(spec.kind) ?? new Map<number, number>();
    const waiting = [...queued].sort((a, b) => a[1] - b[1]).slice(0, count);
    for (const [jobId] of waiting) queued.delete(jobId);
    let started = 0;
    try {
      const names = await backend.start({
        kind: "start",
        scope: this.settings.org,
        repo: null,
        runnerKind: spec.kind,
        labels: spec.labels,
        count,
        jobIds: [],
        scaleSetId,
      }, signal);
      started = names.length;
      for (const name of names) this.#seen.add(name);
      metrics?.starts.inc(started);
      for (const [, at] of waiting.slice(0, started)) {
        if (!Number.isNaN(at)) metrics?.queuedToStarted.observe((now().getTime() - at) / 1000);
      }
    } catch (error) {
      metrics?.startFailures.inc();
      log.error("Could not start runners for scale set {name}: {error}", {
        name: spec.name,
        error: describeError(error),
      });
    }
    for (const [jobId, at] of waiting.slice(started)) queued.set(jobId, at);
    return started;
  }

  /** A runner that exited: its registration (if it never took a job) and its container go. */
  async #removeExited(c: ManagedContainer): Promise<void> {
    const name = c.labels["runner-name"] ?? "";
    const done = this.#done.has(name);
    try {
      if (!done && c.labels["runner-id"]) {
        await this.deps.client.deleteRunner(Number(c.labels["runner-id"]));
      }
      await this.deps.backend.remove(c.id);
      if (done) log.info("Removed the container of runner {name}: its job is done", { name });
      else {
        log.info("Removed the container of runner {name}: it exited (code {code})", {
          name,
          code: c.exitCode,
        });
      }
      this.#busy.delete(name);
      // GitHub may have said the job completed while this was under way.
      const completed = this.#done.delete(name);
      if (!completed && c.labels["scale-set"] !== undefined && this.#seen.has(name)) {
        this.#limbo.set(name, {
          kind: c.labels.kind as RunnerKind,
          since: this.deps.now().getTime(),
        });
      }
    } catch (error) {
      log.warn("Could not remove runner {name}: {error}", { name, error: describeError(error) });
    }
  }

  /** An idle runner with no job left for it: registration first, so a busy one is kept. */
  async #retire(runner: Live): Promise<void> {
    const { name } = runner;
    try {
      if ((await this.deps.client.deleteRunner(runner.runnerId)) === "busy") {
        this.#busy.add(name);
        return;
      }
      await this.deps.backend.remove(runner.containerId);
      log.info("Retired runner {name}: no job of its scale set is left for it", { name });
    } catch (error) {
      log.warn("Could not retire runner {name}: {error}", { name, error: describeError(error) });
    }
  }
}
