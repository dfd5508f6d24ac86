import assert from "node:assert/strict";
import { asX64Host } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

/**
 * A docker that has no containers and "starts" each runner without running it, so a daemon
 * registers its runners on the simulator and leaves them there, as a host whose runners are
 * still starting does.
 */
const STARTS_NOTHING = `case "$1" in
  ps) exit 0 ;;
  image) exit 0 ;;
  run) echo 0123456789abcdef ;;
  *) echo 20.10.24 ;;
esac`;

Deno.test("faults: a host never deletes the runners of another host of the same name", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/api", { org: true });
    sim.world.addRun("acme/api", {
      name: "CI",
      jobs: [{ name: "a", labels: ["self-hosted"] }, { name: "b", labels: ["self-hosted"] }],
    });
    // Two hosts with one name (cloned VMs), each with its own state directory.
    const hostA = await Deno.makeTempDir();
    const hostB = await Deno.makeTempDir();
    try {
      const runOnce = (stateHome: string) =>
        asX64Host(
          // Without caches: this docker keeps no volumes.
          [
            "run",
            "--once",
            "--api-url",
            sim.url,
            "--max-runners",
            "2",
            "--idle-timeout",
            "600",
            "--no-cache",
          ],
          { GH_TOKEN: TOKEN, XDG_STATE_HOME: stateHome },
          { docker: STARTS_NOTHING },
        );
      const b = await runOnce(hostB);
      assert.equal(b.code, 0, b.stderr);
      const hostBRunners = sim.world.runners.map((r) => r.name);
      assert.equal(hostBRunners.length, 2, b.stderr);

      const a = await runOnce(hostA);
      assert.equal(a.code, 0, a.stderr);
      assert.deepEqual(sim.requests(/\/actions\/runners\/\d+$/).map((r) => r.method), []);
      for (const name of hostBRunners) {
        assert.ok(sim.world.runners.some((r) => r.name === name), `${name} is gone:\n${a.stderr}`);
      }
      assert.doesNotMatch(a.stderr, /Deleted the registration/);
    } finally {
      await Deno.remove(hostA, { recursive: true });
      await Deno.remove(hostB, { recursive: true });
    }
  });
});
