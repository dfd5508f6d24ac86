import assert from "node:assert/strict";
import { asX64Host } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("faults: a scheduled job in a repository last pushed 3 days ago is served by default", async () => {
  await withSimulator(async (sim) => {
    const threeDaysAgo = new Date(sim.world.now().getTime() - 3 * 86_400_000).toISOString();
    sim.world.addRepo("acme/quiet", { org: true, pushedAt: threeDaysAgo });
    sim.world.addRun("acme/quiet", {
      name: "Nightly",
      event: "schedule",
      jobs: [{ name: "n", labels: ["self-hosted"] }],
    });
    const run = (extra: string[]) =>
      asX64Host(["run", "--once", "--dry-run", "--api-url", sim.url, ...extra], {
        GH_TOKEN: TOKEN,
      });
    const byDefault = await run([]);
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.match(byDefault.stderr, /Found 1 repos with 1 queued jobs/);
    assert.match(byDefault.stderr, /would start 1 cpu runner\(s\) for acme\/quiet/);
    const narrowed = await run(["--since-days", "1"]);
    assert.match(narrowed.stderr, /Found 0 repos with 0 queued jobs/, "the flag still narrows");
  });
});
