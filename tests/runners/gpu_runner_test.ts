import assert from "node:assert/strict";
import { NVIDIA_H100 } from "../helpers/fake_bin.ts";
import { asX64Host, makeX64Host, spawnCli } from "../helpers/cli.ts";
import { waitFor } from "../helpers/engine_runs.ts";
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

Deno.test("with scale sets, a GPU host registers one per kind, sharing --max-runners, and a CUDA job's runner gets the GPU", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/ml", { org: true });
    const dir = await Deno.makeTempDir();
    const host = await makeX64Host({
      "nvidia-smi": NVIDIA_H100,
      docker: `case "$1" in
  ps) ;;
  run) echo "$*" | tr '\\n' ' ' >> '${dir}/runs'; echo >> '${dir}/runs'; echo c0ffee ;;
  *) echo 20.10.24 ;;
esac`,
    });
    await Deno.writeTextFile(`${dir}/host-id`, "00c0da00\n");
    const daemon = await spawnCli([
      "run",
      "--mode",
      "scaleset",
      "--owner",
      "acme",
      "--api-url",
      sim.url,
      "--max-runners",
      "3",
      "--no-cache",
      "--state-dir",
      dir,
      "--root",
      host.root,
    ], { pathPrefix: host.bin, env: { GH_TOKEN: TOKEN, GH_CONFIG_DIR: host.ghConfig } });
    try {
      await daemon.waitFor(/Listening for the jobs of scale set \S+-cuda .*at most 1 at once/);
      await daemon.waitFor(/Listening for the jobs of scale set \S+-cpu .*at most 2 at once/);
      const sets = Object.fromEntries(
        sim.scaleSets.scaleSets.map((s) => [s.name.replace(/^.*-/, ""), s.labels]),
      );
      assert.deepEqual(sets, {
        cuda: ["self-hosted", "linux", "x64", "cuda", "gpu"],
        cpu: ["self-hosted", "linux", "x64"],
      });
      sim.world.addRun("acme/ml", {
        name: "Train",
        jobs: [
          { name: "train", labels: ["self-hosted", "cuda"] },
          { name: "lint", labels: ["self-hosted", "x64"] },
        ],
      });
      // This docker lists no containers, so the daemon starts again each time it looks: the
      // first runner of each kind is the one to check.
      const runs = async () => (await Deno.readTextFile(`${dir}/runs`).catch(() => "")).split("\n");
      const started = (kind: string) => async () =>
        (await runs()).find((r) => r.includes(`kind=${kind}`));
      await waitFor(
        "a runner of each kind",
        async () => !!(await started("cuda")()) && !!(await started("cpu")()),
        20,
      )
        .catch((error) => {
          throw new Error(`${error.message}; its log:\n${daemon.log()}`);
        });
      assert.match(
        (await started("cuda")())!,
        /--gpus device=GPU-00000000-0000-0000-0000-000000000000/,
      );
      assert.doesNotMatch((await started("cpu")())!, /--gpus/);
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.log());
      await host.remove();
      await Deno.remove(dir, { recursive: true });
    }
  }, { scaleSets: { longPollSeconds: 1 } });
});
