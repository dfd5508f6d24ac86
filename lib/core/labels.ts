import { UsageError } from "./errors.ts";
import type { RunnerKind } from "./model.ts";
import type { HostProfile } from "./plan.ts";
import type { HostFacts } from "../system/host.ts";

/**
 * Labels every runner of this host carries, before the accelerator labels, its profile's
 * (`sudo`, `docker`: `profileLabels`) and the user's own.
 */
export function baseLabels(host: HostFacts): string[] {
  return ["self-hosted", "linux", host.arch.name ?? host.arch.machine];
}

/**
 * The accelerator kinds this host offers, each with its labels and how many runners of it can run
 * at once (one per GPU; a MIG instance counts as a GPU; Intel: one per GPU, else per NPU).
 */
export function acceleratorKinds(
  host: HostFacts,
): Partial<Record<Exclude<RunnerKind, "cpu">, { labels: string[]; capacity: number }>> {
  const kinds: Partial<Record<Exclude<RunnerKind, "cpu">, { labels: string[]; capacity: number }>> =
    {};
  const nvidia = host.nvidia.gpus.reduce((n, gpu) => n + Math.max(1, gpu.mig.length), 0);
  if (nvidia > 0) kinds.cuda = { labels: ["cuda", "gpu"], capacity: nvidia };
  if (host.amd.gpus.length > 0) {
    kinds.rocm = { labels: ["rocm", "gpu"], capacity: host.amd.gpus.length };
  }
  const { gpus, npus } = host.intel;
  if (gpus.length > 0 || npus.length > 0) {
    kinds.openvino = {
      labels: [
        "openvino",
        ...(gpus.length > 0 ? ["gpu"] : []),
        ...(npus.length > 0 ? ["npu"] : []),
      ],
      capacity: gpus.length > 0 ? gpus.length : npus.length,
    };
  }
  return kinds;
}

/** Lowercases and drops duplicates, keeping the first of each. */
export function normalizeLabels(labels: readonly string[]): string[] {
  return [...new Set(labels.map((label) => label.toLowerCase()))];
}

/**
 * The runner labels for a host: `self-hosted, linux, <arch>`, then the accelerator labels
 * (`cuda, gpu` / `rocm, gpu` / `openvino` with `gpu` and/or `npu`, or `cpu-only`), then the
 * `extra` (the profile's labels, then the user's own). Lowercase, without duplicates, in that
 * stable order.
 */
export function hostLabels(host: HostFacts, extra: readonly string[] = []): string[] {
  const accelerators = Object.values(acceleratorKinds(host)).flatMap((kind) => kind.labels);
  return normalizeLabels([
    ...baseLabels(host),
    ...(accelerators.length > 0 ? accelerators : ["cpu-only"]),
    ...extra,
  ]);
}

/**
 * The labels a runner of one kind registers with: the base, that kind's accelerator labels only
 * (a CPU runner on a GPU host must not attract GPU jobs), and the user's own.
 */
export function runnerLabels(
  host: HostFacts,
  kind: RunnerKind,
  extra: readonly string[] = [],
): string[] {
  const accelerators = acceleratorKinds(host);
  const own = kind === "cpu"
    ? (Object.keys(accelerators).length > 0 ? [] : ["cpu-only"])
    : accelerators[kind]?.labels ?? [];
  return normalizeLabels([...baseLabels(host), ...own, ...extra]);
}

/**
 * The host as the planner sees it; null when its architecture is not supported. CPU runners are
 * bounded by `--max-runners` alone.
 */
export function hostProfile(host: HostFacts, extra: readonly string[] = []): HostProfile | null {
  if (host.arch.name === null) return null;
  const kinds: HostProfile["kinds"] = {
    cpu: { labels: runnerLabels(host, "cpu", extra), capacity: Number.POSITIVE_INFINITY },
  };
  for (const [kind, { capacity }] of Object.entries(acceleratorKinds(host))) {
    const runnerKind = kind as Exclude<RunnerKind, "cpu">;
    kinds[runnerKind] = { labels: runnerLabels(host, runnerKind, extra), capacity };
  }
  return { arch: host.arch.name, labels: hostLabels(host, extra), kinds };
}

/** Splits a `--labels a,b` value into labels; a label cannot hold blanks or control characters. */
export function parseLabelList(value: string): string[] {
  const labels = value.split(",").map((label) => label.trim()).filter((label) => label !== "");
  for (const label of labels) {
    // deno-lint-ignore no-control-regex
    if (/[\s\x00-\x1f\x7f]/.test(label) || label.length > 256) {
      throw new UsageError(
        `Invalid label ${JSON.stringify(label)} in --labels: a label has no blanks or control ` +
          "characters and at most 256 characters",
      );
    }
  }
  return labels;
}
