import { join } from "node:path";

/** The lock file in the state directory that one daemon holds while it runs. */
const LOCK_FILE = "run.lock";

/**
 * Takes the daemon lock of a state directory: an exclusive `flock` on `run.lock`, which the
 * kernel releases when the process ends however it ends (a `kill -9` leaves no stale lock). Two
 * daemons of one host would start runners for the same jobs; the second refuses, naming the
 * first's PID. Returns the open file, which holds the lock until it is closed.
 */
export async function takeRunLock(stateDir: string): Promise<Deno.FsFile> {
  const path = join(stateDir, LOCK_FILE);
  let file: Deno.FsFile;
  try {
    await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
    file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (error) {
    throw new Error(
      `Cannot take the daemon lock ${path}: ${(error as Error).message}; ` +
        "set STATE_DIRECTORY or XDG_STATE_HOME to a writable directory",
      { cause: error },
    );
  }
  if (!(await file.tryLock(true))) {
    file.close();
    const holder = (await Deno.readTextFile(path).catch(() => "")).trim() || "unknown";
    throw new Error(
      `Another autoscaler daemon (PID ${holder}) already runs with the state directory ` +
        `${stateDir}: stop it first (autoscaler service stop, if it is the service)`,
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  return file;
}
