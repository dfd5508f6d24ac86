import { join } from "node:path";
import type { RunnerKind } from "../core/model.ts";

/** The file in the state directory that names this host's runner scale sets. */
const RECORD_FILE = "scale-sets.json";

/** One scale set this host made, where, and its last listener session. */
export interface ScaleSetEntry {
  /** The REST API base, so that `uninstall-service` finds the service again. */
  apiUrl: string;
  org: string;
  kind: RunnerKind;
  id: number;
  name: string;
  /** The session this state directory's daemon opened (null once closed on a clean stop). */
  sessionId: string | null;
  /**
   * A session is being opened: a run that ends before it records the session's id may have
   * left one open, which GitHub ends after a while.
   */
  opening: boolean;
}

const sameOrg = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * This host's scale sets in `scale-sets.json`, of every organization and GitHub it made them in:
 * the daemon finds its own again after a restart (and knows a session left open by a crash of
 * its own), and `uninstall-service` deletes them all. Written whole, then renamed into place; a
 * write that fails leaves the file as it was and fails that write alone.
 */
export class ScaleSetRecord {
  #writing: Promise<unknown> = Promise.resolve();

  constructor(readonly stateDir: string) {}

  /** Every entry; none when there is no file (or it cannot be read: then it is made anew). */
  async entries(): Promise<ScaleSetEntry[]> {
    try {
      const data = JSON.parse(await Deno.readTextFile(join(this.stateDir, RECORD_FILE)));
      const entries: unknown[] = Array.isArray(data?.scaleSets) ? data.scaleSets : [];
      return entries.filter(isEntry).map((e) => ({
        ...e,
        sessionId: typeof e.sessionId === "string" ? e.sessionId : null,
        opening: e.opening === true,
      }));
    } catch {
      return [];
    }
  }

  /** The entries of scale sets this host made in `org` at `apiUrl`. */
  async at(apiUrl: string, org: string): Promise<ScaleSetEntry[]> {
    return (await this.entries()).filter((e) => e.apiUrl === apiUrl && sameOrg(e.org, org));
  }

  /** The entry of `kind` in `org` at `apiUrl`, if this host made that scale set. */
  async entry(apiUrl: string, org: string, kind: RunnerKind): Promise<ScaleSetEntry | null> {
    return (await this.at(apiUrl, org)).find((e) => e.kind === kind) ?? null;
  }

  /** Records `entry`, in place of the one of its kind, organization and GitHub. */
  update(entry: ScaleSetEntry): Promise<void> {
    return this.#change((entries) => [...entries.filter((e) => !same(e, entry)), entry]);
  }

  /** Forgets the entries `which` picks. */
  forget(which: (entry: ScaleSetEntry) => boolean): Promise<void> {
    return this.#change((entries) => entries.filter((e) => !which(e)));
  }

  #change(change: (entries: ScaleSetEntry[]) => ScaleSetEntry[]): Promise<void> {
    const next = this.#writing.then(async () => {
      const entries = change(await this.entries());
      await Deno.mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      const path = join(this.stateDir, RECORD_FILE);
      if (entries.length === 0) {
        await Deno.remove(path).catch(() => {});
        return;
      }
      const temporary = `${path}.${crypto.randomUUID().slice(0, 8)}`;
      try {
        const text = `${JSON.stringify({ scaleSets: entries }, null, 2)}\n`;
        await Deno.writeTextFile(temporary, text, { mode: 0o600 });
        await Deno.rename(temporary, path);
      } finally {
        await Deno.remove(temporary).catch(() => {});
      }
    });
    this.#writing = next.catch(() => {});
    return next;
  }
}

function same(a: ScaleSetEntry, b: ScaleSetEntry): boolean {
  return a.apiUrl === b.apiUrl && sameOrg(a.org, b.org) && a.kind === b.kind;
}

function isEntry(value: unknown): value is ScaleSetEntry {
  const e = value as Partial<ScaleSetEntry> | null;
  return typeof e?.apiUrl === "string" && typeof e.org === "string" &&
    typeof e.kind === "string" && typeof e.id === "number" && typeof e.name === "string";
}
