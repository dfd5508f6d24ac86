import { getLogger } from "@logtape/logtape";
import type { GitHub } from "./client.ts";
import { answerOf, headerNumber, isHttpError, isRateLimited, isSecondaryLimit } from "./errors.ts";

const log = getLogger(["autoscaler", "github"]);

/** GitHub refused for its rate limit and asked for a long wait; the cycle gives up until then. */
export class RateLimited extends Error {
  constructor(readonly resetAt: Date, secondary = false) {
    super(
      secondary
        ? `GitHub's secondary rate limit; waiting until ${resetAt.toISOString()}`
        : `GitHub's rate limit is spent until ${resetAt.toISOString()}`,
    );
    this.name = "RateLimited";
  }
}

/** The wait after a secondary-limit answer without `retry-after`: GitHub asks for a minute. */
const SECONDARY_WAIT_S = 60;

/** The longest `retry-after` waited out inside a request; longer ones end the cycle. */
const MAX_INLINE_WAIT_S = 60;

/**
 * GitHub's secondary limit is 900 points a minute per endpoint (a GET is 1 point, a POST,
 * PATCH or DELETE 5); we stay a little under it.
 */
export const POINTS_PER_MINUTE = 850;

/** A sleep that ends early, by throwing the signal's reason, once `signal` aborts (SIGTERM). */
export function abortableSleep(signal: AbortSignal): (ms: number) => Promise<void> {
  return (ms) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", stop);
        resolve();
      }, ms);
      const stop = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener("abort", stop, { once: true });
    });
}

/**
 * Reads `x-ratelimit-*` on every answer and counts the requests that cost rate limit (304s do
 * not). On a 403/429 rate-limit answer it waits `retry-after` (if short) and tries once more,
 * else throws `RateLimited`. `interval` stretches the poll interval when the budget left would
 * not last until the reset at the current pace. Requests to one endpoint are paced to stay under
 * GitHub's secondary limit of points per minute, however many repositories there are.
 * Not `@octokit/plugin-throttling` or `-retry`: their waits cannot be cut short by SIGTERM, the
 * first spaces every write a second apart (registrations of a burst queue up), and the second
 * retries POSTs and takes a request past our deadline for a 500 (README, "Rate limit").
 */
export class RateBudget {
  remaining: number | null = null;
  resetAt: Date | null = null;
  /** Requests that cost rate limit, since the start. */
  spent = 0;
  /**
   * Per endpoint, secondary-limit answers in a row: each doubles the wait, as GitHub asks. Only
   * a success of that endpoint clears it (every cycle's other requests succeed).
   */
  readonly #secondaryStrikes = new Map<string, number>();

  /** Per endpoint (method and path template): the times and points of the last minute's requests. */
  readonly #window = new Map<string, { at: number; points: number }[]>();

  constructor(
    private sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
    private clock = () => Date.now(),
    private pointsPerMinute = POINTS_PER_MINUTE,
  ) {}

  /** Waits until one more request to this endpoint keeps it under the secondary limit. */
  async #pace(endpoint: string, points: number): Promise<void> {
    for (;;) {
      const now = this.clock();
      const recent = (this.#window.get(endpoint) ?? []).filter((r) => r.at > now - 60_000);
      const used = recent.reduce((sum, r) => sum + r.points, 0);
      if (used + points <= this.pointsPerMinute || recent.length === 0) {
        recent.push({ at: now, points });
        this.#window.set(endpoint, recent);
        return;
      }
      await this.sleep(recent[0]!.at + 60_000 - now);
    }
  }

  attach(github: GitHub): void {
    github.hook.wrap("request", async (request, options) => {
      const method = String(options.method ?? "GET").toUpperCase();
      const endpoint = `${method} ${options.url}`;
      await this.#pace(endpoint, method === "GET" ? 1 : 5);
      for (let attempt = 0;; attempt++) {
        try {
          const response = await request(options);
          this.#read(answerOf(response));
          this.#secondaryStrikes.delete(endpoint);
          return response;
        } catch (error) {
          const answer = answerOf(error);
          this.#read(answer);
          if (!isHttpError(error) || !isRateLimited(error)) throw error;
          const retryAfter = headerNumber(answer.headers, "retry-after");
          const reset = headerNumber(answer.headers, "x-ratelimit-reset");
          const secondary = isSecondaryLimit(error) && retryAfter === null;
          const strikes = (this.#secondaryStrikes.get(endpoint) ?? 0) + (secondary ? 1 : 0);
          if (secondary) this.#secondaryStrikes.set(endpoint, strikes);
          const waitS = secondary ? SECONDARY_WAIT_S * 2 ** Math.min(4, strikes - 1) : retryAfter ??
            (reset === null
              ? MAX_INLINE_WAIT_S + 1
              : Math.max(0, (reset * 1000 - Date.now()) / 1000));
          if (attempt > 0 || secondary || waitS > MAX_INLINE_WAIT_S) {
            throw new RateLimited(new Date(Date.now() + waitS * 1000), isSecondaryLimit(error));
          }
          log.warn("GitHub asked to wait {seconds} s before {endpoint} ({status}); waiting", {
            seconds: Math.ceil(waitS),
            endpoint,
            status: answer.status,
          });
          await this.sleep(waitS * 1000);
        }
      }
    });
  }

  #read({ status, headers }: ReturnType<typeof answerOf>): void {
    if (status !== 304 && status !== 0) this.spent++;
    this.remaining = headerNumber(headers, "x-ratelimit-remaining") ?? this.remaining;
    const reset = headerNumber(headers, "x-ratelimit-reset");
    if (reset !== null) this.resetAt = new Date(reset * 1000);
  }

  /**
   * The interval to wait after a cycle that spent `perCycle` requests: the configured one, or
   * longer when the requests left would run out before the reset at that pace.
   */
  interval(intervalMs: number, perCycle: number, now: Date): number {
    if (this.remaining === null || this.resetAt === null || perCycle <= 0) return intervalMs;
    const untilReset = this.resetAt.getTime() - now.getTime();
    if (untilReset <= 0) return intervalMs;
    const cycles = Math.floor(this.remaining / perCycle);
    if (cycles <= 0) return untilReset;
    return Math.max(intervalMs, Math.ceil(untilReset / cycles));
  }
}
