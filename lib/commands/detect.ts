import { getLogger } from "@logtape/logtape";
import { UsageError } from "../core/errors.ts";
import { hostLabels, parseLabelList } from "../core/labels.ts";
import { DEFAULT_TIMEOUT_MS } from "../system/command.ts";
import { detectHost, type HostFacts, provisioningProblems } from "../system/host.ts";
import { VERSION } from "../program/version.ts";
import type { Command } from "./command.ts";

const log = getLogger(["autoscaler", "detect"]);

/** `autoscaler detect`: what the host is, as the autoscaler sees it, and its runner labels. */
export const detectCommand: Command = {
  name: "detect",
  summary: "Show this host as the autoscaler sees it, and its runner labels",
  help: `Usage: autoscaler detect [--json] [--labels a,b] [--probe-timeout SECONDS] [--root DIR]

Shows what the autoscaler sees on this host: the architecture (from /proc/cpuinfo, else the
runtime), CPUs and memory (from /proc), NVIDIA GPUs and MIG instances (nvidia-smi), AMD GPUs
(rocminfo), Intel GPUs and NPUs for OpenVINO (/sys/class/drm, /dev/accel), whether a Docker
engine answers, and the runner labels that follow. A tool that is missing, fails or hangs
counts as "none of that kind" and its reason is shown. Exits 0 whenever detection ran, also
on hosts where runners cannot be provisioned; the output says why.

Options:
  --json                    Print one JSON object instead of the table
  --labels a,b              Extra runner labels to add (comma-separated)
  --probe-timeout SECONDS   How long each tool may take before it counts as hung (default: ${
    DEFAULT_TIMEOUT_MS / 1000
  })
  --root DIR                Read proc/, sys/ and dev/ below DIR instead of / (for testing)`,
  options: {
    json: { type: "boolean" },
    labels: { type: "string" },
    "probe-timeout": { type: "string" },
    root: { type: "string" },
  },
  async run(values, deps) {
    const extra = typeof values.labels === "string" ? parseLabelList(values.labels) : [];
    const timeoutMs = parseSeconds(values["probe-timeout"]) ?? DEFAULT_TIMEOUT_MS;
    const root = typeof values.root === "string" ? await existingDir(values.root) : "/";
    const host = await detectHost({
      root,
      run: deps.run,
      runtimeArch: deps.runtimeArch,
      timeoutMs,
    });
    log.debug("Detected host {host}", { host });
    const labels = hostLabels(host, extra);
    const problems = provisioningProblems(host);
    deps.print(
      values.json === true
        ? `${
          JSON.stringify(
            {
              version: VERSION,
              ...host,
              labels,
              provisioning: { ready: problems.length === 0, problems },
            },
            null,
            2,
          )
        }\n`
        : renderHost(host, labels, problems),
    );
    return 0;
  },
};

async function existingDir(path: string): Promise<string> {
  const info = await Deno.stat(path).catch(() => null);
  if (!info?.isDirectory) throw new UsageError(`Invalid --root "${path}": not a directory`);
  return path;
}

function parseSeconds(value: unknown): number | null {
  if (typeof value !== "string") return null;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new UsageError(`Invalid --probe-timeout "${value}": give seconds between 0 and 3600`);
  }
  return Math.round(seconds * 1000);
}

const GIB = 1024 ** 3;

function gib(bytes: number | null): string {
  return bytes === null ? "unknown" : `${(bytes / GIB).toFixed(1)} GiB`;
}

/** The human table printed by `detect`. */
export function renderHost(host: HostFacts, labels: string[], problems: string[]): string {
  const rows: [string, string][] = [];
  const arch = host.arch;
  rows.push([
    "Architecture",
    arch.name === null
      ? `${arch.machine} (unsupported)`
      : `${arch.name} (${arch.machine}, from ${
        arch.source === "cpuinfo" ? "/proc/cpuinfo" : "the runtime"
      })`,
  ]);
  const board = host.cpu.board ? `, ${host.cpu.board}` : "";
  rows.push([
    "CPUs",
    host.cpu.count === 0
      ? "unknown (/proc/cpuinfo could not be read)"
      : `${host.cpu.count} × ${host.cpu.model ?? "unknown model"}${board}`,
  ]);
  rows.push([
    "Memory",
    `${gib(host.memory.totalBytes)} total, ${gib(host.memory.availableBytes)} available`,
  ]);
  const nvidia = host.nvidia.gpus.map((gpu) => {
    const memory = gpu.memoryMiB === null ? "" : `, ${gpu.memoryMiB} MiB`;
    const driver = gpu.driverVersion === null ? "" : `, driver ${gpu.driverVersion}`;
    const mig = gpu.mig.map((m) => `\n    MIG ${m.index}: ${m.profile} ${m.uuid}`).join("");
    return `GPU ${gpu.index}: ${gpu.name} ${gpu.uuid ?? ""}${memory}${driver}${mig}`;
  });
  rows.push(["NVIDIA GPUs", listOrReason(nvidia, host.nvidia.reason)]);
  const amd = host.amd.gpus.map((gpu) =>
    `${gpu.marketingName ?? gpu.name} (${gpu.name}${gpu.node === null ? "" : `, node ${gpu.node}`})`
  );
  rows.push(["AMD GPUs", listOrReason(amd, host.amd.reason)]);
  const intel = (devices: typeof host.intel.gpus, dir: string) =>
    devices.map((d) => {
      const details = [d.deviceId && `device ${d.deviceId}`, d.driver].filter(Boolean);
      return `${dir}/${d.node}${details.length > 0 ? ` (${details.join(", ")})` : ""}`;
    });
  rows.push(["Intel GPUs", listOrReason(intel(host.intel.gpus, "/dev/dri"), null)]);
  rows.push(["Intel NPUs", listOrReason(intel(host.intel.npus, "/dev/accel"), null)]);
  rows.push([
    "Docker",
    host.docker.available
      ? `engine ${host.docker.serverVersion} answers`
      : `not available (${host.docker.reason})`,
  ]);
  rows.push(["Labels", labels.join(", ")]);
  rows.push([
    "Provisioning",
    problems.length === 0 ? "ready" : `not possible:\n${problems.map((p) => `- ${p}`).join("\n")}`,
  ]);
  const width = Math.max(...rows.map(([key]) => key.length)) + 2;
  return rows.map(([key, value]) =>
    `${key.padEnd(width)}${value.replaceAll("\n", `\n${" ".repeat(width)}`)}`
  ).join("\n") + "\n";
}

function listOrReason(items: string[], reason: string | null): string {
  if (items.length > 0) return `${items.length}\n${items.join("\n")}`;
  return reason === null ? "none" : `none (${reason})`;
}
