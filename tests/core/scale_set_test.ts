import assert from "node:assert/strict";
import { scaleSetDecision, type ScaleSetRunner, scaleSetSpecs } from "../../lib/core/scale_set.ts";
import type { HostProfile } from "../../lib/core/plan.ts";

const BASE = ["self-hosted", "linux", "x64"];
const cpuOnly: HostProfile = {
  arch: "x64",
  labels: [...BASE, "cpu-only"],
  kinds: { cpu: { labels: [...BASE, "cpu-only"], capacity: Number.POSITIVE_INFINITY } },
};
const twoGpus: HostProfile = {
  arch: "x64",
  labels: [...BASE, "cpu-only", "cuda", "gpu"],
  kinds: {
    cpu: { labels: [...BASE, "cpu-only"], capacity: Number.POSITIVE_INFINITY },
    cuda: { labels: [...BASE, "cuda", "gpu"], capacity: 2 },
  },
};

Deno.test("scale sets: one per kind of runner, named for the host, sharing --max-runners, devices first", () => {
  const cases: [string, HostProfile, number, string[]][] = [
    ["a CPU host", cpuOnly, 4, ["autoscaler-h-1a2b3c4d-cpu 4"]],
    ["a GPU host", twoGpus, 6, ["autoscaler-h-1a2b3c4d-cuda 2", "autoscaler-h-1a2b3c4d-cpu 4"]],
    // Fewer places than devices: the CPU gets no scale set, the GPUs' takes any job that fits.
    ["a GPU host with 1 place", twoGpus, 1, ["autoscaler-h-1a2b3c4d-cuda 1"]],
    ["no place", cpuOnly, 0, []],
  ];
  for (const [what, host, max, want] of cases) {
    const specs = scaleSetSpecs(host, max, "autoscaler-h-1a2b3c4d-");
    assert.deepEqual(specs.map((s) => `${s.name} ${s.capacity}`), want, what);
    assert.ok(specs.reduce((sum, s) => sum + s.capacity, 0) <= max, what);
  }
  const [cuda] = scaleSetSpecs(twoGpus, 6, "p-");
  // The architecture is a label: GitHub routes by labels alone.
  assert.deepEqual(cuda?.labels, [...BASE, "cuda", "gpu"]);
});

const NOW = 1_000_000;
const runner = (name: string, busy: boolean, ageMs: number): ScaleSetRunner => ({
  name,
  busy,
  createdAt: NOW - ageMs,
});

Deno.test("scale sets: a runner per assigned job, within capacity and the host's free places; idle surplus retired after the idle timeout", () => {
  const base = { capacity: 3, hostFree: 3, now: NOW, idleMs: 60_000 };
  const cases: [string, Parameters<typeof scaleSetDecision>[0], number, string[]][] = [
    ["nothing assigned", { ...base, assigned: 0, runners: [] }, 0, []],
    ["two jobs, no runner", { ...base, assigned: 2, runners: [] }, 2, []],
    ["two jobs, one runner", { ...base, assigned: 2, runners: [runner("a", true, 1)] }, 1, []],
    ["more jobs than capacity", { ...base, assigned: 9, runners: [] }, 3, []],
    ["host full", { ...base, assigned: 3, runners: [], hostFree: 1 }, 1, []],
    ["host over", { ...base, assigned: 3, runners: [], hostFree: -1 }, 0, []],
    // A job cancelled: its runner is idle; retired once idle long enough, oldest first.
    [
      "surplus",
      {
        ...base,
        assigned: 1,
        runners: [
          runner("young", false, 1000),
          runner("old", false, 90_000),
          runner("busy", true, 90_000),
        ],
      },
      0,
      ["old"],
    ],
    [
      "surplus still starting",
      { ...base, assigned: 0, runners: [runner("new", false, 5000)] },
      0,
      [],
    ],
    ["busy never retired", { ...base, assigned: 0, runners: [runner("b", true, 90_000)] }, 0, []],
  ];
  for (const [what, input, start, retire] of cases) {
    assert.deepEqual(scaleSetDecision(input), { start, retire }, what);
  }
});
