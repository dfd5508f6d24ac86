import assert from "node:assert/strict";
import { runnerPrefix } from "../../lib/commands/setup.ts";
import { asX64Host, TEST_HOST_ID } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

const LABELS = ["self-hosted", "linux", "x64", "cpu-only"];

/** A docker whose `ps` lists two containers of ours and whose `inspect` fails; `run` is logged. */
function inspectFails(runLog: string): string {
  return `case "$1" in
  ps) echo aaaa; echo bbbb ;;
  inspect) echo "Error: No such object: bbbb" >&2; exit 1 ;;
  image) exit 0 ;;
  run) echo "$*" >> '${runLog}'; echo cccc ;;
  rm) echo "$*" >> '${runLog}' ;;
  volume) exit 0 ;;
  system) echo '[]' ;;
  *) echo 20.10.24 ;;
esac`;
}

Deno.test("faults: a failed docker inspect starts nothing and deletes nothing", async () => {
  await withSimulator(async (sim) => {
    const prefix = runnerPrefix(Deno.hostname(), TEST_HOST_ID);
    sim.world.addRepo("acme/api", { org: true });
    sim.world.addRun("acme/api", {
      name: "CI",
      jobs: [{ name: "a", labels: ["self-hosted"] }, { name: "b", labels: ["self-hosted"] }],
    });
    sim.world.addRunner("acme/api", {
      name: `${prefix}busy0001`,
      labels: LABELS,
      status: "online",
      busy: true,
    });
    sim.world.addRunner("acme/api", { name: `${prefix}start001`, labels: LABELS });
    const dir = await Deno.makeTempDir();
    try {
      const { code, stderr } = await asX64Host(
        ["run", "--once", "--api-url", sim.url, "--max-runners", "2"],
        { GH_TOKEN: TOKEN },
        { docker: inspectFails(`${dir}/calls`) },
      );
      assert.equal(code, 1, stderr);
      assert.match(stderr, /Cycle 1 failed: Cannot inspect containers: docker exited with code 1/);
      assert.equal(await Deno.readTextFile(`${dir}/calls`).catch(() => ""), "", "no run, no rm");
      assert.deepEqual(sim.requests(/\/actions\/runners\/\d+$/), [], "no registration deleted");
      assert.deepEqual(sim.requests(/generate-jitconfig$/), [], "no runner registered");
      assert.equal(sim.world.runners.length, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
