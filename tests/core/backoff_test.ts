import assert from "node:assert/strict";
import { JobBackoff } from "../../lib/core/backoff.ts";

Deno.test("backoff: each unused runner doubles the hold on its job, up to the cap", () => {
  const backoff = new JobBackoff(60_000, 300_000);
  assert.deepEqual([1, 2, 3, 4].map(() => backoff.strike(7, 0)), [
    60_000,
    120_000,
    240_000,
    300_000,
  ]);
  assert.ok(backoff.holding(299_999).has(7));
  assert.ok(!backoff.holding(300_000).has(7), "held until then, not after");
});

Deno.test("backoff: a job no longer queued is forgotten", () => {
  const backoff = new JobBackoff(60_000);
  backoff.strike(7, 0);
  backoff.strike(8, 0);
  backoff.keepOnly(new Set([8]));
  assert.deepEqual([...backoff.holding(1).keys()], [8]);
  assert.equal(backoff.strike(7, 0), 60_000, "a forgotten job starts over");
});
