import assert from "node:assert/strict";
import { resolveArch } from "../../lib/system/arch.ts";
import { parseCpuInfo } from "../../lib/system/cpuinfo.ts";
import { fixture } from "../helpers/fixtures.ts";

const CASES: [file: string, machine: string, count: number, model: string, board: string | null][] =
  [
    ["x86_64_amd_epyc_9654_head.txt", "x86_64", 1, "AMD EPYC 9654 96-Core Processor", null],
    [
      "x86_64_intel_xeon_gold_6132_head.txt",
      "x86_64",
      1,
      "Intel(R) Xeon(R) Gold 6132 CPU @ 2.60GHz",
      null,
    ],
    ["aarch64_ampere_altra_head.txt", "aarch64", 1, "ARM Neoverse-N1", null],
    ["aarch64_aws_graviton2_t4g.small_al2023.txt", "aarch64", 2, "ARM Neoverse-N1", null],
    ["aarch64_aws_graviton3_c7g_head.txt", "aarch64", 1, "ARM Neoverse-V1", null],
    ["aarch64_aws_graviton4_first2of96.txt", "aarch64", 2, "ARM Neoverse-V2", null],
    ["aarch64_nvidia_jetson_agx_xavier.txt", "aarch64", 8, "NVIDIA Carmel", null],
    ["aarch64_nvidia_jetson_nano_5.15.txt", "aarch64", 4, "ARM Cortex-A57", null],
    [
      "aarch64_raspberry_pi4_64bit_kernel6.1.txt",
      "aarch64",
      4,
      "ARM Cortex-A72",
      "Raspberry Pi 4 Model B Rev 1.1",
    ],
    ["armv7l_raspberry_pi3bplus_32bit.txt", "armv7l", 4, "ARM Cortex-A53", null],
    [
      "armv7l_raspberry_pi_cm4_32bit.txt",
      "armv7l",
      4,
      "ARM Cortex-A72",
      "Raspberry Pi Compute Module 4 Rev 1.0",
    ],
  ];

for (const [file, machine, count, model, board] of CASES) {
  Deno.test(`parseCpuInfo reads ${file}`, async () => {
    assert.deepEqual(parseCpuInfo(await fixture(`cpuinfo/${file}`)), {
      machine,
      count,
      model,
      board,
    });
  });
}

Deno.test("a 32-bit ARM kernel is unsupported even on 64-bit hardware", async () => {
  const cpu = parseCpuInfo(await fixture("cpuinfo/armv7l_raspberry_pi_cm4_32bit.txt"));
  assert.deepEqual(resolveArch(cpu.machine, "aarch64"), {
    name: null,
    machine: "armv7l",
    source: "cpuinfo",
  });
});

Deno.test("cpuinfo decides the architecture; the runtime is the fallback", () => {
  assert.deepEqual(resolveArch("aarch64", "x86_64"), {
    name: "arm64",
    machine: "aarch64",
    source: "cpuinfo",
  });
  assert.deepEqual(resolveArch(null, "x86_64"), {
    name: "x64",
    machine: "x86_64",
    source: "runtime",
  });
  assert.equal(resolveArch(null, "riscv64").name, null);
});

Deno.test("parseCpuInfo survives empty, truncated and garbage input", () => {
  assert.deepEqual(parseCpuInfo(""), { machine: null, count: 0, model: null, board: null });
  assert.deepEqual(parseCpuInfo("processor\t: 0\nvendor_id\t: Genu"), {
    machine: null,
    count: 1,
    model: null,
    board: null,
  });
  assert.deepEqual(parseCpuInfo("\x00\xff garbage ::: \n: : :\n"), {
    machine: null,
    count: 0,
    model: null,
    board: null,
  });
});

Deno.test("parseCpuInfo tells 32-bit x86 by the missing long-mode flag", () => {
  assert.equal(parseCpuInfo("processor\t: 0\nflags\t: fpu vme lm sse\n").machine, "x86_64");
  assert.equal(parseCpuInfo("processor\t: 0\nflags\t: fpu vme pae sse\n").machine, "i686");
});

Deno.test("parseCpuInfo knows RISC-V and names unknown ARM parts by number", () => {
  assert.equal(parseCpuInfo("processor\t: 0\nhart\t: 0\nisa\t: rv64imafdc\n").machine, "riscv64");
  const unknown = parseCpuInfo(
    "processor\t: 0\nCPU implementer\t: 0x61\nCPU architecture: 8\nCPU part\t: 0x022\n",
  );
  assert.equal(unknown.model, "ARM implementer 0x61 part 0x022");
});
