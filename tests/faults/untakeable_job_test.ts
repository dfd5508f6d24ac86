import assert from "node:assert/strict";
import { runnerPrefix } from "../../lib/commands/setup.ts";
import { asX64Host, TEST_HOST_ID } from "../helpers/cli.ts";
import { dockerWithOneRunner, RUNNER_LABELS } from "../helpers/fake_docker.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("faults: a job our runners never take is backed off, not restarted every idle timeout", async () => {
  await withSimulator(async (sim) => {
    const name = `${runnerPrefix(Deno.hostname(), TEST_HOST_ID)}idle0001`;
    sim.world.addRepo("acme/api", { org: true });
    // GitHub never hands this job to our runners (say, another runner group).
    const { jobs } = sim.world.addRun("acme/api", {
      name: "CI",
      jobs: [{ name: "elsewhere", labels: ["self-hosted"] }],
    });
    sim.world.addRunner("acme/api", { name, labels: RUNNER_LABELS, status: "online" });
    const dir = await Deno.makeTempDir();
    try {
      const { code, stderr } = await asX64Host(
        ["run", "--once", "--api-url", sim.url, "--idle-timeout", "60"],
        { GH_TOKEN: TOKEN },
        { docker: dockerWithOneRunner(name, `${dir}/calls`, { "for-job": String(jobs[0]!.id) }) },
      );
      assert.equal(code, 0, stderr);
      assert.equal(await Deno.readTextFile(`${dir}/calls`), "rm\n", stderr);
      assert.match(
        stderr,
        new RegExp(
          `Job ${
            jobs[0]!.id
          } of acme/api was not taken by runner ${name} within 60 s: GitHub may ` +
            "not hand it to our runners \\(another runner group\\?\\); backing off 60 s",
        ),
      );
      assert.deepEqual(sim.requests(/generate-jitconfig$/), [], "no new runner for it");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
