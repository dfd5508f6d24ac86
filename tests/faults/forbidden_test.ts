import assert from "node:assert/strict";
import { asX64Host } from "../helpers/cli.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("faults: one repository's 403 is that repository's problem; the others are served", async () => {
  await withSimulator(async (sim) => {
    for (const repo of ["acme/open", "acme/locked"]) {
      sim.world.addRepo(repo, { org: true });
      sim.world.addRun(repo, { name: "CI", jobs: [{ name: "a", labels: ["self-hosted"] }] });
    }
    sim.faults.push({
      path: /^\/repos\/acme\/locked\/actions\/runs$/,
      status: 403,
      body: JSON.stringify({ message: "Resource not accessible by integration" }),
    });
    const { code, stderr } = await asX64Host(
      ["run", "--once", "--dry-run", "--api-url", sim.url],
      { GH_TOKEN: TOKEN },
    );
    assert.equal(code, 0, stderr);
    assert.match(stderr, /would start 1 cpu runner\(s\) for acme\/open/);
    assert.match(stderr, /Skipped acme\/locked this cycle: .*403/);
  });
});

Deno.test("faults: a secondary rate limit (403, requests left, no retry-after) waits, as GitHub asks", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("acme/api", { org: true });
    sim.faults.push({
      path: /^\/repos\/acme\/api\/actions\/runs$/,
      status: 403,
      body: JSON.stringify({
        message: "You have exceeded a secondary rate limit. Please wait a few minutes before " +
          "you try again.",
      }),
    });
    const { code, stderr } = await asX64Host(
      ["run", "--once", "--dry-run", "--api-url", sim.url],
      { GH_TOKEN: TOKEN },
    );
    assert.equal(code, 1, stderr);
    assert.doesNotMatch(stderr, /may not/);
    const until = stderr.match(/secondary rate limit; waiting until ([^\s;]+)/)?.[1];
    assert.ok(until, stderr);
    assert.ok(Date.parse(until) - Date.now() >= 50_000, `waits at least a minute: ${stderr}`);
  });
});
