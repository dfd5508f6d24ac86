import type { ParseArgsOptionsConfig } from "node:util";
import type { CommandRunner } from "../system/command.ts";
import { UsageError } from "../core/errors.ts";

/** The I/O a command may use; `main.ts` builds the real one, tests their own. */
export interface Deps {
  /** Runs external tools (nvidia-smi, rocminfo, docker...). */
  run: CommandRunner;
  /** The runtime's architecture, `Deno.build.arch`. */
  runtimeArch: string;
  /** Writes command output (not logs) to stdout. */
  print: (text: string) => void;
  /** Reads an environment variable. */
  env: (name: string) => string | undefined;
  /** This host's name, for runner names. */
  hostname: string;
  /** The user's id (null where the platform has none): root keeps its state in /var/lib. */
  uid: number | null;
  /** Aborts when the process is asked to stop (SIGINT, SIGTERM). */
  signal: AbortSignal;
}

/** How long a command may take to finish its current step after SIGINT or SIGTERM. */
export const STOP_GRACE_MS = 8_000;

/** Parsed option values, as `parseArgs` gives them. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A subcommand: its help and options, and what it does. */
export interface Command {
  name: string;
  /** One line for `autoscaler --help`. */
  summary: string;
  /** The whole `autoscaler <name> --help` text, without the common options. */
  help: string;
  options: ParseArgsOptionsConfig;
  /** Whether it takes words after its options (`service start`). */
  positionals?: boolean;
  /**
   * Does the work; returns the exit code. Throws `UsageError` for bad option values. `args` are
   * the words after the command's name, as given.
   */
  run(
    values: OptionValues,
    deps: Deps,
    input: { args: readonly string[]; positionals: readonly string[] },
  ): Promise<number>;
}

/**
 * The one action word a command takes (`service start`, `cache ls`), or a `UsageError` naming
 * the choices.
 */
export function actionOf<T extends string>(
  command: string,
  positionals: readonly string[],
  actions: readonly T[],
): T {
  const [action, ...extra] = positionals;
  const known = actions.find((a) => a === action);
  if (known === undefined || extra.length > 0) {
    throw new UsageError(
      action === undefined
        ? `Give one of ${actions.join(", ")}`
        : `Unknown ${command} action "${positionals.join(" ")}": use one of ${actions.join(", ")}`,
    );
  }
  return known;
}
