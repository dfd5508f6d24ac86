import assert from "node:assert/strict";
import { normalizeArch } from "../../lib/system/arch.ts";
import { runCli } from "../helpers/cli.ts";
import { ENGINE_VERSION } from "../helpers/engine.ts";
import { HANGS, makeFakeBin, NVIDIA_H100, printsFile } from "../helpers/fake_bin.ts";
import { fixture, FIXTURES } from "../helpers/fixtures.ts";
import { makeRoot } from "../helpers/roots.ts";

/** Stands in for a tool the test does not provide, so the host's own (a real GPU box) stays out. */
const NOT_HERE = 'echo "not installed in this test" >&2\nexit 127';

/** Runs `detect` on a fixture root with fake tools first on PATH, then cleans both up. */
async function detectOn(
  rootFiles: Record<string, string>,
  tools: Record<string, string>,
  args: string[] = ["--json"],
) {
  const root = await makeRoot(rootFiles);
  const bin = await makeFakeBin({
    "nvidia-smi": NOT_HERE,
    rocminfo: NOT_HERE,
    docker: NOT_HERE,
    ...tools,
  });
  try {
    return await runCli(["detect", "--root", root, "--probe-timeout", "1", ...args], {
      pathPrefix: bin,
    });
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(bin, { recursive: true });
  }
}

const DOCKER_EXITS_9 =
  'echo "Cannot connect to the Docker daemon at unix:///nowhere.sock" >&2\nexit 9';

Deno.test("detect --json on an H100 host whose rocminfo hangs and docker fails", async () => {
  const { code, stdout, stderr } = await detectOn(
    {
      "proc/cpuinfo": await fixture("cpuinfo/x86_64_amd_epyc_9654_head.txt"),
      "proc/meminfo": await fixture("cpuinfo/meminfo_x86_64_16GB.txt"),
    },
    { "nvidia-smi": NVIDIA_H100, rocminfo: HANGS, docker: DOCKER_EXITS_9 },
  );
  assert.equal(code, 0, stderr);
  const host = JSON.parse(stdout);
  assert.deepEqual(host.arch, { name: "x64", machine: "x86_64", source: "cpuinfo" });
  assert.deepEqual(host.cpu, { count: 1, model: "AMD EPYC 9654 96-Core Processor", board: null });
  assert.deepEqual(host.memory, { totalBytes: 16268680 * 1024, availableBytes: 8366284 * 1024 });
  assert.deepEqual(host.nvidia, {
    gpus: [{
      index: 0,
      name: "NVIDIA H100 80GB HBM3",
      uuid: "GPU-00000000-0000-0000-0000-000000000000",
      memoryMiB: 81559,
      driverVersion: "590.48.01",
      mig: [],
    }],
    reason: null,
  });
  assert.deepEqual(host.amd, {
    gpus: [],
    reason: "rocminfo did not answer within 1 s",
    renderNodes: [],
  });
  assert.deepEqual(host.docker, {
    available: false,
    serverVersion: null,
    reason:
      "docker exited with code 9: Cannot connect to the Docker daemon at unix:///nowhere.sock",
  });
  assert.deepEqual(host.labels, ["self-hosted", "linux", "x64", "cuda", "gpu"]);
  assert.equal(host.provisioning.ready, false);
  assert.match(host.provisioning.problems[0], /^no Docker engine answers/);
});

Deno.test("detect shows MIG instances from nvidia-smi -L under their GPU", async () => {
  const { stdout } = await detectOn({}, {
    "nvidia-smi": `case "$1" in
      -L) ${printsFile(`${FIXTURES}nvidia-smi/L_mig_h100_4_instances.txt`)} ;;
      *) ${printsFile(`${FIXTURES}nvidia-smi/query_gpu_csv_header_h100_all_fields.csv`)} ;;
    esac`,
  });
  const gpu = JSON.parse(stdout).nvidia.gpus[0];
  assert.deepEqual(gpu.mig.map((m: { profile: string }) => m.profile), [
    "3g.40gb",
    "2g.20gb",
    "1g.10gb",
    "1g.10gb",
  ]);
});

Deno.test("detect: nvidia-smi without its driver (exit 9) means no NVIDIA GPU; MI300X found", async () => {
  const failure = `${FIXTURES}nvidia-smi/failure_driver_not_loaded.txt`;
  const { code, stdout } = await detectOn(
    { "proc/cpuinfo": await fixture("cpuinfo/x86_64_intel_xeon_gold_6132_head.txt") },
    {
      "nvidia-smi": printsFile(failure, 9),
      rocminfo: printsFile(`${FIXTURES}rocminfo/rocminfo_4x_mi300x_epyc9474f.txt`),
    },
  );
  assert.equal(code, 0);
  const host = JSON.parse(stdout);
  assert.deepEqual(host.nvidia, {
    gpus: [],
    reason: `nvidia-smi exited with code 9: ${(await Deno.readTextFile(failure)).trim()}`,
  });
  assert.equal(host.amd.gpus.length, 4);
  assert.deepEqual(host.labels, ["self-hosted", "linux", "x64", "rocm", "gpu"]);
});

Deno.test("detect: rocminfo without the ROCk driver means no AMD GPU, with its words", async () => {
  const { stdout } = await detectOn({}, {
    rocminfo: printsFile(`${FIXTURES}rocminfo/rocminfo_error_rock_not_loaded.txt`, 1),
  });
  assert.deepEqual(JSON.parse(stdout).amd, {
    gpus: [],
    reason: "rocminfo exited with code 1: ROCk module is NOT loaded, possibly no GPU devices",
    renderNodes: [],
  });
});

Deno.test("detect: garbage from nvidia-smi means none, with the reason", async () => {
  const { code, stdout } = await detectOn({}, {
    "nvidia-smi": "printf 'Segmentation fault\\n\\001\\002'",
  });
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(stdout).nvidia, {
    gpus: [],
    reason: 'nvidia-smi printed output that could not be read: "Segmentation fault"',
  });
});

Deno.test("detect on a 32-bit Raspberry Pi: unsupported, said plainly, exit 0", async () => {
  const files = { "proc/cpuinfo": await fixture("cpuinfo/armv7l_raspberry_pi_cm4_32bit.txt") };
  const json = await detectOn(files, {});
  assert.equal(json.code, 0);
  const host = JSON.parse(json.stdout);
  assert.deepEqual(host.arch, { name: null, machine: "armv7l", source: "cpuinfo" });
  assert.match(host.provisioning.problems[0], /^architecture armv7l is not supported/);
  const text = await detectOn(files, {}, []);
  assert.match(text.stdout, /^Architecture {2}armv7l \(unsupported\)$/m);
  assert.match(
    text.stdout,
    /^CPUs {10}4 × ARM Cortex-A72, Raspberry Pi Compute Module 4 Rev 1\.0$/m,
  );
  assert.match(text.stdout, /- architecture armv7l is not supported/);
});

Deno.test("detect on a Graviton host with an Intel NPU and --labels", async () => {
  const { stdout } = await detectOn(
    {
      "proc/cpuinfo": await fixture("cpuinfo/aarch64_aws_graviton2_t4g.small_al2023.txt"),
      "dev/accel/accel0": "",
      "sys/class/accel/accel0/device/vendor": "0x8086\n",
    },
    {},
    ["--json", "--labels", "Graviton, big"],
  );
  const host = JSON.parse(stdout);
  assert.equal(host.cpu.count, 2);
  assert.deepEqual(host.labels, [
    "self-hosted",
    "linux",
    "arm64",
    "openvino",
    "npu",
    "graviton",
    "big",
  ]);
});

Deno.test("detect prints a table a person can read", async () => {
  const { stdout } = await detectOn(
    { "proc/cpuinfo": await fixture("cpuinfo/x86_64_amd_epyc_9654_head.txt") },
    { "nvidia-smi": NVIDIA_H100, docker: DOCKER_EXITS_9 },
    [],
  );
  assert.match(stdout, /^Architecture {2}x64 \(x86_64, from \/proc\/cpuinfo\)$/m);
  assert.match(
    stdout,
    /^NVIDIA GPUs {3}1\n {14}GPU 0: NVIDIA H100 80GB HBM3 GPU-0+-0000-0000-0000-0+, 81559 MiB, driver 590\.48\.01$/m,
  );
  assert.match(
    stdout,
    /^AMD GPUs {6}none \(rocminfo exited with code 127: not installed in this test\)$/m,
  );
  assert.match(stdout, /^Labels {8}self-hosted, linux, x64, cuda, gpu$/m);
});

Deno.test("detect says so when /proc/cpuinfo and /proc/meminfo cannot be read", async () => {
  const { code, stdout } = await detectOn({}, {}, []);
  assert.equal(code, 0);
  assert.match(stdout, /^CPUs {10}unknown \(\/proc\/cpuinfo could not be read\)$/m);
  assert.match(stdout, /^Memory {8}unknown total, unknown available$/m);
  assert.match(stdout, /^Architecture {2}\w+ \(\w+, from the runtime\)$/m);
});

Deno.test("detect on this machine reads the real /proc with the explicit permission set", async () => {
  const bin = await makeFakeBin({});
  try {
    const { code, stdout, stderr } = await runCli(["detect", "--json"], { pathPrefix: bin });
    assert.equal(code, 0, stderr);
    const host = JSON.parse(stdout);
    const cat = async (path: string) =>
      new TextDecoder().decode((await new Deno.Command("cat", { args: [path] }).output()).stdout);
    const processors = (await cat("/proc/cpuinfo")).match(/^processor\s*:/gm)?.length;
    const memTotalKb = Number((await cat("/proc/meminfo")).match(/^MemTotal:\s*(\d+)/m)?.[1]);
    assert.equal(host.arch.name, normalizeArch(Deno.build.arch));
    assert.equal(host.cpu.count, processors);
    assert.equal(host.memory.totalBytes, memTotalKb * 1024);
    const accelerated = host.nvidia.gpus.length + host.amd.gpus.length +
        host.intel.gpus.length + host.intel.npus.length > 0;
    assert.deepEqual(host.labels.slice(0, 3), ["self-hosted", "linux", host.arch.name]);
    assert.ok(!host.labels.includes("docker"), "no runner of the default profile has Docker");
    assert.equal(host.labels.includes("cpu-only"), !accelerated);
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});

Deno.test({
  name: "detect finds a real Docker engine and its version",
  ignore: ENGINE_VERSION === null,
  async fn() {
    const { code, stdout, stderr } = await runCli(["detect", "--json"]);
    assert.equal(code, 0, stderr);
    const host = JSON.parse(stdout);
    assert.deepEqual(host.docker, { available: true, serverVersion: ENGINE_VERSION, reason: null });
    if (host.arch.name !== null) assert.deepEqual(host.provisioning, { ready: true, problems: [] });
  },
});
