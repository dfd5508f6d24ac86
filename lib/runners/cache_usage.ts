import { join } from "node:path";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["autoscaler", "caches"]);

/** The file in the state directory that says when each cache slot was last used. */
const USAGE_FILE = "caches.json";

/** When each slot was last used (ms since the epoch), or null when the file cannot be read. */
export type LastUsed = ((key: string, slot: number) => number | undefined) | null;

/**
 * When each cache slot of one owner (a runner name prefix) was last used, in the state
 * directory's `caches.json`, which the owners of one state directory share. A slot is recorded
 * once its volumes are whole. Docker keeps no such time; this file is the daemon's own. A file
 * that is there but cannot be read is never written over: its records would be lost.
 */
export class CacheUsage {
  #writing: Promise<void> = Promise.resolve();

  constructor(private stateDir: string, private owner: string) {}

  /** When each slot was last used, read once (null: the file cannot be read). */
  async all(): Promise<LastUsed> {
    const usage = await this.#read();
    return usage && ((key, slot) => usage[this.#id(key, slot)]);
  }

  /** Records that a runner took the slot `now` (its volumes whole). */
  record(key: string, slot: number, now: Date): Promise<void> {
    return this.#change((usage) => usage[this.#id(key, slot)] = now.getTime());
  }

  /** Drops the slot's record, its volumes removed. */
  forget(key: string, slot: number): Promise<void> {
    return this.#change((usage) => delete usage[this.#id(key, slot)]);
  }

  /**
   * Drops this owner's records of slots that are gone (removed by hand, say): those not in
   * `slots` and last used before `sinceMs` (a slot recorded since was made after the listing).
   */
  keepOnly(slots: { key: string; slot: number }[], sinceMs: number): Promise<void> {
    const kept = new Set(slots.map(({ key, slot }) => this.#id(key, slot)));
    // An id is the owner, then `repo:` or `org:`: another owner's never starts so.
    const mine = [`${this.owner}repo:`, `${this.owner}org:`];
    return this.#change((usage) => {
      for (const [id, used] of Object.entries(usage)) {
        if (mine.some((start) => id.startsWith(start)) && !kept.has(id) && used < sinceMs) {
          delete usage[id];
        }
      }
    });
  }

  /** Removes the file (every owner's records): `uninstall-service --purge`. */
  static async purge(stateDir: string): Promise<void> {
    await Deno.remove(join(stateDir, USAGE_FILE)).catch(() => {});
  }

  #id(key: string, slot: number): string {
    return `${this.owner}${key}#${slot}`;
  }

  /** The records; empty when there is no file yet, null when it is there but unreadable. */
  async #read(): Promise<Record<string, number> | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(join(this.stateDir, USAGE_FILE));
    } catch (error) {
      return error instanceof Deno.errors.NotFound ? {} : null;
    }
    try {
      const parsed = JSON.parse(text);
      return Object.fromEntries(
        Object.entries(parsed ?? {}).filter(([, v]) => typeof v === "number"),
      ) as Record<string, number>;
    } catch {
      return null;
    }
  }

  /** Changes the file whole, one change at a time: written under another name, then renamed. */
  #change(change: (usage: Record<string, number>) => void): Promise<void> {
    const path = join(this.stateDir, USAGE_FILE);
    this.#writing = this.#writing.then(async () => {
      const usage = await this.#read();
      if (usage === null) throw new Error(`${path} is there but cannot be read`);
      change(usage);
      await Deno.mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await Deno.writeTextFile(`${path}.${Deno.pid}`, JSON.stringify(usage, null, 1));
      await Deno.rename(`${path}.${Deno.pid}`, path);
    }).catch((error) => {
      log.warn("Could not record cache use in {path}: {error}", {
        path,
        error: (error as Error).message,
      });
    });
    return this.#writing;
  }
}
