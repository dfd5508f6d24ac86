import { getLogger } from "@logtape/logtape";
import type { ManagedContainer } from "../core/model.ts";
import { type StartAction, startTarget } from "../core/plan.ts";

/** Where runners are started: Docker for real, or stand-ins that start nothing real. */
export interface RunnerBackend {
  /**
   * Our containers, or null for a backend that has none (the dry run, the demo): then nothing
   * is reconciled, and runner states come from GitHub alone.
   */
  containers(): Promise<ManagedContainer[] | null>;
  /** Starts the runners of one action and returns their names; stops early once `signal` aborts. */
  start(action: StartAction, signal: AbortSignal): Promise<string[]>;
  /** Stops and removes one of our containers. */
  remove(containerId: string): Promise<void>;
  /**
   * Gets ready for starts without holding the cycle up (the runner image pulled before the
   * first job needs it); called at the daemon's start and now and then after.
   */
  prepare?(): void;
}

const log = getLogger(["autoscaler", "runners"]);

/** `--dry-run`: starts nothing, logs what it would start. */
export class DryRunBackend implements RunnerBackend {
  containers(): Promise<null> {
    return Promise.resolve(null);
  }

  start(action: StartAction): Promise<string[]> {
    log.info(
      "Dry run: would start {count} {runnerKind} runner(s) for {what} with labels {labels}",
      {
        count: action.count,
        runnerKind: action.runnerKind,
        what: startTarget(action),
        labels: action.labels.join(","),
      },
    );
    return Promise.resolve([]);
  }

  remove(): Promise<void> {
    return Promise.resolve();
  }
}
