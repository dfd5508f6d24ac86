/** What became of one run of an external tool. */
export type CommandOutcome =
  | { kind: "exited"; code: number; stdout: string; stderr: string }
  | { kind: "not-found" }
  | { kind: "timed-out"; timeoutMs: number }
  | { kind: "failed-to-start"; message: string };

/** How to run a tool. */
export interface CommandOptions {
  /** Default `DEFAULT_TIMEOUT_MS`; null waits as long as the tool runs (`journalctl -f`). */
  timeoutMs?: number | null;
  /** Variables added to the inherited environment: the one way a secret reaches a child. */
  env?: Record<string, string>;
  /** Let the tool write to this process's stdout and stderr (a progress bar on a terminal). */
  passthrough?: boolean;
  /** Written to the tool's standard input, which is then closed (a secret for `docker exec`). */
  stdin?: string;
}

/** Runs an external tool to completion; never throws for the tool's own failures. */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  options?: CommandOptions,
) => Promise<CommandOutcome>;

/** Default time a probe of a host tool may take before it counts as hung. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The real runner, on `Deno.Command`, found through `PATH`.
 *
 * On a timeout the child is killed and abandoned at once: a hung `nvidia-smi` can sit in
 * uninterruptible sleep, and a wrapper script's grandchild can hold the output pipes open, so
 * waiting for the pipes to close (as dax's `.timeout()` does) could hang the caller too.
 */
export const runCommand: CommandRunner = async (command, args, options = {}) => {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args: [...args],
      env: options.env,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: options.passthrough ? "inherit" : "piped",
      stderr: options.passthrough ? "inherit" : "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "not-found" };
    return {
      kind: "failed-to-start",
      message: error instanceof Error ? error.message : String(error),
    };
  }
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    // A tool that exits without reading its input breaks the pipe; its exit code tells.
    writer.write(new TextEncoder().encode(options.stdin)).then(() => writer.close()).catch(
      () => {},
    );
  }
  // Reading an inherited stream throws, so only piped ones are read.
  const piped = !options.passthrough;
  const finished = Promise.all([
    child.status,
    piped ? new Response(child.stdout).text() : "",
    piped ? new Response(child.stderr).text() : "",
  ]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((resolve) => {
    if (timeoutMs !== null) timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const result = await Promise.race([finished, expired]);
    if (result === "timeout") {
      try {
        child.kill("SIGKILL");
      } catch {
        // It exited between the timer and the kill.
      }
      child.unref();
      finished.catch(() => {});
      return { kind: "timed-out", timeoutMs: timeoutMs ?? 0 };
    }
    const [status, stdout, stderr] = result;
    return { kind: "exited", code: status.code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
};

/** The output of a run that exited 0, or a one-line reason why there is none. */
export type ToolResult = { ok: true; stdout: string } | { ok: false; reason: string };

/** Turns an outcome into output or a sentence naming the tool and what went wrong. */
export function toolResult(tool: string, outcome: CommandOutcome): ToolResult {
  switch (outcome.kind) {
    case "not-found":
      return { ok: false, reason: `${tool} not found on PATH` };
    case "timed-out":
      return { ok: false, reason: `${tool} did not answer within ${outcome.timeoutMs / 1000} s` };
    case "failed-to-start":
      return { ok: false, reason: `${tool} could not be started: ${outcome.message}` };
    case "exited": {
      if (outcome.code === 0) return { ok: true, stdout: outcome.stdout };
      const said = firstLine(stripAnsi(outcome.stderr)) || firstLine(stripAnsi(outcome.stdout));
      return {
        ok: false,
        reason: `${tool} exited with code ${outcome.code}${said ? `: ${said}` : ""}`,
      };
    }
  }
}

/** Removes ANSI colour sequences, which some tools (rocminfo) print even into a pipe. */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

function firstLine(text: string): string {
  const line = text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
