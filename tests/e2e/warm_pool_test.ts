import assert from "node:assert/strict";
import { containersOf, Daemon, engineTest, ours, waitFor } from "../helpers/engine_runs.ts";
import { cliCommand } from "../helpers/cli.ts";
import { TOKEN } from "../helpers/sim.ts";

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
      const status = await (await cliCommand(
        ["status", "--api-url", sim.url, "--name-prefix", prefix],
        { env: { GH_TOKEN: TOKEN } },
      )).output();
      const listed = new TextDecoder().decode(status.stdout);
      for (const name of pool) {
        assert.match(listed, new RegExp(`${name}\\s+pool of acme\\s+idle\\s+-`));
      }
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

engineTest(
  "warm pool: when GitHub hangs as the daemon stops, it still exits 0 in time and names the " +
    "runners it left",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    const daemon = await Daemon.start(sim, prefix, ["--runner-scope", "org", "--min-idle", "2"]);
    let exit = -1;
    try {
      await waitFor(
        "two pool runners online",
        () => ours(sim, prefix).filter((r) => r.status === "online").length === 2,
      );
      sim.faults.push({
        method: "DELETE",
        path: /\/orgs\/acme\/actions\/runners\/\d+$/,
        status: 204,
        body: "",
        mode: "hang",
      });
    } finally {
      exit = await daemon.stop();
    }
    // main.ts would have exited 1 after 8 s.
    assert.equal(exit, 0, daemon.stderr);
    assert.match(
      daemon.stderr,
      /WARNING: 2 warm-pool runners could not be retired in time, left registered and running: \S+-\w{8}, \S+-\w{8}/,
    );
    assert.equal(ours(sim, prefix).length, 2);
  },
);

engineTest(
  "warm pool: a job with no place waits, then an idle pool runner of another organization " +
    "gives it its place",
  async (sim, prefix) => {
    for (const org of ["acme", "beta", "gamma"]) sim.world.addRepo(`${org}/app`, { org: true });
    // Two places, three organizations: acme's and beta's pools take both.
    const daemon = await Daemon.start(sim, prefix, [
      "--runner-scope",
      "org",
      "--min-idle",
      "1",
      "--max-runners",
      "2",
    ]);
    let exit = -1;
    try {
      const online = () => ours(sim, prefix).filter((r) => r.status === "online");
      await waitFor("acme's and beta's pool runners online", () => online().length === 2);
      assert.deepEqual(online().map((r) => r.scope).sort(), ["acme", "beta"]);
      const { jobs } = sim.world.addRun("gamma/app", {
        name: "CI",
        jobs: [{ name: "one", labels: ["self-hosted"] }],
      });
      await waitFor("gamma's job served", () => jobs[0]!.status === "completed", 60);
      assert.equal(jobs[0]!.conclusion, "success");
      assert.match(
        daemon.stderr,
        /Deleted the registration of runner \S+: a waiting job needs its place \(--max-runners\)/,
      );
      // Never more than the two places.
      assert.ok(sim.jitConfigs.length <= 4, `${sim.jitConfigs.length} registrations`);
    } finally {
      exit = await daemon.stop();
    }
    assert.equal(exit, 0, daemon.stderr);
  },
  { jobSeconds: 0 },
);
