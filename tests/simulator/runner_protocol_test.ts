import assert from "node:assert/strict";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("simulator: a stand-in runner is told its boot time, and its ask for a job waits for one", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/app", { org: true });
    const registered = await fetch(`${sim.url}/orgs/acme/actions/runners/generate-jitconfig`, {
      method: "POST",
      headers: { authorization: `token ${TOKEN}` },
      body: JSON.stringify({ name: "r1", runner_group_id: 1, labels: ["self-hosted"] }),
    });
    const { runner, encoded_jit_config } = await registered.json();
    const config = Object.fromEntries(
      atob(encoded_jit_config).trim().split("\n").map((line) => line.split("=", 2)),
    );
    assert.equal(config.boot, "3");
    const call = async (step: string) =>
      await (await fetch(`${sim.url}/_simulator/runners/${runner.id}/${step}`, {
        method: "POST",
        body: config.secret,
      })).text();
    assert.equal(await call("connect"), "ok\n");
    // Asked before the job is queued, answered with it: a long poll, as GitHub's broker does.
    const asking = call("acquire");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { jobs } = sim.world.addRun("acme/app", {
      name: "CI",
      jobs: [{ name: "a", labels: ["self-hosted"] }],
    });
    assert.equal(await asking, `job ${jobs[0]!.id} 1\n`);
    assert.equal(jobs[0]!.status, "in_progress");
    assert.equal(jobs[0]!.runnerName, "r1");
    // A busy runner gets no second job: its ask ends empty-handed after the wait.
    assert.equal(await call("acquire"), "none\n");
  }, { runnerBootSeconds: 3 });
});
