/**
 * Jobs that runners of ours were started for and that GitHub never handed to them (the runner
 * sat idle until reaped): a job in another runner group, or a public repository whose group
 * refuses public repositories. Each such job is held off, twice as long each time, instead of
 * getting a new runner every idle timeout. State across cycles, no I/O.
 */
export class JobBackoff {
  readonly #jobs = new Map<number, { strikes: number; until: number }>();

  constructor(private readonly baseMs: number, private readonly maxMs = 3_600_000) {}

  /** Notes that a runner started for `jobId` went unused; returns how long the job is held off. */
  strike(jobId: number, now: number): number {
    const strikes = (this.#jobs.get(jobId)?.strikes ?? 0) + 1;
    const ms = Math.min(this.maxMs, this.baseMs * 2 ** (strikes - 1));
    this.#jobs.set(jobId, { strikes, until: now + ms });
    return ms;
  }

  /** The jobs held off at `now`, each with the reason, for the planner. */
  holding(now: number): Map<number, string> {
    const held = new Map<number, string>();
    for (const [jobId, { until }] of this.#jobs) {
      if (until > now) {
        held.set(
          jobId,
          `backing off until ${new Date(until).toISOString()}: runners started for it were ` +
            "never given it",
        );
      }
    }
    return held;
  }

  /** Forgets the jobs that are no longer queued. */
  keepOnly(queued: ReadonlySet<number>): void {
    for (const jobId of this.#jobs.keys()) if (!queued.has(jobId)) this.#jobs.delete(jobId);
  }
}
