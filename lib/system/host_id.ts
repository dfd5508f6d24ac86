import { join } from "node:path";

/** The file in the state directory that holds this host's identity. */
const HOST_ID_FILE = "host-id";

/** Root's state directory, which the system unit's `StateDirectory=` also names. */
const SYSTEM_STATE_DIRECTORY = "/var/lib/github-autoscaler";

/**
 * Where this program keeps its state, the same for the service and for a command run by hand
 * as the same user: systemd's `STATE_DIRECTORY` (the system unit's `StateDirectory=`, which is
 * `/var/lib/github-autoscaler`), else `$XDG_STATE_HOME/github-autoscaler`, else for root
 * `/var/lib/github-autoscaler`, else `~/.local/state/github-autoscaler` (the user unit may write
 * it), else `/var/lib/github-autoscaler`; `explicit` (`--state-dir`) before all of them.
 */
export function stateDirectory(
  env: (name: string) => string | undefined,
  uid: number | null,
  explicit: string | null = null,
): string {
  if (explicit !== null) return explicit;
  const systemd = env("STATE_DIRECTORY")?.split(":")[0];
  if (systemd) return systemd;
  const xdg = env("XDG_STATE_HOME");
  if (xdg) return join(xdg, "github-autoscaler");
  const home = env("HOME");
  if (uid === 0 || !home) return SYSTEM_STATE_DIRECTORY;
  return join(home, ".local", "state", "github-autoscaler");
}

/**
 * This host's identity, 8 hex digits: made at random the first time and kept in the state
 * directory, so it survives restarts and differs between hosts of one name (cloned VMs, pods of
 * one pool). Runner names carry it, and only names with it are this host's to delete.
 */
export async function hostId(stateDir: string): Promise<string> {
  const path = join(stateDir, HOST_ID_FILE);
  const existing = await readId(path);
  if (existing) return existing;
  const id = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
  const temporary = `${path}.${id}`;
  try {
    await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
    // Written whole and synced under another name, then linked into place: the file is never
    // seen half written, and of two daemons starting at once on a new host one links, both read.
    const file = await Deno.open(temporary, { write: true, createNew: true, mode: 0o644 });
    try {
      await file.write(new TextEncoder().encode(`${id}\n`));
      await file.sync();
    } finally {
      file.close();
    }
    // An empty file (a crash or a full disk before this was written whole) never named a runner.
    if (existing === "") await Deno.remove(path).catch(() => {});
    await Deno.link(temporary, path);
    return id;
  } catch (error) {
    const raced = await readId(path).catch(() => null);
    if (raced) return raced;
    throw new Error(
      `Cannot keep this host's identity in ${path}: ${(error as Error).message}; ` +
        "set STATE_DIRECTORY or XDG_STATE_HOME to a writable directory",
      { cause: error },
    );
  } finally {
    await Deno.remove(temporary).catch(() => {});
  }
}

/** The id in the file; null when there is none, "" when the file is empty. */
async function readId(path: string): Promise<string | null> {
  const text = await Deno.readTextFile(path).catch(() => null);
  if (text === null) return null;
  const id = text.trim().toLowerCase();
  if (id === "") return "";
  if (!/^[0-9a-f]{8}$/.test(id)) {
    throw new Error(`${path} holds "${text.trim().slice(0, 40)}", not 8 hex digits: remove it`);
  }
  return id;
}
