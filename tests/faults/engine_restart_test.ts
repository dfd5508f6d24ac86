import assert from "node:assert/strict";
import { CAN_START_ENGINE, startOwnEngine } from "../helpers/engine.ts";
import { containersOf, Daemon, ours, waitFor } from "../helpers/engine_runs.ts";
import { ensureTestImage } from "../helpers/runner_image.ts";
import { withSimulator } from "../helpers/sim.ts";

Deno.test({
  name: "faults: the Docker engine restarts under the daemon: runners it killed are cleaned up, " +
    "and every job is served once",
  // A Docker engine of the test's own, which it stops and starts again: root and dockerd.
  ignore: !CAN_START_ENGINE,
  fn: async () => {
    const engine = await startOwnEngine();
    try {
      await ensureTestImage(engine.host);
      await withSimulator(async (sim) => {
        const prefix = `t${crypto.randomUUID().slice(0, 6)}`;
        sim.world.addRepo("acme/app", { org: true });
        const { jobs } = sim.world.addRun("acme/app", {
          name: "CI",
          jobs: ["one", "two"].map((name) => ({ name, labels: ["self-hosted"] })),
        });
        // The runners come online and wait for work while the engine goes away under them.
        sim.holdRunners = true;
        const daemon = await Daemon.start(
          sim,
          prefix,
          ["--docker-timeout", "3"],
          { env: { DOCKER_HOST: engine.host } },
        );
        let exit = -1;
        try {
          await waitFor(
            "two runners online",
            () => ours(sim, prefix).filter((r) => r.status === "online").length === 2,
          );
          await engine.stop();
          await daemon.waitFor(/ERROR: Cycle \d+ failed: Cannot list containers: .*/);
          await engine.start();
          sim.holdRunners = false;
          await waitFor(
            "the jobs served and nothing of ours left",
            async () =>
              jobs.every((j) => j.status === "completed") && ours(sim, prefix).length === 0 &&
              (await containersOf(prefix, true, engine.host)).length === 0,
          );
        } finally {
          exit = await daemon.stop();
        }
        assert.equal(exit, 0, daemon.stderr);
        assert.deepEqual(jobs.map((j) => j.conclusion), ["success", "success"], daemon.stderr);
        assert.equal(new Set(jobs.map((j) => j.runnerName)).size, 2);
        // The two runners the restart killed, then one new runner per job: never more.
        assert.equal(sim.jitConfigs.length, 4, daemon.stderr);
        assert.match(daemon.stderr, /Cannot connect to the Docker daemon/);
        assert.match(
          daemon.stderr,
          /Removed the container of runner .*: its container exited with code \d+/,
        );
      });
    } finally {
      await engine.remove();
    }
  },
});
