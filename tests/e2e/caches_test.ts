import assert from "node:assert/strict";
import {
  cacheVolumesOf,
  containersOf,
  Daemon,
  docker,
  engineTest,
  ours,
  waitFor,
} from "../helpers/engine_runs.ts";
import { runCli, TEST_HOST_ID } from "../helpers/cli.ts";
import { TEST_IMAGE } from "../helpers/runner_image.ts";
import { runnerPrefix } from "../../lib/commands/setup.ts";
import { LABEL, MANAGED_BY } from "../../lib/runners/docker.ts";
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

/** Waits until the runner containers are gone, as a later job's would come after them. */
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
      assert.match(volumes[0]!, /-cache-acme-app-[0-9a-f]{16}-0-tool$/);
      assert.match(volumes[1]!, /-cache-acme-web-[0-9a-f]{16}-0-tool$/);
      // Pruning beside the daemon could take a slot a runner is starting with: refused.
      const beside = await runCli(["cache", "prune", "--name-prefix", prefix]);
      assert.equal(beside.code, 1, beside.stdout);
      assert.match(beside.stderr, /Another autoscaler daemon \(PID \d+\) already runs/);
      assert.equal((await cacheVolumesOf(prefix)).length, 2);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^autoscaler_cache_starts_total\{result="hit"\} 1$/m);
      assert.match(metrics, /^autoscaler_cache_starts_total\{result="miss"\} 2$/m);
      // Measured at the daemon's start, before any cache.
      assert.match(metrics, /^autoscaler_cache_bytes 0$/m);
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
      // Both runners online and held: `cache ls` shows both slots taken.
      sim.holdRunners = true;
      const served = serve(sim, "acme/app", 2);
      await waitFor(
        "two runners online",
        () => ours(sim, prefix).filter((r) => r.status === "online").length === 2,
      );
      const listed = await runCli(["cache", "ls", "--json", "--name-prefix", prefix]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(
        JSON.parse(listed.stdout).map((e: { slot: number; inUse: boolean }) => [e.slot, e.inUse]),
        [[0, true], [1, true]],
      );
      sim.holdRunners = false;
      assert.deepEqual(found(sim, await served), ["hit", "hit"], daemon.stderr);
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

    // --purge goes by the host identity alone: a host of its own, so it touches no other test's.
    const home = await Deno.makeTempDir();
    await Deno.mkdir(`${home}/github-autoscaler`);
    await Deno.writeTextFile(`${home}/github-autoscaler/host-id`, "9e57c0de\n");
    const hostVolumes = async () =>
      (await docker("volume", "ls", "--quiet", "--filter", `label=${LABEL}.cache-host=9e57c0de`))
        .split("\n").filter((name) => name !== "");
    try {
      const again = await Daemon.start(sim, prefix, [], { env: { XDG_STATE_HOME: home } });
      try {
        await serve(sim, "acme/app");
        // A runner's container holds its cache until the daemon removes it.
        await containersGone(prefix);
        const beside = await runCli(["uninstall-service", "--purge", "--destdir", home], {
          env: { XDG_STATE_HOME: home },
        });
        assert.equal(beside.code, 1, beside.stdout);
        assert.match(beside.stderr, /Another autoscaler daemon \(PID \d+\) already runs/);
      } finally {
        assert.equal(await again.stop(), 0, again.stderr);
      }
      assert.equal((await hostVolumes()).length, 1);
      const purge = await runCli(["uninstall-service", "--purge", "--destdir", home], {
        env: { XDG_STATE_HOME: home },
      });
      assert.equal(purge.code, 0, purge.stdout + purge.stderr);
      assert.match(purge.stdout, /^Removed 1 runner cache volume$/m);
      assert.deepEqual(await hostVolumes(), []);
    } finally {
      const left = await hostVolumes();
      if (left.length > 0) await docker("volume", "rm", "--force", ...left);
      await Deno.remove(home, { recursive: true });
    }

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

engineTest(
  "caches: a runner whose container has exited holds its slot no more: the next job of its " +
    "repository gets that slot, even before the container is removed",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app");
    const first = await Daemon.start(sim, prefix);
    try {
      assert.deepEqual(found(sim, await serve(sim, "acme/app")), ["miss"], first.stderr);
      await containersGone(prefix);
    } finally {
      assert.equal(await first.stop(), 0, first.stderr);
    }
    // What a runner that has just finished leaves: its container exited, its slot's volume on.
    const [volume] = await cacheVolumesOf(prefix);
    const name = `${runnerPrefix(Deno.hostname(), TEST_HOST_ID, prefix)}0ff0ff0f`;
    const labels = {
      "managed-by": MANAGED_BY,
      "runner-name": name,
      scope: "acme/app",
      repo: "acme/app",
      kind: "cpu",
      "cache-key": "repo:acme/app",
      "cache-slot": "0",
    };
    await docker(
      "run",
      "--name",
      name,
      ...Object.entries(labels).flatMap(([key, value]) => ["--label", `${LABEL}.${key}=${value}`]),
      "--mount",
      `type=volume,source=${volume},target=/opt/hostedtoolcache`,
      "--entrypoint",
      "sh",
      TEST_IMAGE,
      "-c",
      "exit 0",
    );
    const second = await Daemon.start(sim, prefix);
    try {
      assert.deepEqual(found(sim, await serve(sim, "acme/app")), ["hit"], second.stderr);
      assert.match(second.stderr, /for acme\/app in container \w+, cache slot 0 \(there before\)/);
      assert.deepEqual(await cacheVolumesOf(prefix), [volume]);
    } finally {
      assert.equal(await second.stop(), 0, second.stderr);
    }
  },
  { toolBytes: TOOL_BYTES, jobSeconds: 0 },
);
