import { getLogger } from "@logtape/logtape";
import type { ScaleSetSpec } from "../core/scale_set.ts";
import { abortableSleep } from "../github/budget.ts";
import type { ScaleSetClient } from "../github/scale_set_client.ts";
import type { RunnerBackend } from "../runners/backend.ts";
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
  /** After each clean-up pass; returning false ends the daemon (it updated itself). */
  afterPass?: () => Promise<boolean>;
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
 * clean-up pass every interval. Returns once stopped, the sessions closed; throws when a
 * listener cannot go on (another daemon holds a scale set), after stopping the others.
 */
export async function runScaleSets(
  deps: ScaleSetModeDeps,
  settings: ScaleSetModeSettings,
): Promise<void> {
  const stop = new AbortController();
  const signal = AbortSignal.any([deps.signal, stop.signal]);
  const scaler = new ScaleSetScaler(
    { ...deps, now: () => new Date(), signal },
    settings,
  );
  if (settings.specs.length === 0) {
    throw new Error("This host has no place for a runner (--max-runners 0): no scale set to make");
  }
  const listeners = settings.specs.map((spec) =>
    new ScaleSetListener(spec, { ...deps, scaler, signal }, settings).run().catch((error) => {
      stop.abort(error);
      throw error;
    })
  );
  const sleep = abortableSleep(signal);
  const cleaning = (async () => {
    while (!signal.aborted) {
      await sleep(settings.intervalMs).catch(() => {});
      if (signal.aborted) break;
      await scaler.pass();
      if (deps.afterPass && !(await deps.afterPass())) {
        log.info("Stopping to make way for the new version");
        stop.abort();
      }
    }
  })();
  const outcomes = await Promise.allSettled([...listeners, cleaning]);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed) throw failed.reason;
}
