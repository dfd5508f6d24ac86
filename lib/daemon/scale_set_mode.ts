import { getLogger } from "@logtape/logtape";
import type { RunnerKind } from "../core/model.ts";
import type { ScaleSetSpec } from "../core/scale_set.ts";
import { abortableSleep } from "../github/budget.ts";
import { describeError } from "../github/errors.ts";
import type { ScaleSetClient } from "../github/scale_set_client.ts";
import type { RunnerBackend } from "../runners/backend.ts";
import { SWEEP_EVERY } from "./loop.ts";
import type { Metrics } from "./metrics.ts";
import { ScaleSetListener } from "./scale_set_listener.ts";
import type { ScaleSetRecord } from "./scale_set_record.ts";
import { ScaleSetScaler } from "./scale_set_scaler.ts";

const log = getLogger(["autoscaler", "scaleset"]);

/** What `run --mode scaleset` works with. */
export interface ScaleSetModeDeps {
  client: ScaleSetClient;
  backend: RunnerBackend;
  record: ScaleSetRecord;
  signal: AbortSignal;
  /** The client for the last calls after the stop signal (closing the sessions). */
  closing: () => ScaleSetClient;
  metrics?: Metrics;
  /**
   * After each clean-up pass, told whether every listener has had a poll answered since the
   * start; returning false ends the daemon (it updated itself).
   */
  afterPass?: (ok: boolean) => Promise<boolean>;
}

/** How it works. */
export interface ScaleSetModeSettings {
  apiUrl: string;
  org: string;
  specs: ScaleSetSpec[];
  runnerGroupId: number;
  ownerName: string;
  maxRunners: number;
  idleTimeoutMs: number;
  /** How often runners that exited are cleaned up, besides after each message. */
  intervalMs: number;
}

/**
 * The daemon with runner scale sets: one listener per scale set (per kind of runner), and a
 * clean-up pass every interval (every `SWEEP_EVERY`-th also makes sure of the image and prunes
 * the caches). Returns once stopped, the sessions closed; throws when a listener cannot go on
 * (another daemon holds a scale set, or GitHub cannot keep its labels), after stopping the
 * others.
 */
export async function runScaleSets(
  deps: ScaleSetModeDeps,
  settings: ScaleSetModeSettings,
): Promise<void> {
  if (settings.specs.length === 0) {
    throw new Error("This host has no place for a runner (--max-runners 0): no scale set to make");
  }
  const stop = new AbortController();
  const signal = AbortSignal.any([deps.signal, stop.signal]);
  const scaler = new ScaleSetScaler({ ...deps, now: () => new Date(), signal }, settings);
  deps.backend.prepare?.();
  await dropOldKinds(deps, settings, scaler);
  const answered = new Set<RunnerKind>();
  const listeners = settings.specs.map((spec) =>
    new ScaleSetListener(spec, {
      ...deps,
      scaler,
      signal,
      answered: () => answered.add(spec.kind),
    }, settings).run().catch((error) => {
      stop.abort(error);
      throw error;
    })
  );
  const sleep = abortableSleep(signal);
  const cleaning = (async () => {
    for (let pass = 1; !signal.aborted; pass++) {
      await sleep(settings.intervalMs).catch(() => {});
      if (signal.aborted) break;
      if (pass % SWEEP_EVERY === 0) deps.backend.prepare?.();
      await scaler.pass();
      if (deps.afterPass && !(await deps.afterPass(answered.size === settings.specs.length))) {
        log.info("Stopping to make way for the new version");
        stop.abort();
      }
    }
  })();
  const outcomes = await Promise.allSettled([...listeners, cleaning]);
  await scaler.stop();
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Deletes the scale sets this host made for kinds of runner it no longer has (a GPU taken out,
 * or no place left for it): no listener would take their jobs. Not while one of their runners
 * runs (its job would lose its runner): a later start does.
 */
async function dropOldKinds(
  deps: ScaleSetModeDeps,
  settings: ScaleSetModeSettings,
  scaler: ScaleSetScaler,
) {
  const kinds = new Set(settings.specs.map((s) => s.kind));
  const old = (await deps.record.at(settings.apiUrl, settings.org))
    .filter((e) => !kinds.has(e.kind));
  for (const entry of old) {
    if (await scaler.runnersOf(entry.id) > 0) {
      log.warn(
        "Runner scale set {name}, of {kind} runners this host no longer has, is kept while its " +
          "runners run; a later start deletes it",
        { ...entry },
      );
      continue;
    }
    try {
      await deps.client.deleteScaleSet(entry.id);
      await deps.record.forget((e) => e.apiUrl === entry.apiUrl && e.id === entry.id);
      log.info("Deleted runner scale set {name}: this host has no {kind} runners now", {
        ...entry,
      });
    } catch (error) {
      log.warn("Could not delete runner scale set {name}, of {kind} runners: {error}", {
        ...entry,
        error: describeError(error),
      });
    }
  }
}
