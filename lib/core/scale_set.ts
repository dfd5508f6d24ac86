import type { RunnerKind } from "./model.ts";
import type { HostProfile } from "./plan.ts";

/**
 * One runner scale set this host registers: GitHub assigns it the jobs whose labels are a subset
 * of `labels`, at most `capacity` at a time (what the host announces with each long poll).
 */
export interface ScaleSetSpec {
  kind: RunnerKind;
  /** Unique to this host: the runner prefix (which carries the host id) and the kind. */
  name: string;
  labels: string[];
  capacity: number;
}

/** Accelerator kinds first: a device is scarce, so its runners are set aside before the CPU's. */
const ORDER: readonly RunnerKind[] = ["cuda", "rocm", "openvino", "cpu"];

/**
 * The scale sets of a host: one per kind of runner it can start, each with that kind's labels
 * (the architecture among them: GitHub routes by labels alone, so a job for the other
 * architecture must not fit). `maxRunners` is split between them, each accelerator kind taking
 * one place per device first; a kind left with no place gets no scale set. The capacities add
 * up to at most `maxRunners`, so the host is never over it whatever GitHub assigns.
 */
export function scaleSetSpecs(
  host: HostProfile,
  maxRunners: number,
  runnerPrefix: string,
): ScaleSetSpec[] {
  let left = maxRunners;
  const specs: ScaleSetSpec[] = [];
  for (const kind of ORDER) {
    const offered = host.kinds[kind];
    if (!offered) continue;
    const capacity = Math.min(offered.capacity, left);
    if (capacity <= 0) continue;
    left -= capacity;
    specs.push({ kind, name: `${runnerPrefix}${kind}`, labels: offered.labels, capacity });
  }
  return specs;
}

/** A runner of one scale set, as the daemon sees it. */
export interface ScaleSetRunner {
  name: string;
  /** GitHub told us (`JobStarted`) that it runs a job. */
  busy: boolean;
  /** When its container was made (epoch ms). */
  createdAt: number;
}

/** What to do for one scale set now. */
export interface ScaleSetDecision {
  /** Runners to start. */
  start: number;
  /** Idle runners to retire, oldest first: more runners than GitHub has jobs for. */
  retire: string[];
}

/**
 * How many runners a scale set needs, from GitHub's count of the jobs assigned to it (running
 * ones included) and our live runners of it, as ARC's listener does: one runner per assigned
 * job, never more than the scale set's capacity nor the places the host has free. A runner with
 * no job to take (its job cancelled, or re-assigned) is retired once it has been idle for
 * `idleMs`: a runner takes seconds to come online, and a count that lags a message must not cost
 * a job the runner that is about to take it.
 */
export function scaleSetDecision(input: {
  assigned: number;
  runners: readonly ScaleSetRunner[];
  capacity: number;
  /** Places free on the host, all scale sets together. */
  hostFree: number;
  now: number;
  idleMs: number;
}): ScaleSetDecision {
  const wanted = Math.min(input.assigned, input.capacity);
  const start = Math.max(0, Math.min(wanted - input.runners.length, input.hostFree));
  const surplus = input.runners.length - wanted;
  const retire = surplus <= 0 ? [] : input.runners
    .filter((r) => !r.busy && input.now - r.createdAt >= input.idleMs)
    .sort((a, b) => a.createdAt - b.createdAt)
    .slice(0, surplus)
    .map((r) => r.name);
  return { start, retire };
}
