import assert from "node:assert/strict";
import { containersOf, Daemon, engineTest, ours, waitFor } from "../helpers/engine_runs.ts";

engineTest(
  "warm pool: a burst of two jobs is taken by runners that were ready, the pool refills, " +
    "and stopping the daemon retires it",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    const daemon = await Daemon.start(sim, prefix, [
      "--runner-scope",
      "org",
      "--min-idle",
      "2",
      "--max-runners",
      "4",
    ]);
    let exit = -1;
    let most = 0;
    const ready = () => ours(sim, prefix).filter((r) => r.status === "online" && !r.busy);
    try {
      await waitFor("two pool runners online", () => ready().length === 2);
      const pool = ready().map((r) => r.name).sort();
      const { jobs } = sim.world.addRun("acme/app", {
        name: "CI",
        jobs: ["one", "two"].map((name) => ({ name, labels: ["self-hosted", "linux"] })),
      });
      await waitFor("both jobs served, and two new pool runners ready", () => {
        most = Math.max(most, ours(sim, prefix).length);
        return jobs.every((j) => j.status === "completed") && ready().length === 2 &&
          ready().every((r) => !pool.includes(r.name));
      });
      // The runners that took the jobs were the pool's: no container started on their path.
      assert.deepEqual(jobs.map((j) => j.runnerName).sort(), pool, daemon.stderr);
      assert.deepEqual(jobs.map((j) => j.conclusion), ["success", "success"]);
      assert.ok(most <= 4, `${most} registrations at once, more than --max-runners 4`);
      assert.match(daemon.stderr, /Started cpu runner \S+ for the warm pool of acme in container/);
    } finally {
      exit = await daemon.stop();
    }
    assert.equal(exit, 0, daemon.stderr);
    // A stopped daemon leaves no idle runner behind: nothing would ever retire it.
    assert.deepEqual(ours(sim, prefix), [], daemon.stderr);
    await waitFor(
      "no container of ours left",
      async () => (await containersOf(prefix)).length === 0,
    );
  },
  { jobSeconds: 0 },
);
