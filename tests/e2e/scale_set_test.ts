import assert from "node:assert/strict";
import { join } from "node:path";
import {
  containersOf,
  Daemon,
  engineTest,
  removeContainersOf,
  waitFor,
} from "../helpers/engine_runs.ts";
import { makeFaultyDocker } from "../helpers/faulty_docker.ts";
import { runCli } from "../helpers/cli.ts";
import { TOKEN } from "../helpers/sim.ts";
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

engineTest(
  "scale sets: a host killed mid-way loses its unstarted jobs to the other, which serves them",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    const states = [await hostState("aaaa0003"), await hostState("bbbb0004")];
    // Host A registers runners but cannot start their containers: its jobs wait on it.
    const faulty = await makeFaultyDocker();
    await faulty.inject("run", "fail", 1000);
    const a = await scaleSetDaemon(sim, prefix, states[0]!, [], {}, faulty.bin);
    let b: Daemon | null = null;
    try {
      await a.waitFor(/Listening for the jobs of scale set/);
      const jobs = queue(sim, 5);
      const setA = scaleSetOf(sim, "aaaa0003")!;
      await waitFor(
        "3 jobs assigned to host A",
        () => jobs.filter((j) => j.scaleSetId === setA.id).length === 3,
      );
      await a.waitFor(/Could not start runners for scale set/);
      assert.equal(await a.stop("SIGKILL"), 137);
      b = await scaleSetDaemon(sim, prefix, states[1]!);
      await waitFor("every job served", () => jobs.every((j) => j.status === "completed"), 60);
      const setB = scaleSetOf(sim, "bbbb0004")!;
      // A's three went back to the queue when its session went quiet, and B took them.
      const movedFromA = jobs.filter((j) =>
        sim.scaleSets.assignments.some((x) => x.jobId === j.id && x.scaleSetId === setA.id)
      );
      assert.equal(movedFromA.length, 3);
      assert.ok(jobs.every((j) => j.scaleSetId === setB.id && j.runnerName?.includes("bbbb0004")));
      assert.equal(new Set(jobs.map((j) => j.runnerName)).size, 5);
    } finally {
      if (b) assert.equal(await b.stop(), 0, b.stderr);
      await faulty.remove();
      for (const dir of states) await Deno.remove(dir, { recursive: true });
    }
  },
  { jobSeconds: 1, scaleSets: FAST },
);

engineTest(
  "scale sets: deleted by GitHub, the scale set is made again and its jobs served; a restart " +
    "after a crash closes its own stale session; a second daemon with this identity stops " +
    "with a clear error",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    const state = await hostState("cccc0005");
    let daemon = await scaleSetDaemon(sim, prefix, state);
    try {
      await daemon.waitFor(/Listening for the jobs of scale set \S+ \(id (\d+)\)/);
      const first = scaleSetOf(sim, "cccc0005")!;
      sim.scaleSets.deleteScaleSet(first.id);
      await daemon.waitFor(/The session of scale set \S+ is gone .*; opening a new one/);
      await daemon.waitFor(/Created runner scale set \S+ \(id (?!1\b)\d+\)/);
      const [job] = queue(sim, 1);
      await waitFor("the job served", () => job!.status === "completed");
      assert.notEqual(job!.scaleSetId, first.id);
      // Killed: its session stays open on GitHub's side for a while.
      assert.equal(await daemon.stop("SIGKILL"), 137);
      daemon = await scaleSetDaemon(sim, prefix, state);
      await daemon.waitFor(
        /Closing session \S+ of scale set \S+, left open by this host's last run/,
      );
      await daemon.waitFor(/Listening for the jobs of scale set/);
      // The same identity from another state directory (a cloned machine): refused at once.
      const clone = await hostState("cccc0005");
      try {
        const second = await scaleSetDaemon(sim, prefix, clone);
        assert.equal(await second.exited(), 3, second.stderr);
        assert.match(
          second.stderr,
          /Runner scale set \S+cccc0005-cpu \(id \d+\) already has a listener: another autoscaler with this host's identity runs/,
        );
        assert.equal(second.stderr.match(/already has a listener/g)?.length, 1);
      } finally {
        await Deno.remove(clone, { recursive: true });
      }
      const [next] = queue(sim, 1);
      await waitFor("the next job served by the first daemon", () => next!.status === "completed")
        .catch((error) => {
          throw new Error(`${error.message}; its log:\n${daemon.stderr}`);
        });
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.stderr);
      await Deno.remove(state, { recursive: true });
    }
    assert.equal(sim.scaleSets.scaleSets.length, 1);
  },
  { jobSeconds: 0, scaleSets: { ...FAST, sessionTimeoutSeconds: 60 } },
);

engineTest(
  "scale sets: GitHub Enterprise Server's flavour, with jobs acquired; expired tokens and a " +
    "dropped long poll are got over",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    const state = await hostState("dddd0006");
    const daemon = await scaleSetDaemon(sim, prefix, state, ["--metrics-listen", "127.0.0.1:0"]);
    try {
      const port = (await daemon.waitFor(/Serving metrics on 127\.0\.0\.1:(\d+)/))[1];
      await daemon.waitFor(/Listening for the jobs of scale set/);
      const jobs = queue(sim, 2);
      await waitFor("2 jobs served", () => jobs.every((j) => j.status === "completed"));
      assert.ok(sim.requests(/acquirejobs$/).length > 0);
      sim.scaleSets.expireTokens();
      sim.faults.push({
        path: /\/queue\//,
        status: 200,
        body: '{"messageId":',
        mode: "reset",
        times: 1,
      });
      const [after] = queue(sim, 1);
      await waitFor("the job after the faults served", () => after!.status === "completed");
      assert.match(daemon.stderr, /The queue token of scale set \S+ expired; renewing it/);
      assert.match(daemon.stderr, /The listener of scale set \S+ failed: .*; trying again in 1 s/);
      assert.equal(sim.jitConfigs.length, 3);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^autoscaler_runner_starts_total 3$/m);
      for (const type of ["JobAvailable", "JobAssigned", "JobStarted", "JobCompleted"]) {
        assert.match(
          metrics,
          new RegExp(`^autoscaler_scale_set_job_events_total\\{type="${type}"\\} 3$`, "m"),
        );
      }
      assert.match(
        metrics,
        /^autoscaler_job_queued_to_runner_started_seconds_count 3$/m,
        daemon.stderr,
      );
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      await health.body?.cancel();
      assert.equal(health.status, 200);
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.stderr);
      await Deno.remove(state, { recursive: true });
    }
  },
  { jobSeconds: 0, scaleSets: { ...FAST, acquire: true } },
);

engineTest(
  "scale sets: a restart keeps the scale set; uninstall-service deletes it, never beside a " +
    "running daemon",
  async (sim, prefix) => {
    sim.world.addRepo("acme/app", { org: true });
    const state = await hostState("eeee0007");
    const destdir = await Deno.makeTempDir({ prefix: "autoscaler-destdir-" });
    const uninstall = () =>
      runCli(["uninstall-service", "--destdir", destdir, "--state-dir", state], {
        env: { GH_TOKEN: TOKEN },
      });
    try {
      for (let run = 0; run < 2; run++) {
        const daemon = await scaleSetDaemon(sim, prefix, state);
        await daemon.waitFor(/Listening for the jobs of scale set/);
        if (run === 1) {
          const beside = await uninstall();
          assert.equal(beside.code, 1, beside.stdout);
          assert.match(beside.stderr, /Another autoscaler daemon \(PID \d+\) already runs/);
          // A runner that outlives the daemon (its job about to start).
          sim.holdRunners = true;
          queue(sim, 1);
          await waitFor(
            "a runner online",
            () => sim.world.runners.some((r) => r.status === "online"),
          );
        }
        assert.equal(await daemon.stop(), 0, daemon.stderr);
        assert.equal(sim.scaleSets.scaleSets.length, 1, "the stop deleted the scale set");
      }
      const { id, name } = sim.scaleSets.scaleSets[0]!;
      const running = await uninstall();
      assert.equal(running.code, 1, running.stderr);
      assert.match(
        running.stdout,
        /^Runner scale sets not deleted: 1 of their runners still run \(\S+eeee0007-\w+\); once they are done, run with the token in GH_TOKEN: autoscaler uninstall-service --state-dir \S+$/m,
      );
      assert.equal(sim.scaleSets.scaleSets.length, 1);
      await removeContainersOf(prefix);
      const removed = await uninstall();
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(
        removed.stdout,
        new RegExp(`^Deleted runner scale set ${name} \\(id ${id}\\) of acme$`, "m"),
      );
      assert.equal(sim.scaleSets.scaleSets.length, 0);
      await assert.rejects(Deno.stat(join(state, "scale-sets.json")), Deno.errors.NotFound);
      // Nothing left to delete: nothing asked of GitHub (a removed runner's last poll of the
      // stand-in protocol may still end meanwhile).
      const asked = () => sim.log.filter((r) => !r.url.startsWith("/_simulator/")).length;
      const before = asked();
      assert.equal((await uninstall()).code, 0);
      assert.equal(asked(), before);
    } finally {
      await Deno.remove(state, { recursive: true });
      await Deno.remove(destdir, { recursive: true });
    }
  },
  { scaleSets: FAST },
);
