import { getLogger } from "@logtape/logtape";
import { describeError } from "../github/errors.ts";
import { selfUpdate, type UpdateDeps } from "./updater.ts";

const log = getLogger(["autoscaler", "update"]);

/**
 * The daemon's own update check: every `intervalMs` (±10 % jitter, so a fleet does not ask at
 * once), between cycles. A failure is logged and waits for the next interval, never a tight loop.
 */
export class AutoUpdater {
  #next: number;

  constructor(
    private deps: UpdateDeps,
    private repo: string,
    private intervalMs: number,
    now: Date,
    private random: () => number = Math.random,
  ) {
    this.#next = now.getTime() + this.#jittered();
  }

  #jittered(): number {
    return this.intervalMs * (0.9 + 0.2 * this.random());
  }

  /** When the next check is due. */
  get next(): Date {
    return new Date(this.#next);
  }

  /** Checks and installs when due; true when a new version is in place (time to restart). */
  async tick(now: Date): Promise<boolean> {
    if (now.getTime() < this.#next) return false;
    this.#next = now.getTime() + this.#jittered();
    try {
      const outcome = await selfUpdate(this.deps, { repo: this.repo });
      if (outcome.status !== "updated") {
        log.debug("No newer release than {version}", { version: outcome.from });
        return false;
      }
      log.info("Updated from {from} to {to}; exiting so systemd starts the new version", {
        ...outcome,
      });
      return true;
    } catch (error) {
      log.warn("Update check failed: {error}; next try at {next}", {
        error: describeError(error),
        next: this.next.toISOString(),
      });
      return false;
    }
  }
}
