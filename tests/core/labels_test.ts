import assert from "node:assert/strict";
import { UsageError } from "../../lib/core/errors.ts";
import { hostLabels, parseLabelList } from "../../lib/core/labels.ts";
import type { HostFacts } from "../../lib/system/host.ts";

function host(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    arch: { name: "x64", machine: "x86_64", source: "cpuinfo" },
    cpu: { count: 8, model: "test", board: null },
    memory: { totalBytes: 1, availableBytes: 1 },
    nvidia: { gpus: [], reason: "nvidia-smi not found on PATH" },
    amd: { gpus: [], reason: "rocminfo not found on PATH", renderNodes: [] },
    intel: { gpus: [], npus: [] },
    docker: { available: true, serverVersion: "20.10.24", reason: null },
    ...overrides,
  };
}

const NVIDIA = {
  gpus: [{ index: 0, name: "H100", uuid: "GPU-0", memoryMiB: 1, driverVersion: "1", mig: [] }],
  reason: null,
};
const AMD = {
  gpus: [{ name: "gfx942", marketingName: null, uuid: null, node: 2 }],
  reason: null,
  renderNodes: ["renderD128"],
};
const DEVICE = { node: "renderD128", deviceId: null, driver: null };

const CASES: [string, HostFacts, string[], string[]][] = [
  ["CPU-only x64", host(), [], ["self-hosted", "linux", "x64", "cpu-only"]],
  [
    "arm64 with NVIDIA",
    host({ arch: { name: "arm64", machine: "aarch64", source: "cpuinfo" }, nvidia: NVIDIA }),
    [],
    ["self-hosted", "linux", "arm64", "cuda", "gpu"],
  ],
  ["AMD", host({ amd: AMD }), [], ["self-hosted", "linux", "x64", "rocm", "gpu"]],
  [
    "NVIDIA and AMD share one gpu label",
    host({ nvidia: NVIDIA, amd: AMD }),
    [],
    ["self-hosted", "linux", "x64", "cuda", "gpu", "rocm"],
  ],
  [
    "Intel GPU and NPU",
    host({ intel: { gpus: [DEVICE], npus: [{ ...DEVICE, node: "accel0" }] } }),
    [],
    ["self-hosted", "linux", "x64", "openvino", "gpu", "npu"],
  ],
  [
    "Intel NPU alone",
    host({ intel: { gpus: [], npus: [DEVICE] } }),
    [],
    ["self-hosted", "linux", "x64", "openvino", "npu"],
  ],
  [
    "extras lowercased, duplicates dropped, order kept",
    host(),
    ["Big-RAM", "X64", "big-ram", "fast"],
    ["self-hosted", "linux", "x64", "cpu-only", "big-ram", "fast"],
  ],
  [
    "an unsupported architecture keeps its machine name",
    host({ arch: { name: null, machine: "armv7l", source: "cpuinfo" } }),
    [],
    ["self-hosted", "linux", "armv7l", "cpu-only"],
  ],
];

for (const [name, facts, extra, expected] of CASES) {
  Deno.test(`hostLabels: ${name}`, () => {
    assert.deepEqual(hostLabels(facts, extra), expected);
  });
}

Deno.test("parseLabelList splits, trims and drops empty items", () => {
  assert.deepEqual(parseLabelList(" a , b,,c "), ["a", "b", "c"]);
  assert.deepEqual(parseLabelList(""), []);
});

Deno.test("parseLabelList refuses blanks and control characters inside a label", () => {
  assert.throws(() => parseLabelList("ok,two words"), UsageError);
  assert.throws(() => parseLabelList("bell\x07"), UsageError);
  assert.throws(() => parseLabelList("x".repeat(257)), UsageError);
});
