import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../core/errors.ts";
import { findToken } from "../github/token.ts";
import { isCompiled, selfCommand } from "../program/self.ts";
import {
  checkOwnership,
  hasStaleTokenFile,
  installUnit,
  servicePaths,
  uninstallUnit,
} from "../service/install.ts";
import {
  execStartOption,
  parseEnvFile,
  renderEnvFile,
  renderUnit,
  type ServiceScope,
  UNIT_NAME,
} from "../service/unit.ts";
import { ScaleSetRecord } from "../daemon/scale_set_record.ts";
import { DEFAULT_API_TIMEOUT_MS } from "../github/client.ts";
import { removeScaleSets } from "./scale_set_removal.ts";
import { toolResult } from "../system/command.ts";
import { hostId, stateDirectory } from "../system/host_id.ts";
import { takeRunLock } from "../system/run_lock.ts";
import { purgeHostCaches } from "../runners/cache_volumes.ts";
import { DEFAULT_DOCKER_TIMEOUT_MS } from "../runners/docker.ts";
import { actionOf, type Command, type Deps, type OptionValues } from "./command.ts";
import { parseRunOptions, RUN_OPTIONS } from "./run_options.ts";

const SCOPE_OPTIONS = {
  user: { type: "boolean" },
  system: { type: "boolean" },
} as const;

const SCOPE_HELP = `  --user                    The user's systemd manager (the default)
  --system                  The system's (as root)`;

function scopeOf(values: OptionValues): ServiceScope {
  if (values.user === true && values.system === true) {
    throw new UsageError("Give --user or --system, not both");
  }
  return values.system === true ? "system" : "user";
}

/** Run options that make no sense for a service, or that install-service uses itself. */
const NOT_FORWARDED = new Set(["dry-run", "once"]);

/** The run options among `args`, in order, each as one `--name=value` word (values kept exact). */
function forwardedRunArgs(args: readonly string[], options: Command["options"]): string[] {
  const { tokens } = parseArgs({ args: [...args], options, strict: true, tokens: true });
  const forwarded: string[] = [];
  for (const token of tokens) {
    if (token.kind !== "option" || !(token.name in RUN_OPTIONS) || NOT_FORWARDED.has(token.name)) {
      continue;
    }
    forwarded.push(
      token.value === undefined ? `--${token.name}` : `--${token.name}=${token.value}`,
    );
  }
  return forwarded;
}

async function unitTemplate(scope: ServiceScope): Promise<string> {
  return await Deno.readTextFile(
    new URL(`../../systemd/github-autoscaler.${scope}.service`, import.meta.url),
  );
}

/** Variables that tell the daemon which GitHub to use, kept in the environment file. */
const HOST_VARIABLES = ["GH_HOST", "GITHUB_API_URL"];

/** `autoscaler install-service`: a systemd unit that runs `autoscaler run` with the given flags. */
export const installServiceCommand: Command = {
  name: "install-service",
  summary: "Install and start a systemd service that runs `autoscaler run` with the given options",
  help: `Usage: autoscaler install-service [--user | --system] [--dry-run] [--force]
                                  [--no-token-file] [--destdir DIR] [run options]

Writes ${UNIT_NAME} (user: ~/.config/systemd/user/, system: /etc/systemd/system/)
whose ExecStart is this program followed by "run" and the run options given here (see
"autoscaler run --help"), each quoted as systemd requires; then systemctl daemon-reload and
enable --now. The token (GH_TOKEN, GITHUB_TOKEN or \`gh auth token\`, found now) goes into an
environment file readable only by its owner (~/.config/github-autoscaler/env or
/etc/github-autoscaler/env, mode 0600), never into the unit. Installing again updates the unit;
a unit not written by this program is only replaced with --force. If systemctl fails, the
previous files are put back.

Options:
${SCOPE_HELP}
  --dry-run                 Print the files it would write, and the systemctl calls; change nothing
  --force                   Replace a unit of the same name not written by this program
  --no-token-file           Write no environment file (and remove the one an earlier install
                            wrote); provide the token to the unit yourself
  --destdir DIR             Write below DIR (packaging) and do not call systemctl`,
  options: {
    ...RUN_OPTIONS,
    ...SCOPE_OPTIONS,
    force: { type: "boolean" },
    "no-token-file": { type: "boolean" },
    destdir: { type: "string" },
  },
  async run(values, deps, input) {
    const scope = scopeOf(values);
    if (values.once === true) throw new UsageError("--once makes no sense for a service");
    const runArgs = forwardedRunArgs(input.args, this.options);
    // The same checks `run` makes, now rather than when the service starts (this command's
    // --dry-run is its own, not run's).
    const options = parseRunOptions({ ...values, "dry-run": undefined }, deps.env);
    const destdir = typeof values.destdir === "string" ? values.destdir : "";
    const paths = servicePaths(scope, deps.env, destdir);
    let envText: string | null = null;
    if (values["no-token-file"] !== true && options.app === null) {
      const { token } = await findToken(deps.env, deps.run);
      const vars: Record<string, string> = { GH_TOKEN: token };
      for (const name of HOST_VARIABLES) {
        const value = deps.env(name);
        if (value) vars[name] = value;
      }
      envText = renderEnvFile(vars);
    }
    // The unit names the files where they will be, also when written below --destdir.
    const installed = servicePaths(scope, deps.env);
    const unitText = renderUnit(
      await unitTemplate(scope),
      [...selfCommand(), "run", ...runArgs],
      envText === null ? null : installed.envFile,
      // The binary's directory (self-update swaps it), and a --state-dir the unit must write.
      [
        ...(isCompiled() ? [dirname(Deno.execPath())] : []),
        ...(options.stateDir ? [options.stateDir] : []),
      ],
    );
    const ctl = scope === "user" ? "systemctl --user" : "systemctl";
    const dropped = `${paths.envFile}, the token file an earlier install wrote: the unit no ` +
      "longer names it\n";
    if (values["dry-run"] === true) {
      const shownEnv = envText?.replace(
        /^GH_TOKEN=(.*)$/m,
        (_, t: string) => `GH_TOKEN=<the token, ${t.length} characters>`,
      );
      deps.print(
        `Would write ${paths.unit}:\n${unitText}\n` +
          (shownEnv === undefined
            ? "Would write no environment file.\n"
            : `Would write ${paths.envFile} (mode 0600):\n${shownEnv}\n`) +
          (envText === null && await hasStaleTokenFile(paths) ? `Would remove ${dropped}` : "") +
          (destdir ? "" : `Would run: ${ctl} daemon-reload; ${ctl} enable --now ${UNIT_NAME}\n`),
      );
      return 0;
    }
    // The user unit may write only this state directory, and only if it exists (the system
    // unit's StateDirectory= makes its own).
    if (scope === "user" && !destdir) {
      const home = deps.env("HOME");
      if (home) {
        await Deno.mkdir(`${home}/.local/state/github-autoscaler`, {
          recursive: true,
          mode: 0o700,
        });
      }
    }
    const { removedTokenFile } = await installUnit(deps.run, {
      scope,
      paths,
      unitText,
      envText,
      force: values.force === true,
      enable: destdir === "",
    });
    deps.print(
      `Wrote ${paths.unit}\n` +
        (envText === null ? "" : `Wrote ${paths.envFile} (mode 0600)\n`) +
        (removedTokenFile ? `Removed ${dropped}` : "") +
        (destdir
          ? `Not enabled: written below ${destdir}\n`
          : `Enabled and started ${UNIT_NAME}; see "autoscaler service status${
            scope === "system" ? " --system" : ""
          }"\n`),
    );
    if (scope === "user" && !destdir) deps.print(await lingerHint(deps));
    return 0;
  },
};

/** For a user unit: how to keep it running without a login session, unless lingering is on. */
async function lingerHint(deps: Deps): Promise<string> {
  const user = deps.env("USER") ?? deps.env("LOGNAME") ?? "";
  if (!user) return "";
  const result = toolResult(
    "loginctl",
    await deps.run("loginctl", ["show-user", user, "--property=Linger", "--value"], {
      timeoutMs: 10_000,
    }),
  );
  if (result.ok && result.stdout.trim() === "yes") return "";
  return `A user service stops when ${user} logs out. To keep it running, once: ` +
    `sudo loginctl enable-linger ${user}\n`;
}

/** `autoscaler uninstall-service`: stop, disable and remove the unit and its environment file. */
export const uninstallServiceCommand: Command = {
  name: "uninstall-service",
  summary: "Stop, disable and remove the systemd service and its environment file",
  help: `Usage: autoscaler uninstall-service [--user | --system] [--force] [--purge]
                                    [--state-dir DIR] [--destdir DIR]

Runs systemctl disable --now, removes ${UNIT_NAME} and its environment file, and reloads
systemd. A unit not written by this program is only removed with --force. The runner scale sets
the service made (run --mode scaleset; the state directory names them) are deleted from GitHub,
with the service's token (else GH_TOKEN, GITHUB_TOKEN or \`gh auth token\`). The runners' caches
(Docker volumes) stay, for a later install, unless --purge: it removes every cache this host
made (this host's identity is in the state directory of the user who runs this, as for the
service), on the Docker engine of DOCKER_HOST, even with --destdir.

Options:
${SCOPE_HELP}
  --force                   Remove a unit of that name not written by this program
  --purge                   Also remove every runner cache this host made (see "autoscaler cache")
  --state-dir DIR           The service's --state-dir, if it was given one
  --destdir DIR             Remove below DIR and do not call systemctl`,
  options: {
    ...SCOPE_OPTIONS,
    force: { type: "boolean" },
    purge: { type: "boolean" },
    "state-dir": { type: "string" },
    destdir: { type: "string" },
  },
  async run(values, deps) {
    const scope = scopeOf(values);
    const destdir = typeof values.destdir === "string" ? values.destdir : "";
    const paths = servicePaths(scope, deps.env, destdir);
    // The service's own --state-dir, unless one is given: read before its unit goes.
    const stateDir = stateDirectory(
      deps.env,
      deps.uid,
      typeof values["state-dir"] === "string"
        ? values["state-dir"]
        : await unitStateDir(paths.unit),
    );
    const record = new ScaleSetRecord(stateDir);
    const scaleSets = await record.entries();
    // The service's token, read before its file goes.
    const token = scaleSets.length > 0
      ? await serviceToken(paths.envFile, deps).catch((error: Error) => error)
      : null;
    const removed = destdir
      ? await removeBelow(paths, values.force === true)
      : await uninstallUnit(deps.run, scope, paths, values.force === true);
    deps.print(
      removed
        ? `Removed ${paths.unit} and ${paths.envFile}\n`
        : `No ${UNIT_NAME} at ${paths.unit}\n`,
    );
    if (token === null && values.purge !== true) return 0;
    // Nothing may start a runner (or make a scale set again) while its cache or scale set goes:
    // a daemon still running is refused.
    using _lock = await takeRunLock(stateDir);
    let ok = true;
    if (token instanceof Error) {
      deps.print(`${token.message}\n`);
      ok = false;
    } else if (token !== null) {
      const removal = await removeScaleSets(record, scaleSets, {
        token,
        hostId: await hostId(stateDir),
        stateDir,
        run: deps.run,
        timeoutMs: DEFAULT_API_TIMEOUT_MS,
      });
      deps.print(removal.lines.map((line) => `${line}\n`).join(""));
      ok = removal.ok;
    }
    if (values.purge !== true) return ok ? 0 : 1;
    const purged = await purgeHostCaches(
      deps.run,
      await hostId(stateDir),
      stateDir,
      DEFAULT_DOCKER_TIMEOUT_MS,
    );
    deps.print(
      `Removed ${purged.removed.length} runner cache volume${
        purged.removed.length === 1 ? "" : "s"
      }\n` + purged.left.map((reason) => `${reason}\n`).join(""),
    );
    return purged.left.length === 0 && ok ? 0 : 1;
  },
};

/** The `--state-dir` the installed unit's `ExecStart` gives `run`, if any. */
async function unitStateDir(unit: string): Promise<string | null> {
  return execStartOption(await Deno.readTextFile(unit).catch(() => ""), "state-dir");
}

/**
 * The token that deletes the scale sets: the service's own (its environment file), else one
 * found as `run` finds it.
 */
async function serviceToken(envFile: string, deps: Deps): Promise<string> {
  const text = await Deno.readTextFile(envFile).catch(() => "");
  const saved = parseEnvFile(text).GH_TOKEN;
  if (saved) return saved;
  try {
    return (await findToken(deps.env, deps.run)).token;
  } catch (error) {
    throw new Error(
      `This host's runner scale sets were not deleted: ${(error as Error).message}; give a ` +
        "token in GH_TOKEN and run uninstall-service again",
      { cause: error },
    );
  }
}

async function removeBelow(paths: { unit: string; envFile: string }, force: boolean) {
  if ((await checkOwnership(paths.unit, force)) === null) return false;
  await Deno.remove(paths.unit);
  await Deno.remove(paths.envFile).catch(() => {});
  return true;
}

const VERBS = ["start", "stop", "restart", "status", "logs"] as const;

/** `autoscaler service <verb>`: systemctl and journalctl for the installed service. */
export const serviceCommand: Command = {
  name: "service",
  summary: "Start, stop, restart the service, or show its status or logs",
  help: `Usage: autoscaler service start|stop|restart|status|logs [--user | --system] [-f]

Runs systemctl [--user] start|stop|restart|status ${UNIT_NAME}, or for logs
journalctl [--user] --unit ${UNIT_NAME} (-f follows). Their output is shown as it comes;
a non-zero exit of theirs (a stopped service's status, say) makes this exit 1.

Options:
${SCOPE_HELP}
  -f, --follow              With logs: keep printing new lines`,
  options: { ...SCOPE_OPTIONS, follow: { type: "boolean", short: "f" } },
  positionals: true,
  async run(values, deps, input) {
    const verb = actionOf("service", input.positionals, VERBS);
    if (values.follow === true && verb !== "logs") throw new UsageError("--follow goes with logs");
    const scope = scopeOf(values);
    const user = scope === "user" ? ["--user"] : [];
    const [tool, args] = verb === "logs"
      ? ["journalctl", [
        ...user,
        "--unit",
        UNIT_NAME,
        ...(values.follow === true ? ["--follow"] : []),
      ]]
      : ["systemctl", [...user, verb, UNIT_NAME]];
    const outcome = await deps.run(tool, args, { timeoutMs: null, passthrough: true });
    const result = toolResult(tool, outcome);
    if (!result.ok && outcome.kind !== "exited") throw new Error(result.reason);
    return result.ok ? 0 : 1;
  },
};
