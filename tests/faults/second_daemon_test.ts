import assert from "node:assert/strict";
import { makeX64Host, runCli, spawnCli } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("faults: a second daemon beside a running one refuses to start and says who runs", async () => {
  await withSimulator(async (sim) => {
    const host = await makeX64Host();
    const state = await Deno.makeTempDir();
    const options = { pathPrefix: host.bin, env: { GH_TOKEN: TOKEN, XDG_STATE_HOME: state } };
    const args = ["run", "--api-url", sim.url, "--interval", "3600", "--root", host.root];
    const first = await spawnCli(args, options);
    try {
      await first.waitFor(/Found 0 repos/);
      const second = await runCli([...args, "--once"], options);
      assert.equal(second.code, 1, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(
          `Another autoscaler daemon \\(PID ${first.child.pid}\\) already runs with the state directory`,
        ),
      );
      assert.equal(
        sim.requests(/^\/user\/repos$/).length,
        1,
        "the second one asked GitHub nothing",
      );
      assert.equal(await first.stop(), 0, first.log());
      // Once the first has stopped, the lock is free again.
      const after = await runCli([...args, "--once"], options);
      assert.equal(after.code, 0, after.stderr);
    } finally {
      await first.stop();
      await host.remove();
      await Deno.remove(state, { recursive: true });
    }
  });
});
