import assert from "node:assert/strict";
import { matchJob, namedArch } from "../../lib/core/match.ts";
import type { QueuedJob } from "../../lib/core/model.ts";

const X64 = { arch: "x64" as const, labels: ["self-hosted", "linux", "x64", "docker", "cpu-only"] };
const ARM = {
  arch: "arm64" as const,
  labels: ["self-hosted", "linux", "arm64", "docker", "cuda", "gpu"],
};

type JobShape = Pick<QueuedJob, "labels" | "jobName" | "workflow" | "workflowPath">;
function job(labels: string[], names: Partial<JobShape> = {}): JobShape {
  return {
    labels,
    jobName: "build",
    workflow: "CI",
    workflowPath: ".github/workflows/ci.yml",
    ...names,
  };
}

const CASES: [string, JobShape, typeof X64 | typeof ARM, boolean, boolean, string][] = [
  ["plain self-hosted", job(["self-hosted"]), X64, true, true, "runs-on self-hosted matches"],
  [
    "labels compare case-insensitively",
    job(["Self-Hosted", "LINUX", "X64"]),
    X64,
    true,
    true,
    "matches",
  ],
  [
    "every label must be there",
    job(["self-hosted", "gpu"]),
    X64,
    true,
    false,
    "lack the label gpu",
  ],
  [
    "several missing labels are all named",
    job(["self-hosted", "gpu", "big"]),
    X64,
    true,
    false,
    "lack the labels gpu, big",
  ],
  [
    "hosted labels never match",
    job(["ubuntu-latest"]),
    X64,
    true,
    false,
    "runs-on ubuntu-latest is for GitHub-hosted runners",
  ],
  ["hosted macos label", job(["macos-14"]), ARM, true, false, "GitHub-hosted"],
  ["no labels at all", job([]), X64, true, false, "names no runs-on labels"],
  [
    "workflow file naming arm64 on x64",
    job(["self-hosted"], { workflowPath: ".github/workflows/arm64-ci.yml" }),
    X64,
    true,
    false,
    'workflow file ".github/workflows/arm64-ci.yml" names arm64; this host is x64',
  ],
  [
    "workflow name naming amd64 on arm64",
    job(["self-hosted"], { workflow: "test-amd64-containerized" }),
    ARM,
    true,
    false,
    'workflow "test-amd64-containerized" names x64; this host is arm64',
  ],
  [
    "matrix job name naming aarch64",
    job(["self-hosted"], { jobName: "build (aarch64, 3.12)" }),
    X64,
    true,
    false,
    'job name "build (aarch64, 3.12)" names arm64',
  ],
  [
    "x86_64 in a name is x64",
    job(["self-hosted"], { jobName: "wheels_x86_64" }),
    ARM,
    true,
    false,
    "names x64",
  ],
  [
    "the arch filter can be turned off",
    job(["self-hosted"], { workflowPath: ".github/workflows/arm64-ci.yml" }),
    X64,
    false,
    true,
    "matches",
  ],
  [
    "own architecture in the name is fine",
    job(["self-hosted"], { workflow: "x64 builds" }),
    X64,
    true,
    true,
    "matches",
  ],
  [
    "the job name wins over the workflow",
    job(["self-hosted"], {
      jobName: "build-x64",
      workflow: "arm64 and x64 release",
      workflowPath: "arm64.yml",
    }),
    X64,
    true,
    true,
    "matches",
  ],
  [
    "a word inside a longer word is not a name",
    job(["self-hosted"], { workflow: "farm64tools", workflowPath: "xarm64.yml" }),
    X64,
    true,
    true,
    "matches",
  ],
  ["GPU job on a CUDA arm64 host", job(["self-hosted", "gpu", "cuda"]), ARM, true, true, "matches"],
  [
    "an architecture label decides over the name heuristic",
    job(["self-hosted", "linux", "arm64"], { jobName: "cross-compile (x86_64)" }),
    ARM,
    true,
    true,
    "matches",
  ],
  [
    "an alias label (aarch64) is not a label this host has",
    job(["self-hosted", "aarch64"], { jobName: "cross-compile (x86_64)" }),
    ARM,
    true,
    false,
    "lack the label aarch64",
  ],
];

for (const [name, shape, host, archFilter, compatible, reason] of CASES) {
  Deno.test(`matchJob: ${name}`, () => {
    const match = matchJob(shape, host, archFilter);
    assert.equal(match.compatible, compatible, match.reason);
    assert.ok(match.reason.includes(reason), `${match.reason} should include ${reason}`);
  });
}

Deno.test("namedArch finds exactly one architecture as a whole word", () => {
  assert.equal(namedArch("arm64-ci.yml"), "arm64");
  assert.equal(namedArch("test-amd64-containerized"), "x64");
  assert.equal(namedArch("x86-64 build"), "x64");
  assert.equal(namedArch("multi: x64 + arm64"), null);
  assert.equal(namedArch("armature"), null);
  assert.equal(namedArch(""), null);
});
