import { dirname, join } from "node:path";
import { type CommandRunner, toolResult } from "../system/command.ts";
import { type ServiceScope, UNIT_MARKER, UNIT_NAME } from "./unit.ts";

/** Where a scope's unit and environment file live. */
export interface ServicePaths {
  unit: string;
  envFile: string;
}

/**
 * The unit and environment-file paths: `~/.config/systemd/user/` and `~/.config/github-autoscaler/`
 * for a user unit (honouring `XDG_CONFIG_HOME`), `/etc/systemd/system/` and
 * `/etc/github-autoscaler/` for a system unit, below `destdir` when given.
 */
export function servicePaths(
  scope: ServiceScope,
  env: (name: string) => string | undefined,
  destdir = "",
): ServicePaths {
  if (scope === "system") {
    return {
      unit: join(destdir || "/", "etc/systemd/system", UNIT_NAME),
      envFile: join(destdir || "/", "etc/github-autoscaler/env"),
    };
  }
  const home = env("HOME");
  if (!home) throw new Error("HOME is not set, so there is no place for a user unit");
  const config = env("XDG_CONFIG_HOME") || join(home, ".config");
  return {
    unit: join(destdir, config, "systemd/user", UNIT_NAME),
    envFile: join(destdir, config, "github-autoscaler/env"),
  };
}

/** `systemctl` for a scope: `systemctl --user ...` or `systemctl ...`. */
export async function systemctl(
  run: CommandRunner,
  scope: ServiceScope,
  args: string[],
): Promise<string> {
  const full = [...(scope === "user" ? ["--user"] : []), ...args];
  const result = toolResult("systemctl", await run("systemctl", full, { timeoutMs: 60_000 }));
  if (!result.ok) throw new Error(`systemctl ${full.join(" ")} failed: ${result.reason}`);
  return result.stdout;
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Writes a file whole or not at all: a temporary file beside it, then a rename. */
async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(temporary, text, { mode });
  await Deno.chmod(temporary, mode);
  await Deno.rename(temporary, path);
}

/** Puts a file back as it was (or removes it if it did not exist). */
async function restore(path: string, previous: string | null, mode: number): Promise<void> {
  if (previous === null) await Deno.remove(path).catch(() => {});
  else await writeAtomic(path, previous, mode);
}

/** Whether an existing unit may be replaced: it is ours, or `force` says so. */
export async function checkOwnership(unit: string, force: boolean): Promise<string | null> {
  const existing = await readOrNull(unit);
  if (existing !== null && !existing.startsWith(UNIT_MARKER) && !force) {
    throw new Error(
      `${unit} exists and was not written by github-autoscaler; use --force to replace it`,
    );
  }
  return existing;
}

/**
 * Whether `unit` (a unit's text) is ours and names `envFile` in `EnvironmentFile=`; below a
 * destdir the unit names the installed path, which `envFile` ends with.
 */
function namesEnvFile(unit: string | null, envFile: string): boolean {
  if (unit === null || !unit.startsWith(UNIT_MARKER)) return false;
  return [...unit.matchAll(/^EnvironmentFile=-?(\/.+)$/gm)].some(([, path]) =>
    envFile.endsWith(path!)
  );
}

/**
 * Whether installing without an environment file would remove one: the installed unit is ours
 * and names `paths.envFile`, which exists, so an earlier install wrote it (with the token).
 */
export async function hasStaleTokenFile(paths: ServicePaths): Promise<boolean> {
  if (!namesEnvFile(await readOrNull(paths.unit), paths.envFile)) return false;
  return await Deno.stat(paths.envFile).then(() => true, () => false);
}

/**
 * Installs (or updates) the unit and its environment file, then `daemon-reload` and
 * `enable --now` unless `enable` is false. Without an environment file (`envText` null), one the
 * previous unit of ours named is removed, so no token is left on disk (see `hasStaleTokenFile`).
 * When systemctl fails, the files are put back as they were, so no half-installed service is
 * left. Returns whether it removed a token file.
 */
export async function installUnit(
  run: CommandRunner,
  options: {
    scope: ServiceScope;
    paths: ServicePaths;
    unitText: string;
    envText: string | null;
    force: boolean;
    enable: boolean;
  },
): Promise<{ removedTokenFile: boolean }> {
  const { scope, paths } = options;
  const previousUnit = await checkOwnership(paths.unit, options.force);
  const stale = options.envText === null && namesEnvFile(previousUnit, paths.envFile);
  const previousEnv = options.envText === null && !stale ? null : await readOrNull(paths.envFile);
  if (options.envText !== null) await writeAtomic(paths.envFile, options.envText, 0o600);
  await writeAtomic(paths.unit, options.unitText, 0o644);
  // Only now that the unit no longer names it: a unit naming a missing file does not start.
  const removedTokenFile = stale && previousEnv !== null;
  if (removedTokenFile) await Deno.remove(paths.envFile);
  if (!options.enable) return { removedTokenFile };
  try {
    await systemctl(run, scope, ["daemon-reload"]);
    await systemctl(run, scope, ["enable", "--now", UNIT_NAME]);
  } catch (error) {
    await restore(paths.unit, previousUnit, 0o644);
    if (options.envText !== null || removedTokenFile) {
      await restore(paths.envFile, previousEnv, 0o600);
    }
    await systemctl(run, scope, ["daemon-reload"]).catch(() => "");
    const what = previousUnit === null ? "nothing was installed" : "the previous unit was restored";
    throw new Error(`${error instanceof Error ? error.message : String(error)}; ${what}`);
  }
  return { removedTokenFile };
}

/**
 * Stops and disables the service and removes its unit and environment file. Returns false when
 * there was no unit.
 */
export async function uninstallUnit(
  run: CommandRunner,
  scope: ServiceScope,
  paths: ServicePaths,
  force: boolean,
): Promise<boolean> {
  const existing = await checkOwnership(paths.unit, force);
  if (existing === null) return false;
  await systemctl(run, scope, ["disable", "--now", UNIT_NAME]);
  await Deno.remove(paths.unit);
  await Deno.remove(paths.envFile).catch(() => {});
  await systemctl(run, scope, ["daemon-reload"]);
  return true;
}
