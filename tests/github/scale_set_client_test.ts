import assert from "node:assert/strict";
import { createGitHub } from "../../lib/github/client.ts";
import {
  ActionsServiceError,
  ScaleSetClient,
  type ScaleSetSession,
} from "../../lib/github/scale_set_client.ts";
import type { GitHubSimulator, SimulatorOptions } from "../../lib/simulator/server.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

/** A client of organization acme's scale set service on the simulator. */
function clientOf(sim: GitHubSimulator, org = "acme"): ScaleSetClient {
  return new ScaleSetClient(createGitHub(sim.url, { kind: "token", token: TOKEN }), {
    apiUrl: sim.url,
    configUrl: `${sim.url}/${org}`,
    org,
    fetch,
    pollFetch: fetch,
    now: () => new Date(),
  });
}

/** A test with organization acme (one repository) and short long polls. */
function scaleSetTest(
  name: string,
  fn: (sim: GitHubSimulator, client: ScaleSetClient) => Promise<void>,
  scaleSets: SimulatorOptions["scaleSets"] = {},
) {
  Deno.test(`scale set service: ${name}`, () =>
    withSimulator(async (sim) => {
      sim.world.addRepo("acme/app", { org: true });
      await fn(sim, clientOf(sim));
    }, { scaleSets: { longPollSeconds: 0.3, ...scaleSets } }));
}

const LABELS = ["self-hosted", "linux", "x64"];

/** A scale set with LABELS and its session. */
async function listening(client: ScaleSetClient, name = "host-a") {
  const set = await client.createScaleSet({ name, runnerGroupId: 1, labels: LABELS });
  return { set, session: await client.createSession(set.id, name) };
}

const rejectsWith = (promise: Promise<unknown>, status: number, typeName = "") =>
  assert.rejects(promise, (error) => {
    assert.ok(error instanceof ActionsServiceError, String(error));
    assert.equal(error.status, status, error.message);
    assert.ok(error.typeName.includes(typeName), error.typeName);
    return true;
  });

scaleSetTest(
  "a registration token buys the admin token; scale sets by name, id, and deleted",
  async (sim, client) => {
    assert.equal(await client.scaleSetByName("host-a", 1), null);
    const { set } = await listening(client);
    assert.deepEqual(await client.scaleSetByName("host-a", 1), set);
    assert.deepEqual(await client.scaleSet(set.id), set);
    assert.deepEqual(set.labels, LABELS);
    await rejectsWith(
      client.createScaleSet({ name: "host-a", runnerGroupId: 1, labels: LABELS }),
      409,
      "Exists",
    );
    // Another organization's service does not see it.
    sim.world.addRepo("other/app", { org: true });
    assert.equal(await clientOf(sim, "other").scaleSet(set.id), null);
    assert.equal(await client.deleteScaleSet(set.id), true);
    assert.equal(await client.scaleSet(set.id), null);
    assert.equal(await client.deleteScaleSet(set.id), false);
    // One registration token (REST) per organization; the service calls cost no rate limit.
    const rest = sim.log.filter((r) => r.counted);
    assert.deepEqual(rest.map((r) => r.url), [
      "/orgs/acme/actions/runners/registration-token",
      "/orgs/other/actions/runners/registration-token",
    ]);
  },
);

scaleSetTest(
  "one session per scale set: a second gets 409 until the first is closed",
  async (_sim, client) => {
    const { set, session } = await listening(client);
    await rejectsWith(client.createSession(set.id, "host-b"), 409, "SessionConflict");
    await client.deleteSession(set.id, session.sessionId);
    await client.createSession(set.id, "host-b");
  },
);

/** Polls until a message comes (null after `tries` empty polls). */
async function next(client: ScaleSetClient, session: ScaleSetSession, last = 0, capacity = 1) {
  for (let i = 0; i < 5; i++) {
    const message = await client.message(session, last, capacity, AbortSignal.timeout(10_000));
    if (message) return message;
  }
  return null;
}

scaleSetTest(
  "a job goes to a scale set whose labels include its own, within its capacity; a message comes again until acknowledged",
  async (sim, client) => {
    const { session } = await listening(client);
    const [fits, gpu, second] = sim.world.addRun("acme/app", {
      name: "CI",
      jobs: [
        { name: "build", labels: ["self-hosted", "X64"] },
        { name: "train", labels: ["self-hosted", "cuda"] },
        { name: "test", labels: ["linux"] },
      ],
    }).jobs;
    // Capacity 0: nothing assigned, the poll ends empty.
    assert.equal(await client.message(session, 0, 0, AbortSignal.timeout(5000)), null);
    const message = await next(client, session);
    assert.ok(message);
    assert.deepEqual(message.jobs.map((j) => [j.messageType, j.runnerRequestId]), [
      ["JobAssigned", fits!.id],
    ]);
    assert.equal(message.jobs[0]?.repositoryName, "app");
    assert.deepEqual(message.jobs[0]?.requestLabels, ["self-hosted", "X64"]);
    assert.equal(message.statistics.totalAssignedJobs, 1);
    // Not acknowledged: sent again.
    assert.equal((await next(client, session))?.messageId, message.messageId);
    await client.deleteMessage(session, message.messageId);
    // Capacity 1 is held by the first job; no labels fit the GPU job.
    assert.equal(
      await client.message(session, message.messageId, 1, AbortSignal.timeout(5000)),
      null,
    );
    assert.equal(gpu!.scaleSetId, undefined);
    assert.equal(second!.scaleSetId, undefined);
    const more = await next(client, session, message.messageId, 2);
    assert.deepEqual(more?.jobs.map((j) => j.runnerRequestId), [second!.id]);
  },
);

scaleSetTest(
  "a just-in-time runner of the scale set takes only its scale set's jobs; GitHub tells the session it started and completed",
  async (sim, client) => {
    const { set, session } = await listening(client);
    const [job] = sim.world.addRun("acme/app", {
      name: "CI",
      jobs: [{ name: "build", labels: ["self-hosted"] }],
    }).jobs;
    const first = await next(client, session);
    await client.deleteMessage(session, first!.messageId);
    const { id } = await client.generateJitConfig(set.id, "runner-1");
    const runner = sim.world.runners.find((r) => r.id === id)!;
    assert.equal(runner.scaleSetId, set.id);
    runner.status = "online";
    // Deleting it while it works is refused; then it takes and finishes the job.
    assert.deepEqual(sim.world.dispatch(runner).map((j) => j.id), [job!.id]);
    assert.equal(await client.deleteRunner(id), "busy");
    const started = await next(client, session, first!.messageId);
    assert.deepEqual(started?.jobs.map((j) => [j.messageType, j.runnerName]), [
      ["JobStarted", "runner-1"],
    ]);
    sim.world.completeJob(job!);
    const completed = await next(client, session, started!.messageId);
    assert.deepEqual(completed?.jobs.map((j) => [j.messageType, j.result]), [
      ["JobCompleted", "succeeded"],
    ]);
    assert.equal(completed?.statistics.totalAssignedJobs, 0);
    assert.equal(await client.deleteRunner(id), "gone");
  },
);

scaleSetTest(
  "GitHub Enterprise Server: jobs are offered to every scale set that fits, and go to the one that acquires them first",
  async (sim, client) => {
    const a = await listening(client, "host-a");
    const b = await listening(client, "host-b");
    const [job] = sim.world.addRun("acme/app", {
      name: "CI",
      jobs: [{ name: "build", labels: ["self-hosted"] }],
    }).jobs;
    const offers = await Promise.all([next(client, a.session), next(client, b.session)]);
    for (const offer of offers) {
      assert.deepEqual(offer?.jobs.map((j) => [j.messageType, j.runnerRequestId]), [
        ["JobAvailable", job!.id],
      ]);
    }
    assert.deepEqual(await client.acquireJobs(b.set.id, b.session, [job!.id]), [job!.id]);
    assert.deepEqual(await client.acquireJobs(a.set.id, a.session, [job!.id]), []);
    assert.equal(job!.scaleSetId, b.set.id);
    const assigned = await next(client, b.session, offers[1]!.messageId);
    assert.deepEqual(assigned?.jobs.map((j) => j.messageType), ["JobAssigned"]);
  },
  { acquire: true },
);

scaleSetTest(
  "expired tokens: the admin token is fetched again by itself, the queue's is renewed",
  async (sim, client) => {
    const { set, session } = await listening(client);
    sim.scaleSets.expireTokens();
    // An admin call answered 401 fetches a new admin token and goes on.
    assert.equal((await client.scaleSet(set.id))?.id, set.id);
    await rejectsWith(client.message(session, 0, 1, AbortSignal.timeout(5000)), 401);
    const renewed = await client.refreshSession(set.id, session.sessionId);
    assert.notEqual(renewed.messageQueueAccessToken, session.messageQueueAccessToken);
    assert.equal(await client.message(renewed, 0, 1, AbortSignal.timeout(5000)), null);
    assert.equal(sim.requests(/registration-token$/).length, 2);
  },
);

scaleSetTest(
  "a scale set that stops listening loses its unstarted jobs to another; a deleted one's session is gone",
  async (sim, client) => {
    const a = await listening(client, "host-a");
    const [job] = sim.world.addRun("acme/app", {
      name: "CI",
      jobs: [{ name: "build", labels: ["self-hosted"] }],
    }).jobs;
    assert.ok(await next(client, a.session));
    assert.equal(job!.scaleSetId, a.set.id);
    // host-a goes quiet; host-b listens. After the session timeout the job is host-b's.
    const b = await listening(client, "host-b");
    const moved = await next(client, b.session);
    assert.deepEqual(moved?.jobs.map((j) => [j.messageType, j.runnerRequestId]), [
      ["JobAssigned", job!.id],
    ]);
    assert.equal(job!.scaleSetId, b.set.id);
    assert.ok(![...sim.scaleSets.sessions.values()].some((s) => s.scaleSet.id === a.set.id));
    sim.scaleSets.deleteScaleSet(b.set.id);
    await rejectsWith(client.message(b.session, 0, 1, AbortSignal.timeout(5000)), 404);
    assert.equal(job!.scaleSetId, undefined);
  },
  { sessionTimeoutSeconds: 0.5 },
);

scaleSetTest(
  "a busy service is asked again (5xx, 429 with Retry-After); a POST that makes something is not",
  async (sim, client) => {
    const { set } = await listening(client);
    const one = new RegExp(`/runnerscalesets/${set.id}$`);
    sim.faults.push({ path: one, status: 503, body: "", times: 1 });
    sim.faults.push({
      path: one,
      status: 429,
      body: "",
      times: 1,
      headers: { "retry-after": "1" },
    });
    assert.equal((await client.scaleSet(set.id))?.id, set.id);
    assert.equal(sim.requests(one).length, 3);
    const jit = /generatejitconfig$/;
    sim.faults.push({ method: "POST", path: jit, status: 500, body: "", times: 1 });
    await rejectsWith(client.generateJitConfig(set.id, "runner-1"), 500);
    assert.equal(sim.requests(jit).length, 1);
    assert.equal(sim.world.runners.length, 0);
  },
);
