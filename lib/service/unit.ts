import { UsageError } from "../core/errors.ts";

/** The unit's file name. */
export const UNIT_NAME = "github-autoscaler.service";

/** The first line of every unit we write; a unit without it is not ours to overwrite. */
export const UNIT_MARKER = "# Written by github-autoscaler";

/** Where a unit is installed: the user's systemd manager or the system's. */
export type ServiceScope = "user" | "system";

/**
 * One `ExecStart=` word: double-quoted, with `\` and `"` escaped as systemd unquotes them, `%`
 * doubled (specifiers) and `$` doubled (variable expansion), so every value reaches the program
 * exactly as given. A newline or other control character cannot be expressed and is refused.
 */
export function quoteExecArg(arg: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(arg)) {
    throw new UsageError(
      `Cannot put ${JSON.stringify(arg)} in a service unit: it holds a control character`,
    );
  }
  return `"${
    arg.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("%", "%%").replaceAll(
      "$",
      "$$$$",
    )
  }"`;
}

/**
 * The unit text: the template with its command line, environment file and the directories the
 * daemon may write (the binary's own, so self-update can swap it) filled in.
 */
export function renderUnit(
  template: string,
  execStart: string[],
  envFile: string | null,
  writable: string[] = [],
): string {
  // Replacer functions: a replacement string would read `$$` as `$`.
  const command = execStart.map(quoteExecArg).join(" ");
  const paths = writable.map((path) => {
    if (/[\s"'\\%$]/.test(path)) {
      throw new UsageError(
        `Cannot name ${JSON.stringify(path)} in ReadWritePaths=: use a directory whose path ` +
          "has no spaces, quotes, \\, % or $",
      );
    }
    return `ReadWritePaths=${path}`;
  }).join("\n");
  return template
    .replace("@EXEC_START@", () => command)
    .replace("@ENVIRONMENT_FILE@", () => envFile === null ? "" : `EnvironmentFile=${envFile}`)
    .replace("@READ_WRITE_PATHS@", () => paths);
}

/**
 * The environment file: `KEY=value` lines; values are double-quoted with escapes where needed.
 */
export function renderEnvFile(vars: Record<string, string>): string {
  return Object.entries(vars).map(([key, value]) => {
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f]/.test(value)) {
      throw new UsageError(
        `Cannot write ${key} to the environment file: it holds a control character`,
      );
    }
    const plain = /^[\w.:/@+=,-]*$/.test(value);
    return `${key}=${plain ? value : `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`}`;
  }).join("\n") + "\n";
}

/** The variables of an environment file `renderEnvFile` wrote (its quoting undone). */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = line.match(/^(\w+)=(?:"((?:[^"\\]|\\.)*)"|(.*))$/);
    if (!match?.[1]) continue;
    vars[match[1]] = match[2] === undefined ? match[3] ?? "" : match[2].replace(/\\(.)/g, "$1");
  }
  return vars;
}

/**
 * The value of `--<option>=...` in a unit's `ExecStart` as `renderUnit` wrote it (each word
 * quoted by `quoteExecArg`, whose escapes are undone), or null.
 */
export function execStartOption(unitText: string, option: string): string | null {
  const exec = unitText.split("\n").find((line) => line.startsWith("ExecStart="));
  const quoted = exec?.match(new RegExp(`"--${option}=((?:[^"\\\\]|\\\\.)*)"`))?.[1];
  if (quoted === undefined) return null;
  return quoted.replace(/\\(.)|%%|\$\$/g, (match, escaped) => escaped ?? match[0]);
}
