import { type CommandRunner, stripAnsi, toolResult } from "./command.ts";

/** One AMD GPU agent as `rocminfo` reports it. */
export interface AmdGpu {
  /** The ISA name, e.g. `gfx942`. */
  name: string;
  /** The product name, e.g. `AMD Instinct MI300X`; null when rocminfo leaves it blank. */
  marketingName: string | null;
  /** The agent UUID (`GPU-8d1457e2c20f59d2`); null on older ROCm, which prints none. */
  uuid: string | null;
  /** The HSA node number. */
  node: number | null;
}

/** The AMD part of detection: the GPUs, or why there are none. */
export interface AmdReport {
  gpus: AmdGpu[];
  reason: string | null;
}

/**
 * Parses `rocminfo` output into its GPU agents. Each agent is a block after an `Agent N` line;
 * its own fields are the lines indented by exactly two spaces (deeper lines belong to pools and
 * ISAs). Returns null when the text has no `HSA Agents` section at all.
 */
export function parseRocminfo(text: string): AmdGpu[] | null {
  const clean = stripAnsi(text);
  if (!/^HSA Agents\s*$/m.test(clean)) return null;
  const gpus: AmdGpu[] = [];
  for (const block of clean.split(/^Agent \d+\s*$/m).slice(1)) {
    const fields = new Map<string, string>();
    for (const line of block.split("\n")) {
      const match = line.match(/^ {2}(\S[^:]*):\s*(.*?)\s*$/);
      if (match?.[1] !== undefined && match[2] !== undefined && !fields.has(match[1])) {
        fields.set(match[1], match[2]);
      }
    }
    if (fields.get("Device Type") !== "GPU") continue;
    const node = Number.parseInt(fields.get("Node") ?? "", 10);
    gpus.push({
      name: fields.get("Name") ?? "unknown",
      marketingName: fields.get("Marketing Name") || null,
      uuid: fields.get("Uuid") || null,
      node: Number.isNaN(node) ? null : node,
    });
  }
  return gpus;
}

/** Asks `rocminfo` for the GPU agents; never throws. */
export async function detectAmd(run: CommandRunner, timeoutMs: number): Promise<AmdReport> {
  const result = toolResult("rocminfo", await run("rocminfo", [], { timeoutMs }));
  if (!result.ok) return { gpus: [], reason: result.reason };
  const gpus = parseRocminfo(result.stdout);
  if (gpus === null) {
    const said = stripAnsi(result.stdout).trim().split("\n")[0]?.slice(0, 120) ?? "";
    return {
      gpus: [],
      reason: `rocminfo printed output that could not be read: ${JSON.stringify(said)}`,
    };
  }
  return { gpus, reason: gpus.length === 0 ? "rocminfo listed no GPU agents" : null };
}
