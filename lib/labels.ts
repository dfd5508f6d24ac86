import { UsageError } from "./errors.ts";
import type { HostFacts } from "./system/host.ts";

/**
 * The runner labels for a host: `self-hosted, linux, <arch>, docker`, then the accelerator labels
 * (`cuda, gpu` / `rocm, gpu` / `openvino` with `gpu` and/or `npu`, or `cpu-only`), then the
 * user's own. Lowercase, without duplicates, in that stable order.
 */
export function hostLabels(host: HostFacts, extra: readonly string[] = []): string[] {
  const labels = ["self-hosted", "linux", host.arch.name ?? host.arch.machine, "docker"];
  if (host.nvidia.gpus.length > 0) labels.push("cuda", "gpu");
  if (host.amd.gpus.length > 0) labels.push("rocm", "gpu");
  if (host.intel.gpus.length > 0 || host.intel.npus.length > 0) labels.push("openvino");
  if (host.intel.gpus.length > 0) labels.push("gpu");
  if (host.intel.npus.length > 0) labels.push("npu");
  const accelerated = labels.length > 4;
  if (!accelerated) labels.push("cpu-only");
  return [...new Set([...labels, ...extra].map((label) => label.toLowerCase()))];
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
