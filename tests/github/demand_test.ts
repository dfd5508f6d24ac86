import assert from "node:assert/strict";
import { createGitHub } from "../../lib/github/client.ts";
import { AuthError } from "../../lib/github/errors.ts";
import { queuedJobs } from "../../lib/github/demand.ts";
import { TOKEN, withSimulator } from "../helpers/sim.ts";

Deno.test("demand: queued jobs of queued and in-progress runs, none of completed ones", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("org/app", { org: true });
    const queued = sim.world.addRun("org/app", {
      name: "CI",
      jobs: [{ name: "a", labels: ["self-hosted"] }, { name: "b", labels: ["self-hosted", "gpu"] }],
    });
    sim.world.addRun("org/app", {
      name: "Deploy",
      path: ".github/workflows/deploy.yml",
      jobs: [
        { name: "build", labels: ["self-hosted"], status: "completed" },
        { name: "ship", labels: ["self-hosted", "prod"] },
        { name: "watch", labels: ["self-hosted"], status: "in_progress" },
      ],
    });
    sim.world.addRun("org/app", {
      name: "Old",
      jobs: [{ name: "done", labels: ["self-hosted"], status: "completed" }],
    });
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN });
    const demand = await queuedJobs(github, ["org/app"], 4);
    assert.deepEqual(
      demand.jobs.map((j) => [j.workflow, j.workflowPath, j.jobName, j.labels]).sort(),
      [
        ["CI", ".github/workflows/ci.yml", "a", ["self-hosted"]],
        ["CI", ".github/workflows/ci.yml", "b", ["self-hosted", "gpu"]],
        ["Deploy", ".github/workflows/deploy.yml", "ship", ["self-hosted", "prod"]],
      ],
    );
    const job = demand.jobs.find((j) => j.jobName === "a")!;
    assert.equal(job.repo, "org/app");
    assert.equal(job.runId, queued.run.id);
    assert.equal(job.jobId, queued.jobs[0]!.id);
    assert.equal(job.createdAt, queued.jobs[0]!.createdAt);
    assert.deepEqual(demand.problems, []);
  });
});

Deno.test("demand: a run with 150 matrix jobs is read across pages", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("org/matrix", { org: true });
    sim.world.addRun("org/matrix", {
      name: "Matrix",
      jobs: Array.from({ length: 150 }, (_, i) => ({ name: `m${i}`, labels: ["self-hosted"] })),
    });
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN });
    const demand = await queuedJobs(github, ["org/matrix"], 4);
    assert.equal(demand.jobs.length, 150);
    assert.equal(new Set(demand.jobs.map((j) => j.jobId)).size, 150);
    assert.equal(sim.requests(/\/jobs$/).length, 2);
  });
});

Deno.test("demand: bad answers are skipped per repository, the rest goes on", async () => {
  await withSimulator(async (sim) => {
    for (const name of ["org/good", "org/nulls", "org/broken", "org/down", "org/gone"]) {
      sim.world.addRepo(name, { org: true });
      sim.world.addRun(name, { name: "CI", jobs: [{ name: "j", labels: ["self-hosted"] }] });
    }
    sim.world.addRun("org/nulls", { name: "CI2", jobs: [{ name: "nolabels", labels: null }] });
    sim.faults.push(
      { path: /^\/repos\/org\/broken\/actions\/runs$/, status: 200, body: "<html>not json</html>" },
      {
        path: /^\/repos\/org\/down\/actions\/runs$/,
        status: 502,
        body: '{"message":"Bad gateway"}',
      },
    );
    sim.world.removeRepo("org/gone");
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN });
    const demand = await queuedJobs(github, [
      "org/broken",
      "org/down",
      "org/gone",
      "org/good",
      "org/nulls",
    ], 2);
    assert.deepEqual(demand.jobs.map((j) => `${j.repo} ${j.jobName}`).sort(), [
      "org/good j",
      "org/nulls j",
    ]);
    assert.deepEqual(demand.gone, ["org/gone"]);
    assert.deepEqual(demand.problems, [
      "org/broken: GET /repos/{owner}/{repo}/actions/runs (page 1) answered with a body that is not JSON",
      "org/down: GET /repos/org/down/actions/runs answered 502: Bad gateway",
    ]);
  });
});

Deno.test("demand: a token refused by every repository is an AuthError naming the permissions", async () => {
  await withSimulator(async (sim) => {
    sim.world.addRepo("org/app", { org: true });
    sim.faults.push({
      path: /actions\/runs$/,
      status: 403,
      body: '{"message":"Resource not accessible by personal access token"}',
    });
    const github = createGitHub(sim.url, { kind: "token", token: TOKEN });
    await assert.rejects(
      queuedJobs(github, ["org/app"], 1),
      (error: unknown) =>
        error instanceof AuthError &&
        /may not GET \/repos\/org\/app\/actions\/runs \(403\)/.test(error.message) &&
        /Actions: read/.test(error.message),
    );
  });
});
