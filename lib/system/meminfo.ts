/** Memory figures from `/proc/meminfo`, in bytes. */
export interface MemInfo {
  totalBytes: number | null;
  /** `MemAvailable` (kernels since 3.14); null when absent. */
  availableBytes: number | null;
}

/** Parses `/proc/meminfo` (`MemTotal:  16268680 kB`). */
export function parseMemInfo(text: string): MemInfo {
  const read = (key: string): number | null => {
    const match = text.match(new RegExp(`^${key}:\\s*(\\d+)\\s*kB\\s*$`, "m"));
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  };
  return { totalBytes: read("MemTotal"), availableBytes: read("MemAvailable") };
}
