import assert from "node:assert/strict";
import { parseListGpus, parseQueryGpuCsv } from "../../lib/system/nvidia_smi.ts";
import { fixture } from "../helpers/fixtures.ts";

Deno.test("parseQueryGpuCsv finds our fields by header among all of H100's", async () => {
  const gpus = parseQueryGpuCsv(
    await fixture("nvidia-smi/query_gpu_csv_header_h100_all_fields.csv"),
  );
  assert.deepEqual(gpus, [{
    index: 0,
    name: "NVIDIA H100 80GB HBM3",
    uuid: "GPU-00000000-0000-0000-0000-000000000000",
    memoryMiB: 81559,
    driverVersion: "590.48.01",
    mig: [],
  }]);
});

Deno.test("parseQueryGpuCsv leaves out what a capture does not have (P100, no index)", async () => {
  const gpus = parseQueryGpuCsv(await fixture("nvidia-smi/query_gpu_csv_header_tesla_p100.csv"));
  assert.deepEqual(gpus, [{
    index: 0,
    name: "Tesla P100-PCIE-16GB",
    uuid: "GPU-ef1b2c9b-38d8-2090-2bd1-f567a3eb42a6",
    memoryMiB: null,
    driverVersion: null,
    mig: [],
  }]);
});

Deno.test("parseQueryGpuCsv reads several GPUs, with or without units", () => {
  const text = "index, name, uuid, memory.total [MiB], driver_version\n" +
    "0, NVIDIA A100-SXM4-80GB, GPU-a, 81920 MiB, 535.216.01\n" +
    "1, NVIDIA A100-SXM4-80GB, GPU-b, 81920, 535.216.01\n";
  assert.deepEqual(parseQueryGpuCsv(text).map((g) => [g.index, g.uuid, g.memoryMiB]), [
    [0, "GPU-a", 81920],
    [1, "GPU-b", 81920],
  ]);
});

Deno.test("parseQueryGpuCsv gives nothing for empty, truncated or foreign output", async () => {
  assert.deepEqual(parseQueryGpuCsv(""), []);
  assert.deepEqual(
    parseQueryGpuCsv("index, name, uuid, memory.total [MiB], driver_version\n0, NVI"),
    [],
  );
  assert.deepEqual(parseQueryGpuCsv(await fixture("nvidia-smi/failure_driver_not_loaded.txt")), []);
  assert.deepEqual(
    parseQueryGpuCsv(await fixture("nvidia-smi/table_single_h100_with_processes.txt")),
    [],
  );
});

Deno.test("parseListGpus reads a single GPU", async () => {
  assert.deepEqual(parseListGpus(await fixture("nvidia-smi/L_single_geforce_rtx4080super.txt")), [
    { index: 0, name: "NVIDIA GeForce RTX 4080 SUPER", mig: [] },
  ]);
});

Deno.test("parseListGpus reads eight GPUs", async () => {
  const gpus = parseListGpus(await fixture("nvidia-smi/L_multi_8x_quadro_rtx8000.txt"));
  assert.deepEqual(gpus.map((g) => g.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.ok(gpus.every((g) => g.name === "Quadro RTX 8000" && g.mig.length === 0));
});

Deno.test("parseListGpus puts MIG devices under their GPU", async () => {
  const h100 = parseListGpus(await fixture("nvidia-smi/L_mig_h100_4_instances.txt"));
  assert.deepEqual(h100[0]?.mig.map((m) => [m.index, m.profile]), [
    [0, "3g.40gb"],
    [1, "2g.20gb"],
    [2, "1g.10gb"],
    [3, "1g.10gb"],
  ]);
  const a100 = parseListGpus(await fixture("nvidia-smi/L_mig_a100_sxm4_80gb_7x1g.txt"));
  assert.equal(a100[0]?.mig.length, 7);
  assert.equal(a100[0]?.mig[6]?.uuid, "MIG-1aae4990-b962-574e-8375-119d6d9b9687");
  const mixed = parseListGpus(await fixture("nvidia-smi/L_multi_4x_a100_sxm4_80gb_gpu0_mig.txt"));
  assert.deepEqual(mixed.map((g) => g.mig.length), [4, 0, 0, 0]);
});

Deno.test("parseListGpus ignores garbage and the failure message", async () => {
  assert.deepEqual(parseListGpus(await fixture("nvidia-smi/failure_driver_not_loaded.txt")), []);
  assert.deepEqual(parseListGpus("  MIG 1g.10gb Device 0: (UUID: MIG-x)\nGPU x: y\n"), []);
});
