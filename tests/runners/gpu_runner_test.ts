import assert from "node:assert/strict";
import { NVIDIA_H100 } from "../helpers/fake_bin.ts";
import { asX64Host } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("a CUDA runner gets its one GPU and half its memory as /dev/shm; a CPU runner neither", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/ml", { org: true });
    sim.world.addRun("acme/ml", {
      name: "Train",
      jobs: [
        { name: "train", labels: ["self-hosted", "cuda"] },
        { name: "lint", labels: ["self-hosted", "linux"] },
      ],
    });
    const dir = await Deno.makeTempDir();
    try {
      // A docker with no containers that logs each run's arguments and prints a container id.
      const docker = `case "$1" in
  ps) ;;
  run) echo "$*" | tr '\n' ' ' >> '${dir}/runs'; echo >> '${dir}/runs'; echo c0ffee ;;
  *) echo 20.10.24 ;;
esac`;
      const { code, stderr } = await asX64Host(
        // Without caches, whose volumes' preparation is a docker run of its own.
        [
          "run",
          "--once",
          "--api-url",
          sim.url,
          "--runner-memory",
          "8g",
          "--max-runners",
          "2",
          "--no-cache",
        ],
        { GH_TOKEN: TOKEN },
        { "nvidia-smi": NVIDIA_H100, docker },
      );
      assert.equal(code, 0, stderr);
      const runs = (await Deno.readTextFile(`${dir}/runs`)).trim().split("\n");
      assert.equal(runs.length, 2, stderr);
      const cuda = runs.find((r) => r.includes("kind=cuda"))!;
      const cpu = runs.find((r) => r.includes("kind=cpu"))!;
      assert.match(cuda, /--shm-size 4096m/);
      assert.match(cuda, /--gpus device=GPU-00000000-0000-0000-0000-000000000000/);
      assert.doesNotMatch(cpu, /--shm-size|--gpus/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
