import { type CommandRunner, toolResult } from "./command.ts";

/** One NVIDIA GPU as `nvidia-smi` reports it. */
export interface NvidiaGpu {
  index: number;
  name: string;
  uuid: string | null;
  memoryMiB: number | null;
  driverVersion: string | null;
  /** MIG instances carved out of this GPU; empty when MIG is off. */
  mig: MigDevice[];
}

/** One MIG instance, from `nvidia-smi -L`. */
export interface MigDevice {
  /** The profile, e.g. `1g.10gb`. */
  profile: string;
  index: number;
  uuid: string;
}

/** The NVIDIA part of detection: the GPUs, or why there are none. */
export interface NvidiaReport {
  gpus: NvidiaGpu[];
  /** Why no GPU is listed (tool missing, driver not loaded...); null when the tool answered. */
  reason: string | null;
}

/** The fields asked of `nvidia-smi --query-gpu`. */
export const NVIDIA_QUERY_FIELDS = ["index", "name", "uuid", "memory.total", "driver_version"];

/**
 * Parses `nvidia-smi --query-gpu=... --format=csv[,nounits]` output with its header line, so any
 * field order (and extra fields) work. Cells like `[N/A]` become null; units (`81559 MiB`) are
 * dropped. Rows whose cell count differs from the header are skipped.
 */
export function parseQueryGpuCsv(text: string): NvidiaGpu[] {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const header = lines[0]?.split(",").map((h) => h.trim().replace(/\s*\[.*\]$/, "")) ?? [];
  const column = (name: string) => header.indexOf(name);
  const nameAt = column("name");
  if (nameAt < 0) return [];
  const gpus: NvidiaGpu[] = [];
  for (const [row, line] of lines.slice(1).entries()) {
    const cells = line.split(",").map((c) => c.trim());
    if (cells.length !== header.length) continue;
    const cell = (name: string): string | null => {
      const value = cells[column(name)];
      return value === undefined || value === "" || /^\[?(N\/A|Not Supported)\]?$/i.test(value)
        ? null
        : value;
    };
    const name = cell("name");
    if (name === null) continue;
    const index = Number.parseInt(cell("index") ?? "", 10);
    const memory = Number.parseInt(cell("memory.total") ?? "", 10);
    gpus.push({
      index: Number.isNaN(index) ? row : index,
      name,
      uuid: cell("uuid"),
      memoryMiB: Number.isNaN(memory) ? null : memory,
      driverVersion: cell("driver_version"),
      mig: [],
    });
  }
  return gpus;
}

/** Parses `nvidia-smi -L`: GPU lines and the MIG device lines indented under them. */
export function parseListGpus(text: string): { index: number; name: string; mig: MigDevice[] }[] {
  const gpus: { index: number; name: string; mig: MigDevice[] }[] = [];
  for (const line of text.split("\n")) {
    const gpu = line.match(/^GPU (\d+): (.+?) \(UUID: [^)]*\)\s*$/);
    if (gpu?.[1] !== undefined && gpu[2] !== undefined) {
      gpus.push({ index: Number(gpu[1]), name: gpu[2], mig: [] });
      continue;
    }
    const mig = line.match(/^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: ([^)]+)\)\s*$/);
    const owner = gpus.at(-1);
    if (mig?.[1] !== undefined && mig[2] !== undefined && mig[3] !== undefined && owner) {
      owner.mig.push({ profile: mig[1], index: Number(mig[2]), uuid: mig[3] });
    }
  }
  return gpus;
}

/** Asks `nvidia-smi` for the GPUs and their MIG instances; never throws. */
export async function detectNvidia(run: CommandRunner, timeoutMs: number): Promise<NvidiaReport> {
  const query = toolResult(
    "nvidia-smi",
    await run("nvidia-smi", [
      `--query-gpu=${NVIDIA_QUERY_FIELDS.join(",")}`,
      "--format=csv,nounits",
    ], {
      timeoutMs,
    }),
  );
  if (!query.ok) return { gpus: [], reason: query.reason };
  const gpus = parseQueryGpuCsv(query.stdout);
  if (gpus.length === 0) {
    const said = query.stdout.trim().split("\n")[0]?.slice(0, 120) ?? "";
    return {
      gpus,
      reason: said === ""
        ? "nvidia-smi listed no GPUs"
        : `nvidia-smi printed output that could not be read: ${JSON.stringify(said)}`,
    };
  }
  const list = toolResult("nvidia-smi -L", await run("nvidia-smi", ["-L"], { timeoutMs }));
  if (list.ok) {
    for (const listed of parseListGpus(list.stdout)) {
      const gpu = gpus.find((g) => g.index === listed.index);
      if (gpu) gpu.mig = listed.mig;
    }
  }
  return { gpus, reason: null };
}
