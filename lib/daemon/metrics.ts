import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CycleResult } from "./cycle.ts";
import type { GitHub } from "../github/client.ts";
import { answerOf, headerNumber } from "../github/errors.ts";

/** The daemon's Prometheus metrics, and what `/healthz` answers from. */
export class Metrics {
  readonly registry = new Registry();
  readonly #jobs = new Gauge({
    name: "autoscaler_queued_jobs",
    help: "Queued jobs seen in the last cycle, by decision (provision, wait, skip)",
    labelNames: ["decision"],
    registers: [this.registry],
  });
  readonly #runners = new Gauge({
    name: "autoscaler_runners",
    help: "Runners of this host, by state",
    labelNames: ["state"],
    registers: [this.registry],
  });
  readonly starts = new Counter({
    name: "autoscaler_runner_starts_total",
    help: "Runners started",
    registers: [this.registry],
  });
  readonly startFailures = new Counter({
    name: "autoscaler_runner_start_failures_total",
    help: "Start actions that failed",
    registers: [this.registry],
  });
  readonly queuedToStarted = new Histogram({
    name: "autoscaler_job_queued_to_runner_started_seconds",
    help: "Time from a job being queued to its runner's container running",
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly #requests = new Counter({
    name: "autoscaler_api_requests_total",
    help: "Requests to GitHub, by answer status (304s cost no rate limit)",
    labelNames: ["status"],
    registers: [this.registry],
  });
  readonly #rateLimit = new Gauge({
    name: "autoscaler_rate_limit_remaining",
    help: "Requests left in GitHub's primary rate limit, from the last answer",
    registers: [this.registry],
  });
  readonly #cycle = new Histogram({
    name: "autoscaler_cycle_duration_seconds",
    help: "Wall time of one observe-plan-apply cycle",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #cycles = new Counter({
    name: "autoscaler_cycles_total",
    help: "Cycles, by outcome",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly updateChecks = new Counter({
    name: "autoscaler_update_checks_total",
    help: "Self-update checks, by outcome",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly webhooks = new Counter({
    name: "autoscaler_webhook_requests_total",
    help: "Webhook requests, by what was made of them",
    labelNames: ["result"],
    registers: [this.registry],
  });
  readonly cacheStarts = new Counter({
    name: "autoscaler_cache_starts_total",
    help: "Runners started with a cache, by whether it was there before (hit) or new (miss)",
    labelNames: ["result"],
    registers: [this.registry],
  });
  readonly cacheBytes = new Gauge({
    name: "autoscaler_cache_bytes",
    help: "Bytes of this host's runner caches, as last measured (each prune)",
    registers: [this.registry],
  });
  readonly scaleSetEvents = new Counter({
    name: "autoscaler_scale_set_job_events_total",
    help: "Job events the scale set listeners heard (JobAssigned, JobStarted, ...), by type",
    labelNames: ["type"],
    registers: [this.registry],
  });
  /** When the last cycle succeeded (ms since the epoch), for `/healthz`. */
  lastSuccess = 0;

  /** Counts every answer of a client by status and reads its rate-limit headers. */
  attach(github: GitHub): void {
    github.hook.wrap("request", async (request, options) => {
      try {
        const response = await request(options);
        this.#answered(answerOf(response));
        return response;
      } catch (error) {
        this.#answered(answerOf(error));
        throw error;
      }
    });
  }

  #answered({ status, headers }: ReturnType<typeof answerOf>): void {
    this.#requests.inc({ status: String(status) });
    const remaining = headerNumber(headers, "x-ratelimit-remaining");
    if (remaining !== null) this.#rateLimit.set(remaining);
  }

  /** The runners by state, as a scale set pass (`--mode scaleset`) counted them. */
  runnerStates(runners: Record<"starting" | "idle" | "busy", number>): void {
    for (const [state, count] of Object.entries(runners)) this.#runners.set({ state }, count);
  }

  /** A scale set's long poll was answered (`--mode scaleset`): for `/healthz`, a cycle. */
  polled(now: Date): void {
    this.lastSuccess = now.getTime();
  }

  /** Records a finished cycle (null: it failed) and how long it took. */
  cycle(result: CycleResult | null, seconds: number, now: Date): void {
    this.#cycle.observe(seconds);
    this.#cycles.inc({ outcome: result ? "ok" : "failed" });
    if (!result) return;
    this.lastSuccess = now.getTime();
    for (const decision of ["provision", "wait", "skip"]) {
      this.#jobs.set(
        { decision },
        result.plan.decisions.filter((d) => d.decision === decision).length,
      );
    }
    for (const state of ["starting", "idle", "busy"]) {
      this.#runners.set({ state }, result.runners.filter((r) => r.state === state).length);
    }
  }
}
