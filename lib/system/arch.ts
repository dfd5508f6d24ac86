/** The two architectures GitHub's runner and this program ship for, in GitHub's label spelling. */
export type RunnerArch = "x64" | "arm64";

/** The host's architecture as detected, and whether runners can be provisioned for it. */
export interface ArchInfo {
  /** `x64` or `arm64`, or null when the host is neither. */
  name: RunnerArch | null;
  /** The machine name it came from, `uname -m` style (`x86_64`, `aarch64`, `armv7l`...). */
  machine: string;
  /** Where the machine name came from. */
  source: "cpuinfo" | "runtime";
}

/** Maps `uname -m` / runtime spellings to the runner's architecture label. */
export function normalizeArch(machine: string): RunnerArch | null {
  switch (machine.trim().toLowerCase()) {
    case "x86_64":
    case "amd64":
    case "x64":
      return "x64";
    case "aarch64":
    case "arm64":
      return "arm64";
    default:
      return null;
  }
}

/**
 * Decides the architecture: `/proc/cpuinfo` describes the kernel actually running (a 32-bit
 * Raspberry Pi kernel says `CPU architecture: 7` on 64-bit hardware), so it wins; the runtime's
 * own architecture is the fallback when cpuinfo is missing or unrecognised.
 */
export function resolveArch(cpuinfoMachine: string | null, runtimeMachine: string): ArchInfo {
  const machine = cpuinfoMachine ?? runtimeMachine;
  return {
    name: normalizeArch(machine),
    machine,
    source: cpuinfoMachine === null ? "runtime" : "cpuinfo",
  };
}
