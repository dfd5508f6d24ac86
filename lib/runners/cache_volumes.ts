import { join } from "node:path";
import { getLogger } from "@logtape/logtape";
import {
  CACHE_KINDS,
  type CacheKind,
  type CacheLimits,
  type CacheSlot,
  describeCacheKey,
  type Eviction,
  evictions,
  freeSlot,
} from "../core/caches.ts";
import { type CommandRunner, toolResult } from "../system/command.ts";
import { DockerError, LABEL, MANAGED_BY, RUNNER_UID } from "./docker.ts";

const log = getLogger(["autoscaler", "caches"]);

/** The file in the state directory that says when each cache slot was last used. */
const USAGE_FILE = "caches.json";

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

  /**
   * `owner` is the runner name prefix (`<prefix>-<host>-<host id>-`), `hostId` this host's
   * identity, which `purgeHostCaches` removes by.
   */
  constructor(
    private run: CommandRunner,
    private owner: string,
    private hostId: string,
    private stateDir: string,
    private timeoutMs: number,
  ) {}

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
    const slot = freeSlot(new Set([...inUse, ...claimed]));
    claimed.add(slot);
    const release = () => claimed.delete(slot);
    try {
      const existing = new Set((await this.#volumes()).map((v) => v.name));
      // A slot is recorded once its volumes are whole: one made but not yet given to the runner
      // user (a start that failed half-way) is prepared again.
      const recorded = (await this.#readUsage())[this.#usageId(key, slot)] !== undefined;
      const names = kinds.map((kind) => this.volumeName(key, slot, kind));
      const hit = recorded && names.every((name) => existing.has(name));
      for (const [i, kind] of kinds.entries()) {
        const name = names[i]!;
        if (existing.has(name) && recorded) continue;
        if (!existing.has(name)) {
          await this.#docker(`create cache volume ${name}`, [
            "volume",
            "create",
            ...this.#labels(key, slot, kind),
            name,
          ]);
        }
        // A new volume's root is root's; the runner user must own its tool cache.
        if (kind === "tool") await this.#own(name, image);
      }
      await this.#recordUse(key, slot, now);
      return {
        key,
        slot,
        hit,
        args: kinds.flatMap((kind, i) => [
          "--mount",
          `type=volume,source=${names[i]},target=${CACHE_KINDS[kind]}`,
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

  /** The volume of one kind of one slot: `<owner>cache-<key>-<hash>-<slot>-<kind>`. */
  volumeName(key: string, slot: number, kind: CacheKind): string {
    const readable = key.replace(/^(repo|org):/, "").toLowerCase().replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "").slice(0, 40);
    return `${this.owner}cache-${readable}-${fnv(key)}-${slot}-${kind}`;
  }

  /**
   * Every slot of this host's caches with its size (Docker's `system df`, to 4 significant
   * digits), last use and whether a container holds it.
   */
  async list(): Promise<CacheEntry[]> {
    const volumes = await this.#volumes();
    if (volumes.length === 0) return [];
    const usage = await this.#readUsage();
    const sizes = await this.#sizes();
    const slots = new Map<string, CacheEntry>();
    for (const volume of volumes) {
      const id = this.#usageId(volume.key, volume.slot);
      const size = sizes.get(volume.name);
      const entry = slots.get(id) ?? {
        key: volume.key,
        slot: volume.slot,
        bytes: 0,
        // A slot whose use was not recorded counts as used when it was made.
        lastUsedMs: usage[id] ?? volume.createdMs,
        inUse: this.#claimed.get(volume.key)?.has(volume.slot) ?? false,
        volumes: [],
      };
      entry.bytes += size?.bytes ?? 0;
      entry.inUse ||= (size?.links ?? 0) > 0;
      entry.volumes.push(volume.name);
      slots.set(id, entry);
    }
    return [...slots.values()].sort((a, b) => a.key.localeCompare(b.key) || a.slot - b.slot);
  }

  /**
   * Removes the slots over the limits (see `evictions`), logging each; returns what was removed
   * and the bytes left. A volume a container took meanwhile stays (Docker refuses to remove it).
   */
  async prune(limits: CacheLimits, now: Date): Promise<{ removed: Eviction[]; bytes: number }> {
    const entries = await this.list();
    const chosen = evictions(entries, limits, now.getTime());
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
    if (entry.inUse || this.#claimed.get(entry.key)?.has(entry.slot)) return false;
    let all = true;
    for (const name of entry.volumes) {
      const outcome = toolResult(
        "docker",
        await this.run("docker", ["volume", "rm", name], { timeoutMs: this.timeoutMs }),
      );
      if (!outcome.ok) {
        all = false;
        log.warn("Could not remove cache volume {name}: {reason}", {
          name,
          reason: outcome.reason,
        });
      }
    }
    if (all) await this.#forget(entry.key, entry.slot);
    return all;
  }

  async #volumes(): Promise<CacheVolume[]> {
    const output = await this.#docker("list cache volumes", [
      "volume",
      "ls",
      "--quiet",
      "--filter",
      `label=${LABEL}.cache-owner=${this.owner}`,
    ]);
    const names = output.split("\n").filter((n) => n !== "");
    if (names.length === 0) return [];
    const inspected = parseList<
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
    const output = await this.#docker("measure cache volumes", [
      "system",
      "df",
      "--verbose",
      "--format",
      "{{json .Volumes}}",
    ]);
    const volumes = parseList<{ Name: string; Size: string; Links: string }>(
      "docker system df",
      output,
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

  async #docker(action: string, args: string[], timeoutMs = this.timeoutMs): Promise<string> {
    const result = toolResult("docker", await this.run("docker", args, { timeoutMs }));
    if (!result.ok) throw new DockerError(`Cannot ${action}: ${result.reason}`);
    return result.stdout;
  }

  /** A slot's entry in the usage file, which the owners of one state directory share. */
  #usageId(key: string, slot: number): string {
    return `${this.owner}${key}#${slot}`;
  }

  /** Reads when each slot was last used; an unreadable file counts as empty. */
  async #readUsage(): Promise<Record<string, number>> {
    try {
      const parsed = JSON.parse(await Deno.readTextFile(join(this.stateDir, USAGE_FILE)));
      return Object.fromEntries(
        Object.entries(parsed ?? {}).filter(([, v]) => typeof v === "number"),
      ) as Record<string, number>;
    } catch {
      return {};
    }
  }

  #writing: Promise<void> = Promise.resolve();

  /** Changes the usage file whole: written under another name, then renamed into place. */
  #changeUsage(change: (usage: Record<string, number>) => void): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const usage = await this.#readUsage();
      change(usage);
      const path = join(this.stateDir, USAGE_FILE);
      await Deno.mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await Deno.writeTextFile(`${path}.${Deno.pid}`, JSON.stringify(usage, null, 1));
      await Deno.rename(`${path}.${Deno.pid}`, path);
    }).catch((error) => {
      log.warn("Could not record cache use in {dir}: {error}", {
        dir: this.stateDir,
        error: (error as Error).message,
      });
    });
    return this.#writing;
  }

  #recordUse(key: string, slot: number, now: Date): Promise<void> {
    return this.#changeUsage((usage) => usage[this.#usageId(key, slot)] = now.getTime());
  }

  #forget(key: string, slot: number): Promise<void> {
    return this.#changeUsage((usage) => delete usage[this.#usageId(key, slot)]);
  }
}

/**
 * Removes every cache volume this host made, whatever its name prefix (`uninstall-service
 * --purge`), and the record of their use; returns the names removed and those Docker refused
 * (a runner still holds them).
 */
export async function purgeHostCaches(
  run: CommandRunner,
  hostId: string,
  stateDir: string,
  timeoutMs: number,
): Promise<{ removed: string[]; left: string[] }> {
  const listed = toolResult(
    "docker",
    await run("docker", [
      "volume",
      "ls",
      "--quiet",
      "--filter",
      `label=${LABEL}.cache-host=${hostId}`,
    ], { timeoutMs }),
  );
  if (!listed.ok) throw new DockerError(`Cannot list cache volumes: ${listed.reason}`);
  const removed: string[] = [];
  const left: string[] = [];
  for (const name of listed.stdout.split("\n").filter((n) => n !== "")) {
    const outcome = await run("docker", ["volume", "rm", name], { timeoutMs });
    (outcome.kind === "exited" && outcome.code === 0 ? removed : left).push(name);
  }
  if (left.length === 0) await Deno.remove(join(stateDir, USAGE_FILE)).catch(() => {});
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

/**
 * Docker's JSON list (empty for no answer or `null`), or a `DockerError` naming the command
 * whose answer it could not read.
 */
function parseList<T>(command: string, text: string): T[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.trim() || "null");
  } catch (error) {
    throw new DockerError(`Cannot read ${command}'s answer: ${(error as Error).message}`);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new DockerError(`Cannot read ${command}'s answer: not a list`);
  return parsed as T[];
}

/** A short stable hash of a key, so names of keys that read alike never collide. */
function fnv(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
