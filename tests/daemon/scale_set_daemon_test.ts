import assert from "node:assert/strict";
import { join } from "node:path";
import type { SimulatorOptions } from "../../lib/simulator/server.ts";
import type { GitHubSimulator } from "../../lib/simulator/server.ts";
import type { SimJob } from "../../lib/simulator/objects.ts";
import { ScaleSetRecord } from "../../lib/daemon/scale_set_record.ts";
import { waitFor } from "../helpers/engine_runs.ts";
import { withSimulator } from "../helpers/sim.ts";
import {
  CPU_SPEC,
  scaleSetClient,
  type ScaleSetDaemon,
  scaleSetDaemon,
} from "../helpers/scale_set_daemon.ts";

/** Short long polls and sessions. */
const FAST = { longPollSeconds: 0.5, sessionTimeoutSeconds: 3 };

/**
 * A test of the scale set listeners and scaler in this process against the simulator, with
 * simulated runner containers: organization acme, one repository, a state directory.
 */
function daemonTest(
  name: string,
  fn: (sim: GitHubSimulator, stateDir: string) => Promise<void>,
  scaleSets: SimulatorOptions["scaleSets"] = FAST,
) {
  Deno.test(`scale set daemon: ${name}`, async () => {
    const stateDir = await Deno.makeTempDir({ prefix: "autoscaler-scaleset-" });
    try {
      await withSimulator(async (sim) => {
        sim.world.addRepo("acme/app", { org: true });
        await fn(sim, stateDir);
      }, { scaleSets });
    } finally {
      await Deno.remove(stateDir, { recursive: true });
    }
  });
}

const queue = (sim: GitHubSimulator, count = 1): SimJob[] =>
  sim.world.addRun("acme/app", {
    name: "CI",
    jobs: Array.from({ length: count }, (_, i) => ({ name: `j${i}`, labels: ["self-hosted"] })),
  }).jobs;

const listening = (sim: GitHubSimulator) =>
  waitFor("a session", () => sim.scaleSets.sessions.size === 1, 10);

const served = (jobs: SimJob[], seconds = 10) =>
  waitFor("the jobs served", () => jobs.every((j) => j.status === "completed"), seconds);

/** Runs `fn` with the daemon, and stops it whatever happens. */
async function running(daemon: ScaleSetDaemon, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } finally {
    await daemon.stop();
  }
}

/** Requests the simulator answered over `ms` milliseconds. */
async function requestsOver(sim: GitHubSimulator, ms: number): Promise<number> {
  const before = sim.log.length;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return sim.log.length - before;
}

daemonTest(
  "10 jobs, each served once by a runner of its own; the image made sure of first",
  async (sim, dir) => {
    const daemon = scaleSetDaemon(sim, dir);
    await running(daemon, async () => {
      await listening(sim);
      assert.equal(daemon.containers.prepared, 1);
      const jobs = queue(sim, 10);
      await served(jobs);
      assert.equal(new Set(jobs.map((j) => j.runnerName)).size, 10);
      assert.equal(sim.jitConfigs.length, 10);
      assert.ok(daemon.healthy);
    });
    assert.equal(sim.scaleSets.sessions.size, 0);
  },
);

// Every try of the acknowledgement fails (4 tries over 7 s) on GHES: the message is not sent again.
const ACK_FAILURES: [string, number, SimulatorOptions["scaleSets"]][] = [
  ["a message whose acknowledgement fails once still gets its job a runner", 1, FAST],
  [
    "GitHub Enterprise Server: a job offered in a message whose acknowledgement keeps failing is still claimed",
    4,
    { ...FAST, acquire: true, sessionTimeoutSeconds: 60 },
  ],
];
for (const [name, times, scaleSets] of ACK_FAILURES) {
  daemonTest(name, async (sim, dir) => {
    const daemon = scaleSetDaemon(sim, dir);
    await running(daemon, async () => {
      await listening(sim);
      sim.faults.push({
        method: "DELETE",
        path: /\/queue\/.+\/\d+$/,
        status: 503,
        body: "",
        times,
      });
      const jobs = queue(sim);
      await served(jobs, 20);
      assert.equal(sim.faults[0]?.times, 0, "the fault was not met");
    });
  }, scaleSets);
}

daemonTest(
  "GitHub Enterprise Server: a job offered as the queue token expires is still acquired",
  async (sim, dir) => {
    const daemon = scaleSetDaemon(sim, dir);
    await running(daemon, async () => {
      await listening(sim);
      // The poll in flight got its token before; the acknowledgement and the claim meet 401.
      await new Promise((resolve) => setTimeout(resolve, 100));
      sim.scaleSets.expireTokens();
      const jobs = queue(sim);
      await served(jobs);
      assert.ok(sim.requests(/acquirejobs$/).some((r) => r.status === 200));
    });
  },
  { ...FAST, acquire: true },
);

for (const [status, body] of [[401, ""], [404, '{"typeName":"X","message":"gone"}']] as const) {
  daemonTest(
    `a queue that keeps answering ${status} is asked again with backoff, not in a loop`,
    async (sim, dir) => {
      const daemon = scaleSetDaemon(sim, dir);
      await running(daemon, async () => {
        await listening(sim);
        await new Promise((resolve) => setTimeout(resolve, 700));
        sim.faults.push({ path: /\/queue\//, status, body });
        // 1 + 2 s of backoff after the one recovery at once: a handful of requests, not thousands.
        const requests = await requestsOver(sim, 3000);
        assert.ok(requests <= 20, `${requests} requests in 3 s`);
        sim.faults.length = 0;
        const jobs = queue(sim);
        await served(jobs, 20);
      });
    },
  );
}

daemonTest(
  "a full host starts the next job's runner as the last one's container ends, not a long poll later",
  async (sim, dir) => {
    const daemon = scaleSetDaemon(sim, dir, {
      specs: [{ ...CPU_SPEC, capacity: 1 }],
      intervalMs: 60_000,
    });
    daemon.containers.lingerMs = 300;
    await running(daemon, async () => {
      await listening(sim);
      const jobs = queue(sim, 3);
      // Each poll is held 30 s: served within it only if the daemon does not wait for the next.
      await served(jobs, 15);
    });
  },
  { longPollSeconds: 30, sessionTimeoutSeconds: 60 },
);

daemonTest(
  "labels changed across a restart: a busy runner keeps its scale set until it is done",
  async (sim, dir) => {
    let daemon = scaleSetDaemon(sim, dir);
    daemon.containers.jobMs = 2000;
    const [job] = queue(sim);
    await listening(sim);
    await waitFor("the job running", () => job!.status === "in_progress");
    const containers = daemon.containers.all;
    await daemon.stop();
    daemon = scaleSetDaemon(sim, dir, {
      specs: [{ ...CPU_SPEC, labels: [...CPU_SPEC.labels, "big-ram"] }],
    });
    // The busy runner's container, as Docker would still show it.
    daemon.containers.all.push(...containers);
    await running(daemon, async () => {
      await listening(sim);
      assert.ok(sim.world.runners.some((r) => r.name === job!.runnerName), "registration deleted");
      assert.deepEqual(sim.scaleSets.scaleSets[0]?.labels, CPU_SPEC.labels);
      // Once nothing of it runs, a restart makes it anew with the new labels.
      sim.world.completeJob(job!);
      daemon.containers.all.length = 0;
    });
    daemon = scaleSetDaemon(sim, dir, {
      specs: [{ ...CPU_SPEC, labels: [...CPU_SPEC.labels, "big-ram"] }],
    });
    await running(daemon, () => listening(sim));
    assert.deepEqual(sim.scaleSets.scaleSets[0]?.labels, [...CPU_SPEC.labels, "big-ram"]);
  },
);

daemonTest(
  "a server that keeps one label of a scale set is refused, not used with the wrong routing",
  async (sim, dir) => {
    const daemon = scaleSetDaemon(sim, dir);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("still running after 10 s")), 10_000);
    });
    try {
      await assert.rejects(
        Promise.race([daemon.done, late]),
        /keeps only the label self-hosted of runner scale set sim-host-1a2b3c4d-cpu.*--mode poll/,
      );
    } finally {
      clearTimeout(timer);
      await daemon.stop().catch(() => {});
    }
    assert.equal(sim.scaleSets.scaleSets.length, 0, "the one-label scale set was left behind");
  },
  { ...FAST, oneLabel: true },
);

daemonTest("the record survives a write that failed", async (_sim, dir) => {
  const record = new ScaleSetRecord(dir);
  const entry = { apiUrl: "http://x", org: "acme", kind: "cpu" as const, id: 1, name: "n" };
  await Deno.mkdir(join(dir, "scale-sets.json"));
  await assert.rejects(record.update({ ...entry, sessionId: "s1", opening: false }));
  await Deno.remove(join(dir, "scale-sets.json"));
  await record.update({ ...entry, sessionId: "s2", opening: false });
  assert.equal((await record.entry("http://x", "ACME", "cpu"))?.sessionId, "s2");
});

daemonTest(
  "a session opened by a run that crashed before recording it is waited out, then used",
  async (sim, dir) => {
    let daemon = scaleSetDaemon(sim, dir);
    await running(daemon, () => listening(sim));
    // The next run crashes right after GitHub opened its session, before the record says so.
    const set = sim.scaleSets.scaleSets[0]!;
    const record = new ScaleSetRecord(dir);
    const entry = await record.entry(sim.url, "acme", "cpu");
    await record.update({ ...entry!, apiUrl: sim.url, org: "acme", kind: "cpu", opening: true });
    await scaleSetClient(sim).createSession(set.id, "sim-host");
    daemon = scaleSetDaemon(sim, dir);
    await running(daemon, async () => {
      // The orphan ends with the session timeout (1 s here); then this run listens.
      await waitFor(
        "the new session",
        () => [...sim.scaleSets.sessions.values()].some((s) => s.polling > 0),
        20,
      );
      const jobs = queue(sim);
      await served(jobs);
    });
  },
  { ...FAST, sessionTimeoutSeconds: 1 },
);

daemonTest(
  "runners of a scale set GitHub deleted do not stand in for the new one's",
  async (sim, dir) => {
    const daemon = scaleSetDaemon(sim, dir, { specs: [{ ...CPU_SPEC, capacity: 1 }] });
    await running(daemon, async () => {
      await listening(sim);
      const first = sim.scaleSets.scaleSets[0]!;
      // A container of the old scale set that never exits (its runner hung).
      daemon.containers.all.push({
        id: "old",
        state: "running",
        exitCode: 0,
        runnerId: -1,
        job: -1,
        labels: {
          "runner-name": "sim-cpu-old",
          "runner-id": "-1",
          "scale-set": String(first.id),
          kind: "cpu",
        },
        createdAt: new Date(Date.now() - 60_000).toISOString(),
      });
      sim.scaleSets.deleteScaleSet(first.id);
      await waitFor(
        "a new scale set",
        () => sim.scaleSets.scaleSets.length === 1 && sim.scaleSets.sessions.size === 1,
      );
      const jobs = queue(sim);
      await served(jobs);
      assert.ok(
        !daemon.containers.all.some((c) => c.id === "old"),
        "the old runner was not retired",
      );
    });
  },
);

daemonTest(
  "a container a previous run left exited does not hold back the next job",
  async (sim, dir) => {
    const daemon = scaleSetDaemon(sim, dir, { specs: [{ ...CPU_SPEC, capacity: 1 }] });
    // The runner of a job the previous run served, its container exited while no daemon ran.
    daemon.containers.all.push({
      id: "before",
      state: "exited",
      exitCode: 0,
      runnerId: -1,
      job: -1,
      labels: { "runner-name": "sim-cpu-before", "runner-id": "-1", "scale-set": "1", kind: "cpu" },
      createdAt: new Date(Date.now() - 60_000).toISOString(),
    });
    await running(daemon, async () => {
      await listening(sim);
      const jobs = queue(sim);
      // A runner that exited counts against a job for up to 60 s only if this run saw it running.
      await served(jobs, 20);
    });
  },
);

daemonTest(
  "the scale set of a kind the host no longer has is kept while its runners run",
  async (sim, dir) => {
    const gpu = await scaleSetClient(sim).createScaleSet({
      name: "sim-host-1a2b3c4d-cuda",
      runnerGroupId: 1,
      labels: ["self-hosted", "cuda"],
    });
    const record = new ScaleSetRecord(dir);
    const entry = {
      apiUrl: sim.url,
      org: "acme",
      kind: "cuda" as const,
      id: gpu.id,
      name: gpu.name,
    };
    await record.update({ ...entry, sessionId: null, opening: false });
    let daemon = scaleSetDaemon(sim, dir);
    daemon.containers.all.push({
      id: "gpu-runner",
      state: "running",
      exitCode: 0,
      runnerId: -1,
      job: -1,
      labels: {
        "runner-name": "sim-cuda-1",
        "runner-id": "-1",
        "scale-set": String(gpu.id),
        kind: "cuda",
      },
      createdAt: new Date().toISOString(),
    });
    await running(daemon, () => listening(sim));
    assert.ok(sim.scaleSets.scaleSets.some((s) => s.id === gpu.id), "deleted under its runner");
    daemon = scaleSetDaemon(sim, dir);
    await running(daemon, () => listening(sim));
    assert.ok(!sim.scaleSets.scaleSets.some((s) => s.id === gpu.id));
    assert.equal((await record.entries()).filter((e) => e.kind === "cuda").length, 0);
  },
);
