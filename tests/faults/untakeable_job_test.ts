import assert from "node:assert/strict";
import { runnerPrefix } from "../../lib/commands/setup.ts";
import { asX64Host, TEST_HOST_ID } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

const LABELS = "self-hosted,linux,x64,docker,cpu-only";

/** A docker with one running container of ours, started 10 minutes ago for job `forJob`. */
function idleRunnerFor(name: string, forJob: number, calls: string): string {
  const created = new Date(Date.now() - 600_000).toISOString();
  const inspect = JSON.stringify([{
    Id: "c0ffee",
    Created: created,
    State: { Status: "running", ExitCode: 0 },
    Config: {
      Labels: {
        "io.github-autoscaler.managed-by": "github-autoscaler",
        "io.github-autoscaler.runner-name": name,
        "io.github-autoscaler.scope": "acme/api",
        "io.github-autoscaler.repo": "acme/api",
        "io.github-autoscaler.kind": "cpu",
        "io.github-autoscaler.labels": LABELS,
        "io.github-autoscaler.created": created,
        "io.github-autoscaler.for-job": String(forJob),
      },
    },
  }]);
  return `case "$1" in
  ps) echo c0ffee ;;
  inspect) cat <<'JSON'
${inspect}
JSON
  ;;
  image) exit 0 ;;
  run) echo run >> '${calls}'; echo beef ;;
  rm) echo rm >> '${calls}' ;;
  *) echo 20.10.24 ;;
esac`;
}

Deno.test("faults: a job our runners never take is backed off, not restarted every idle timeout", async () => {
  await withSimulator(async (sim) => {
    const name = `${runnerPrefix(Deno.hostname(), TEST_HOST_ID)}idle0001`;
    sim.world.addRepo("acme/api", { org: true });
    // GitHub never hands this job to our runners (say, another runner group).
    const { jobs } = sim.world.addRun("acme/api", {
      name: "CI",
      jobs: [{ name: "elsewhere", labels: ["self-hosted"] }],
    });
    sim.world.addRunner("acme/api", { name, labels: LABELS.split(","), status: "online" });
    const dir = await Deno.makeTempDir();
    try {
      const { code, stderr } = await asX64Host(
        ["run", "--once", "--api-url", sim.url, "--idle-timeout", "60"],
        { GH_TOKEN: TOKEN },
        { docker: idleRunnerFor(name, jobs[0]!.id, `${dir}/calls`) },
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
