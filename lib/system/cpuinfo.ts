/** What `/proc/cpuinfo` says about the processors. */
export interface CpuInfo {
  /** Kernel machine name in `uname -m` style (`x86_64`, `aarch64`, `armv7l`...), or null if unknown. */
  machine: string | null;
  /** Number of processor entries. */
  count: number;
  /** Human model name, or null when the kernel gives none and the part is not known. */
  model: string | null;
  /** Board name some ARM kernels add (`Model : Raspberry Pi 4 Model B Rev 1.1`). */
  board: string | null;
}

/** ARM implementer and part numbers (MIDR fields) as the kernel prints them, to names. */
const ARM_PARTS: Record<string, { vendor: string; parts: Record<string, string> }> = {
  "0x41": {
    vendor: "ARM",
    parts: {
      "0xd03": "Cortex-A53",
      "0xd04": "Cortex-A35",
      "0xd05": "Cortex-A55",
      "0xd07": "Cortex-A57",
      "0xd08": "Cortex-A72",
      "0xd09": "Cortex-A73",
      "0xd0a": "Cortex-A75",
      "0xd0b": "Cortex-A76",
      "0xd0c": "Neoverse-N1",
      "0xd0d": "Cortex-A77",
      "0xd40": "Neoverse-V1",
      "0xd41": "Cortex-A78",
      "0xd42": "Cortex-A78AE",
      "0xd44": "Cortex-X1",
      "0xd46": "Cortex-A510",
      "0xd47": "Cortex-A710",
      "0xd48": "Cortex-X2",
      "0xd49": "Neoverse-N2",
      "0xd4b": "Cortex-A78C",
      "0xd4f": "Neoverse-V2",
    },
  },
  "0x4e": { vendor: "NVIDIA", parts: { "0x004": "Carmel" } },
  "0xc0": { vendor: "Ampere", parts: { "0xac3": "Ampere-1", "0xac4": "Ampere-1a" } },
};

/** Parses `/proc/cpuinfo` of x86, ARM (32- and 64-bit kernels) and RISC-V hosts. */
export function parseCpuInfo(text: string): CpuInfo {
  const blocks: Map<string, string>[] = [];
  const trailer = new Map<string, string>();
  let current: Map<string, string> | null = null;
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) {
      if (line.trim() === "") current = null;
      continue;
    }
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "processor" && /^\d+$/.test(value)) {
      current = new Map();
      blocks.push(current);
    }
    (current ?? trailer).set(key, value);
  }
  const first = blocks[0] ?? trailer;
  return {
    machine: machineOf(first),
    count: blocks.length,
    model: modelOf(first),
    board: trailer.get("model") ?? null,
  };
}

function machineOf(cpu: Map<string, string>): string | null {
  const flags = cpu.get("flags");
  if (flags !== undefined) return flags.split(/\s+/).includes("lm") ? "x86_64" : "i686";
  // An x86 block cut off before its flags says nothing about 32 or 64 bits.
  if (cpu.has("vendor_id")) return null;
  const armArch = cpu.get("cpu architecture");
  if (armArch !== undefined) {
    const version = Number.parseInt(armArch, 10);
    if (version >= 8) return "aarch64";
    if (version >= 5) return `armv${version}l`;
    return null;
  }
  const isa = cpu.get("isa");
  if (isa?.startsWith("rv64")) return "riscv64";
  if (isa?.startsWith("rv32")) return "riscv32";
  return null;
}

/** ARM kernels name the core generically (`ARMv8 Processor rev 0`), so a known part wins. */
function modelOf(cpu: Map<string, string>): string | null {
  const implementer = cpu.get("cpu implementer")?.toLowerCase();
  const part = cpu.get("cpu part")?.toLowerCase();
  const known = implementer === undefined ? undefined : ARM_PARTS[implementer];
  const partName = part === undefined ? undefined : known?.parts[part];
  if (known && partName) return `${known.vendor} ${partName}`;
  const named = cpu.get("model name");
  if (named) return named;
  if (implementer === undefined || part === undefined) return null;
  return `ARM implementer ${implementer} part ${part}`;
}
