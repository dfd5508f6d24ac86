import { getLogger } from "@logtape/logtape";
import type { StartAction } from "./plan.ts";

/** Where runners are started: Docker for real, or a stand-in that only says what it would do. */
export interface RunnerBackend {
  /** Starts the runners of one action; returns the names of those it started. */
  start(action: StartAction): Promise<string[]>;
}

const log = getLogger(["autoscaler", "runners"]);

/** `--dry-run`: starts nothing, logs what it would start. */
export class DryRunBackend implements RunnerBackend {
  start(action: StartAction): Promise<string[]> {
    log.info(
      "Dry run: would start {count} {runnerKind} runner(s) for {repo} with labels {labels}",
      {
        count: action.count,
        runnerKind: action.runnerKind,
        repo: action.repo,
        labels: action.labels.join(","),
      },
    );
    return Promise.resolve([]);
  }
}
