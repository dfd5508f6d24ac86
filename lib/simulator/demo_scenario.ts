import type { HostFacts } from "../system/host.ts";
import type { RunSpec } from "./world.ts";
import type { SimWorld } from "./world.ts";

/** The host the demo pretends to be: an x64 box with 8 CPUs and one NVIDIA GPU. */
export const DEMO_HOST: HostFacts = {
  arch: { name: "x64", machine: "x86_64", source: "cpuinfo" },
  cpu: { count: 8, model: "Simulated x64 CPU", board: null },
  memory: { totalBytes: 32 * 1024 ** 3, availableBytes: 30 * 1024 ** 3 },
  nvidia: {
    gpus: [{
      index: 0,
      name: "NVIDIA L4 (simulated)",
      uuid: "GPU-00000000-0000-0000-0000-000000000000",
      memoryMiB: 23034,
      driverVersion: "580.00",
      mig: [],
    }],
    reason: null,
  },
  amd: { gpus: [], reason: "rocminfo not found on PATH", renderNodes: [] },
  intel: { gpus: [], npus: [] },
  docker: { available: true, serverVersion: "simulated", reason: null },
};

/** The demo host's own extra label, which one scripted job asks for. */
export const DEMO_LABELS = ["big-ram"];

/** The demo's repositories: two organizations' and a user's, plus two that are left out. */
export function setUpDemoWorld(world: SimWorld): void {
  for (const name of ["octo-org/api", "octo-org/ml", "octo-org/firmware"]) {
    world.addRepo(name, { org: true });
  }
  world.addRepo("alice/dotfiles");
  world.addRepo("octo-org/old-site", { org: true, archived: true });
  world.addRepo("octo-org/stale", {
    org: true,
    pushedAt: new Date(world.now().getTime() - 30 * 86_400_000).toISOString(),
  });
}

/** The runs that arrive before each cycle, by cycle number. */
export const DEMO_ARRIVALS: Record<number, [string, RunSpec][]> = {
  1: [
    ["octo-org/api", {
      name: "CI",
      jobs: [
        { name: "lint", labels: ["self-hosted", "linux"] },
        { name: "test", labels: ["self-hosted", "X64"] },
        { name: "docs", labels: ["ubuntu-latest"] },
      ],
    }],
    ["octo-org/firmware", {
      name: "Firmware",
      path: ".github/workflows/arm64-ci.yml",
      jobs: [{ name: "build", labels: ["self-hosted"] }],
    }],
    ["alice/dotfiles", {
      name: "Checks",
      jobs: [{ name: "shellcheck", labels: ["self-hosted", "linux"] }],
    }],
  ],
  2: [
    ["octo-org/ml", {
      name: "Train",
      jobs: [
        { name: "train-small", labels: ["self-hosted", "gpu", "cuda"] },
        { name: "train-large", labels: ["self-hosted", "gpu", "cuda"] },
      ],
    }],
    ["octo-org/api", {
      name: "Release",
      jobs: [
        { name: "package", labels: ["self-hosted", "big-ram"] },
        { name: "fpga-test", labels: ["self-hosted", "fpga"] },
      ],
    }],
  ],
  3: [
    ["octo-org/api", {
      name: "Matrix",
      jobs: ["x64", "arm64"].flatMap((arch) =>
        [1, 2, 3].map((n) => ({ name: `build (${arch}, ${n})`, labels: ["self-hosted", "linux"] }))
      ),
    }],
  ],
};
