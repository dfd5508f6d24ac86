import assert from "node:assert/strict";
import {
  cacheKeyFor,
  type CacheSlot,
  evictions,
  formatBytes,
  freeSlot,
} from "../../lib/core/caches.ts";

Deno.test("caches: a runner's cache is its repository's; an organization's runner gets one only when shared", () => {
  const cases: [string, "repo" | "org", string | null][] = [
    ["acme/app", "repo", "repo:acme/app"],
    // An organization runner may take any repository's job: no per-repository cache for it.
    ["acme", "repo", null],
    ["acme", "org", "org:acme"],
    ["acme/app", "org", "org:acme"],
  ];
  for (const [scope, share, want] of cases) {
    assert.equal(cacheKeyFor(scope, share), want, `${scope} ${share}`);
  }
});

Deno.test("caches: the lowest free slot", () => {
  assert.equal(freeSlot(new Set()), 0);
  assert.equal(freeSlot(new Set([0, 1, 3])), 2);
});

const DAY = 86_400_000;
const NOW = 100 * DAY;
const slot = (key: string, n: number, mb: number, daysAgo: number, inUse = false): CacheSlot => ({
  key,
  slot: n,
  bytes: mb * 1e6,
  lastUsedMs: NOW - daysAgo * DAY,
  inUse,
});
const names = (list: { key: string; slot: number; reason: string }[]) =>
  list.map((e) => `${e.key}#${e.slot} ${e.reason}`);

Deno.test("caches: evicted past the age, then least recently used first over each cap; never one in use", () => {
  const limits = { maxKeyBytes: 250e6, maxTotalBytes: 300e6, maxAgeMs: 7 * DAY };
  const slots = [
    slot("repo:a/x", 0, 100, 1),
    slot("repo:a/x", 1, 100, 3),
    slot("repo:a/x", 2, 100, 2),
    slot("repo:b/y", 0, 100, 8),
    slot("repo:c/z", 0, 150, 0.5),
    slot("repo:c/z", 1, 150, 9, true),
  ];
  assert.deepEqual(names(evictions(slots, limits, NOW)), [
    // b/y unused for 8 days; c/z#1 is older but a runner holds it.
    "repo:b/y#0 age",
    // a/x: 300 MB over 250: its least recently used slot goes.
    "repo:a/x#1 key-cap",
    // c/z: 300 MB over 250: its slot in use stays, though older; the other goes.
    "repo:c/z#0 key-cap",
    // Host: 200 (a/x) + 150 (c/z, in use) = 350 MB over 300: the oldest unused slot goes.
    "repo:a/x#2 host-cap",
  ]);
});

Deno.test("caches: within every limit nothing is evicted", () => {
  const limits = { maxKeyBytes: 1e9, maxTotalBytes: 1e9, maxAgeMs: 7 * DAY };
  assert.deepEqual(
    evictions([slot("repo:a/x", 0, 10, 6.9), slot("repo:a/x", 1, 10, 0)], limits, NOW),
    [],
  );
});

Deno.test("caches: sizes as people read them", () => {
  assert.deepEqual(
    [0, 1023, 1024, 600_000, 10 * 1024 ** 3].map(formatBytes),
    ["0 B", "1023 B", "1.0 KiB", "585.9 KiB", "10.0 GiB"],
  );
});
