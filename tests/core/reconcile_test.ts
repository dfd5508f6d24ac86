import assert from "node:assert/strict";
import type { ManagedContainer } from "../../lib/core/model.ts";
import type { Registration } from "../../lib/core/model.ts";
import { poolRetirements, reconcile, type ReconcileInput } from "../../lib/core/reconcile.ts";

/** The clock reconcile is given; every time here counts back from it. */
const NOW = new Date();
const LABELS = ["self-hosted", "linux", "x64"];

function container(name: string, extra: Partial<ManagedContainer> & { ageS?: number } = {}) {
  const { ageS = 10, ...rest } = extra;
  return {
    id: `id-${name}`,
    state: "running",
    exitCode: 0,
    labels: { "runner-name": name, scope: "o/r", repo: "o/r", labels: LABELS.join(",") },
    createdAt: new Date(NOW.getTime() - ageS * 1000).toISOString(),
    ...rest,
  };
}

function registration(name: string, extra: Partial<Registration> = {}): Registration {
  return {
    id: name.length * 100,
    name,
    scope: "o/r",
    labels: LABELS,
    online: true,
    busy: false,
    ...extra,
  };
}

function run(input: Partial<ReconcileInput>) {
  return reconcile({
    containers: [],
    registrations: [],
    readScopes: new Set(["o/r"]),
    now: NOW,
    idleTimeoutMs: 300_000,
    poolMaxAgeMs: 3_600_000,
    ...input,
  });
}

Deno.test("reconcile: running containers take their state from the registration", () => {
  const result = run({
    containers: [container("a"), container("bb"), container("ccc")],
    registrations: [
      registration("a", { online: false }),
      registration("bb"),
      registration("ccc", { busy: true }),
    ],
  });
  assert.deepEqual(result.runners.map((r) => [r.name, r.state]), [
    ["a", "starting"],
    ["bb", "idle"],
    ["ccc", "busy"],
  ]);
  assert.deepEqual(result.cleanUps, []);
});

Deno.test("reconcile: an exited container goes, after its registration if GitHub still has it", () => {
  const result = run({
    containers: [
      container("a", { state: "exited", exitCode: 3 }),
      container("bb", { state: "created" }),
    ],
    registrations: [registration("a")],
  });
  assert.deepEqual(result.runners, []);
  assert.deepEqual(result.cleanUps, [
    {
      kind: "retire",
      scope: "o/r",
      runnerId: 100,
      containerId: "id-a",
      runner: "a",
      reason: "its container exited with code 3",
    },
    {
      kind: "remove-container",
      containerId: "id-bb",
      runner: "bb",
      reason: "its container is created",
    },
  ]);
});

Deno.test("reconcile: idle or never-online past the timeout is retired; busy never is", () => {
  const result = run({
    containers: [
      container("a", { ageS: 301 }),
      container("bb", { ageS: 301 }),
      container("ccc", { ageS: 9999 }),
    ],
    registrations: [
      registration("a"),
      registration("bb", { online: false }),
      registration("ccc", { busy: true }),
    ],
  });
  assert.deepEqual(result.runners.map((r) => [r.name, r.state]), [["ccc", "busy"]]);
  assert.deepEqual(result.cleanUps.map((c) => [c.kind, c.runner, c.reason]), [
    ["retire", "a", "idle for more than 300 s"],
    ["retire", "bb", "not online after 300 s"],
  ]);
});

Deno.test("reconcile: a registration without a container is deleted; a container without one waits", () => {
  const result = run({
    containers: [container("a", { ageS: 5 }), container("bb", { ageS: 400 })],
    registrations: [
      registration("orphan", { online: false }),
      registration("busy-orphan", { busy: true }),
    ],
  });
  assert.deepEqual(result.runners.map((r) => [r.name, r.state]), [["a", "busy"]]);
  assert.deepEqual(result.cleanUps.map((c) => [c.kind, c.runner]), [
    ["remove-container", "bb"],
    ["delete-runner", "orphan"],
    ["delete-runner", "busy-orphan"],
  ]);
});

Deno.test("reconcile: containers of scopes whose runners were not read are left alone", () => {
  const result = run({
    containers: [container("a", { ageS: 9999 })],
    readScopes: new Set(),
  });
  assert.deepEqual(result.runners, [{ name: "a", scope: "o/r", labels: LABELS, state: "busy" }]);
  assert.deepEqual(result.cleanUps, []);
});

Deno.test("reconcile: an online pool runner outlives the idle timeout until the pool's maximum age", () => {
  const pool = (name: string, ageS: number) =>
    container(name, { ageS, labels: { "runner-name": name, scope: "o/r", pool: "true" } });
  const result = run({
    containers: [
      pool("a", 400),
      pool("bb", 4000),
      pool("ccc", 400),
      container("dddd", { ageS: 400 }),
      pool("eeeee", 4000),
    ],
    registrations: [
      registration("a"),
      registration("bb"),
      registration("ccc", { online: false }),
      registration("dddd"),
      registration("eeeee"),
    ],
  });
  // Of two pool runners past the age, one goes this cycle: the pool is never emptied at once.
  assert.deepEqual(result.runners.map((r) => [r.name, r.state, r.ids]), [
    ["a", "idle", { runnerId: 100, containerId: "id-a" }],
    ["eeeee", "idle", { runnerId: 500, containerId: "id-eeeee" }],
  ]);
  assert.deepEqual(result.cleanUps.map((c) => [c.runner, c.reason]), [
    ["bb", "a warm-pool runner older than 3600 s"],
    ["ccc", "not online after 300 s"],
    ["dddd", "idle for more than 300 s"],
  ]);
});

Deno.test("poolRetirements: on stop, the pool's runners GitHub lists as not busy, and nothing else", () => {
  const pool = (name: string) =>
    container(name, { labels: { "runner-name": name, scope: "o/r", pool: "true" } });
  const steps = poolRetirements(
    [pool("a"), pool("bb"), pool("ccc"), container("dddd")],
    [
      registration("a", { online: false }),
      registration("bb", { busy: true }),
      registration("dddd"),
    ],
  );
  assert.deepEqual(steps, [{
    kind: "retire",
    scope: "o/r",
    runnerId: 100,
    containerId: "id-a",
    runner: "a",
    reason: "the daemon is stopping, and a warm-pool runner is not left behind",
  }]);
});
