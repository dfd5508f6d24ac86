import assert from "node:assert/strict";
import { DryRunBackend } from "../../lib/runners/backend.ts";
import { type CycleSettings, observe } from "../../lib/daemon/cycle.ts";
import { createGitHub } from "../../lib/github/client.ts";
import { EtagCache } from "../../lib/github/etag_cache.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

const SETTINGS: CycleSettings = {
  selection: { owners: [], repos: [], sinceDays: 1, app: false },
  host: {
    arch: "x64",
    labels: ["self-hosted", "linux", "x64", "cpu-only"],
    kinds: {
      cpu: { labels: ["self-hosted", "linux", "x64", "cpu-only"], capacity: Infinity },
    },
  },
  maxRunners: 4,
  archFilter: true,
  runnerPrefix: "autoscaler-test-",
  concurrency: 8,
  idleTimeoutMs: 300_000,
  runnerScope: "repo",
};

/** What `observe` needs, with a client using `cache` (none: no conditional requests). */
function cycleDeps(url: string, cache: EtagCache | undefined) {
  return {
    github: createGitHub(url, { kind: "token", token: TOKEN }, { cache }),
    backend: new DryRunBackend(),
    now: () => new Date(),
    signal: new AbortController().signal,
  };
}

/** Counted requests of each of three idle cycles over 100 repositories. */
async function idleCycles(cache: EtagCache | undefined) {
  return await withSimulator(async (sim) => {
    for (let i = 0; i < 100; i++) sim.world.addRepo(`org/r${i}`, { org: true });
    const deps = cycleDeps(sim.url, cache);
    const counted: number[] = [];
    for (let cycle = 0; cycle < 3; cycle++) {
      const before = sim.log.length;
      await observe(deps, SETTINGS);
      counted.push(sim.log.slice(before).filter((r) => r.counted).length);
    }
    return { counted, log: sim.log };
  });
}

Deno.test("idle cycles after the first cost no rate limit with conditional requests", async () => {
  const cache = new EtagCache();
  const { counted, log } = await idleCycles(cache);
  // 1 repository list + 2 run lists for each of 100 repositories, then all 304s.
  assert.deepEqual(counted, [201, 0, 0]);
  const later = log.slice(201);
  assert.ok(later.every((r) => r.conditional && r.status === 304));
  assert.equal(cache.hits, 402);
});

Deno.test("without conditional requests every idle cycle costs the same", async () => {
  const { counted, log } = await idleCycles(undefined);
  assert.deepEqual(counted, [201, 201, 201]);
  assert.ok(log.every((r) => !r.conditional));
});

Deno.test("a changed answer is fetched again; the cache keeps at most its limit", async () => {
  await withSimulator(async (sim) => {
    for (let i = 0; i < 10; i++) sim.world.addRepo(`org/r${i}`, { org: true });
    const cache = new EtagCache(5);
    const deps = cycleDeps(sim.url, cache);
    await observe(deps, SETTINGS);
    assert.equal(cache.size, 5);
    const bytes = new EtagCache(1000, 4000);
    await observe(cycleDeps(sim.url, bytes), SETTINGS);
    assert.ok(bytes.bytes <= 4000 && bytes.size > 0, `${bytes.size} answers, ${bytes.bytes} bytes`);
    sim.world.addRun("org/r9", { name: "CI", jobs: [{ name: "j", labels: ["self-hosted"] }] });
    const observation = await observe(deps, SETTINGS);
    assert.equal(observation.plan.decisions.length, 1, "the new job is seen");
  });
});
