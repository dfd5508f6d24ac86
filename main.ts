import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { getLogger, type LogLevel } from "@logtape/logtape";
import { type Command, type Deps, STOP_GRACE_MS } from "./lib/commands/command.ts";
import { cacheCommand } from "./lib/commands/cache.ts";
import { demoCommand } from "./lib/commands/demo.ts";
import { detectCommand } from "./lib/commands/detect.ts";
import { doctorCommand } from "./lib/commands/doctor.ts";
import { planCommand } from "./lib/commands/plan.ts";
import { runCommand as runDaemon } from "./lib/commands/run.ts";
import { selfUpdateCommand } from "./lib/commands/self_update.ts";
import {
  installServiceCommand,
  serviceCommand,
  uninstallServiceCommand,
} from "./lib/commands/service.ts";
import { statusCommand } from "./lib/commands/status.ts";
import { ConfigurationError, IdentityConflict, UsageError } from "./lib/core/errors.ts";
import { describeError } from "./lib/github/errors.ts";
import {
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  redactSecrets,
  setupLogging,
} from "./lib/program/log.ts";
import { runCommand } from "./lib/system/command.ts";
import { VERSION } from "./lib/program/version.ts";

/** Every subcommand, in the order `--help` lists them. */
const COMMANDS: readonly Command[] = [
  demoCommand,
  detectCommand,
  planCommand,
  runDaemon,
  statusCommand,
  cacheCommand,
  installServiceCommand,
  uninstallServiceCommand,
  serviceCommand,
  doctorCommand,
  selfUpdateCommand,
];

const COMMON_OPTIONS: ParseArgsOptionsConfig = {
  help: { type: "boolean", short: "h" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
};

const COMMON_HELP = `Options for every command:
  --log-level LEVEL    ${LOG_LEVELS.join(", ")} (default: info)
  --log-format FORMAT  text or json (default: text); logs go to stderr
  -h, --help           Show help`;

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `autoscaler ${VERSION}: serve GitHub Actions jobs from this host with ephemeral runners in
hardened Docker containers.

Usage: autoscaler <command> [options]
       autoscaler --help | --version

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join("\n")}

${COMMON_HELP}
  -V, --version        Print the version

Run "autoscaler <command> --help" for a command's options.
`;
}

/** Runs the program with its arguments and returns the exit code; never exits itself. */
export async function main(argv: readonly string[], deps: Deps): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    printError(`No command given. Run "autoscaler --help" for the list.`);
    return 2;
  }
  if (first === "-h" || first === "--help") {
    deps.print(mainHelp());
    return 0;
  }
  if (first === "-V" || first === "--version") {
    deps.print(`autoscaler ${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    return usageFailure(
      first.startsWith("-") ? `Unknown option "${first}"` : `Unknown command "${first}"`,
      "autoscaler --help",
    );
  }
  const helpHint = `autoscaler ${command.name} --help`;
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: { ...COMMON_OPTIONS, ...command.options },
      strict: true,
      allowPositionals: command.positionals === true,
    });
    if (values.help === true) {
      deps.print(`${command.help}\n\n${COMMON_HELP}\n`);
      return 0;
    }
    setupLogging({ level: logLevel(values["log-level"]), format: logFormat(values["log-format"]) });
    return await command.run({ ...values }, deps, { args: rest, positionals });
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(error.message, helpHint);
    if (error instanceof ConfigurationError) {
      printError(error.message);
      return 2;
    }
    if (error instanceof IdentityConflict) {
      printError(error.message);
      return 3;
    }
    const parseProblem = describeParseError(error);
    if (parseProblem) return usageFailure(parseProblem, helpHint);
    getLogger(["autoscaler"]).debug("Command failed: {error}", { error });
    printError(`${command.name} failed: ${describeError(error)}`);
    return 1;
  }
}

function logLevel(value: unknown): LogLevel {
  if (value === undefined) return "info";
  const level = LOG_LEVELS.find((l) => l === value);
  if (!level) {
    throw new UsageError(`Invalid --log-level "${value}": use one of ${LOG_LEVELS.join(", ")}`);
  }
  return level;
}

function logFormat(value: unknown): LogFormat {
  if (value === undefined) return "text";
  const format = LOG_FORMATS.find((f) => f === value);
  if (!format) throw new UsageError(`Invalid --log-format "${value}": use text or json`);
  return format;
}

/** Turns `parseArgs`' errors into one short sentence naming the bad word. */
function describeParseError(error: unknown): string | null {
  if (!(error instanceof TypeError) || !("code" in error)) return null;
  const word = error.message.match(/'([^']+)'/)?.[1] ?? "";
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown option "${word}"`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `Unexpected argument "${word}"`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const option = word.split(" ")[0];
      if (error.message.includes("argument missing")) return `Option "${option}" needs a value`;
      if (error.message.includes("ambiguous")) {
        return `Option "${option}" needs a value; write ${option}=VALUE for one starting with "-"`;
      }
      return `Option "${option}" takes no value`;
    }
    default:
      return null;
  }
}

function usageFailure(message: string, helpHint: string): number {
  printError(`${message}. Run "${helpHint}" for usage.`);
  return 2;
}

function printError(message: string): void {
  console.error(`error: ${redactSecrets(message)}`);
}

if (import.meta.main) {
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      // A second signal, or a command still busy after the grace period, ends the process.
      if (stop.signal.aborted) Deno.exit(1);
      stop.abort(new DOMException(`Stopped by ${signal}`, "AbortError"));
      setTimeout(() => {
        printError(`still busy ${STOP_GRACE_MS / 1000} s after ${signal}; exiting`);
        Deno.exit(1);
      }, STOP_GRACE_MS);
    });
  }
  const encoder = new TextEncoder();
  const deps: Deps = {
    run: runCommand,
    runtimeArch: Deno.build.arch,
    print: (text) => {
      let bytes = encoder.encode(text);
      while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
    },
    env: (name) => Deno.env.get(name),
    hostname: Deno.hostname(),
    uid: Deno.uid(),
    signal: stop.signal,
  };
  Deno.exit(await main(Deno.args, deps));
}
