import assert from "node:assert/strict";
import type { ManagedRunner, QueuedJob } from "../../lib/core/model.ts";
import { type HostProfile, type Plan, plan, type PlanInput } from "../../lib/core/plan.ts";

const BASE = ["self-hosted", "linux", "x64", "docker"];
const CPU_HOST: HostProfile = {
  arch: "x64",
  labels: [...BASE, "cpu-only"],
  kinds: { cpu: { labels: [...BASE, "cpu-only"], capacity: Infinity } },
};
const GPU_HOST: HostProfile = {
  arch: "x64",
  labels: [...BASE, "cuda", "gpu"],
  kinds: {
    cpu: { labels: BASE, capacity: Infinity },
    cuda: { labels: [...BASE, "cuda", "gpu"], capacity: 2 },
  },
};

let nextId = 1;
function job(labels: string[], extra: Partial<QueuedJob> = {}): QueuedJob {
  const id = nextId++;
  return {
    repo: "octo/app",
    runId: 100,
    jobId: id,
    workflow: "CI",
    workflowPath: ".github/workflows/ci.yml",
    jobName: `job ${id}`,
    labels,
    createdAt: `2026-11-28T10:00:${String(id % 60).padStart(2, "0")}Z`,
    ...extra,
  };
}

function runner(
  state: ManagedRunner["state"],
  labels: string[],
  extra: Partial<ManagedRunner> = {},
) {
  return { name: `autoscaler-h-${state}`, scope: "octo/app", labels, state, ...extra };
}

function decide(input: Partial<PlanInput> & Pick<PlanInput, "jobs">) {
  return plan({
    host: CPU_HOST,
    runners: [],
    maxRunners: 4,
    archFilter: true,
    runnerScope: "repo",
    ...input,
  });
}

Deno.test("plan starts one runner per compatible job and groups them per repo and kind", () => {
  const jobs = [
    job(["self-hosted"]),
    job(["self-hosted", "linux"]),
    job(["self-hosted"], { repo: "octo/lib" }),
  ];
  const result = decide({ jobs });
  assert.deepEqual(result.decisions.map((d) => d.decision), [
    "provision",
    "provision",
    "provision",
  ]);
  assert.deepEqual(result.actions, [
    {
      kind: "start",
      scope: "octo/app",
      repo: "octo/app",
      runnerKind: "cpu",
      labels: CPU_HOST.labels,
      count: 2,
      jobIds: [jobs[0]!.jobId, jobs[1]!.jobId],
    },
    {
      kind: "start",
      scope: "octo/lib",
      repo: "octo/lib",
      runnerKind: "cpu",
      labels: CPU_HOST.labels,
      count: 1,
      jobIds: [jobs[2]!.jobId],
    },
  ]);
});

Deno.test("plan skips incompatible jobs with the matcher's reason and starts nothing for them", () => {
  const result = decide({
    jobs: [
      job(["ubuntu-latest"]),
      job(["self-hosted", "gpu"]),
      job(["self-hosted"], { workflowPath: "arm64-ci.yml" }),
    ],
  });
  assert.deepEqual(result.decisions.map((d) => d.decision), ["skip", "skip", "skip"]);
  assert.match(result.decisions[0]!.reason, /GitHub-hosted/);
  assert.match(result.decisions[1]!.reason, /lack the label gpu/);
  assert.match(result.decisions[2]!.reason, /names arm64/);
  assert.deepEqual(result.actions, []);
});

Deno.test("plan honours --max-runners, oldest job first, counting runners that exist", () => {
  const newest = job(["self-hosted"], { createdAt: "2026-11-28T12:00:00Z" });
  const oldest = job(["self-hosted"], { createdAt: "2026-11-28T08:00:00Z" });
  const middle = job(["self-hosted"], { createdAt: "2026-11-28T10:00:00Z" });
  const result = decide({
    jobs: [newest, oldest, middle],
    maxRunners: 3,
    runners: [runner("busy", CPU_HOST.labels)],
  });
  assert.deepEqual(
    result.decisions.map((d) => [d.job.jobId, d.decision]),
    [[oldest.jobId, "provision"], [middle.jobId, "provision"], [newest.jobId, "wait"]],
  );
  assert.equal(result.decisions[2]!.reason, "no capacity: 3 of 3 runners in use (--max-runners)");
  assert.equal(result.actions[0]!.count, 2);
});

Deno.test("an idle or starting runner of ours covers a job once; a busy one does not", () => {
  const jobs = [job(["self-hosted"]), job(["self-hosted"]), job(["self-hosted"])];
  const result = decide({
    jobs,
    runners: [
      runner("idle", CPU_HOST.labels),
      runner("starting", CPU_HOST.labels),
      runner("busy", CPU_HOST.labels),
    ],
  });
  assert.deepEqual(result.decisions.map((d) => [d.decision, d.reason]), [
    ["wait", "covered by idle runner autoscaler-h-idle"],
    ["wait", "covered by starting runner autoscaler-h-starting"],
    ["provision", "starting a CPU runner for it"],
  ]);
});

Deno.test("an organization's runner covers jobs of all its repositories", () => {
  const result = decide({
    jobs: [job(["self-hosted"], { repo: "octo/other" }), job(["self-hosted"], { repo: "else/x" })],
    runners: [runner("idle", CPU_HOST.labels, { scope: "octo" })],
  });
  assert.deepEqual(result.decisions.map((d) => [d.job.repo, d.decision]), [
    ["octo/other", "wait"],
    ["else/x", "provision"],
  ]);
});

Deno.test("a runner covers only jobs of its own repository whose labels it has", () => {
  const result = decide({
    host: GPU_HOST,
    jobs: [job(["self-hosted"], { repo: "octo/other" }), job(["self-hosted", "gpu"])],
    runners: [runner("idle", BASE)],
  });
  assert.deepEqual(result.decisions.map((d) => d.decision), ["provision", "provision"]);
});

Deno.test("GPU jobs get at most one runner per GPU; CPU jobs on a GPU host get CPU runners", () => {
  const gpuJobs = [
    job(["self-hosted", "cuda"]),
    job(["self-hosted", "gpu"]),
    job(["self-hosted", "gpu"]),
  ];
  const cpuJob = job(["self-hosted", "linux"]);
  const result = decide({ host: GPU_HOST, jobs: [...gpuJobs, cpuJob], maxRunners: 8 });
  assert.deepEqual(result.decisions.map((d) => [d.decision, d.runnerKind]), [
    ["provision", "cuda"],
    ["provision", "cuda"],
    ["wait", "cuda"],
    ["provision", "cpu"],
  ]);
  assert.equal(result.decisions[2]!.reason, "all 2 NVIDIA GPUs in use");
  assert.deepEqual(result.actions.map((a) => [a.runnerKind, a.count, a.labels]), [
    ["cuda", 2, [...BASE, "cuda", "gpu"]],
    ["cpu", 1, BASE],
  ]);
});

Deno.test("busy GPU runners use up GPUs", () => {
  const result = decide({
    host: GPU_HOST,
    jobs: [job(["self-hosted", "cuda"])],
    runners: [
      runner("busy", GPU_HOST.labels, { name: "a" }),
      runner("busy", GPU_HOST.labels, { name: "b" }),
    ],
  });
  assert.equal(result.decisions[0]!.decision, "wait");
  assert.equal(result.decisions[0]!.reason, "all 2 NVIDIA GPUs in use");
});

Deno.test("plan is deterministic whatever the order of its input", () => {
  const jobs = Array.from(
    { length: 12 },
    (_, i) =>
      job(i % 3 === 0 ? ["self-hosted", "gpu"] : ["self-hosted"], {
        repo: `octo/r${i % 4}`,
        createdAt: `2026-11-28T10:00:0${i % 5}Z`,
      }),
  );
  const a = decide({ host: GPU_HOST, jobs, maxRunners: 5 });
  const b = decide({ host: GPU_HOST, jobs: [...jobs].reverse(), maxRunners: 5 });
  assert.deepEqual(a, b);
  assert.equal(a.decisions.filter((d) => d.decision === "provision").length, 5);
});

Deno.test("max-runners 0 starts nothing", () => {
  const result = decide({ jobs: [job(["self-hosted"])], maxRunners: 0 });
  assert.equal(result.decisions[0]!.decision, "wait");
  assert.deepEqual(result.actions, []);
});

Deno.test("plan skips a job whose labels span two accelerator kinds: no runner of ours has them all", () => {
  const host: HostProfile = {
    arch: "x64",
    labels: [...BASE, "cuda", "gpu", "openvino"],
    kinds: {
      cpu: { labels: BASE, capacity: Infinity },
      cuda: { labels: [...BASE, "cuda", "gpu"], capacity: 1 },
      openvino: { labels: [...BASE, "openvino", "gpu"], capacity: 1 },
    },
  };
  const result = decide({ host, jobs: [job(["self-hosted", "cuda", "openvino"])] });
  assert.deepEqual(result.actions, []);
  assert.equal(result.decisions[0]!.decision, "skip");
  assert.equal(
    result.decisions[0]!.reason,
    "no runner of this host has all its labels: an NVIDIA GPU runner lacks openvino",
  );
});

/** A decision run with a warm pool of `minIdle` in the organizations `scopes`. */
function withPool(
  minIdle: Partial<Record<"cpu" | "cuda", number>>,
  scopes: string[],
  input: Partial<PlanInput>,
) {
  return decide({ jobs: [], runnerScope: "org", pool: { scopes, minIdle }, ...input });
}

const pooled = (plan: Plan) =>
  plan.actions.filter((a) => a.repo === null).map((a) => [a.scope, a.runnerKind, a.count]);

Deno.test("the warm pool tops every scope up to its minimum, counting runners that cover no job", () => {
  const result = withPool({ cpu: 2 }, ["octo", "acme"], {
    runners: [runner("idle", CPU_HOST.labels, { scope: "octo" })],
  });
  assert.deepEqual(pooled(result), [["acme", "cpu", 2], ["octo", "cpu", 1]]);
  assert.deepEqual(result.actions.map((a) => a.jobIds), [[], []]);
  assert.deepEqual(result.reclaims, []);
});

Deno.test("a pool runner that a job takes is replaced, while the job waits for it", () => {
  const jobs = [job(["self-hosted"]), job(["self-hosted"])];
  const result = withPool({ cpu: 2 }, ["octo"], {
    jobs,
    maxRunners: 6,
    runners: [
      runner("idle", CPU_HOST.labels, { name: "p1", scope: "octo" }),
      runner("idle", CPU_HOST.labels, { name: "p2", scope: "octo" }),
    ],
  });
  assert.deepEqual(result.decisions.map((d) => d.reason), [
    "covered by idle runner p1",
    "covered by idle runner p2",
  ]);
  assert.deepEqual(pooled(result), [["octo", "cpu", 2]]);
});

Deno.test("the pool comes after the jobs: --max-runners and one runner per GPU bound it", () => {
  const result = withPool({ cpu: 2, cuda: 2 }, ["octo"], {
    host: GPU_HOST,
    jobs: [job(["self-hosted"])],
    maxRunners: 5,
    runners: [runner("busy", GPU_HOST.kinds.cuda!.labels, { scope: "octo" })],
  });
  assert.equal(result.decisions[0]!.decision, "provision");
  // Three places left of five: the CPU pool takes two, the GPU pool the last (one GPU is free).
  assert.deepEqual(pooled(result), [["octo", "cpu", 2], ["octo", "cuda", 1]]);
});

Deno.test("a GPU job waiting for the GPU reclaims an idle pool runner that cannot take it", () => {
  const oneGpu = {
    ...GPU_HOST,
    kinds: { ...GPU_HOST.kinds, cuda: { ...GPU_HOST.kinds.cuda!, capacity: 1 } },
  };
  const gpuJob = job(["self-hosted", "cuda"], { repo: "acme/train" });
  const result = withPool({ cuda: 1 }, ["octo", "acme"], {
    host: oneGpu,
    jobs: [gpuJob],
    runners: [runner("idle", oneGpu.kinds.cuda.labels, { name: "gpu-pool", scope: "octo" })],
  });
  assert.deepEqual(result.decisions.map((d) => [d.decision, d.reason]), [[
    "wait",
    "all 1 NVIDIA GPU in use",
  ]]);
  assert.deepEqual(result.reclaims, [
    { runner: "gpu-pool", scope: "octo", reason: "a waiting job needs its place (cuda)" },
  ]);
  assert.deepEqual(pooled(result), []);
});

Deno.test("a job held by --max-runners reclaims an idle runner of another scope, no other", () => {
  const result = withPool({ cpu: 1 }, ["octo", "acme"], {
    jobs: [job(["self-hosted"], { repo: "acme/app" })],
    maxRunners: 2,
    runners: [
      runner("busy", CPU_HOST.labels, { name: "busy", scope: "acme" }),
      runner("idle", CPU_HOST.labels, { name: "octo-pool", scope: "octo" }),
    ],
  });
  assert.equal(result.decisions[0]!.decision, "wait");
  assert.deepEqual(result.reclaims.map((r) => r.runner), ["octo-pool"]);
  assert.deepEqual(pooled(result), []);
});

Deno.test("without a pool an idle runner no job can take gives way; a starting one does not", () => {
  const result = decide({
    jobs: [job(["self-hosted"]), job(["self-hosted"], { repo: "octo/lib" })],
    maxRunners: 2,
    runners: [
      runner("idle", CPU_HOST.labels, { scope: "octo/other" }),
      runner("starting", CPU_HOST.labels, { scope: "octo/other" }),
    ],
  });
  assert.deepEqual(result.decisions.map((d) => d.decision), ["wait", "wait"]);
  assert.deepEqual(result.reclaims.map((r) => r.runner), ["autoscaler-h-idle"]);
  assert.deepEqual(result.actions, []);
});

const ONE_GPU: HostProfile = {
  ...GPU_HOST,
  kinds: { ...GPU_HOST.kinds, cuda: { ...GPU_HOST.kinds.cuda!, capacity: 1 } },
};

Deno.test("a GPU job held by the GPU and by --max-runners reclaims no CPU runner: it would free nothing", () => {
  const gpuJob = job(["self-hosted", "cuda"]);
  const input = {
    host: ONE_GPU,
    jobs: [gpuJob],
    maxRunners: 2,
    waitedBefore: new Set([gpuJob.jobId]),
  };
  const busyGpu = runner("busy", ONE_GPU.kinds.cuda!.labels, { name: "gpu", scope: "octo" });
  // Were the CPU pool runner retired, the pool would start it again next cycle, and so on.
  const held = withPool({ cpu: 1 }, ["octo"], {
    ...input,
    runners: [busyGpu, runner("idle", BASE, { name: "cpu-pool", scope: "octo" })],
  });
  assert.deepEqual([held.reclaims, held.actions], [[], []]);
  assert.deepEqual(held.waiting, [gpuJob.jobId]);
});

Deno.test("a CPU job is not counted as covered by an idle GPU runner: that one is for GPU work", () => {
  const cpuJob = job(["self-hosted", "linux"]);
  const result = withPool({ cpu: 1, cuda: 1 }, ["octo"], {
    host: ONE_GPU,
    jobs: [cpuJob],
    runners: [runner("idle", ONE_GPU.kinds.cuda!.labels, { name: "a-gpu-pool", scope: "octo" })],
  });
  assert.deepEqual(result.decisions.map((d) => d.decision), ["provision"]);
  // The job's runner, then a CPU pool runner; the GPU pool runner stays.
  assert.deepEqual(pooled(result), [["octo", "cpu", 1]]);
});

Deno.test("only a job the daemon saw waiting a while (waitedBefore) reclaims a runner", () => {
  const [first, second] = [
    job(["self-hosted"], { repo: "acme/a" }),
    job(["self-hosted"], { repo: "acme/a" }),
  ];
  const runners = [
    runner("idle", CPU_HOST.labels, { name: "p1", scope: "octo" }),
    runner("idle", CPU_HOST.labels, { name: "p2", scope: "octo" }),
  ];
  const result = withPool({ cpu: 2 }, ["octo", "acme"], {
    jobs: [first!, second!],
    maxRunners: 2,
    runners,
    waitedBefore: new Set([second!.jobId]),
  });
  assert.deepEqual(result.waiting, [first!.jobId, second!.jobId]);
  assert.deepEqual(result.reclaims.map((r) => r.runner), ["p1"]);
});

Deno.test("with repository scope the pool is kept in each repository given", () => {
  const result = decide({
    jobs: [],
    runnerScope: "repo",
    pool: { scopes: ["octo/app", "octo/lib"], minIdle: { cpu: 1 } },
  });
  assert.deepEqual(pooled(result), [["octo/app", "cpu", 1], ["octo/lib", "cpu", 1]]);
});

Deno.test("a job waiting for the GPU gets the idle GPU runner; one waiting for any place a CPU one", () => {
  const cpuJob = job(["self-hosted"], { createdAt: "2026-11-28T08:00:00Z" });
  const gpuJob = job(["self-hosted", "cuda"], { createdAt: "2026-11-28T09:00:00Z" });
  const result = withPool({}, [], {
    host: ONE_GPU,
    jobs: [cpuJob, gpuJob],
    maxRunners: 2,
    runners: [
      runner("idle", ONE_GPU.kinds.cuda!.labels, { name: "a-cuda", scope: "elsewhere" }),
      runner("idle", BASE, { name: "z-cpu", scope: "elsewhere" }),
    ],
  });
  assert.deepEqual(result.reclaims.map((r) => [r.runner, r.reason]), [
    ["a-cuda", "a waiting job needs its place (cuda)"],
    ["z-cpu", "a waiting job needs its place (--max-runners)"],
  ]);
});

Deno.test("the architecture filter decides each job alike when its workflow's verdict is kept", () => {
  const ofWorkflow = (workflow: string, workflowPath: string, jobName: string) =>
    job(["self-hosted"], { workflow, workflowPath, jobName });
  const result = decide({
    maxRunners: 10,
    jobs: [
      ofWorkflow("x64 build", "arm64.yml", "one"),
      ofWorkflow("x64 build", "arm64.yml", "two"),
      ofWorkflow("x64 build", "arm64.yml", "three (aarch64)"),
      ofWorkflow("CI", "arm64-ci.yml", "four"),
      ofWorkflow("CI", "arm64-ci.yml", "five"),
      ofWorkflow("CI", "ci.yml", "six"),
    ],
  });
  assert.deepEqual(result.decisions.map((d) => [d.job.jobName, d.decision, d.reason]), [
    ["one", "provision", "starting a CPU runner for it"],
    ["two", "provision", "starting a CPU runner for it"],
    ["three (aarch64)", "skip", 'job name "three (aarch64)" names arm64; this host is x64'],
    ["four", "skip", 'workflow file "arm64-ci.yml" names arm64; this host is x64'],
    ["five", "skip", 'workflow file "arm64-ci.yml" names arm64; this host is x64'],
    ["six", "provision", "starting a CPU runner for it"],
  ]);
});
