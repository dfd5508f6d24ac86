import { basename, dirname, join } from "node:path";
import { type CommandRunner, toolResult } from "../system/command.ts";
import { UpdateError } from "./release.ts";

/** The previous version kept beside the binary, for `--rollback`. */
export const previousOf = (target: string) => `${target}.previous`;

/** The file operations a swap makes; tests pass their own to observe or fail each step. */
export type SwapFs = Pick<typeof Deno, "link" | "copyFile" | "rename">;

/** Where the daemon notes a fresh update's starts, to roll back one that keeps failing. */
export const stateOf = (target: string) => `${target}.update-state`;

async function ownerOf(run: CommandRunner, dir: string): Promise<string> {
  const result = toolResult("stat", await run("stat", ["-c", "%U", dir], { timeoutMs: 5000 }));
  return result.ok ? result.stdout.trim() : "another user";
}

/** A hidden name beside `target` for a file on its way in or out. */
const besideOf = (target: string, what: string) =>
  join(dirname(target), `.${basename(target)}.${what}-${crypto.randomUUID().slice(0, 8)}`);

/** Makes `to` a second name of `from`, or a copy where the file system has no hard links. */
async function keep(fs: SwapFs, from: string, to: string): Promise<void> {
  try {
    await fs.link(from, to);
  } catch {
    await fs.copyFile(from, to);
  }
}

/**
 * Puts `incoming` (beside `target`) in its place, the current file becoming `.previous`.
 * `target` is never missing, even if the process is killed between steps, because systemd
 * restarts whatever is there: the current file is first linked to `.previous` (a temporary name
 * renamed over it), then `incoming` is renamed over `target`, which replaces it in one step.
 * On failure `target` is as it was (`.previous` may already hold it) and `incoming` is left.
 */
async function swapIn(fs: SwapFs, target: string, incoming: string): Promise<void> {
  const outgoing = besideOf(target, "previous");
  try {
    await keep(fs, target, outgoing);
    await fs.rename(outgoing, previousOf(target));
  } catch (error) {
    await Deno.remove(outgoing).catch(() => {});
    throw error;
  }
  await fs.rename(incoming, target);
}

/**
 * Replaces `target` with `bytes`, or leaves it untouched: the new file is written beside it
 * (same directory, so the rename is atomic), synced, made executable, and must answer
 * `--version` with `autoscaler <expectedVersion>`; then the current file becomes
 * `<target>.previous` and the new one takes its place, `target` never missing meanwhile. Every
 * failure removes the new file and says why. `fs` is for tests, to watch or fail each step.
 */
export async function replaceBinary(
  run: CommandRunner,
  target: string,
  bytes: Uint8Array,
  expectedVersion: string,
  fs: SwapFs = Deno,
): Promise<void> {
  const dir = dirname(target);
  const temporary = besideOf(target, "new");
  const mode = ((await Deno.stat(target).catch(() => null))?.mode ?? 0o755) & 0o777 | 0o100;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temporary, { write: true, createNew: true, mode });
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new UpdateError(
        `Cannot write to ${dir}: it belongs to ${await ownerOf(run, dir)}; run the update as ` +
          "that user (or with sudo)",
        { cause: error },
      );
    }
    throw new UpdateError(`Cannot write to ${dir}: ${(error as Error).message}`, { cause: error });
  }
  try {
    try {
      let rest = bytes;
      while (rest.length > 0) rest = rest.subarray(await file.write(rest));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(temporary, mode);
    const answer = toolResult(
      "the new binary",
      await run(temporary, ["--version"], { timeoutMs: 30_000 }),
    );
    const said = answer.ok ? answer.stdout.trim() : answer.reason;
    if (said !== `autoscaler ${expectedVersion}`) {
      throw new UpdateError(
        `The new binary does not run as version ${expectedVersion} (it said: ${said}); kept the ` +
          "current one",
      );
    }
    await swapIn(fs, target, temporary);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    if (error instanceof UpdateError) throw error;
    throw new UpdateError(`Cannot install the new binary in ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Puts `<target>.previous` back in place, keeping the replaced one as the new `.previous`;
 * `target` is never missing meanwhile (see `swapIn`), and on failure it is as it was.
 */
export async function rollBack(target: string, fs: SwapFs = Deno): Promise<void> {
  const previous = previousOf(target);
  if (!(await Deno.stat(previous).catch(() => null))) {
    throw new UpdateError(`There is no previous version at ${previous} to go back to`);
  }
  // A second name for the version going back, since `swapIn` replaces `.previous` first.
  const incoming = besideOf(target, "rollback");
  try {
    await keep(fs, previous, incoming);
    await swapIn(fs, target, incoming);
  } catch (error) {
    // `.previous` may already be the current file: the version to go back to must not be lost.
    await Deno.rename(incoming, previous).catch(() => {});
    await Deno.remove(incoming).catch(() => {});
    throw new UpdateError(`Cannot roll back: ${(error as Error).message}`, { cause: error });
  }
}

/** What the daemon remembers about the update it installed. */
interface UpdateState {
  version: string;
  starts: number;
  healthy: boolean;
}

/** Notes that `version` was just installed and has not yet run a good cycle. */
export async function markInstalled(target: string, version: string): Promise<void> {
  const state: UpdateState = { version, starts: 0, healthy: false };
  await Deno.writeTextFile(stateOf(target), JSON.stringify(state));
}

/**
 * At daemon start: counts starts of a freshly installed version that has not yet run a good
 * cycle; at the `limit`-th it rolls back to `.previous` and returns true (the caller exits, and
 * systemd starts the previous version).
 */
export async function countStart(target: string, version: string, limit = 3): Promise<boolean> {
  const state = await readState(target);
  if (state === null || state.version !== version || state.healthy) return false;
  state.starts++;
  if (state.starts >= limit) {
    await rollBack(target);
    await Deno.remove(stateOf(target)).catch(() => {});
    return true;
  }
  await Deno.writeTextFile(stateOf(target), JSON.stringify(state));
  return false;
}

/** After a good cycle: this version is here to stay. */
export async function markHealthy(target: string): Promise<void> {
  const state = await readState(target);
  if (state === null || state.healthy) return;
  await Deno.writeTextFile(stateOf(target), JSON.stringify({ ...state, healthy: true }));
}

async function readState(target: string): Promise<UpdateState | null> {
  try {
    const state = JSON.parse(await Deno.readTextFile(stateOf(target)));
    return typeof state?.version === "string" && typeof state.starts === "number" ? state : null;
  } catch {
    return null;
  }
}
