import assert from "node:assert/strict";
import {
  cacheVolumesOf,
  containersOf,
  Daemon,
  engineTest,
  waitFor,
} from "../helpers/engine_runs.ts";
import { runCli } from "../helpers/cli.ts";
import type { GitHubSimulator } from "../../lib/simulator/server.ts";
import type { SimJob } from "../../lib/simulator/objects.ts";

const TOOL_BYTES = 200_000;

/** Queues `count` jobs of `repo` at once and waits until all are done; returns them. */
async function serve(sim: GitHubSimulator, repo: string, count = 1): Promise<SimJob[]> {
  const { jobs } = sim.world.addRun(repo, {
    name: "CI",
    jobs: Array.from({ length: count }, (_, i) => ({ name: `job${i}`, labels: ["self-hosted"] })),
  });
  await waitFor(
    `${count} jobs of ${repo} served`,
    () => jobs.every((j) => j.status === "completed"),
  );
  return jobs;
}

/** What each job's runner found in its tool cache. */
const found = (sim: GitHubSimulator, jobs: SimJob[]) => jobs.map((j) => sim.toolCache.get(j.id));

/** Waits until the runner containers are gone (a finished one holds its cache slot until then). */
const containersGone = (prefix: string) =>
  waitFor("the runner containers removed", async () => (await containersOf(prefix)).length === 0);

engineTest(
  "caches: a repository's next job finds the tool its last job set up, another repository's " +
    "job does not, and /metrics counts the hits",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app");
    sim.world.addRepo("acme/web");
    const daemon = await Daemon.start(sim, prefix, ["--metrics-listen", "127.0.0.1:0"]);
    try {
      const port = (await daemon.waitFor(/Serving metrics on 127\.0\.0\.1:(\d+)/))[1];
      assert.deepEqual(found(sim, await serve(sim, "acme/app")), ["miss"], daemon.stderr);
      assert.equal(sim.toolBytesServed, TOOL_BYTES);
      await containersGone(prefix);
      assert.deepEqual(found(sim, await serve(sim, "acme/app")), ["hit"], daemon.stderr);
      assert.match(
        daemon.stderr,
        /Started cpu runner \S+ for acme\/app in container \w+, cache slot 0 \(new\)/,
      );
      assert.match(
        daemon.stderr,
        /Started cpu runner \S+ for acme\/app in container \w+, cache slot 0 \(there before\)/,
      );
      assert.equal(sim.toolBytesServed, TOOL_BYTES, "the second job downloaded the tool again");
      await containersGone(prefix);
      assert.deepEqual(found(sim, await serve(sim, "acme/web")), ["miss"], daemon.stderr);
      assert.equal(sim.toolBytesServed, 2 * TOOL_BYTES);
      const volumes = await cacheVolumesOf(prefix);
      assert.equal(volumes.length, 2, volumes.join(", "));
      assert.match(volumes[0]!, /-cache-acme-app-[0-9a-f]{8}-0-tool$/);
      assert.match(volumes[1]!, /-cache-acme-web-[0-9a-f]{8}-0-tool$/);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^autoscaler_cache_starts_total\{result="hit"\} 1$/m);
      assert.match(metrics, /^autoscaler_cache_starts_total\{result="miss"\} 2$/m);
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.stderr);
    }
  },
  { toolBytes: TOOL_BYTES, jobSeconds: 0 },
);

engineTest(
  "caches: two jobs of one repository at once each fill a slot of their own, and the next two " +
    "find both whole",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app");
    const daemon = await Daemon.start(sim, prefix);
    try {
      assert.deepEqual(found(sim, await serve(sim, "acme/app", 2)), ["miss", "miss"]);
      const volumes = await cacheVolumesOf(prefix);
      assert.deepEqual(volumes.map((v) => v.replace(/^.*-(\d+-tool)$/, "$1")), [
        "0-tool",
        "1-tool",
      ]);
      await containersGone(prefix);
      assert.deepEqual(found(sim, await serve(sim, "acme/app", 2)), ["hit", "hit"], daemon.stderr);
      assert.equal(sim.toolBytesServed, 2 * TOOL_BYTES);
      assert.deepEqual(await cacheVolumesOf(prefix), volumes);
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.stderr);
    }
  },
  // Long enough for both runners to hold their slots at once.
  { toolBytes: TOOL_BYTES, jobSeconds: 2 },
);

engineTest(
  "caches: over --cache-max-repo the least recently used slot is pruned, cache prune empties " +
    "the rest, uninstall-service --purge leaves no volume, and --no-cache makes none",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app");
    // Two slots of 600 kB are over 1 MiB: the sweep (every 30 cycles) prunes one.
    const daemon = await Daemon.start(sim, prefix, ["--interval", "0.2", "--cache-max-repo", "1m"]);
    try {
      await serve(sim, "acme/app", 2);
      await daemon.waitFor(
        /Pruned cache slot [01] of acme\/app \(\d+\.\d KiB\): least recently used, over --cache-max-repo/,
      );
      assert.equal((await cacheVolumesOf(prefix)).length, 1);
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.stderr);
    }
    const listed = await runCli(["cache", "ls", "--json", "--name-prefix", prefix]);
    assert.equal(listed.code, 0, listed.stderr);
    const [entry, ...more] = JSON.parse(listed.stdout);
    assert.deepEqual(more, []);
    assert.equal(entry.key, "repo:acme/app");
    assert.equal(entry.inUse, false);
    assert.ok(entry.bytes >= 600_000, listed.stdout);
    const pruned = await runCli(["cache", "prune", "--name-prefix", prefix]);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /^Removed 1 cache slot \(\d+\.\d KiB\)$/m);
    assert.deepEqual(await cacheVolumesOf(prefix), []);
    assert.equal(
      (await runCli(["cache", "ls", "--name-prefix", prefix])).stdout,
      "No runner caches on this host\n",
    );

    const again = await Daemon.start(sim, prefix);
    try {
      await serve(sim, "acme/app");
      // A runner's container holds its cache until the daemon removes it.
      await containersGone(prefix);
    } finally {
      assert.equal(await again.stop(), 0, again.stderr);
    }
    assert.equal((await cacheVolumesOf(prefix)).length, 1);
    const destdir = await Deno.makeTempDir();
    try {
      const purge = await runCli(["uninstall-service", "--purge", "--destdir", destdir]);
      assert.equal(purge.code, 0, purge.stdout + purge.stderr);
      assert.match(purge.stdout, /^Removed \d+ runner cache volumes?$/m);
    } finally {
      await Deno.remove(destdir, { recursive: true });
    }
    assert.deepEqual(await cacheVolumesOf(prefix), []);

    const without = await Daemon.start(sim, prefix, ["--no-cache"]);
    try {
      assert.deepEqual(found(sim, await serve(sim, "acme/app")), ["miss"]);
    } finally {
      assert.equal(await without.stop(), 0, without.stderr);
    }
    assert.deepEqual(await cacheVolumesOf(prefix), []);
  },
  { toolBytes: 600_000, jobSeconds: 2 },
);
