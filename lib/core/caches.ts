/**
 * Runner caches: which cache a runner gets, which slot of it, and which caches to evict. Pure:
 * the volumes, their sizes and when they were last used come in as plain values.
 *
 * A cache belongs to one key: a repository (`repo:owner/name`), or with `--cache-share org` an
 * organization (`org:owner`). Each key has slots, numbered from 0: a slot is used by one runner
 * at a time, so two runners of one repository never write one cache under each other, and an
 * image store is used by one engine at a time.
 */

/** What a cache holds, and where a runner sees it. */
export const CACHE_KINDS = {
  /** `actions/setup-*` install here: `RUNNER_TOOL_CACHE` and `AGENT_TOOLSDIRECTORY` name it. */
  tool: "/opt/hostedtoolcache",
  /** The image store of a `docker` profile runner's own engine. */
  docker: "/var/lib/docker",
} as const;
/** A kind of cache: `tool`, or `docker` (the `docker` profile's engine store). */
export type CacheKind = keyof typeof CACHE_KINDS;

/** Whose jobs share a cache: each repository alone (default), or an organization's together. */
export type CacheShare = "repo" | "org";

/**
 * The cache key of a runner registered to `scope` (a repository `owner/name` or an
 * organization `owner`), or null when it gets no cache. A repository's runner, a warm-pool one
 * too, only ever takes that repository's jobs; one registered to an organization may take any of
 * its repositories' jobs, so it gets a cache only where the user chose to share one across the
 * organization.
 */
export function cacheKeyFor(scope: string, share: CacheShare): string | null {
  if (share === "org") return `org:${scope.split("/")[0]!}`;
  return scope.includes("/") ? `repo:${scope}` : null;
}

/** The lowest slot of a key that no runner uses. */
export function freeSlot(used: ReadonlySet<number>): number {
  let slot = 0;
  while (used.has(slot)) slot++;
  return slot;
}

/** One slot of a cache as observed: its volumes' bytes, last use and whether a runner has it. */
export interface CacheSlot {
  key: string;
  slot: number;
  bytes: number;
  /** When a runner last started with it (ms since the epoch). */
  lastUsedMs: number;
  inUse: boolean;
}

/** The bounds on caches: per key, for the host, and since last use. */
export interface CacheLimits {
  maxKeyBytes: number;
  maxTotalBytes: number;
  maxAgeMs: number;
}

/** Why a slot is evicted. */
export type EvictionReason = "age" | "key-cap" | "host-cap";

/** A slot to remove, and why. */
export interface Eviction {
  key: string;
  slot: number;
  bytes: number;
  reason: EvictionReason;
}

/**
 * Which slots to remove: those unused for longer than the maximum age, then per key and then
 * for the host the least recently used until the sizes are within the caps. A slot in use is
 * never evicted (its runner is writing it); it still counts toward the caps.
 */
export function evictions(
  slots: readonly CacheSlot[],
  limits: CacheLimits,
  nowMs: number,
): Eviction[] {
  const out: Eviction[] = [];
  const kept = new Set<CacheSlot>();
  for (const slot of slots) {
    if (!slot.inUse && nowMs - slot.lastUsedMs > limits.maxAgeMs) {
      out.push({ key: slot.key, slot: slot.slot, bytes: slot.bytes, reason: "age" });
    } else kept.add(slot);
  }
  const trim = (group: CacheSlot[], cap: number, reason: EvictionReason) => {
    let total = group.reduce((sum, s) => sum + s.bytes, 0);
    const oldestFirst = group.filter((s) => !s.inUse)
      .sort((a, b) => a.lastUsedMs - b.lastUsedMs || b.bytes - a.bytes);
    for (const slot of oldestFirst) {
      if (total <= cap) break;
      total -= slot.bytes;
      kept.delete(slot);
      out.push({ key: slot.key, slot: slot.slot, bytes: slot.bytes, reason });
    }
  };
  const keys = new Map<string, CacheSlot[]>();
  for (const slot of kept) keys.set(slot.key, [...keys.get(slot.key) ?? [], slot]);
  for (const group of keys.values()) trim(group, limits.maxKeyBytes, "key-cap");
  trim([...kept], limits.maxTotalBytes, "host-cap");
  return out;
}

/** A cache key as people read it: `owner/name`, or `owner (organization)`. */
export function describeCacheKey(key: string): string {
  return key.startsWith("org:") ? `${key.slice(4)} (organization)` : key.replace(/^repo:/, "");
}

/** Bytes as people read them: `512 B`, `1.5 MiB`, `2.0 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
