import { getLogger } from "@logtape/logtape";
import type { RunnerKind } from "../core/model.ts";
import { scaleSetDecision, type ScaleSetRunner, type ScaleSetSpec } from "../core/scale_set.ts";
import { describeError } from "../github/errors.ts";
import type { JobEvent, ScaleSetClient, ScaleSetStatistics } from "../github/scale_set_client.ts";
import type { RunnerBackend } from "../runners/backend.ts";
import type { Metrics } from "./metrics.ts";

const log = getLogger(["autoscaler", "scaleset"]);

/** How long a runner that exited counts against a job GitHub has not yet said is over. */
const LIMBO_MS = 60_000;

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

/**
 * Turns what the listeners hear into runners, one pass at a time (listeners and the clean-up
 * timer never overlap): each scale set gets a runner per job GitHub assigned it and no more
 * (`scaleSetDecision`); runners whose containers exited are removed with their registrations.
 * What GitHub said of each runner (`JobStarted`, `JobCompleted`) is kept here, since the
 * containers do not know it.
 */
export class ScaleSetScaler {
  readonly #ids = new Map<RunnerKind, number>();
  readonly #assigned = new Map<RunnerKind, number>();
  readonly #busy = new Set<string>();
  /** Runners whose job completed: their containers are on their way out. */
  readonly #done = new Set<string>();
  /**
   * Runners whose containers exited before GitHub said their job completed (messages lag the
   * runners): each still counts against its job until `JobCompleted` or `LIMBO_MS`, or the
   * next pass would start a runner for a job that is over.
   */
  readonly #limbo = new Map<string, { kind: RunnerKind; since: number }>();
  /** When each assigned job was queued, oldest first, for the queued-to-started metric. */
  readonly #queued = new Map<RunnerKind, number[]>();
  #serial: Promise<void> = Promise.resolve();

  constructor(private deps: ScalerDeps, private settings: ScalerSettings) {}

  /** The scale set of `kind` is now `id` (made anew after GitHub deleted the last one). */
  track(kind: RunnerKind, id: number): void {
    this.#ids.set(kind, id);
  }

  /**
   * What a listener heard: GitHub's counts for its scale set (null after an empty poll: the
   * last ones hold) and the job events of a message; then a pass.
   */
  assigned(kind: RunnerKind, statistics: ScaleSetStatistics | null, jobs: JobEvent[]) {
    if (statistics) this.#assigned.set(kind, statistics.totalAssignedJobs);
    for (const job of jobs) {
      const runner = job.runnerName ?? "";
      if (job.messageType === "JobAssigned") {
        const queued = this.#queued.get(kind) ?? [];
        queued.push(Date.parse(job.queueTime));
        this.#queued.set(kind, queued);
      } else if (job.messageType === "JobStarted" && runner) this.#busy.add(runner);
      else if (job.messageType === "JobCompleted" && runner) {
        this.#busy.delete(runner);
        if (!this.#limbo.delete(runner)) this.#done.add(runner);
      }
      this.deps.metrics?.scaleSetEvents.inc({ type: job.messageType });
    }
    return this.pass();
  }

  /** Removes what exited, retires what no job is left for, starts what jobs are waiting for. */
  pass(): Promise<void> {
    this.#serial = this.#serial.then(() => this.#pass()).catch((error) => {
      log.error("Could not scale the runners of the scale sets: {error}", {
        error: describeError(error),
      });
    });
    return this.#serial;
  }

  async #pass(): Promise<void> {
    const { backend, now } = this.deps;
    const containers = await backend.containers() ?? [];
    const live = containers.filter((c) => !["exited", "dead"].includes(c.state));
    for (const c of containers.filter((c) => !live.includes(c))) {
      await this.#removeExited(c.id, c.labels["runner-name"] ?? "", c.labels["runner-id"]);
      if (
        c.labels["scale-set"] !== undefined && !this.#done.delete(c.labels["runner-name"] ?? "")
      ) {
        this.#limbo.set(c.labels["runner-name"] ?? "", {
          kind: c.labels.kind as RunnerKind,
          since: now().getTime(),
        });
      }
    }
    for (const [name, { since }] of this.#limbo) {
      if (now().getTime() - since > LIMBO_MS) this.#limbo.delete(name);
    }
    let hostFree = this.settings.maxRunners - live.length;
    const counts = { starting: 0, busy: 0 };
    for (const spec of this.settings.specs) {
      const id = this.#ids.get(spec.kind);
      if (id === undefined) continue;
      const runners: (ScaleSetRunner & { containerId: string; runnerId: number })[] = live
        .filter((c) =>
          c.labels["scale-set"] !== undefined && c.labels.kind === spec.kind &&
          !this.#done.has(c.labels["runner-name"] ?? "")
        )
        .map((c) => ({
          name: c.labels["runner-name"] ?? "",
          busy: this.#busy.has(c.labels["runner-name"] ?? ""),
          createdAt: Date.parse(c.createdAt),
          containerId: c.id,
          runnerId: Number(c.labels["runner-id"]),
        }));
      const assigned = this.#assigned.get(spec.kind) ?? 0;
      const exiting = [...this.#limbo.values()].filter((l) => l.kind === spec.kind).length;
      const decision = scaleSetDecision({
        assigned: Math.max(0, assigned - exiting),
        runners,
        capacity: spec.capacity,
        hostFree,
        now: now().getTime(),
        idleMs: this.settings.idleTimeoutMs,
      });
      for (const name of decision.retire) {
        const runner = runners.find((r) => r.name === name)!;
        await this.#retire(runner.name, runner.runnerId, runner.containerId);
      }
      const busy = runners.filter((r) => r.busy).length;
      counts.busy += busy;
      counts.starting += runners.length - busy - decision.retire.length;
      if (decision.start === 0 || this.deps.signal.aborted) continue;
      const started = await this.#start(spec, id, decision.start);
      counts.starting += started;
      hostFree -= started;
      log.info("Scale set {name}: {assigned} jobs assigned, {runners} runners; started {started}", {
        name: spec.name,
        assigned,
        runners: runners.length - decision.retire.length + started,
        started,
      });
    }
    this.deps.metrics?.listened({ ...counts, idle: 0 }, now());
  }

  async #start(spec: ScaleSetSpec, scaleSetId: number, count: number): Promise<number> {
    const { backend, metrics, signal, now } = this.deps;
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
      metrics?.starts.inc(names.length);
      const queued = this.#queued.get(spec.kind) ?? [];
      for (const at of queued.splice(0, names.length)) {
        if (!Number.isNaN(at)) metrics?.queuedToStarted.observe((now().getTime() - at) / 1000);
      }
      return names.length;
    } catch (error) {
      metrics?.startFailures.inc();
      log.error("Could not start runners for scale set {name}: {error}", {
        name: spec.name,
        error: describeError(error),
      });
      return 0;
    }
  }

  /** A runner that exited: its registration (if it never took a job) and its container go. */
  async #removeExited(containerId: string, name: string, runnerId: string | undefined) {
    try {
      if (runnerId && !this.#done.has(name)) await this.deps.client.deleteRunner(Number(runnerId));
      await this.deps.backend.remove(containerId);
      log.info("Removed the container of runner {name}: its runner exited", { name });
      this.#busy.delete(name);
    } catch (error) {
      log.warn("Could not remove runner {name}: {error}", { name, error: describeError(error) });
    }
  }

  /** An idle runner with no job left for it: registration first, so a busy one is kept. */
  async #retire(name: string, runnerId: number, containerId: string) {
    try {
      const outcome = await this.deps.client.deleteRunner(runnerId);
      if (outcome === "busy") {
        this.#busy.add(name);
        return;
      }
      await this.deps.backend.remove(containerId);
      log.info("Retired runner {name}: no job of its scale set is left for it", { name });
    } catch (error) {
      log.warn("Could not retire runner {name}: {error}", { name, error: describeError(error) });
    }
  }
}
