import assert from "node:assert/strict";
import { join } from "node:path";
import { containersOf, Daemon, engineTest, waitFor } from "../helpers/engine_runs.ts";
import { makeFaultyDocker } from "../helpers/faulty_docker.ts";
import type { GitHubSimulator } from "../../lib/simulator/server.ts";
import type { SimJob } from "../../lib/simulator/objects.ts";

/** Short long polls and sessions, so that a dead listener's jobs come back in seconds. */
const FAST = { longPollSeconds: 2, sessionTimeoutSeconds: 3 };

/** A state directory holding host identity `id`: one more host on this machine. */
async function hostState(id: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `autoscaler-host-${id}-` });
  await Deno.writeTextFile(join(dir, "host-id"), `${id}\n`);
  return dir;
}

/** A daemon of `run --mode scaleset` in organization acme, as the host of `stateDir`. */
function scaleSetDaemon(
  sim: GitHubSimulator,
  prefix: string,
  stateDir: string,
  extra: string[] = [],
  env: Record<string, string> = {},
  pathPrefix?: string,
): Promise<Daemon> {
  return Daemon.start(sim, prefix, [
    "--mode",
    "scaleset",
    "--owner",
    "acme",
    "--state-dir",
    stateDir,
    "--no-cache",
    ...extra,
  ], { env, pathPrefix });
}

/** Queues `count` jobs of acme/app asking for `labels`. */
function queue(sim: GitHubSimulator, count: number, labels = ["self-hosted", "linux"]): SimJob[] {
  return sim.world.addRun("acme/app", {
    name: "CI",
    jobs: Array.from({ length: count }, (_, i) => ({ name: `job${i}`, labels })),
  }).jobs;
}

/** The scale set whose name carries host id `id`. */
const scaleSetOf = (sim: GitHubSimulator, id: string) =>
  sim.scaleSets.scaleSets.find((s) => s.name.includes(`-${id}-`));

engineTest(
  "scale sets: two hosts share 40 jobs, each served once, neither over its capacity, and no " +
    "runner without a job",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    const states = [await hostState("aaaa0001"), await hostState("bbbb0002")];
    const daemons = [
      await scaleSetDaemon(sim, prefix, states[0]!),
      await scaleSetDaemon(sim, prefix, states[1]!),
    ];
    try {
      for (const daemon of daemons) await daemon.waitFor(/Listening for the jobs of scale set/);
      const jobs = queue(sim, 40);
      let most = 0;
      await waitFor("40 jobs served", async () => {
        for (const id of ["aaaa0001", "bbbb0002"]) {
          const set = scaleSetOf(sim, id)!;
          const load = sim.world.jobs.filter((j) =>
            j.scaleSetId === set.id && j.status !== "completed"
          ).length;
          const running = (await containersOf(prefix, false)).filter((c) => c.includes(id));
          most = Math.max(most, load, running.length);
        }
        return jobs.every((j) => j.status === "completed");
      }, 120);
      assert.ok(most <= 3, `a host held ${most} jobs or runners at once, over its 3`);
      const runners = jobs.map((j) => j.runnerName);
      assert.equal(new Set(runners).size, 40, "a runner took two jobs, or a job none");
      // Every runner registered took a job: none was started without one.
      assert.equal(sim.jitConfigs.length, 40, daemons.map((d) => d.stderr).join("\n"));
      const served = (id: string) => runners.filter((name) => name?.includes(`-${id}-`)).length;
      assert.ok(served("aaaa0001") > 0 && served("bbbb0002") > 0, "one host served nothing");
      assert.equal(served("aaaa0001") + served("bbbb0002"), 40);
      assert.equal(sim.requests(/actions\/runs/).length, 0, "a scale set host polled for jobs");
    } finally {
      for (const daemon of daemons) assert.equal(await daemon.stop(), 0, daemon.stderr);
      for (const dir of states) await Deno.remove(dir, { recursive: true });
    }
    // A stop closes the sessions; the scale sets stay for the next start.
    assert.equal(sim.scaleSets.sessions.size, 0);
    assert.equal(sim.scaleSets.scaleSets.length, 2);
  },
  { jobSeconds: 1, scaleSets: FAST },
);
