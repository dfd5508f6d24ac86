import { join } from "node:path";

/** The file in the state directory that holds this host's identity. */
export const HOST_ID_FILE = "host-id";

/**
 * Where this program keeps its state: systemd's `STATE_DIRECTORY` (the units set
 * `StateDirectory=github-autoscaler`), else `$XDG_STATE_HOME/github-autoscaler`, else
 * `~/.local/state/github-autoscaler`; `/var/lib/github-autoscaler` for root without a home.
 */
export function stateDirectory(env: (name: string) => string | undefined): string {
  const systemd = env("STATE_DIRECTORY")?.split(":")[0];
  if (systemd) return systemd;
  const xdg = env("XDG_STATE_HOME");
  if (xdg) return join(xdg, "github-autoscaler");
  const home = env("HOME");
  if (home) return join(home, ".local", "state", "github-autoscaler");
  return "/var/lib/github-autoscaler";
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
  try {
    await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
    // createNew: of two daemons starting at once on a new host, one writes and both read it.
    await Deno.writeTextFile(path, `${id}\n`, { createNew: true });
    return id;
  } catch (error) {
    const raced = await readId(path);
    if (raced) return raced;
    throw new Error(
      `Cannot keep this host's identity in ${path}: ${(error as Error).message}; ` +
        "set STATE_DIRECTORY or XDG_STATE_HOME to a writable directory",
      { cause: error },
    );
  }
}

async function readId(path: string): Promise<string | null> {
  const text = await Deno.readTextFile(path).catch(() => null);
  if (text === null) return null;
  const id = text.trim().toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(id)) {
    throw new Error(`${path} holds "${text.trim().slice(0, 40)}", not 8 hex digits: remove it`);
  }
  return id;
}
