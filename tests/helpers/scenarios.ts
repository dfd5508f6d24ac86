import type { SimWorld } from "../../lib/simulator/world.ts";

/**
 * Two organizations and a user: 162 queued jobs in 9 repositories (2 of them left out as archived
 * or stale), including a run of 150 matrix jobs that needs two pages, GPU, arm64, hosted and
 * custom-label jobs, one idle runner of ours and one idle runner that is not ours.
 */
export function busyWorld(world: SimWorld, runnerPrefix: string): void {
  const now = world.now().getTime();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  for (const name of ["acme/api", "acme/web", "acme/ml", "acme/firmware"]) {
    world.addRepo(name, { org: true });
  }
  world.addRepo("acme/archived", { org: true, archived: true });
  world.addRepo("acme/stale", { org: true, pushedAt: at(60 * 24 * 10) });
  world.addRepo("beta-labs/tools", { org: true });
  world.addRepo("beta-labs/matrix", { org: true });
  world.addRepo("octo/dots");

  world.addRun("acme/api", {
    name: "CI",
    createdAt: at(50),
    jobs: [
      { name: "build", labels: ["self-hosted"], status: "completed" },
      { name: "test", labels: ["self-hosted", "linux", "x64"] },
      { name: "lint", labels: ["self-hosted"] },
    ],
  });
  world.addRun("acme/api", {
    name: "Docs",
    createdAt: at(49),
    jobs: [{ name: "docs", labels: ["ubuntu-latest"] }],
  });
  world.addRun("acme/web", {
    name: "E2E",
    createdAt: at(40),
    jobs: [
      { name: "e2e-chrome", labels: ["self-hosted", "linux"] },
      { name: "e2e-firefox", labels: ["Self-Hosted", "Linux", "X64"] },
    ],
  });
  world.addRun("acme/ml", {
    name: "Train",
    createdAt: at(35),
    jobs: [
      { name: "train", labels: ["self-hosted", "gpu", "cuda"] },
      { name: "eval", labels: ["self-hosted", "gpu"] },
    ],
  });
  world.addRun("acme/firmware", {
    name: "Firmware",
    path: ".github/workflows/arm64-ci.yml",
    createdAt: at(30),
    jobs: [{ name: "build", labels: ["self-hosted"] }, {
      name: "test",
      labels: ["self-hosted", "linux"],
    }],
  });
  world.addRun("acme/stale", {
    name: "Nightly",
    createdAt: at(29),
    jobs: [{ name: "n", labels: ["self-hosted"] }],
  });
  world.addRun("beta-labs/tools", {
    name: "Release",
    createdAt: at(25),
    jobs: [{ name: "package", labels: ["self-hosted", "big-ram"] }, {
      name: "sign",
      labels: ["self-hosted", "hsm"],
    }],
  });
  world.addRun("octo/dots", {
    name: "Checks",
    createdAt: at(20),
    jobs: [{ name: "shellcheck", labels: ["self-hosted"] }],
  });
  world.addRun("beta-labs/matrix", {
    name: "Matrix",
    createdAt: at(10),
    jobs: Array.from({ length: 150 }, (_, i) => ({
      name: `test (py3.${10 + (i % 3)}, shard ${i})`,
      labels: ["self-hosted", "linux"],
    })),
  });
  world.addRunner("acme/api", {
    name: `${runnerPrefix}0001`,
    labels: ["self-hosted", "linux", "x64", "docker", "cpu-only", "big-ram"],
    status: "online",
  });
  world.addRunner("acme/web", {
    name: "static-box",
    labels: ["self-hosted", "linux", "x64"],
    status: "online",
  });
}
