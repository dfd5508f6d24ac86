import { getLogger } from "@logtape/logtape";
import { type CycleDeps, type CycleResult, type CycleSettings, runCycle } from "./cycle.ts";
import { type RateBudget, RateLimited } from "../github/budget.ts";
import { AuthError, describeError } from "../github/errors.ts";
import type { Metrics } from "./metrics.ts";
import { Waker } from "./waker.ts";

const log = getLogger(["autoscaler", "loop"]);

/** Every this many cycles all watched repositories' runner lists are read (and at start). */
export const SWEEP_EVERY = 30;

/** How the loop paces itself. */
export interface LoopOptions {
  intervalMs: number;
  /** Run one cycle and return. */
  once: boolean;
  /** Stops the loop between cycles (SIGTERM, the end of a demo). */
  signal: AbortSignal;
  /** Called after each cycle; returning false ends the loop. */
  afterCycle?: (result: CycleResult | null, cycle: number) => boolean | Promise<boolean>;
  /** Cuts the wait between cycles short (a webhook). */
  waker?: Waker;
  metrics?: Metrics;
  /** Stretches the interval when the rate limit would not last until its reset. */
  budget?: RateBudget;
}

/**
 * Observe, plan, apply, wait; until `signal` aborts. A cycle that fails (a bad token, GitHub
 * unreachable) is logged once and the next cycle tries again; one stopped by the rate limit
 * waits for its reset. Returns the last cycle's error, or null when it succeeded.
 */
export async function runLoop(
  deps: CycleDeps,
  settings: CycleSettings,
  options: LoopOptions,
): Promise<unknown> {
  let failure: unknown = null;
  const waker = options.waker ?? new Waker();
  let stretched = false;
  for (let cycle = 1; !options.signal.aborted; cycle++) {
    let result: CycleResult | null = null;
    failure = null;
    const started = performance.now();
    const spentBefore = options.budget?.spent ?? 0;
    let wait = options.intervalMs;
    try {
      // The first cycle, and every `SWEEP_EVERY`-th, reads every repository's runners.
      result = await runCycle(deps, settings, (cycle - 1) % SWEEP_EVERY === 0);
    } catch (error) {
      failure = error;
      if (options.signal.aborted) {
        log.info("Cycle {cycle} cut short: {reason}", {
          cycle,
          reason: (options.signal.reason as Error | undefined)?.message ?? "stopped",
        });
      } else if (error instanceof AuthError) log.error("{message}", { message: error.message });
      else if (error instanceof RateLimited) {
        wait = Math.max(wait, error.resetAt.getTime() - deps.now().getTime());
        log.warn("{message}; the next cycle waits for it", { message: error.message });
      } else log.error("Cycle {cycle} failed: {error}", { cycle, error: describeError(error) });
    }
    options.metrics?.cycle(result, (performance.now() - started) / 1000, deps.now());
    if (options.afterCycle && !(await options.afterCycle(result, cycle))) break;
    if (options.once) break;
    let rateLimited = failure instanceof RateLimited;
    // The first cycle fills the ETag cache and reads every runner list: what it spends says
    // nothing about what later cycles cost, so pacing starts from the second.
    if (options.budget && result && cycle > 1) {
      const paced = options.budget.interval(wait, options.budget.spent - spentBefore, deps.now());
      if (paced > wait && !stretched) {
        log.warn(
          "Stretching the poll interval to {seconds} s: {remaining} requests left until " +
            "{reset}, and a cycle spends {spent}",
          {
            seconds: Math.round(paced / 1000),
            remaining: options.budget.remaining,
            reset: options.budget.resetAt?.toISOString(),
            spent: options.budget.spent - spentBefore,
          },
        );
      }
      stretched = paced > wait;
      rateLimited ||= stretched;
      wait = paced;
    }
    // A webhook must not cut a rate-limit wait short: the cycle it starts would spend what the
    // wait saves. Polling-interval waits end at once on a webhook.
    await waker.wait(wait, options.signal, !rateLimited);
  }
  return failure;
}
