import { getLogger } from "@logtape/logtape";
import { ConfigurationError, IdentityConflict } from "../core/errors.ts";
import type { ScaleSetSpec } from "../core/scale_set.ts";
import { abortableSleep } from "../github/budget.ts";
import { describeError } from "../github/errors.ts";
import {
  isGone,
  isServiceStatus,
  type QueueMessage,
  type ScaleSet,
  type ScaleSetClient,
  type ScaleSetSession,
} from "../github/scale_set_client.ts";
import type { ScaleSetRecord } from "./scale_set_record.ts";
import type { ScaleSetScaler } from "./scale_set_scaler.ts";
import type { Metrics } from "./metrics.ts";

const log = getLogger(["autoscaler", "scaleset"]);

/** The longest wait between two tries after a failure (GitHub down, the network gone). */
const MAX_BACKOFF_MS = 30_000;

/** The longest wait for a session a crashed run of this host left open to end. */
const MAX_ORPHAN_WAIT_MS = 300_000;

/** What a listener works with. */
export interface ListenerDeps {
  client: ScaleSetClient;
  scaler: ScaleSetScaler;
  record: ScaleSetRecord;
  /** Ends the listener (SIGTERM): the poll in flight is abandoned, the session closed. */
  signal: AbortSignal;
  /** The last requests after the stop (closing the session): their own client, time-bounded. */
  closing: () => ScaleSetClient;
  metrics?: Metrics;
  /** Hears of every poll GitHub answered (a message or none). */
  answered?: () => void;
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
 * hands each message's counts and events to the scaler, acknowledges it and claims the jobs it
 * offers (GitHub Enterprise Server). Unlike that listener it does not give up: a queue token
 * that expired is renewed, a session or scale set that is gone (GitHub deletes idle scale sets)
 * is made again, a dropped poll or an unreachable GitHub is tried again with backoff. A session
 * held by another daemon with this host's identity is the one failure it returns.
 */
export class ScaleSetListener {
  #scaleSet: ScaleSet | null = null;
  #session: ScaleSetSession | null = null;
  #lastMessageId = 0;
  /** Jobs offered to the scale set that a failed claim left to claim again. */
  readonly #toAcquire = new Set<number>();

  constructor(
    private spec: ScaleSetSpec,
    private deps: ListenerDeps,
    private settings: ListenerSettings,
  ) {}

  /** Listens until the stop signal; closes the session then. */
  async run(): Promise<void> {
    const sleep = abortableSleep(this.deps.signal);
    let backoff = 1000;
    // One recovery at once after a poll GitHub answered; more without one wait like failures.
    let mended = false;
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
          this.deps.metrics?.polled(new Date());
          this.deps.answered?.();
          backoff = 1000;
          mended = false;
          await this.#handle(message);
        } catch (error) {
          if (this.deps.signal.aborted) break;
          if (error instanceof IdentityConflict || error instanceof ConfigurationError) throw error;
          let failure = error;
          const recovered = await this.#recover(error).catch((e) => (failure = e, false));
          if (recovered && !mended) {
            mended = true;
            continue;
          }
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
   * Mends what an error says is stale, and says whether it did: a 401 of the queue (its token
   * expired) renews the session's token; a session or scale set that is gone is dropped, to be
   * found or made again by the next `#open`.
   */
  async #recover(error: unknown): Promise<boolean> {
    if (!this.#session || !this.#scaleSet) return false;
    if (isServiceStatus(error, 401)) {
      try {
        await this.#renew();
        return true;
      } catch (refresh) {
        if (!isGone(refresh)) throw refresh;
      }
    } else if (!isGone(error)) return false;
    log.warn("The session of scale set {name} is gone ({error}); opening a new one", {
      name: this.spec.name,
      error: describeError(error),
    });
    this.#session = null;
    this.#scaleSet = null;
    return true;
  }

  /** A fresh queue token for the session. */
  async #renew(): Promise<void> {
    log.info("The queue token of scale set {name} expired; renewing it", { name: this.spec.name });
    this.#session = await this.deps.client.refreshSession(
      this.#scaleSet!.id,
      this.#session!.sessionId,
    );
  }

  /** `call` with the session; once more with a renewed queue token if that one expired. */
  async #withSession<T>(call: (session: ScaleSetSession) => Promise<T>): Promise<T> {
    try {
      return await call(this.#session!);
    } catch (error) {
      if (!isServiceStatus(error, 401)) throw error;
      await this.#renew();
      return await call(this.#session!);
    }
  }

  /** Finds or makes the scale set, and opens its session. */
  async #open(): Promise<void> {
    const { client, record } = this.deps;
    const { apiUrl, org } = this.settings;
    const entry = await record.entry(apiUrl, org, this.spec.kind);
    const recorded = entry && entry.name === this.spec.name ? entry : null;
    let set = recorded ? await client.scaleSet(recorded.id) : null;
    set ??= await client.scaleSetByName(this.spec.name, this.settings.runnerGroupId);
    if (set && !(await this.#keep(set))) set = null;
    if (!set) set = await this.#create();
    this.#scaleSet = set;
    this.deps.scaler.track(this.spec.kind, set.id);
    const base = { apiUrl, org, kind: this.spec.kind, id: set.id, name: set.name };
    const stale = recorded?.id === set.id ? recorded : null;
    await record.update({ ...base, sessionId: stale?.sessionId ?? null, opening: true });
    const session = await this.#createSession(
      set,
      stale?.sessionId ?? null,
      stale?.opening === true,
    );
    this.#session = session;
    this.#lastMessageId = 0;
    await record.update({ ...base, sessionId: session.sessionId, opening: false });
    log.info(
      "Listening for the jobs of scale set {name} (id {id}), at most {capacity} at once",
      { name: set.name, id: set.id, capacity: this.spec.capacity },
    );
    this.deps.scaler.assigned(this.spec.kind, session.statistics, []);
  }

  /**
   * Whether the scale set found can be used as it is. Its labels (and group) are fixed at
   * creation: a host that changed (a GPU added, `--labels`) needs a new one, made once none of
   * this host's runners of it is left, so that no running job loses its runner.
   */
  async #keep(set: ScaleSet): Promise<boolean> {
    const same = sameLabels(set.labels, this.spec.labels) &&
      set.runnerGroupId === this.settings.runnerGroupId;
    if (same) return true;
    const running = await this.deps.scaler.runnersOf(set.id);
    if (running > 0) {
      log.warn(
        "Scale set {name} has labels {old} (runner group {group}), this host's runners now " +
          "{labels}; it is used as it is while {running} of its runners run, and made anew at a " +
          "restart once none does",
        {
          name: set.name,
          old: set.labels.join(","),
          group: set.runnerGroupId,
          labels: this.spec.labels.join(","),
          running,
        },
      );
      return true;
    }
    log.warn(
      "Scale set {name} has labels {old}, this host's runners now {labels}; making it anew",
      {
        name: set.name,
        old: set.labels.join(","),
        labels: this.spec.labels.join(","),
      },
    );
    await this.deps.client.deleteScaleSet(set.id);
    return false;
  }

  /** Makes the scale set; refuses a GitHub that does not keep all of its labels. */
  async #create(): Promise<ScaleSet> {
    const { client } = this.deps;
    const set = await client.createScaleSet({
      name: this.spec.name,
      runnerGroupId: this.settings.runnerGroupId,
      labels: this.spec.labels,
    });
    if (!sameLabels(set.labels, this.spec.labels)) {
      await client.deleteScaleSet(set.id);
      throw new ConfigurationError(
        `This GitHub keeps only the label${set.labels.length === 1 ? "" : "s"} ` +
          `${set.labels.join(", ")} of runner scale set ${set.name} (asked for ` +
          `${this.spec.labels.join(", ")}), so it would route to this host jobs it cannot run. ` +
          "Several labels per scale set need GitHub Enterprise Server 3.21 (3.18 with its " +
          "feature flag); use --mode poll",
      );
    }
    log.info("Created runner scale set {name} (id {id}) in {org} with labels {labels}", {
      name: set.name,
      id: set.id,
      org: this.settings.org,
      labels: set.labels.join(","),
    });
    return set;
  }

  /**
   * Opens the session. A 409 means a session is open already:
   * - the one this state directory's last run recorded (it crashed; the run lock says no daemon
   *   of this directory runs now) is closed, and the session opened again;
   * - if that run crashed while opening one, whose id it never learnt, GitHub ends it after a
   *   while: tried again with backoff, for up to `MAX_ORPHAN_WAIT_MS` after the last try;
   * - otherwise another daemon with this host's identity listens: a mistake of configuration,
   *   not something to retry.
   */
  async #createSession(
    set: ScaleSet,
    stale: string | null,
    orphan: boolean,
  ): Promise<ScaleSetSession> {
    const { client } = this.deps;
    const open = () => client.createSession(set.id, this.settings.ownerName);
    const conflict = (error: unknown) => {
      if (!isServiceStatus(error, 409)) throw error;
    };
    try {
      return await open();
    } catch (error) {
      conflict(error);
    }
    if (stale !== null) {
      log.info("Closing session {session} of scale set {name}, left open by this host's last run", {
        session: stale,
        name: set.name,
      });
      await client.deleteSession(set.id, stale);
      try {
        return await open();
      } catch (error) {
        conflict(error);
      }
    }
    if (orphan) {
      const sleep = abortableSleep(this.deps.signal);
      for (let wait = 1000; wait <= MAX_ORPHAN_WAIT_MS; wait *= 2) {
        log.warn(
          "Scale set {name} has a session this host's last run may have left open as it " +
            "ended; trying again in {s} s, until GitHub ends it",
          { name: set.name, s: wait / 1000 },
        );
        await sleep(wait);
        try {
          return await open();
        } catch (error) {
          conflict(error);
        }
      }
      // Not known to be another daemon: a failure systemd starts the daemon again after.
      throw new Error(
        `Runner scale set ${set.name} (id ${set.id}) still has a session after waiting for it ` +
          "to end; this host's last run may have left it open, or another daemon with this " +
          "host's identity runs",
      );
    }
    throw new IdentityConflict(
      `Runner scale set ${set.name} (id ${set.id}) already has a listener: another autoscaler ` +
        `with this host's identity runs (a copy of this state directory, ` +
        `${this.deps.record.stateDir}, on another machine?). Give each daemon a state ` +
        "directory of its own (--state-dir), or stop the other one",
    );
  }

  /**
   * Hands a message to the scaler (counts and events, which it may hear twice), then
   * acknowledges it and claims the jobs it offers; a claim that fails is tried again after the
   * next poll.
   */
  async #handle(message: QueueMessage | null): Promise<void> {
    const { client, scaler } = this.deps;
    if (message !== null) {
      this.#lastMessageId = message.messageId;
      scaler.assigned(this.spec.kind, message.statistics, message.jobs);
      // Taken before the acknowledgement too: a message is not sent again once seen.
      for (const job of message.jobs) {
        if (job.messageType === "JobAvailable") this.#toAcquire.add(job.runnerRequestId);
      }
      await this.#withSession((session) => client.deleteMessage(session, message.messageId));
    } else scaler.assigned(this.spec.kind, null, []);
    if (this.#toAcquire.size === 0) return;
    const offered = [...this.#toAcquire];
    const acquired = await this.#withSession((session) =>
      client.acquireJobs(this.#scaleSet!.id, session, offered)
    );
    this.#toAcquire.clear();
    log.debug("Acquired {acquired} of {offered} jobs offered to scale set {name}", {
      acquired: acquired.length,
      offered: offered.length,
      name: this.spec.name,
    });
  }

  /** Closes the session on the way out, so that GitHub hands its unstarted jobs to others. */
  async #close(): Promise<void> {
    if (!this.#session || !this.#scaleSet) return;
    const { sessionId } = this.#session;
    const set = this.#scaleSet;
    try {
      await this.deps.closing().deleteSession(set.id, sessionId);
      await this.deps.record.update({
        apiUrl: this.settings.apiUrl,
        org: this.settings.org,
        kind: this.spec.kind,
        id: set.id,
        name: set.name,
        sessionId: null,
        opening: false,
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
