import { createHash } from "node:crypto";
import { getLogger } from "@logtape/logtape";
import {
  CACHE_KINDS,
  type CacheKind,
  type CacheLimits,
  type CacheSlot,
  describeCacheKey,
  type Eviction,
  evictions,
  formatBytes,
  freeSlot,
} from "../core/caches.ts";
import type { CommandRunner } from "../system/command.ts";
import {
  DockerError,
  dockerOutput,
  LABEL,
  MANAGED_BY,
  parseDockerList,
  RUNNER_UID,
} from "./docker.ts";
import { CacheUsage, type LastUsed } from "./cache_usage.ts";

const log = getLogger(["autoscaler", "caches"]);

/** How long measuring the volumes (`docker system df -v`) may take. */
const MEASURE_TIMEOUT_MS = 600_000;

/** A slot claimed for one runner: what to mount, and whether it was there before (a hit). */
export interface ClaimedCache {
  key: string;
  slot: number;
  hit: boolean;
  /** `docker run` arguments: the volumes and the variables that name them. */
  args: string[];
  /** Frees the slot for another runner once this one's container holds it, or failed to start. */
  release(): void;
}

/** One cache volume of this host, as Docker lists it. */
interface CacheVolume {
  name: string;
  key: string;
  slot: number;
  kind: string;
  createdMs: number;
}

/** A slot of a cache with its volumes, for `cache ls`. */
export interface CacheEntry extends CacheSlot {
  volumes: string[];
}

/**
 * This host's runner caches: plain Docker volumes labelled with their owner (the runner name
 * prefix, `<prefix>-<host>-<host id>-`, which is this host's alone), a key (the repository, or
 * the organization when shared) and a slot. Another host's caches are never touched.
 */
export class CacheVolumes {
  /** Slots claimed by starts still in progress, per key. */
  #claimed = new Map<string, Set<number>>();
  /** Slots whose volumes are being removed, per key: never handed out meanwhile. */
  #removing = new Map<string, Set<number>>();

  readonly #usage: CacheUsage;

  /**
   * `owner` is the runner name prefix (`<prefix>-<host>-<host id>-`), `hostId` this host's
   * identity, which `purgeHostCaches` removes by.
   */
  constructor(
    private run: CommandRunner,
    private owner: string,
    private hostId: string,
    stateDir: string,
    private timeoutMs: number,
  ) {
    this.#usage = new CacheUsage(stateDir, owner);
  }

  /**
   * Claims a free slot of `key` for a runner, not one in `inUse` (the slots of this host's
   * runner containers), makes its volumes (the tool cache owned by the runner user, made so
   * with `image`) and records the use.
   */
  async claim(
    key: string,
    kinds: readonly CacheKind[],
    inUse: ReadonlySet<number>,
    image: string,
    now: Date,
  ): Promise<ClaimedCache> {
    const claimed = this.#claimed.get(key) ?? new Set<number>();
    this.#claimed.set(key, claimed);
    const removing = this.#removing.get(key) ?? [];
    const slot = freeSlot(new Set([...inUse, ...claimed, ...removing]));
    claimed.add(slot);
    const release = () => claimed.delete(slot);
    try {
      // Volumes are known by their labels, never by name alone: a name another cache (or a
      // stranger) holds is refused, not mounted.
      const existing = new Map(
        (await this.#volumes(key)).filter((v) => v.key === key && v.slot === slot)
          .map((v) => [v.kind, v.name]),
      );
      // A slot is recorded once its volumes are whole: one made but not yet given to the runner
      // user (a start that failed half-way) is prepared again.
      const recorded = (await this.#usage.all())?.(key, slot) !== undefined;
      const hit = recorded && kinds.every((kind) => existing.has(kind));
      const names: string[] = [];
      for (const kind of kinds) {
        const name = existing.get(kind) ?? await this.#create(key, slot, kind);
        names.push(name);
        // A new volume's root is root's; the runner user must own its tool cache.
        if (kind === "tool" && !(recorded && existing.has(kind))) await this.#own(name, image);
      }
      await this.#usage.record(key, slot, now);
      return {
        key,
        slot,
        hit,
        args: kinds.flatMap((kind, i) => [
          "--mount",
          // No copy of what the image has there: it would give the volume the image's owner.
          `type=volume,source=${names[i]},target=${CACHE_KINDS[kind]},volume-nocopy`,
          ...(kind === "tool"
            ? [
              "--env",
              `RUNNER_TOOL_CACHE=${CACHE_KINDS.tool}`,
              "--env",
              `AGENT_TOOLSDIRECTORY=${CACHE_KINDS.tool}`,
            ]
            : []),
        ]),
        release,
      };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * The volume of one kind of one slot: `<owner>cache-<key>-<hash>-<slot>-<kind>`, the key
   * readable for people and its SHA-256 (64 bits) so that keys that read alike differ.
   */
  volumeName(key: string, slot: number, kind: CacheKind): string {
    const readable = key.replace(/^(repo|org):/, "").toLowerCase().replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "").slice(0, 40);
    const hash = createHash("sha256").update(key).digest("hex").slice(0, 16);
    return `${this.owner}cache-${readable}-${hash}-${slot}-${kind}`;
  }

  /**
   * Makes a slot's volume of one kind and returns its name. `docker volume create` leaves a
   * volume of that name as it is, so its labels are read back: one that is not this cache's
   * (made by `docker run` when a volume vanished under it, say) is refused.
   */
  async #create(key: string, slot: number, kind: CacheKind): Promise<string> {
    const name = this.volumeName(key, slot, kind);
    await this.#docker(`create cache volume ${name}`, [
      "volume",
      "create",
      ...this.#labels(key, slot, kind),
      name,
    ]);
    const [made] = parseDockerList<{ Labels: Record<string, string> | null }>(
      "docker volume inspect",
      await this.#docker(`inspect cache volume ${name}`, ["volume", "inspect", name]),
    );
    const labels = made?.Labels ?? {};
    const wanted = {
      "cache-owner": this.owner,
      "cache-key": key,
      "cache-slot": String(slot),
      "cache-kind": kind,
    };
    if (Object.entries(wanted).some(([label, value]) => labels[`${LABEL}.${label}`] !== value)) {
      throw new DockerError(
        `Cannot use cache volume ${name}: a volume of that name that is not this cache's is ` +
          `there; remove it (docker volume rm ${name}) or start with --no-cache`,
      );
    }
    return name;
  }

  /**
   * Every slot of this host's caches with its size (Docker's `system df`, to 4 significant
   * digits), last use and whether a container holds it.
   */
  async list(): Promise<CacheEntry[]> {
    return (await this.#list(false)).entries;
  }

  /**
   * The slots, and when each was last used (null: unknown). With `unmeasured` a failure to
   * measure gives sizes of 0 and `measured` false instead of an error.
   */
  async #list(unmeasured: boolean): Promise<
    { entries: CacheEntry[]; lastUsed: LastUsed; measured: string | null }
  > {
    const volumes = await this.#volumes();
    const lastUsed = await this.#usage.all();
    if (volumes.length === 0) return { entries: [], lastUsed, measured: null };
    let measured: string | null = null;
    const sizes = await this.#sizes().catch((error) => {
      if (!unmeasured) throw error;
      measured = (error as Error).message;
      return new Map<string, { bytes: number; links: number }>();
    });
    const slots = new Map<string, CacheEntry>();
    for (const volume of volumes) {
      const id = `${volume.key}#${volume.slot}`;
      const size = sizes.get(volume.name);
      const entry = slots.get(id) ?? {
        key: volume.key,
        slot: volume.slot,
        bytes: 0,
        // A slot whose use was not recorded counts as used when it was made.
        lastUsedMs: lastUsed?.(volume.key, volume.slot) ?? volume.createdMs,
        inUse: this.#claimed.get(volume.key)?.has(volume.slot) ?? false,
        volumes: [],
      };
      entry.bytes += size?.bytes ?? 0;
      entry.inUse ||= (size?.links ?? 0) > 0;
      entry.volumes.push(volume.name);
      slots.set(id, entry);
    }
    const entries = [...slots.values()].sort((a, b) =>
      a.key.localeCompare(b.key) || a.slot - b.slot
    );
    return { entries, lastUsed, measured };
  }

  /**
   * Removes the slots over the limits (see `evictions`), logging each; returns what was removed
   * and the bytes left. A volume a container took meanwhile stays (Docker refuses to remove it).
   * Without a readable record of last uses, nothing is removed for its age.
   */
  async prune(limits: CacheLimits, now: Date): Promise<{ removed: Eviction[]; bytes: number }> {
    const listed = Date.now();
    const { entries, lastUsed, measured } = await this.#list(true);
    if (lastUsed === null) {
      log.warn("Cannot read when the runner caches were last used; pruning by size alone");
    } else {
      // A slot made while this listed (its record newer than the listing) keeps its record.
      await this.#usage.keepOnly(entries, listed);
    }
    if (measured !== null) {
      log.warn("{error}; pruning the runner caches by age alone", { error: measured });
    }
    const chosen = evictions(entries, {
      maxKeyBytes: measured === null ? limits.maxKeyBytes : Infinity,
      maxTotalBytes: measured === null ? limits.maxTotalBytes : Infinity,
      maxAgeMs: lastUsed === null ? Infinity : limits.maxAgeMs,
    }, now.getTime());
    const removed: Eviction[] = [];
    for (const eviction of chosen) {
      const entry = entries.find((e) => e.key === eviction.key && e.slot === eviction.slot)!;
      if (await this.remove(entry)) {
        removed.push(eviction);
        log.info("Pruned cache slot {slot} of {key} ({size}): {why}", {
          slot: eviction.slot,
          key: describeCacheKey(eviction.key),
          size: formatBytes(eviction.bytes),
          why: REASONS[eviction.reason],
        });
      }
    }
    const total = entries.reduce((sum, e) => sum + e.bytes, 0);
    return { removed, bytes: total - removed.reduce((sum, e) => sum + e.bytes, 0) };
  }

  /** Removes a slot's volumes unless a runner holds them; returns whether all were removed. */
  async remove(entry: CacheEntry): Promise<boolean> {
    const removing = this.#removing.get(entry.key) ?? new Set<number>();
    if (entry.inUse || this.#claimed.get(entry.key)?.has(entry.slot) || removing.has(entry.slot)) {
      return false;
    }
    this.#removing.set(entry.key, removing.add(entry.slot));
    try {
      return await this.#removeVolumes(entry);
    } finally {
      removing.delete(entry.slot);
      if (removing.size === 0) this.#removing.delete(entry.key);
    }
  }

  async #removeVolumes(entry: CacheEntry): Promise<boolean> {
    let all = true;
    for (const name of entry.volumes) {
      try {
        await this.#docker(`remove cache volume ${name}`, ["volume", "rm", name]);
      } catch (error) {
        all = false;
        log.warn("{error}", { error: (error as Error).message });
      }
    }
    if (all) await this.#usage.forget(entry.key, entry.slot);
    return all;
  }

  /**
   * This owner's volumes (of `key` when given). One removed between `ls` and `inspect` makes
   * inspect fail: the listing is tried once more before that counts.
   */
  async #volumes(key?: string): Promise<CacheVolume[]> {
    try {
      return await this.#listVolumes(key);
    } catch (error) {
      log.debug("Listing cache volumes again after: {error}", { error });
      return await this.#listVolumes(key);
    }
  }

  /** This owner's volumes, only those of `key` when given. */
  async #listVolumes(key?: string): Promise<CacheVolume[]> {
    const output = await this.#docker("list cache volumes", [
      "volume",
      "ls",
      "--quiet",
      "--filter",
      `label=${LABEL}.cache-owner=${this.owner}`,
      ...(key === undefined ? [] : ["--filter", `label=${LABEL}.cache-key=${key}`]),
    ]);
    const names = output.split("\n").filter((n) => n !== "");
    if (names.length === 0) return [];
    const inspected = parseDockerList<
      { Name: string; CreatedAt?: string; Labels: Record<string, string> | null }
    >(
      "docker volume inspect",
      await this.#docker("inspect cache volumes", ["volume", "inspect", ...names]),
    );
    return inspected.flatMap((v) => {
      const labels = v.Labels ?? {};
      const key = labels[`${LABEL}.cache-key`];
      const slot = Number(labels[`${LABEL}.cache-slot`]);
      if (labels[`${LABEL}.cache-owner`] !== this.owner || !key || !Number.isInteger(slot)) {
        return [];
      }
      return [{
        name: v.Name,
        key,
        slot,
        kind: labels[`${LABEL}.cache-kind`] ?? "",
        createdMs: Date.parse(v.CreatedAt ?? "") || 0,
      }];
    });
  }

  /** Each volume's size and how many containers use it, from `docker system df -v`. */
  async #sizes(): Promise<Map<string, { bytes: number; links: number }>> {
    // Docker walks every volume, image and container for this: minutes on a large host.
    const output = await this.#docker("measure cache volumes", [
      "system",
      "df",
      "--verbose",
      "--format",
      "{{json .Volumes}}",
    ], Math.max(this.timeoutMs, MEASURE_TIMEOUT_MS));
    // With no volumes at all, docker prints `null` (or nothing).
    const volumes = parseDockerList<{ Name: string; Size: string; Links: string }>(
      "docker system df",
      ["", "null"].includes(output.trim()) ? "[]" : output,
    );
    return new Map(
      volumes.map((
        v,
      ) => [v.Name, { bytes: parseSize(v.Size), links: Number(v.Links) || 0 }]),
    );
  }

  #labels(key: string, slot: number, kind: CacheKind): string[] {
    return Object.entries({
      "managed-by": MANAGED_BY,
      "cache-host": this.hostId,
      "cache-owner": this.owner,
      "cache-key": key,
      "cache-slot": String(slot),
      "cache-kind": kind,
    }).flatMap(([name, value]) => ["--label", `${LABEL}.${name}=${value}`]);
  }

  /** Gives a new volume's root to the runner user, in a short container with no network. */
  async #own(name: string, image: string): Promise<void> {
    await this.#docker(`prepare cache volume ${name}`, [
      "run",
      "--rm",
      "--pull",
      "never",
      "--network",
      "none",
      "--user",
      "0",
      "--cap-drop",
      "ALL",
      "--cap-add",
      "CHOWN",
      "--security-opt",
      "no-new-privileges",
      "--mount",
      `type=volume,source=${name},target=/cache`,
      "--entrypoint",
      "chown",
      image,
      `${RUNNER_UID}:${RUNNER_UID}`,
      "/cache",
    ], 2 * this.timeoutMs);
  }

  #docker(action: string, args: string[], timeoutMs = this.timeoutMs): Promise<string> {
    return dockerOutput(this.run, action, args, timeoutMs);
  }
}

/**
 * Removes every cache volume this host made, whatever its name prefix (`uninstall-service
 * --purge`), and the record of their use; returns the names removed, and for those Docker did
 * not remove (a container still holds them, say) its words.
 */
export async function purgeHostCaches(
  run: CommandRunner,
  hostId: string,
  stateDir: string,
  timeoutMs: number,
): Promise<{ removed: string[]; left: string[] }> {
  const listed = await dockerOutput(run, "list cache volumes", [
    "volume",
    "ls",
    "--quiet",
    "--filter",
    `label=${LABEL}.cache-host=${hostId}`,
  ], timeoutMs);
  const removed: string[] = [];
  const left: string[] = [];
  for (const name of listed.split("\n").filter((n) => n !== "")) {
    try {
      await dockerOutput(run, `remove cache volume ${name}`, ["volume", "rm", name], timeoutMs);
      removed.push(name);
    } catch (error) {
      left.push((error as Error).message);
    }
  }
  if (left.length === 0) await CacheUsage.purge(stateDir);
  return { removed, left };
}

const REASONS: Record<Eviction["reason"], string> = {
  age: "not used within --cache-max-age",
  "key-cap": "least recently used, over --cache-max-repo",
  "host-cap": "least recently used, over --cache-max-total",
};

/** Docker's human sizes (`0B`, `1.234kB`, `12.5MB`, decimal units) in bytes; 0 when unknown. */
export function parseSize(text: string): number {
  const match = text.trim().match(/^(\d+(?:\.\d+)?)\s*([kMGTP]?)B$/i);
  if (!match) return 0;
  const power = "BKMGTP".indexOf((match[2] || "B").toUpperCase());
  return Math.round(Number(match[1]) * 1000 ** power);
}
