import assert from "node:assert/strict";
import { runnerPrefix } from "../../lib/commands/setup.ts";
import { asX64Host, TEST_HOST_ID } from "../helpers/cli.ts";
import { dockerWithOneRunner, RUNNER_LABELS } from "../helpers/fake_docker.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("faults: an idle runner that takes a job while it is reaped keeps its container", async () => {
  await withSimulator(async (sim) => {
    const name = `${runnerPrefix(Deno.hostname(), TEST_HOST_ID)}idle0001`;
    sim.world.addRepo("acme/api", { org: true });
    sim.world.addRunner("acme/api", { name, labels: RUNNER_LABELS, status: "online" });
    // GitHub hands the runner a job between our look and our delete: the delete is refused.
    sim.faults.push({
      method: "DELETE",
      path: /\/actions\/runners\/\d+$/,
      status: 422,
      body: JSON.stringify({ message: `Bad request - Runner "${name}" is still running a job"` }),
    });
    const dir = await Deno.makeTempDir();
    try {
      const { code, stderr } = await asX64Host(
        ["run", "--once", "--api-url", sim.url, "--idle-timeout", "60"],
        { GH_TOKEN: TOKEN },
        { docker: dockerWithOneRunner(name, `${dir}/calls`) },
      );
      assert.equal(code, 0, stderr);
      assert.equal(sim.requests(/\/actions\/runners\/\d+$/).length, 1, stderr);
      assert.equal(await Deno.readTextFile(`${dir}/calls`).catch(() => ""), "", stderr);
      assert.match(stderr, /Runner .*idle0001 is busy; will delete it later/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
