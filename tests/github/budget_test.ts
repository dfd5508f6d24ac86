import assert from "node:assert/strict";
import { RateBudget, RateLimited } from "../../lib/github/budget.ts";
import { createGitHub } from "../../lib/github/client.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

const LIMITED = '{"message":"You have exceeded a secondary rate limit."}';

Deno.test("a short retry-after is waited out and the request tried once more", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("org/a", { org: true });
    sim.faults.push({
      path: /^\/user\/repos$/,
      status: 429,
      body: LIMITED,
      times: 1,
      headers: { "retry-after": "7" },
    });
    const waits: number[] = [];
    const budget = new RateBudget((ms) => {
      waits.push(ms);
      return Promise.resolve();
    });
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN }, { budget });
    const response = await github.request("GET /user/repos");
    assert.equal(response.status, 200);
    assert.deepEqual(waits, [7000]);
    assert.deepEqual(sim.log.map((r) => r.status), [429, 200]);
    assert.equal(budget.remaining, 4998);
    assert.ok(budget.resetAt !== null);
  });
});

Deno.test("a long retry-after ends the request with RateLimited and its time", async () => {
  await withSimulator(async (sim) => {
    sim.faults.push({
      path: /^\/user\/repos$/,
      status: 403,
      body: LIMITED,
      headers: { "retry-after": "3600" },
    });
    const budget = new RateBudget(() => Promise.reject(new Error("must not sleep")));
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN }, { budget });
    await assert.rejects(github.request("GET /user/repos"), (error: unknown) => {
      assert.ok(error instanceof RateLimited);
      assert.ok(error.resetAt.getTime() - Date.now() > 3500_000);
      return true;
    });
  });
});

Deno.test("the interval stretches only when the budget would not last until the reset", () => {
  const budget = new RateBudget();
  const now = new Date();
  budget.remaining = 1000;
  budget.resetAt = new Date(now.getTime() + 3_600_000);
  assert.equal(budget.interval(60_000, 10, now), 60_000, "100 cycles of 60 s fit in the hour");
  assert.equal(budget.interval(60_000, 200, now), 720_000, "5 cycles in an hour: every 12 min");
  assert.equal(budget.interval(60_000, 2000, now), 3_600_000, "none left: wait for the reset");
  assert.equal(budget.interval(60_000, 0, now), 60_000, "an idle cycle of 304s costs nothing");
});

Deno.test("requests to one endpoint are paced under the secondary limit of points per minute", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("org/a", { org: true });
    let now = 0;
    const waits: number[] = [];
    const budget = new RateBudget(
      (ms) => {
        waits.push(ms);
        now += ms;
        return Promise.resolve();
      },
      () => now,
      10,
    );
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN }, { budget });
    for (let i = 0; i < 10; i++) {
      await github.request("GET /repos/{owner}/{repo}/actions/runs", { owner: "org", repo: "a" });
      now += 1000;
    }
    assert.deepEqual(waits, [], "10 points a minute are allowed");
    await github.request("GET /repos/{owner}/{repo}/actions/runs", { owner: "org", repo: "a" });
    assert.deepEqual(waits, [50_000], "the 11th waits until the first leaves the minute");
    await github.request("GET /user/repos");
    assert.equal(waits.length, 1, "another endpoint has its own budget");
  });
});

Deno.test("a repeated secondary limit waits twice as long each time, though other requests succeed", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("org/a", { org: true });
    sim.faults.push({ path: /^\/repos\/org\/a\/actions\/runs$/, status: 403, body: LIMITED });
    const budget = new RateBudget(() => Promise.reject(new Error("must not sleep")));
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN }, { budget });
    const waits: number[] = [];
    for (let cycle = 0; cycle < 4; cycle++) {
      await github.request("GET /user/repos"); // each cycle starts with a success elsewhere
      const error = await github.request("GET /repos/{owner}/{repo}/actions/runs", {
        owner: "org",
        repo: "a",
      }).catch((e) => e);
      assert.ok(error instanceof RateLimited, String(error));
      waits.push(Math.round((error.resetAt.getTime() - Date.now()) / 60_000));
    }
    assert.deepEqual(waits, [1, 2, 4, 8]);
  });
});
