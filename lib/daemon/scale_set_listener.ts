import { getLogger } from "@logtape/logtape";
import { IdentityConflict } from "../core/errors.ts";
import type { ScaleSetSpec } from "../core/scale_set.ts";
import { abortableSleep } from "../github/budget.ts";
import { describeError } from "../github/errors.ts";
import {
  isServiceStatus,
  type QueueMessage,
  type ScaleSet,
  type ScaleSetClient,
  type ScaleSetSession,
} from "../github/scale_set_client.ts";
import type { ScaleSetRecord } from "./scale_set_record.ts";
import type { ScaleSetScaler } from "./scale_set_scaler.ts";

const log = getLogger(["autoscaler", "scaleset"]);

/** The longest wait between two tries after a failure (GitHub down, the network gone). */
const MAX_BACKOFF_MS = 30_000;

/** What a listener works with. */
export interface ListenerDeps {
  client: ScaleSetClient;
  scaler: ScaleSetScaler;
  record: ScaleSetRecord;
  /** Ends the listener (SIGTERM): the poll in flight is abandoned, the session closed. */
  signal: AbortSignal;
  /** The last requests after the stop (closing the session): their own client, time-bounded. */
  closing: () => ScaleSetClient;
}

/** Where the scale set lives, and who listens. */
export interface ListenerSettings {
  apiUrl: string;
  org: string;
  runnerGroupId: number;
  /** The session's owner, for people looking at GitHub (the host's name). */
  ownerName: string;
}

/**
 * The listener of one scale set, as `actions/scaleset`'s listener works: it finds (or makes) the
 * scale set, opens its one session, long-polls the queue announcing the scale set's capacity,
 * acknowledges each message, claims offered jobs (GitHub Enterprise Server), and hands the
 * events and GitHub's counts to the scaler. Unlike that listener it does not give up: a queue
 * token that expired is renewed, a session or scale set that is gone (GitHub deletes idle scale
 * sets) is made again, a dropped poll or an unreachable GitHub is tried again with backoff. A
 * session held by another daemon with this host's identity is the one failure it returns.
 */
export class ScaleSetListener {
  #scaleSet: ScaleSet | null = null;
  #session: ScaleSetSession | null = null;
  #lastMessageId = 0;

  constructor(
    private spec: ScaleSetSpec,
    private deps: ListenerDeps,
    private settings: ListenerSettings,
  ) {}

  /** Listens until the stop signal; closes the session then. */
  async run(): Promise<void> {
    const sleep = abortableSleep(this.deps.signal);
    let backoff = 1000;
    try {
      while (!this.deps.signal.aborted) {
        try {
          if (!this.#session) await this.#open();
          const message = await this.deps.client.message(
            this.#session!,
            this.#lastMessageId,
            this.spec.capacity,
            this.deps.signal,
          );
          await this.#handle(message);
          backoff = 1000;
        } catch (error) {
          if (this.deps.signal.aborted) break;
          if (error instanceof IdentityConflict) throw error;
          let failure = error;
          if (await this.#recover(error).catch((e) => (failure = e, false))) continue;
          log.warn("The listener of scale set {name} failed: {error}; trying again in {s} s", {
            name: this.spec.name,
            error: describeError(failure),
            s: backoff / 1000,
          });
          await sleep(backoff).catch(() => {});
          backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        }
      }
    } finally {
      await this.#close();
    }
  }

  /**
   * Mends what an error says is stale, and says whether to go on at once: a 401 of the queue
   * (its token expired) renews the session's token; a 404 (the session or the scale set gone)
   * opens a new session, finding or making the scale set again.
   */
  async #recover(error: unknown): Promise<boolean> {
    if (!this.#session || !this.#scaleSet) return false;
    if (isServiceStatus(error, 401)) {
      log.info("The queue token of scale set {name} expired; renewing it", {
        name: this.spec.name,
      });
      try {
        this.#session = await this.deps.client.refreshSession(
          this.#scaleSet.id,
          this.#session.sessionId,
        );
        return true;
      } catch (refresh) {
        if (!isServiceStatus(refresh, 404)) throw refresh;
      }
    } else if (!isServiceStatus(error, 404)) return false;
    log.warn("The session of scale set {name} is gone ({error}); opening a new one", {
      name: this.spec.name,
      error: describeError(error),
    });
    this.#session = null;
    this.#scaleSet = null;
    return true;
  }

  /** Finds or makes the scale set, and opens its session. */
  async #open(): Promise<void> {
    const { client, record } = this.deps;
    const { apiUrl, org } = this.settings;
    const entry = await record.entry(apiUrl, org, this.spec.kind);
    let set = entry ? await client.scaleSet(entry.id) : null;
    set ??= await client.scaleSetByName(this.spec.name, this.settings.runnerGroupId);
    if (set && !sameLabels(set.labels, this.spec.labels)) {
      // Labels are fixed at creation: a host that changed (a GPU added) needs a new scale set.
      log.warn(
        "Scale set {name} has labels {old}, this host's runners now {labels}; making it anew",
        { name: set.name, old: set.labels.join(","), labels: this.spec.labels.join(",") },
      );
      await client.deleteScaleSet(set.id);
      set = null;
    }
    if (!set) {
      set = await client.createScaleSet({
        name: this.spec.name,
        runnerGroupId: this.settings.runnerGroupId,
        labels: this.spec.labels,
      });
      log.info("Created runner scale set {name} (id {id}) in {org} with labels {labels}", {
        name: set.name,
        id: set.id,
        org,
        labels: this.spec.labels.join(","),
      });
    }
    this.#scaleSet = set;
    this.deps.scaler.track(this.spec.kind, set.id);
    const session = await this.#createSession(set, entry?.id === set.id ? entry.sessionId : null);
    this.#session = session;
    this.#lastMessageId = 0;
    await record.update(apiUrl, org, this.spec.kind, {
      id: set.id,
      name: set.name,
      sessionId: session.sessionId,
    });
    log.info(
      "Listening for the jobs of scale set {name} (id {id}), at most {capacity} at once",
      { name: set.name, id: set.id, capacity: this.spec.capacity },
    );
    await this.deps.scaler.assigned(this.spec.kind, session.statistics, []);
  }

  /**
   * Opens the session. A 409 means a session is open: if it is the one this state directory's
   * daemon opened before (a crash left it; the run lock says no daemon of this directory runs
   * now), it is closed and the session opened again; otherwise another daemon with this host's
   * identity listens, which is a mistake of configuration, not something to retry.
   */
  async #createSession(set: ScaleSet, stale: string | null): Promise<ScaleSetSession> {
    const { client } = this.deps;
    try {
      return await client.createSession(set.id, this.settings.ownerName);
    } catch (error) {
      if (!isServiceStatus(error, 409)) throw error;
      if (stale !== null) {
        log.info(
          "Closing session {session} of scale set {name}, left open by this host's last run",
          {
            session: stale,
            name: set.name,
          },
        );
        await client.deleteSession(set.id, stale);
        try {
          return await client.createSession(set.id, this.settings.ownerName);
        } catch (again) {
          if (!isServiceStatus(again, 409)) throw again;
        }
      }
      throw new IdentityConflict(
        `Runner scale set ${set.name} (id ${set.id}) already has a listener: another autoscaler ` +
          `with this host's identity runs (a copy of this state directory, ` +
          `${this.deps.record.stateDir}, on another machine?). Give each daemon a state ` +
          "directory of its own (--state-dir), or stop the other one",
      );
    }
  }

  /** Acknowledges a message, claims what it offers, and tells the scaler. */
  async #handle(message: QueueMessage | null): Promise<void> {
    const { client, scaler } = this.deps;
    if (message === null) {
      await scaler.assigned(this.spec.kind, null, []);
      return;
    }
    this.#lastMessageId = message.messageId;
    await client.deleteMessage(this.#session!, message.messageId);
    const available = message.jobs.filter((j) => j.messageType === "JobAvailable")
      .map((j) => j.runnerRequestId);
    if (available.length > 0) {
      const acquired = await client.acquireJobs(this.#scaleSet!.id, this.#session!, available);
      log.debug("Acquired {acquired} of {offered} jobs offered to scale set {name}", {
        acquired: acquired.length,
        offered: available.length,
        name: this.spec.name,
      });
    }
    await scaler.assigned(this.spec.kind, message.statistics, message.jobs);
  }

  /** Closes the session on the way out, so that GitHub hands its unstarted jobs to others. */
  async #close(): Promise<void> {
    if (!this.#session || !this.#scaleSet) return;
    const { sessionId } = this.#session;
    try {
      await this.deps.closing().deleteSession(this.#scaleSet.id, sessionId);
      await this.deps.record.update(this.settings.apiUrl, this.settings.org, this.spec.kind, {
        id: this.#scaleSet.id,
        name: this.#scaleSet.name,
        sessionId: null,
      });
      log.info("Closed the session of scale set {name}", { name: this.spec.name });
    } catch (error) {
      log.warn("Could not close the session of scale set {name}: {error}", {
        name: this.spec.name,
        error: describeError(error),
      });
    }
  }
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  const key = (labels: readonly string[]) => labels.map((l) => l.toLowerCase()).sort().join(",");
  return key(a) === key(b);
}
