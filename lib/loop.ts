import { getLogger } from "@logtape/logtape";
import { type CycleDeps, type CycleResult, type CycleSettings, runCycle } from "./cycle.ts";
import { AuthError, describeError } from "./github/errors.ts";

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
}

/**
 * Observe, plan, apply, wait; until `signal` aborts. A cycle that fails (a bad token, GitHub
 * unreachable) is logged once and the next cycle tries again. Returns the last cycle's error,
 * or null when it succeeded.
 */
export async function runLoop(
  deps: CycleDeps,
  settings: CycleSettings,
  options: LoopOptions,
): Promise<unknown> {
  let failure: unknown = null;
  for (let cycle = 1; !options.signal.aborted; cycle++) {
    let result: CycleResult | null = null;
    failure = null;
    try {
      // The first cycle, and every `sweepEvery`-th, reads every repository's runners.
      result = await runCycle(deps, settings, (cycle - 1) % SWEEP_EVERY === 0);
    } catch (error) {
      failure = error;
      if (error instanceof AuthError) log.error("{message}", { message: error.message });
      else log.error("Cycle {cycle} failed: {error}", { cycle, error: describeError(error) });
    }
    if (options.afterCycle && !(await options.afterCycle(result, cycle))) break;
    if (options.once) break;
    await sleep(options.intervalMs, options.signal);
  }
  return failure;
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
