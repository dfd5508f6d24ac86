import { join } from "node:path";
import type { RunnerKind } from "../core/model.ts";

/** The file in the state directory that names this host's runner scale sets. */
const RECORD_FILE = "scale-sets.json";

/** One scale set this host made, and its last listener session. */
export interface ScaleSetEntry {
  id: number;
  name: string;
  /** The session this state directory's daemon last opened (closed on a clean stop). */
  sessionId: string | null;
}

/** Where the scale sets are, and which they are. */
export interface ScaleSetRecordData {
  /** The REST API base, so that `uninstall-service` finds the service again. */
  apiUrl: string;
  org: string;
  scaleSets: Partial<Record<RunnerKind, ScaleSetEntry>>;
}

/**
 * This host's scale sets in `scale-sets.json`: the daemon finds its own again after a restart
 * (and knows a session left open by a crash of its own, which it may close), and
 * `uninstall-service` deletes them. Written whole, then renamed into place.
 */
export class ScaleSetRecord {
  #writing: Promise<void> = Promise.resolve();

  constructor(readonly stateDir: string) {}

  /** The record, or null when there is none (or it cannot be read: then it is made anew). */
  async read(): Promise<ScaleSetRecordData | null> {
    try {
      const data = JSON.parse(await Deno.readTextFile(join(this.stateDir, RECORD_FILE)));
      return typeof data?.apiUrl === "string" && typeof data.org === "string" &&
          typeof data.scaleSets === "object" && data.scaleSets !== null
        ? data as ScaleSetRecordData
        : null;
    } catch {
      return null;
    }
  }

  /** The entry of `kind`, if this host made its scale set in `org` at `apiUrl`. */
  async entry(apiUrl: string, org: string, kind: RunnerKind): Promise<ScaleSetEntry | null> {
    const data = await this.read();
    return data && data.apiUrl === apiUrl && data.org.toLowerCase() === org.toLowerCase()
      ? data.scaleSets[kind] ?? null
      : null;
  }

  /** Records (or with null, forgets) the entry of `kind`. */
  update(apiUrl: string, org: string, kind: RunnerKind, entry: ScaleSetEntry | null) {
    this.#writing = this.#writing.then(async () => {
      const old = await this.read();
      const data: ScaleSetRecordData = old && old.apiUrl === apiUrl && old.org === org
        ? old
        : { apiUrl, org, scaleSets: {} };
      if (entry) data.scaleSets[kind] = entry;
      else delete data.scaleSets[kind];
      await Deno.mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      const path = join(this.stateDir, RECORD_FILE);
      const temporary = `${path}.${crypto.randomUUID().slice(0, 8)}`;
      await Deno.writeTextFile(temporary, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
      await Deno.rename(temporary, path);
    });
    return this.#writing;
  }

  /** Removes the record (`uninstall-service`, its scale sets deleted). */
  async remove(): Promise<void> {
    await Deno.remove(join(this.stateDir, RECORD_FILE)).catch(() => {});
  }
}
